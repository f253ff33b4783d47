// backbone.cpp — tensor_rms and the backbone fingerprint.
#include "model/backbone.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "base/check.h"

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

// The algorithm is fixed: checkpoints and library entries written before carry its value.
std::string backbone_fingerprint(const FrozenBackbone& m) {
  const Tensor emb = m.input_embeddings_host();
  uint64_t h = 1469598103934665603ull;
  for (char c : m.name()) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  const int64_t n = emb.numel(), stride = std::max<int64_t>(1, n / 4096);
  for (int64_t i = 0; i < n; i += stride) {
    uint32_t u;
    std::memcpy(&u, emb.f32() + i, 4);
    h = (h ^ u) * 1099511628211ull;
  }
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace spot
