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
#include <tuple>

#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/linear.h"
#include "kernels/loss.h"
#include "kernels/rmsnorm.h"
#include "kernels/rows.h"
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

  // The query side of an attention sub-layer: n = RMSNorm(x) [rows, d], q = n·Wq [rows, inner].
  struct Query {
    Tensor n, inv_rms, q;
  };
  Query query(const Tensor& x, const Tensor& ln_w, const T5AttentionWeights& aw) {
    const int64_t rows = x.dim(0);
    Query p{ctx_.empty({rows, c_.d_model}), ctx_.empty({rows}), ctx_.empty({rows, c_.inner_dim()})};
    rms_norm_forward(ctx_, x, ln_w, c_.layer_norm_epsilon, p.n, p.inv_rms);
    linear_forward(ctx_, p.n, aw.q, p.q);
    return p;
  }

  // K = src·Wk, V = src·Wv, each [rows, inner]: of the normed stream (self-attention) or of the
  // encoder output (cross-attention).
  std::pair<Tensor, Tensor> key_value(const Tensor& src, const T5AttentionWeights& aw) {
    Tensor k = ctx_.empty({src.dim(0), c_.inner_dim()}), v = ctx_.empty({src.dim(0), c_.inner_dim()});
    linear_forward(ctx_, src, aw.k, k);
    linear_forward(ctx_, src, aw.v, v);
    return {k, v};
  }

  // x += o(attention(q, k4, v4)); q [b·tq, inner], k4/v4 [b, Tk, H, Dh].
  void attend(Tensor& x, const Query& p, const T5AttentionWeights& aw, const Tensor& k4, const Tensor& v4, int64_t b,
              int64_t tq, const Tensor& bias, const Tensor& key_mask, bool causal, AttentionSaved* saved) {
    const int64_t rows = x.dim(0), inner = c_.inner_dim();
    AttentionConfig cfg{c_.num_heads, c_.num_heads, c_.d_kv, 1.0f, causal};
    Tensor q4 = p.q.reshape({b, tq, c_.num_heads, c_.d_kv});
    Tensor out = ctx_.empty({rows, inner}), probs = ctx_.empty({b, c_.num_heads, tq, k4.dim(1)});
    Tensor out4 = out.reshape({b, tq, c_.num_heads, c_.d_kv});
    spot::attention_forward(ctx_, cfg, q4, k4, v4, bias, key_mask, out4, probs);
    if (saved) *saved = {x.clone(), p.inv_rms, q4, k4, v4, probs};
    linear_forward(ctx_, out, aw.o, x, /*accumulate=*/true);
  }

  // x [rows, d] (the residual stream, updated in place): x += o(attention(ln(x), kv)).
  // kv_source undefined: self-attention; else cross-attention on kv_source [B·Tk, d].
  void attention_forward(Tensor& x, const Tensor& ln_w, const T5AttentionWeights& aw, const Tensor& kv_source,
                         int64_t b, int64_t tq, int64_t tk, const Tensor& bias, const Tensor& key_mask, bool causal,
                         AttentionSaved* saved) {
    const Query p = query(x, ln_w, aw);
    const auto [k, v] = key_value(kv_source.defined() ? kv_source : p.n, aw);
    attend(x, p, aw, k.reshape({b, tk, c_.num_heads, c_.d_kv}), v.reshape({b, tk, c_.num_heads, c_.d_kv}), b, tq,
           bias, key_mask, causal, saved);
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

T5Model::T5Model(Context& ctx, T5Weights weights, Precision precision)
    : ctx_(ctx), precision_(precision),
      weights_(detail::weights_at_precision(std::move(weights), precision, ctx)) {
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
// The decoder batch may differ from the encoder's: in rank classification each decoder row is one
// candidate of an example (target_example_ maps rows to examples) and reads that example's encoder
// output, computed once; greedy decoding runs the decoder one position at a time from a cache.
class T5Run {
 public:
  using BiasFn = std::function<const Tensor&(int64_t q_len, int64_t k_len, bool encoder)>;

  T5Run(Context& ctx, const T5Weights& w, BiasFn bias, const PromptSet& prompts, const RunOptions& opt,
        const char* who)
      : ctx_(ctx), w_(w), c_(w.config), bias_(std::move(bias)), set_(prompts), opt_(opt), who_(who),
        step_(ctx, w) {}

  RunResult run(const PromptBatch& batch) {
    mem_.weight_bytes = w_.bytes();
    SPOT_CHECK(batch.targets.size() == batch.inputs.size(),
               who_ << ": " << batch.inputs.size() << " inputs but " << batch.targets.size() << " targets");
    pack_inputs(batch.inputs, batch.pad_inputs_to);
    pack_targets(batch.targets, {}, batch.pad_targets_to);
    encode();
    decode();
    Tensor dlogits = loss();
    if (opt_.backward) backward(dlogits);
    return std::move(res_);
  }

  // Rank classification: the encoder once per example, the decoder once per candidate.
  std::vector<std::vector<double>> score(const CandidateBatch& batch) {
    SPOT_CHECK(!opt_.backward, who_ << ": forward only");
    SPOT_CHECK(batch.candidates.size() == batch.inputs.size(),
               who_ << ": " << batch.inputs.size() << " inputs but " << batch.candidates.size() << " candidate lists");
    std::vector<std::vector<double>> out(batch.size());
    std::vector<std::vector<int32_t>> targets;
    std::vector<int32_t> target_example;
    for (size_t b = 0; b < batch.size(); ++b) {
      out[b].resize(batch.candidates[b].size());
      for (const auto& cand : batch.candidates[b]) {
        targets.push_back(cand);
        target_example.push_back(static_cast<int32_t>(b));
      }
    }
    pack_inputs(batch.inputs, 0);
    if (targets.empty()) return out;
    pack_targets(targets, target_example, 0);
    encode();
    decode();
    loss();
    size_t r = 0;
    for (auto& row : out)
      for (double& v : row) v = res_.example_logprob[r++];
    return out;
  }

  // Greedy decoding: the encoder and every layer's cross-attention K/V once; the decoder one
  // position per step, its self-attention K/V kept in a cache.
  GreedyResult greedy(const std::vector<std::vector<int32_t>>& inputs, int64_t max_new, int32_t stop_id,
                      bool keep_logits);

  const MemoryReport& memory() const { return mem_; }

 private:
  // ---- pack, encoder side: inputs padded with pad_token_id, the prompts into slots, the mask
  void pack_inputs(const std::vector<std::vector<int32_t>>& inputs, int64_t pad_inputs_to) {
    B_ = static_cast<int64_t>(inputs.size());
    SPOT_CHECK(B_ > 0, who_ << ": empty batch");
    in_len_.resize(B_);
    int64_t max_in = 0;
    for (int64_t b = 0; b < B_; ++b) {
      in_len_[b] = static_cast<int64_t>(inputs[b].size());
      SPOT_CHECK(in_len_[b] > 0, who_ << ": example " << b << " has an empty input");
      max_in = std::max(max_in, in_len_[b]);
    }
    T_ = pad_inputs_to ? pad_inputs_to : max_in;
    SPOT_CHECK(T_ >= max_in, who_ << ": padding length shorter than the longest example");
    const Device dev = ctx_.device();
    pk_ = pack_prompts(set_, in_len_, c_.d_model, c_.num_layers, dev, who_);
    SPOT_CHECK(!opt_.backward || pk_.rows > 0, who_ << ": backward needs a prompt (L > 0)");
    L_ = pk_.max_len;
    S_ = T_ + L_;
    N_ = B_ * S_;
    const int64_t V = c_.vocab_size;
    Tensor ids = Tensor::empty({B_, T_}, DType::I32);
    mask_host_ = Tensor::empty({B_, S_}, DType::I32);
    for (int64_t b = 0; b < B_; ++b) {
      for (int64_t t = 0; t < T_; ++t) {
        const int32_t id = t < in_len_[b] ? inputs[b][t] : c_.pad_token_id;
        SPOT_CHECK(id >= 0 && id < V, who_ << ": input token " << id << " of example " << b
                                           << " outside vocabulary of " << V);
        ids.i32()[b * T_ + t] = id;
      }
      // Example b: tokens[0:pos] ++ prompt (len rows) ++ tokens[pos:T] ++ padding to S (embedding.h).
      const int64_t pos = pk_.ex_pos[b], len = pk_.ex_len[b];
      for (int64_t s = 0; s < S_; ++s) {
        const bool is_prompt = s >= pos && s < pos + len;
        const int64_t src = s < pos ? s : s - len;
        mask_host_.i32()[b * S_ + s] = (is_prompt || src < in_len_[b]) ? 1 : 0;
      }
    }
    ids_ = ids.to(dev);
    mask_ = mask_host_.to(dev);
  }

  // ---- pack, decoder side: labels padded with kIgnoreIndex; target_example[r]: the example decoder
  // row r reads (empty: row r reads example r).
  void pack_targets(const std::vector<std::vector<int32_t>>& targets, const std::vector<int32_t>& target_example,
                    int64_t pad_targets_to) {
    Bd_ = static_cast<int64_t>(targets.size());
    SPOT_CHECK(target_example.empty() || static_cast<int64_t>(target_example.size()) == Bd_,
               who_ << ": " << target_example.size() << " target examples for " << Bd_ << " targets");
    std::vector<int64_t> tgt_len(Bd_);
    int64_t max_tgt = 0;
    for (int64_t r = 0; r < Bd_; ++r) {
      tgt_len[r] = static_cast<int64_t>(targets[r].size());
      SPOT_CHECK(tgt_len[r] > 0, who_ << ": example " << (target_example.empty() ? r : target_example[r])
                                      << " has an empty target");
      max_tgt = std::max(max_tgt, tgt_len[r]);
    }
    Tt_ = pad_targets_to ? pad_targets_to : max_tgt;
    SPOT_CHECK(Tt_ >= max_tgt, who_ << ": padding length shorter than the longest target");
    M_ = Bd_ * Tt_;
    const int64_t V = c_.vocab_size;
    Tensor dec_ids = Tensor::empty({Bd_, Tt_}, DType::I32);
    labels_.assign(M_, kIgnoreIndex);
    row_example_.resize(M_);
    for (int64_t r = 0; r < Bd_; ++r) {
      for (int64_t t = 0; t < Tt_; ++t) {
        const int32_t y = t < tgt_len[r] ? targets[r][t] : kIgnoreIndex;
        SPOT_CHECK(y == kIgnoreIndex || (y >= 0 && y < V),
                   who_ << ": target token " << y << " of example " << r << " outside vocabulary");
        labels_[r * Tt_ + t] = y;
        row_example_[r * Tt_ + t] = static_cast<int32_t>(r);
        // HF _shift_right: [decoder_start, y0, …, y_{Tt-2}], ignored labels replaced by pad.
        const int32_t prev = t == 0 ? c_.decoder_start_token_id : labels_[r * Tt_ + t - 1];
        dec_ids.i32()[r * Tt_ + t] = prev == kIgnoreIndex ? c_.pad_token_id : prev;
      }
    }
    dec_ids_ = dec_ids.to(ctx_.device());
    if (target_example.empty()) {
      SPOT_CHECK(Bd_ == B_, who_ << ": " << B_ << " inputs but " << Bd_ << " targets");
      target_example_ = Tensor();
      cross_mask_ = mask_;
      return;
    }
    SPOT_CHECK(!opt_.backward, who_ << ": the backward needs one target per input");
    Tensor mask = Tensor::empty({Bd_, S_}, DType::I32);
    for (int64_t r = 0; r < Bd_; ++r) {
      const int32_t b = target_example[r];
      SPOT_CHECK(b >= 0 && b < B_, who_ << ": target " << r << " reads example " << b << " of " << B_);
      std::copy(mask_host_.i32() + b * S_, mask_host_.i32() + (b + 1) * S_, mask.i32() + r * S_);
    }
    target_example_ = Tensor::from_ints(target_example, {Bd_}).to(ctx_.device());
    cross_mask_ = mask.to(ctx_.device());
  }

  // Layer l's cross-attention K/V, [Bd, S, H, Dh]: projected from the B examples' encoder output
  // once, then each decoder row given its example's (rank classification: one copy per candidate,
  // no second encoder pass).
  std::pair<Tensor, Tensor> cross_key_value(int64_t l) {
    auto [k, v] = step_.key_value(enc_out_, w_.decoder[l].cross);
    if (target_example_.defined()) {
      const int64_t width = S_ * c_.inner_dim();
      Tensor kg = ctx_.empty({Bd_, width}), vg = ctx_.empty({Bd_, width});
      rows_gather(ctx_, k.reshape({B_, width}), target_example_, kg);
      rows_gather(ctx_, v.reshape({B_, width}), target_example_, vg);
      k = kg;
      v = vg;
    }
    return {k.reshape({Bd_, S_, c_.num_heads, c_.d_kv}), v.reshape({Bd_, S_, c_.num_heads, c_.d_kv})};
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
    y_ = ctx_.empty({Bd_, Tt_, d});
    const PromptSlots no_prompt = PromptSlots::same(Tensor::zeros({Bd_}, DType::I32, ctx_.device()), 0);
    embed_with_prompt(ctx_, dec_ids_, w_.shared, Tensor(), no_prompt, y_);
    y_ = y_.reshape({M_, d});
    const Tensor& dec_bias = bias_(Tt_, Tt_, false);
    for (int64_t l = 0; l < c_.num_decoder_layers; ++l) {
      const T5DecoderLayerWeights& lw = w_.decoder[l];
      // Layer 0's self-attention does not depend on the prompt: nothing to keep for it.
      step_.attention_forward(y_, lw.ln_self, lw.self, Tensor(), Bd_, Tt_, Tt_, dec_bias, Tensor(), true,
                              bw && l > 0 ? &dec_saved_[l].self : nullptr);
      const auto [k, v] = cross_key_value(l);
      step_.attend(y_, step_.query(y_, lw.ln_cross, lw.cross), lw.cross, k, v, Bd_, Tt_, Tensor(), cross_mask_,
                   false, bw ? &dec_saved_[l].cross : nullptr);
      step_.ffn_forward(y_, lw.ln_ffn, lw.ffn, bw ? &dec_saved_[l].ffn : nullptr);
    }
    logits_ = head(y_, bw);
  }

  // Final decoder norm, the v1.0 output scale and the LM head: y [rows, d] -> logits [rows, V].
  // keep_norm_input: keep the inverse RMS for the backward (dec_inv_).
  Tensor head(const Tensor& y, bool keep_norm_input) {
    const int64_t rows = y.dim(0);
    Tensor dec_out = ctx_.empty({rows, c_.d_model}), inv = ctx_.empty({rows});
    rms_norm_forward(ctx_, y, w_.dec_final_ln, c_.layer_norm_epsilon, dec_out, inv);
    if (keep_norm_input) dec_inv_ = inv;
    if (c_.scale_decoder_outputs) scale(ctx_, head_scale(), dec_out, dec_out);
    Tensor logits = ctx_.empty({rows, c_.vocab_size});
    linear_forward(ctx_, dec_out, w_.lm_head, logits);
    return logits;
  }

  float head_scale() const {
    return c_.scale_decoder_outputs ? 1.0f / std::sqrt(static_cast<float>(c_.d_model)) : 1.0f;
  }

  // ---- loss: mean over non-padding target tokens (HF CrossEntropyLoss(ignore_index=-100))
  Tensor loss() {
    Tensor dlogits = detail::loss_tail(ctx_, logits_, labels_, row_example_, Bd_, opt_, res_);
    if (opt_.keep_logits) res_.logits = logits_.to(Device::CPU).reshape({Bd_, Tt_, c_.vocab_size});
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
  const PromptSet& set_;
  const RunOptions& opt_;
  const char* who_;
  T5Step step_;

  // pack: B encoder examples, Bd decoder rows
  int64_t B_ = 0, Bd_ = 0, T_ = 0, Tt_ = 0, L_ = 0, S_ = 0, N_ = 0, M_ = 0;
  std::vector<int64_t> in_len_;
  std::vector<int32_t> labels_, row_example_;  // [M] host
  PackedPrompts pk_;
  Tensor mask_host_;                   // [B, S] i32, the encoder mask on the host
  Tensor ids_, dec_ids_, mask_;        // on the device
  Tensor target_example_;              // [Bd] i32 on the device; undefined: decoder row r reads example r
  Tensor cross_mask_;                  // [Bd, S]: each decoder row's encoder mask
  // forward state kept for the loss and the backward
  std::vector<LayerSaved> enc_saved_;
  std::vector<DecoderLayerSaved> dec_saved_;
  Tensor enc_pre_final_, enc_out_, enc_inv_, y_, dec_inv_, logits_;
  RunResult res_;
  MemoryReport mem_;
};

}  // namespace

namespace {

GreedyResult T5Run::greedy(const std::vector<std::vector<int32_t>>& inputs, int64_t max_new, int32_t stop_id,
                           bool keep_logits) {
  SPOT_CHECK(!opt_.backward, who_ << ": forward only");
  SPOT_CHECK(max_new >= 0, who_ << ": max_new must be >= 0, got " << max_new);
  pack_inputs(inputs, 0);
  GreedyResult out;
  out.tokens.resize(B_);
  if (keep_logits) out.logits.resize(B_);
  if (max_new == 0) return out;
  encode();
  const Device dev = ctx_.device();
  const int64_t d = c_.d_model, inner = c_.inner_dim(), H = c_.num_heads, Dh = c_.d_kv, V = c_.vocab_size;
  const int64_t layers = c_.num_decoder_layers;
  Bd_ = B_;
  cross_mask_ = mask_;
  std::vector<Tensor> cross_k(layers), cross_v(layers), self_k(layers), self_v(layers);
  for (int64_t l = 0; l < layers; ++l) {
    std::tie(cross_k[l], cross_v[l]) = cross_key_value(l);
    // Self-attention cache, position-major [max_new·B, inner]: step t writes the contiguous rows
    // t·B .. t·B + B − 1, and a gather puts the first t + 1 positions in attention order [B, t+1].
    self_k[l] = ctx_.empty({max_new * B_, inner});
    self_v[l] = ctx_.empty({max_new * B_, inner});
  }
  const PromptSlots no_prompt = PromptSlots::same(Tensor::zeros({B_}, DType::I32, dev), 0);
  std::vector<int32_t> feed(B_, c_.decoder_start_token_id);
  std::vector<std::vector<float>> kept(B_);
  std::vector<bool> done(B_, false);
  int64_t active = B_;
  for (int64_t t = 0; t < max_new && active > 0; ++t) {
    Tensor y = ctx_.empty({B_, 1, d});
    embed_with_prompt(ctx_, Tensor::from_ints(feed, {B_, 1}).to(dev), w_.shared, Tensor(), no_prompt, y);
    y = y.reshape({B_, d});
    // The relative-position bias of query position t over keys 0..t: row t of the full decoder's.
    Tensor bias = ctx_.empty({H, 1, t + 1});
    relative_position_bias(ctx_, w_.dec_rel_bias,
                           t5_relative_position_buckets(1, t + 1, /*bidirectional=*/false,
                                                        c_.relative_attention_num_buckets,
                                                        c_.relative_attention_max_distance, t)
                               .to(dev),
                           bias);
    std::vector<int32_t> order(B_ * (t + 1));
    for (int64_t b = 0; b < B_; ++b)
      for (int64_t j = 0; j <= t; ++j) order[b * (t + 1) + j] = static_cast<int32_t>(j * B_ + b);
    const Tensor index = Tensor::from_ints(order, {B_ * (t + 1)}).to(dev);
    for (int64_t l = 0; l < layers; ++l) {
      const T5DecoderLayerWeights& lw = w_.decoder[l];
      const T5Step::Query q = step_.query(y, lw.ln_self, lw.self);
      const auto [k, v] = step_.key_value(q.n, lw.self);
      self_k[l].rows(t * B_, (t + 1) * B_).copy_from(k);
      self_v[l].rows(t * B_, (t + 1) * B_).copy_from(v);
      Tensor ks = ctx_.empty({B_ * (t + 1), inner}), vs = ctx_.empty({B_ * (t + 1), inner});
      rows_gather(ctx_, self_k[l].rows(0, (t + 1) * B_), index, ks);
      rows_gather(ctx_, self_v[l].rows(0, (t + 1) * B_), index, vs);
      step_.attend(y, q, lw.self, ks.reshape({B_, t + 1, H, Dh}), vs.reshape({B_, t + 1, H, Dh}), B_, 1, bias,
                   Tensor(), /*causal=*/true, nullptr);
      step_.attend(y, step_.query(y, lw.ln_cross, lw.cross), lw.cross, cross_k[l], cross_v[l], B_, 1, Tensor(),
                   cross_mask_, false, nullptr);
      step_.ffn_forward(y, lw.ln_ffn, lw.ffn, nullptr);
    }
    const std::vector<float> logits = head(y, false).to_floats();
    for (int64_t b = 0; b < B_; ++b) {
      if (done[b]) continue;
      const float* row = logits.data() + b * V;
      const int32_t next = static_cast<int32_t>(std::max_element(row, row + V) - row);
      if (keep_logits) kept[b].insert(kept[b].end(), row, row + V);
      feed[b] = next;
      if (next == stop_id) {
        done[b] = true;
        --active;
      } else {
        out.tokens[b].push_back(next);
      }
    }
  }
  for (int64_t b = 0; b < B_ && keep_logits; ++b) {
    const int64_t steps = static_cast<int64_t>(kept[b].size()) / V;
    out.logits[b] = Tensor::empty({steps, V});
    std::copy(kept[b].begin(), kept[b].end(), out.logits[b].f32());
  }
  return out;
}

}  // namespace

RunResult T5Model::run(const PromptBatch& batch, const PromptSet& prompts, const RunOptions& opt) {
  SPOT_NVTX_RANGE("t5.run");
  T5Run r(ctx_, weights_, bias_fn(), prompts, opt, "T5Model::run");
  RunResult res = r.run(batch);
  memory_ = r.memory();
  return res;
}

std::vector<std::vector<double>> T5Model::score_candidates(const CandidateBatch& batch, const PromptSet& prompts) {
  SPOT_NVTX_RANGE("t5.score_candidates");
  RunOptions opt;
  opt.backward = false;
  return T5Run(ctx_, weights_, bias_fn(), prompts, opt, "T5Model::score_candidates").score(batch);
}

GreedyResult T5Model::generate_greedy(const std::vector<std::vector<int32_t>>& inputs, const PromptSet& prompts,
                                      int64_t max_new, int32_t stop_id, bool keep_logits) {
  SPOT_NVTX_RANGE("t5.generate_greedy");
  RunOptions opt;
  opt.backward = false;
  return T5Run(ctx_, weights_, bias_fn(), prompts, opt, "T5Model::generate_greedy")
      .greedy(inputs, max_new, stop_id, keep_logits);
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
