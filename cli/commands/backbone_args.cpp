// backbone_args.cpp — loading the backbone and soft prompt named on a command line.
#include "cli/commands/backbone_args.h"

#include <chrono>

#include "base/check.h"
#include "prompt/soft_prompt.h"

namespace spot::cli {

const char* kBackboneUsage =
    "backbone (the same options for every command that runs one):\n"
    "  --model SPEC       smollm2 (default; `spot model fetch smollm2`), gguf:<file.gguf>, t5:<dir>, hf:<owner/name>\n"
    "  --chat             wrap the input in the model's chat template (instruction-tuned Llama models)\n"
    "  --backend B        cpu (default), ref, or cuda\n"
    "  --threads N        CPU threads (default: all cores)\n"
    "  --cache DIR        model cache root (default: $SPOT_CACHE, else ~/.cache/spot)\n"
    "  --prompt-path P    Llama prompt path: auto (default: shared on CPU, replicated on CUDA), shared, replicated\n"
    "  --tokenizer FILE   T5: the SentencePiece model (default <dir>/spiece.model, else the data directory's)\n"
    "  --data DIR         data directory (default: $SPOT_DATA, else ../shared/data, else ./data)\n";
const char* kPromptUsage =
    "  --prompt FILE      a soft prompt (.safetensors saved by spot, or a PEFT adapter_model.safetensors)\n";

std::vector<std::string> backbone_flags(std::vector<std::string> own) {
  own.push_back("chat");
  return own;
}

std::vector<std::string> backbone_options(std::vector<std::string> own, bool with_prompt) {
  for (const char* o : {"model", "backend", "threads", "cache", "prompt-path", "tokenizer", "data"}) own.push_back(o);
  if (with_prompt) own.push_back("prompt");
  return own;
}

OpenedBackbone open_backbone(const Args& args) {
  const auto t0 = std::chrono::steady_clock::now();
  OpenedBackbone o;
  o.ctx = std::make_unique<Context>(backend_from_name(args.get_or("backend", "cpu")));
  if (args.get("threads")) {
    const int64_t n = args.get_int("threads", 0);
    SPOT_CHECK(n >= 0, "--threads must be >= 0 (0 = all cores), got " << n);
    o.ctx->set_cpu_threads(static_cast<int>(n));
  }
  BackboneOptions bo;
  bo.chat = args.flag("chat");
  bo.cache_dir = args.get_or("cache", "");
  bo.llama_prompt_path = args.get_or("prompt-path", "auto");
  SPOT_CHECK(bo.llama_prompt_path == "auto" || bo.llama_prompt_path == "shared" || bo.llama_prompt_path == "replicated",
             "--prompt-path: '" << bo.llama_prompt_path << "' is not auto, shared or replicated");
  bo.tokenizer = args.get_or("tokenizer", "");
  bo.data_dir = args.get("data");
  o.backbone = load_backbone(*o.ctx, args.get_or("model", "smollm2"), bo);
  if (auto file = args.get("prompt")) {
    o.prompt_file = *file;
    // SoftPrompt::load names the file and the tensor on every error (missing, not safetensors, no
    // 'prompt' tensor, wrong rank, d_model other than the backbone's, non-finite values).
    o.prompt = SoftPrompt::load(*file, o.backbone.model->d_model()).values;
    if (o.prompt.ndim() == 3) {
      SPOT_CHECK(o.prompt.dim(0) == o.backbone.model->prompt_layers(),
                 *file << ": a deep prompt of " << o.prompt.dim(0) << " layer blocks, but "
                       << o.backbone.model->name() << " takes " << o.backbone.model->prompt_layers());
      o.prompt_depth = PromptDepth::Deep;
    }
  }
  o.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return o;
}

}  // namespace spot::cli
