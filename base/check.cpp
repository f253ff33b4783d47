// check.cpp — spot::Error construction with its source location.
#include "base/check.h"

#include <cstring>

namespace spot::detail {

void throw_error(const char* file, int line, const std::string& message) {
  // The build maps the source root away (-fmacro-prefix-map), so `file` is "io/gguf.cpp"; for a
  // build that does not, keep the path from the last top-level folder of the tree.
  const char* rel = file;
  for (const char* top : {"/base/", "/io/", "/kernels/", "/model/", "/prompt/", "/eval/", "/train/", "/retrieval/",
                          "/app/", "/cli/"})
    for (const char* p = std::strstr(file, top); p; p = std::strstr(p + 1, top))  // the last occurrence
      if (rel == file || p + 1 > rel) rel = p + 1;
  throw Error(message, std::string(rel) + ":" + std::to_string(line));
}

}  // namespace spot::detail
