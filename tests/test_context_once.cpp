// test_context_once.cpp — evaluation from one context pass (issue 10, item 3): rank classification
// that computes each example's context once (FrozenBackbone::score_candidates) gives the scores of
// today's path, run() on one (input, candidate) row per pair; greedy decoding with a key/value cache
// (FrozenBackbone::generate_greedy) gives the tokens and logits of decoding by one full teacher-forced
// run() per new token; and BackboneScorer, which uses both, returns them in request order. For the
// tiny T5 v1.0 / v1.1 checkpoints (tests/golden/t5) and Llama (the tiny HF checkpoint of
// tests/golden/llama and a random GQA model), both Llama prompt paths, with no prompt, a prefix,
// other T5 placements, a deep prompt and a mixed-task set, on every backend (cuda: skipped loudly
// without a device; run on the emulator by the cuda_emu build).
//
// Tolerance: on the reference backend (fp64 accumulation in a fixed order) the new paths compute
// exactly what the old ones do: equal bit for bit. On the others the GEMMs see other shapes (one
// row per example instead of one per pair or position), so float32 rounding differs: a score
// within 1e-6 · max(1, |reference|) (absolute below 1, relative above: a score is a sum of
// per-token log-probabilities in float32, each |diff| a few ulps of it); a decoding step's logits
// within 1e-5 · max(1, the row's largest |logit|) (OpenBLAS, one row per example against one per
// position: up to 2.5e-6 measured on the tiny models).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "model/llama/llama_config.h"
#include "model/llama/llama_model.h"
#include "model/safetensors_source.h"
#include "model/t5/t5_model.h"
#include "model/text_codec.h"
#include "train/scorer.h"

namespace spot {
namespace {

constexpr double kTol = 1e-6;        // scores
constexpr double kLogitTol = 1e-5;   // decoding logits, normalised by the row's largest |logit|

double tol_for(double ref) { return kTol * std::max(1.0, std::fabs(ref)); }

std::string t5_dir(const char* variant) { return std::string(SPOT_SOURCE_DIR) + "/tests/golden/t5/" + variant; }
const std::string kLlamaDir = std::string(SPOT_SOURCE_DIR) + "/tests/golden/llama/tiny";

Tensor random_tensor(const Shape& shape, uint64_t seed, float stddev = 0.5f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  Tensor p = Tensor::empty(shape);
  for (int64_t i = 0; i < p.numel(); ++i) p.f32()[i] = dist(rng);
  return p;
}

// Four examples of different lengths; candidates of one to five tokens, one to three per example,
// and an example whose candidates are all one token long.
CandidateBatch varied_batch(int64_t vocab) {
  CandidateBatch b;
  b.inputs = {{5, 9, 17, 3, 22, 1}, {7, 30}, {11, 12, 13, 14, 15, 16, 17, 18, 1}, {4}};
  b.candidates = {{{4, 8, 1}, {19, 1}, {2}},
                  {{40, 41, 42, 1}, {6}},
                  {{3}, {5}},
                  {{23, 24, 1}, {25, 26, 27, 28, 1}, {29, 1}}};
  for (auto& in : b.inputs)
    for (auto& t : in) t %= static_cast<int32_t>(vocab);
  for (auto& cands : b.candidates)
    for (auto& c : cands)
      for (auto& t : c) t %= static_cast<int32_t>(vocab);
  return b;
}

// The prompt sets the cases run under. `kind`: none | prefix | infix (T5) | suffix (T5) | deep |
// mixed (three prompts of lengths 4, 2, 3 over the four examples).
PromptSet make_set(const std::string& kind, int64_t d, int64_t layers) {
  if (kind == "none") return PromptSet::single(Tensor());
  if (kind == "prefix") return PromptSet::single(random_tensor({3, d}, 11));
  if (kind == "infix") return PromptSet::single(random_tensor({3, d}, 12), PromptPlacement::at(2));
  if (kind == "suffix") return PromptSet::single(random_tensor({2, d}, 13), PromptPlacement::suffix());
  if (kind == "deep") {
    PromptSet s = PromptSet::single(random_tensor({layers, 3, d}, 14));
    s.placement.depth = PromptDepth::Deep;
    return s;
  }
  if (kind == "mixed") {
    PromptSet s;
    s.prompts = {random_tensor({4, d}, 15), random_tensor({2, d}, 16), random_tensor({3, d}, 17)};
    s.example_prompt = {0, 2, 1, 0};
    return s;
  }
  ADD_FAILURE() << "unknown prompt set kind " << kind;
  return {};
}

// Today's path: every (input, candidate) pair one row of one run(), each under its example's prompt.
std::vector<std::vector<double>> reference_scores(FrozenBackbone& model, const CandidateBatch& cb,
                                                  const PromptSet& set) {
  PromptBatch pb;
  PromptSet pairs = set;
  pairs.example_prompt.clear();
  for (size_t b = 0; b < cb.size(); ++b)
    for (const auto& c : cb.candidates[b]) {
      pb.inputs.push_back(cb.inputs[b]);
      pb.targets.push_back(c);
      if (!set.example_prompt.empty()) pairs.example_prompt.push_back(set.example_prompt[b]);
    }
  RunOptions o;
  o.backward = false;
  const RunResult r = model.run(pb, pairs, o);
  std::vector<std::vector<double>> out(cb.size());
  size_t k = 0;
  for (size_t b = 0; b < cb.size(); ++b)
    for (size_t c = 0; c < cb.candidates[b].size(); ++c) out[b].push_back(r.example_logprob[k++]);
  return out;
}

// Compares got with want score by score (bit for bit when exact); returns the worst |difference|.
// Also checks that the reference spreads (a constant or swapped answer could not pass).
double expect_scores_match(const std::vector<std::vector<double>>& got, const std::vector<std::vector<double>>& want,
                           const std::string& what, bool exact = false) {
  EXPECT_EQ(got.size(), want.size()) << what;
  double worst = 0, lo = 0, hi = -1e300;
  for (size_t b = 0; b < std::min(got.size(), want.size()); ++b) {
    EXPECT_EQ(got[b].size(), want[b].size()) << what << " example " << b;
    for (size_t c = 0; c < std::min(got[b].size(), want[b].size()); ++c) {
      EXPECT_TRUE(std::isfinite(want[b][c])) << what;
      EXPECT_NEAR(got[b][c], want[b][c], tol_for(want[b][c])) << what << " example " << b << " candidate " << c;
      if (exact) EXPECT_EQ(got[b][c], want[b][c]) << what << " example " << b << " candidate " << c;
      worst = std::max(worst, std::fabs(got[b][c] - want[b][c]));
      lo = std::min(lo, want[b][c]);
      hi = std::max(hi, want[b][c]);
    }
  }
  EXPECT_GT(hi - lo, 0.5) << what << ": the reference scores barely differ; the comparison would test little";
  return worst;
}

bool skip_cuda(Backend b) { return b == Backend::Cuda && !cuda_available(); }
#define SKIP_IF_NO_CUDA(b)                                                                                    \
  if (skip_cuda(b))                                                                                           \
  GTEST_SKIP() << "SKIPPED (not verified): cuda backend: " << (SPOT_WITH_CUDA ? "no CUDA device present"     \
                                                                               : "built without CUDA")

std::string param_name(std::string s) {
  for (char& ch : s)
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

// ---------------------------------------------------------------- T5

struct T5Param {
  const char* variant;  // v1_0 | v1_1
  const char* set;
  Backend backend;
};

void PrintTo(const T5Param& p, std::ostream* os) { *os << p.variant << "/" << p.set << "/" << backend_name(p.backend); }

class T5ContextOnce : public testing::TestWithParam<T5Param> {};

TEST_P(T5ContextOnce, ScoresEqualOneRunPerPair) {
  const T5Param p = GetParam();
  SKIP_IF_NO_CUDA(p.backend);
  Context ctx(p.backend);
  auto model = T5Model::from_pretrained(ctx, t5_dir(p.variant));
  const CandidateBatch cb = varied_batch(model->vocab_size());
  const PromptSet set = make_set(p.set, model->d_model(), model->prompt_layers());
  const double worst = expect_scores_match(model->score_candidates(cb, set), reference_scores(*model, cb, set),
                                           std::string("t5 ") + p.variant + " " + p.set,
                                           /*exact=*/p.backend == Backend::CpuReference);
  std::printf("  [t5 %s %s %s] scores: worst |diff| %.3g\n", p.variant, p.set, backend_name(p.backend), worst);
}

// Decoding today: one full teacher-forced run() per new token, the last row's argmax.
GreedyResult reference_greedy(FrozenBackbone& model, const std::vector<std::vector<int32_t>>& inputs,
                              const PromptSet& set, int64_t max_new, int32_t stop_id) {
  GreedyResult out;
  const int64_t V = model.vocab_size();
  for (size_t b = 0; b < inputs.size(); ++b) {
    PromptSet one = set;
    one.example_prompt.clear();
    if (!set.example_prompt.empty()) one.example_prompt.push_back(set.example_prompt[b]);
    std::vector<int32_t> gen;
    std::vector<float> logits;
    for (int64_t t = 0; t < max_new; ++t) {
      PromptBatch pb;
      pb.inputs = {inputs[b]};
      pb.targets = {gen};
      pb.targets[0].push_back(0);  // placeholder: the logits at this position predict the next token
      RunOptions o;
      o.backward = false;
      o.keep_logits = true;
      const RunResult r = model.run(pb, one, o);
      const float* row = r.logits.f32() + t * V;
      logits.insert(logits.end(), row, row + V);
      const int32_t next = static_cast<int32_t>(std::max_element(row, row + V) - row);
      if (next == stop_id) break;
      gen.push_back(next);
    }
    out.tokens.push_back(gen);
    Tensor l = Tensor::empty({static_cast<int64_t>(logits.size()) / V, V});
    std::copy(logits.begin(), logits.end(), l.f32());
    out.logits.push_back(l);
  }
  return out;
}

// Same tokens; each step's logits within kLogitTol of the reference, normalised by the row's
// largest |logit| (or 1): max_v |got − want| <= kLogitTol · max(1, max_v |want|). Bit for bit when
// exact.
void expect_greedy_match(const GreedyResult& got, const GreedyResult& want, bool exact, const std::string& what) {
  ASSERT_EQ(got.tokens.size(), want.tokens.size()) << what;
  ASSERT_EQ(got.logits.size(), want.logits.size()) << what;
  double worst = 0;
  for (size_t b = 0; b < want.tokens.size(); ++b) {
    EXPECT_EQ(got.tokens[b], want.tokens[b]) << what << " example " << b;
    ASSERT_EQ(got.logits[b].shape(), want.logits[b].shape()) << what << " example " << b;
    const int64_t V = want.logits[b].dim(1);
    for (int64_t t = 0; t < want.logits[b].dim(0); ++t) {
      const float* g = got.logits[b].f32() + t * V;
      const float* w = want.logits[b].f32() + t * V;
      double diff = 0, scale = 1;
      for (int64_t v = 0; v < V; ++v) {
        diff = std::max(diff, std::fabs(static_cast<double>(g[v]) - w[v]));
        scale = std::max(scale, std::fabs(static_cast<double>(w[v])));
      }
      if (exact) EXPECT_EQ(diff, 0.0) << what << " example " << b << " step " << t;
      EXPECT_LE(diff / scale, kLogitTol) << what << " example " << b << " step " << t << ": max |diff| " << diff
                                    << " of max |logit| " << scale;
      worst = std::max(worst, diff / scale);
    }
  }
  std::printf("  [%s] greedy: same tokens, logits worst normalised |diff| %.3g\n", what.c_str(), worst);
}

TEST_P(T5ContextOnce, GreedyWithCacheEqualsFullRuns) {
  const T5Param p = GetParam();
  SKIP_IF_NO_CUDA(p.backend);
  Context ctx(p.backend);
  auto model = T5Model::from_pretrained(ctx, t5_dir(p.variant));
  const CandidateBatch cb = varied_batch(model->vocab_size());
  const PromptSet set = make_set(p.set, model->d_model(), model->prompt_layers());
  // 24 steps: past the decoder's relative-attention max distance (20), where buckets saturate.
  const GreedyResult free_run = reference_greedy(*model, cb.inputs, set, 24, -1);
  ASSERT_EQ(free_run.tokens[0].size(), 24u);
  const bool exact = p.backend == Backend::CpuReference;
  expect_greedy_match(model->generate_greedy(cb.inputs, set, 24, -1, true), free_run, exact,
                      std::string("t5 ") + p.variant + " " + p.set);
  // A stop token that ends example 0 at step 3 (the others at their first use of it, or not):
  // examples of the batch finish at different steps.
  const int32_t stop = free_run.tokens[0][3];
  const GreedyResult stopped = reference_greedy(*model, cb.inputs, set, 24, stop);
  ASSERT_LE(stopped.tokens[0].size(), 3u);
  expect_greedy_match(model->generate_greedy(cb.inputs, set, 24, stop, true), stopped, exact,
                      std::string("t5 ") + p.variant + " " + p.set + " stop");
}

std::vector<T5Param> t5_params() {
  std::vector<T5Param> v;
  for (const char* var : {"v1_0", "v1_1"})
    for (const char* s : {"none", "prefix", "infix", "suffix", "deep", "mixed"})
      for (Backend b : {Backend::CpuFast, Backend::CpuReference, Backend::Cuda}) v.push_back({var, s, b});
  return v;
}

INSTANTIATE_TEST_SUITE_P(Tiny, T5ContextOnce, testing::ValuesIn(t5_params()),
                         [](const testing::TestParamInfo<T5Param>& i) {
                           return param_name(std::string(i.param.variant) + "_" + i.param.set + "_" +
                                             backend_name(i.param.backend));
                         });

// ---------------------------------------------------------------- Llama

struct LlamaParam {
  const char* model;  // tiny (the HF checkpoint: tied, head_dim 10) | gqa (random, untied)
  LlamaPromptPath path;
  const char* set;
  Backend backend;
};

void PrintTo(const LlamaParam& p, std::ostream* os) {
  *os << p.model << "/" << llama_prompt_path_name(p.path) << "/" << p.set << "/" << backend_name(p.backend);
}

std::unique_ptr<LlamaModel> make_llama(Context& ctx, const std::string& which, LlamaPromptPath path) {
  if (which == "tiny") {
    const LlamaConfig c = llama_config_from_json(kLlamaDir + "/config.json");
    return std::make_unique<LlamaModel>(
        ctx, LlamaWeights::load(c, io::SafetensorsSource(kLlamaDir + "/model.safetensors"), ctx.device()), path);
  }
  LlamaConfig c(/*vocab*/ 97, /*hidden*/ 36, /*ffn*/ 52, /*layers*/ 2, /*heads*/ 6, /*kv heads*/ 3, /*head_dim*/ 0,
                1e-5f, 10000.0f, /*tied*/ false, 1, 2, 512);
  c.validate("test_context_once");
  return std::make_unique<LlamaModel>(ctx, LlamaWeights::load(c, RandomTensorSource(21, 0.3f), ctx.device()), path);
}

class LlamaContextOnce : public testing::TestWithParam<LlamaParam> {};

TEST_P(LlamaContextOnce, ScoresEqualOneRunPerPair) {
  const LlamaParam p = GetParam();
  SKIP_IF_NO_CUDA(p.backend);
  Context ctx(p.backend);
  auto model = make_llama(ctx, p.model, p.path);
  const CandidateBatch cb = varied_batch(model->vocab_size());
  const PromptSet set = make_set(p.set, model->d_model(), model->prompt_layers());
  const std::string what = std::string("llama ") + p.model + " " + llama_prompt_path_name(p.path) + " " + p.set;
  const bool exact = p.backend == Backend::CpuReference;
  const double worst =
      expect_scores_match(model->score_candidates(cb, set), reference_scores(*model, cb, set), what, exact);
  std::printf("  [%s %s] scores: worst |diff| %.3g\n", what.c_str(), backend_name(p.backend), worst);
  // One-token candidates only: no candidate stream at all, the context's last row alone.
  CandidateBatch single = cb;
  for (auto& cands : single.candidates)
    for (auto& c : cands) c.resize(1);
  expect_scores_match(model->score_candidates(single, set), reference_scores(*model, single, set),
                      what + " one-token candidates", exact);
}

TEST_P(LlamaContextOnce, GreedyWithCacheEqualsFullRuns) {
  const LlamaParam p = GetParam();
  SKIP_IF_NO_CUDA(p.backend);
  Context ctx(p.backend);
  auto model = make_llama(ctx, p.model, p.path);
  const CandidateBatch cb = varied_batch(model->vocab_size());
  const PromptSet set = make_set(p.set, model->d_model(), model->prompt_layers());
  const std::string what = std::string("llama ") + p.model + " " + llama_prompt_path_name(p.path) + " " + p.set;
  const GreedyResult free_run = reference_greedy(*model, cb.inputs, set, 8, -1);
  const bool exact = p.backend == Backend::CpuReference;
  expect_greedy_match(model->generate_greedy(cb.inputs, set, 8, -1, true), free_run, exact, what);
  const int32_t stop = free_run.tokens[0][3];
  expect_greedy_match(model->generate_greedy(cb.inputs, set, 8, stop, true),
                      reference_greedy(*model, cb.inputs, set, 8, stop), exact, what + " stop");
}

std::vector<LlamaParam> llama_params() {
  std::vector<LlamaParam> v;
  for (const char* m : {"tiny", "gqa"})
    for (LlamaPromptPath path : {LlamaPromptPath::SharedPrefix, LlamaPromptPath::Replicated})
      for (const char* s : {"none", "prefix", "deep", "mixed"})
        for (Backend b : {Backend::CpuFast, Backend::CpuReference, Backend::Cuda}) v.push_back({m, path, s, b});
  return v;
}

INSTANTIATE_TEST_SUITE_P(Tiny, LlamaContextOnce, testing::ValuesIn(llama_params()),
                         [](const testing::TestParamInfo<LlamaParam>& i) {
                           return param_name(std::string(i.param.model) + "_" +
                                             llama_prompt_path_name(i.param.path) + "_" + i.param.set + "_" +
                                             backend_name(i.param.backend));
                         });

// ---------------------------------------------------------------- BackboneScorer

// One token per character (id 3 + byte mod (V − 3)); T5-style: EOS (1) after inputs and targets.
class CharCodec : public TextCodec {
 public:
  CharCodec(int64_t vocab, bool eos_after) : vocab_(vocab), eos_after_(eos_after) {}
  std::string name() const override { return "chars"; }
  std::vector<int32_t> encode_input(const std::string& text) const override { return encode(text); }
  std::vector<int32_t> encode_target(const std::string& text) const override { return encode(text); }
  std::string decode(const std::vector<int32_t>& ids) const override {
    std::string s;
    for (int32_t id : ids) s += std::to_string(id) + " ";
    return s;
  }
  int32_t eos_id() const override { return 1; }
  int64_t vocab_size() const override { return vocab_; }
  std::vector<int32_t> common_token_ids(int64_t n) const override {
    std::vector<int32_t> ids;
    for (int32_t i = 3; i < 3 + n && i < vocab_; ++i) ids.push_back(i);
    return ids;
  }

 private:
  std::vector<int32_t> encode(const std::string& text) const {
    std::vector<int32_t> ids;
    for (unsigned char ch : text) ids.push_back(static_cast<int32_t>(3 + ch % (vocab_ - 3)));
    if (eos_after_) ids.push_back(1);
    return ids;
  }
  int64_t vocab_;
  bool eos_after_;
};

// Requests of different lengths in an order the scorer sorts, two examples per forward: each
// request's scores and decoded text come back in its place, equal to today's path for it alone.
void check_scorer(FrozenBackbone& model, const TextCodec& codec, const Tensor& prompt, const std::string& what) {
  ScorerOptions so;
  so.batch_examples = 2;
  BackboneScorer scorer(model, codec, prompt, so);
  const std::vector<eval::ScoreRequest> requests = {{"a longer premise. hypothesis?", {"yes", "no", "maybe"}},
                                                    {"short", {"entailment", "not_entailment"}},
                                                    {"mid-length input", {"x", "yz"}},
                                                    {"a", {"true", "false"}},
                                                    {"the longest input of them all, by far", {"one", "two", "3"}}};
  const std::vector<std::vector<double>> got = scorer.score(requests);
  std::vector<std::vector<double>> want;
  for (const auto& r : requests) {
    CandidateBatch cb;
    cb.inputs = {codec.encode_input(r.input)};
    cb.candidates.emplace_back();
    for (const auto& c : r.candidates) cb.candidates[0].push_back(codec.encode_target(c));
    want.push_back(reference_scores(model, cb, PromptSet::single(prompt))[0]);
  }
  expect_scores_match(got, want, what + " scorer");
  std::vector<std::string> inputs;
  for (const auto& r : requests) inputs.push_back(r.input);
  const std::vector<std::string> text = scorer.generate(inputs, 5);
  ASSERT_EQ(text.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const GreedyResult ref =
        reference_greedy(model, {codec.encode_input(inputs[i])}, PromptSet::single(prompt), 5, codec.eos_id());
    EXPECT_EQ(text[i], codec.decode(ref.tokens[0])) << what << " generate, input " << i;
  }
}

TEST(ContextOnceScorer, T5RequestsComeBackInOrder) {
  Context ctx(Backend::CpuFast);
  auto model = T5Model::from_pretrained(ctx, t5_dir("v1_1"));
  const CharCodec codec(model->vocab_size(), /*eos_after=*/true);
  check_scorer(*model, codec, random_tensor({3, model->d_model()}, 5), "t5");
}

TEST(ContextOnceScorer, LlamaRequestsComeBackInOrder) {
  Context ctx(Backend::CpuFast);
  auto model = make_llama(ctx, "tiny", LlamaPromptPath::SharedPrefix);
  const CharCodec codec(model->vocab_size(), /*eos_after=*/false);
  check_scorer(*model, codec, random_tensor({3, model->d_model()}, 6), "llama");
}

// Bad batches are refused with the backbone's message, not scored.
TEST(ContextOnce, BadBatchesAreRefused) {
  Context ctx(Backend::CpuFast);
  auto t5 = T5Model::from_pretrained(ctx, t5_dir("v1_0"));
  auto llama = make_llama(ctx, "tiny", LlamaPromptPath::SharedPrefix);
  for (FrozenBackbone* m : {static_cast<FrozenBackbone*>(t5.get()), static_cast<FrozenBackbone*>(llama.get())}) {
    CandidateBatch cb = varied_batch(m->vocab_size());
    CandidateBatch empty_cand = cb;
    empty_cand.candidates[1].push_back({});
    EXPECT_THROW(m->score_candidates(empty_cand, PromptSet::single(Tensor())), Error) << m->name();
    CandidateBatch empty_input = cb;
    empty_input.inputs[2].clear();
    EXPECT_THROW(m->score_candidates(empty_input, PromptSet::single(Tensor())), Error) << m->name();
    CandidateBatch bad_token = cb;
    bad_token.candidates[0][0][0] = static_cast<int32_t>(m->vocab_size());
    EXPECT_THROW(m->score_candidates(bad_token, PromptSet::single(Tensor())), Error) << m->name();
    CandidateBatch short_lists = cb;
    short_lists.candidates.pop_back();
    EXPECT_THROW(m->score_candidates(short_lists, PromptSet::single(Tensor())), Error) << m->name();
    EXPECT_THROW(m->generate_greedy(cb.inputs, PromptSet::single(Tensor()), -1, 1), Error) << m->name();
  }
  // A decoder-only model takes the prompt as a prefix only.
  const PromptSet infix = make_set("infix", llama->d_model(), llama->prompt_layers());
  EXPECT_THROW(llama->score_candidates(varied_batch(llama->vocab_size()), infix), Error);
  EXPECT_THROW(llama->generate_greedy(varied_batch(llama->vocab_size()).inputs, infix, 2, 1), Error);
}

}  // namespace
}  // namespace spot
