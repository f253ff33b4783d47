// backbone.h — the one interface every frozen backbone implements (T5 encoder-decoder, Llama-family
// decoder-only): given a batch of token sequences and a soft prompt, return the loss, per-example
// target log-likelihoods and dLoss/dPrompt. Weights never change and have no gradients
// (prompt tuning, Lester et al. 2021; SPoT, Vu et al. 2022 §2).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/context.h"

namespace spot {

// Where the soft prompt goes in each example's input (see kernels/embedding.h).
struct PromptPlacement {
  enum class Kind : uint8_t { Prefix, Suffix, Position, Explicit };
  Kind kind = Kind::Prefix;
  int64_t position = 0;              // Kind::Position: before token `position` (clamped to the length)
  std::vector<int32_t> per_example;  // Kind::Explicit: one insertion offset per example

  static PromptPlacement prefix() { return {}; }
  static PromptPlacement suffix() { return {Kind::Suffix, 0, {}}; }
  static PromptPlacement at(int64_t pos) { return {Kind::Position, pos, {}}; }
  static PromptPlacement parse(const std::string& s);  // "prefix" | "suffix" | "infix:K"
  std::string str() const;
  // Insertion offset of each example given its real (unpadded) input lengths.
  std::vector<int32_t> positions_for(const std::vector<int64_t>& lengths) const;
};

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
  PromptPlacement placement;
};

struct RunResult {
  double loss = 0;                      // mean −log p over all non-padding target tokens of the batch
  int64_t target_tokens = 0;
  std::vector<double> example_logprob;  // Σ log p(target token) per example (rank classification)
  std::vector<int64_t> example_tokens;  // target tokens per example
  Tensor prompt_grad;                   // [L, d_model] host f32 (when backward)
  Tensor logits;                        // [B, Tt, V] host f32 (when keep_logits)
  Tensor encoder_output;                // [B, T+L, d] host f32 (when keep_encoder_output)
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
  // prompt: [L, d_model] host f32 (L may be 0: the frozen model alone).
  virtual RunResult run(const PromptBatch& batch, const Tensor& prompt, const RunOptions& options) = 0;
  // Token embedding table [V, d_model] on the host, for prompt initialisation from vocabulary.
  virtual Tensor input_embeddings_host() const = 0;
  virtual MemoryReport last_memory_report() const = 0;
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

}  // namespace spot
