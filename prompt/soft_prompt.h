// soft_prompt.h — the soft prompt: L trainable vectors prepended to (or inserted into) the input
// embeddings of a frozen model (Lester et al. 2021; SPoT, Vu et al. 2022). Initialisation modes,
// safetensors save/load with metadata, and import / export of PEFT's prompt-tuning adapters
// (adapter_config.json + adapter_model.safetensors as peft 0.22's save_pretrained writes them).
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
  // Reads a prompt saved by spot ("prompt") or a PEFT adapter's tensor file ("prompt_embeddings");
  // checks d_model when expected_dim > 0, the length when expected_len > 0, and the depth when
  // expected_layers >= 0 (0: an input-depth [L, d] prompt; N > 0: a deep prompt of N blocks), naming
  // the file. A PEFT adapter directory, or an adapter_model.safetensors with its adapter_config.json
  // beside it, is read through import_peft (so a seq2seq adapter gives its encoder prompt, not both
  // halves).
  static SoftPrompt load(const std::string& path, int64_t expected_dim = 0, int64_t expected_len = 0,
                         int64_t expected_layers = -1);

  // A PEFT prompt-tuning adapter: `path` is its directory, or the adapter_model.safetensors in it
  // (adapter_config.json is read beside it). peft_type must be PROMPT_TUNING; "prompt_embeddings"
  // (F32, F16 or BF16, converted exactly) must be [num_virtual_tokens * num_transformer_submodules,
  // token_dim] and the file must hold nothing else. With num_transformer_submodules 2 (PEFT's default
  // for SEQ_2_SEQ_LM) PEFT stores 2 * num_virtual_tokens rows but its forward and generate prepend
  // only the first num_virtual_tokens to the encoder input (peft_model.py,
  // PeftModelForSeq2SeqLM.forward); those rows are the prompt, the rest is never read and is dropped.
  // The result is [num_virtual_tokens, token_dim]; expected_dim > 0 must equal token_dim. Every
  // non-null config field lands in metadata as "peft.<field>" (base_model_name_or_path, task_type,
  // prompt_tuning_init, ...), plus "imported_from" (the directory). Errors name the file and field.
  static SoftPrompt import_peft(const std::string& path, int64_t expected_dim = 0);

  // Writes a PEFT prompt-tuning adapter into `dir`: adapter_model.safetensors ("prompt_embeddings"
  // [length, d_model] f32, metadata {"format": "pt"}) and adapter_config.json with exactly the fields
  // peft 0.22's PromptTuningConfig.save_pretrained writes, sorted, indented by 2 as it does, with
  // num_transformer_submodules 1 (the prompt goes to the encoder / the context; PEFT's seq2seq
  // forward reads no more) and inference_mode true. task_type is one of PEFT's TaskType values.
  // Input depth only: PEFT's prompt tuning has no per-layer prompt blocks.
  void export_peft(const std::string& dir, const std::string& base_model, const std::string& task_type,
                   int64_t num_layers, int64_t num_heads) const;
};

}  // namespace spot
