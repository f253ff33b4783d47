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

namespace spot {

const char* llama_prompt_path_name(LlamaPromptPath p) {
  return p == LlamaPromptPath::SharedPrefix ? "shared-prefix" : "replicated";
}

namespace {

double nbytes(const Tensor& t) { return t.defined() ? static_cast<double>(t.nbytes()) : 0.0; }

// What one attention sub-layer keeps for the input-gradient backward.
struct AttentionSaved {
  Tensor x;        // [rows, d] sub-layer input (RMSNorm backward); undefined where not needed
  Tensor inv_rms;  // [rows]
  Tensor q;        // [b, seq, H, Dh] after RoPE
  Tensor k, v;     // [b, Tk, Hkv, Dh] the keys (after RoPE) and values attended
  Tensor probs;    // [b, H, seq, Tk]
  double bytes() const { return nbytes(x) + nbytes(inv_rms) + nbytes(q) + nbytes(k) + nbytes(v) + nbytes(probs); }
};

struct FeedForwardSaved {
  Tensor x;         // [rows, d]
  Tensor inv_rms;   // [rows]
  Tensor gate, up;  // [rows, F] pre-activation gate(n) and up(n)
  double bytes() const { return nbytes(x) + nbytes(inv_rms) + nbytes(gate) + nbytes(up); }
};

struct LayerSaved {
  AttentionSaved attn;
  FeedForwardSaved ffn;
};

// A packed batch (host) and the LM-head rows.
struct Packed {
  int64_t B = 0, T = 0, L = 0, Tt = 0, M = 0;
  Tensor ids;                      // [B, T] i32
  std::vector<int64_t> in_len, tgt_len;
  std::vector<int32_t> labels;     // [M] target tokens, example-major
  std::vector<int32_t> row_b, row_t;  // example and target index of each LM-head row
  // Position (within the example's own token rows) of the row predicting target t: in_len − 1 + t.
  int64_t source_pos(int64_t m) const { return in_len[row_b[m]] - 1 + row_t[m]; }
};

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

  // x [b·seq, d] at positions pos0.. -> Projected (q only when want_q).
  Projected project(const Tensor& x, const LlamaLayerWeights& lw, int64_t b, int64_t seq, int64_t pos0, bool want_q) {
    const int64_t rows = b * seq, d = c_.hidden_size;
    Projected p;
    Tensor n = ctx_.empty({rows, d});
    p.inv_rms = ctx_.empty({rows});
    rms_norm_forward(ctx_, x, lw.input_norm, c_.rms_norm_eps, n, p.inv_rms);
    if (want_q) {
      Tensor q = ctx_.empty({rows, c_.q_dim()});
      linear_forward(ctx_, n, lw.q, q);
      p.q = q.reshape({b, seq, c_.num_attention_heads, c_.head_dim});
      rope_forward(ctx_, p.q, pos0, c_.rope_theta, p.q);
    }
    Tensor k = ctx_.empty({rows, c_.kv_dim()}), v = ctx_.empty({rows, c_.kv_dim()});
    linear_forward(ctx_, n, lw.k, k);
    linear_forward(ctx_, n, lw.v, v);
    p.k = k.reshape({b, seq, c_.num_key_value_heads, c_.head_dim});
    p.v = v.reshape({b, seq, c_.num_key_value_heads, c_.head_dim});
    rope_forward(ctx_, p.k, pos0, c_.rope_theta, p.k);
    return p;
  }

  // x += o(attention(q, k, v)); returns the probabilities [b, H, seq, Tk].
  Tensor attend(Tensor& x, const LlamaLayerWeights& lw, const Tensor& q, const Tensor& k, const Tensor& v) {
    const int64_t b = q.dim(0), seq = q.dim(1), tk = k.dim(1);
    Tensor ctx_rows = ctx_.empty({b * seq, c_.q_dim()});
    Tensor probs = ctx_.empty({b, c_.num_attention_heads, seq, tk});
    Tensor ctx4 = ctx_rows.reshape(q.shape());
    attention_forward(ctx_, attn_, q, k, v, Tensor(), Tensor(), ctx4, probs);
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
    if (saved) *saved = {x.clone(), inv, gate, up};
    linear_forward(ctx_, hidden, lw.down, x, /*accumulate=*/true);
  }

  // g [rows, d]: gradient after the FFN sub-layer, updated in place to the gradient before it.
  void ffn_backward(Tensor& g, const LlamaLayerWeights& lw, const FeedForwardSaved& s) {
    const int64_t rows = g.dim(0), F = c_.intermediate_size;
    Tensor dh = ctx_.empty({rows, F});
    linear_backward_input(ctx_, g, lw.down, dh);
    Tensor dgate = ctx_.empty({rows, F}), dup = ctx_.empty({rows, F});
    glu_backward_input(ctx_, Activation::Silu, dh, s.gate, s.up, dgate, dup);
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

LlamaModel::LlamaModel(Context& ctx, LlamaWeights weights, LlamaPromptPath path)
    : ctx_(ctx), weights_(std::move(weights)), path_(path) {
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

RunResult LlamaModel::run(const PromptBatch& batch, const Tensor& prompt, const RunOptions& opt) {
  SPOT_NVTX_RANGE("llama.run");
  const LlamaConfig& c = weights_.config;
  const int64_t B = static_cast<int64_t>(batch.size());
  SPOT_CHECK(B > 0, "LlamaModel::run: empty batch");
  SPOT_CHECK(batch.targets.size() == batch.inputs.size(),
             "LlamaModel::run: " << batch.inputs.size() << " inputs but " << batch.targets.size() << " targets");
  const int64_t L = prompt.defined() ? prompt.dim(0) : 0;
  const int64_t d = c.hidden_size, V = c.vocab_size;
  if (L) {
    check_shape(prompt, {L, d}, "LlamaModel::run prompt");
    SPOT_CHECK(prompt.is_cpu(), "LlamaModel::run: the prompt is passed on the host");
    SPOT_CHECK(opt.placement.kind == PromptPlacement::Kind::Prefix,
               "LlamaModel::run: prompt placement '" << opt.placement.str()
                   << "' is not supported by a decoder-only model: the soft prompt is a prefix (placement 'prefix')");
  }
  SPOT_CHECK(!opt.backward || L > 0, "LlamaModel::run: backward needs a prompt (L > 0)");
  SPOT_CHECK(!opt.keep_encoder_output, "LlamaModel::run: keep_encoder_output: a decoder-only model has no encoder");

  // ---- pack: tokens = inputs ++ targets[:-1] (the last target is never an input), right padded
  Packed p;
  p.B = B;
  p.L = L;
  p.in_len.resize(B);
  p.tgt_len.resize(B);
  int64_t max_seq = 0, max_tgt = 0;
  for (int64_t b = 0; b < B; ++b) {
    p.in_len[b] = static_cast<int64_t>(batch.inputs[b].size());
    p.tgt_len[b] = static_cast<int64_t>(batch.targets[b].size());
    SPOT_CHECK(p.in_len[b] > 0, "LlamaModel::run: example " << b << " has no input token (the first target is "
                                                            << "predicted from the last input position)");
    SPOT_CHECK(p.tgt_len[b] > 0, "LlamaModel::run: example " << b << " has no target token");
    max_seq = std::max(max_seq, p.in_len[b] + p.tgt_len[b] - 1);
    max_tgt = std::max(max_tgt, p.tgt_len[b]);
  }
  p.T = std::max(max_seq, batch.pad_inputs_to + batch.pad_targets_to - 1);
  p.Tt = std::max(max_tgt, batch.pad_targets_to);
  SPOT_CHECK(L + p.T <= c.max_position_embeddings, "LlamaModel::run: " << L + p.T << " positions (prompt " << L
                                                       << " + tokens " << p.T << ") exceed max_position_embeddings "
                                                       << c.max_position_embeddings);
  const int64_t T = p.T;
  p.ids = Tensor::zeros({B, T}, DType::I32);  // padding id 0: never attended by a real position
  for (int64_t b = 0; b < B; ++b) {
    int32_t* row = p.ids.i32() + b * T;
    for (int64_t t = 0; t < p.in_len[b]; ++t) row[t] = batch.inputs[b][t];
    for (int64_t t = 0; t + 1 < p.tgt_len[b]; ++t) row[p.in_len[b] + t] = batch.targets[b][t];
    for (int64_t t = 0; t < T; ++t)
      SPOT_CHECK(row[t] >= 0 && row[t] < V, "LlamaModel::run: token " << row[t] << " of example " << b
                                                                      << " outside the vocabulary of " << V);
    for (int64_t t = 0; t < p.tgt_len[b]; ++t) {
      const int32_t y = batch.targets[b][t];
      SPOT_CHECK(y >= 0 && y < V, "LlamaModel::run: target token " << y << " of example " << b
                                                                   << " outside the vocabulary of " << V);
      p.labels.push_back(y);
      p.row_b.push_back(static_cast<int32_t>(b));
      p.row_t.push_back(static_cast<int32_t>(t));
    }
  }
  p.M = static_cast<int64_t>(p.labels.size());
  const int64_t M = p.M;
  const bool shared = path_ == LlamaPromptPath::SharedPrefix;
  // Rows of the final hidden states that feed the LM head: the example stream's own rows (shared)
  // or the replicated sequence's rows after the prompt.
  const int64_t S = shared ? T : L + T, head_offset = shared ? 0 : L;
  std::vector<int32_t> head_rows(M);
  for (int64_t m = 0; m < M; ++m)
    head_rows[m] = static_cast<int32_t>(p.row_b[m] * S + head_offset + p.source_pos(m));

  const Device dev = ctx_.device();
  Tensor ids_d = p.ids.to(dev), head_rows_d = Tensor::from_ints(head_rows, {M}).to(dev),
         labels_d = Tensor::from_ints(p.labels, {M}).to(dev), zero_pos = Tensor::zeros({B}, DType::I32, dev);
  const bool bw = opt.backward;
  const int64_t n_layers = c.num_hidden_layers, kvd = c.kv_dim();
  const int64_t H = c.num_attention_heads, Hkv = c.num_key_value_heads, Dh = c.head_dim;
  LlamaStep step(ctx_, weights_);
  MemoryReport mem;
  mem.weight_bytes = weights_.bytes();

  // ---- forward
  std::vector<LayerSaved> ex_saved(bw ? n_layers : 0), pr_saved(bw && shared ? n_layers : 0);
  Tensor x;  // the example stream (shared) or the whole replicated sequence, [B·S, d]
  {
    SPOT_NVTX_RANGE("llama.forward");
    x = ctx_.empty({B, S, d});
    Tensor prompt_d = L ? prompt.to(dev) : Tensor();
    embed_with_prompt(ctx_, ids_d, weights_.embed, shared ? Tensor() : prompt_d, zero_pos, x);
    x = x.reshape({B * S, d});
    Tensor xp = shared && L ? prompt_d.clone() : Tensor();  // the prompt stream [L, d]
    for (int64_t l = 0; l < n_layers; ++l) {
      const LlamaLayerWeights& lw = weights_.layers[l];
      Tensor kp, vp;  // the prompt's K/V of this layer, [L, kvd] (shared path)
      if (xp.defined()) {
        // The prompt stream. Its last-layer output is never used: only K/V are computed there.
        const bool last = l == n_layers - 1;
        Tensor x_in = bw ? xp.clone() : Tensor();
        Projected pp = step.project(xp, lw, 1, L, 0, /*want_q=*/!last);
        kp = pp.k.reshape({L, kvd});
        vp = pp.v.reshape({L, kvd});
        Tensor probs;
        if (!last) probs = step.attend(xp, lw, pp.q, pp.k, pp.v);
        if (bw) pr_saved[l].attn = {x_in, pp.inv_rms, pp.q, pp.k, pp.v, probs};
        if (!last) step.ffn_forward(xp, lw, bw ? &pr_saved[l].ffn : nullptr);
      }
      // Layer 0 of the shared path needs no input gradient for the examples: no input kept.
      const bool keep_input = bw && !(shared && l == 0);
      Tensor x_in = keep_input ? x.clone() : Tensor();
      Projected pe = step.project(x, lw, B, S, shared ? L : 0, true);
      Tensor k = pe.k, v = pe.v;
      if (kp.defined()) {
        // Each example attends to [prompt K/V ++ its own K/V]: causal over L + T keys (attention.h:
        // query i sees key j <= i + L, i.e. the whole prompt and its own past).
        k = ctx_.empty({B, L + T, Hkv, Dh});
        v = ctx_.empty({B, L + T, Hkv, Dh});
        Tensor k3 = k.reshape({B, L + T, kvd}), v3 = v.reshape({B, L + T, kvd});
        prefix_concat(ctx_, kp, pe.k.reshape({B, T, kvd}), k3);
        prefix_concat(ctx_, vp, pe.v.reshape({B, T, kvd}), v3);
      }
      Tensor probs = step.attend(x, lw, pe.q, k, v);
      if (bw) ex_saved[l].attn = {x_in, keep_input ? pe.inv_rms : Tensor(), pe.q, k, v, probs};
      step.ffn_forward(x, lw, bw ? &ex_saved[l].ffn : nullptr);
    }
  }

  // ---- LM head at the M target-predicting rows only
  Tensor h_rows = ctx_.empty({M, d}), head_in = ctx_.empty({M, d}), head_inv = ctx_.empty({M});
  rows_gather(ctx_, x, head_rows_d, h_rows);
  rms_norm_forward(ctx_, h_rows, weights_.final_norm, c.rms_norm_eps, head_in, head_inv);
  Tensor logits = ctx_.empty({M, V});
  linear_forward(ctx_, head_in, weights_.lm_head, logits);
  Tensor row_loss = ctx_.empty({M});
  Tensor dlogits = bw ? ctx_.empty({M, V}) : Tensor();
  cross_entropy_forward_backward(ctx_, logits, labels_d, 1.0f / static_cast<float>(M), row_loss,
                                 bw ? &dlogits : nullptr);

  RunResult res;
  const std::vector<float> rl = row_loss.to_floats();
  res.target_tokens = M;
  res.example_logprob.assign(B, 0.0);
  res.example_tokens.assign(B, 0);
  double total = 0;
  for (int64_t m = 0; m < M; ++m) {
    res.example_logprob[p.row_b[m]] -= rl[m];
    res.example_tokens[p.row_b[m]] += 1;
    total += rl[m];
  }
  res.loss = total / static_cast<double>(M);
  if (opt.keep_logits) {
    const Tensor host = logits.to(Device::CPU);
    res.logits = Tensor::zeros({B, p.Tt, V});
    for (int64_t m = 0; m < M; ++m)
      std::copy(host.f32() + m * V, host.f32() + (m + 1) * V, res.logits.f32() + (p.row_b[m] * p.Tt + p.row_t[m]) * V);
  }
  logits = Tensor();

  if (bw) {
    SPOT_NVTX_RANGE("llama.backward");
    Tensor g_head = ctx_.empty({M, d});
    linear_backward_input(ctx_, dlogits, weights_.lm_head, g_head);
    dlogits = Tensor();  // [M, V]: the largest buffer, freed early
    Tensor g_rows = ctx_.empty({M, d});
    rms_norm_backward_input(ctx_, g_head, h_rows, weights_.final_norm, head_inv, g_rows);
    Tensor g = ctx_.empty({B * S, d});
    rows_scatter(ctx_, g_rows, head_rows_d, g);
    Tensor d_prompt;
    if (shared) {
      // gp: gradient of the prompt stream's output of layer l (zero above the last layer, whose
      // prompt output is unused).
      Tensor gp = ctx_.zeros({L, d});
      Tensor at_l = positions_filled(B, static_cast<int32_t>(L), dev);
      for (int64_t l = n_layers - 1; l >= 0; --l) {
        const LlamaLayerWeights& lw = weights_.layers[l];
        const LayerSaved& se = ex_saved[l];
        const LayerSaved& sp = pr_saved[l];
        const bool last = l == n_layers - 1, first = l == 0;
        // Example stream: dq only above layer 0; dk/dv over all L + T keys.
        step.ffn_backward(g, lw, se.ffn);
        Tensor dq = first ? Tensor() : ctx_.empty(se.attn.q.shape());
        Tensor dk = ctx_.empty(se.attn.k.shape()), dv = ctx_.empty(se.attn.v.shape());
        step.attention_backward(g, lw, se.attn, &dq, &dk, &dv);
        Tensor dk3 = dk.reshape({B, L + T, kvd}), dv3 = dv.reshape({B, L + T, kvd});
        // Prompt stream: its own attention (below the last layer), then the examples' gradient on
        // the prompt's K/V summed over examples in example order.
        Tensor dqp = last ? Tensor() : ctx_.empty({1, L, H, Dh});
        Tensor dkp = ctx_.empty({1, L, Hkv, Dh}), dvp = ctx_.empty({1, L, Hkv, Dh});
        if (!last) {
          step.ffn_backward(gp, lw, sp.ffn);
          step.attention_backward(gp, lw, sp.attn, &dqp, &dkp, &dvp);
        }
        Tensor kv_rows = ctx_.empty({B, L, kvd});
        Tensor dkp2 = dkp.reshape({L, kvd}), dvp2 = dvp.reshape({L, kvd});
        prompt_rows_gather(ctx_, dk3, zero_pos, L, kv_rows);
        prompt_grad_reduce(ctx_, kv_rows, dkp2, /*accumulate=*/!last);
        prompt_rows_gather(ctx_, dv3, zero_pos, L, kv_rows);
        prompt_grad_reduce(ctx_, kv_rows, dvp2, /*accumulate=*/!last);
        if (dqp.defined()) rope_backward_input(ctx_, dqp, 0, c.rope_theta, dqp);
        rope_backward_input(ctx_, dkp, 0, c.rope_theta, dkp);
        step.qkv_input_backward(gp, lw, dqp.defined() ? dqp.reshape({L, c.q_dim()}) : Tensor(), dkp2, dvp2,
                                sp.attn.x, sp.attn.inv_rms);
        if (first) break;  // the examples' layer-0 input is the token embeddings: no gradient needed
        Tensor dk_own = ctx_.empty({B, T, Hkv, Dh}), dv_own = ctx_.empty({B, T, Hkv, Dh});
        Tensor dk_own3 = dk_own.reshape({B, T, kvd}), dv_own3 = dv_own.reshape({B, T, kvd});
        prompt_rows_gather(ctx_, dk3, at_l, T, dk_own3);
        prompt_rows_gather(ctx_, dv3, at_l, T, dv_own3);
        rope_backward_input(ctx_, dq, L, c.rope_theta, dq);
        rope_backward_input(ctx_, dk_own, L, c.rope_theta, dk_own);
        step.qkv_input_backward(g, lw, dq.reshape({B * T, c.q_dim()}), dk_own.reshape({B * T, kvd}),
                                dv_own.reshape({B * T, kvd}), se.attn.x, se.attn.inv_rms);
      }
      d_prompt = gp;
    } else {
      for (int64_t l = n_layers - 1; l >= 1; --l) {
        const LlamaLayerWeights& lw = weights_.layers[l];
        const LayerSaved& s = ex_saved[l];
        step.ffn_backward(g, lw, s.ffn);
        Tensor dq = ctx_.empty(s.attn.q.shape()), dk = ctx_.empty(s.attn.k.shape()), dv = ctx_.empty(s.attn.v.shape());
        step.attention_backward(g, lw, s.attn, &dq, &dk, &dv);
        rope_backward_input(ctx_, dq, 0, c.rope_theta, dq);
        rope_backward_input(ctx_, dk, 0, c.rope_theta, dk);
        step.qkv_input_backward(g, lw, dq.reshape({B * S, c.q_dim()}), dk.reshape({B * S, kvd}),
                                dv.reshape({B * S, kvd}), s.attn.x, s.attn.inv_rms);
      }
      // Layer 0: only the prompt rows [0, L) of each example reach the prompt.
      const LlamaLayerWeights& lw = weights_.layers[0];
      const LayerSaved& s = ex_saved[0];
      step.ffn_backward(g, lw, s.ffn);
      Tensor dq = ctx_.empty({B, L, H, Dh}), dk = ctx_.empty({B, L, Hkv, Dh}), dv = ctx_.empty({B, L, Hkv, Dh});
      PromptRows pr{zero_pos, L};
      step.attention_backward(g, lw, s.attn, &dq, &dk, &dv, &pr);
      rope_backward_input(ctx_, dq, 0, c.rope_theta, dq);  // rows 0..L−1 sit at positions 0..L−1
      rope_backward_input(ctx_, dk, 0, c.rope_theta, dk);
      Tensor g_prompt_rows = ctx_.empty({B, L, d}), x_rows = ctx_.empty({B, L, d}), inv_rows = ctx_.empty({B, L, 1});
      prompt_rows_gather(ctx_, g.reshape({B, S, d}), zero_pos, L, g_prompt_rows);
      prompt_rows_gather(ctx_, s.attn.x.reshape({B, S, d}), zero_pos, L, x_rows);
      prompt_rows_gather(ctx_, s.attn.inv_rms.reshape({B, S, 1}), zero_pos, L, inv_rows);
      Tensor g2 = g_prompt_rows.reshape({B * L, d});
      step.qkv_input_backward(g2, lw, dq.reshape({B * L, c.q_dim()}), dk.reshape({B * L, kvd}),
                              dv.reshape({B * L, kvd}), x_rows.reshape({B * L, d}), inv_rows.reshape({B * L}));
      d_prompt = ctx_.empty({L, d});
      prompt_grad_reduce(ctx_, g_prompt_rows, d_prompt);
    }
    res.prompt_grad = d_prompt.to(Device::CPU);

    // Memory: what this backward kept, and what a weight-gradient backward would keep on top: the
    // input of every linear (normed sub-layer inputs, attention context, FFN hidden, LM-head input)
    // and a gradient buffer per weight.
    for (const auto& s : ex_saved) mem.saved_activation_bytes += s.attn.bytes() + s.ffn.bytes();
    for (const auto& s : pr_saved) mem.saved_activation_bytes += s.attn.bytes() + s.ffn.bytes();
    mem.saved_activation_bytes += nbytes(h_rows) + nbytes(head_inv);
    const double rows = static_cast<double>(B * S + (shared ? L : 0));
    mem.full_backward_extra_bytes =
        4.0 * n_layers * rows * (2.0 * d + c.q_dim() + c.intermediate_size) + 4.0 * static_cast<double>(M * d);
    mem.weight_gradient_bytes = mem.weight_bytes;
  }
  memory_ = mem;
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

std::vector<int32_t> LlamaModel::generate(const Tensor& prompt, const std::vector<int32_t>& ids, int64_t max_new,
                                          int32_t stop_id, const std::function<void(int32_t)>& on_token) {
  SPOT_NVTX_RANGE("llama.generate");
  const LlamaConfig& c = weights_.config;
  const int64_t L = prompt.defined() ? prompt.dim(0) : 0, n = static_cast<int64_t>(ids.size()), d = c.hidden_size;
  SPOT_CHECK(n > 0, "LlamaModel::generate: empty input");
  if (L) check_shape(prompt, {L, d}, "LlamaModel::generate prompt");
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
  auto forward_rows = [&](Tensor& x, int64_t seq, int64_t pos0) -> int32_t {
    for (int64_t l = 0; l < nl; ++l) {
      const LlamaLayerWeights& lw = weights_.layers[l];
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
    return static_cast<int32_t>(std::max_element(h.begin(), h.end()) - h.begin());
  };

  Tensor x = ctx_.empty({1, L + n, d});
  embed_with_prompt(ctx_, Tensor::from_ints(ids, {1, n}).to(dev), weights_.embed, L ? prompt.to(dev) : Tensor(),
                    positions_filled(1, 0, dev), x);
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
                      positions_filled(1, 0, dev), xt);
    xt = xt.reshape({1, d});
    next = forward_rows(xt, 1, pos);
  }
  return out;
}

}  // namespace spot
