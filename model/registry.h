// registry.h — loading a frozen backbone and its text codec from a short spec:
//   smollm2                 SmolLM2-135M-Instruct from the cache (`spot model fetch smollm2`)
//   gguf:<file.gguf>        any Llama-family GGUF (F32/F16/BF16/Q8_0/Q4_0/Q4_1 tensors)
//   t5:<dir>                a Hugging Face T5 checkpoint (config.json + safetensors [+ spiece.model])
#pragma once

#include <memory>
#include <string>

#include "model/backbone.h"
#include "model/text_codec.h"

namespace spot {

struct BackboneOptions {
  bool chat = false;             // Llama-family: wrap inputs in the chat template
  std::string tokenizer;         // T5: spiece.model path (default: <dir>/spiece.model, else ../shared/data)
  std::string cache_dir;         // default io::default_cache_dir()
  std::string llama_prompt_path = "shared";  // shared | replicated
};

struct LoadedBackbone {
  std::unique_ptr<FrozenBackbone> model;
  std::unique_ptr<TextCodec> codec;
  std::string spec, path;
};

LoadedBackbone load_backbone(Context& ctx, const std::string& spec, const BackboneOptions& options = {});

// <cache>/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
std::string smollm2_gguf_path(const std::string& cache_dir = "");

}  // namespace spot
