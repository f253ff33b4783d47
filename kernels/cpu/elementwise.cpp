// cpu/elementwise.cpp — axpy, scale, add.
#include "kernels/cpu/cpu_ops.h"

namespace spot::cpu {

void axpy_ref(float alpha, const Tensor& x, Tensor& y) {
  for (int64_t i = 0, n = x.numel(); i < n; ++i)
    y.f32()[i] = static_cast<float>(y.f32()[i] + static_cast<double>(alpha) * x.f32()[i]);
}
void axpy_fast(float alpha, const Tensor& x, Tensor& y) {
  const float* X = x.f32();
  float* Y = y.f32();
  const int64_t n = x.numel();
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) Y[i] += alpha * X[i];
}

void scale_ref(float alpha, const Tensor& x, Tensor& y) {
  for (int64_t i = 0, n = x.numel(); i < n; ++i) y.f32()[i] = static_cast<float>(static_cast<double>(alpha) * x.f32()[i]);
}
void scale_fast(float alpha, const Tensor& x, Tensor& y) {
  const float* X = x.f32();
  float* Y = y.f32();
  const int64_t n = x.numel();
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) Y[i] = alpha * X[i];
}

void add_ref(const Tensor& a, const Tensor& b, Tensor& y) {
  for (int64_t i = 0, n = a.numel(); i < n; ++i) y.f32()[i] = a.f32()[i] + b.f32()[i];
}
void add_fast(const Tensor& a, const Tensor& b, Tensor& y) {
  const float* A = a.f32();
  const float* B = b.f32();
  float* Y = y.f32();
  const int64_t n = a.numel();
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) Y[i] = A[i] + B[i];
}

}  // namespace spot::cpu
