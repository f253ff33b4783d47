// backbone.h — the one interface every frozen backbone implements (T5 encoder-decoder, Llama-family
// decoder-only): given a batch of token sequences and a prompt set (prompt_set.h), return the loss,
// per-example target log-likelihoods and dLoss/dPrompt for each prompt. Weights never change and have no gradients
// (prompt tuning, Lester et al. 2021; SPoT, Vu et al. 2022 §2).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/context.h"
#include "model/prompt_set.h"

namespace spot {

// One batch of examples as token ids (already tokenized, special tokens included).
struct PromptBatch {
  std::vector<std::vector<int32_t>> inputs;   // encoder input (T5) / context (decoder-only)
  std::vector<std::vector<int32_t>> targets;  // target tokens whose log-likelihood is the objective
  int64_t pad_inputs_to = 0;                  // 0 = longest input in the batch
  int64_t pad_targets_to = 0;                 // 0 = longest target
  size_t size() const { return inputs.size(); }
};

struct RunOptions {
  bool backward = true;              // compute dLoss/dPrompt
  bool keep_logits = false;          // return logits [B, Tt, V] (host)
  bool keep_encoder_output = false;  // return the encoder output [B, T+L, d] (host; encoder-decoder only)
  // Return input_mean: each example's last hidden states over its own input tokens (prompt rows and
  // padding excluded), averaged — T5: the encoder output (after its final norm); decoder-only: the
  // final-normed hidden states the LM head reads. The data kind of task embedding (retrieval/).
  bool keep_input_mean = false;
  // > 0: the loss (and so its gradient) is the sum of −log p over this batch's target tokens divided
  // by loss_tokens instead of by their own count. A data-parallel rank gives the target tokens of the
  // whole global batch, so that the ranks' losses and prompt gradients sum to the global batch's mean.
  int64_t loss_tokens = 0;
};

struct RunResult {
  double loss = 0;                      // mean −log p over all non-padding target tokens of the batch
                                        // (divided by RunOptions::loss_tokens when given)
  int64_t target_tokens = 0;
  std::vector<double> example_logprob;  // Σ log p(target token) per example (rank classification)
  std::vector<int64_t> example_tokens;  // target tokens per example
  // When backward: dLoss/dPrompt for each prompt of the set, host f32 in its shape, each the sum
  // over the examples that used it in example order (deterministic); zeros for a prompt no
  // example used.
  std::vector<Tensor> prompt_grads;
  Tensor logits;                        // [B, Tt, V] host f32 (when keep_logits)
  Tensor encoder_output;                // [B, T+Lmax, d] host f32 (when keep_encoder_output)
  Tensor input_mean;                    // [B, d] host f32 (when keep_input_mean)
};

// Rank classification input: each example's context once, and the candidate continuations scored
// against it (T5's rank_classification; the label strings of a task).
struct CandidateBatch {
  std::vector<std::vector<int32_t>> inputs;                   // encoder input (T5) / context (decoder-only)
  std::vector<std::vector<std::vector<int32_t>>> candidates;  // per example: each candidate's target tokens
  size_t size() const { return inputs.size(); }
};

// Greedy decoding output, per example.
struct GreedyResult {
  std::vector<std::vector<int32_t>> tokens;  // the new tokens, without the stop token
  // When asked for: the logits each step chose from, [steps, V] host f32 (steps = tokens + 1 when
  // decoding stopped at stop_id, else tokens).
  std::vector<Tensor> logits;
};

// Memory a step keeps alive, for the "what prompt-only backward saves" report.
struct MemoryReport {
  double saved_activation_bytes = 0;       // what this backward keeps (input-gradient needs only)
  double full_backward_extra_bytes = 0;    // activations a weight-gradient backward would also keep
  double weight_gradient_bytes = 0;        // gradient buffers full fine-tuning would need
  double weight_bytes = 0;
};

class FrozenBackbone {
 public:
  virtual ~FrozenBackbone() = default;
  virtual std::string name() const = 0;        // e.g. "t5(d_model=512, layers=6+6)"
  virtual int64_t d_model() const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual Context& context() = 0;
  // The layers a deep prompt has one block for (prompt_set.h): T5's encoder layers, Llama's layers.
  virtual int64_t prompt_layers() const = 0;
  // Forward (and the prompt-only backward) of one batch under a prompt set (prompt_set.h).
  virtual RunResult run(const PromptBatch& batch, const PromptSet& prompts, const RunOptions& options) = 0;
  // One prompt [L, d_model] host f32 (undefined or L = 0: the frozen model alone), as a prefix.
  RunResult run(const PromptBatch& batch, const Tensor& prompt, const RunOptions& options) {
    return run(batch, PromptSet::single(prompt), options);
  }
  // Σ log p(candidate | prompt, input) of every candidate of every example: what run() gives for
  // one (input, candidate) row per pair, with each example's context computed once and every
  // candidate scored from it (T5: the encoder and the cross-attention K/V; decoder-only: the prompt
  // and context K/V). Forward only.
  virtual std::vector<std::vector<double>> score_candidates(const CandidateBatch& batch, const PromptSet& prompts) = 0;
  // Greedy decoding with a key/value cache: each example's context is run once, then one position
  // per new token. Stops at stop_id (not included) or after max_new tokens.
  virtual GreedyResult generate_greedy(const std::vector<std::vector<int32_t>>& inputs, const PromptSet& prompts,
                                       int64_t max_new, int32_t stop_id, bool keep_logits = false) = 0;
  // Token embedding table [V, d_model] on the host, for prompt initialisation from vocabulary.
  virtual Tensor input_embeddings_host() const = 0;
  virtual MemoryReport last_memory_report() const = 0;
  // --precision, fixed at construction: bf16 holds the frozen linear weights (attention,
  // feed-forward, LM head) in bf16, converted once at load; embeddings, norms and the relative-bias
  // table stay fp32, as does everything computed (kernels/linear.h). CPU backends only for now.
  virtual Precision precision() const = 0;
  // The learning rate prompt tuning starts from when none is given (`spot train --lr`, a config's
  // "lr"). It depends on the backbone because Adafactor without parameter scaling (the paper's
  // optimiser) moves each prompt element by about lr per step, whatever the scale of the embeddings
  // the prompt lives among. T5: 0.3, the value Lester et al. (2021) and Vu et al. (2022) tuned on
  // T5. Llama family: 0.25 x the RMS of the token-embedding table, to two significant figures
  // (SmolLM2-135M: RMS 0.136 -> 0.034, beside the 0.03 its CPU results were measured with; the
  // paper's 0.3 diverged there).
  virtual double default_prompt_lr() const = 0;
};

// The RMS of a host f32 tensor (accumulated in double).
double tensor_rms(const Tensor& host_f32);

// A stable fingerprint of a frozen backbone (16 hex digits): FNV-1a over its name (which spells its
// configuration) and a strided sample of 4096 values of its token-embedding table. Prompts,
// checkpoints and library entries carry it; a prompt is refused on a backbone of another fingerprint.
std::string backbone_fingerprint(const FrozenBackbone& model);

}  // namespace spot
