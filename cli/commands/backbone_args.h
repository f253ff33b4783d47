// backbone_args.h — the one option group of the commands that run a frozen backbone (train, eval,
// score, generate, bench): --model SPEC (model/registry.h), --chat, --backend, --threads, --cache,
// --prompt-path, --tokenizer, --data, and (except for train) --prompt FILE, a soft prompt saved by
// spot or a PEFT adapter.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "base/context.h"
#include "model/registry.h"

namespace spot::cli {

// Declares the backbone group's options on a command line (--prompt too when with_prompt).
void add_backbone_options(Args& args, bool with_prompt = true);

struct OpenedBackbone {
  std::unique_ptr<Context> ctx;
  LoadedBackbone backbone;
  Tensor prompt;  // [L, d_model] host f32 ([layers, L, d_model]: deep), undefined without --prompt
  PromptDepth prompt_depth = PromptDepth::Input;
  std::string prompt_file;
  // The prompt as a prefix at its depth (the frozen model alone without --prompt).
  PromptSet prompt_set() const {
    PromptSet s = PromptSet::single(prompt);
    s.placement.depth = prompt_depth;
    return s;
  }
  double load_seconds = 0;
};

// Loads --model (default smollm2) on --backend (default cpu) and --prompt, checking the prompt's
// d_model against the backbone's.
OpenedBackbone open_backbone(const Args& args);

}  // namespace spot::cli
