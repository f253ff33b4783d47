// cpu_ops.h — the CPU backends of every op: `_ref` (plain loops, fp64 accumulation, never
// optimised: the oracle) and `_fast` (OpenBLAS + OpenMP). Arguments are already checked by the
// dispatchers in kernels/<op>.cpp.
#pragma once

#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/embedding.h"
#include "base/context.h"

namespace spot::cpu {

#define SPOT_CPU_OP(name, ...)       \
  void name##_ref(__VA_ARGS__);      \
  void name##_fast(__VA_ARGS__)

SPOT_CPU_OP(linear_forward, const Tensor& x, const Tensor& w, Tensor& y, bool accumulate);
SPOT_CPU_OP(linear_backward_input, const Tensor& dy, const Tensor& w, Tensor& dx, bool accumulate);
SPOT_CPU_OP(rms_norm_forward, const Tensor& x, const Tensor& w, float eps, Tensor& y, Tensor& inv_rms);
SPOT_CPU_OP(rms_norm_backward_input, const Tensor& dy, const Tensor& x, const Tensor& w, const Tensor& inv_rms,
            Tensor& dx, bool accumulate);
SPOT_CPU_OP(embed_with_prompt, const Tensor& ids, const Tensor& table, const Tensor& prompts, const PromptSlots& slots,
            Tensor& out);
SPOT_CPU_OP(prompt_rows_write, const Tensor& prompts, const PromptSlots& slots, Tensor& x);
SPOT_CPU_OP(prompt_rows_gather, const Tensor& x, const Tensor& positions, int64_t prompt_len, Tensor& out);
SPOT_CPU_OP(prompt_grad_reduce, const Tensor& d_rows, const PromptSlots& slots, Tensor& d_prompts, bool accumulate);
SPOT_CPU_OP(activation_forward, Activation act, const Tensor& x, Tensor& y);
SPOT_CPU_OP(activation_backward_input, Activation act, const Tensor& dy, const Tensor& x, Tensor& dx);
SPOT_CPU_OP(glu_forward, Activation act, const Tensor& gate, const Tensor& up, Tensor& h);
SPOT_CPU_OP(glu_backward_input, Activation act, const Tensor& dh, const Tensor& gate, const Tensor& up,
            Tensor& d_gate, Tensor& d_up);
SPOT_CPU_OP(cross_entropy_forward_backward, const Tensor& logits, const Tensor& labels, float grad_scale,
            Tensor& row_loss, Tensor* dlogits);
SPOT_CPU_OP(attention_forward, const AttentionConfig& cfg, const Tensor& q, const Tensor& k, const Tensor& v,
            const Tensor& bias, const Tensor& key_mask, Tensor& out, Tensor& probs);
SPOT_CPU_OP(attention_backward, const AttentionConfig& cfg, const Tensor& d_out, const Tensor& q, const Tensor& k,
            const Tensor& v, const Tensor& probs, Tensor* dq, Tensor* dk, Tensor* dv, const PromptRows* rows);
SPOT_CPU_OP(relative_position_bias, const Tensor& table, const Tensor& buckets, Tensor& out);
SPOT_CPU_OP(axpy, float alpha, const Tensor& x, Tensor& y);
SPOT_CPU_OP(scale, float alpha, const Tensor& x, Tensor& y);
SPOT_CPU_OP(add, const Tensor& a, const Tensor& b, Tensor& y);
SPOT_CPU_OP(rope_forward, const Tensor& x, int64_t pos_offset, float theta, Tensor& y);
SPOT_CPU_OP(rope_backward_input, const Tensor& dy, int64_t pos_offset, float theta, Tensor& dx);
SPOT_CPU_OP(rows_gather, const Tensor& x, const Tensor& index, Tensor& out);
SPOT_CPU_OP(rows_scatter, const Tensor& src, const Tensor& index, Tensor& out);
SPOT_CPU_OP(prefix_concat, const Tensor& prefix, const Tensor& x, Tensor& out);

#undef SPOT_CPU_OP

}  // namespace spot::cpu
