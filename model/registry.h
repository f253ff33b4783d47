// registry.h — loading a frozen backbone and its text codec from a short spec:
//   smollm2                 SmolLM2-135M-Instruct from the cache (`spot model fetch smollm2`)
//   gguf:<file.gguf>        any Llama-family GGUF (F32/F16/BF16/Q8_0/Q4_0/Q4_1 tensors)
//   t5:<dir>                a Hugging Face T5 checkpoint (config.json + safetensors [+ spiece.model])
//   hf:<owner/name>         a Hub repository fetched into the cache (`spot model fetch hf:<repo>`), i.e.
//                           t5:<cache>/models/hf/<owner>/<name> (T5 checkpoints: config.json model_type "t5")
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "model/backbone.h"
#include "model/text_codec.h"

namespace spot {

struct BackboneOptions {
  bool chat = false;             // Llama-family: wrap inputs in the chat template
  std::string tokenizer;         // T5: spiece.model path (default: <dir>/spiece.model, else the data directory's)
  std::optional<std::string> data_dir;  // --data (io::resolve_data_dir), for that fallback
  std::string cache_dir;         // default io::default_cache_dir()
  std::string llama_prompt_path = "auto";  // auto (shared on CPU, replicated on CUDA) | shared | replicated
  Precision precision = Precision::Fp32;   // --precision (model/backbone.h)
};

struct LoadedBackbone {
  std::unique_ptr<FrozenBackbone> model;
  std::unique_ptr<TextCodec> codec;
  std::string spec, path;
};

LoadedBackbone load_backbone(Context& ctx, const std::string& spec, const BackboneOptions& options = {});

// Checks that `spec` has one of the forms above (a non-empty path after gguf: / t5:, a valid Hub
// repo id after hf:) without touching the disk; throws naming the spec. Config validation uses it.
void check_backbone_spec(const std::string& spec);

// The cache directory an hf:<repo-id> spec loads from: <cache>/models/hf/<repo-id>.
std::string hf_model_dir(const std::string& repo_id, const std::string& cache_dir = "");

// <cache>/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
std::string smollm2_gguf_path(const std::string& cache_dir = "");

}  // namespace spot
