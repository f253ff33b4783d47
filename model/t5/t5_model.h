// t5_model.h — a frozen T5 (HF T5ForConditionalGeneration semantics) with soft prompts inserted into
// the encoder input (a prompt set, prompt_set.h: per-example prompts, any placement, depth input or
// deep — a block at the input of every encoder layer), teacher-forced decoding, and a backward pass
// that computes only what reaches the prompts: input gradients only (no weight gradients, no activations kept for them), the decoder's
// first self-attention and first cross-attention query skipped (they do not depend on the prompt),
// and in the first encoder layer only the prompt rows of the Q/K/V/LayerNorm input gradient.
// Evaluation runs the encoder once per example: rank classification decodes every candidate against
// its example's encoder output (score_candidates), greedy decoding caches the decoder's K/V.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "model/backbone.h"
#include "model/t5/t5_config.h"
#include "model/tensor_source.h"

namespace spot {

struct T5AttentionWeights {
  Tensor q, k, v;  // [inner, d_model]
  Tensor o;        // [d_model, inner]
};

struct T5FeedForwardWeights {
  Tensor wi;          // [d_ff, d_model] (ReLU, v1.0)
  Tensor wi_0, wi_1;  // [d_ff, d_model] (gated, v1.1): act(wi_0 x) ⊙ (wi_1 x)
  Tensor wo;          // [d_model, d_ff]
};

struct T5EncoderLayerWeights {
  Tensor ln_attn;  // [d_model]
  T5AttentionWeights attn;
  Tensor ln_ffn;
  T5FeedForwardWeights ffn;
};

struct T5DecoderLayerWeights {
  Tensor ln_self;
  T5AttentionWeights self;
  Tensor ln_cross;
  T5AttentionWeights cross;
  Tensor ln_ffn;
  T5FeedForwardWeights ffn;
};

// All weights of one T5, const after loading, on one device.
struct T5Weights {
  T5Config config;
  Tensor shared;         // [V, d_model] token embeddings
  Tensor lm_head;        // [V, d_model]; the same storage as `shared` when tied
  Tensor enc_rel_bias;   // [num_buckets, n_heads] (encoder block 0, shared by all encoder layers)
  Tensor dec_rel_bias;   // [num_buckets, n_heads]
  Tensor enc_final_ln, dec_final_ln;
  std::vector<T5EncoderLayerWeights> encoder;
  std::vector<T5DecoderLayerWeights> decoder;
  Tensor shared_host;    // host copy of `shared` (prompt initialisation from vocabulary)

  // HF tensor names ("encoder.block.0.layer.0.SelfAttention.q.weight", ...).
  static T5Weights load(const T5Config& config, const TensorSource& source, Device device);
  double bytes() const;
  // The linear weights (Q/K/V/O, feed-forward, LM head) as `dtype`, in place (CPU). A tied LM head
  // gets its own copy: `shared` stays f32 for the embedding lookup.
  void convert_linears(DType dtype);
};

class T5Model : public FrozenBackbone {
 public:
  // precision bf16: the linear weights are converted once, here (backbone.h).
  T5Model(Context& ctx, T5Weights weights, Precision precision = Precision::Fp32);
  // Loads config.json + safetensors (single file or sharded index) from a HF checkpoint directory.
  static std::unique_ptr<T5Model> from_pretrained(Context& ctx, const std::string& dir,
                                                  Precision precision = Precision::Fp32);

  std::string name() const override { return weights_.config.describe(); }
  Precision precision() const override { return precision_; }
  int64_t d_model() const override { return weights_.config.d_model; }
  int64_t vocab_size() const override { return weights_.config.vocab_size; }
  Context& context() override { return ctx_; }
  const T5Config& config() const { return weights_.config; }
  int64_t prompt_layers() const override { return weights_.config.num_layers; }  // deep: encoder layers
  using FrozenBackbone::run;
  RunResult run(const PromptBatch& batch, const PromptSet& prompts, const RunOptions& options) override;
  std::vector<std::vector<double>> score_candidates(const CandidateBatch& batch, const PromptSet& prompts) override;
  // The encoder and each layer's cross-attention K/V once; the decoder one position per step with
  // a self-attention K/V cache. The whole batch steps together until every example has stopped.
  GreedyResult generate_greedy(const std::vector<std::vector<int32_t>>& inputs, const PromptSet& prompts,
                               int64_t max_new, int32_t stop_id, bool keep_logits = false) override;
  Tensor input_embeddings_host() const override { return weights_.shared_host; }
  MemoryReport last_memory_report() const override { return memory_; }
  double default_prompt_lr() const override { return 0.3; }  // the paper's, tuned on T5

  // FLOPs of one run (forward, and the prompt-only backward when `backward`), counted per GEMM and
  // attention product, for benchmark reports.
  double count_flops(int64_t batch, int64_t input_len, int64_t prompt_len, int64_t target_len, bool backward) const;

 private:
  const Tensor& bias_for(int64_t q_len, int64_t k_len, bool encoder);
  std::function<const Tensor&(int64_t, int64_t, bool)> bias_fn() {
    return [this](int64_t q, int64_t k, bool enc) -> const Tensor& { return bias_for(q, k, enc); };
  }

  Context& ctx_;
  Precision precision_ = Precision::Fp32;
  const T5Weights weights_;  // frozen: const after loading
  std::map<std::tuple<int64_t, int64_t, bool>, Tensor> bias_cache_;
  MemoryReport memory_;
};

}  // namespace spot
