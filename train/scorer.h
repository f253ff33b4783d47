// scorer.h — a frozen backbone + soft prompt as an eval::Scorer: rank classification by the
// log-likelihood of each candidate continuation, and greedy decoding.
#pragma once

#include "eval/evaluate.h"
#include "model/backbone.h"
#include "model/text_codec.h"

namespace spot {

struct ScorerOptions {
  int64_t batch_examples = 32;    // examples per forward (rank classification: with all their candidates)
  int64_t max_input_tokens = 0;   // 0 = no truncation
  PromptPlacement placement;     // position (the depth follows the prompt's shape)
};

class BackboneScorer : public eval::Scorer {
 public:
  // prompt: [L, d] host tensor ([layers, L, d]: a deep prompt), or undefined for the frozen model
  // alone (zero-shot).
  BackboneScorer(FrozenBackbone& model, const TextCodec& codec, Tensor prompt, ScorerOptions options = {})
      : model_(model), codec_(codec), prompt_(std::move(prompt)), opt_(std::move(options)) {}
  void set_prompt(Tensor prompt) { prompt_ = std::move(prompt); }

  std::vector<std::vector<double>> score(const std::vector<eval::ScoreRequest>& batch) override;
  // Greedy decoding with the backbone's key/value cache (FrozenBackbone::generate_greedy); stops
  // at EOS.
  std::vector<std::string> generate(const std::vector<std::string>& inputs, int max_new_tokens) override;
  std::vector<std::vector<int>> candidate_token_counts(const std::vector<eval::ScoreRequest>& batch) override;

 private:
  PromptSet prompt_set() const;

  FrozenBackbone& model_;
  const TextCodec& codec_;
  Tensor prompt_;
  ScorerOptions opt_;
};

}  // namespace spot
