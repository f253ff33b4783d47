// attention.h — multi-head attention with an additive per-head bias (T5 relative positions), key
// padding mask, optional causal mask and grouped-query heads, forward and backward to Q/K/V.
//
// Layouts are those the projections produce, so no transposes are needed around the op:
//   q   [B, Tq, H,   Dh]      k, v [B, Tk, Hkv, Dh]      out [B, Tq, H, Dh]
//   bias [H, Tq, Tk] f32 (shared by every example; undefined tensor = none)
//   key_mask [B, Tk] i32, 1 = attend (undefined = all keys valid)
//   probs [B, H, Tq, Tk] f32: softmax(scale·QKᵀ + bias + mask), saved by forward for the backward.
// Head h reads K/V head h / (H / Hkv) (GQA; Hkv == H is ordinary multi-head attention).
// T5 uses scale = 1 (HF T5Attention has no 1/√d); Llama uses 1/√Dh.
// Causal: query i sees key j iff j <= i + (Tk − Tq) (queries are the last Tq positions).
#pragma once

#include "base/context.h"

namespace spot {

struct AttentionConfig {
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t d_head = 0;
  float scale = 1.0f;
  bool causal = false;
};

void attention_forward(Context& ctx, const AttentionConfig& cfg, const Tensor& q, const Tensor& k, const Tensor& v,
                       const Tensor& bias, const Tensor& key_mask, Tensor& out, Tensor& probs);

// Restriction of the backward to the soft-prompt rows (the first encoder layer: only the prompt's
// rows of the input gradient reach the prompt). When given, dq/dk/dv hold only the rows
// [pos_b, pos_b + prompt_len) of each example: dq [B, L, H, Dh], dk/dv [B, L, Hkv, Dh].
struct PromptRows {
  Tensor positions;  // [B] i32 on the op's device
  int64_t prompt_len = 0;
};

// d_out [B, Tq, H, Dh] -> dq, dk, dv (any may be undefined: not needed, not computed).
// Gradients are not accumulated: they overwrite dq/dk/dv. bias and mask are constants.
void attention_backward(Context& ctx, const AttentionConfig& cfg, const Tensor& d_out, const Tensor& q,
                        const Tensor& k, const Tensor& v, const Tensor& probs, Tensor* dq, Tensor* dk, Tensor* dv,
                        const PromptRows* rows = nullptr);

// T5 relative position bias: out[h, i, j] = table[bucket[i, j], h]; table [num_buckets, H] f32,
// buckets [Tq, Tk] i32 (from t5_relative_position_buckets) -> out [H, Tq, Tk].
void relative_position_bias(Context& ctx, const Tensor& table, const Tensor& buckets, Tensor& out);

// HF T5Attention._relative_position_bucket for every (query i, key j) of a [q_len, k_len] block,
// with query positions offset by q_offset (incremental decoding). Host-side, i32 [q_len, k_len].
Tensor t5_relative_position_buckets(int64_t q_len, int64_t k_len, bool bidirectional, int64_t num_buckets,
                                    int64_t max_distance, int64_t q_offset = 0);

}  // namespace spot
