// scorer.cpp — rank classification and greedy decoding through FrozenBackbone::run.
#include "train/scorer.h"

#include <algorithm>

namespace spot {

std::vector<std::vector<double>> BackboneScorer::score(const std::vector<eval::ScoreRequest>& batch) {
  // Flatten (request, candidate) pairs; sort by length so padded batches waste little.
  struct Pair {
    size_t req, cand;
    std::vector<int32_t> in, tgt;
  };
  std::vector<Pair> pairs;
  for (size_t r = 0; r < batch.size(); ++r) {
    const std::vector<int32_t> in = codec_.truncate_input(codec_.encode_input(batch[r].input), opt_.max_input_tokens);
    for (size_t c = 0; c < batch[r].candidates.size(); ++c)
      pairs.push_back({r, c, in, codec_.encode_target(batch[r].candidates[c])});
  }
  std::vector<size_t> order(pairs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return pairs[a].in.size() < pairs[b].in.size(); });
  std::vector<std::vector<double>> out(batch.size());
  for (size_t r = 0; r < batch.size(); ++r) out[r].assign(batch[r].candidates.size(), 0.0);
  RunOptions ro;
  ro.backward = false;
  const PromptSet set = prompt_set();
  const size_t step = static_cast<size_t>(std::max<int64_t>(1, opt_.batch_examples));
  for (size_t s = 0; s < order.size(); s += step) {
    PromptBatch pb;
    const size_t e = std::min(order.size(), s + step);
    for (size_t i = s; i < e; ++i) {
      pb.inputs.push_back(pairs[order[i]].in);
      pb.targets.push_back(pairs[order[i]].tgt);
    }
    const RunResult rr = model_.run(pb, set, ro);
    for (size_t i = s; i < e; ++i) out[pairs[order[i]].req][pairs[order[i]].cand] = rr.example_logprob[i - s];
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
  const size_t n = inputs.size();
  std::vector<std::vector<int32_t>> in(n), gen(n);
  std::vector<bool> done(n, false);
  for (size_t i = 0; i < n; ++i) in[i] = codec_.truncate_input(codec_.encode_input(inputs[i]), opt_.max_input_tokens);
  RunOptions ro;
  ro.backward = false;
  ro.keep_logits = true;
  const PromptSet set = prompt_set();
  for (int t = 0; t < max_new_tokens; ++t) {
    std::vector<size_t> active;
    for (size_t i = 0; i < n; ++i)
      if (!done[i]) active.push_back(i);
    if (active.empty()) break;
    const size_t step = static_cast<size_t>(std::max<int64_t>(1, opt_.batch_examples));
    for (size_t s = 0; s < active.size(); s += step) {
      PromptBatch pb;
      const size_t e = std::min(active.size(), s + step);
      for (size_t k = s; k < e; ++k) {
        pb.inputs.push_back(in[active[k]]);
        std::vector<int32_t> tgt = gen[active[k]];
        tgt.push_back(codec_.eos_id());  // placeholder: the logits at this position predict the next token
        pb.targets.push_back(tgt);
      }
      const RunResult rr = model_.run(pb, set, ro);
      const int64_t Tt = rr.logits.dim(1), V = rr.logits.dim(2);
      for (size_t k = s; k < e; ++k) {
        const size_t i = active[k];
        const float* row = rr.logits.f32() + ((k - s) * Tt + static_cast<int64_t>(gen[i].size())) * V;
        const int32_t next = static_cast<int32_t>(std::max_element(row, row + V) - row);
        if (next == codec_.eos_id()) done[i] = true;
        else gen[i].push_back(next);
      }
    }
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back(codec_.decode(gen[i]));
  return out;
}

}  // namespace spot
