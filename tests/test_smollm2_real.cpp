// test_smollm2_real.cpp — the real SmolLM2-135M-Instruct (Q4_1 GGUF from the cache) against HF
// transformers loading the same file (tests/golden/gen_smollm2_logits.py -> smollm2/logits.json):
// tokenizer ids, last-position logits (top-100, 400 fixed probes, logsumexp), the teacher-forced
// mean log-likelihood of ten GLUE/SuperGLUE sentences, and the greedy continuation of a chat prompt;
// generation with a soft prompt against run(); `spot generate` / `spot score` end to end.
//
// Tolerance (logits, absolute): both sides dequantise the same blocks (Q4_1 linears, Q8_0 embedding =
// tied LM head) to the same fp32 weights, so they differ only in fp32 summation order. The golden's noise
// floor — HF float32 against the same model in float64 — is 2.9e-5 on last-position logits and 1.1e-4 at
// the worst position (max |logit| 40.6, fp32 ulp there 3.8e-6); HF's own sdpa and eager attention differ
// by 3.1e-5. Two independent fp32 orderings are each about one floor away from the exact value, so they
// should agree within ~2-3 floors; kLogitTol = 3e-4 (10x the last-position floor, 7e-6 of the largest
// logit). Mistakes move these logits by more (tests/golden/check_smollm2_sensitivity.py, HF): RoPE theta
// 1e4: 3.3; Q/K rows in GGUF order: 17; a dropped layer: 33; RMSNorm eps 1e-6: 7.3e-3, eps 10% off:
// 8.1e-4; one 32-wide Q4_1 block column of one matrix off by an f16 ulp of its scale: 4.2e-4. Mean log-
// likelihood: floor 3.0e-6, tolerance 3e-5. Measured (CPU fast path): 2.9e-5 max abs on last-position
// logits (at the floor; 1.8e-5 on the fp64-accumulating reference backend) and 5.2e-6 on mean log-
// likelihood; greedy generation identical for all 24 tokens (smallest HF top-2 margin 0.063). The CLI
// tests run the spot binary: generate reproduces the golden text, score prints what LlamaModel::run
// computes, and bad input gets a named error.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <random>

#include "model/codecs.h"
#include "io/safetensors.h"
#include "model/llama/llama_model.h"
#include "model/registry.h"
#include "tests/gguf_test_util.h"
#include "prompt/soft_prompt.h"

namespace spot {
namespace {

namespace json = boost::json;

constexpr double kLogitTol = 3e-4;
constexpr double kLogLikTol = 3e-5;

std::vector<int32_t> ints(const json::value& v) {
  std::vector<int32_t> out;
  for (const auto& x : v.as_array()) out.push_back(static_cast<int32_t>(x.to_number<int64_t>()));
  return out;
}

std::vector<double> doubles(const json::value& v) {
  std::vector<double> out;
  for (const auto& x : v.as_array()) out.push_back(x.to_number<double>());
  return out;
}

struct Sentence {
  std::string source, text;
  std::vector<int32_t> ids, top_ids;
  std::vector<double> top_logits, probe_logits;
  double logsumexp = 0, mean_loglik = 0;
};

struct Golden {
  std::vector<int32_t> probe_ids;
  std::vector<Sentence> sentences;
  json::object noise_floor, generation;
};

const Golden& golden() {
  static const Golden g = [] {
    Golden g;
    const json::object root = test::read_json(test::golden_dir() + "/smollm2/logits.json").as_object();
    g.probe_ids = ints(root.at("probe_ids"));
    for (const auto& v : root.at("sentences").as_array()) {
      const json::object& o = v.as_object();
      const json::object& last = o.at("last").as_object();
      g.sentences.push_back({std::string(o.at("source").as_string()), std::string(o.at("text").as_string()),
                             ints(o.at("ids")), ints(last.at("top_ids")), doubles(last.at("top_logits")),
                             doubles(last.at("probe_logits")), last.at("logsumexp").to_number<double>(),
                             o.at("mean_loglik").to_number<double>()});
    }
    g.noise_floor = root.at("noise_floor").as_object();
    g.generation = root.at("generation").as_object();
    return g;
  }();
  return g;
}

// The model and both codecs, loaded once for the suite (~1 s) on the given backend.
struct Loaded {
  std::unique_ptr<Context> ctx;
  LoadedBackbone plain, chat;  // chat: the same weights loaded again with the chat-template codec
  LlamaModel& model() { return dynamic_cast<LlamaModel&>(*plain.model); }
};

Loaded& loaded(Backend backend) {
  static std::map<Backend, std::unique_ptr<Loaded>> cache;
  auto& slot = cache[backend];
  if (!slot) {
    slot = std::make_unique<Loaded>();
    slot->ctx = std::make_unique<Context>(backend);
    const std::string spec = "gguf:" + test::smollm2_gguf_path();
    slot->plain = load_backbone(*slot->ctx, spec, {});
    BackboneOptions o;
    o.chat = true;
    slot->chat.codec = load_backbone(*slot->ctx, spec, o).codec;
  }
  return *slot;
}

// Last-position logits [V] of `ids`: the next-token prediction after the whole sentence. run()
// returns logits only at target-predicting rows, so the sentence is the input and one dummy target
// (its value does not change the logits that predict it).
std::vector<float> last_logits(LlamaModel& m, const std::vector<int32_t>& ids) {
  PromptBatch b;
  b.inputs = {ids};
  b.targets = {{0}};
  RunOptions o;
  o.backward = false;
  o.keep_logits = true;
  const RunResult r = m.run(b, Tensor(), o);
  EXPECT_EQ(r.logits.shape(), (Shape{1, 1, m.vocab_size()}));
  return std::vector<float>(r.logits.f32(), r.logits.f32() + m.vocab_size());
}

class SmolLM2Real : public testing::Test {
 protected:
  void SetUp() override { SPOT_SKIP_WITHOUT_SMOLLM2(test::smollm2_gguf_path()); }
};

TEST_F(SmolLM2Real, GoldenIsWhatTheTestExpects) {
  const Golden& g = golden();
  ASSERT_EQ(g.sentences.size(), 10u);
  ASSERT_EQ(g.probe_ids.size(), 400u);
  bool digits = false;
  for (const Sentence& s : g.sentences) {
    EXPECT_EQ(s.top_ids.size(), 100u) << s.source;
    EXPECT_EQ(s.probe_logits.size(), 400u) << s.source;
    EXPECT_LE(s.ids.size(), 105u) << s.source;
    digits = digits || std::any_of(s.text.begin(), s.text.end(), [](char c) { return c >= '0' && c <= '9'; });
  }
  EXPECT_TRUE(digits) << "one sentence must have digits (SmolLM2 splits them individually)";
  // The tolerance must stay above what fp32 ordering alone can produce.
  EXPECT_LT(g.noise_floor.at("last_logits_max_abs").to_number<double>() * 3, kLogitTol);
  EXPECT_LT(g.noise_floor.at("mean_loglik_abs").to_number<double>() * 3, kLogLikTol);
}

TEST_F(SmolLM2Real, TokenizerIdsEqualTransformers) {
  Loaded& L = loaded(Backend::CpuFast);
  for (const Sentence& s : golden().sentences)
    EXPECT_EQ(L.plain.codec->encode_input(s.text), s.ids) << s.source << ": " << s.text;
  const json::object& gen = golden().generation;
  const std::string user = std::string(gen.at("messages").as_array()[0].as_object().at("content").as_string());
  EXPECT_EQ(L.chat.codec->encode_input(user), ints(gen.at("ids"))) << "chat template around: " << user;
}

// Compares our last-position logits with the golden's compact form; returns the max abs error.
double check_last_logits(LlamaModel& m, const Sentence& s, const std::vector<int32_t>& probe_ids, double tol) {
  const std::vector<float> z = last_logits(m, s.ids);
  double err = 0;
  for (size_t i = 0; i < s.top_ids.size(); ++i)
    err = std::max(err, std::abs(z[s.top_ids[i]] - s.top_logits[i]));
  for (size_t i = 0; i < probe_ids.size(); ++i)
    err = std::max(err, std::abs(z[probe_ids[i]] - s.probe_logits[i]));
  EXPECT_LE(err, tol) << s.source << ": max abs logit error";
  // The golden's top-100 are the 100 largest: ours holds no other id above the 100th value (beyond
  // the tolerance), and the argmax agrees unless HF's top two are within the tolerance.
  const double hundredth = s.top_logits.back();
  std::vector<bool> in_top(z.size(), false);
  for (int32_t id : s.top_ids) in_top[id] = true;
  for (size_t v = 0; v < z.size(); ++v)
    if (!in_top[v]) EXPECT_LT(z[v], hundredth + tol) << s.source << ": id " << v << " would be in HF's top-100";
  const int32_t arg = static_cast<int32_t>(std::max_element(z.begin(), z.end()) - z.begin());
  if (s.top_logits[0] - s.top_logits[1] > 2 * tol) EXPECT_EQ(arg, s.top_ids[0]) << s.source;
  double mx = -1e300, sum = 0;
  for (float v : z) mx = std::max(mx, static_cast<double>(v));
  for (float v : z) sum += std::exp(v - mx);
  const double lse = mx + std::log(sum);
  EXPECT_NEAR(lse, s.logsumexp, tol) << s.source << ": logsumexp";
  return std::max(err, std::abs(lse - s.logsumexp));
}

TEST_F(SmolLM2Real, LastPositionLogitsMatchTransformers) {
  Loaded& L = loaded(Backend::CpuFast);
  double worst = 0;
  for (const Sentence& s : golden().sentences) {
    const double e = check_last_logits(L.model(), s, golden().probe_ids, kLogitTol);
    std::printf("  %-40s %3zu tokens  max abs logit error %.3g\n", s.source.c_str(), s.ids.size(), e);
    worst = std::max(worst, e);
  }
  std::printf("SmolLM2 last-position logits, cpu fast path: max abs error %.3g over 10 sentences (HF f32 vs f64 "
              "floor %.3g; tolerance %.3g)\n",
              worst, golden().noise_floor.at("last_logits_max_abs").to_number<double>(), kLogitTol);
}

// The scalar reference backend (fp64 accumulation) on the two shortest sentences: a second summation
// order, closer to HF's float64 run.
TEST_F(SmolLM2Real, ReferenceBackendLogitsMatchTransformers) {
  Loaded& L = loaded(Backend::CpuReference);
  double worst = 0;
  for (size_t i = 0; i < 2; ++i) worst = std::max(worst, check_last_logits(L.model(), golden().sentences[i],
                                                                           golden().probe_ids, kLogitTol));
  std::printf("SmolLM2 last-position logits, reference backend: max abs error %.3g (2 sentences)\n", worst);
}

// All ten sentences in one padded batch: input = the first token, targets = the rest; the mean
// log-likelihood of each equals HF's (padding must not leak between examples).
TEST_F(SmolLM2Real, MeanLogLikelihoodMatchesTransformers) {
  Loaded& L = loaded(Backend::CpuFast);
  PromptBatch b;
  for (const Sentence& s : golden().sentences) {
    b.inputs.push_back({s.ids[0]});
    b.targets.emplace_back(s.ids.begin() + 1, s.ids.end());
  }
  RunOptions o;
  o.backward = false;
  const RunResult r = L.model().run(b, Tensor(), o);
  double worst = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    const Sentence& s = golden().sentences[i];
    ASSERT_EQ(r.example_tokens[i], static_cast<int64_t>(s.ids.size()) - 1);
    const double mean = r.example_logprob[i] / static_cast<double>(r.example_tokens[i]);
    EXPECT_NEAR(mean, s.mean_loglik, kLogLikTol) << s.source;
    worst = std::max(worst, std::abs(mean - s.mean_loglik));
  }
  std::printf("SmolLM2 mean log-likelihood: max abs error %.3g over 10 sentences (floor %.3g)\n", worst,
              golden().noise_floor.at("mean_loglik_abs").to_number<double>());
}

// KV-cache greedy decoding of the chat prompt reproduces HF's generate() token for token, and the
// streaming callback sees the same tokens in order.
TEST_F(SmolLM2Real, GreedyGenerationMatchesTransformers) {
  Loaded& L = loaded(Backend::CpuFast);
  const json::object& gen = golden().generation;
  const std::vector<int32_t> ids = ints(gen.at("ids")), want = ints(gen.at("new_ids"));
  const int64_t max_new = gen.at("max_new_tokens").to_number<int64_t>();
  const int32_t stop = static_cast<int32_t>(gen.at("stop_id").to_number<int64_t>());
  ASSERT_EQ(stop, L.chat.codec->eos_id());
  std::vector<int32_t> streamed;
  const std::vector<int32_t> got = L.model().generate(Tensor(), ids, max_new, stop, [&](int32_t t) { streamed.push_back(t); });
  std::vector<int32_t> expect = want;
  if (!expect.empty() && expect.back() == stop) expect.pop_back();  // HF keeps the stop token, we do not
  EXPECT_EQ(got, expect) << "ours: " << L.chat.codec->decode(got) << "\nHF:   " << L.chat.codec->decode(expect);
  EXPECT_EQ(streamed, got);
  EXPECT_EQ(L.chat.codec->decode(got), std::string(gen.at("new_text").as_string()));
}

// With a soft prompt, generate() (prefill with the prompt rows, then the KV cache) and run()
// (teacher-forced over the generated tokens, on either prompt path) agree on every greedy choice.
TEST_F(SmolLM2Real, GenerateWithSoftPromptAgreesWithRun) {
  Loaded& L = loaded(Backend::CpuFast);
  LlamaModel& m = L.model();
  PromptInit init;  // U(-0.5, 0.5) (Lester et al.'s uniform init): rows far larger than token embeddings
  init.mode = "uniform";
  init.seed = 7;
  const Tensor prompt = SoftPrompt::init(6, m.input_embeddings_host(), init).values;
  const std::vector<int32_t> ids = golden().sentences[3].ids;
  const std::vector<int32_t> out = m.generate(prompt, ids, 6, /*stop_id=*/-1);
  ASSERT_EQ(out.size(), 6u);
  for (LlamaPromptPath path : {LlamaPromptPath::SharedPrefix, LlamaPromptPath::Replicated}) {
    m.set_prompt_path(path);
    PromptBatch b;
    b.inputs = {ids};
    b.targets = {out};
    RunOptions o;
    o.backward = false;
    o.keep_logits = true;
    const RunResult r = m.run(b, prompt, o), bare = m.run(b, Tensor(), o);
    const int64_t V = m.vocab_size();
    double change = 0;  // the prompt must matter, or the agreement below says nothing about it
    for (int64_t i = 0; i < r.logits.numel(); ++i)
      change = std::max(change, static_cast<double>(std::abs(r.logits.f32()[i] - bare.logits.f32()[i])));
    EXPECT_GT(change, 0.5) << llama_prompt_path_name(path);
    for (size_t t = 0; t < out.size(); ++t) {
      const float* row = r.logits.f32() + t * V;
      EXPECT_EQ(std::max_element(row, row + V) - row, out[t]) << llama_prompt_path_name(path) << " step " << t;
    }
  }
  m.set_prompt_path(LlamaPromptPath::SharedPrefix);
}

// ---- the CLI: `spot generate` and `spot score` on the real model, and their errors

struct CliRun {
  int status = -1;
  std::string out, err;
};

// ctest runs test cases as separate processes, two at a time: every scratch name carries the pid.
std::string scratch(const std::string& name) { return testing::TempDir() + "spot_" + std::to_string(::getpid()) + "_" + name; }

CliRun run_spot(const std::string& args) {
  const std::string err_file = scratch("smollm2_stderr.txt");
  const std::string cmd = std::string(SPOT_SPOT_BINARY) + " " + args + " 2>" + err_file;
  CliRun r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.err = test::read_text_file(err_file);
  std::remove(err_file.c_str());
  return r;
}

std::string quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

TEST_F(SmolLM2Real, CliGenerateStreamsHfGreedyContinuation) {
  const json::object& gen = golden().generation;
  const std::string user = std::string(gen.at("messages").as_array()[0].as_object().at("content").as_string());
  const CliRun r = run_spot("generate --chat --threads 1 --max-new 24 " + quoted(user));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, std::string(gen.at("new_text").as_string()) + "\n");
  const std::string prefill = "prefill: " + std::to_string(gen.at("ids").as_array().size()) + " tokens in";
  EXPECT_NE(r.err.find(prefill), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("decode:  23 tokens in"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("24 new tokens"), std::string::npos) << r.err;
}

TEST_F(SmolLM2Real, CliScoreMatchesRun) {
  Loaded& L = loaded(Backend::CpuFast);
  const std::string context = "The capital of France is";
  const std::vector<std::string> cands = {" London", " Paris", " the city of Paris"};
  const CliRun r = run_spot("score --threads 1 --context " + quoted(context) + " ' London' ' Paris' ' the city of Paris'");
  ASSERT_EQ(r.status, 0) << r.err;
  PromptBatch b;
  for (const std::string& c : cands) {
    b.inputs.push_back(L.plain.codec->encode_input(context));
    b.targets.push_back(L.plain.codec->encode_target(c));
  }
  RunOptions o;
  o.backward = false;
  const RunResult want = L.model().run(b, Tensor(), o);
  for (size_t i = 0; i < cands.size(); ++i) {
    char line[160];  // the candidate column is as wide as the longest candidate (18)
    std::snprintf(line, sizeof line, "%c %-18s  %6lld  %12.4f  %10.4f\n", i == 1 ? '*' : ' ', cands[i].c_str(),
                  static_cast<long long>(want.example_tokens[i]), want.example_logprob[i],
                  want.example_logprob[i] / want.example_tokens[i]);
    EXPECT_NE(r.out.find(line), std::string::npos) << "missing line: " << line << "in:\n" << r.out;
  }
  EXPECT_NE(r.out.find("argmax (total log-likelihood):  Paris\n"), std::string::npos) << r.out;
  EXPECT_GT(want.example_logprob[1], want.example_logprob[0]);
}

TEST_F(SmolLM2Real, CliRejectsPromptOfWrongWidth) {
  const std::string file = scratch("prompt_d512.safetensors");
  io::save_safetensors(file, {{"prompt", Tensor::zeros({4, 512})}}, {});
  const CliRun r = run_spot("generate --prompt " + file + " hello");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(file + ": tensor 'prompt' has d_model 512, the backbone has 576"), std::string::npos) << r.err;
  const CliRun s = run_spot("score --prompt " + file + " --context hello a b");
  EXPECT_EQ(s.status, 1);
  EXPECT_NE(s.err.find("has d_model 512"), std::string::npos) << s.err;
}

// The modes bench/compare_pytorch_llama.py calls, at tiny shapes: JSON with the fields it reads.
TEST_F(SmolLM2Real, CliBenchModes) {
  CliRun r = run_spot("bench generate --chat --threads 1 --max-new 3 --warmup 0 --repeat 1 --json hello");
  ASSERT_EQ(r.status, 0) << r.err;
  json::object o = json::parse(r.out).as_object();
  EXPECT_EQ(o.at("new_tokens").to_number<int64_t>(), 3);
  EXPECT_EQ(o.at("ids").as_array().size(), 3u);
  EXPECT_GT(o.at("prefill_ms").to_number<double>(), 0);
  EXPECT_GT(o.at("decode_tokens_per_s").to_number<double>(), 0);
  for (const char* path : {"shared", "replicated"}) {
    r = run_spot(std::string("bench step --model smollm2 --prompt-path ") + path +
                 " --threads 1 --batch 2 --input-len 5 --target-len 2 --prompt-len 3 --steps 1 --warmup 0 --no-peak --json");
    ASSERT_EQ(r.status, 0) << r.err;
    o = json::parse(r.out).as_object();
    EXPECT_EQ(std::string(o.at("prompt_path").as_string()), path == std::string("shared") ? "shared-prefix" : "replicated");
    EXPECT_GT(o.at("gflop_per_step").to_number<double>(), 0);
    EXPECT_GT(o.at("grad_norm").to_number<double>(), 0);
    EXPECT_TRUE(std::isfinite(o.at("loss").to_number<double>()));
  }
  r = run_spot("bench step --model smollm2 --layers 2");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--layers applies to the random T5"), std::string::npos) << r.err;
}

// Needs no model: the errors a user sees before anything is loaded.
TEST(SmolLM2Cli, ClearErrors) {
  const std::string empty_cache = scratch("empty_cache");
  CliRun r = run_spot("generate --cache " + empty_cache + " hello");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("SmolLM2 is not in the cache"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("run `spot model fetch smollm2`"), std::string::npos) << r.err;
  r = run_spot("score --cache " + empty_cache + " --context hello a b");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("run `spot model fetch smollm2`"), std::string::npos) << r.err;
  const std::string bad = scratch("not_a_prompt.safetensors");
  {
    FILE* f = std::fopen(bad.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fputs("this is not safetensors", f);
    std::fclose(f);
  }
  if (std::filesystem::exists(test::smollm2_gguf_path())) {
    r = run_spot("generate --prompt " + bad + " hello");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find(bad), std::string::npos) << r.err;
    r = run_spot("generate --prompt " + bad + ".missing hello");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("cannot open safetensors file"), std::string::npos) << r.err;
  }
  r = run_spot("generate");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("no input text"), std::string::npos) << r.err;
  r = run_spot("generate --max-new 0 hi");
  EXPECT_NE(r.err.find("--max-new must be >= 1"), std::string::npos) << r.err;
  r = run_spot("score --context hi");
  EXPECT_NE(r.err.find("no candidates"), std::string::npos) << r.err;
  r = run_spot("score a b");
  EXPECT_NE(r.err.find("--context TEXT is required"), std::string::npos) << r.err;
  r = run_spot("generate --model t5:/nonexistent/dir hi");
  EXPECT_EQ(r.status, 1);
  r = run_spot("generate --backend tpu hi");
  EXPECT_NE(r.err.find("unknown backend 'tpu'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace spot
