// run_common.h — what the backbones' runs share (internal to model/): the activations one attention
// or feed-forward sub-layer keeps for the prompt-only backward, and the loss tail that turns the
// LM head's logits into the loss, per-example log-likelihoods and dLoss/dlogits.
#pragma once

#include <vector>

#include "base/check.h"
#include "base/context.h"
#include "model/backbone.h"

namespace spot::detail {

inline double nbytes(const Tensor& t) { return t.defined() ? static_cast<double>(t.nbytes()) : 0.0; }

// One attention sub-layer's saved activations (input gradients only: no weight gradients).
struct AttentionSaved {
  Tensor x;        // [rows, d] sub-layer input (for the norm backward); undefined where not needed
  Tensor inv_rms;  // [rows]
  Tensor q;        // [b, Tq, H, Dh] (T5: as projected; Llama: after RoPE)
  Tensor k, v;     // [b, Tk, Hkv, Dh] the keys and values attended
  Tensor probs;    // [b, H, Tq, Tk]
  double bytes() const { return nbytes(x) + nbytes(inv_rms) + nbytes(q) + nbytes(k) + nbytes(v) + nbytes(probs); }
};

// One feed-forward sub-layer's saved activations.
struct FeedForwardSaved {
  Tensor x;        // [rows, d]
  Tensor inv_rms;  // [rows]
  Tensor pre;      // [rows, F]: wi·n (ReLU) or the gate projection (gated: T5 wi_0, Llama gate)
  Tensor up;       // [rows, F]: the up projection (gated only: T5 wi_1, Llama up)
  double bytes() const { return nbytes(x) + nbytes(inv_rms) + nbytes(pre) + nbytes(up); }
};

struct LayerSaved {
  AttentionSaved attn;
  FeedForwardSaved ffn;
};

// The loss tail of a run. logits [M, V] on the device; labels [M] on the host (kIgnoreIndex rows
// are padding); row_example[m]: the example row m belongs to. Fills res.loss (mean −log p over
// the labelled rows, HF's CrossEntropyLoss(ignore_index=-100), or over options.loss_tokens),
// target_tokens, example_logprob and example_tokens; returns dLoss/dlogits [M, V] when
// options.backward (else undefined).
Tensor loss_tail(Context& ctx, const Tensor& logits, const std::vector<int32_t>& labels,
                 const std::vector<int32_t>& row_example, int64_t batch, const RunOptions& options, RunResult& res);

// The frozen weights at `precision` (model/backbone.h): bf16 converts the linear weights once
// (W::convert_linears); CPU backends only for now.
template <class W>
W weights_at_precision(W w, Precision precision, const Context& ctx) {
  if (precision == Precision::Bf16) {
    SPOT_CHECK(ctx.backend() != Backend::Cuda,
               "--precision bf16 runs on the CPU backends; the CUDA bf16 path (bf16 activations too) is not built yet");
    w.convert_linears(DType::BF16);
  }
  return w;
}

}  // namespace spot::detail
