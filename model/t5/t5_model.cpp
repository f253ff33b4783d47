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

#include <algorithm>
#include <cmath>
#include <functional>

#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/linear.h"
#include "kernels/loss.h"
#include "kernels/rmsnorm.h"
#include "model/run_common.h"

namespace spot {

namespace {

using detail::AttentionSaved;
using detail::FeedForwardSaved;
using detail::LayerSaved;

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

namespace {

T5Weights with_precision(T5Weights w, Precision p, const Context& ctx) {
  if (p == Precision::Bf16) {
    SPOT_CHECK(ctx.backend() != Backend::Cuda,
               "--precision bf16 runs on the CPU backends; the CUDA bf16 path (bf16 activations too) is not built yet");
    w.convert_linears(DType::BF16);
  }
  return w;
}

}  // namespace

T5Model::T5Model(Context& ctx, T5Weights weights, Precision precision)
    : ctx_(ctx), precision_(precision), weights_(with_precision(std::move(weights), precision, ctx)) {
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

namespace {

// One run of the frozen T5, stage by stage: pack (tokens, labels, the prompt set, the encoder mask)
// → encoder (embeddings with the prompts inserted; at depth deep each layer's prompt block written
// over the prompt rows) → decoder → loss → the prompt-only backward → memory report.
class T5Run {
 public:
  using BiasFn = std::function<const Tensor&(int64_t q_len, int64_t k_len, bool encoder)>;

  T5Run(Context& ctx, const T5Weights& w, BiasFn bias, const PromptBatch& batch, const PromptSet& prompts,
        const RunOptions& opt)
      : ctx_(ctx), w_(w), c_(w.config), bias_(std::move(bias)), batch_(batch), set_(prompts), opt_(opt),
        step_(ctx, w) {}

  RunResult run() {
    mem_.weight_bytes = w_.bytes();
    pack();
    encode();
    decode();
    Tensor dlogits = loss();
    if (opt_.backward) backward(dlogits);
    return std::move(res_);
  }
  const MemoryReport& memory() const { return mem_; }

 private:
  // ---- pack: inputs padded with pad_token_id, labels with kIgnoreIndex, the prompts into slots
  void pack() {
    B_ = static_cast<int64_t>(batch_.size());
    SPOT_CHECK(B_ > 0, "T5Model::run: empty batch");
    SPOT_CHECK(batch_.targets.size() == batch_.inputs.size(),
               "T5Model::run: " << batch_.inputs.size() << " inputs but " << batch_.targets.size() << " targets");
    in_len_.resize(B_);
    std::vector<int64_t> tgt_len(B_);
    int64_t max_in = 0, max_tgt = 0;
    for (int64_t b = 0; b < B_; ++b) {
      in_len_[b] = static_cast<int64_t>(batch_.inputs[b].size());
      tgt_len[b] = static_cast<int64_t>(batch_.targets[b].size());
      SPOT_CHECK(in_len_[b] > 0 && tgt_len[b] > 0, "T5Model::run: example " << b << " has an empty input or target");
      max_in = std::max(max_in, in_len_[b]);
      max_tgt = std::max(max_tgt, tgt_len[b]);
    }
    T_ = batch_.pad_inputs_to ? batch_.pad_inputs_to : max_in;
    Tt_ = batch_.pad_targets_to ? batch_.pad_targets_to : max_tgt;
    SPOT_CHECK(T_ >= max_in && Tt_ >= max_tgt, "T5Model::run: padding length shorter than the longest example");
    const Device dev = ctx_.device();
    pk_ = pack_prompts(set_, in_len_, c_.d_model, c_.num_layers, dev, "T5Model::run");
    SPOT_CHECK(!opt_.backward || pk_.rows > 0, "T5Model::run: backward needs a prompt (L > 0)");
    L_ = pk_.max_len;
    S_ = T_ + L_;
    N_ = B_ * S_;
    M_ = B_ * Tt_;
    const int64_t V = c_.vocab_size;
    Tensor ids = Tensor::empty({B_, T_}, DType::I32), dec_ids = Tensor::empty({B_, Tt_}, DType::I32),
           mask = Tensor::empty({B_, S_}, DType::I32);
    labels_.assign(M_, kIgnoreIndex);
    row_example_.resize(M_);
    for (int64_t b = 0; b < B_; ++b) {
      for (int64_t t = 0; t < T_; ++t) {
        const int32_t id = t < in_len_[b] ? batch_.inputs[b][t] : c_.pad_token_id;
        SPOT_CHECK(id >= 0 && id < V, "T5Model::run: input token " << id << " of example " << b
                                                                   << " outside vocabulary of " << V);
        ids.i32()[b * T_ + t] = id;
      }
      for (int64_t t = 0; t < Tt_; ++t) {
        const int32_t y = t < tgt_len[b] ? batch_.targets[b][t] : kIgnoreIndex;
        SPOT_CHECK(y == kIgnoreIndex || (y >= 0 && y < V),
                   "T5Model::run: target token " << y << " of example " << b << " outside vocabulary");
        labels_[b * Tt_ + t] = y;
        row_example_[b * Tt_ + t] = static_cast<int32_t>(b);
        // HF _shift_right: [decoder_start, y0, …, y_{Tt-2}], ignored labels replaced by pad.
        const int32_t prev = t == 0 ? c_.decoder_start_token_id : labels_[b * Tt_ + t - 1];
        dec_ids.i32()[b * Tt_ + t] = prev == kIgnoreIndex ? c_.pad_token_id : prev;
      }
      // Example b: tokens[0:pos] ++ prompt (len rows) ++ tokens[pos:T] ++ padding to S (embedding.h).
      const int64_t pos = pk_.ex_pos[b], len = pk_.ex_len[b];
      for (int64_t s = 0; s < S_; ++s) {
        const bool is_prompt = s >= pos && s < pos + len;
        const int64_t src = s < pos ? s : s - len;
        mask.i32()[b * S_ + s] = (is_prompt || src < in_len_[b]) ? 1 : 0;
      }
    }
    ids_ = ids.to(dev);
    dec_ids_ = dec_ids.to(dev);
    mask_ = mask.to(dev);
  }

  // ---- encoder
  void encode() {
    SPOT_NVTX_RANGE("t5.encoder");
    const bool bw = opt_.backward;
    const int64_t d = c_.d_model;
    enc_saved_.resize(bw ? c_.num_layers : 0);
    Tensor x = ctx_.empty({B_, S_, d});
    embed_with_prompt(ctx_, ids_, w_.shared, pk_.block(0), pk_.slots, x);
    x = x.reshape({N_, d});
    const Tensor& enc_bias = bias_(S_, S_, true);
    for (int64_t l = 0; l < c_.num_layers; ++l) {
      if (pk_.deep() && l > 0) {
        Tensor x3 = x.reshape({B_, S_, d});
        prompt_rows_write(ctx_, pk_.block(l), pk_.slots, x3);
      }
      const T5EncoderLayerWeights& lw = w_.encoder[l];
      step_.attention_forward(x, lw.ln_attn, lw.attn, Tensor(), B_, S_, S_, enc_bias, mask_, false,
                              bw ? &enc_saved_[l].attn : nullptr);
      step_.ffn_forward(x, lw.ln_ffn, lw.ffn, bw ? &enc_saved_[l].ffn : nullptr);
    }
    if (bw) enc_pre_final_ = x.clone();
    enc_out_ = ctx_.empty({N_, d});
    enc_inv_ = ctx_.empty({N_});
    rms_norm_forward(ctx_, x, w_.enc_final_ln, c_.layer_norm_epsilon, enc_out_, enc_inv_);
    if (opt_.keep_encoder_output) res_.encoder_output = enc_out_.to(Device::CPU).reshape({B_, S_, d});
    if (opt_.keep_input_mean) input_mean();
  }

  // Each example's encoder output averaged over its own input tokens (not the prompt rows, not
  // the padding), accumulated in double.
  void input_mean() {
    const int64_t d = c_.d_model;
    const Tensor host = enc_out_.to(Device::CPU);
    res_.input_mean = Tensor::zeros({B_, d});
    std::vector<double> acc(d);
    for (int64_t b = 0; b < B_; ++b) {
      std::fill(acc.begin(), acc.end(), 0.0);
      const int64_t pos = pk_.ex_pos[b], len = pk_.ex_len[b];
      for (int64_t t = 0; t < in_len_[b]; ++t) {
        const int64_t s = t < pos ? t : t + len;
        const float* row = host.f32() + (b * S_ + s) * d;
        for (int64_t j = 0; j < d; ++j) acc[j] += row[j];
      }
      for (int64_t j = 0; j < d; ++j) res_.input_mean.f32()[b * d + j] = static_cast<float>(acc[j] / in_len_[b]);
    }
  }

  // ---- decoder (teacher forcing; causal self-attention; cross-attention masked by the encoder mask)
  void decode() {
    SPOT_NVTX_RANGE("t5.decoder");
    const bool bw = opt_.backward;
    const int64_t d = c_.d_model;
    dec_saved_.resize(bw ? c_.num_decoder_layers : 0);
    y_ = ctx_.empty({B_, Tt_, d});
    const PromptSlots no_prompt = PromptSlots::same(Tensor::zeros({B_}, DType::I32, ctx_.device()), 0);
    embed_with_prompt(ctx_, dec_ids_, w_.shared, Tensor(), no_prompt, y_);
    y_ = y_.reshape({M_, d});
    const Tensor& dec_bias = bias_(Tt_, Tt_, false);
    for (int64_t l = 0; l < c_.num_decoder_layers; ++l) {
      const T5DecoderLayerWeights& lw = w_.decoder[l];
      // Layer 0's self-attention does not depend on the prompt: nothing to keep for it.
      step_.attention_forward(y_, lw.ln_self, lw.self, Tensor(), B_, Tt_, Tt_, dec_bias, Tensor(), true,
                              bw && l > 0 ? &dec_saved_[l].self : nullptr);
      step_.attention_forward(y_, lw.ln_cross, lw.cross, enc_out_, B_, Tt_, S_, Tensor(), mask_, false,
                              bw ? &dec_saved_[l].cross : nullptr);
      step_.ffn_forward(y_, lw.ln_ffn, lw.ffn, bw ? &dec_saved_[l].ffn : nullptr);
    }
    Tensor dec_out = ctx_.empty({M_, d});
    dec_inv_ = ctx_.empty({M_});
    rms_norm_forward(ctx_, y_, w_.dec_final_ln, c_.layer_norm_epsilon, dec_out, dec_inv_);
    if (c_.scale_decoder_outputs) scale(ctx_, head_scale(), dec_out, dec_out);
    logits_ = ctx_.empty({M_, c_.vocab_size});
    linear_forward(ctx_, dec_out, w_.lm_head, logits_);
  }

  float head_scale() const {
    return c_.scale_decoder_outputs ? 1.0f / std::sqrt(static_cast<float>(c_.d_model)) : 1.0f;
  }

  // ---- loss: mean over non-padding target tokens (HF CrossEntropyLoss(ignore_index=-100))
  Tensor loss() {
    Tensor dlogits = detail::loss_tail(ctx_, logits_, labels_, row_example_, B_, opt_, res_);
    if (opt_.keep_logits) res_.logits = logits_.to(Device::CPU).reshape({B_, Tt_, c_.vocab_size});
    logits_ = Tensor();
    return dlogits;
  }

  // ---- the prompt-only backward
  void backward(Tensor& dlogits) {
    SPOT_NVTX_RANGE("t5.backward");
    const int64_t d = c_.d_model;
    // LM head and final decoder norm.
    Tensor g_head = ctx_.empty({M_, d});
    linear_backward_input(ctx_, dlogits, w_.lm_head, g_head);
    if (c_.scale_decoder_outputs) scale(ctx_, head_scale(), g_head, g_head);
    dlogits = Tensor();  // [M, V] is the largest buffer: free it early
    Tensor g = ctx_.empty({M_, d});
    rms_norm_backward_input(ctx_, g_head, y_, w_.dec_final_ln, dec_inv_, g);
    // Decoder layers in reverse; d_enc accumulates what reaches the encoder output via cross K/V.
    Tensor d_enc = ctx_.zeros({N_, d});
    for (int64_t l = c_.num_decoder_layers - 1; l >= 0; --l) {
      const T5DecoderLayerWeights& lw = w_.decoder[l];
      const DecoderLayerSaved& s = dec_saved_[l];
      step_.ffn_backward(g, lw.ln_ffn, lw.ffn, s.ffn);
      // In the first decoder layer the cross-attention query and the self-attention depend only on
      // the target embeddings, which do not depend on the prompt: skip them.
      const bool first = l == 0;
      step_.attention_backward(g, lw.ln_cross, lw.cross, s.cross, false, /*want_query_path=*/!first, &d_enc);
      if (!first) step_.attention_backward(g, lw.ln_self, lw.self, s.self, true, true, nullptr);
    }
    g = ctx_.empty({N_, d});
    rms_norm_backward_input(ctx_, d_enc, enc_pre_final_, w_.enc_final_ln, enc_inv_, g);
    d_enc = Tensor();
    // d_table [layers, R, d]: the gradient of every prompt block, packed as the prompts are.
    Tensor d_table = ctx_.zeros({pk_.layers, pk_.rows, d});
    auto d_block = [&](int64_t l) { return d_table.reshape({pk_.layers * pk_.rows, d}).rows(l * pk_.rows, (l + 1) * pk_.rows); };
    for (int64_t l = c_.num_layers - 1; l >= 1; --l) {
      const T5EncoderLayerWeights& lw = w_.encoder[l];
      step_.ffn_backward(g, lw.ln_ffn, lw.ffn, enc_saved_[l].ffn);
      step_.attention_backward(g, lw.ln_attn, lw.attn, enc_saved_[l].attn, false, true, nullptr);
      if (pk_.deep()) {
        // Layer l's input at the prompt rows is block l: its gradient is block l's, and nothing of
        // it flows further down (those rows were overwritten).
        Tensor g3 = g.reshape({B_, S_, d}), rows = ctx_.empty({B_, L_, d}), db = d_block(l);
        prompt_rows_gather(ctx_, g3, pk_.slots.position, L_, rows);
        prompt_grad_reduce(ctx_, rows, pk_.slots, db);
        prompt_rows_write(ctx_, Tensor(), pk_.slots, g3);
      }
    }
    const T5EncoderLayerWeights& l0 = w_.encoder[0];
    step_.ffn_backward(g, l0.ln_ffn, l0.ffn, enc_saved_[0].ffn);
    Tensor g_rows = step_.attention_backward_prompt_rows(g, l0.ln_attn, l0.attn, enc_saved_[0].attn,
                                                         pk_.slots.position, L_);
    Tensor db0 = d_block(0);
    prompt_grad_reduce(ctx_, g_rows, pk_.slots, db0);
    res_.prompt_grads = pk_.split_grads(d_table);
    account_memory();
  }

  // ---- memory: what this backward kept, and what a weight-gradient backward would add
  void account_memory() {
    const int64_t d = c_.d_model, inner = c_.inner_dim();
    for (const auto& s : enc_saved_) mem_.saved_activation_bytes += s.attn.bytes() + s.ffn.bytes();
    for (const auto& s : dec_saved_) mem_.saved_activation_bytes += s.self.bytes() + s.cross.bytes() + s.ffn.bytes();
    mem_.saved_activation_bytes += 4.0 * (2 * N_ * d + N_ + M_ * d + M_);  // encoder pre-norm, enc_out, dec norm
    // A weight-gradient backward also keeps every linear's input: the normed input of each
    // attention/FFN block, the attention context (input of o), the FFN hidden (input of wo), and the
    // decoder output (input of the LM head); plus a gradient buffer per weight.
    const double f = 4.0;
    mem_.full_backward_extra_bytes = f * c_.num_layers * (N_ * d + N_ * inner + N_ * d + N_ * c_.d_ff) +
                                     f * c_.num_decoder_layers * (2 * (M_ * d + M_ * inner) + M_ * d + M_ * c_.d_ff) +
                                     f * M_ * d;
    mem_.weight_gradient_bytes = mem_.weight_bytes;
  }

  Context& ctx_;
  const T5Weights& w_;
  const T5Config& c_;
  BiasFn bias_;
  const PromptBatch& batch_;
  const PromptSet& set_;
  const RunOptions& opt_;
  T5Step step_;

  // pack
  int64_t B_ = 0, T_ = 0, Tt_ = 0, L_ = 0, S_ = 0, N_ = 0, M_ = 0;
  std::vector<int64_t> in_len_;
  std::vector<int32_t> labels_, row_example_;  // [M] host
  PackedPrompts pk_;
  Tensor ids_, dec_ids_, mask_;  // on the device
  // forward state kept for the loss and the backward
  std::vector<LayerSaved> enc_saved_;
  std::vector<DecoderLayerSaved> dec_saved_;
  Tensor enc_pre_final_, enc_out_, enc_inv_, y_, dec_inv_, logits_;
  RunResult res_;
  MemoryReport mem_;
};

}  // namespace

RunResult T5Model::run(const PromptBatch& batch, const PromptSet& prompts, const RunOptions& opt) {
  SPOT_NVTX_RANGE("t5.run");
  T5Run r(ctx_, weights_, [this](int64_t q, int64_t k, bool enc) -> const Tensor& { return bias_for(q, k, enc); },
          batch, prompts, opt);
  RunResult res = r.run();
  memory_ = r.memory();
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
