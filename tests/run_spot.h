// run_spot.h — runs the built `spot` binary (SPOT_SPOT_BINARY) as a user would, for the tests that
// drive the commands end to end (or another program: mpirun starting spot): arguments, extra
// environment, working directory; stdout and stderr captured separately; the exit status (128 +
// signal for a crash).
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "io/cache.h"

extern char** environ;

namespace spot::test {

struct CliResult {
  int code = -1;
  std::string out, err;
  // A sanitizer report in what the process printed (sanitizer builds make reports exit with 86,
  // tools/ctest.sh): a process the test expects to fail must not hide one behind its exit status.
  bool sanitizer_report() const {
    for (const char* m : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "WARNING: ThreadSanitizer"})
      if (err.find(m) != std::string::npos || out.find(m) != std::string::npos) return true;
    return code == 86;
  }
};

// Runs `program` (a path) with `args` in `cwd` (empty: the current directory) with the environment
// plus `env` (a value of "" unsets the variable). Output goes through files in `scratch`.
inline CliResult run_program(const std::string& program, const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env, const std::string& scratch,
                             const std::string& cwd = "") {
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const std::string key = kv.substr(0, kv.find('='));
    if (!env.count(key)) envs.push_back(kv);
  }
  for (const auto& [k, v] : env)
    if (!v.empty()) envs.push_back(k + "=" + v);
  std::vector<char*> cenv;
  for (auto& s : envs) cenv.push_back(s.data());
  cenv.push_back(nullptr);
  std::vector<std::string> argv = {program};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& s : argv) cargv.push_back(s.data());
  cargv.push_back(nullptr);
  const std::string out = scratch + "/cli.out", err = scratch + "/cli.err";
  CliResult r;
  // fork + chdir + exec rather than posix_spawn: glibc 2.36 has no addchdir file action.
  const pid_t pid = ::fork();
  if (pid < 0) {
    r.err = std::string("fork failed: ") + std::strerror(errno);
    return r;
  }
  if (pid == 0) {
    const int fo = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int fe = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fo < 0 || fe < 0 || ::dup2(fo, STDOUT_FILENO) < 0 || ::dup2(fe, STDERR_FILENO) < 0) ::_exit(125);
    const int fi = ::open("/dev/null", O_RDONLY);
    if (fi >= 0) ::dup2(fi, STDIN_FILENO);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execve(cargv[0], cargv.data(), cenv.data());
    ::_exit(127);
  }
  int status = 0;
  pid_t w;
  while ((w = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  if (w < 0) {
    r.err = std::string("waitpid failed: ") + std::strerror(errno);
    return r;  // code stays -1
  }
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = io::read_file(out);  // both exist: the child opened them before anything else
  r.err = io::read_file(err);
  return r;
}

// Runs the built SPOT_SPOT_BINARY as run_program does.
inline CliResult run_spot(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                          const std::string& scratch, const std::string& cwd = "") {
  return run_program(std::filesystem::absolute(SPOT_SPOT_BINARY).string(), args, env, scratch, cwd);
}

}  // namespace spot::test
