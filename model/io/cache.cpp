// cache.cpp — the cache directory rule ($SPOT_CACHE, else ~/.cache/spot).
#include "model/io/cache.h"

#include <cstdlib>

#include "kernels/check.h"

namespace spot::io {

std::string default_cache_dir() {
  std::string dir;
  if (const char* env = std::getenv("SPOT_CACHE"); env && *env) {
    dir = env;
  } else {
    const char* home = std::getenv("HOME");
    SPOT_CHECK(home && *home, "cannot find the spot cache directory: neither SPOT_CACHE nor HOME is set");
    dir = std::string(home) + "/.cache/spot";
  }
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

}  // namespace spot::io
