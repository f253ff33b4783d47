// generate.cpp — `spot generate`: greedy decoding with a Llama-family backbone (KV cache,
// LlamaModel::generate), optionally behind a soft prompt; the continuation streams to stdout token by
// token, the prefill and decode rates go to stderr.
#include <chrono>
#include <cstdio>

#include "cli/commands.h"
#include "cli/commands/backbone_args.h"
#include "base/check.h"
#include "model/llama/llama_model.h"

namespace spot::cli {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int cmd_generate(const std::vector<std::string>& argv) {
  Args args("generate",
            "Greedy continuation of TEXT (several arguments are joined with spaces) by a Llama-family backbone, "
            "streamed to stdout; prefill and decode tokens/s on stderr.");
  args.positional("TEXT", "the input text")
      .option("max-new", "N", "new tokens at most", "64")
      .flag("ignore-eos", "do not stop at the end-of-turn / end-of-text token")
      .flag("quiet", "no statistics on stderr");
  add_backbone_options(args);
  if (!args.parse(argv)) return 0;
  SPOT_CHECK(!args.positional().empty(), "spot generate: no input text (usage: spot generate [options] TEXT)");
  std::string text;
  for (const std::string& p : args.positional()) {
    if (!text.empty()) text += ' ';
    text += p;
  }
  const int64_t max_new = args.get_int("max-new", 64);
  SPOT_CHECK(max_new >= 1, "--max-new must be >= 1, got " << max_new);

  OpenedBackbone ob = open_backbone(args);
  auto* llama = dynamic_cast<LlamaModel*>(ob.backbone.model.get());
  SPOT_CHECK(llama, "spot generate: " << ob.backbone.model->name()
                                      << " is not a decoder-only model; generation needs a Llama-family backbone "
                                         "(--model smollm2 or gguf:<file>)");
  const TextCodec& codec = *ob.backbone.codec;
  const std::vector<int32_t> ids = codec.encode_input(text);
  const int32_t stop = args.flag("ignore-eos") ? -1 : codec.eos_id();
  const int64_t L = ob.prompt.defined() ? ob.prompt.dim(-2) : 0;

  // Time stamps are taken in the callback, which runs right after each forward's argmax: the first
  // is the end of the prefill, the rest the end of each decode step.
  using clock = std::chrono::steady_clock;
  const clock::time_point t0 = clock::now();
  double t_first = 0, t_last = 0;
  int64_t n = 0;
  const std::vector<int32_t> out = llama->generate(ob.prompt, ids, max_new, stop, [&](int32_t tok) {
    const double t = seconds_since(t0);
    if (n++ == 0) t_first = t;
    t_last = t;
    // Byte-level BPE decodes token by token to the same bytes as the whole (a multi-byte character
    // split over tokens arrives in pieces, which the terminal joins).
    const std::string piece = codec.decode({tok});
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
  }, ob.prompt_depth);
  const double total = seconds_since(t0);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  if (!args.flag("quiet")) {
    const int64_t prefill_rows = L + static_cast<int64_t>(ids.size());
    const double prefill_s = out.empty() ? total : t_first;
    std::fprintf(stderr, "[%s, %s backend; loaded in %.2f s]\n", ob.backbone.model->name().c_str(),
                 backend_name(ob.ctx->backend()), ob.load_seconds);
    std::fprintf(stderr, "prefill: %lld tokens", static_cast<long long>(ids.size()));
    if (L) std::fprintf(stderr, " + %lld soft-prompt rows", static_cast<long long>(L));
    std::fprintf(stderr, " in %.1f ms (%.1f tokens/s)\n", prefill_s * 1e3, prefill_rows / prefill_s);
    const int64_t steps = static_cast<int64_t>(out.size()) - 1;  // forwards after the prefill that gave a token
    if (steps > 0)
      std::fprintf(stderr, "decode:  %lld tokens in %.1f ms (%.1f tokens/s)\n", static_cast<long long>(steps),
                   (t_last - t_first) * 1e3, steps / (t_last - t_first));
    const bool full = prefill_rows + static_cast<int64_t>(out.size()) >= llama->config().max_position_embeddings;
    std::fprintf(stderr, "%zu new tokens%s\n", out.size(),
                 static_cast<int64_t>(out.size()) == max_new ? ""
                 : full ? " (stopped: the context is full)"
                        : " (stopped at the end-of-turn token)");
  }
  return 0;
}

}  // namespace spot::cli
