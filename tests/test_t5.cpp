// test_t5.cpp — the frozen T5: finite-difference check of dLoss/dPrompt on the CPU reference path,
// fast path against reference on the whole model, placement handling, and prompt sets (mixed-task
// batches, deep prompts).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <type_traits>

#include "model/t5/t5_model.h"
#include "tests/expect_error.h"
#include "tests/fd_check.h"

namespace spot {
namespace {

// "Weights never change" is a property of the types: a const Tensor (an op's input, a frozen
// weight held by a const T5Weights) gives read-only data.
static_assert(std::is_same_v<decltype(std::declval<const Tensor&>().f32()), const float*>);
static_assert(std::is_same_v<decltype(std::declval<const Tensor&>().i32()), const int32_t*>);
static_assert(std::is_same_v<decltype(std::declval<Tensor&>().f32()), float*>);
static_assert(std::is_same_v<decltype(std::declval<const T5Weights&>().shared.f32()), const float*>);

T5Config tiny_config(bool v11) {
  T5Config c;
  c.vocab_size = 53;
  c.d_model = 24;
  c.d_kv = 7;
  c.num_heads = 3;
  c.d_ff = 40;
  c.num_layers = 2;
  c.num_decoder_layers = 2;
  c.relative_attention_num_buckets = 8;
  c.relative_attention_max_distance = 20;
  c.gated = v11;
  c.act = v11 ? Activation::GeluTanh : Activation::Relu;
  c.tie_word_embeddings = !v11;
  c.scale_decoder_outputs = !v11;
  return c;
}

std::set<std::string> absent_for(const T5Config& c) {
  return c.tie_word_embeddings ? std::set<std::string>{"lm_head.weight"} : std::set<std::string>{};
}

PromptBatch tiny_batch() {
  PromptBatch b;
  b.inputs = {{5, 9, 17, 3, 22, 1}, {7, 30, 1}, {11, 12, 13, 14, 1}};
  b.targets = {{4, 8, 1}, {19, 1}, {2, 40, 41, 1}};
  return b;
}

Tensor random_prompt(int64_t L, int64_t d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.5f);
  Tensor p = Tensor::empty({L, d});
  for (int64_t i = 0; i < p.numel(); ++i) p.f32()[i] = dist(rng);
  return p;
}

struct FdParam {
  bool v11;
  const char* placement;
};

void PrintTo(const FdParam& p, std::ostream* os) { *os << (p.v11 ? "v1.1/" : "v1.0/") << p.placement; }

class T5FiniteDifference : public testing::TestWithParam<FdParam> {};

TEST_P(T5FiniteDifference, PromptGradientMatches) {
  const FdParam p = GetParam();
  const T5Config c = tiny_config(p.v11);
  Context ctx(Backend::CpuReference);
  T5Model model(ctx, T5Weights::load(c, RandomTensorSource(42, 0.2f, absent_for(c)), Device::CPU));
  const PromptBatch batch = tiny_batch();
  Tensor prompt = random_prompt(4, c.d_model, 7);
  RunOptions opt;
  const PromptPlacement pl = PromptPlacement::parse(p.placement);
  const RunResult r = model.run(batch, PromptSet::single(prompt, pl), opt);
  ASSERT_TRUE(std::isfinite(r.loss));
  double gmax = 0;
  for (int64_t i = 0; i < r.prompt_grads[0].numel(); ++i) gmax = std::max(gmax, std::fabs(double(r.prompt_grads[0].f32()[i])));
  ASSERT_GT(gmax, 1e-4) << "prompt gradient is (nearly) zero: the check would test nothing";
  RunOptions fwd = opt;
  fwd.backward = false;
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<int64_t> pick(0, prompt.numel() - 1);
  for (int s = 0; s < 16; ++s) {
    const int64_t i = pick(rng);
    const float x0 = prompt.f32()[i], h = 2e-3f;
    prompt.f32()[i] = x0 + h;
    const double lp = model.run(batch, PromptSet::single(prompt, pl), fwd).loss;
    prompt.f32()[i] = x0 - h;
    const double lm = model.run(batch, PromptSet::single(prompt, pl), fwd).loss;
    prompt.f32()[i] = x0;
    const double fd = (lp - lm) / (2.0 * h);
    const double an = r.prompt_grads[0].f32()[i];
    EXPECT_NEAR(an, fd, 2e-2 * gmax + 2e-2 * std::fabs(fd)) << "prompt element " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, T5FiniteDifference,
                         testing::Values(FdParam{false, "prefix"}, FdParam{true, "prefix"}, FdParam{false, "infix:2"},
                                         FdParam{true, "suffix"}),
                         [](const testing::TestParamInfo<FdParam>& i) {
                           std::string s = std::string(i.param.v11 ? "v1_1_" : "v1_0_") + i.param.placement;
                           for (char& ch : s)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return s;
                         });

TEST(T5Model, FastPathMatchesReference) {
  for (bool v11 : {false, true}) {
    const T5Config c = tiny_config(v11);
    Context ref(Backend::CpuReference), fast(Backend::CpuFast);
    T5Model mr(ref, T5Weights::load(c, RandomTensorSource(9, 0.3f, absent_for(c)), Device::CPU));
    T5Model mf(fast, T5Weights::load(c, RandomTensorSource(9, 0.3f, absent_for(c)), Device::CPU));
    Tensor prompt = random_prompt(5, c.d_model, 1);
    RunOptions opt;
    opt.keep_logits = true;
    const PromptSet set = PromptSet::single(prompt, PromptPlacement::at(1));
    const RunResult a = mr.run(tiny_batch(), set, opt), b = mf.run(tiny_batch(), set, opt);
    EXPECT_NEAR(a.loss, b.loss, 1e-5 * std::fabs(a.loss));
    double num = 0, den = 0;
    for (int64_t i = 0; i < a.prompt_grads[0].numel(); ++i) {
      const double d = a.prompt_grads[0].f32()[i] - b.prompt_grads[0].f32()[i];
      num += d * d;
      den += double(a.prompt_grads[0].f32()[i]) * a.prompt_grads[0].f32()[i];
    }
    EXPECT_GT(den, 0);
    EXPECT_LT(std::sqrt(num / den), 1e-4);
    for (size_t e = 0; e < a.example_logprob.size(); ++e) EXPECT_NEAR(a.example_logprob[e], b.example_logprob[e], 1e-4);
  }
}

// Data parallelism (train/trainer.h): shards of a batch run with RunOptions::loss_tokens = the whole
// batch's target tokens have losses and prompt gradients that add up to the whole batch's. On the
// reference path (fp64 accumulation), so that only the f32 rounding of the gradients is left
// (5e-8 measured); the fast path's shape-dependent noise on this random model is 1e-5.
TEST(T5Model, ShardsOverTheGlobalTokenCountSumToTheBatch) {
  const T5Config c = tiny_config(true);
  Context ctx(Backend::CpuReference);
  T5Model model(ctx, T5Weights::load(c, RandomTensorSource(4, 0.3f, absent_for(c)), Device::CPU));
  const PromptSet set = PromptSet::single(random_prompt(4, c.d_model, 2));
  const PromptBatch batch = tiny_batch();
  const RunResult all = model.run(batch, set, RunOptions{});
  RunOptions opt;
  opt.loss_tokens = all.target_tokens;
  double loss = 0;
  Tensor grad = Tensor::zeros(all.prompt_grads[0].shape());
  for (const auto& [lo, hi] : {std::pair<size_t, size_t>{0, 1}, {1, 3}}) {
    PromptBatch shard;
    shard.inputs.assign(batch.inputs.begin() + lo, batch.inputs.begin() + hi);
    shard.targets.assign(batch.targets.begin() + lo, batch.targets.begin() + hi);
    const RunResult r = model.run(shard, set, opt);
    loss += r.loss;
    for (int64_t i = 0; i < grad.numel(); ++i) grad.f32()[i] += r.prompt_grads[0].f32()[i];
  }
  EXPECT_NEAR(loss, all.loss, 1e-6 * all.loss);
  double num = 0, den = 0;
  for (int64_t i = 0; i < grad.numel(); ++i) {
    const double d = double(grad.f32()[i]) - all.prompt_grads[0].f32()[i];
    num += d * d;
    den += double(all.prompt_grads[0].f32()[i]) * all.prompt_grads[0].f32()[i];
  }
  ASSERT_GT(den, 0);
  EXPECT_LT(std::sqrt(num / den), 1e-6);
  // A count below the batch's own is not a global batch's.
  opt.loss_tokens = all.target_tokens - 1;
  test::expect_error([&] { model.run(batch, set, opt); }, "fewer than this batch's");
}

TEST(T5Model, RejectsBadBatches) {
  const T5Config c = tiny_config(false);
  Context ctx(Backend::CpuFast);
  T5Model m(ctx, T5Weights::load(c, RandomTensorSource(1, 0.05f, absent_for(c)), Device::CPU));
  PromptBatch b = tiny_batch();
  b.inputs[1][0] = 999;
  Tensor prompt = random_prompt(3, c.d_model, 2);
  EXPECT_THROW(m.run(b, prompt, RunOptions{}), Error);
  Tensor wrong = random_prompt(3, c.d_model + 1, 2);
  EXPECT_THROW(m.run(tiny_batch(), wrong, RunOptions{}), Error);
  // Clamped to the length: valid.
  EXPECT_NO_THROW(m.run(tiny_batch(), PromptSet::single(prompt, PromptPlacement::at(100)), RunOptions{}));
  EXPECT_THROW(PromptPlacement::parse("middle"), Error);
}

}  // namespace
}  // namespace spot

// ---------------------------------------------------------------- prompt sets (model/prompt_set.h)

namespace spot {
namespace {

PromptBatch five_batch() {
  PromptBatch b;
  b.inputs = {{5, 9, 17, 3, 22, 1}, {7, 30, 1}, {11, 12, 13, 14, 1}, {8, 1}, {6, 16, 26, 36, 46, 1}};
  b.targets = {{4, 8, 1}, {19, 1}, {2, 40, 41, 1}, {1}, {33, 1}};
  return b;
}

// Three prompts of lengths 4, 2 and 3 over five examples at their own offsets, and a fourth that
// no example uses (its gradient must be exactly zero).
PromptSet mixed_set(int64_t d, bool deep, int64_t layers) {
  PromptSet s;
  const std::vector<int64_t> lens = {4, 2, 3, 2};
  for (size_t k = 0; k < lens.size(); ++k) {
    Tensor p = random_prompt(deep ? layers * lens[k] : lens[k], d, 11 + k);
    s.prompts.push_back(deep ? p.reshape({layers, lens[k], d}) : p);
  }
  s.example_prompt = {0, 2, 1, 0, 2};
  s.placement.kind = PromptPlacement::Kind::Explicit;
  s.placement.per_example = {0, 1, 2, 0, 3};
  if (deep) s.placement.depth = PromptDepth::Deep;
  return s;
}

struct PromptSetParam {
  bool v11;
  bool deep;
  bool mixed;
};

void PrintTo(const PromptSetParam& p, std::ostream* os) {
  *os << (p.v11 ? "v1.1" : "v1.0") << (p.mixed ? "/mixed" : "/single") << (p.deep ? "/deep" : "/input");
}

class T5PromptSetFd : public testing::TestWithParam<PromptSetParam> {};

TEST_P(T5PromptSetFd, GradientOfEveryPromptMatches) {
  const PromptSetParam p = GetParam();
  const T5Config c = tiny_config(p.v11);
  Context ctx(Backend::CpuReference);
  T5Model model(ctx, T5Weights::load(c, RandomTensorSource(42, 0.2f, absent_for(c)), Device::CPU));
  PromptSet set;
  if (p.mixed) {
    set = mixed_set(c.d_model, p.deep, c.num_layers);
  } else {
    set = PromptSet::single(random_prompt(c.num_layers * 4, c.d_model, 7).reshape({c.num_layers, 4, c.d_model}),
                            PromptPlacement::at(2));
    set.placement.depth = PromptDepth::Deep;
  }
  const test::FdReport r = test::check_prompt_set_fd(model, five_batch(), set, 8);
  EXPECT_GT(r.checked, 0);
  std::printf("  [fd t5 %s %s %s] worst %.3g of max|grad| %.3g over %d elements\n", p.v11 ? "v1_1" : "v1_0",
              p.mixed ? "mixed" : "single", p.deep ? "deep" : "input", r.worst, r.gmax, r.checked);
}

INSTANTIATE_TEST_SUITE_P(Sets, T5PromptSetFd,
                         testing::Values(PromptSetParam{false, false, true}, PromptSetParam{true, false, true},
                                         PromptSetParam{false, true, false}, PromptSetParam{true, true, false},
                                         PromptSetParam{false, true, true}, PromptSetParam{true, true, true}),
                         [](const testing::TestParamInfo<PromptSetParam>& i) {
                           return std::string(i.param.v11 ? "v1_1" : "v1_0") + (i.param.mixed ? "_mixed" : "_single") +
                                  (i.param.deep ? "_deep" : "_input");
                         });

// A mixed-task batch is the examples run each on its own: the same log-likelihoods, and each
// prompt's gradient the token-weighted sum of its examples' own gradients (the batch loss is the
// mean over all the batch's target tokens).
TEST(T5PromptSet, MixedBatchIsEachExampleOnItsOwn) {
  for (bool deep : {false, true}) {
    const T5Config c = tiny_config(true);
    Context ctx(Backend::CpuFast);
    T5Model model(ctx, T5Weights::load(c, RandomTensorSource(5, 0.2f, absent_for(c)), Device::CPU));
    const PromptBatch batch = five_batch();
    const PromptSet set = mixed_set(c.d_model, deep, c.num_layers);
    const RunResult all = model.run(batch, set, RunOptions{});
    std::vector<Tensor> want;
    for (const Tensor& p : set.prompts) want.push_back(Tensor::zeros(p.shape()));
    for (size_t b = 0; b < batch.size(); ++b) {
      PromptBatch one;
      one.inputs = {batch.inputs[b]};
      one.targets = {batch.targets[b]};
      const int32_t k = set.prompt_of(b);
      PromptSet alone = PromptSet::single(set.prompts[k], PromptPlacement::at(set.placement.per_example[b]));
      alone.placement.depth = set.placement.depth;
      const RunResult r = model.run(one, alone, RunOptions{});
      EXPECT_NEAR(all.example_logprob[b], r.example_logprob[0], 1e-5 * std::max(1.0, std::fabs(r.example_logprob[0])))
          << "example " << b << (deep ? " (deep)" : "");
      const float w = static_cast<float>(r.target_tokens) / static_cast<float>(all.target_tokens);
      for (int64_t i = 0; i < want[k].numel(); ++i) want[k].f32()[i] += w * r.prompt_grads[0].f32()[i];
    }
    for (size_t k = 0; k < want.size(); ++k) {
      double num = 0, den = 0;
      for (int64_t i = 0; i < want[k].numel(); ++i) {
        const double d = double(all.prompt_grads[k].f32()[i]) - want[k].f32()[i];
        num += d * d;
        den += double(want[k].f32()[i]) * want[k].f32()[i];
      }
      if (k == 3) {
        EXPECT_EQ(num, 0.0) << "the unused prompt's gradient is not zero";
        continue;
      }
      ASSERT_GT(den, 0);
      EXPECT_LT(std::sqrt(num / den), 1e-5) << "prompt " << k << (deep ? " (deep)" : "");
    }
  }
}

TEST(T5PromptSet, FastPathMatchesReference) {
  const T5Config c = tiny_config(false);
  Context ref(Backend::CpuReference), fast(Backend::CpuFast);
  T5Model mr(ref, T5Weights::load(c, RandomTensorSource(9, 0.3f, absent_for(c)), Device::CPU));
  T5Model mf(fast, T5Weights::load(c, RandomTensorSource(9, 0.3f, absent_for(c)), Device::CPU));
  const PromptSet set = mixed_set(c.d_model, true, c.num_layers);
  const RunResult a = mr.run(five_batch(), set, RunOptions{}), b = mf.run(five_batch(), set, RunOptions{});
  EXPECT_NEAR(a.loss, b.loss, 1e-5 * std::fabs(a.loss));
  for (size_t k = 0; k < set.prompts.size(); ++k)
    for (int64_t i = 0; i < a.prompt_grads[k].numel(); ++i)
      EXPECT_NEAR(a.prompt_grads[k].f32()[i], b.prompt_grads[k].f32()[i], 1e-5) << "prompt " << k << " element " << i;
}

TEST(T5PromptSet, BadSetsAreRefused) {
  const T5Config c = tiny_config(false);
  Context ctx(Backend::CpuFast);
  T5Model m(ctx, T5Weights::load(c, RandomTensorSource(1, 0.05f, absent_for(c)), Device::CPU));
  PromptSet s = mixed_set(c.d_model, false, 0);
  s.example_prompt[2] = 7;
  test::expect_error([&] { m.run(five_batch(), s, RunOptions{}); }, {"example 2 uses prompt 7", "has 4"});
  s = mixed_set(c.d_model, false, 0);
  s.example_prompt.pop_back();
  test::expect_error([&] { m.run(five_batch(), s, RunOptions{}); }, "4 per-example prompt indices for 5 examples");
  s = mixed_set(c.d_model, true, c.num_layers + 1);
  test::expect_error([&] { m.run(five_batch(), s, RunOptions{}); }, {"3 layer blocks", "has 2 layers"});
  s = mixed_set(c.d_model, false, 0);
  s.placement.depth = PromptDepth::Deep;  // [L, d] prompts at depth deep
  test::expect_error([&] { m.run(five_batch(), s, RunOptions{}); }, "[layers, L, d_model]");
  s = mixed_set(c.d_model, false, 0);
  s.prompts[1].f32()[3] = std::nanf("");
  test::expect_error([&] { m.run(five_batch(), s, RunOptions{}); }, {"prompt 1", "non-finite"});
  test::expect_error([] { parse_prompt_depth("shallow"); }, {"shallow", "input or deep"});
}

}  // namespace
}  // namespace spot
