// check.cpp — spot::Error construction with source context.
#include "base/check.h"

#include <cstring>

namespace spot::detail {

void throw_error(const char* file, int line, const std::string& message) {
  // Keep the path relative to the repository for readable messages.
  const char* rel = std::strstr(file, "/kernels/");
  if (!rel) rel = std::strstr(file, "/model/");
  if (!rel) rel = std::strstr(file, "/train/");
  if (!rel) rel = std::strstr(file, "/eval/");
  if (!rel) rel = std::strstr(file, "/retrieval/");
  if (!rel) rel = std::strstr(file, "/cli/");
  std::ostringstream os;
  os << message << " [" << (rel ? rel + 1 : file) << ":" << line << "]";
  throw Error(os.str());
}

}  // namespace spot::detail
