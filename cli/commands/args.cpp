// args.cpp — argument parsing and top-level dispatch of `spot <command>`.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "cli/commands.h"
#include "base/check.h"

namespace spot::cli {

Args::Args(std::vector<std::string> argv, const std::vector<std::string>& flags,
           const std::vector<std::string>& options) {
  auto is_in = [](const std::vector<std::string>& v, const std::string& s) {
    for (const auto& x : v)
      if (x == s) return true;
    return false;
  };
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.size() > 2 && a.rfind("--", 0) == 0) {
      std::string key = a.substr(2), value;
      const size_t eq = key.find('=');
      const bool has_eq = eq != std::string::npos;
      if (has_eq) {
        value = key.substr(eq + 1);
        key = key.substr(0, eq);
      }
      if (is_in(flags, key)) {
        SPOT_CHECK(!has_eq, "option --" << key << " takes no value");
        flags_[key] = true;
      } else if (is_in(options, key)) {
        if (!has_eq) {
          SPOT_CHECK(i + 1 < argv.size(), "option --" << key << " needs a value");
          value = argv[++i];
        }
        values_[key] = value;
      } else {
        std::string known;
        for (const auto& f : flags) known += " --" + f;
        for (const auto& o : options) known += " --" + o;
        SPOT_FAIL("unknown option --" << key << " (accepted:" << (known.empty() ? " none" : known) << ")");
      }
    } else {
      positional_.push_back(a);
    }
  }
}

std::string Args::positional_at(size_t i, const char* what) const {
  SPOT_CHECK(i < positional_.size(), "missing argument: " << what);
  return positional_[i];
}

bool Args::flag(const std::string& name) const { return flags_.count(name) > 0; }

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::get_or(const std::string& name, const std::string& fallback) const {
  return get(name).value_or(fallback);
}

int64_t Args::get_int(const std::string& name, int64_t fallback) const {
  auto v = get(name);
  if (!v) return fallback;
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v->c_str(), &end, 10);
  SPOT_CHECK(errno != ERANGE, "option --" << name << ": '" << *v << "' is out of range");
  SPOT_CHECK(end && *end == '\0' && !v->empty(), "option --" << name << ": '" << *v << "' is not an integer");
  return x;
}

double Args::get_double(const std::string& name, double fallback) const {
  auto v = get(name);
  if (!v) return fallback;
  char* end = nullptr;
  const double x = std::strtod(v->c_str(), &end);
  SPOT_CHECK(end && *end == '\0' && !v->empty(), "option --" << name << ": '" << *v << "' is not a number");
  SPOT_CHECK(std::isfinite(x), "option --" << name << ": '" << *v << "' is not a finite number");
  return x;
}

static void usage() {
  std::fprintf(stderr, "usage: spot [--version] <command> [args] [--verbose]\n\ncommands:\n");
  for (const Command& c : commands()) std::fprintf(stderr, "  %-10s %s\n", c.name.c_str(), c.summary.c_str());
  std::fprintf(stderr, "\n`spot <command> --help` for its options; --verbose (or SPOT_DEBUG=1) adds the source location\n"
                       "to an error; `spot --version` names the build.\n");
}

int print_version();  // cli/commands/info.cpp

int run(int argc, char** argv) {
  if (argc >= 2 && (std::string(argv[1]) == "--version" || std::string(argv[1]) == "-V")) return print_version();
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    usage();
    return argc < 2 ? 2 : 0;
  }
  const std::string name = argv[1];
  for (const Command& c : commands())
    if (c.name == name) return c.run(std::vector<std::string>(argv + 2, argv + argc));
  std::fprintf(stderr, "spot: unknown command '%s'\n", name.c_str());
  usage();
  return 2;
}

}  // namespace spot::cli
