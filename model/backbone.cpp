// backbone.cpp — prompt placement parsing, per-example insertion offsets, tensor_rms.
#include "model/backbone.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "base/check.h"

namespace spot {

PromptPlacement PromptPlacement::parse(const std::string& s) {
  if (s == "prefix") return prefix();
  if (s == "suffix") return suffix();
  if (s.rfind("infix:", 0) == 0) {
    char* end = nullptr;
    const long k = std::strtol(s.c_str() + 6, &end, 10);
    SPOT_CHECK(end && *end == '\0' && k >= 0, "prompt placement '" << s << "': expected infix:<non-negative integer>");
    return at(k);
  }
  SPOT_FAIL("unknown prompt placement '" << s << "' (expected prefix, suffix or infix:K)");
}

std::string PromptPlacement::str() const {
  switch (kind) {
    case Kind::Prefix: return "prefix";
    case Kind::Suffix: return "suffix";
    case Kind::Position: return "infix:" + std::to_string(position);
    case Kind::Explicit: return "explicit";
  }
  return "?";
}

std::vector<int32_t> PromptPlacement::positions_for(const std::vector<int64_t>& lengths) const {
  std::vector<int32_t> pos(lengths.size(), 0);
  for (size_t i = 0; i < lengths.size(); ++i) {
    switch (kind) {
      case Kind::Prefix: pos[i] = 0; break;
      case Kind::Suffix: pos[i] = static_cast<int32_t>(lengths[i]); break;
      case Kind::Position: pos[i] = static_cast<int32_t>(std::min(position, lengths[i])); break;
      case Kind::Explicit:
        SPOT_CHECK(per_example.size() == lengths.size(), "explicit prompt placement has " << per_example.size()
                                                             << " positions for " << lengths.size() << " examples");
        SPOT_CHECK(per_example[i] >= 0 && per_example[i] <= lengths[i],
                   "prompt position " << per_example[i] << " of example " << i << " outside [0, " << lengths[i] << "]");
        pos[i] = per_example[i];
        break;
    }
  }
  return pos;
}

}  // namespace spot

namespace spot {

double tensor_rms(const Tensor& t) {
  SPOT_CHECK(t.defined() && t.device() == Device::CPU && t.dtype() == DType::F32,
             "tensor_rms: expects a host f32 tensor");
  const float* p = t.data<float>();
  const int64_t n = t.numel();
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(p[i]) * p[i];
  return n > 0 ? std::sqrt(s / static_cast<double>(n)) : 0.0;
}

}  // namespace spot
