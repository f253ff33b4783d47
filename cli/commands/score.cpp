// score.cpp — `spot score`: rank classification of candidate continuations of a context by their
// log-likelihood under a frozen backbone (optionally behind a soft prompt), as the evaluation's
// rank mode does (T5's rank_classification; Vu et al. 2022 evaluate classification this way).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cli/commands.h"
#include "cli/commands/backbone_args.h"
#include "base/check.h"

namespace spot::cli {

namespace {

}  // namespace

int cmd_score(const std::vector<std::string>& argv) {
  Args args("score",
            "Log-likelihood of each candidate continuing --context TEXT: total, token count and per token; the argmax "
            "is by total log-likelihood (rank classification), or per token with --length-normalize.");
  args.positional("CANDIDATES", "the candidate continuations")
      .option("context", "TEXT", "the input (encoder input for T5, the context for Llama models); required")
      .flag("length-normalize", "rank by log-likelihood per token");
  add_backbone_options(args);
  if (!args.parse(argv)) return 0;
  const auto context = args.get("context");
  SPOT_CHECK(context, "spot score: --context TEXT is required (usage: spot score --context TEXT CAND1 CAND2 ...)");
  const std::vector<std::string>& cands = args.positional();
  SPOT_CHECK(!cands.empty(), "spot score: no candidates (usage: spot score --context TEXT CAND1 CAND2 ...)");

  OpenedBackbone ob = open_backbone(args);
  const TextCodec& codec = *ob.backbone.codec;
  PromptBatch batch;
  const std::vector<int32_t> input = codec.encode_input(*context);
  SPOT_CHECK(!input.empty(), "spot score: the context encodes to no tokens");
  for (const std::string& c : cands) {
    std::vector<int32_t> t = codec.encode_target(c);
    SPOT_CHECK(!t.empty(), "spot score: candidate '" << c << "' encodes to no tokens");
    batch.inputs.push_back(input);
    batch.targets.push_back(std::move(t));
  }
  RunOptions opt;
  opt.backward = false;
  const RunResult r = ob.backbone.model->run(batch, ob.prompt_set(), opt);

  const bool per_token = args.flag("length-normalize");
  size_t best = 0;
  auto key = [&](size_t i) { return per_token ? r.example_logprob[i] / r.example_tokens[i] : r.example_logprob[i]; };
  for (size_t i = 1; i < cands.size(); ++i)
    if (key(i) > key(best)) best = i;
  size_t width = 9;
  for (const std::string& c : cands) width = std::max(width, c.size());
  std::printf("%s, context %zu tokens%s%s\n", ob.backbone.model->name().c_str(), input.size(),
              ob.prompt_file.empty() ? "" : ", soft prompt ", ob.prompt_file.c_str());
  std::printf("  %-*s  %6s  %12s  %10s\n", static_cast<int>(width), "candidate", "tokens", "log-lik", "per token");
  for (size_t i = 0; i < cands.size(); ++i)
    std::printf("%c %-*s  %6lld  %12.4f  %10.4f\n", i == best ? '*' : ' ', static_cast<int>(width), cands[i].c_str(),
                static_cast<long long>(r.example_tokens[i]), r.example_logprob[i],
                r.example_logprob[i] / r.example_tokens[i]);
  std::printf("argmax (%s): %s\n", per_token ? "log-likelihood per token" : "total log-likelihood",
              cands[best].c_str());
  return 0;
}

}  // namespace spot::cli
