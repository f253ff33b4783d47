// cpu/embedding.cpp — prompt insertion into the token embeddings and the prompt-gradient reduction.
#include <cstring>

#include "kernels/cpu/cpu_ops.h"

namespace spot::cpu {

// Row t of example b comes from the prompt when pos <= t < pos + L, else from the token before
// (t < pos) or after (t >= pos + L) the prompt.
static inline const float* embed_source(const int32_t* ids_b, const float* table, const float* prompt, int64_t d,
                                        int64_t pos, int64_t l, int64_t t) {
  if (t >= pos && t < pos + l) return prompt + (t - pos) * d;
  const int64_t src = t < pos ? t : t - l;
  return table + static_cast<int64_t>(ids_b[src]) * d;
}

void embed_with_prompt_ref(const Tensor& ids, const Tensor& table, const Tensor& prompt, const Tensor& positions,
                           Tensor& out) {
  const int64_t b = ids.dim(0), t = ids.dim(1), d = table.dim(1);
  const int64_t l = prompt.defined() ? prompt.dim(0) : 0;
  const float* P = l ? prompt.f32() : nullptr;
  for (int64_t i = 0; i < b; ++i)
    for (int64_t s = 0; s < t + l; ++s) {
      const float* src = embed_source(ids.i32() + i * t, table.f32(), P, d, positions.i32()[i], l, s);
      float* dst = out.f32() + (i * (t + l) + s) * d;
      for (int64_t j = 0; j < d; ++j) dst[j] = src[j];
    }
}

void embed_with_prompt_fast(const Tensor& ids, const Tensor& table, const Tensor& prompt, const Tensor& positions,
                            Tensor& out) {
  const int64_t b = ids.dim(0), t = ids.dim(1), d = table.dim(1);
  const int64_t l = prompt.defined() ? prompt.dim(0) : 0;
  const float* P = l ? prompt.f32() : nullptr;
  const int32_t* pos = positions.i32();
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t i = 0; i < b; ++i)
    for (int64_t s = 0; s < t + l; ++s)
      std::memcpy(out.f32() + (i * (t + l) + s) * d, embed_source(ids.i32() + i * t, table.f32(), P, d, pos[i], l, s),
                  d * sizeof(float));
}

void prompt_rows_gather_ref(const Tensor& x, const Tensor& positions, int64_t l, Tensor& out) {
  const int64_t b = x.dim(0), s = x.dim(1), d = x.dim(2);
  for (int64_t i = 0; i < b; ++i)
    for (int64_t r = 0; r < l; ++r)
      for (int64_t j = 0; j < d; ++j)
        out.f32()[(i * l + r) * d + j] = x.f32()[(i * s + positions.i32()[i] + r) * d + j];
}

void prompt_rows_gather_fast(const Tensor& x, const Tensor& positions, int64_t l, Tensor& out) {
  const int64_t b = x.dim(0), s = x.dim(1), d = x.dim(2);
  for (int64_t i = 0; i < b; ++i)
    std::memcpy(out.f32() + i * l * d, x.f32() + (i * s + positions.i32()[i]) * d, l * d * sizeof(float));
}

void prompt_grad_reduce_ref(const Tensor& d_rows, Tensor& d_prompt, bool accumulate) {
  const int64_t b = d_rows.dim(0), n = d_rows.dim(1) * d_rows.dim(2);
  for (int64_t k = 0; k < n; ++k) {
    double acc = accumulate ? d_prompt.f32()[k] : 0.0;
    for (int64_t i = 0; i < b; ++i) acc += d_rows.f32()[i * n + k];
    d_prompt.f32()[k] = static_cast<float>(acc);
  }
}

void prompt_grad_reduce_fast(const Tensor& d_rows, Tensor& d_prompt, bool accumulate) {
  const int64_t b = d_rows.dim(0), n = d_rows.dim(1) * d_rows.dim(2);
  const float* src = d_rows.f32();
  float* dst = d_prompt.f32();
  // Fixed summation order over examples for every element: the same bits for any thread count.
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < n; ++k) {
    float acc = accumulate ? dst[k] : 0.0f;
    for (int64_t i = 0; i < b; ++i) acc += src[i * n + k];
    dst[k] = acc;
  }
}

}  // namespace spot::cpu
