// test_llama.cpp — the frozen Llama backbone: parity with HF LlamaForCausalLM goldens
// (tests/golden/gen_llama_goldens.py), finite-difference check of dLoss/dPrompt on the CPU
// reference backend, fast path against reference, the shared-prefix path against the replicated
// path, L = 0 scoring, padding invariance, config parsing and the errors bad input gets.
//
// The golden files are safetensors; until the project's reader (io/) is merged they are read
// by the minimal F32/I32-only reader below.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "model/safetensors_source.h"
#include "model/llama/llama_model.h"
#include "tests/expect_error.h"
#include "tests/fd_check.h"

namespace spot {
namespace {

const std::string kTinyDir = std::string(SPOT_SOURCE_DIR) + "/tests/golden/llama/tiny";

bool have_goldens() { return std::filesystem::exists(kTinyDir + "/model.safetensors"); }

#define REQUIRE_GOLDENS() \
  if (!have_goldens()) GTEST_SKIP() << "golden files missing under " << kTinyDir << " (run tests/golden/gen_llama_goldens.py)"

LlamaWeights tiny_weights(Device device = Device::CPU) {
  const LlamaConfig c = llama_config_from_json(kTinyDir + "/config.json");
  return LlamaWeights::load(c, io::SafetensorsSource(kTinyDir + "/model.safetensors"), device);
}

struct GoldenCase {
  PromptBatch batch;
  Tensor prompt;  // undefined when L = 0
  Tensor logits;  // [B, Tt, V]
  double loss = 0;
  std::vector<double> example_logprob;
  Tensor prompt_grad;
  // The run's prompt set: the one prompt (depth input or deep), or the mixed case's three prompts
  // with the per-example index; grads: the golden gradient of each.
  PromptSet set;
  std::vector<Tensor> grads;
};

GoldenCase load_case(const std::string& name) {
  const io::SafetensorsFile f = io::SafetensorsFile::open(kTinyDir + "/golden_" + name + ".safetensors");
  GoldenCase g;
  const Tensor in = f.load_i32("input_ids"), tg = f.load_i32("target_ids");
  const Tensor in_len = f.load_i32("input_lens"), tg_len = f.load_i32("target_lens");
  const int64_t B = in.dim(0);
  for (int64_t b = 0; b < B; ++b) {
    const int32_t* ri = in.i32() + b * in.dim(1);
    const int32_t* rt = tg.i32() + b * tg.dim(1);
    g.batch.inputs.emplace_back(ri, ri + in_len.i32()[b]);
    g.batch.targets.emplace_back(rt, rt + tg_len.i32()[b]);
  }
  if (f.contains("prompt")) {
    g.prompt = f.load_f32("prompt");
    g.prompt_grad = f.load_f32("prompt_grad");
    g.set = PromptSet::single(g.prompt);
    if (g.prompt.ndim() == 3) g.set.placement.depth = PromptDepth::Deep;
    g.grads = {g.prompt_grad};
  }
  if (f.contains("example_prompt")) {
    const Tensor idx = f.load_i32("example_prompt");
    for (int64_t b = 0; b < B; ++b) g.set.example_prompt.push_back(idx.i32()[b]);
    for (int k = 0; f.contains("prompt_" + std::to_string(k)); ++k) {
      g.set.prompts.push_back(f.load_f32("prompt_" + std::to_string(k)));
      g.grads.push_back(f.load_f32("prompt_grad_" + std::to_string(k)));
    }
  }
  g.logits = f.load_f32("logits");
  g.loss = f.load_f32("loss").f32()[0];
  const Tensor lp = f.load_f32("example_logprob");
  for (int64_t b = 0; b < B; ++b) g.example_logprob.push_back(lp.f32()[b]);
  return g;
}

double max_abs(const Tensor& a) {
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::fabs(static_cast<double>(a.f32()[i])));
  return m;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double m = 0;
  for (int64_t i = 0; i < std::min(a.numel(), b.numel()); ++i)
    m = std::max(m, std::fabs(static_cast<double>(a.f32()[i]) - b.f32()[i]));
  return m;
}

double rel_l2(const Tensor& got, const Tensor& ref) {
  EXPECT_EQ(got.shape(), ref.shape());
  double num = 0, den = 0;
  for (int64_t i = 0; i < std::min(got.numel(), ref.numel()); ++i) {
    const double d = static_cast<double>(got.f32()[i]) - ref.f32()[i];
    num += d * d;
    den += static_cast<double>(ref.f32()[i]) * ref.f32()[i];
  }
  EXPECT_GT(den, 0) << "reference norm is zero: the comparison tests nothing";
  return std::sqrt(num / den);
}

Tensor random_prompt(int64_t L, int64_t d, uint64_t seed, float stddev = 0.5f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  Tensor p = Tensor::empty({L, d});
  for (int64_t i = 0; i < p.numel(); ++i) p.f32()[i] = dist(rng);
  return p;
}

// A small random untied model with head_dim = hidden / heads (the config default) and plain MHA
// in one variant, GQA in the other.
LlamaConfig random_config(bool gqa) {
  LlamaConfig c(/*vocab*/ 97, /*hidden*/ 36, /*ffn*/ 52, /*layers*/ 2, /*heads*/ 6, /*kv heads*/ gqa ? 3 : 6,
                /*head_dim*/ 0, 1e-5f, 10000.0f, /*tied*/ false, 1, 2, 512);
  c.validate("random_config");
  return c;
}

PromptBatch random_batch(int64_t vocab) {
  PromptBatch b;
  b.inputs = {{5, 9, 17, 3, 22, 1}, {7, 30}, {11, 12, 13, 14, 1}, {4}};
  b.targets = {{4, 8, 1}, {19, 1, 60, 2}, {2}, {40, 41, 1}};
  for (auto* v : {&b.inputs, &b.targets})
    for (auto& s : *v)
      for (auto& t : s) t %= static_cast<int32_t>(vocab);
  return b;
}

// ---------------------------------------------------------------- golden parity (HF transformers)

struct GoldenParam {
  const char* name;
  LlamaPromptPath path;
  Backend backend;
  Precision precision = Precision::Fp32;
};

void PrintTo(const GoldenParam& p, std::ostream* os) {
  *os << p.name << "/" << llama_prompt_path_name(p.path) << "/" << backend_name(p.backend) << "/"
      << precision_name(p.precision);
}

class LlamaGolden : public testing::TestWithParam<GoldenParam> {};

TEST_P(LlamaGolden, MatchesTransformers) {
  REQUIRE_GOLDENS();
  const GoldenParam gp = GetParam();
  if (gp.backend == Backend::Cuda && !cuda_available())
    GTEST_SKIP() << "SKIPPED (not verified): Llama golden on cuda: "
                 << (SPOT_WITH_CUDA ? "no CUDA device present" : "built without CUDA");
  Context ctx(gp.backend);
  LlamaModel model(ctx, tiny_weights(ctx.device()), gp.path, gp.precision);
  const GoldenCase g = load_case(gp.name);
  const bool has_prompt = !g.grads.empty();
  RunOptions opt;
  opt.keep_logits = true;
  opt.backward = has_prompt;
  const RunResult r = model.run(g.batch, g.set, opt);
  ASSERT_TRUE(r.logits.defined());
  ASSERT_GT(max_abs(g.logits), 1.0);
  const double dl = max_abs_diff(r.logits, g.logits);
  if (gp.precision == Precision::Bf16) {
    // The bf16 rows of the tolerance policy (tests/golden/README.md), against the same fp32 goldens.
    const double rl = rel_l2(r.logits, g.logits);
    EXPECT_LE(rl, 2e-2) << "bf16: logits relative L2";
    EXPECT_GT(rl, 1e-4) << "bf16: the logits are at the fp32 floor, so the bf16 weights were not used";
    EXPECT_NEAR(r.loss, g.loss, 1e-2 * std::fabs(g.loss)) << "bf16: loss";
    double eg = 0;
    for (size_t k = 0; k < g.grads.size() && k < r.prompt_grads.size(); ++k)
      eg = std::max(eg, rel_l2(r.prompt_grads[k], g.grads[k]));
    EXPECT_LE(eg, 1e-1) << "bf16: prompt gradient relative L2";
    std::printf("  [golden %s %s %s bf16] logits rel L2 %.3g, loss |diff| %.3g, prompt-grad rel L2 %.3g\n", gp.name,
                llama_prompt_path_name(gp.path), backend_name(gp.backend), rl, std::fabs(r.loss - g.loss), eg);
    return;
  }
  EXPECT_LE(dl, 1e-4) << "logits max-abs difference";
  EXPECT_NEAR(r.loss, g.loss, 1e-5 * std::fabs(g.loss)) << "loss";
  ASSERT_EQ(r.example_logprob.size(), g.example_logprob.size());
  for (size_t b = 0; b < g.example_logprob.size(); ++b)
    EXPECT_NEAR(r.example_logprob[b], g.example_logprob[b], 1e-4) << "example " << b;
  double eg = 0;
  if (has_prompt) {
    ASSERT_EQ(r.prompt_grads.size(), g.grads.size());
    for (size_t k = 0; k < g.grads.size(); ++k) {
      ASSERT_GT(max_abs(g.grads[k]), 1e-2) << "golden gradient of prompt " << k << " is (nearly) zero";
      eg = std::max(eg, rel_l2(r.prompt_grads[k], g.grads[k]));
    }
    EXPECT_LE(eg, 1e-3) << "prompt gradient relative L2 error (the worst prompt of the set)";
  }
  RecordProperty("logits_max_abs", std::to_string(dl));
  RecordProperty("loss_abs", std::to_string(std::fabs(r.loss - g.loss)));
  RecordProperty("prompt_grad_rel_l2", std::to_string(eg));
  std::printf("  [golden %s %s %s] logits max-abs %.3g, loss |diff| %.3g (loss %.6f), prompt-grad rel L2 %.3g\n",
              gp.name, llama_prompt_path_name(gp.path), backend_name(gp.backend), dl, std::fabs(r.loss - g.loss),
              r.loss, eg);
}

std::vector<GoldenParam> golden_params() {
  std::vector<GoldenParam> v;
  // mixed: three prompts of different lengths over five examples (runs replicated on either path
  // setting); deep: a block per layer.
  for (const char* n : {"prompt", "noprompt", "long", "mixed", "deep"})
    for (LlamaPromptPath p : {LlamaPromptPath::SharedPrefix, LlamaPromptPath::Replicated})
      for (Backend b : {Backend::CpuFast, Backend::CpuReference, Backend::Cuda}) {
        v.push_back({n, p, b});
        if (b != Backend::Cuda) v.push_back({n, p, b, Precision::Bf16});  // bf16: CPU backends
      }
  return v;
}

INSTANTIATE_TEST_SUITE_P(Tiny, LlamaGolden, testing::ValuesIn(golden_params()),
                         [](const testing::TestParamInfo<GoldenParam>& i) {
                           std::string s = std::string(i.param.name) + "_" + llama_prompt_path_name(i.param.path) +
                                           "_" + backend_name(i.param.backend) +
                                           (i.param.precision == Precision::Bf16 ? "_bf16" : "");
                           for (char& ch : s)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return s;
                         });

// ---------------------------------------------------------------- finite differences

struct FdParam {
  const char* model;  // "golden" (tiny HF checkpoint, tied, GQA, head_dim 10) | "mha" | "gqa" (random, untied)
  LlamaPromptPath path;
};

void PrintTo(const FdParam& p, std::ostream* os) { *os << p.model << "/" << llama_prompt_path_name(p.path); }

class LlamaFiniteDifference : public testing::TestWithParam<FdParam> {};

TEST_P(LlamaFiniteDifference, PromptGradientMatches) {
  const FdParam fp = GetParam();
  const std::string m = fp.model;
  if (m == "golden") REQUIRE_GOLDENS();
  Context ctx(Backend::CpuReference);
  LlamaWeights w = m == "golden" ? tiny_weights()
                                 : LlamaWeights::load(random_config(m == "gqa"), RandomTensorSource(42, 0.15f), Device::CPU);
  const int64_t V = w.config.vocab_size, d = w.config.hidden_size;
  LlamaModel model(ctx, std::move(w), fp.path);
  const PromptBatch batch = random_batch(V);
  Tensor prompt = random_prompt(4, d, 7);
  const RunResult r = model.run(batch, prompt, RunOptions{});
  ASSERT_TRUE(std::isfinite(r.loss));
  const double gmax = max_abs(r.prompt_grads[0]);
  ASSERT_GT(gmax, 1e-3) << "prompt gradient is (nearly) zero: the check would test nothing";
  RunOptions fwd;
  fwd.backward = false;
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<int64_t> pick(0, prompt.numel() - 1);
  double worst = 0;
  for (int s = 0; s < 16; ++s) {
    const int64_t i = pick(rng);
    const float x0 = prompt.f32()[i], h = 2e-3f;
    prompt.f32()[i] = x0 + h;
    const double lp = model.run(batch, prompt, fwd).loss;
    prompt.f32()[i] = x0 - h;
    const double lm = model.run(batch, prompt, fwd).loss;
    prompt.f32()[i] = x0;
    const double fd = (lp - lm) / (2.0 * static_cast<double>(h));
    const double an = r.prompt_grads[0].f32()[i];
    worst = std::max(worst, std::fabs(an - fd) / gmax);
    EXPECT_NEAR(an, fd, 1e-2 * gmax + 1e-2 * std::fabs(fd)) << "prompt element " << i;
  }
  std::printf("  [fd %s %s] max |analytic - fd| / max|grad| = %.3g (max|grad| %.3g)\n", fp.model,
              llama_prompt_path_name(fp.path), worst, gmax);
}

INSTANTIATE_TEST_SUITE_P(Variants, LlamaFiniteDifference,
                         testing::Values(FdParam{"golden", LlamaPromptPath::SharedPrefix},
                                         FdParam{"golden", LlamaPromptPath::Replicated},
                                         FdParam{"mha", LlamaPromptPath::SharedPrefix},
                                         FdParam{"gqa", LlamaPromptPath::SharedPrefix},
                                         FdParam{"gqa", LlamaPromptPath::Replicated}),
                         [](const testing::TestParamInfo<FdParam>& i) {
                           std::string s = std::string(i.param.model) + "_" + llama_prompt_path_name(i.param.path);
                           for (char& ch : s)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return s;
                         });

// ---------------------------------------------------------------- path and backend agreement

void expect_same(const RunResult& a, const RunResult& b, double tol, const char* what) {
  EXPECT_NEAR(a.loss, b.loss, tol * std::fabs(a.loss)) << what << ": loss";
  for (size_t e = 0; e < a.example_logprob.size(); ++e)
    EXPECT_NEAR(a.example_logprob[e], b.example_logprob[e], tol * std::max(1.0, std::fabs(a.example_logprob[e])))
        << what << ": example " << e;
  if (!a.prompt_grads.empty()) EXPECT_LT(rel_l2(b.prompt_grads[0], a.prompt_grads[0]), tol) << what << ": prompt gradient";
  if (a.logits.defined()) EXPECT_LT(rel_l2(b.logits, a.logits), tol) << what << ": logits";
}

// spot train's default learning rate for a Llama-family backbone: 0.25 x the RMS of its token
// embeddings (FrozenBackbone::default_prompt_lr), so it scales with them.
TEST(LlamaModel, DefaultPromptLrIsAQuarterOfTheEmbeddingRms) {
  const LlamaConfig c = random_config(false);
  Context ctx(Backend::CpuFast);
  for (float scale : {0.05f, 0.2f, 2.0f}) {
    LlamaModel model(ctx, LlamaWeights::load(c, RandomTensorSource(5, scale), Device::CPU));
    const Tensor e = model.input_embeddings_host();
    double ss = 0;
    for (int64_t i = 0; i < e.numel(); ++i) ss += double(e.f32()[i]) * e.f32()[i];
    const double rms = std::sqrt(ss / double(e.numel()));
    EXPECT_NEAR(model.default_prompt_lr(), 0.25 * rms, 0.25 * rms * 0.05) << "scale " << scale;  // two figures
    EXPECT_GT(model.default_prompt_lr(), 0);
  }
}

TEST(LlamaModel, SharedPrefixMatchesReplicated) {
  for (bool gqa : {false, true})
    for (Backend backend : {Backend::CpuReference, Backend::CpuFast}) {
      const LlamaConfig c = random_config(gqa);
      Context ctx(backend);
      LlamaModel model(ctx, LlamaWeights::load(c, RandomTensorSource(5, 0.2f), Device::CPU));
      const PromptBatch batch = random_batch(c.vocab_size);
      const Tensor prompt = random_prompt(6, c.hidden_size, 3);
      RunOptions opt;
      opt.keep_logits = true;
      model.set_prompt_path(LlamaPromptPath::SharedPrefix);
      const RunResult shared = model.run(batch, prompt, opt);
      model.set_prompt_path(LlamaPromptPath::Replicated);
      const RunResult repl = model.run(batch, prompt, opt);
      ASSERT_GT(max_abs(shared.prompt_grads[0]), 1e-4);
      expect_same(repl, shared, 1e-5, gqa ? "gqa" : "mha");
      std::printf("  [shared vs replicated, %s, %s] loss %.8f vs %.8f, prompt-grad rel L2 %.3g\n", gqa ? "gqa" : "mha",
                  backend_name(backend), shared.loss, repl.loss, rel_l2(shared.prompt_grads[0], repl.prompt_grads[0]));
    }
}

TEST(LlamaModel, FastPathMatchesReference) {
  for (LlamaPromptPath path : {LlamaPromptPath::SharedPrefix, LlamaPromptPath::Replicated}) {
    const LlamaConfig c = random_config(true);
    Context ref(Backend::CpuReference), fast(Backend::CpuFast);
    LlamaModel mr(ref, LlamaWeights::load(c, RandomTensorSource(9, 0.2f), Device::CPU), path);
    LlamaModel mf(fast, LlamaWeights::load(c, RandomTensorSource(9, 0.2f), Device::CPU), path);
    const PromptBatch batch = random_batch(c.vocab_size);
    const Tensor prompt = random_prompt(5, c.hidden_size, 1);
    RunOptions opt;
    opt.keep_logits = true;
    const RunResult a = mr.run(batch, prompt, opt), b = mf.run(batch, prompt, opt);
    expect_same(a, b, 1e-5, llama_prompt_path_name(path));
  }
}

// L = 0: the frozen LM alone scores the targets; both paths agree and the batch composition does
// not change an example's log-likelihood (right padding under a causal mask).
TEST(LlamaModel, ScoresWithoutPromptAndIgnoresPadding) {
  const LlamaConfig c = random_config(true);
  Context ctx(Backend::CpuFast);
  LlamaModel model(ctx, LlamaWeights::load(c, RandomTensorSource(4, 0.2f), Device::CPU));
  const PromptBatch batch = random_batch(c.vocab_size);
  RunOptions opt;
  opt.backward = false;
  const RunResult all = model.run(batch, Tensor(), opt);
  EXPECT_TRUE(all.prompt_grads.empty());
  EXPECT_EQ(all.target_tokens, 3 + 4 + 1 + 3);
  model.set_prompt_path(LlamaPromptPath::Replicated);
  expect_same(all, model.run(batch, Tensor(), opt), 1e-6, "L = 0 paths");
  model.set_prompt_path(LlamaPromptPath::SharedPrefix);
  const Tensor prompt = random_prompt(3, c.hidden_size, 8);
  const RunResult with_prompt = model.run(batch, prompt, opt);
  for (size_t e = 0; e < batch.size(); ++e) {
    PromptBatch one;
    one.inputs = {batch.inputs[e]};
    one.targets = {batch.targets[e]};
    EXPECT_NEAR(model.run(one, Tensor(), opt).example_logprob[0], all.example_logprob[e], 1e-4) << "example " << e;
    one.pad_inputs_to = 9;  // fixed shapes: more padding, same result
    one.pad_targets_to = 6;
    const RunResult padded = model.run(one, prompt, opt);
    EXPECT_NEAR(padded.example_logprob[0], with_prompt.example_logprob[e], 1e-4) << "padded example " << e;
    EXPECT_EQ(padded.example_tokens[0], static_cast<int64_t>(batch.targets[e].size()));
  }
  // The prompt changes the scores (it is actually attended to).
  EXPECT_GT(std::fabs(with_prompt.loss - all.loss), 1e-4);
}

// keep_input_mean (the data kind of task embedding): the final-normed hidden states averaged over an
// example's input tokens. Checked through the LM head, which is linear in those states: the logits
// of the first target after each prefix x[0..j) come from the row j−1 (causal), so W·mean equals
// the mean of those logits. The same on both prompt paths, with a prompt too, and whatever the batch.
TEST(LlamaModel, InputMeanIsTheMeanOfTheFinalNormedInputStates) {
  const LlamaConfig c = random_config(true);
  Context ctx(Backend::CpuFast);
  const LlamaWeights w = LlamaWeights::load(c, RandomTensorSource(4, 0.2f), Device::CPU);
  const Tensor W = w.lm_head;
  LlamaModel model(ctx, LlamaWeights::load(c, RandomTensorSource(4, 0.2f), Device::CPU));
  const PromptBatch batch = random_batch(c.vocab_size);
  RunOptions opt;
  opt.backward = false;
  opt.keep_input_mean = true;
  const RunResult all = model.run(batch, Tensor(), opt);
  const int64_t d = c.hidden_size, V = c.vocab_size;
  ASSERT_EQ(all.input_mean.dim(0), static_cast<int64_t>(batch.size()));
  RunOptions lo;
  lo.backward = false;
  lo.keep_logits = true;
  for (size_t e = 0; e < batch.size(); ++e) {
    const auto& in = batch.inputs[e];
    std::vector<double> mean_logits(V, 0.0);
    for (size_t j = 1; j <= in.size(); ++j) {
      PromptBatch one;
      one.inputs = {std::vector<int32_t>(in.begin(), in.begin() + j)};
      one.targets = {{1}};
      const RunResult r = model.run(one, Tensor(), lo);
      for (int64_t v = 0; v < V; ++v) mean_logits[v] += r.logits.f32()[v] / static_cast<double>(in.size());
    }
    double worst = 0;
    for (int64_t v = 0; v < V; ++v) {
      double wm = 0;
      for (int64_t k = 0; k < d; ++k) wm += double(W.f32()[v * d + k]) * all.input_mean.f32()[e * d + k];
      worst = std::max(worst, std::fabs(wm - mean_logits[v]));
    }
    EXPECT_LT(worst, 1e-4) << "example " << e;
  }
  // With a prompt: the shared and replicated paths agree, and an example alone gives its row.
  const Tensor prompt = random_prompt(3, c.hidden_size, 8);
  const RunResult shared = model.run(batch, prompt, opt);
  model.set_prompt_path(LlamaPromptPath::Replicated);
  const RunResult repl = model.run(batch, prompt, opt);
  PromptBatch one;
  one.inputs = {batch.inputs[1]};
  one.targets = {batch.targets[1]};
  const RunResult alone = model.run(one, prompt, opt);
  double diff_paths = 0, diff_alone = 0, diff_prompt = 0;
  for (int64_t i = 0; i < shared.input_mean.numel(); ++i) {
    diff_paths = std::max(diff_paths, std::fabs(double(shared.input_mean.f32()[i]) - repl.input_mean.f32()[i]));
    diff_prompt = std::max(diff_prompt, std::fabs(double(shared.input_mean.f32()[i]) - all.input_mean.f32()[i]));
  }
  for (int64_t k = 0; k < d; ++k)
    diff_alone = std::max(diff_alone, std::fabs(double(alone.input_mean.f32()[k]) - repl.input_mean.f32()[d + k]));
  EXPECT_LT(diff_paths, 1e-5);
  EXPECT_LT(diff_alone, 1e-5);
  EXPECT_GT(diff_prompt, 1e-4);  // the prompt is attended to
}

TEST(LlamaModel, MemoryReportAndFlops) {
  const LlamaConfig c = random_config(true);
  Context ctx(Backend::CpuFast);
  LlamaModel model(ctx, LlamaWeights::load(c, RandomTensorSource(4, 0.2f), Device::CPU));
  PromptBatch batch;
  for (int b = 0; b < 3; ++b) {
    batch.inputs.push_back({1, 2, 3, 4, 5});
    batch.targets.push_back({6, 7, 8});
  }
  const Tensor prompt = random_prompt(4, c.hidden_size, 2);
  model.run(batch, prompt, RunOptions{});
  const MemoryReport shared = model.last_memory_report();
  EXPECT_GT(shared.saved_activation_bytes, 0);
  EXPECT_GT(shared.full_backward_extra_bytes, 0);
  EXPECT_DOUBLE_EQ(shared.weight_gradient_bytes, shared.weight_bytes);
  model.set_prompt_path(LlamaPromptPath::Replicated);
  model.run(batch, prompt, RunOptions{});
  EXPECT_LT(shared.saved_activation_bytes, model.last_memory_report().saved_activation_bytes);
  // Sharing the prefix removes (B − 1)·L rows from every layer: fewer FLOPs, forward and backward.
  const double fr = model.count_flops(8, 63, 20, 1, true);
  model.set_prompt_path(LlamaPromptPath::SharedPrefix);
  const double fs = model.count_flops(8, 63, 20, 1, true);
  EXPECT_LT(fs, fr);
  EXPECT_GT(model.count_flops(8, 63, 20, 1, true), model.count_flops(8, 63, 20, 1, false));
}

TEST(LlamaModel, RejectsBadInput) {
  const LlamaConfig c = random_config(true);
  Context ctx(Backend::CpuFast);
  LlamaModel model(ctx, LlamaWeights::load(c, RandomTensorSource(1), Device::CPU));
  const Tensor prompt = random_prompt(3, c.hidden_size, 2);
  auto expect_error = [&](const PromptBatch& b, const PromptSet& p, const RunOptions& o, const char* fragment) {
    try {
      model.run(b, p, o);
      ADD_FAILURE() << "no error; expected one mentioning '" << fragment << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  PromptBatch bad = random_batch(c.vocab_size);
  bad.inputs[1][0] = 999;
  expect_error(bad, PromptSet::single(prompt), RunOptions{}, "outside the vocabulary");
  bad = random_batch(c.vocab_size);
  bad.targets[2][0] = -3;
  expect_error(bad, PromptSet::single(prompt), RunOptions{}, "target token");
  bad = random_batch(c.vocab_size);
  bad.inputs[0].clear();
  expect_error(bad, PromptSet::single(prompt), RunOptions{}, "no input token");
  expect_error(random_batch(c.vocab_size), PromptSet::single(prompt, PromptPlacement::suffix()), RunOptions{},
               "decoder-only");
  expect_error(random_batch(c.vocab_size), PromptSet{}, RunOptions{}, "backward needs a prompt");
  expect_error(random_batch(c.vocab_size), PromptSet::single(random_prompt(3, c.hidden_size + 1, 2)), RunOptions{}, "prompt");
  RunOptions enc;
  enc.keep_encoder_output = true;
  expect_error(random_batch(c.vocab_size), PromptSet::single(prompt), enc, "no encoder");
  PromptBatch longb;
  longb.inputs = {std::vector<int32_t>(600, 3)};
  longb.targets = {{4}};
  expect_error(longb, PromptSet::single(prompt), RunOptions{}, "max_position_embeddings");
}

// ---------------------------------------------------------------- config

TEST(LlamaConfig, ReadsHfConfig) {
  REQUIRE_GOLDENS();
  const LlamaConfig c = llama_config_from_json(kTinyDir + "/config.json");  // transformers 5.x: rope_parameters
  EXPECT_EQ(c.vocab_size, 311);
  EXPECT_EQ(c.hidden_size, 60);
  EXPECT_EQ(c.intermediate_size, 84);
  EXPECT_EQ(c.num_hidden_layers, 3);
  EXPECT_EQ(c.num_attention_heads, 6);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.head_dim, 10);
  EXPECT_FLOAT_EQ(c.rms_norm_eps, 1e-5f);
  EXPECT_FLOAT_EQ(c.rope_theta, 100000.0f);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_EQ(c.eos_token_id, 2);
  EXPECT_EQ(c.max_position_embeddings, 256);
}

TEST(LlamaConfig, ReadsTransformers4StyleSmolLM2Config) {
  // The keys of HuggingFaceTB/SmolLM2-135M-Instruct's config.json that the model uses.
  const std::string text = R"({"architectures": ["LlamaForCausalLM"], "attention_bias": false, "bos_token_id": 1,
    "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 576, "intermediate_size": 1536,
    "max_position_embeddings": 8192, "mlp_bias": false, "model_type": "llama", "num_attention_heads": 9,
    "num_hidden_layers": 30, "num_key_value_heads": 3, "pad_token_id": 2, "pretraining_tp": 1,
    "rms_norm_eps": 1e-05, "rope_scaling": null, "rope_theta": 100000, "tie_word_embeddings": true,
    "torch_dtype": "bfloat16", "vocab_size": 49152})";
  const LlamaConfig c = llama_config_from_json_text(text, "smollm2/config.json");
  const LlamaConfig ref = LlamaConfig::smollm2_135m();
  EXPECT_EQ(c.head_dim, 64);  // hidden / heads
  EXPECT_EQ(c.describe(), ref.describe());
  EXPECT_EQ(c.max_position_embeddings, ref.max_position_embeddings);
}

TEST(LlamaConfig, ErrorsNameTheFileAndKey) {
  auto expect_error = [](const std::string& text, const char* fragment) {
    try {
      llama_config_from_json_text(text, "some/config.json");
      ADD_FAILURE() << "no error for " << text;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("some/config.json"), std::string::npos) << msg;
      EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
    }
  };
  const std::string base = R"("vocab_size": 10, "hidden_size": 8, "intermediate_size": 12, "num_hidden_layers": 1,
    "num_attention_heads": 2)";
  EXPECT_NO_THROW(llama_config_from_json_text("{" + base + "}", "x"));
  expect_error(R"({"hidden_size": 8})", "'vocab_size'");
  expect_error("{" + base + R"(, "model_type": "t5"})", "'model_type'");
  expect_error("{" + base + R"(, "num_key_value_heads": 3})", "'num_attention_heads'");
  expect_error("{" + base + R"(, "rope_scaling": {"rope_type": "llama3", "factor": 8.0}})", "'rope_scaling.rope_type'");
  expect_error("{" + base + R"(, "rope_parameters": {"rope_type": "yarn", "rope_theta": 10000}})", "rope_parameters");
  expect_error("{" + base + R"(, "attention_bias": true})", "'attention_bias'");
  expect_error("{" + base + R"(, "hidden_act": "gelu"})", "'hidden_act'");
  expect_error("{" + base + R"(, "head_dim": 5})", "'head_dim'");
  expect_error("{" + base + R"(, "hidden_size": "big"})", "'hidden_size'");
  expect_error("{" + base + R"(, "eos_token_id": 99})", "'eos_token_id'");
  expect_error("{" + base, "not valid JSON");
  // Several eos ids (Llama 3 style): the first is kept.
  EXPECT_EQ(llama_config_from_json_text("{" + base + R"(, "eos_token_id": [7, 8]})", "x").eos_token_id, 7);
}

TEST(LlamaWeights, MissingTensorIsNamed) {
  REQUIRE_GOLDENS();
  LlamaConfig c = llama_config_from_json(kTinyDir + "/config.json");
  c.tie_word_embeddings = false;  // the tiny checkpoint has no lm_head.weight
  try {
    LlamaWeights::load(c, io::SafetensorsSource(kTinyDir + "/model.safetensors"), Device::CPU);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lm_head.weight"), std::string::npos) << e.what();
  }
  c = llama_config_from_json(kTinyDir + "/config.json");
  c.num_hidden_layers = 4;
  EXPECT_THROW(LlamaWeights::load(c, io::SafetensorsSource(kTinyDir + "/model.safetensors"), Device::CPU), Error);
}


// ---------------------------------------------------------------- prompt sets (model/prompt_set.h)

PromptBatch five_batch(int64_t vocab) {
  PromptBatch b;
  b.inputs = {{5, 9, 17, 3, 22, 1}, {7, 30}, {11, 12, 13, 14, 1}, {4}, {6, 16, 26}};
  b.targets = {{4, 8, 1}, {19, 1, 60, 2}, {2}, {40, 41, 1}, {33, 1}};
  for (auto* v : {&b.inputs, &b.targets})
    for (auto& s : *v)
      for (auto& t : s) t %= static_cast<int32_t>(vocab);
  return b;
}

// Three prompts of lengths 4, 2 and 3 over five examples, and a fourth no example uses.
PromptSet mixed_set(int64_t d, bool deep, int64_t layers) {
  PromptSet s;
  const std::vector<int64_t> lens = {4, 2, 3, 2};
  for (size_t k = 0; k < lens.size(); ++k) {
    Tensor p = random_prompt(deep ? layers * lens[k] : lens[k], d, 31 + k);
    s.prompts.push_back(deep ? p.reshape({layers, lens[k], d}) : p);
  }
  s.example_prompt = {0, 2, 1, 0, 2};
  if (deep) s.placement.depth = PromptDepth::Deep;
  return s;
}

PromptSet deep_single(int64_t d, int64_t layers) {
  PromptSet s = PromptSet::single(random_prompt(layers * 4, d, 41).reshape({layers, 4, d}));
  s.placement.depth = PromptDepth::Deep;
  return s;
}

struct LlamaSetParam {
  LlamaPromptPath path;
  bool deep;
  bool mixed;
};

void PrintTo(const LlamaSetParam& p, std::ostream* os) {
  *os << llama_prompt_path_name(p.path) << (p.mixed ? "/mixed" : "/single") << (p.deep ? "/deep" : "/input");
}

class LlamaPromptSetFd : public testing::TestWithParam<LlamaSetParam> {};

TEST_P(LlamaPromptSetFd, GradientOfEveryPromptMatches) {
  const LlamaSetParam p = GetParam();
  Context ctx(Backend::CpuReference);
  LlamaWeights w = LlamaWeights::load(random_config(true), RandomTensorSource(42, 0.15f), Device::CPU);
  const int64_t V = w.config.vocab_size, d = w.config.hidden_size, layers = w.config.num_hidden_layers;
  LlamaModel model(ctx, std::move(w), p.path);
  const PromptSet set = p.mixed ? mixed_set(d, p.deep, layers) : deep_single(d, layers);
  const test::FdReport r = test::check_prompt_set_fd(model, five_batch(V), set, 8, 2e-3f, 1e-2);
  EXPECT_GT(r.checked, 0);
  std::printf("  [fd llama %s %s %s] worst %.3g of max|grad| %.3g over %d elements\n", llama_prompt_path_name(p.path),
              p.mixed ? "mixed" : "single", p.deep ? "deep" : "input", r.worst, r.gmax, r.checked);
}

INSTANTIATE_TEST_SUITE_P(Sets, LlamaPromptSetFd,
                         testing::Values(LlamaSetParam{LlamaPromptPath::SharedPrefix, false, true},
                                         LlamaSetParam{LlamaPromptPath::SharedPrefix, true, false},
                                         LlamaSetParam{LlamaPromptPath::Replicated, true, false},
                                         LlamaSetParam{LlamaPromptPath::SharedPrefix, true, true}),
                         [](const testing::TestParamInfo<LlamaSetParam>& i) {
                           std::string s = std::string(llama_prompt_path_name(i.param.path)) +
                                           (i.param.mixed ? "_mixed" : "_single") + (i.param.deep ? "_deep" : "_input");
                           for (char& ch : s)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return s;
                         });

// A mixed-task batch is the examples run each on its own (same log-likelihoods; each prompt's
// gradient the token-weighted sum of its examples' own), and a deep prompt gives the same result on
// the shared-prefix path as on the replicated one.
TEST(LlamaPromptSet, MixedBatchIsEachExampleOnItsOwn) {
  for (bool deep : {false, true}) {
    Context ctx(Backend::CpuFast);
    LlamaWeights w = LlamaWeights::load(random_config(true), RandomTensorSource(5, 0.15f), Device::CPU);
    const int64_t V = w.config.vocab_size, d = w.config.hidden_size, layers = w.config.num_hidden_layers;
    LlamaModel model(ctx, std::move(w));
    const PromptBatch batch = five_batch(V);
    const PromptSet set = mixed_set(d, deep, layers);
    const RunResult all = model.run(batch, set, RunOptions{});
    std::vector<Tensor> want;
    for (const Tensor& p : set.prompts) want.push_back(Tensor::zeros(p.shape()));
    for (size_t b = 0; b < batch.size(); ++b) {
      PromptBatch one;
      one.inputs = {batch.inputs[b]};
      one.targets = {batch.targets[b]};
      const int32_t k = set.prompt_of(b);
      PromptSet alone = PromptSet::single(set.prompts[k]);
      alone.placement.depth = set.placement.depth;
      const RunResult r = model.run(one, alone, RunOptions{});  // one prompt: the shared-prefix path
      EXPECT_NEAR(all.example_logprob[b], r.example_logprob[0], 1e-5 * std::max(1.0, std::fabs(r.example_logprob[0])))
          << "example " << b << (deep ? " (deep)" : "");
      const float wgt = static_cast<float>(r.target_tokens) / static_cast<float>(all.target_tokens);
      for (int64_t i = 0; i < want[k].numel(); ++i) want[k].f32()[i] += wgt * r.prompt_grads[0].f32()[i];
    }
    for (size_t k = 0; k < want.size(); ++k) {
      if (k == 3) {
        for (int64_t i = 0; i < all.prompt_grads[k].numel(); ++i) EXPECT_EQ(all.prompt_grads[k].f32()[i], 0.0f);
        continue;
      }
      EXPECT_LT(rel_l2(all.prompt_grads[k], want[k]), 1e-5) << "prompt " << k << (deep ? " (deep)" : "");
    }
  }
}

TEST(LlamaPromptSet, DeepSharedPrefixMatchesReplicated) {
  Context ctx(Backend::CpuFast);
  LlamaWeights w = LlamaWeights::load(random_config(false), RandomTensorSource(8, 0.15f), Device::CPU);
  const int64_t V = w.config.vocab_size, d = w.config.hidden_size, layers = w.config.num_hidden_layers;
  LlamaModel model(ctx, std::move(w));
  const PromptSet set = deep_single(d, layers);
  RunOptions o;
  o.keep_logits = true;
  const RunResult shared = model.run(five_batch(V), set, o);
  model.set_prompt_path(LlamaPromptPath::Replicated);
  const RunResult repl = model.run(five_batch(V), set, o);
  EXPECT_NEAR(shared.loss, repl.loss, 1e-5 * std::fabs(repl.loss));
  EXPECT_LT(max_abs_diff(shared.logits, repl.logits), 1e-4);
  EXPECT_LT(rel_l2(shared.prompt_grads[0], repl.prompt_grads[0]), 1e-5);
}

// KV-cache decoding with a deep prompt writes each layer's block over the prompt rows, as run() does.
TEST(LlamaPromptSet, GenerateWithDeepPromptMatchesRun) {
  REQUIRE_GOLDENS();
  Context ctx(Backend::CpuFast);
  LlamaModel model(ctx, tiny_weights());
  const GoldenCase g = load_case("deep");
  const std::vector<int32_t> ids = g.batch.inputs[1];
  const std::vector<int32_t> out = model.generate(g.prompt, ids, 5, /*stop_id=*/-1, {}, PromptDepth::Deep);
  ASSERT_EQ(out.size(), 5u);
  PromptBatch b;
  b.inputs = {ids};
  b.targets = {out};
  RunOptions o;
  o.backward = false;
  o.keep_logits = true;
  const RunResult r = model.run(b, g.set, o);
  const int64_t V = model.vocab_size();
  for (size_t t = 0; t < out.size(); ++t) {
    const float* row = r.logits.f32() + t * V;
    EXPECT_EQ(std::max_element(row, row + V) - row, out[t]) << "step " << t;
  }
  // The blocks above layer 0 matter: decoding with block 0 alone (depth input) differs.
  Tensor block0 = g.prompt.reshape({-1, model.d_model()}).rows(0, g.prompt.dim(1)).clone();
  const RunResult input_only = model.run(b, PromptSet::single(block0), o);
  EXPECT_GT(max_abs_diff(input_only.logits, r.logits), 1e-2);
  test::expect_error([&] { model.generate(block0, ids, 2, -1, {}, PromptDepth::Deep); }, "deep prompt");
}

}  // namespace
}  // namespace spot
