// soft_prompt.h — the soft prompt: L trainable vectors prepended to (or inserted into) the input
// embeddings of a frozen model (Lester et al. 2021; SPoT, Vu et al. 2022). Initialisation modes,
// safetensors save/load with metadata, and export in PEFT's prompt-tuning adapter format.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/tensor.h"

namespace spot {

struct PromptInit {
  std::string mode = "vocab";  // uniform | vocab | labels | file | library (the prompt library issue)
  double uniform_range = 0.5;  // uniform: U(−r, r) (Lester et al. 2021)
  std::vector<int32_t> vocab_ids;                   // vocab/labels back-off: candidate token ids
  std::vector<std::vector<int32_t>> label_token_ids;  // labels: each class label's tokens
  std::string file;            // file: a prompt saved by spot (or a PEFT adapter_model.safetensors)
  uint64_t seed = 0;
};

struct SoftPrompt {
  // [L, d_model] host f32 at depth input; [layers, L, d_model] at depth deep (one block per layer,
  // model/prompt_set.h).
  Tensor values;
  std::map<std::string, std::string> metadata;  // backbone, backbone_hash, task, step, metric, seed, init

  int64_t length() const { return values.dim(-2); }
  int64_t dim() const { return values.dim(-1); }
  bool deep() const { return values.ndim() == 3; }
  int64_t layers() const { return deep() ? values.dim(0) : 0; }  // 0 at depth input

  // embeddings: the backbone's input embedding table [V, d_model] (host). layers > 0: a deep prompt,
  // every block initialised by `spec` (block l with seed spec.seed + l; a file must hold the same
  // [layers, L, d] shape).
  static SoftPrompt init(int64_t length, const Tensor& embeddings, const PromptInit& spec, int64_t layers = 0);

  // Atomic safetensors write: tensor "prompt" [L, d] + metadata strings.
  void save(const std::string& path) const;
  // Reads a prompt saved by spot ("prompt") or a PEFT adapter ("prompt_embeddings"); checks d_model
  // when expected_dim > 0, the length when expected_len > 0, and the depth when expected_layers >= 0
  // (0: an input-depth [L, d] prompt; N > 0: a deep prompt of N blocks), naming the file.
  static SoftPrompt load(const std::string& path, int64_t expected_dim = 0, int64_t expected_len = 0,
                         int64_t expected_layers = -1);

  // PEFT PromptTuning adapter: <dir>/adapter_model.safetensors ("prompt_embeddings") and
  // adapter_config.json (num_transformer_submodules 1: the prompt goes to the encoder / context).
  // Input depth only: PEFT's prompt tuning has no per-layer prompt blocks.
  void export_peft(const std::string& dir, const std::string& base_model, const std::string& task_type,
                   int64_t num_layers, int64_t num_heads) const;
};

}  // namespace spot
