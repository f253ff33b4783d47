// cpu/embedding.cpp — prompt insertion into the token embeddings, prompt rows overwritten in place,
// and the per-prompt gradient reduction (embedding.h).
#include <cstring>

#include "kernels/cpu/cpu_ops.h"

namespace spot::cpu {

namespace {

// Row s of example b: the prompt slot for pos <= s < pos + len, else the token before (s < pos) or
// after it (s − len), or nullptr (a zero row) past the tokens.
inline const float* embed_source(const int32_t* ids_b, const float* table, const float* prompts, int64_t t,
                                 int64_t d, int64_t pos, int64_t src, int64_t len, int64_t s) {
  if (s >= pos && s < pos + len) return prompts + (src + s - pos) * d;
  const int64_t tok = s < pos ? s : s - len;
  return tok < t ? table + static_cast<int64_t>(ids_b[tok]) * d : nullptr;
}

struct Slot {
  int64_t pos, src, len;
};

inline Slot slot_of(const PromptSlots& s, int64_t b) {
  return {s.position.i32()[b], s.source.i32()[b], s.length.i32()[b]};
}

}  // namespace

void embed_with_prompt_ref(const Tensor& ids, const Tensor& table, const Tensor& prompts, const PromptSlots& slots,
                           Tensor& out) {
  const int64_t b = ids.dim(0), t = ids.dim(1), d = table.dim(1), l = slots.max_len;
  const float* P = prompts.defined() ? prompts.f32() : nullptr;
  for (int64_t i = 0; i < b; ++i) {
    const Slot sl = slot_of(slots, i);
    for (int64_t s = 0; s < t + l; ++s) {
      const float* src = embed_source(ids.i32() + i * t, table.f32(), P, t, d, sl.pos, sl.src, sl.len, s);
      float* dst = out.f32() + (i * (t + l) + s) * d;
      for (int64_t j = 0; j < d; ++j) dst[j] = src ? src[j] : 0.0f;
    }
  }
}

void embed_with_prompt_fast(const Tensor& ids, const Tensor& table, const Tensor& prompts, const PromptSlots& slots,
                            Tensor& out) {
  const int64_t b = ids.dim(0), t = ids.dim(1), d = table.dim(1), l = slots.max_len;
  const float* P = prompts.defined() ? prompts.f32() : nullptr;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t i = 0; i < b; ++i)
    for (int64_t s = 0; s < t + l; ++s) {
      const Slot sl = slot_of(slots, i);
      const float* src = embed_source(ids.i32() + i * t, table.f32(), P, t, d, sl.pos, sl.src, sl.len, s);
      float* dst = out.f32() + (i * (t + l) + s) * d;
      if (src)
        std::memcpy(dst, src, d * sizeof(float));
      else
        std::memset(dst, 0, d * sizeof(float));
    }
}

void prompt_rows_write_ref(const Tensor& prompts, const PromptSlots& slots, Tensor& x) {
  const int64_t b = x.dim(0), s = x.dim(1), d = x.dim(2);
  for (int64_t i = 0; i < b; ++i) {
    const Slot sl = slot_of(slots, i);
    for (int64_t r = 0; r < sl.len; ++r)
      for (int64_t j = 0; j < d; ++j)
        x.f32()[(i * s + sl.pos + r) * d + j] = prompts.defined() ? prompts.f32()[(sl.src + r) * d + j] : 0.0f;
  }
}

void prompt_rows_write_fast(const Tensor& prompts, const PromptSlots& slots, Tensor& x) {
  const int64_t b = x.dim(0), s = x.dim(1), d = x.dim(2);
  for (int64_t i = 0; i < b; ++i) {
    const Slot sl = slot_of(slots, i);
    float* dst = x.f32() + (i * s + sl.pos) * d;
    if (prompts.defined())
      std::memcpy(dst, prompts.f32() + sl.src * d, sl.len * d * sizeof(float));
    else
      std::memset(dst, 0, sl.len * d * sizeof(float));
  }
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

void prompt_grad_reduce_ref(const Tensor& d_rows, const PromptSlots& slots, Tensor& d_prompts, bool accumulate) {
  const int64_t b = d_rows.dim(0), l = d_rows.dim(1), d = d_rows.dim(2), rows = d_prompts.dim(0);
  for (int64_t o = 0; o < rows; ++o)
    for (int64_t j = 0; j < d; ++j) {
      double acc = accumulate ? d_prompts.f32()[o * d + j] : 0.0;
      for (int64_t i = 0; i < b; ++i) {
        const Slot sl = slot_of(slots, i);
        if (o >= sl.src && o < sl.src + sl.len) acc += d_rows.f32()[(i * l + o - sl.src) * d + j];
      }
      d_prompts.f32()[o * d + j] = static_cast<float>(acc);
    }
}

void prompt_grad_reduce_fast(const Tensor& d_rows, const PromptSlots& slots, Tensor& d_prompts, bool accumulate) {
  const int64_t b = d_rows.dim(0), l = d_rows.dim(1), d = d_rows.dim(2), rows = d_prompts.dim(0);
  const float* src = d_rows.f32();
  float* dst = d_prompts.f32();
  // Fixed summation order over examples for every element: the same bits for any thread count.
#pragma omp parallel for schedule(static)
  for (int64_t o = 0; o < rows; ++o) {
    float* out = dst + o * d;
    if (!accumulate) std::memset(out, 0, d * sizeof(float));
    for (int64_t i = 0; i < b; ++i) {
      const Slot sl = slot_of(slots, i);
      if (o < sl.src || o >= sl.src + sl.len) continue;
      const float* in = src + (i * l + o - sl.src) * d;
      for (int64_t j = 0; j < d; ++j) out[j] += in[j];
    }
  }
}

}  // namespace spot::cpu
