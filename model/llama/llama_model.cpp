// llama_model.cpp — frozen Llama forward with a soft prompt prefix, and the prompt-only backward, on
// the shared-prefix path and the replicated path (llama_model.h).
//
// Follows HF LlamaForCausalLM (transformers 5.x modeling_llama.py) in eval mode: pre-norm decoder
// layers x += o(attn(rope(q(n)), rope(k(n)), v(n))), n = RMSNorm(x); x += down(silu(gate(n)) ⊙ up(n));
// attention scaled by head_dim^-0.5 with GQA (query head h reads KV head h / (H/Hkv), HF repeat_kv);
// final RMSNorm and the LM head (the embedding when tied, unscaled).
//
// Shapes: B examples, T token positions per example (inputs ++ targets minus the last target, right
// padded), L prompt rows, M target tokens in the batch (the LM-head rows); d = hidden size,
// qd = H·Dh, kvd = Hkv·Dh, F = intermediate size.
//   shared path:     example stream [B·T, d] at positions L.., prompt stream [L, d] at positions 0..L−1
//   replicated path: one stream [B·(L+T), d] at positions 0..
#include "model/llama/llama_model.h"

#include <algorithm>
#include <cmath>

#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/embedding.h"
#include "kernels/linear.h"
#include "kernels/loss.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"
#include "kernels/rows.h"
#include "model/run_common.h"

namespace spot {

const char* llama_prompt_path_name(LlamaPromptPath p) {
  return p == LlamaPromptPath::SharedPrefix ? "shared-prefix" : "replicated";
}

namespace {

using detail::AttentionSaved;
using detail::FeedForwardSaved;

// Projections of one stream: n = RMSNorm(x); q, k (after RoPE) and v as [b, seq, heads, Dh].
struct Projected {
  Tensor inv_rms, q, k, v;
};

class LlamaStep {
 public:
  LlamaStep(Context& ctx, const LlamaWeights& w)
      : ctx_(ctx), c_(w.config), attn_{c_.num_attention_heads, c_.num_key_value_heads, c_.head_dim,
                                        static_cast<float>(1.0 / std::sqrt(static_cast<double>(c_.head_dim))), true} {}

  const AttentionConfig& attention_config() const { return attn_; }

  // x [b·seq, d] at positions pos0.. -> Projected (q only when want_q). starts (when given): batch
  // entry i sits at positions starts[i].. instead (candidates continuing contexts of their own lengths).
  Projected project(const Tensor& x, const LlamaLayerWeights& lw, int64_t b, int64_t seq, int64_t pos0, bool want_q,
                    const std::vector<int64_t>* starts = nullptr) {
    const int64_t rows = b * seq, d = c_.hidden_size;
    Projected p;
    Tensor n = ctx_.empty({rows, d});
    p.inv_rms = ctx_.empty({rows});
    rms_norm_forward(ctx_, x, lw.input_norm, c_.rms_norm_eps, n, p.inv_rms);
    if (want_q) {
      Tensor q = ctx_.empty({rows, c_.q_dim()});
      linear_forward(ctx_, n, lw.q, q);
      p.q = q.reshape({b, seq, c_.num_attention_heads, c_.head_dim});
      rope(p.q, pos0, starts);
    }
    Tensor k = ctx_.empty({rows, c_.kv_dim()}), v = ctx_.empty({rows, c_.kv_dim()});
    linear_forward(ctx_, n, lw.k, k);
    linear_forward(ctx_, n, lw.v, v);
    p.k = k.reshape({b, seq, c_.num_key_value_heads, c_.head_dim});
    p.v = v.reshape({b, seq, c_.num_key_value_heads, c_.head_dim});
    rope(p.k, pos0, starts);
    return p;
  }

  // RoPE in place on x [b, seq, heads, Dh]: from pos0, or entry i from starts[i] (one call per run
  // of equal starts).
  void rope(Tensor& x, int64_t pos0, const std::vector<int64_t>* starts) {
    if (!starts) {
      rope_forward(ctx_, x, pos0, c_.rope_theta, x);
      return;
    }
    SPOT_CHECK(static_cast<int64_t>(starts->size()) == x.dim(0),
               "LlamaStep::rope: " << starts->size() << " starts for " << x.dim(0) << " rows");
    for (size_t i = 0; i < starts->size();) {
      size_t j = i + 1;
      while (j < starts->size() && (*starts)[j] == (*starts)[i]) ++j;
      Tensor part = x.rows(static_cast<int64_t>(i), static_cast<int64_t>(j));
      rope_forward(ctx_, part, (*starts)[i], c_.rope_theta, part);
      i = j;
    }
  }

  // x += o(attention(q, k, v)) (causal; key_mask [b, Tk] may be undefined); returns the
  // probabilities [b, H, seq, Tk].
  Tensor attend(Tensor& x, const LlamaLayerWeights& lw, const Tensor& q, const Tensor& k, const Tensor& v,
                const Tensor& key_mask = Tensor()) {
    const int64_t b = q.dim(0), seq = q.dim(1), tk = k.dim(1);
    Tensor ctx_rows = ctx_.empty({b * seq, c_.q_dim()});
    Tensor probs = ctx_.empty({b, c_.num_attention_heads, seq, tk});
    Tensor ctx4 = ctx_rows.reshape(q.shape());
    attention_forward(ctx_, attn_, q, k, v, Tensor(), key_mask, ctx4, probs);
    linear_forward(ctx_, ctx_rows, lw.o, x, /*accumulate=*/true);
    return probs;
  }

  // x += down(silu(gate(n)) ⊙ up(n)), n = RMSNorm(x).
  void ffn_forward(Tensor& x, const LlamaLayerWeights& lw, FeedForwardSaved* saved) {
    const int64_t rows = x.dim(0), F = c_.intermediate_size;
    Tensor n = ctx_.empty({rows, c_.hidden_size}), inv = ctx_.empty({rows});
    rms_norm_forward(ctx_, x, lw.post_attention_norm, c_.rms_norm_eps, n, inv);
    Tensor gate = ctx_.empty({rows, F}), up = ctx_.empty({rows, F}), hidden = ctx_.empty({rows, F});
    linear_forward(ctx_, n, lw.gate, gate);
    linear_forward(ctx_, n, lw.up, up);
    glu_forward(ctx_, Activation::Silu, gate, up, hidden);
    if (saved) *saved = {x.clone(), inv, gate, up};  // pre = gate(n)
    linear_forward(ctx_, hidden, lw.down, x, /*accumulate=*/true);
  }

  // g [rows, d]: gradient after the FFN sub-layer, updated in place to the gradient before it.
  void ffn_backward(Tensor& g, const LlamaLayerWeights& lw, const FeedForwardSaved& s) {
    const int64_t rows = g.dim(0), F = c_.intermediate_size;
    Tensor dh = ctx_.empty({rows, F});
    linear_backward_input(ctx_, g, lw.down, dh);
    Tensor dgate = ctx_.empty({rows, F}), dup = ctx_.empty({rows, F});
    glu_backward_input(ctx_, Activation::Silu, dh, s.pre, s.up, dgate, dup);
    Tensor dn = ctx_.empty({rows, c_.hidden_size});
    linear_backward_input(ctx_, dgate, lw.gate, dn);
    linear_backward_input(ctx_, dup, lw.up, dn, /*accumulate=*/true);
    rms_norm_backward_input(ctx_, dn, s.x, lw.post_attention_norm, s.inv_rms, g, /*accumulate=*/true);
  }

  // The attention backward up to the probabilities: d_ctx = g·Wo, then dq/dk/dv (any may be
  // undefined: not computed). rows restricts them to each example's prompt rows (attention.h).
  void attention_backward(const Tensor& g, const LlamaLayerWeights& lw, const AttentionSaved& s, Tensor* dq,
                          Tensor* dk, Tensor* dv, const PromptRows* rows = nullptr) {
    Tensor d_ctx = ctx_.empty({g.dim(0), c_.q_dim()});
    linear_backward_input(ctx_, g, lw.o, d_ctx);
    spot::attention_backward(ctx_, attn_, d_ctx.reshape(s.q.shape()), s.q, s.k, s.v, s.probs, dq, dk, dv, rows);
  }

  // g += RMSNorm_backward(dq·Wq + dk·Wk + dv·Wv): dq/dk already rotated back (dq may be undefined).
  // dq [rows, qd] (or undefined), dk/dv [rows, kvd]; x/inv_rms the sub-layer input rows.
  void qkv_input_backward(Tensor& g, const LlamaLayerWeights& lw, const Tensor& dq, const Tensor& dk,
                          const Tensor& dv, const Tensor& x, const Tensor& inv_rms) {
    const int64_t rows = dk.dim(0);
    Tensor dn = ctx_.empty({rows, c_.hidden_size});
    bool first = true;
    if (dq.defined()) {
      linear_backward_input(ctx_, dq, lw.q, dn);
      first = false;
    }
    linear_backward_input(ctx_, dk, lw.k, dn, /*accumulate=*/!first);
    linear_backward_input(ctx_, dv, lw.v, dn, /*accumulate=*/true);
    rms_norm_backward_input(ctx_, dn, x, lw.input_norm, inv_rms, g, /*accumulate=*/true);
  }

 private:
  Context& ctx_;
  const LlamaConfig& c_;
  AttentionConfig attn_;
};

Tensor positions_filled(int64_t b, int32_t value, Device dev) {
  return Tensor::from_ints(std::vector<int32_t>(b, value), {b}).to(dev);
}

}  // namespace

LlamaModel::LlamaModel(Context& ctx, LlamaWeights weights, LlamaPromptPath path, Precision precision)
    : ctx_(ctx), precision_(precision),
      weights_(detail::weights_at_precision(std::move(weights), precision, ctx)), path_(path) {
  SPOT_CHECK(weights_.embed.device() == ctx.device(),
             "LlamaModel: weights on " << device_name(weights_.embed.device()) << " but the context runs on "
                                       << device_name(ctx.device()));
}

// Only training asks (once), so the pass over the [V, d] table is not paid by every load.
double LlamaModel::default_prompt_lr() const {
  // Two significant figures, so that the printed default is the one used.
  const double lr = 0.25 * tensor_rms(weights_.embed_host);
  const double scale = std::pow(10.0, std::floor(std::log10(lr)) - 1);
  return std::round(lr / scale) * scale;
}

namespace {

// One run of the frozen Llama, stage by stage: pack (tokens, LM-head rows, the prompt set) → forward
// (the prompt stream on the shared path; each layer's prompt block at depth deep) → LM head and loss
// → the prompt-only backward → memory report.
class LlamaRun {
 public:
  LlamaRun(Context& ctx, const LlamaWeights& w, LlamaPromptPath path, const PromptSet& prompts,
           const RunOptions& opt, const char* who)
      : ctx_(ctx), w_(w), c_(w.config), path_(path), set_(prompts), opt_(opt), who_(who), step_(ctx, w) {}

  RunResult run(const PromptBatch& batch) {
    mem_.weight_bytes = w_.bytes();
    pack(batch);
    forward();
    Tensor dlogits = head_and_loss();
    if (opt_.backward) {
      SPOT_NVTX_RANGE("llama.backward");
      Tensor g = head_backward(dlogits);
      Tensor d_table = ctx_.zeros({pk_.layers, pk_.rows, c_.hidden_size});
      if (shared_)
        backward_shared(g, d_table);
      else
        backward_replicated(g, d_table);
      res_.prompt_grads = pk_.split_grads(d_table);
      account_memory();
    }
    return std::move(res_);
  }

  // Rank classification: the prompt and each context once (the forward above over the contexts
  // alone), and beside it, layer by layer, the candidate stream: each candidate's tokens but the
  // last, attending to its example's context K/V and its own. Candidate c's first token is
  // predicted from its example's last context row, the others from its own rows.
  std::vector<std::vector<double>> score(const CandidateBatch& batch) {
    SPOT_CHECK(!opt_.backward, who_ << ": forward only");
    SPOT_CHECK(batch.candidates.size() == batch.inputs.size(),
               who_ << ": " << batch.inputs.size() << " inputs but " << batch.candidates.size() << " candidate lists");
    std::vector<std::vector<double>> out(batch.size());
    for (size_t b = 0; b < batch.size(); ++b) out[b].resize(batch.candidates[b].size());
    pack_candidates(batch);
    if (Nc_ == 0) return out;
    forward();
    candidate_head_and_loss();
    size_t r = 0;
    for (auto& row : out)
      for (double& v : row) v = res_.example_logprob[r++];
    return out;
  }

  const MemoryReport& memory() const { return mem_; }

 private:
  // ---- pack, shared by both kinds of run: the prompt set for B examples of these input lengths
  void pack_prompt_set() {
    SPOT_CHECK(B_ > 0, who_ << ": empty batch");
    for (int64_t b = 0; b < B_; ++b)
      SPOT_CHECK(in_len_[b] > 0, who_ << ": example " << b << " has no input token (the first target is "
                                      << "predicted from the last input position)");
    pk_ = pack_prompts(set_, in_len_, c_.hidden_size, c_.num_hidden_layers, ctx_.device(), who_);
    if (pk_.rows > 0)
      SPOT_CHECK(set_.placement.kind == PromptPlacement::Kind::Prefix,
                 who_ << ": prompt placement '" << set_.placement.str() << "' is not supported by a decoder-only "
                      << "model: the soft prompt is a prefix (placement 'prefix')");
    SPOT_CHECK(!opt_.backward || pk_.rows > 0, who_ << ": backward needs a prompt (L > 0)");
    L_ = pk_.max_len;
    // The shared prompt stream needs one prompt for the whole batch; a mixed-task batch runs replicated.
    shared_ = path_ == LlamaPromptPath::SharedPrefix && pk_.same_for_all;
  }

  // ---- pack: tokens = inputs ++ targets[:-1] (the last target is never an input), right padded
  void pack(const PromptBatch& batch) {
    B_ = static_cast<int64_t>(batch.size());
    SPOT_CHECK(batch.targets.size() == batch.inputs.size(),
               who_ << ": " << batch.inputs.size() << " inputs but " << batch.targets.size() << " targets");
    SPOT_CHECK(!opt_.keep_encoder_output, who_ << ": keep_encoder_output: a decoder-only model has no encoder");
    const int64_t V = c_.vocab_size;
    in_len_.resize(B_);
    std::vector<int64_t> tgt_len(B_);
    int64_t max_seq = 0, max_tgt = 0;
    for (int64_t b = 0; b < B_; ++b) {
      in_len_[b] = static_cast<int64_t>(batch.inputs[b].size());
      tgt_len[b] = static_cast<int64_t>(batch.targets[b].size());
      SPOT_CHECK(tgt_len[b] > 0, who_ << ": example " << b << " has no target token");
      max_seq = std::max(max_seq, in_len_[b] + tgt_len[b] - 1);
      max_tgt = std::max(max_tgt, tgt_len[b]);
    }
    pack_prompt_set();
    const Device dev = ctx_.device();
    T_ = std::max(max_seq, batch.pad_inputs_to + batch.pad_targets_to - 1);
    Tt_ = std::max(max_tgt, batch.pad_targets_to);
    SPOT_CHECK(L_ + T_ <= c_.max_position_embeddings,
               who_ << ": " << L_ + T_ << " positions (prompt " << L_ << " + tokens " << T_
                    << ") exceed max_position_embeddings " << c_.max_position_embeddings);
    Tensor ids = Tensor::zeros({B_, T_}, DType::I32);  // padding id 0: never attended by a real position
    for (int64_t b = 0; b < B_; ++b) {
      int32_t* row = ids.i32() + b * T_;
      for (int64_t t = 0; t < in_len_[b]; ++t) row[t] = batch.inputs[b][t];
      for (int64_t t = 0; t + 1 < tgt_len[b]; ++t) row[in_len_[b] + t] = batch.targets[b][t];
      for (int64_t t = 0; t < T_; ++t)
        SPOT_CHECK(row[t] >= 0 && row[t] < V, who_ << ": token " << row[t] << " of example " << b
                                                   << " outside the vocabulary of " << V);
      for (int64_t t = 0; t < tgt_len[b]; ++t) {
        const int32_t y = batch.targets[b][t];
        SPOT_CHECK(y >= 0 && y < V, who_ << ": target token " << y << " of example " << b
                                         << " outside the vocabulary of " << V);
        labels_.push_back(y);
        row_b_.push_back(static_cast<int32_t>(b));
        row_t_.push_back(static_cast<int32_t>(t));
      }
    }
    M_ = static_cast<int64_t>(labels_.size());
    // Rows of the final hidden states that feed the LM head: the example stream's own rows (shared)
    // or the replicated sequence's rows after the example's prompt. The row predicting target t
    // sits at in_len − 1 + t of the example's own tokens.
    S_ = shared_ ? T_ : L_ + T_;
    std::vector<int32_t> head_rows(M_);
    for (int64_t m = 0; m < M_; ++m) {
      const int64_t b = row_b_[m], offset = shared_ ? 0 : pk_.ex_len[b];
      head_rows[m] = static_cast<int32_t>(b * S_ + offset + in_len_[b] - 1 + row_t_[m]);
    }
    ids_ = ids.to(dev);
    head_rows_ = Tensor::from_ints(head_rows, {M_}).to(dev);
    zero_pos_ = Tensor::zeros({B_}, DType::I32, dev);
    if (shared_ && L_ > 0) prompt_src_ = pk_.ex_src[0];
  }

  // ---- pack for rank classification: the contexts alone as the example stream (tokens = inputs,
  // right padded), and the candidate stream: the Nc2 candidates of two or more tokens, each its
  // tokens but the last, right padded to Tc. Every layer's context keys are [B, L + T] (the prompt
  // rows, shared or replicated, then the tokens), example b's first n_b = prompt_b + |input_b| of
  // them real; its candidates continue at position n_b.
  void pack_candidates(const CandidateBatch& batch) {
    B_ = static_cast<int64_t>(batch.size());
    const int64_t V = c_.vocab_size;
    in_len_.resize(B_);
    for (int64_t b = 0; b < B_; ++b) in_len_[b] = static_cast<int64_t>(batch.inputs[b].size());
    pack_prompt_set();
    const Device dev = ctx_.device();
    T_ = *std::max_element(in_len_.begin(), in_len_.end());
    S_ = shared_ ? T_ : L_ + T_;
    Tensor ids = Tensor::zeros({B_, T_}, DType::I32);
    std::vector<int64_t> n_ctx(B_);
    for (int64_t b = 0; b < B_; ++b) {
      for (int64_t t = 0; t < in_len_[b]; ++t) {
        const int32_t id = batch.inputs[b][t];
        SPOT_CHECK(id >= 0 && id < V, who_ << ": token " << id << " of example " << b
                                           << " outside the vocabulary of " << V);
        ids.i32()[b * T_ + t] = id;
      }
      n_ctx[b] = pk_.ex_len[b] + in_len_[b];
    }
    // Candidates in example order; c indexes them all, i those with a candidate-stream row.
    std::vector<const std::vector<int32_t>*> cands;
    std::vector<int64_t> cand_b;
    Tc_ = 0;
    for (int64_t b = 0; b < B_; ++b)
      for (const auto& cand : batch.candidates[b]) {
        const int64_t n = static_cast<int64_t>(cand.size());
        SPOT_CHECK(n > 0, who_ << ": candidate " << cands.size() << " (example " << b << ") has no token");
        SPOT_CHECK(n_ctx[b] + n - 1 <= c_.max_position_embeddings,
                   who_ << ": example " << b << ": " << n_ctx[b] + n - 1 << " positions (prompt " << pk_.ex_len[b]
                        << " + input " << in_len_[b] << " + candidate " << n - 1
                        << ") exceed max_position_embeddings " << c_.max_position_embeddings);
        for (int32_t y : cand)
          SPOT_CHECK(y >= 0 && y < V, who_ << ": candidate token " << y << " of example " << b
                                           << " outside the vocabulary of " << V);
        cands.push_back(&cand);
        cand_b.push_back(b);
        Tc_ = std::max(Tc_, n - 1);
      }
    Nc_ = static_cast<int64_t>(cands.size());
    const int64_t Sk = L_ + T_, Tk = Sk + Tc_;
    std::vector<int32_t> cand_ids, key_index, key_mask, first_rows, cand_rows;
    cand_start_.clear();
    // LM-head rows: first every candidate's first token (from its example's last context row), then
    // the rest of each candidate in order (from the candidate stream): each candidate's log-likelihood
    // is summed over its tokens in order, as run() sums it.
    for (int64_t c = 0; c < Nc_; ++c) {
      const int64_t b = cand_b[c];
      first_rows.push_back(static_cast<int32_t>(b * S_ + (shared_ ? 0 : pk_.ex_len[b]) + in_len_[b] - 1));
      labels_.push_back((*cands[c])[0]);
      row_b_.push_back(static_cast<int32_t>(c));
    }
    for (int64_t c = 0; c < Nc_; ++c) {
      const std::vector<int32_t>& cand = *cands[c];
      const int64_t n = static_cast<int64_t>(cand.size()), b = cand_b[c];
      if (n < 2) continue;
      const int64_t i = static_cast<int64_t>(cand_start_.size());
      cand_start_.push_back(n_ctx[b]);
      for (int64_t t = 0; t < Tc_; ++t) cand_ids.push_back(t < n - 1 ? cand[t] : 0);
      for (int64_t t = 1; t < n; ++t) {
        cand_rows.push_back(static_cast<int32_t>(i * Tc_ + t - 1));
        labels_.push_back(cand[t]);
        row_b_.push_back(static_cast<int32_t>(c));
      }
      // Keys of candidate row i: its example's Sk context keys (those past n_b masked), then its own
      // Tc rows, which sit after the B·Sk context rows in the key buffer (candidate_layer).
      for (int64_t j = 0; j < Sk; ++j) {
        key_index.push_back(static_cast<int32_t>(b * Sk + j));
        key_mask.push_back(j < n_ctx[b] ? 1 : 0);
      }
      for (int64_t t = 0; t < Tc_; ++t) {
        key_index.push_back(static_cast<int32_t>(B_ * Sk + i * Tc_ + t));
        key_mask.push_back(1);
      }
    }
    Nc2_ = static_cast<int64_t>(cand_start_.size());
    M_ = static_cast<int64_t>(labels_.size());
    ids_ = ids.to(dev);
    zero_pos_ = Tensor::zeros({B_}, DType::I32, dev);
    if (shared_ && L_ > 0) prompt_src_ = pk_.ex_src[0];
    first_rows_ = Tensor::from_ints(first_rows, {Nc_}).to(dev);
    if (Nc2_ == 0) return;
    cand_ids_ = Tensor::from_ints(cand_ids, {Nc2_, Tc_}).to(dev);
    cand_rows_ = Tensor::from_ints(cand_rows, {M_ - Nc_}).to(dev);
    key_index_ = Tensor::from_ints(key_index, {Nc2_ * Tk}).to(dev);
    key_mask_ = Tensor::from_ints(key_mask, {Nc2_, Tk}).to(dev);
  }

  // The shared prompt's block `l` [L, d] (the rows of the one prompt every example uses).
  Tensor shared_block(int64_t l) const { return pk_.block(l).rows(prompt_src_, prompt_src_ + L_); }

  // ---- forward
  void forward() {
    SPOT_NVTX_RANGE("llama.forward");
    const bool bw = opt_.backward;
    const int64_t d = c_.hidden_size, n_layers = c_.num_hidden_layers, kvd = c_.kv_dim();
    const int64_t Hkv = c_.num_key_value_heads, Dh = c_.head_dim;
    ex_saved_.resize(bw ? n_layers : 0);
    pr_saved_.resize(bw && shared_ ? n_layers : 0);
    x_ = ctx_.empty({B_, S_, d});
    if (shared_)
      embed_with_prompt(ctx_, ids_, w_.embed, Tensor(), PromptSlots::same(zero_pos_, 0), x_);
    else
      embed_with_prompt(ctx_, ids_, w_.embed, pk_.block(0), pk_.slots, x_);
    x_ = x_.reshape({B_ * S_, d});
    if (Nc2_ > 0) {
      y_ = ctx_.empty({Nc2_, Tc_, d});
      const PromptSlots no_prompt = PromptSlots::same(Tensor::zeros({Nc2_}, DType::I32, ctx_.device()), 0);
      embed_with_prompt(ctx_, cand_ids_, w_.embed, Tensor(), no_prompt, y_);
      y_ = y_.reshape({Nc2_ * Tc_, d});
    }
    Tensor xp = shared_ && L_ ? shared_block(0).clone() : Tensor();  // the prompt stream [L, d]
    for (int64_t l = 0; l < n_layers; ++l) {
      const LlamaLayerWeights& lw = w_.layers[l];
      if (pk_.deep() && l > 0) {
        // Depth deep: the prompt rows entering layer l are the prompt's block l.
        if (xp.defined()) {
          xp = shared_block(l).clone();
        } else if (!shared_) {
          Tensor x3 = x_.reshape({B_, S_, d});
          prompt_rows_write(ctx_, pk_.block(l), pk_.slots, x3);
        }
      }
      Tensor kp, vp;  // the prompt's K/V of this layer, [L, kvd] (shared path)
      if (xp.defined()) {
        // The prompt stream. Where its output is never used (the last layer, and every layer at
        // depth deep, whose next block replaces it) only K/V are computed.
        const bool continues = stream_continues(l);
        Tensor x_in = bw ? xp.clone() : Tensor();
        Projected pp = step_.project(xp, lw, 1, L_, 0, /*want_q=*/continues);
        kp = pp.k.reshape({L_, kvd});
        vp = pp.v.reshape({L_, kvd});
        Tensor probs;
        if (continues) probs = step_.attend(xp, lw, pp.q, pp.k, pp.v);
        if (bw) pr_saved_[l].attn = {x_in, pp.inv_rms, pp.q, pp.k, pp.v, probs};
        if (continues) step_.ffn_forward(xp, lw, bw ? &pr_saved_[l].ffn : nullptr);
      }
      // Layer 0 of the shared path needs no input gradient for the examples: no input kept.
      const bool keep_input = bw && !(shared_ && l == 0);
      Tensor x_in = keep_input ? x_.clone() : Tensor();
      Projected pe = step_.project(x_, lw, B_, S_, shared_ ? L_ : 0, true);
      Tensor k = pe.k, v = pe.v;
      if (kp.defined()) {
        // Each example attends to [prompt K/V ++ its own K/V]: causal over L + T keys (attention.h:
        // query i sees key j <= i + L, i.e. the whole prompt and its own past).
        k = ctx_.empty({B_, L_ + T_, Hkv, Dh});
        v = ctx_.empty({B_, L_ + T_, Hkv, Dh});
        Tensor k3 = k.reshape({B_, L_ + T_, kvd}), v3 = v.reshape({B_, L_ + T_, kvd});
        prefix_concat(ctx_, kp, pe.k.reshape({B_, T_, kvd}), k3);
        prefix_concat(ctx_, vp, pe.v.reshape({B_, T_, kvd}), v3);
      }
      Tensor probs = step_.attend(x_, lw, pe.q, k, v);
      if (bw) ex_saved_[l].attn = {x_in, keep_input ? pe.inv_rms : Tensor(), pe.q, k, v, probs};
      if (Nc2_ > 0) candidate_layer(lw, k, v);
      step_.ffn_forward(x_, lw, bw ? &ex_saved_[l].ffn : nullptr);
    }
  }

  // One layer of the candidate stream y_ [Nc2·Tc, d]. k, v [B, L + T, Hkv, Dh]: this layer's
  // context keys and values; candidate row i attends to its example's and then its own (causal:
  // attention.h lets query t see the Sk context keys and its own keys up to t).
  void candidate_layer(const LlamaLayerWeights& lw, const Tensor& k, const Tensor& v) {
    const int64_t kvd = c_.kv_dim(), ctx_rows = k.dim(0) * k.dim(1), own_rows = Nc2_ * Tc_, Tk = L_ + T_ + Tc_;
    Projected p = step_.project(y_, lw, Nc2_, Tc_, 0, true, &cand_start_);
    // [context rows ++ own rows] in one buffer, gathered into each candidate's key order.
    auto keys = [&](const Tensor& context, const Tensor& own) {
      Tensor all = ctx_.empty({ctx_rows + own_rows, kvd});
      all.rows(0, ctx_rows).copy_from(context.reshape({ctx_rows, kvd}));
      all.rows(ctx_rows, ctx_rows + own_rows).copy_from(own.reshape({own_rows, kvd}));
      Tensor out = ctx_.empty({Nc2_ * Tk, kvd});
      rows_gather(ctx_, all, key_index_, out);
      return out.reshape({Nc2_, Tk, c_.num_key_value_heads, c_.head_dim});
    };
    step_.attend(y_, lw, p.q, keys(k, p.k), keys(v, p.v), key_mask_);
    step_.ffn_forward(y_, lw, nullptr);
  }

  // LM head at the candidates' rows (each example's last context row once per candidate, then the
  // candidate stream's rows) and the per-candidate log-likelihoods.
  void candidate_head_and_loss() {
    const int64_t d = c_.hidden_size;
    Tensor h = ctx_.empty({M_, d});
    Tensor first = h.rows(0, Nc_);
    rows_gather(ctx_, x_, first_rows_, first);
    if (Nc2_ > 0) {
      Tensor rest = h.rows(Nc_, M_);
      rows_gather(ctx_, y_, cand_rows_, rest);
    }
    Tensor head_in = ctx_.empty({M_, d}), inv = ctx_.empty({M_});
    rms_norm_forward(ctx_, h, w_.final_norm, c_.rms_norm_eps, head_in, inv);
    Tensor logits = ctx_.empty({M_, c_.vocab_size});
    linear_forward(ctx_, head_in, w_.lm_head, logits);
    RunOptions scoring;  // forward only, the loss over this batch's own target tokens
    scoring.backward = false;
    detail::loss_tail(ctx_, logits, labels_, row_b_, Nc_, scoring, res_);
  }

  bool stream_continues(int64_t l) const { return !pk_.deep() && l < c_.num_hidden_layers - 1; }

  // ---- LM head at the M target-predicting rows only, and the loss
  Tensor head_and_loss() {
    const int64_t d = c_.hidden_size, V = c_.vocab_size;
    h_rows_ = ctx_.empty({M_, d});
    head_inv_ = ctx_.empty({M_});
    Tensor head_in = ctx_.empty({M_, d});
    rows_gather(ctx_, x_, head_rows_, h_rows_);
    rms_norm_forward(ctx_, h_rows_, w_.final_norm, c_.rms_norm_eps, head_in, head_inv_);
    Tensor logits = ctx_.empty({M_, V});
    linear_forward(ctx_, head_in, w_.lm_head, logits);
    Tensor dlogits = detail::loss_tail(ctx_, logits, labels_, row_b_, B_, opt_, res_);
    if (opt_.keep_logits) {
      const Tensor host = logits.to(Device::CPU);
      res_.logits = Tensor::zeros({B_, Tt_, V});
      for (int64_t m = 0; m < M_; ++m)
        std::copy(host.f32() + m * V, host.f32() + (m + 1) * V, res_.logits.f32() + (row_b_[m] * Tt_ + row_t_[m]) * V);
    }
    if (opt_.keep_input_mean) input_mean();
    x_ = Tensor();
    return dlogits;
  }

  // Each example's final-normed hidden states (what the LM head reads) averaged over its own input
  // tokens (not the prompt rows, not the target tokens after them), accumulated in double.
  void input_mean() {
    const int64_t d = c_.hidden_size;
    std::vector<int32_t> rows;
    for (int64_t b = 0; b < B_; ++b) {
      const int64_t offset = shared_ ? 0 : pk_.ex_len[b];
      for (int64_t t = 0; t < in_len_[b]; ++t) rows.push_back(static_cast<int32_t>(b * S_ + offset + t));
    }
    const int64_t R = static_cast<int64_t>(rows.size());
    Tensor gathered = ctx_.empty({R, d}), normed = ctx_.empty({R, d}), inv = ctx_.empty({R});
    rows_gather(ctx_, x_, Tensor::from_ints(rows, {R}).to(ctx_.device()), gathered);
    rms_norm_forward(ctx_, gathered, w_.final_norm, c_.rms_norm_eps, normed, inv);
    const Tensor host = normed.to(Device::CPU);
    res_.input_mean = Tensor::zeros({B_, d});
    std::vector<double> acc(d);
    int64_t r = 0;
    for (int64_t b = 0; b < B_; ++b) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t t = 0; t < in_len_[b]; ++t, ++r)
        for (int64_t j = 0; j < d; ++j) acc[j] += host.f32()[r * d + j];
      for (int64_t j = 0; j < d; ++j) res_.input_mean.f32()[b * d + j] = static_cast<float>(acc[j] / in_len_[b]);
    }
  }

  // LM head and final norm backward: the gradient of the last layer's output, [B·S, d].
  Tensor head_backward(Tensor& dlogits) {
    const int64_t d = c_.hidden_size;
    Tensor g_head = ctx_.empty({M_, d});
    linear_backward_input(ctx_, dlogits, w_.lm_head, g_head);
    dlogits = Tensor();  // [M, V]: the largest buffer, freed early
    Tensor g_rows = ctx_.empty({M_, d});
    rms_norm_backward_input(ctx_, g_head, h_rows_, w_.final_norm, head_inv_, g_rows);
    Tensor g = ctx_.empty({B_ * S_, d});
    rows_scatter(ctx_, g_rows, head_rows_, g);
    return g;
  }

  Tensor d_block(Tensor& d_table, int64_t l) const {
    return d_table.reshape({pk_.layers * pk_.rows, c_.hidden_size}).rows(l * pk_.rows, (l + 1) * pk_.rows);
  }

  // ---- backward, shared path. gp: the gradient of the prompt stream's output of layer l (zero
  // where that output is unused: above the last layer, and at every layer at depth deep).
  void backward_shared(Tensor& g, Tensor& d_table) {
    const int64_t d = c_.hidden_size, n_layers = c_.num_hidden_layers, kvd = c_.kv_dim();
    const int64_t H = c_.num_attention_heads, Hkv = c_.num_key_value_heads, Dh = c_.head_dim;
    const Device dev = ctx_.device();
    Tensor gp = ctx_.zeros({L_, d});
    Tensor at_l = Tensor::from_ints(std::vector<int32_t>(B_, static_cast<int32_t>(L_)), {B_}).to(dev);
    const PromptSlots all_rows = PromptSlots::same(zero_pos_, L_);
    for (int64_t l = n_layers - 1; l >= 0; --l) {
      const LlamaLayerWeights& lw = w_.layers[l];
      const detail::LayerSaved& se = ex_saved_[l];
      const detail::LayerSaved& sp = pr_saved_[l];
      const bool continues = stream_continues(l), first = l == 0;
      if (!continues) gp.fill(0.0f);
      // Example stream: dq only above layer 0; dk/dv over all L + T keys.
      step_.ffn_backward(g, lw, se.ffn);
      Tensor dq = first ? Tensor() : ctx_.empty(se.attn.q.shape());
      Tensor dk = ctx_.empty(se.attn.k.shape()), dv = ctx_.empty(se.attn.v.shape());
      step_.attention_backward(g, lw, se.attn, &dq, &dk, &dv);
      Tensor dk3 = dk.reshape({B_, L_ + T_, kvd}), dv3 = dv.reshape({B_, L_ + T_, kvd});
      // Prompt stream: its own attention (where its output is used), then the examples' gradient
      // on the prompt's K/V summed over examples in example order.
      Tensor dqp = continues ? ctx_.empty({1, L_, H, Dh}) : Tensor();
      Tensor dkp = ctx_.empty({1, L_, Hkv, Dh}), dvp = ctx_.empty({1, L_, Hkv, Dh});
      if (continues) {
        step_.ffn_backward(gp, lw, sp.ffn);
        step_.attention_backward(gp, lw, sp.attn, &dqp, &dkp, &dvp);
      }
      Tensor kv_rows = ctx_.empty({B_, L_, kvd});
      Tensor dkp2 = dkp.reshape({L_, kvd}), dvp2 = dvp.reshape({L_, kvd});
      prompt_rows_gather(ctx_, dk3, zero_pos_, L_, kv_rows);
      prompt_grad_reduce(ctx_, kv_rows, all_rows, dkp2, /*accumulate=*/continues);
      prompt_rows_gather(ctx_, dv3, zero_pos_, L_, kv_rows);
      prompt_grad_reduce(ctx_, kv_rows, all_rows, dvp2, /*accumulate=*/continues);
      if (dqp.defined()) rope_backward_input(ctx_, dqp, 0, c_.rope_theta, dqp);
      rope_backward_input(ctx_, dkp, 0, c_.rope_theta, dkp);
      step_.qkv_input_backward(gp, lw, dqp.defined() ? dqp.reshape({L_, c_.q_dim()}) : Tensor(), dkp2, dvp2,
                               sp.attn.x, sp.attn.inv_rms);
      if (pk_.deep()) d_block(d_table, l).rows(prompt_src_, prompt_src_ + L_).copy_from(gp);
      if (first) break;  // the examples' layer-0 input is the token embeddings: no gradient needed
      Tensor dk_own = ctx_.empty({B_, T_, Hkv, Dh}), dv_own = ctx_.empty({B_, T_, Hkv, Dh});
      Tensor dk_own3 = dk_own.reshape({B_, T_, kvd}), dv_own3 = dv_own.reshape({B_, T_, kvd});
      prompt_rows_gather(ctx_, dk3, at_l, T_, dk_own3);
      prompt_rows_gather(ctx_, dv3, at_l, T_, dv_own3);
      rope_backward_input(ctx_, dq, L_, c_.rope_theta, dq);
      rope_backward_input(ctx_, dk_own, L_, c_.rope_theta, dk_own);
      step_.qkv_input_backward(g, lw, dq.reshape({B_ * T_, c_.q_dim()}), dk_own.reshape({B_ * T_, kvd}),
                               dv_own.reshape({B_ * T_, kvd}), se.attn.x, se.attn.inv_rms);
    }
    if (!pk_.deep()) d_block(d_table, 0).rows(prompt_src_, prompt_src_ + L_).copy_from(gp);
  }

  // ---- backward, replicated path (every example's own prompt rows in its sequence)
  void backward_replicated(Tensor& g, Tensor& d_table) {
    const int64_t d = c_.hidden_size, n_layers = c_.num_hidden_layers, kvd = c_.kv_dim();
    const int64_t H = c_.num_attention_heads, Hkv = c_.num_key_value_heads, Dh = c_.head_dim;
    for (int64_t l = n_layers - 1; l >= 1; --l) {
      const LlamaLayerWeights& lw = w_.layers[l];
      const detail::LayerSaved& s = ex_saved_[l];
      step_.ffn_backward(g, lw, s.ffn);
      Tensor dq = ctx_.empty(s.attn.q.shape()), dk = ctx_.empty(s.attn.k.shape()), dv = ctx_.empty(s.attn.v.shape());
      step_.attention_backward(g, lw, s.attn, &dq, &dk, &dv);
      rope_backward_input(ctx_, dq, 0, c_.rope_theta, dq);
      rope_backward_input(ctx_, dk, 0, c_.rope_theta, dk);
      step_.qkv_input_backward(g, lw, dq.reshape({B_ * S_, c_.q_dim()}), dk.reshape({B_ * S_, kvd}),
                               dv.reshape({B_ * S_, kvd}), s.attn.x, s.attn.inv_rms);
      if (pk_.deep()) {
        // Layer l's input at the prompt rows is block l: its gradient is block l's, and nothing of
        // it flows further down (those rows were overwritten).
        Tensor g3 = g.reshape({B_, S_, d}), rows = ctx_.empty({B_, L_, d}), db = d_block(d_table, l);
        prompt_rows_gather(ctx_, g3, zero_pos_, L_, rows);
        prompt_grad_reduce(ctx_, rows, pk_.slots, db);
        prompt_rows_write(ctx_, Tensor(), pk_.slots, g3);
      }
    }
    // Layer 0: only the prompt rows [0, L) of each example reach the prompt (rows past an example's
    // own prompt length are computed and not read by the reduction).
    const LlamaLayerWeights& lw = w_.layers[0];
    const detail::LayerSaved& s = ex_saved_[0];
    step_.ffn_backward(g, lw, s.ffn);
    Tensor dq = ctx_.empty({B_, L_, H, Dh}), dk = ctx_.empty({B_, L_, Hkv, Dh}), dv = ctx_.empty({B_, L_, Hkv, Dh});
    PromptRows pr{zero_pos_, L_};
    step_.attention_backward(g, lw, s.attn, &dq, &dk, &dv, &pr);
    rope_backward_input(ctx_, dq, 0, c_.rope_theta, dq);  // rows 0..L−1 sit at positions 0..L−1
    rope_backward_input(ctx_, dk, 0, c_.rope_theta, dk);
    Tensor g_prompt_rows = ctx_.empty({B_, L_, d}), x_rows = ctx_.empty({B_, L_, d}), inv_rows = ctx_.empty({B_, L_, 1});
    prompt_rows_gather(ctx_, g.reshape({B_, S_, d}), zero_pos_, L_, g_prompt_rows);
    prompt_rows_gather(ctx_, s.attn.x.reshape({B_, S_, d}), zero_pos_, L_, x_rows);
    prompt_rows_gather(ctx_, s.attn.inv_rms.reshape({B_, S_, 1}), zero_pos_, L_, inv_rows);
    Tensor g2 = g_prompt_rows.reshape({B_ * L_, d});
    step_.qkv_input_backward(g2, lw, dq.reshape({B_ * L_, c_.q_dim()}), dk.reshape({B_ * L_, kvd}),
                             dv.reshape({B_ * L_, kvd}), x_rows.reshape({B_ * L_, d}), inv_rows.reshape({B_ * L_}));
    Tensor db0 = d_block(d_table, 0);
    prompt_grad_reduce(ctx_, g_prompt_rows, pk_.slots, db0);
  }

  // ---- memory: what this backward kept, and what a weight-gradient backward would keep on top:
  // the input of every linear (normed sub-layer inputs, attention context, FFN hidden, LM-head
  // input) and a gradient buffer per weight.
  void account_memory() {
    const int64_t d = c_.hidden_size, n_layers = c_.num_hidden_layers;
    for (const auto& s : ex_saved_) mem_.saved_activation_bytes += s.attn.bytes() + s.ffn.bytes();
    for (const auto& s : pr_saved_) mem_.saved_activation_bytes += s.attn.bytes() + s.ffn.bytes();
    mem_.saved_activation_bytes += detail::nbytes(h_rows_) + detail::nbytes(head_inv_);
    const double rows = static_cast<double>(B_ * S_ + (shared_ ? L_ : 0));
    mem_.full_backward_extra_bytes =
        4.0 * n_layers * rows * (2.0 * d + c_.q_dim() + c_.intermediate_size) + 4.0 * static_cast<double>(M_ * d);
    mem_.weight_gradient_bytes = mem_.weight_bytes;
  }

  Context& ctx_;
  const LlamaWeights& w_;
  const LlamaConfig& c_;
  LlamaPromptPath path_;
  const PromptSet& set_;
  const RunOptions& opt_;
  const char* who_;
  LlamaStep step_;

  // pack
  int64_t B_ = 0, T_ = 0, Tt_ = 0, L_ = 0, S_ = 0, M_ = 0, prompt_src_ = 0;
  bool shared_ = false;
  std::vector<int64_t> in_len_;
  std::vector<int32_t> labels_, row_b_, row_t_;  // per LM-head row: target token, example, target index
  PackedPrompts pk_;
  Tensor ids_, head_rows_, zero_pos_;  // on the device
  // rank classification: Nc candidates, Nc2 of them in the candidate stream [Nc2, Tc]
  int64_t Nc_ = 0, Nc2_ = 0, Tc_ = 0;
  std::vector<int64_t> cand_start_;  // [Nc2] position of each candidate-stream row's first token
  Tensor cand_ids_, first_rows_, cand_rows_, key_index_, key_mask_, y_;  // on the device
  // forward state kept for the loss and the backward
  std::vector<detail::LayerSaved> ex_saved_, pr_saved_;
  Tensor x_;  // the example stream (shared) or the whole replicated sequence, [B·S, d]
  Tensor h_rows_, head_inv_;
  RunResult res_;
  MemoryReport mem_;
};

}  // namespace

RunResult LlamaModel::run(const PromptBatch& batch, const PromptSet& prompts, const RunOptions& opt) {
  SPOT_NVTX_RANGE("llama.run");
  LlamaRun r(ctx_, weights_, path_, prompts, opt, "LlamaModel::run");
  RunResult res = r.run(batch);
  memory_ = r.memory();
  return res;
}

double LlamaModel::count_flops(int64_t batch, int64_t seq_len, int64_t prompt_len, int64_t target_len,
                               bool backward) const {
  const LlamaConfig& c = weights_.config;
  const double B = static_cast<double>(batch), T = static_cast<double>(seq_len), L = static_cast<double>(prompt_len),
               d = c.hidden_size, qd = c.q_dim(), kvd = c.kv_dim(), F = c.intermediate_size, V = c.vocab_size,
               H = c.num_attention_heads, Dh = c.head_dim, layers = c.num_hidden_layers;
  const double M = B * static_cast<double>(target_len);
  // Per row of a stream: Q/K/V/O projections and the three FFN GEMMs (2 FLOPs per multiply-add).
  const double qkv_row = 2 * d * (qd + 2 * kvd), o_row = 2 * qd * d, ffn_row = 2 * d * F * 3;
  const double row = qkv_row + o_row + ffn_row;
  // Attention: QKᵀ and PV over a Tq × Tk block, 4·H·Tq·Tk·Dh per example; its backward is twice that
  // (dP, dS·K, dSᵀ·Q, Pᵀ·dO), each of the four products a quarter.
  auto attn = [&](double b, double tq, double tk) { return 4 * b * H * tq * tk * Dh; };
  const double head = 2 * M * d * V;
  if (path_ == LlamaPromptPath::SharedPrefix) {
    const double ex_rows = B * T;
    const double fwd_ex = layers * (ex_rows * row + attn(B, T, L + T));
    // The prompt stream: full layers except the last, where only K/V are projected.
    const double fwd_pr = L > 0 ? (layers - 1) * (L * row + attn(1, L, L)) + L * 2 * d * 2 * kvd : 0;
    const double fwd = fwd_ex + fwd_pr + head;
    if (!backward) return fwd;
    // Backward: every forward GEMM once more as dX = dY·W, attention twice its forward, minus what
    // is skipped: layer 0's example Q/K/V input GEMMs and its dQ product.
    double bwd = fwd + layers * 2 * attn(B, T, L + T) / 2 + (L > 0 ? (layers - 1) * attn(1, L, L) : 0);
    bwd -= ex_rows * qkv_row + attn(B, T, L + T) / 2;
    return fwd + bwd;
  }
  const double S = L + T, rows = B * S;
  const double fwd = layers * (rows * row + attn(B, S, S)) + head;
  if (!backward) return fwd;
  double bwd = fwd + layers * attn(B, S, S);
  bwd -= (rows - B * L) * qkv_row;                    // layer 0: Q/K/V input GEMMs of non-prompt rows
  bwd -= 3 * (attn(B, S, S) / 2) * (S - L) / S;       // ... and their dQ, dK, dV products
  return fwd + bwd;
}

std::vector<std::vector<double>> LlamaModel::score_candidates(const CandidateBatch& batch, const PromptSet& prompts) {
  SPOT_NVTX_RANGE("llama.score_candidates");
  RunOptions opt;
  opt.backward = false;
  return LlamaRun(ctx_, weights_, path_, prompts, opt, "LlamaModel::score_candidates").score(batch);
}

GreedyResult LlamaModel::generate_greedy(const std::vector<std::vector<int32_t>>& inputs, const PromptSet& prompts,
                                         int64_t max_new, int32_t stop_id, bool keep_logits) {
  SPOT_NVTX_RANGE("llama.generate_greedy");
  const char* who = "LlamaModel::generate_greedy";
  SPOT_CHECK(max_new >= 0, who << ": max_new must be >= 0, got " << max_new);
  std::vector<int64_t> lengths;
  for (const auto& in : inputs) lengths.push_back(static_cast<int64_t>(in.size()));
  // The set checked as run() checks it (host only: generate() moves each example's prompt itself).
  const PackedPrompts pk = pack_prompts(prompts, lengths, d_model(), prompt_layers(), Device::CPU, who);
  if (pk.rows > 0)
    SPOT_CHECK(prompts.placement.kind == PromptPlacement::Kind::Prefix,
               who << ": prompt placement '" << prompts.placement.str()
                   << "' is not supported by a decoder-only model: the soft prompt is a prefix (placement 'prefix')");
  GreedyResult out;
  out.tokens.resize(inputs.size());
  if (keep_logits) out.logits.resize(inputs.size());
  if (max_new == 0) return out;
  // One example at a time: each is its own KV-cache decode (generate()).
  for (size_t b = 0; b < inputs.size(); ++b) {
    const Tensor prompt = pk.count ? prompts.prompts[pk.ex_prompt[b]] : Tensor();
    std::vector<float> logits;
    out.tokens[b] = decode_greedy(prompt, inputs[b], max_new, stop_id, {}, prompts.placement.depth,
                                  keep_logits ? &logits : nullptr);
    if (keep_logits) {
      const int64_t V = vocab_size(), steps = static_cast<int64_t>(logits.size()) / V;
      out.logits[b] = Tensor::empty({steps, V});
      std::copy(logits.begin(), logits.end(), out.logits[b].f32());
    }
  }
  return out;
}

std::vector<int32_t> LlamaModel::generate(const Tensor& prompt, const std::vector<int32_t>& ids, int64_t max_new,
                                          int32_t stop_id, const std::function<void(int32_t)>& on_token,
                                          PromptDepth depth) {
  return decode_greedy(prompt, ids, max_new, stop_id, on_token, depth, nullptr);
}

std::vector<int32_t> LlamaModel::decode_greedy(const Tensor& prompt, const std::vector<int32_t>& ids, int64_t max_new,
                                               int32_t stop_id, const std::function<void(int32_t)>& on_token,
                                               PromptDepth depth, std::vector<float>* step_logits) {
  SPOT_NVTX_RANGE("llama.generate");
  const LlamaConfig& c = weights_.config;
  const bool deep = depth == PromptDepth::Deep;
  const int64_t L = prompt.defined() ? prompt.dim(-2) : 0, n = static_cast<int64_t>(ids.size()), d = c.hidden_size;
  SPOT_CHECK(n > 0, "LlamaModel::generate: empty input");
  if (prompt.defined()) {
    if (deep)
      check_shape(prompt, {c.num_hidden_layers, L, d}, "LlamaModel::generate deep prompt");
    else
      check_shape(prompt, {L, d}, "LlamaModel::generate prompt");
  }
  for (int32_t id : ids)
    SPOT_CHECK(id >= 0 && id < c.vocab_size, "LlamaModel::generate: token " << id << " outside vocabulary");
  const int64_t capacity = std::min<int64_t>(L + n + max_new, c.max_position_embeddings);
  SPOT_CHECK(L + n < capacity || max_new == 0, "LlamaModel::generate: " << L + n << " positions leave no room under "
                                                                        << c.max_position_embeddings);
  const Device dev = ctx_.device();
  LlamaStep step(ctx_, weights_);
  const int64_t nl = c.num_hidden_layers, kvd = c.kv_dim();
  // K/V cache per layer: [capacity, Hkv·Dh] rows in position order.
  std::vector<Tensor> kc(nl), vc(nl);
  for (int64_t l = 0; l < nl; ++l) kc[l] = ctx_.empty({capacity, kvd}), vc[l] = ctx_.empty({capacity, kvd});

  // Runs `x` [seq, d] at positions pos0.. through every layer, filling the cache; returns the
  // next-token logits of its last row.
  // At depth deep the prompt rows (positions 0..L-1, in the first call) entering layer l are the
  // prompt's block l.
  const Tensor blocks = L ? prompt.to(dev).reshape({deep ? nl : 1, L, d}) : Tensor();
  auto forward_rows = [&](Tensor& x, int64_t seq, int64_t pos0) -> int32_t {
    for (int64_t l = 0; l < nl; ++l) {
      const LlamaLayerWeights& lw = weights_.layers[l];
      if (deep && L && pos0 == 0 && l > 0) {
        Tensor prompt_rows = x.rows(0, L);
        prompt_rows.copy_from(blocks.reshape({-1, d}).rows(l * L, (l + 1) * L));
      }
      Projected p = step.project(x, lw, 1, seq, pos0, true);
      Tensor krows = kc[l].rows(pos0, pos0 + seq), vrows = vc[l].rows(pos0, pos0 + seq);
      krows.copy_from(p.k.reshape({seq, kvd}));
      vrows.copy_from(p.v.reshape({seq, kvd}));
      const Tensor k = kc[l].rows(0, pos0 + seq).reshape({1, pos0 + seq, c.num_key_value_heads, c.head_dim});
      const Tensor v = vc[l].rows(0, pos0 + seq).reshape({1, pos0 + seq, c.num_key_value_heads, c.head_dim});
      step.attend(x, lw, p.q, k, v);
      step.ffn_forward(x, lw, nullptr);
    }
    Tensor last = x.rows(seq - 1, seq), normed = ctx_.empty({1, d}), inv = ctx_.empty({1});
    rms_norm_forward(ctx_, last, weights_.final_norm, c.rms_norm_eps, normed, inv);
    Tensor logits = ctx_.empty({1, c.vocab_size});
    linear_forward(ctx_, normed, weights_.lm_head, logits);
    const std::vector<float> h = logits.to_floats();
    if (step_logits) step_logits->insert(step_logits->end(), h.begin(), h.end());
    return static_cast<int32_t>(std::max_element(h.begin(), h.end()) - h.begin());
  };

  Tensor x = ctx_.empty({1, L + n, d});
  embed_with_prompt(ctx_, Tensor::from_ints(ids, {1, n}).to(dev), weights_.embed,
                    L ? blocks.reshape({-1, d}).rows(0, L) : Tensor(), PromptSlots::same(positions_filled(1, 0, dev), L), x);
  x = x.reshape({L + n, d});
  int32_t next = forward_rows(x, L + n, 0);
  std::vector<int32_t> out;
  for (int64_t pos = L + n; static_cast<int64_t>(out.size()) < max_new; ++pos) {
    if (next == stop_id) break;
    out.push_back(next);
    if (on_token) on_token(next);
    if (static_cast<int64_t>(out.size()) == max_new || pos + 1 > capacity) break;
    Tensor xt = ctx_.empty({1, 1, d});
    embed_with_prompt(ctx_, Tensor::from_ints({next}, {1, 1}).to(dev), weights_.embed, Tensor(),
                      PromptSlots::same(positions_filled(1, 0, dev), 0), xt);
    xt = xt.reshape({1, d});
    next = forward_rows(xt, 1, pos);
  }
  return out;
}

}  // namespace spot
