// t5_model.cpp — frozen T5 forward with a soft prompt, and the prompt-only backward.
//
// Follows HF T5ForConditionalGeneration (transformers 5.x modeling_t5.py): pre-norm blocks with RMS
// LayerNorm, no 1/√d attention scaling, one relative-position bias table per stack (block 0) added
// in every layer, decoder inputs = labels shifted right with decoder_start_token_id, and (v1.0) the
// decoder output scaled by d_model^-0.5 before the LM head. Dropout is off (frozen
// model in eval mode; prompt tuning trains only the prompt).
//
// Shapes: B examples, T input tokens (padded), L prompt vectors, S = T + L encoder positions,
// Tt target tokens; N = B·S encoder rows, M = B·Tt decoder rows; inner = n_heads·d_kv.
#include "model/t5/t5_model.h"

#include <cmath>

#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/linear.h"
#include "kernels/loss.h"
#include "kernels/rmsnorm.h"

namespace spot {

namespace {

double nbytes(const Tensor& t) { return t.defined() ? static_cast<double>(t.nbytes()) : 0.0; }

// What one attention sub-layer keeps for its input-gradient backward.
struct AttentionSaved {
  Tensor x;        // [rows, d] sub-layer input (for the LayerNorm backward)
  Tensor inv_rms;  // [rows]
  Tensor q, k, v;  // [B, Tq, H, Dh], [B, Tk, H, Dh]
  Tensor probs;    // [B, H, Tq, Tk]
};

// What one feed-forward sub-layer keeps.
struct FeedForwardSaved {
  Tensor x;        // [rows, d]
  Tensor inv_rms;  // [rows]
  Tensor pre;      // [rows, d_ff]: wi·x (ReLU) or wi_0·x (gated)
  Tensor up;       // [rows, d_ff]: wi_1·x (gated only)
};

struct EncoderLayerSaved {
  AttentionSaved attn;
  FeedForwardSaved ffn;
};

struct DecoderLayerSaved {
  AttentionSaved self;
  AttentionSaved cross;  // cross.k / cross.v are projections of the encoder output
  FeedForwardSaved ffn;
};

class T5Step {
 public:
  T5Step(Context& ctx, const T5Weights& w) : ctx_(ctx), w_(w), c_(w.config) {}

  // x [rows, d] (the residual stream, updated in place): x += o(attention(ln(x), kv)).
  // kv_source undefined: self-attention; else cross-attention on kv_source [B·Tk, d].
  void attention_forward(Tensor& x, const Tensor& ln_w, const T5AttentionWeights& aw, const Tensor& kv_source,
                         int64_t b, int64_t tq, int64_t tk, const Tensor& bias, const Tensor& key_mask, bool causal,
                         AttentionSaved* saved) {
    const int64_t rows = x.dim(0), inner = c_.inner_dim();
    Tensor n = ctx_.empty({rows, c_.d_model}), inv = ctx_.empty({rows});
    rms_norm_forward(ctx_, x, ln_w, c_.layer_norm_epsilon, n, inv);
    Tensor q = ctx_.empty({rows, inner});
    linear_forward(ctx_, n, aw.q, q);
    const Tensor& kv_in = kv_source.defined() ? kv_source : n;
    Tensor k = ctx_.empty({kv_in.dim(0), inner}), v = ctx_.empty({kv_in.dim(0), inner});
    linear_forward(ctx_, kv_in, aw.k, k);
    linear_forward(ctx_, kv_in, aw.v, v);
    AttentionConfig cfg{c_.num_heads, c_.num_heads, c_.d_kv, 1.0f, causal};
    Tensor q4 = q.reshape({b, tq, c_.num_heads, c_.d_kv}), k4 = k.reshape({b, tk, c_.num_heads, c_.d_kv}),
           v4 = v.reshape({b, tk, c_.num_heads, c_.d_kv});
    Tensor out = ctx_.empty({rows, inner}), probs = ctx_.empty({b, c_.num_heads, tq, tk});
    Tensor out4 = out.reshape({b, tq, c_.num_heads, c_.d_kv});
    spot::attention_forward(ctx_, cfg, q4, k4, v4, bias, key_mask, out4, probs);
    if (saved) *saved = {x.clone(), inv, q4, k4, v4, probs};
    linear_forward(ctx_, out, aw.o, x, /*accumulate=*/true);
  }

  // x += wo·act(wi·ln(x))  or  x += wo·(act(wi_0·ln(x)) ⊙ wi_1·ln(x)).
  void ffn_forward(Tensor& x, const Tensor& ln_w, const T5FeedForwardWeights& fw, FeedForwardSaved* saved) {
    const int64_t rows = x.dim(0);
    Tensor n = ctx_.empty({rows, c_.d_model}), inv = ctx_.empty({rows});
    rms_norm_forward(ctx_, x, ln_w, c_.layer_norm_epsilon, n, inv);
    Tensor pre = ctx_.empty({rows, c_.d_ff}), up, hidden = ctx_.empty({rows, c_.d_ff});
    if (c_.gated) {
      up = ctx_.empty({rows, c_.d_ff});
      linear_forward(ctx_, n, fw.wi_0, pre);
      linear_forward(ctx_, n, fw.wi_1, up);
      glu_forward(ctx_, c_.act, pre, up, hidden);
    } else {
      linear_forward(ctx_, n, fw.wi, pre);
      activation_forward(ctx_, c_.act, pre, hidden);
    }
    if (saved) *saved = {x.clone(), inv, pre, up};
    linear_forward(ctx_, hidden, fw.wo, x, /*accumulate=*/true);
  }

  // g [rows, d]: gradient of the residual stream after the FFN sub-layer; updated in place to the
  // gradient before it (g += ln_backward(ffn_backward(g))).
  void ffn_backward(Tensor& g, const Tensor& ln_w, const T5FeedForwardWeights& fw, const FeedForwardSaved& s) {
    const int64_t rows = g.dim(0);
    Tensor dh = ctx_.empty({rows, c_.d_ff});
    linear_backward_input(ctx_, g, fw.wo, dh);
    Tensor dn = ctx_.empty({rows, c_.d_model});
    if (c_.gated) {
      Tensor dpre = ctx_.empty({rows, c_.d_ff}), dup = ctx_.empty({rows, c_.d_ff});
      glu_backward_input(ctx_, c_.act, dh, s.pre, s.up, dpre, dup);
      linear_backward_input(ctx_, dpre, fw.wi_0, dn);
      linear_backward_input(ctx_, dup, fw.wi_1, dn, /*accumulate=*/true);
    } else {
      Tensor dpre = ctx_.empty({rows, c_.d_ff});
      activation_backward_input(ctx_, c_.act, dh, s.pre, dpre);
      linear_backward_input(ctx_, dpre, fw.wi, dn);
    }
    rms_norm_backward_input(ctx_, dn, s.x, ln_w, s.inv_rms, g, /*accumulate=*/true);
  }

  // Backward of an attention sub-layer. g: gradient after the sub-layer (updated in place to the
  // gradient before it, when want_query_path). For cross-attention, d_kv_source [B·Tk, d]
  // accumulates the gradient reaching the encoder output through K and V.
  void attention_backward(Tensor& g, const Tensor& ln_w, const T5AttentionWeights& aw, const AttentionSaved& s,
                          bool causal, bool want_query_path, Tensor* d_kv_source) {
    const int64_t rows = g.dim(0), inner = c_.inner_dim();
    Tensor d_out = ctx_.empty({rows, inner});
    linear_backward_input(ctx_, g, aw.o, d_out);
    AttentionConfig cfg{c_.num_heads, c_.num_heads, c_.d_kv, 1.0f, causal};
    Tensor d_out4 = d_out.reshape(s.q.shape());
    Tensor dq, dk, dv;
    if (want_query_path) dq = ctx_.empty(s.q.shape());
    const bool self = d_kv_source == nullptr;
    if (!self || want_query_path) {
      dk = ctx_.empty(s.k.shape());
      dv = ctx_.empty(s.v.shape());
    }
    spot::attention_backward(ctx_, cfg, d_out4, s.q, s.k, s.v, s.probs, &dq, &dk, &dv);
    if (!self) {
      Tensor dk2 = dk.reshape({-1, inner}), dv2 = dv.reshape({-1, inner});
      linear_backward_input(ctx_, dk2, aw.k, *d_kv_source, /*accumulate=*/true);
      linear_backward_input(ctx_, dv2, aw.v, *d_kv_source, /*accumulate=*/true);
    }
    if (!want_query_path) return;
    Tensor dn = ctx_.empty({rows, c_.d_model});
    linear_backward_input(ctx_, dq.reshape({rows, inner}), aw.q, dn);
    if (self) {
      linear_backward_input(ctx_, dk.reshape({rows, inner}), aw.k, dn, true);
      linear_backward_input(ctx_, dv.reshape({rows, inner}), aw.v, dn, true);
    }
    rms_norm_backward_input(ctx_, dn, s.x, ln_w, s.inv_rms, g, /*accumulate=*/true);
  }

  // First encoder layer, attention part: only each example's prompt rows of the gradient reaching
  // the layer input are needed. g [N, d] is the gradient after the attention sub-layer (all rows);
  // returns the gradient of the layer input at the prompt rows, [B, L, d].
  Tensor attention_backward_prompt_rows(const Tensor& g, const Tensor& ln_w, const T5AttentionWeights& aw,
                                        const AttentionSaved& s, const Tensor& positions, int64_t L) {
    const int64_t b = s.q.dim(0), seq = s.q.dim(1), rows = g.dim(0), inner = c_.inner_dim(), d = c_.d_model;
    Tensor d_out = ctx_.empty({rows, inner});
    linear_backward_input(ctx_, g, aw.o, d_out);
    AttentionConfig cfg{c_.num_heads, c_.num_heads, c_.d_kv, 1.0f, false};
    Tensor dq = ctx_.empty({b, L, c_.num_heads, c_.d_kv}), dk = ctx_.empty(dq.shape()), dv = ctx_.empty(dq.shape());
    PromptRows pr{positions, L};
    spot::attention_backward(ctx_, cfg, d_out.reshape(s.q.shape()), s.q, s.k, s.v, s.probs, &dq, &dk, &dv, &pr);
    Tensor dn = ctx_.empty({b * L, d});
    linear_backward_input(ctx_, dq.reshape({b * L, inner}), aw.q, dn);
    linear_backward_input(ctx_, dk.reshape({b * L, inner}), aw.k, dn, true);
    linear_backward_input(ctx_, dv.reshape({b * L, inner}), aw.v, dn, true);
    // Gather the prompt rows of the residual gradient, the layer input and its inverse RMS.
    Tensor g_rows = ctx_.empty({b, L, d}), x_rows = ctx_.empty({b, L, d}), inv_rows = ctx_.empty({b, L, 1});
    prompt_rows_gather(ctx_, g.reshape({b, seq, d}), positions, L, g_rows);
    prompt_rows_gather(ctx_, s.x.reshape({b, seq, d}), positions, L, x_rows);
    prompt_rows_gather(ctx_, s.inv_rms.reshape({b, seq, 1}), positions, L, inv_rows);
    Tensor g2 = g_rows.reshape({b * L, d});
    rms_norm_backward_input(ctx_, dn, x_rows.reshape({b * L, d}), ln_w, inv_rows.reshape({b * L}), g2, true);
    return g_rows;
  }

 private:
  Context& ctx_;
  const T5Weights& w_;
  const T5Config& c_;
};

}  // namespace

T5Model::T5Model(Context& ctx, T5Weights weights) : ctx_(ctx), weights_(std::move(weights)) {
  SPOT_CHECK(weights_.shared.device() == ctx.device(),
             "T5Model: weights on " << device_name(weights_.shared.device()) << " but the context runs on "
                                    << device_name(ctx.device()));
}

const Tensor& T5Model::bias_for(int64_t q_len, int64_t k_len, bool encoder) {
  auto key = std::make_tuple(q_len, k_len, encoder);
  auto it = bias_cache_.find(key);
  if (it != bias_cache_.end()) return it->second;
  const T5Config& c = weights_.config;
  Tensor buckets = t5_relative_position_buckets(q_len, k_len, /*bidirectional=*/encoder,
                                                c.relative_attention_num_buckets, c.relative_attention_max_distance);
  Tensor bias = ctx_.empty({c.num_heads, q_len, k_len});
  relative_position_bias(ctx_, encoder ? weights_.enc_rel_bias : weights_.dec_rel_bias, buckets.to(ctx_.device()), bias);
  if (bias_cache_.size() > 64) bias_cache_.clear();  // bounded: shapes vary with padding
  return bias_cache_.emplace(key, bias).first->second;
}

RunResult T5Model::run(const PromptBatch& batch, const Tensor& prompt, const RunOptions& opt) {
  SPOT_NVTX_RANGE("t5.run");
  const T5Config& c = weights_.config;
  const int64_t B = static_cast<int64_t>(batch.size());
  SPOT_CHECK(B > 0, "T5Model::run: empty batch");
  SPOT_CHECK(batch.targets.size() == batch.inputs.size(),
             "T5Model::run: " << batch.inputs.size() << " inputs but " << batch.targets.size() << " targets");
  const int64_t L = prompt.defined() ? prompt.dim(0) : 0;
  if (L) {
    check_shape(prompt, {L, c.d_model}, "T5Model::run prompt");
    SPOT_CHECK(prompt.is_cpu(), "T5Model::run: the prompt is passed on the host");
  }
  SPOT_CHECK(!opt.backward || L > 0, "T5Model::run: backward needs a prompt (L > 0)");

  // ---- pack the batch: inputs padded with pad_token_id, labels with kIgnoreIndex
  int64_t T = batch.pad_inputs_to, Tt = batch.pad_targets_to;
  std::vector<int64_t> in_len(B), tgt_len(B);
  for (int64_t b = 0; b < B; ++b) {
    in_len[b] = static_cast<int64_t>(batch.inputs[b].size());
    tgt_len[b] = static_cast<int64_t>(batch.targets[b].size());
    SPOT_CHECK(in_len[b] > 0 && tgt_len[b] > 0, "T5Model::run: example " << b << " has an empty input or target");
  }
  int64_t max_in = 0, max_tgt = 0;
  for (int64_t b = 0; b < B; ++b) max_in = std::max(max_in, in_len[b]), max_tgt = std::max(max_tgt, tgt_len[b]);
  T = T ? T : max_in;
  Tt = Tt ? Tt : max_tgt;
  SPOT_CHECK(T >= max_in && Tt >= max_tgt, "T5Model::run: padding length shorter than the longest example");
  const int64_t S = T + L, N = B * S, M = B * Tt, d = c.d_model, V = c.vocab_size;
  Tensor ids = Tensor::empty({B, T}, DType::I32), dec_ids = Tensor::empty({B, Tt}, DType::I32),
         labels = Tensor::empty({B, Tt}, DType::I32), mask = Tensor::empty({B, S}, DType::I32);
  const std::vector<int32_t> positions = opt.placement.positions_for(in_len);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) {
      const int32_t id = t < in_len[b] ? batch.inputs[b][t] : c.pad_token_id;
      SPOT_CHECK(id >= 0 && id < V, "T5Model::run: input token " << id << " of example " << b << " outside vocabulary of " << V);
      ids.i32()[b * T + t] = id;
    }
    for (int64_t t = 0; t < Tt; ++t) {
      const int32_t y = t < tgt_len[b] ? batch.targets[b][t] : kIgnoreIndex;
      SPOT_CHECK(y == kIgnoreIndex || (y >= 0 && y < V), "T5Model::run: target token " << y << " of example " << b << " outside vocabulary");
      labels.i32()[b * Tt + t] = y;
      // HF _shift_right: [decoder_start, y0, …, y_{Tt-2}], ignored labels replaced by pad.
      const int32_t prev = t == 0 ? c.decoder_start_token_id : labels.i32()[b * Tt + t - 1];
      dec_ids.i32()[b * Tt + t] = prev == kIgnoreIndex ? c.pad_token_id : prev;
    }
    for (int64_t s = 0; s < S; ++s) {
      const int64_t pos = positions[b];
      const bool is_prompt = s >= pos && s < pos + L;
      const int64_t src = s < pos ? s : s - L;
      mask.i32()[b * S + s] = (is_prompt || src < in_len[b]) ? 1 : 0;
    }
  }
  Tensor pos_t = Tensor::from_ints(positions, {B});
  const Device dev = ctx_.device();
  Tensor ids_d = ids.to(dev), dec_ids_d = dec_ids.to(dev), labels_d = labels.reshape({M}).to(dev), mask_d = mask.to(dev),
         pos_d = pos_t.to(dev);
  Tensor prompt_d = L ? prompt.to(dev) : Tensor();

  MemoryReport mem;
  mem.weight_bytes = weights_.bytes();
  const bool bw = opt.backward;

  // ---- encoder
  std::vector<EncoderLayerSaved> enc_saved(bw ? c.num_layers : 0);
  T5Step step(ctx_, weights_);
  Tensor x = ctx_.empty({B, S, d});
  {
    SPOT_NVTX_RANGE("t5.encoder");
    embed_with_prompt(ctx_, ids_d, weights_.shared, prompt_d, pos_d, x);
    x = x.reshape({N, d});
    const Tensor& enc_bias = bias_for(S, S, true);
    for (int64_t l = 0; l < c.num_layers; ++l) {
      const T5EncoderLayerWeights& lw = weights_.encoder[l];
      step.attention_forward(x, lw.ln_attn, lw.attn, Tensor(), B, S, S, enc_bias, mask_d, false,
                             bw ? &enc_saved[l].attn : nullptr);
      step.ffn_forward(x, lw.ln_ffn, lw.ffn, bw ? &enc_saved[l].ffn : nullptr);
    }
  }
  Tensor enc_pre_final = bw ? x.clone() : Tensor();
  Tensor enc_out = ctx_.empty({N, d}), enc_inv = ctx_.empty({N});
  rms_norm_forward(ctx_, x, weights_.enc_final_ln, c.layer_norm_epsilon, enc_out, enc_inv);

  // ---- decoder (teacher forcing; causal self-attention; cross-attention masked by the encoder mask)
  std::vector<DecoderLayerSaved> dec_saved(bw ? c.num_decoder_layers : 0);
  Tensor y = ctx_.empty({B, Tt, d});
  {
    SPOT_NVTX_RANGE("t5.decoder");
    Tensor no_prompt;
    Tensor zero_pos = Tensor::zeros({B}, DType::I32, dev);
    embed_with_prompt(ctx_, dec_ids_d, weights_.shared, no_prompt, zero_pos, y);
    y = y.reshape({M, d});
    const Tensor& dec_bias = bias_for(Tt, Tt, false);
    for (int64_t l = 0; l < c.num_decoder_layers; ++l) {
      const T5DecoderLayerWeights& lw = weights_.decoder[l];
      // Layer 0's self-attention does not depend on the prompt: nothing to keep for it.
      step.attention_forward(y, lw.ln_self, lw.self, Tensor(), B, Tt, Tt, dec_bias, Tensor(), true,
                             bw && l > 0 ? &dec_saved[l].self : nullptr);
      step.attention_forward(y, lw.ln_cross, lw.cross, enc_out, B, Tt, S, Tensor(), mask_d, false,
                             bw ? &dec_saved[l].cross : nullptr);
      step.ffn_forward(y, lw.ln_ffn, lw.ffn, bw ? &dec_saved[l].ffn : nullptr);
    }
  }
  Tensor dec_out = ctx_.empty({M, d}), dec_inv = ctx_.empty({M});
  rms_norm_forward(ctx_, y, weights_.dec_final_ln, c.layer_norm_epsilon, dec_out, dec_inv);
  const float head_scale = c.scale_decoder_outputs ? 1.0f / std::sqrt(static_cast<float>(d)) : 1.0f;
  if (c.scale_decoder_outputs) scale(ctx_, head_scale, dec_out, dec_out);
  Tensor logits = ctx_.empty({M, V});
  linear_forward(ctx_, dec_out, weights_.lm_head, logits);

  // ---- loss: mean over non-padding target tokens (HF CrossEntropyLoss(ignore_index=-100))
  int64_t count = 0;
  for (int64_t i = 0; i < M; ++i) count += labels.i32()[i] != kIgnoreIndex;
  Tensor row_loss = ctx_.empty({M});
  Tensor dlogits = bw ? ctx_.empty({M, V}) : Tensor();
  cross_entropy_forward_backward(ctx_, logits, labels_d, 1.0f / static_cast<float>(count), row_loss,
                                 bw ? &dlogits : nullptr);
  RunResult res;
  const std::vector<float> rl = row_loss.to_floats();
  res.target_tokens = count;
  res.example_logprob.assign(B, 0.0);
  res.example_tokens.assign(B, 0);
  double total = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < Tt; ++t)
      if (labels.i32()[b * Tt + t] != kIgnoreIndex) {
        res.example_logprob[b] -= rl[b * Tt + t];
        res.example_tokens[b] += 1;
        total += rl[b * Tt + t];
      }
  res.loss = total / static_cast<double>(count);
  if (opt.keep_logits) res.logits = logits.to(Device::CPU).reshape({B, Tt, V});
  if (opt.keep_encoder_output) res.encoder_output = enc_out.to(Device::CPU).reshape({B, S, d});

  if (bw) {
    SPOT_NVTX_RANGE("t5.backward");
    // LM head and final decoder norm.
    Tensor g_head = ctx_.empty({M, d});
    linear_backward_input(ctx_, dlogits, weights_.lm_head, g_head);
    if (c.scale_decoder_outputs) scale(ctx_, head_scale, g_head, g_head);
    dlogits = Tensor();  // [M, V] is the largest buffer: free it early
    logits = Tensor();
    Tensor g = ctx_.empty({M, d});
    rms_norm_backward_input(ctx_, g_head, y, weights_.dec_final_ln, dec_inv, g);
    // Decoder layers in reverse; d_enc accumulates what reaches the encoder output via cross K/V.
    Tensor d_enc = ctx_.zeros({N, d});
    for (int64_t l = c.num_decoder_layers - 1; l >= 0; --l) {
      const T5DecoderLayerWeights& lw = weights_.decoder[l];
      const DecoderLayerSaved& s = dec_saved[l];
      step.ffn_backward(g, lw.ln_ffn, lw.ffn, s.ffn);
      // In the first decoder layer the cross-attention query and the self-attention depend only on
      // the target embeddings, which do not depend on the prompt: skip them.
      const bool first = l == 0;
      step.attention_backward(g, lw.ln_cross, lw.cross, s.cross, false, /*want_query_path=*/!first, &d_enc);
      if (!first) step.attention_backward(g, lw.ln_self, lw.self, s.self, true, true, nullptr);
    }
    g = ctx_.empty({N, d});
    rms_norm_backward_input(ctx_, d_enc, enc_pre_final, weights_.enc_final_ln, enc_inv, g);
    d_enc = Tensor();
    for (int64_t l = c.num_layers - 1; l >= 1; --l) {
      const T5EncoderLayerWeights& lw = weights_.encoder[l];
      step.ffn_backward(g, lw.ln_ffn, lw.ffn, enc_saved[l].ffn);
      step.attention_backward(g, lw.ln_attn, lw.attn, enc_saved[l].attn, false, true, nullptr);
    }
    const T5EncoderLayerWeights& l0 = weights_.encoder[0];
    step.ffn_backward(g, l0.ln_ffn, l0.ffn, enc_saved[0].ffn);
    Tensor g_rows = step.attention_backward_prompt_rows(g, l0.ln_attn, l0.attn, enc_saved[0].attn, pos_d, L);
    Tensor d_prompt = ctx_.empty({L, d});
    prompt_grad_reduce(ctx_, g_rows, d_prompt);
    res.prompt_grad = d_prompt.to(Device::CPU);

    // Memory accounting: what this backward kept, and what a weight-gradient backward would add.
    const int64_t inner = c.inner_dim();
    auto saved_bytes = [](const AttentionSaved& a) {
      return nbytes(a.x) + nbytes(a.inv_rms) + nbytes(a.q) + nbytes(a.k) + nbytes(a.v) + nbytes(a.probs);
    };
    auto ffn_bytes = [](const FeedForwardSaved& f) { return nbytes(f.x) + nbytes(f.inv_rms) + nbytes(f.pre) + nbytes(f.up); };
    for (const auto& s : enc_saved) mem.saved_activation_bytes += saved_bytes(s.attn) + ffn_bytes(s.ffn);
    for (const auto& s : dec_saved)
      mem.saved_activation_bytes += saved_bytes(s.self) + saved_bytes(s.cross) + ffn_bytes(s.ffn);
    mem.saved_activation_bytes += 4.0 * (2 * N * d + N + M * d + M);  // encoder pre-norm, enc_out, dec norm
    // A weight-gradient backward also keeps every linear's input: the normed input of each
    // attention/FFN block, the attention context (input of o), the FFN hidden (input of wo), and the
    // decoder output (input of the LM head); plus a gradient buffer per weight.
    const double f = 4.0;
    mem.full_backward_extra_bytes =
        f * c.num_layers * (N * d + N * inner + N * d + N * c.d_ff) +
        f * c.num_decoder_layers * (2 * (M * d + M * inner) + M * d + M * c.d_ff) + f * M * d;
    mem.weight_gradient_bytes = mem.weight_bytes;
  }
  memory_ = mem;
  return res;
}

double T5Model::count_flops(int64_t B, int64_t T, int64_t L, int64_t Tt, bool backward) const {
  const T5Config& c = weights_.config;
  const double S = static_cast<double>(T + L), N = B * S, M = static_cast<double>(B * Tt), d = c.d_model,
               inner = c.inner_dim(), F = c.d_ff, V = c.vocab_size, H = c.num_heads, dk = c.d_kv;
  const double ffn_mats = c.gated ? 3 : 2;
  // Forward: 2·rows·in·out per GEMM; attention 2·(QKᵀ) + 2·(PV) = 4·B·H·Tq·Tk·dk.
  const double enc_layer = 2 * N * d * inner * 4 + 4 * B * H * S * S * dk + 2 * N * d * F * ffn_mats;
  const double dec_layer = 2 * M * d * inner * 4 + 4 * B * H * Tt * Tt * dk  // self
                           + 2 * M * d * inner * 2 + 2 * N * d * inner * 2 + 4 * B * H * Tt * S * dk  // cross
                           + 2 * M * d * F * ffn_mats;
  const double fwd = c.num_layers * enc_layer + c.num_decoder_layers * dec_layer + 2 * M * d * V;
  if (!backward) return fwd;
  // Backward (input gradients only): each GEMM once more (dX = dY·W), attention twice its forward
  // (dP, dQ, dK, dV), minus what is skipped: decoder layer 0 self-attention and cross query, and in
  // encoder layer 0 the Q/K/V input-gradient GEMMs beyond the prompt rows.
  double bwd = fwd;
  bwd += c.num_layers * 4 * B * H * S * S * dk + c.num_decoder_layers * (4 * B * H * Tt * Tt * dk + 4 * B * H * Tt * S * dk);
  bwd -= 2 * M * d * inner * 4 + 4 * B * H * Tt * Tt * dk * 2;  // decoder layer 0 self-attention
  bwd -= 2 * M * d * inner + 2 * B * H * Tt * S * dk;            // decoder layer 0 cross query (GEMM, dQ)
  bwd -= 2 * (N - B * L) * d * inner * 3;                        // encoder layer 0 non-prompt Q/K/V rows
  bwd -= 3 * 2 * B * H * (S - L) * S * dk;                       // ... and their dQ, dK, dV products
  return fwd + bwd;
}

}  // namespace spot
