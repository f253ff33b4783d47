// cuda_ops.h — the CUDA backends of every op, one kernels/cuda/<op>.cu each. Same arguments as the
// public op (kernels/<op>.h), already checked by its dispatcher; launched on the context's stream.
#pragma once

#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/embedding.h"
#include "base/context.h"

namespace spot::cuda {

void linear_forward(Context& ctx, const Tensor& x, const Tensor& w, Tensor& y, bool accumulate);
void linear_backward_input(Context& ctx, const Tensor& dy, const Tensor& w, Tensor& dx, bool accumulate);
void rms_norm_forward(Context& ctx, const Tensor& x, const Tensor& w, float eps, Tensor& y, Tensor& inv_rms);
void rms_norm_backward_input(Context& ctx, const Tensor& dy, const Tensor& x, const Tensor& w, const Tensor& inv_rms,
                             Tensor& dx, bool accumulate);
void embed_with_prompt(Context& ctx, const Tensor& ids, const Tensor& table, const Tensor& prompts,
                       const PromptSlots& slots, Tensor& out);
void prompt_rows_write(Context& ctx, const Tensor& prompts, const PromptSlots& slots, Tensor& x);
void prompt_rows_gather(Context& ctx, const Tensor& x, const Tensor& positions, int64_t prompt_len, Tensor& out);
void prompt_grad_reduce(Context& ctx, const Tensor& d_rows, const PromptSlots& slots, Tensor& d_prompts,
                        bool accumulate);
void activation_forward(Context& ctx, Activation act, const Tensor& x, Tensor& y);
void activation_backward_input(Context& ctx, Activation act, const Tensor& dy, const Tensor& x, Tensor& dx);
void glu_forward(Context& ctx, Activation act, const Tensor& gate, const Tensor& up, Tensor& h);
void glu_backward_input(Context& ctx, Activation act, const Tensor& dh, const Tensor& gate, const Tensor& up,
                        Tensor& d_gate, Tensor& d_up);
void cross_entropy_forward_backward(Context& ctx, const Tensor& logits, const Tensor& labels, float grad_scale,
                                    Tensor& row_loss, Tensor* dlogits);
void attention_forward(Context& ctx, const AttentionConfig& cfg, const Tensor& q, const Tensor& k, const Tensor& v,
                       const Tensor& bias, const Tensor& key_mask, Tensor& out, Tensor& probs);
void attention_backward(Context& ctx, const AttentionConfig& cfg, const Tensor& d_out, const Tensor& q,
                        const Tensor& k, const Tensor& v, const Tensor& probs, Tensor* dq, Tensor* dk, Tensor* dv,
                        const PromptRows* rows);
void relative_position_bias(Context& ctx, const Tensor& table, const Tensor& buckets, Tensor& out);
void axpy(Context& ctx, float alpha, const Tensor& x, Tensor& y);
void scale(Context& ctx, float alpha, const Tensor& x, Tensor& y);
void add(Context& ctx, const Tensor& a, const Tensor& b, Tensor& y);
void rope_forward(Context& ctx, const Tensor& x, int64_t pos_offset, float theta, Tensor& y);
void rope_backward_input(Context& ctx, const Tensor& dy, int64_t pos_offset, float theta, Tensor& dx);
void rows_gather(Context& ctx, const Tensor& x, const Tensor& index, Tensor& out);
void rows_scatter(Context& ctx, const Tensor& src, const Tensor& index, Tensor& out);
void prefix_concat(Context& ctx, const Tensor& prefix, const Tensor& x, Tensor& out);

}  // namespace spot::cuda
