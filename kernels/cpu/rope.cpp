// cpu/rope.cpp — rotary position embeddings on the CPU (rope.h).
// Reference: one rotation per element pair, cos/sin and the products in fp64 of the float32 angle.
// Fast: a [T, Dh/2] cos/sin table in float32 built once per call, then OpenMP over (b, t) rows.
#include <cmath>
#include <vector>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/rope.h"

namespace spot::cpu {

namespace {

// sign = +1: forward rotation by a; sign = −1: the inverse (the backward).
void rope_ref(const Tensor& x, int64_t pos_offset, float theta, Tensor& y, double sign) {
  const int64_t B = x.dim(0), T = x.dim(1), H = x.dim(2), Dh = x.dim(3), half = Dh / 2;
  const std::vector<float> inv = rope_inv_freq(Dh, theta);
  const float* X = x.f32();
  float* Y = y.f32();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < H; ++h) {
        const int64_t base = ((b * T + t) * H + h) * Dh;
        for (int64_t j = 0; j < half; ++j) {
          const float a = static_cast<float>(pos_offset + t) * inv[j];
          const double c = std::cos(static_cast<double>(a)), s = sign * std::sin(static_cast<double>(a));
          const double x1 = X[base + j], x2 = X[base + j + half];
          Y[base + j] = static_cast<float>(x1 * c - x2 * s);
          Y[base + j + half] = static_cast<float>(x2 * c + x1 * s);
        }
      }
}

void rope_fast(const Tensor& x, int64_t pos_offset, float theta, Tensor& y, float sign) {
  const int64_t B = x.dim(0), T = x.dim(1), H = x.dim(2), Dh = x.dim(3), half = Dh / 2;
  const std::vector<float> inv = rope_inv_freq(Dh, theta);
  std::vector<float> cs(T * half), sn(T * half);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < half; ++j) {
      const float a = static_cast<float>(pos_offset + t) * inv[j];
      cs[t * half + j] = std::cos(a);
      sn[t * half + j] = sign * std::sin(a);
    }
  const float* X = x.f32();
  float* Y = y.f32();
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      const float* c = cs.data() + t * half;
      const float* s = sn.data() + t * half;
      for (int64_t h = 0; h < H; ++h) {
        const float* xi = X + ((b * T + t) * H + h) * Dh;
        float* yi = Y + ((b * T + t) * H + h) * Dh;
#pragma omp simd
        for (int64_t j = 0; j < half; ++j) {
          const float x1 = xi[j], x2 = xi[j + half];
          yi[j] = x1 * c[j] - x2 * s[j];
          yi[j + half] = x2 * c[j] + x1 * s[j];
        }
      }
    }
}

}  // namespace

void rope_forward_ref(const Tensor& x, int64_t pos_offset, float theta, Tensor& y) { rope_ref(x, pos_offset, theta, y, 1.0); }
void rope_forward_fast(const Tensor& x, int64_t pos_offset, float theta, Tensor& y) { rope_fast(x, pos_offset, theta, y, 1.0f); }
void rope_backward_input_ref(const Tensor& dy, int64_t pos_offset, float theta, Tensor& dx) {
  rope_ref(dy, pos_offset, theta, dx, -1.0);
}
void rope_backward_input_fast(const Tensor& dy, int64_t pos_offset, float theta, Tensor& dx) {
  rope_fast(dy, pos_offset, theta, dx, -1.0f);
}

}  // namespace spot::cpu
