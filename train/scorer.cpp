// scorer.cpp — rank classification and greedy decoding through FrozenBackbone::score_candidates and
// FrozenBackbone::generate_greedy.
#include "train/scorer.h"

#include <algorithm>

namespace spot {

std::vector<std::vector<double>> BackboneScorer::score(const std::vector<eval::ScoreRequest>& batch) {
  // Each request's context is computed once for all its candidates (FrozenBackbone::score_candidates);
  // requests sorted by input length so that padded batches waste little.
  std::vector<std::vector<int32_t>> inputs(batch.size());
  for (size_t r = 0; r < batch.size(); ++r)
    inputs[r] = codec_.truncate_input(codec_.encode_input(batch[r].input), opt_.max_input_tokens);
  std::vector<size_t> order(batch.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return inputs[a].size() < inputs[b].size(); });
  std::vector<std::vector<double>> out(batch.size());
  const PromptSet set = prompt_set();
  const size_t step = static_cast<size_t>(std::max<int64_t>(1, opt_.batch_examples));
  for (size_t s = 0, e = 0; s < order.size(); s = e) {
    // Up to `step` examples, fewer where the next (longer) one would make padding more than an
    // eighth of the batch: padded positions cost what tokens cost.
    size_t tokens = 0;
    for (e = s; e < order.size() && e - s < step; ++e) {
      const size_t len = inputs[order[e]].size();
      if (e > s && 8 * (e - s + 1) * len > 9 * (tokens + len)) break;
      tokens += len;
    }
    CandidateBatch cb;
    for (size_t i = s; i < e; ++i) {
      const eval::ScoreRequest& req = batch[order[i]];
      cb.inputs.push_back(inputs[order[i]]);
      cb.candidates.emplace_back();
      for (const std::string& c : req.candidates) cb.candidates.back().push_back(codec_.encode_target(c));
    }
    std::vector<std::vector<double>> scores = model_.score_candidates(cb, set);
    for (size_t i = s; i < e; ++i) out[order[i]] = std::move(scores[i - s]);
  }
  return out;
}

PromptSet BackboneScorer::prompt_set() const {
  PromptSet s = PromptSet::single(prompt_, opt_.placement);
  if (prompt_.defined() && prompt_.ndim() == 3) s.placement.depth = PromptDepth::Deep;
  return s;
}

std::vector<std::vector<int>> BackboneScorer::candidate_token_counts(const std::vector<eval::ScoreRequest>& batch) {
  std::vector<std::vector<int>> out;
  for (const auto& r : batch) {
    std::vector<int> n;
    for (const auto& c : r.candidates) n.push_back(static_cast<int>(codec_.encode_target(c).size()));
    out.push_back(n);
  }
  return out;
}

std::vector<std::string> BackboneScorer::generate(const std::vector<std::string>& inputs, int max_new_tokens) {
  const PromptSet set = prompt_set();
  std::vector<std::string> out;
  const size_t step = static_cast<size_t>(std::max<int64_t>(1, opt_.batch_examples));
  for (size_t s = 0; s < inputs.size(); s += step) {
    std::vector<std::vector<int32_t>> ids;
    for (size_t i = s; i < std::min(inputs.size(), s + step); ++i)
      ids.push_back(codec_.truncate_input(codec_.encode_input(inputs[i]), opt_.max_input_tokens));
    const GreedyResult g = model_.generate_greedy(ids, set, max_new_tokens, codec_.eos_id());
    for (const auto& tokens : g.tokens) out.push_back(codec_.decode(tokens));
  }
  return out;
}

}  // namespace spot
