// cache.cpp — cache directory resolution and the shared file helpers of cache.h.
#include "io/cache.h"

#include <boost/json.hpp>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "base/check.h"
#include "io/download.h"

namespace fs = std::filesystem;

namespace spot::io {

namespace {
std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}
}  // namespace

std::string default_cache_dir() {
  if (auto v = env_or_empty("SPOT_CACHE"); !v.empty()) return v;
  if (auto v = env_or_empty("XDG_CACHE_HOME"); !v.empty()) return (fs::path(v) / "spot").string();
  const std::string home = env_or_empty("HOME");
  SPOT_CHECK(!home.empty(), "cannot choose a cache directory: none of SPOT_CACHE, XDG_CACHE_HOME, HOME is set "
                            "(pass --cache DIR)");
  return (fs::path(home) / ".cache" / "spot").string();
}

bool is_safe_relative_path(const std::string& path) {
  if (path.empty() || path.front() == '/') return false;
  if (path.find('\\') != std::string::npos || path.find('\0') != std::string::npos) return false;
  size_t start = 0;
  for (;;) {
    const size_t slash = path.find('/', start);
    const std::string part = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (slash == std::string::npos) return true;
    start = slash + 1;
  }
}

std::string model_cache_dir(const std::string& cache_dir, const std::string& name) {
  SPOT_CHECK(is_safe_relative_path(name), "invalid model name '" << name << "' for the cache");
  return (fs::path(cache_dir) / "models" / name).string();
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  const fs::path p(path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  const std::string part = path + ".part";
  const int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  SPOT_CHECK(fd >= 0, "cannot create " << part << ": " << std::strerror(errno));
  size_t off = 0;
  while (off < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + off, contents.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      ::close(fd);
      fs::remove(part);
      SPOT_FAIL("cannot write " << part << ": " << std::strerror(e));
    }
    off += static_cast<size_t>(n);
  }
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  SPOT_CHECK(ok, "cannot fsync " << part << ": " << std::strerror(errno));
  std::error_code ec;
  fs::rename(part, path, ec);
  SPOT_CHECK(!ec, "cannot rename " << part << " to " << path << ": " << ec.message());
}

DirLock::DirLock(const std::string& dir) {
  const std::string path = (fs::path(dir) / ".lock").string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  SPOT_CHECK(fd_ >= 0, dir << ": cannot open lock file " << path << ": " << std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    ::close(fd_);
    fd_ = -1;
    SPOT_CHECK(e != EWOULDBLOCK, dir << ": another spot run is using this directory (" << path
                                     << " is locked); wait for it or choose another output directory");
    SPOT_FAIL(dir << ": cannot lock " << path << ": " << std::strerror(e));
  }
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

std::vector<std::string> remove_stale_temporaries(const std::string& dir) {
  static const std::regex safetensors_tmp(R"(\..+\.tmp\.[0-9]+\.[0-9]+)");
  std::vector<std::string> stale;
  try {
    for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      const bool part = name.size() > 5 && name.compare(name.size() - 5, 5, ".part") == 0;
      if ((part || std::regex_match(name, safetensors_tmp)) && e.is_regular_file()) stale.push_back(name);
    }
  } catch (const fs::filesystem_error& e) {
    SPOT_FAIL(dir << ": cannot list the directory: " << e.code().message());
  }
  for (const std::string& name : stale) {
    std::error_code ec;
    fs::remove(fs::path(dir) / name, ec);
    SPOT_CHECK(!ec, (fs::path(dir) / name).string() << ": cannot remove stale temporary: " << ec.message());
  }
  return stale;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  SPOT_CHECK(in, path << ": cannot open file: " << std::strerror(errno));
  std::ostringstream os;
  os << in.rdbuf();
  SPOT_CHECK(!in.bad(), path << ": read error");
  return os.str();
}

namespace {
void pretty(std::string& out, const boost::json::value& v, int indent) {
  const std::string pad(static_cast<size_t>(indent + 2), ' '), end_pad(static_cast<size_t>(indent), ' ');
  if (v.is_object() && !v.get_object().empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& kv : v.get_object()) {
      if (!first) out += ",\n";
      first = false;
      out += pad + boost::json::serialize(boost::json::string(kv.key())) + ": ";
      pretty(out, kv.value(), indent + 2);
    }
    out += "\n" + end_pad + "}";
  } else if (v.is_array() && !v.get_array().empty()) {
    out += "[\n";
    bool first = true;
    for (const auto& x : v.get_array()) {
      if (!first) out += ",\n";
      first = false;
      out += pad;
      pretty(out, x, indent + 2);
    }
    out += "\n" + end_pad + "]";
  } else {
    out += boost::json::serialize(v);
  }
}
}  // namespace

std::string json_pretty(const boost::json::value& v) {
  std::string out;
  pretty(out, v, 0);
  out += "\n";
  return out;
}

bool file_intact(const std::string& path, int64_t size, const std::string& sha256) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  const auto actual = fs::file_size(path, ec);
  if (ec || (size >= 0 && static_cast<int64_t>(actual) != size)) return false;
  return sha256.empty() || sha256_file(path) == sha256;
}

}  // namespace spot::io
