// backbone.cpp — tensor_rms.
#include "model/backbone.h"

#include <cmath>

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

}  // namespace spot
