// backbone_args.cpp — loading the backbone and soft prompt named on a command line.
#include "cli/commands/backbone_args.h"

#include <chrono>

#include "base/check.h"
#include "prompt/soft_prompt.h"

namespace spot::cli {

void add_backbone_options(Args& a, bool with_prompt) {
  a.option("model", "SPEC", "the frozen backbone: smollm2 (`spot model fetch smollm2`), gguf:<file.gguf>, t5:<dir>, "
                            "hf:<owner/name>", "smollm2")
      .flag("chat", "wrap the input in the model's chat template (instruction-tuned Llama models)")
      .option("backend", "B", "cpu, ref (the scalar reference) or cuda", "cpu")
      .option("threads", "N", "CPU threads (0 = all cores)", "0")
      .option("precision", "P", "fp32, or bf16: the frozen linear weights in bf16 (bf16 products, fp32 accumulation; "
                                "the prompt, its gradient, norms, softmax and the loss stay fp32; CPU backends)",
              "fp32")
      .option("cache", "DIR", "model cache root", "$SPOT_CACHE, else ~/.cache/spot")
      .option("prompt-path", "P", "Llama prompt path: auto (shared on CPU, replicated on CUDA), shared, replicated",
              "auto")
      .option("tokenizer", "FILE", "T5: the SentencePiece model", "<dir>/spiece.model, else the data directory's")
      .option("data", "DIR", "data directory", "$SPOT_DATA, else ../shared/data, else ./data");
  if (with_prompt)
    a.option("prompt", "FILE", "a soft prompt (.safetensors saved by spot, or a PEFT adapter_model.safetensors; "
                               "[layers, L, d] runs at depth deep)");
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
  bo.precision = parse_precision(args.get_or("precision", "fp32"));
  bo.tokenizer = args.get_or("tokenizer", "");
  bo.data_dir = args.get("data");
  o.backbone = load_backbone(*o.ctx, args.get_or("model", "smollm2"), bo);
  if (auto file = args.declared("prompt") ? args.get("prompt") : std::nullopt) {
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
