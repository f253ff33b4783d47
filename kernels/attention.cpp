// attention.cpp — checks and dispatch for attention.h, and T5's relative-position buckets.
#include "kernels/attention.h"

#include <algorithm>
#include <cmath>

#include "kernels/dispatch.h"

namespace spot {

static void check_heads(const AttentionConfig& cfg, const char* op) {
  SPOT_CHECK(cfg.n_heads > 0 && cfg.n_kv_heads > 0 && cfg.d_head > 0 && cfg.n_heads % cfg.n_kv_heads == 0,
             op << ": bad head configuration n_heads=" << cfg.n_heads << " n_kv_heads=" << cfg.n_kv_heads
                << " d_head=" << cfg.d_head);
}

void attention_forward(Context& ctx, const AttentionConfig& cfg, const Tensor& q, const Tensor& k, const Tensor& v,
                       const Tensor& bias, const Tensor& key_mask, Tensor& out, Tensor& probs) {
  detail::check_on(ctx, "attention_forward", {&q, &k, &v, &bias, &key_mask, &out, &probs});
  check_heads(cfg, "attention_forward");
  SPOT_CHECK(q.ndim() == 4, "attention_forward: q " << q.str() << " must be [B, Tq, H, Dh]");
  const int64_t b = q.dim(0), tq = q.dim(1), tk = k.dim(1);
  check_shape(q, {b, tq, cfg.n_heads, cfg.d_head}, "attention_forward q");
  check_shape(k, {b, tk, cfg.n_kv_heads, cfg.d_head}, "attention_forward k");
  check_shape(v, {b, tk, cfg.n_kv_heads, cfg.d_head}, "attention_forward v");
  if (bias.defined()) check_shape(bias, {cfg.n_heads, tq, tk}, "attention_forward bias");
  if (key_mask.defined()) {
    check_shape(key_mask, {b, tk}, "attention_forward key_mask");
    key_mask.check_dtype(DType::I32);
  }
  SPOT_CHECK(!cfg.causal || tk >= tq, "attention_forward: causal attention needs Tk >= Tq (" << tk << " < " << tq << ")");
  check_shape(out, q.shape(), "attention_forward out");
  check_shape(probs, {b, cfg.n_heads, tq, tk}, "attention_forward probs");
  for (const Tensor* t : std::initializer_list<const Tensor*>{&q, &k, &v, &out, &probs}) t->check_dtype(DType::F32);
  SPOT_DISPATCH(ctx, attention_forward, cfg, q, k, v, bias, key_mask, out, probs);
}

void attention_backward(Context& ctx, const AttentionConfig& cfg, const Tensor& d_out, const Tensor& q,
                        const Tensor& k, const Tensor& v, const Tensor& probs, Tensor* dq, Tensor* dk, Tensor* dv,
                        const PromptRows* rows) {
  if (dq && !dq->defined()) dq = nullptr;
  if (dk && !dk->defined()) dk = nullptr;
  if (dv && !dv->defined()) dv = nullptr;
  detail::check_on(ctx, "attention_backward", {&d_out, &q, &k, &v, &probs, dq, dk, dv});
  check_heads(cfg, "attention_backward");
  SPOT_CHECK(q.ndim() == 4, "attention_backward: q " << q.str() << " must be [B, Tq, H, Dh]");
  const int64_t b = q.dim(0), tq = q.dim(1), tk = k.dim(1);
  check_shape(q, {b, tq, cfg.n_heads, cfg.d_head}, "attention_backward q");
  check_shape(k, {b, tk, cfg.n_kv_heads, cfg.d_head}, "attention_backward k");
  check_shape(v, {b, tk, cfg.n_kv_heads, cfg.d_head}, "attention_backward v");
  check_shape(d_out, q.shape(), "attention_backward d_out");
  check_shape(probs, {b, cfg.n_heads, tq, tk}, "attention_backward probs");
  const int64_t rq = rows ? rows->prompt_len : tq;
  const int64_t rk = rows ? rows->prompt_len : tk;
  if (rows) {
    SPOT_CHECK(tq == tk, "attention_backward: prompt rows need self-attention (Tq == Tk), got " << tq << " vs " << tk);
    check_shape(rows->positions, {b}, "attention_backward prompt positions");
    detail::check_on(ctx, "attention_backward", {&rows->positions});
    if (ctx.backend() != Backend::Cuda)
      for (int64_t i = 0; i < b; ++i) {
        const int32_t p = rows->positions.i32()[i];
        SPOT_CHECK(p >= 0 && p + rows->prompt_len <= tq, "attention_backward: prompt rows [" << p << ", "
                                                             << p + rows->prompt_len << ") of example " << i
                                                             << " outside " << tq);
      }
  }
  if (dq) check_shape(*dq, {b, rq, cfg.n_heads, cfg.d_head}, "attention_backward dq");
  if (dk) check_shape(*dk, {b, rk, cfg.n_kv_heads, cfg.d_head}, "attention_backward dk");
  if (dv) check_shape(*dv, {b, rk, cfg.n_kv_heads, cfg.d_head}, "attention_backward dv");
  SPOT_DISPATCH(ctx, attention_backward, cfg, d_out, q, k, v, probs, dq, dk, dv, rows);
}

void relative_position_bias(Context& ctx, const Tensor& table, const Tensor& buckets, Tensor& out) {
  detail::check_on(ctx, "relative_position_bias", {&table, &buckets, &out});
  SPOT_CHECK(table.ndim() == 2 && buckets.ndim() == 2,
             "relative_position_bias: table " << table.str() << " and buckets " << buckets.str() << " must be 2-D");
  buckets.check_dtype(DType::I32);
  check_shape(out, {table.dim(1), buckets.dim(0), buckets.dim(1)}, "relative_position_bias out");
  if (ctx.backend() != Backend::Cuda)
    for (int64_t i = 0; i < buckets.numel(); ++i)
      SPOT_CHECK(buckets.i32()[i] >= 0 && buckets.i32()[i] < table.dim(0),
                 "relative_position_bias: bucket " << buckets.i32()[i] << " outside table of " << table.dim(0));
  SPOT_DISPATCH(ctx, relative_position_bias, table, buckets, out);
}

// Mirrors HF T5Attention._relative_position_bucket (Raffel et al. 2020 §2.1): exact buckets for small
// distances, logarithmic up to max_distance, half the buckets per direction when bidirectional.
Tensor t5_relative_position_buckets(int64_t q_len, int64_t k_len, bool bidirectional, int64_t num_buckets,
                                    int64_t max_distance, int64_t q_offset) {
  SPOT_CHECK(num_buckets >= 2 && max_distance >= 1, "t5 buckets: num_buckets=" << num_buckets
                                                        << " max_distance=" << max_distance);
  Tensor out = Tensor::empty({q_len, k_len}, DType::I32);
  int64_t nb = bidirectional ? num_buckets / 2 : num_buckets;
  const int64_t max_exact = nb / 2;
  for (int64_t i = 0; i < q_len; ++i)
    for (int64_t j = 0; j < k_len; ++j) {
      int64_t rel = j - (i + q_offset);  // memory_position - context_position
      int64_t bucket = 0;
      if (bidirectional) {
        if (rel > 0) bucket += nb;
        rel = std::abs(rel);
      } else {
        rel = -std::min<int64_t>(rel, 0);
      }
      if (rel < max_exact) {
        bucket += rel;
      } else {
        // HF computes this in float32: log(rel / max_exact) / log(max_distance / max_exact) * (nb - max_exact)
        const float r = static_cast<float>(rel) / static_cast<float>(max_exact);
        const float denom = static_cast<float>(std::log(static_cast<double>(max_distance) / max_exact));
        const float large_f = std::log(r) / denom * static_cast<float>(nb - max_exact);
        int64_t large = max_exact + static_cast<int64_t>(large_f);
        large = std::min(large, nb - 1);
        bucket += large;
      }
      out.i32()[i * k_len + j] = static_cast<int32_t>(bucket);
    }
  return out;
}

}  // namespace spot
