// activation_math.h — scalar activation functions and derivatives shared by the CPU paths and the
// CUDA kernels (templated on the float type: double for the reference, float for the fast path and
// the GPU), so every backend evaluates the same formulas.
#pragma once

#include <cmath>

#include "kernels/activation.h"

#ifdef __CUDACC__
#define SPOT_HOST_DEVICE __host__ __device__
#else
#define SPOT_HOST_DEVICE
#endif

namespace spot::cpu {

template <class T>
SPOT_HOST_DEVICE inline T act_value(Activation a, T x) {
  switch (a) {
    case Activation::Relu: return x > T(0) ? x : T(0);
    case Activation::GeluTanh: {
      const T c = T(0.7978845608028654);  // √(2/π)
      return T(0.5) * x * (T(1) + std::tanh(c * (x + T(0.044715) * x * x * x)));
    }
    case Activation::Silu: return x / (T(1) + std::exp(-x));
  }
  return x;
}

template <class T>
SPOT_HOST_DEVICE inline T act_derivative(Activation a, T x) {
  switch (a) {
    case Activation::Relu: return x > T(0) ? T(1) : T(0);
    case Activation::GeluTanh: {
      const T c = T(0.7978845608028654);
      const T th = std::tanh(c * (x + T(0.044715) * x * x * x));
      return T(0.5) * (T(1) + th) + T(0.5) * x * (T(1) - th * th) * c * (T(1) + T(3 * 0.044715) * x * x);
    }
    case Activation::Silu: {
      const T s = T(1) / (T(1) + std::exp(-x));
      return s * (T(1) + x * (T(1) - s));
    }
  }
  return T(1);
}

}  // namespace spot::cpu
