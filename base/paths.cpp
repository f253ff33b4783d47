// paths.cpp — the executable's folder and files found beside it.
#include "base/paths.h"

#include <filesystem>
#include <system_error>

namespace spot {

namespace fs = std::filesystem;

std::string executable_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

std::optional<std::string> find_beside_executable(const std::string& relative) {
  const std::string dir = executable_dir();
  if (dir.empty()) return std::nullopt;
  for (fs::path p = dir;; p = p.parent_path()) {
    std::error_code ec;
    const fs::path candidate = p / relative;
    if (fs::exists(candidate, ec)) return candidate.lexically_normal().string();
    if (p == p.parent_path()) break;
  }
  return std::nullopt;
}

}  // namespace spot
