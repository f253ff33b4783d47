// data_dir.cpp — data directory resolution (io/data_dir.h).
#include "io/data_dir.h"

#include <cstdlib>
#include <filesystem>

#include "base/check.h"
#include "base/paths.h"

namespace spot::io {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> from_env() {
  const char* env = std::getenv("SPOT_DATA");
  return env && *env ? std::optional<std::string>(env) : std::nullopt;
}

std::optional<std::string> found_default() {
  for (const fs::path& p : {fs::path("..") / "shared" / "data", fs::path("data")}) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) return p.string();
  }
  std::error_code ec;
  if (auto beside = find_beside_executable("shared/data"); beside && fs::is_directory(*beside, ec)) return beside;
  return std::nullopt;
}

}  // namespace

std::string resolve_data_dir(const std::optional<std::string>& flag) {
  if (flag) {
    std::error_code ec;
    SPOT_CHECK(fs::is_directory(*flag, ec), "data directory '" << *flag << "' (from --data) does not exist");
    return *flag;
  }
  if (auto env = from_env()) {
    std::error_code ec;
    SPOT_CHECK(fs::is_directory(*env, ec), "data directory '" << *env << "' (from $SPOT_DATA) does not exist");
    return *env;
  }
  if (auto d = found_default()) return *d;
  SPOT_FAIL("no data directory: pass --data DIR, set SPOT_DATA, or fetch one with `spot data fetch glue` "
            "(tried ../shared/data, ./data and shared/data beside the folders above "
            << executable_dir() << ")");
}

std::string data_dir_for_writing(const std::optional<std::string>& flag) {
  if (flag) return *flag;
  if (auto env = from_env()) return *env;
  return found_default().value_or("data");
}

}  // namespace spot::io
