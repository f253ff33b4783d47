// check.h — the one error type and the check macros used everywhere in spot.
// The library throws spot::Error with context; tools print it and exit non-zero.
// SPOT_CHECK_STATUS is the generic macro the CUDA/cuBLAS/cuDNN checks in base/cuda/cuda_check.h build on.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace spot {

// what() is the message for people (it names the file, option or field concerned); where() is the
// source location that threw ("io/safetensors.cpp:212"), which the CLI prints only with --verbose
// or SPOT_DEBUG=1.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, std::string where = "") : std::runtime_error(what), where_(std::move(where)) {}
  const std::string& where() const { return where_; }

 private:
  std::string where_;
};

namespace detail {
[[noreturn]] void throw_error(const char* file, int line, const std::string& message);
}  // namespace detail

}  // namespace spot

// SPOT_CHECK(cond, "shape mismatch: " << a << " vs " << b)
#define SPOT_CHECK(cond, msg)                                         \
  do {                                                                \
    if (!(cond)) {                                                    \
      std::ostringstream spot_check_os_;                              \
      spot_check_os_ << msg;                                          \
      ::spot::detail::throw_error(__FILE__, __LINE__, spot_check_os_.str()); \
    }                                                                 \
  } while (0)

#define SPOT_FAIL(msg) SPOT_CHECK(false, msg)

// Generic status check: expr must equal ok; name_fn(status) gives the library's name for a failure.
#define SPOT_CHECK_STATUS(expr, ok, name_fn)                                                    \
  do {                                                                                           \
    auto spot_status_ = (expr);                                                                  \
    if (spot_status_ != (ok)) {                                                                  \
      std::ostringstream spot_check_os_;                                                         \
      spot_check_os_ << #expr << " failed: " << name_fn(spot_status_);                          \
      ::spot::detail::throw_error(__FILE__, __LINE__, spot_check_os_.str());                    \
    }                                                                                            \
  } while (0)
