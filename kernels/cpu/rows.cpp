// cpu/rows.cpp — row gather/scatter and the shared-prefix broadcast-concat on the CPU (rows.h).
// Reference: element loops. Fast: one memcpy per row, OpenMP over rows.
#include <cstring>

#include "kernels/cpu/cpu_ops.h"

namespace spot::cpu {

void rows_gather_ref(const Tensor& x, const Tensor& index, Tensor& out) {
  const int64_t m = index.dim(0), r = x.dim(1);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < r; ++j) out.f32()[i * r + j] = x.f32()[index.i32()[i] * r + j];
}

void rows_gather_fast(const Tensor& x, const Tensor& index, Tensor& out) {
  const int64_t m = index.dim(0), r = x.dim(1);
  const float* X = x.f32();
  float* O = out.f32();
  const int32_t* I = index.i32();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i) std::memcpy(O + i * r, X + I[i] * r, r * sizeof(float));
}

void rows_scatter_ref(const Tensor& src, const Tensor& index, Tensor& out) {
  const int64_t m = index.dim(0), r = out.dim(1);
  for (int64_t i = 0; i < out.numel(); ++i) out.f32()[i] = 0.0f;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < r; ++j) out.f32()[index.i32()[i] * r + j] = src.f32()[i * r + j];
}

void rows_scatter_fast(const Tensor& src, const Tensor& index, Tensor& out) {
  const int64_t m = index.dim(0), r = out.dim(1);
  std::memset(out.f32(), 0, out.nbytes());
  const float* S = src.f32();
  float* O = out.f32();
  const int32_t* I = index.i32();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i) std::memcpy(O + I[i] * r, S + i * r, r * sizeof(float));
}

void prefix_concat_ref(const Tensor& prefix, const Tensor& x, Tensor& out) {
  const int64_t b = x.dim(0), t = x.dim(1), r = x.dim(2), l = prefix.dim(0);
  for (int64_t i = 0; i < b; ++i)
    for (int64_t s = 0; s < l + t; ++s)
      for (int64_t j = 0; j < r; ++j)
        out.f32()[(i * (l + t) + s) * r + j] = s < l ? prefix.f32()[s * r + j] : x.f32()[(i * t + s - l) * r + j];
}

void prefix_concat_fast(const Tensor& prefix, const Tensor& x, Tensor& out) {
  const int64_t b = x.dim(0), t = x.dim(1), r = x.dim(2), l = prefix.dim(0);
  float* O = out.f32();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < b; ++i) {
    if (l) std::memcpy(O + i * (l + t) * r, prefix.f32(), l * r * sizeof(float));
    if (t) std::memcpy(O + (i * (l + t) + l) * r, x.f32() + i * t * r, t * r * sizeof(float));
  }
}

}  // namespace spot::cpu
