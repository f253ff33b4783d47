// cpu/rmsnorm.cpp — T5 LayerNorm / RMSNorm forward and input-backward on the CPU.
#include <cmath>

#include "kernels/cpu/cpu_ops.h"

namespace spot::cpu {

void rms_norm_forward_ref(const Tensor& x, const Tensor& w, float eps, Tensor& y, Tensor& inv_rms) {
  const int64_t n = x.dim(0), d = x.dim(1);
  const float* X = x.f32();
  const float* W = w.f32();
  float* Y = y.f32();
  float* R = inv_rms.f32();
  for (int64_t i = 0; i < n; ++i) {
    double ss = 0;
    for (int64_t j = 0; j < d; ++j) ss += static_cast<double>(X[i * d + j]) * X[i * d + j];
    const double r = 1.0 / std::sqrt(ss / d + eps);
    R[i] = static_cast<float>(r);
    for (int64_t j = 0; j < d; ++j) Y[i * d + j] = static_cast<float>(W[j] * (X[i * d + j] * r));
  }
}

void rms_norm_forward_fast(const Tensor& x, const Tensor& w, float eps, Tensor& y, Tensor& inv_rms) {
  const int64_t n = x.dim(0), d = x.dim(1);
  const float* X = x.f32();
  const float* W = w.f32();
  float* Y = y.f32();
  float* R = inv_rms.f32();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float* xi = X + i * d;
    float ss = 0;
#pragma omp simd reduction(+ : ss)
    for (int64_t j = 0; j < d; ++j) ss += xi[j] * xi[j];
    const float r = 1.0f / std::sqrt(ss / static_cast<float>(d) + eps);
    R[i] = r;
    float* yi = Y + i * d;
#pragma omp simd
    for (int64_t j = 0; j < d; ++j) yi[j] = W[j] * (xi[j] * r);
  }
}

void rms_norm_backward_input_ref(const Tensor& dy, const Tensor& x, const Tensor& w, const Tensor& inv_rms, Tensor& dx,
                                 bool accumulate) {
  const int64_t n = x.dim(0), d = x.dim(1);
  const float* DY = dy.f32();
  const float* X = x.f32();
  const float* W = w.f32();
  const float* R = inv_rms.f32();
  float* DX = dx.f32();
  for (int64_t i = 0; i < n; ++i) {
    const double r = R[i];
    double dot = 0;  // Σ_j w_j·dy_j·x_j
    for (int64_t j = 0; j < d; ++j) dot += static_cast<double>(W[j]) * DY[i * d + j] * X[i * d + j];
    const double c = r * r * r * dot / d;
    for (int64_t j = 0; j < d; ++j) {
      const double g = r * W[j] * DY[i * d + j] - c * X[i * d + j];
      DX[i * d + j] = static_cast<float>(accumulate ? DX[i * d + j] + g : g);
    }
  }
}

void rms_norm_backward_input_fast(const Tensor& dy, const Tensor& x, const Tensor& w, const Tensor& inv_rms,
                                  Tensor& dx, bool accumulate) {
  const int64_t n = x.dim(0), d = x.dim(1);
  const float* DY = dy.f32();
  const float* X = x.f32();
  const float* W = w.f32();
  const float* R = inv_rms.f32();
  float* DX = dx.f32();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float* dyi = DY + i * d;
    const float* xi = X + i * d;
    float* dxi = DX + i * d;
    const float r = R[i];
    float dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int64_t j = 0; j < d; ++j) dot += W[j] * dyi[j] * xi[j];
    const float c = r * r * r * dot / static_cast<float>(d);
    if (accumulate) {
#pragma omp simd
      for (int64_t j = 0; j < d; ++j) dxi[j] += r * W[j] * dyi[j] - c * xi[j];
    } else {
#pragma omp simd
      for (int64_t j = 0; j < d; ++j) dxi[j] = r * W[j] * dyi[j] - c * xi[j];
    }
  }
}

}  // namespace spot::cpu
