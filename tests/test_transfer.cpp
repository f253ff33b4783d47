// test_transfer.cpp — task embeddings (retrieval/task_embedding.h) and SPoT transfer (app/transfer.h)
// on a tiny T5 (the golden v1.0 checkpoint with its vocabulary widened to the real SentencePiece
// model's 32128 ids, as in test_cli_e2e.cpp) and small user tasks, so that every path runs in seconds:
//   - the data embedding: the mean of the encoder output over the input tokens (checked against
//     keep_encoder_output), independent of the batch it runs in, deterministic in its seed; the
//     decoder-only input mean is independent of the batch too (tiny Llama golden);
//   - a library of three source prompts, then each strategy: what it retrieves (against brute force
//     over the library), the initial prompt it trains from (best: each source's prompt; average: the
//     weighted sum of the sources with softmax weights recomputed here; mixture: the sources' tasks
//     and the target's), the lineage and usage written back, and a rerun that resumes without adding
//     a second entry;
//   - prompts of another length: refused by default naming the entry, fitted on request.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "app/experiment.h"
#include "app/transfer.h"
#include "io/cache.h"
#include "io/safetensors.h"
#include "model/registry.h"
#include "prompt/soft_prompt.h"
#include "retrieval/library.h"
#include "retrieval/similarity.h"
#include "retrieval/task_embedding.h"
#include "tests/expect_error.h"
#include "tests/test_data.h"

namespace fs = std::filesystem;
namespace json = boost::json;

namespace spot {
namespace {

using test::expect_error;

void write(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << s;
}

// A two-label user task whose rows are drawn from `words` (a different vocabulary per task, so that
// the tasks' inputs differ).
std::string make_task(const fs::path& dir, const std::string& name, const std::vector<std::string>& words, int rows) {
  std::string data, dev;
  for (int i = 0; i < rows; ++i) {
    const std::string text = words[i % words.size()] + " " + words[(i * 7 + 3) % words.size()] + " " + std::to_string(i);
    data += "{\"text\":\"" + text + "\",\"label\":\"" + (i % 2 ? "yes" : "no") + "\"}\n";
    if (i == rows / 2) dev = data;
  }
  write(dir / name / "train.jsonl", data);
  write(dir / name / "dev.jsonl", dev);
  const fs::path spec = dir / name / "spec.json";
  write(spec, R"({"name":")" + name + R"(","format":"jsonl","splits":{"train":"train.jsonl","validation":"dev.jsonl"},)"
                  R"("labels":["no","yes"]})");
  return spec.string();
}

class Transfer : public ::testing::Test {
 protected:
  static inline fs::path ws_;
  static inline std::unique_ptr<Context> ctx_;
  static inline LoadedBackbone bb_;
  static inline std::string src_a_, src_b_, src_c_, target_, lib_;

  static void SetUpTestSuite() {
    ws_ = fs::temp_directory_path() / ("spot_transfer." + std::to_string(::getpid()));
    fs::remove_all(ws_);
    fs::create_directories(ws_);
    const fs::path golden = fs::path(SPOT_SOURCE_DIR) / "tests/golden/t5/v1_0";
    const fs::path dir = ws_ / "t5tiny";
    fs::create_directories(dir);
    std::string cfg = io::read_file((golden / "config.json").string());
    const std::string key = "\"vocab_size\": 301";
    cfg.replace(cfg.find(key), key.size(), "\"vocab_size\": 32128");
    write(dir / "config.json", cfg);
    const io::SafetensorsFile f = io::SafetensorsFile::open((golden / "model.safetensors").string());
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (const std::string& name : f.names()) {
      Tensor t = f.load_f32(name);
      if (name == "shared.weight") {
        const int64_t V = 32128, d = t.dim(1), v0 = t.dim(0);
        Tensor w = Tensor::empty({V, d});
        for (int64_t i = 0; i < V; ++i) std::memcpy(w.f32() + i * d, t.f32() + (i % v0) * d, sizeof(float) * d);
        t = w;
      }
      tensors.emplace_back(name, t);
    }
    io::save_safetensors((dir / "model.safetensors").string(), tensors, {{"format", "pt"}});
    ctx_ = std::make_unique<Context>(Backend::CpuFast);
    BackboneOptions bo;
    bo.data_dir = test::shared_data_dir();
    bb_ = load_backbone(*ctx_, "t5:" + dir.string(), bo);
    src_a_ = make_task(ws_, "src_weather", {"rain", "snow", "cloud", "storm", "wind", "sun"}, 24);
    src_b_ = make_task(ws_, "src_food", {"bread", "apple", "cheese", "soup", "rice", "fish"}, 24);
    src_c_ = make_task(ws_, "src_music", {"piano", "drum", "song", "violin", "choir", "flute"}, 24);
    target_ = make_task(ws_, "tgt_sky", {"rain", "cloud", "sun", "moon", "star", "wind"}, 16);
    // The library: one prompt per source task with its prompt and data embeddings.
    lib_ = (ws_ / "lib.sqlite").string();
    retrieval::Library lib = retrieval::Library::create(lib_);
    int i = 0;
    for (const std::string& spec : {src_a_, src_b_, src_c_}) {
      TrainerConfig c = base_config(spec, (ws_ / ("src" + std::to_string(i))).string(), 100 + i);
      c.task_embedding_step = 2;
      Trainer(*bb_.model, *bb_.codec, c).train();
      retrieval::Entry e;
      e.prompt = SoftPrompt::load(c.out_dir + "/best_prompt.safetensors");
      const eval::TaskHandle th = eval::resolve_task(spec);
      e.info.task = th->name();
      e.info.dataset_link = spec;
      e.info.backbone = bb_.model->name();
      e.info.backbone_fingerprint = backbone_fingerprint(*bb_.model);
      e.embeddings["prompt"] = retrieval::prompt_embedding_from_run(c.out_dir).values;
      e.embeddings["data"] = data_emb(spec).values;
      lib.add({"ana", {}}, e);
      ++i;
    }
  }
  static void TearDownTestSuite() {
    bb_ = {};
    ctx_.reset();
    if (!::testing::Test::HasFailure()) fs::remove_all(ws_);
  }

  static TrainerConfig base_config(const std::string& task, const std::string& out, uint64_t seed = 1) {
    TrainerConfig c;
    c.task = task;
    c.prompt_length = 4;
    c.steps = 4;
    c.batch_size = 4;
    c.eval_every = 2;
    c.checkpoint_every = 2;
    c.schedule.lr = 0.3;
    c.seed = c.init.seed = seed;
    c.init_vocab_size = 200;
    c.out_dir = out;
    return c;
  }
  static retrieval::TaskEmbedding data_emb(const std::string& spec, uint64_t seed = 0, int64_t batch = 5) {
    retrieval::DataEmbeddingSpec s;
    s.examples = 10;
    s.seed = seed;
    s.batch = batch;
    const eval::TaskHandle task = eval::resolve_task(spec);
    return retrieval::data_embedding(*bb_.model, *bb_.codec, *task, "", s);
  }
  TransferSpec spec(const std::string& strategy, const std::string& out) const {
    TransferSpec s;
    s.library = lib_;
    s.caller = {"ana", {}};
    s.strategy = strategy;
    s.k = 2;
    s.kind = "data";
    s.data.examples = 10;
    s.train = base_config(target_, "", 7);
    s.out_dir = (ws_ / out).string();
    s.with_scratch = true;
    return s;
  }
};

TEST_F(Transfer, DataEmbeddingIsTheEncoderMeanOverInputTokens) {
  const std::vector<std::vector<int32_t>> inputs = {bb_.codec->encode_input("rain and snow today"),
                                                    bb_.codec->encode_input("sun")};
  PromptBatch b;
  b.inputs = inputs;
  b.targets = {{1}, {1}};
  RunOptions o;
  o.backward = false;
  o.keep_input_mean = o.keep_encoder_output = true;
  const RunResult r = bb_.model->run(b, Tensor(), o);
  const int64_t d = bb_.model->d_model(), S = r.encoder_output.dim(1);
  ASSERT_EQ(r.input_mean.dim(0), 2);
  for (int64_t e = 0; e < 2; ++e) {
    const int64_t n = static_cast<int64_t>(inputs[e].size());
    for (int64_t j = 0; j < d; ++j) {
      double s = 0;
      for (int64_t t = 0; t < n; ++t) s += r.encoder_output.f32()[(e * S + t) * d + j];
      EXPECT_NEAR(r.input_mean.f32()[e * d + j], s / n, 1e-6);
    }
  }
  // Alone (no padding) the short example gives the same row.
  PromptBatch one;
  one.inputs = {inputs[1]};
  one.targets = {{1}};
  const RunResult r1 = bb_.model->run(one, Tensor(), o);
  for (int64_t j = 0; j < d; ++j) EXPECT_NEAR(r1.input_mean.f32()[j], r.input_mean.f32()[d + j], 1e-5);
}

TEST_F(Transfer, DataEmbeddingIsDeterministicAndIndependentOfTheBatch) {
  const retrieval::TaskEmbedding a = data_emb(src_a_, 0, 5), b = data_emb(src_a_, 0, 3), c = data_emb(src_a_, 1, 5);
  ASSERT_EQ(a.values.dim(0), 10);
  ASSERT_EQ(a.values.dim(1), bb_.model->d_model());
  double max_diff = 0, seed_diff = 0;
  for (int64_t i = 0; i < a.values.numel(); ++i) {
    max_diff = std::max(max_diff, std::fabs(double(a.values.f32()[i]) - b.values.f32()[i]));
    seed_diff = std::max(seed_diff, std::fabs(double(a.values.f32()[i]) - c.values.f32()[i]));
  }
  EXPECT_LT(max_diff, 1e-5);   // batch 5 vs 3: the same rows
  EXPECT_GT(seed_diff, 1e-3);  // another seed samples other inputs
  EXPECT_EQ(a.metadata.at("examples"), "10");
  // Save and load round trip; a wrong d_model is refused naming the file.
  const std::string path = (ws_ / "emb.safetensors").string();
  a.save(path);
  const retrieval::TaskEmbedding back = retrieval::TaskEmbedding::load(path, bb_.model->d_model());
  EXPECT_EQ(back.kind, "data");
  EXPECT_EQ(0, std::memcmp(back.values.f32(), a.values.f32(), a.values.numel() * 4));
  expect_error([&] { retrieval::TaskEmbedding::load(path, 7); }, {path, "d_model"});
}

// The retrieval of a transfer equals brute force over the library's data embeddings.
std::vector<int64_t> brute_force_top(const std::string& lib_path, const Tensor& query, retrieval::Metric m, int k) {
  retrieval::Library lib = retrieval::Library::open(lib_path);
  std::vector<std::pair<double, int64_t>> s;
  for (const auto& info : lib.list({"ana", {}})) {
    if (info.init_mode.rfind("transfer", 0) == 0) continue;
    const auto e = lib.get({"ana", {}}, info.id);
    s.push_back({-retrieval::similarity_brute_force(query, e->embeddings.at("data"), m), info.id});
  }
  std::sort(s.begin(), s.end());
  std::vector<int64_t> out;
  for (int i = 0; i < k; ++i) out.push_back(s[i].second);
  return out;
}

TEST_F(Transfer, BestOfTopKTunesFromEachAndKeepsTheBest) {
  const TransferSpec s = spec("best", "t_best");
  const TransferResult r = run_transfer(*bb_.model, *bb_.codec, s);
  const Tensor q = retrieval::TaskEmbedding::load(s.out_dir + "/target_embedding_data.safetensors").values;
  const std::vector<int64_t> want = brute_force_top(lib_, q, s.metric, 2);
  ASSERT_EQ(r.retrieved.size(), 2u);
  EXPECT_EQ(r.retrieved[0].id, want[0]);
  EXPECT_EQ(r.retrieved[1].id, want[1]);
  // Each candidate's run started from its source prompt, and the kept one has the best score.
  retrieval::Library lib = retrieval::Library::open(lib_);
  double best = -1;
  for (const TransferCandidate& c : r.retrieved) {
    const SoftPrompt init = SoftPrompt::load(s.out_dir + "/init_entry_" + std::to_string(c.id) + ".safetensors");
    const auto src = lib.get(s.caller, c.id);
    ASSERT_EQ(init.values.numel(), src->prompt.values.numel());
    EXPECT_EQ(0, std::memcmp(init.values.f32(), src->prompt.values.f32(), init.values.numel() * 4));
    EXPECT_TRUE(std::isfinite(c.score));
    best = std::max(best, c.score);
  }
  EXPECT_EQ(r.score, best);
  EXPECT_TRUE(std::isfinite(r.scratch_score));
  EXPECT_DOUBLE_EQ(r.gain, r.score - r.scratch_score);
  // Stored back with its lineage; the sources' usage recorded.
  ASSERT_GT(r.stored_id, 0);
  const auto stored = lib.get(s.caller, r.stored_id);
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->info.parents.size(), 1u);
  EXPECT_EQ(stored->info.parents[0].parent, r.chosen);
  EXPECT_EQ(stored->info.parents[0].strategy, "best");
  EXPECT_EQ(stored->info.parents[0].k, 2);
  EXPECT_EQ(stored->info.init_mode, "transfer:best");
  EXPECT_DOUBLE_EQ(stored->info.metric_value, r.score);
  EXPECT_EQ(stored->embeddings.count("data"), 1u);
  for (const TransferCandidate& c : r.retrieved) {
    const auto src = lib.get(s.caller, c.id);
    EXPECT_GE(src->info.times_retrieved, 1);
    EXPECT_GE(src->info.gain_count, 1);
  }
  // A rerun resumes: same result, no second entry.
  const size_t n = lib.list(s.caller).size();
  const TransferResult again = run_transfer(*bb_.model, *bb_.codec, s);
  EXPECT_EQ(again.stored_id, r.stored_id);
  EXPECT_EQ(again.score, r.score);
  EXPECT_EQ(retrieval::Library::open(lib_).list(s.caller).size(), n);
  // Killed after the add but before its id was recorded: the entry is found by its bits, not added
  // again, and the sources' gains (recorded in the add's transaction) are not counted twice.
  const int64_t gains_before = lib.get(s.caller, r.retrieved[0].id)->info.gain_count;
  fs::remove(s.out_dir + "/library_entry.txt");
  fs::remove(s.out_dir + "/transfer.json");
  const TransferResult after_kill = run_transfer(*bb_.model, *bb_.codec, s);
  EXPECT_EQ(after_kill.stored_id, r.stored_id);
  retrieval::Library reopened = retrieval::Library::open(lib_);
  EXPECT_EQ(reopened.list(s.caller).size(), n);
  EXPECT_EQ(reopened.get(s.caller, r.retrieved[0].id)->info.gain_count, gains_before);
}

TEST_F(Transfer, AverageStartsFromTheSoftmaxWeightedSum) {
  TransferSpec s = spec("average", "t_avg");
  s.temperature = 0.05;
  s.with_scratch = false;
  s.baseline = 50;
  const TransferResult r = run_transfer(*bb_.model, *bb_.codec, s);
  ASSERT_EQ(r.retrieved.size(), 2u);
  const double z = std::exp(r.retrieved[0].similarity / 0.05) + std::exp(r.retrieved[1].similarity / 0.05);
  retrieval::Library lib = retrieval::Library::open(lib_);
  const SoftPrompt init = SoftPrompt::load(s.out_dir + "/init_average.safetensors");
  std::vector<double> want(init.values.numel(), 0.0);
  for (const TransferCandidate& c : r.retrieved) {
    const double w = std::exp(c.similarity / 0.05) / z;
    EXPECT_NEAR(c.weight, w, 1e-12);
    const auto src = lib.get(s.caller, c.id);
    for (size_t j = 0; j < want.size(); ++j) want[j] += w * src->prompt.values.f32()[j];
  }
  for (size_t j = 0; j < want.size(); ++j) EXPECT_NEAR(init.values.f32()[j], want[j], 1e-5);
  EXPECT_DOUBLE_EQ(r.gain, r.score - 50);
  const auto stored = lib.get(s.caller, r.stored_id);
  ASSERT_EQ(stored->info.parents.size(), 2u);
  EXPECT_NEAR(stored->info.parents[0].weight + stored->info.parents[1].weight, 1.0, 1e-12);
  // Equal weights.
  TransferSpec e = spec("average", "t_avg_eq");
  e.weights = "equal";
  e.store = false;
  e.with_scratch = false;
  const TransferResult re = run_transfer(*bb_.model, *bb_.codec, e);
  EXPECT_EQ(re.retrieved[0].weight, 0.5);
  EXPECT_EQ(re.stored_id, 0);
}

TEST_F(Transfer, MixtureTrainsOnTheSourcesTasksAndTheTargetsThenTheTarget) {
  TransferSpec s = spec("mixture", "t_mix");
  s.with_scratch = false;
  s.mixture_steps = 3;
  const TransferResult r = run_transfer(*bb_.model, *bb_.codec, s);
  const json::value cfg = json::parse(io::read_file(s.out_dir + "/mixture/config.json"));
  const json::array& tasks = cfg.at("tasks").as_array();
  ASSERT_EQ(tasks.size(), 3u);  // two sources + the target
  EXPECT_EQ(std::string(tasks[2].as_string()), target_);
  EXPECT_EQ(cfg.at("steps").to_number<int64_t>(), 3);
  // The target run started from the mixture's final prompt.
  const SoftPrompt mix = SoftPrompt::load(s.out_dir + "/mixture/final_prompt.safetensors");
  const json::value tcfg = json::parse(io::read_file(s.out_dir + "/from_mixture/config.json"));
  EXPECT_EQ(std::string(tcfg.at("init").as_string()), "file");
  EXPECT_TRUE(std::isfinite(r.score));
  EXPECT_GT(r.stored_id, 0);
}

TEST_F(Transfer, PromptsOfAnotherLengthAreRefusedOrFitted) {
  TransferSpec s = spec("best", "t_len");
  s.k = 1;
  s.train.prompt_length = 6;
  s.with_scratch = false;
  s.store = false;
  expect_error([&] { run_transfer(*bb_.model, *bb_.codec, s); }, {"entry", "prompt length 4", "length 6"});
  s.length_policy = "fit";
  s.out_dir = (ws_ / "t_len_fit").string();
  const TransferResult r = run_transfer(*bb_.model, *bb_.codec, s);
  const SoftPrompt init =
      SoftPrompt::load(s.out_dir + "/init_entry_" + std::to_string(r.retrieved[0].id) + ".safetensors");
  ASSERT_EQ(init.length(), 6);
  const auto src = retrieval::Library::open(lib_).get(s.caller, r.retrieved[0].id);
  EXPECT_EQ(0, std::memcmp(init.values.f32(), src->prompt.values.f32(), 4 * init.dim() * 4));  // first rows kept
  // Shorter target: truncated.
  s.train.prompt_length = 2;
  s.out_dir = (ws_ / "t_len_cut").string();
  const TransferResult rc = run_transfer(*bb_.model, *bb_.codec, s);
  const SoftPrompt cut = SoftPrompt::load(s.out_dir + "/init_entry_" + std::to_string(rc.retrieved[0].id) + ".safetensors");
  EXPECT_EQ(cut.length(), 2);
}

TEST_F(Transfer, BadSpecsAreRefused) {
  TransferSpec s = spec("best", "t_bad");
  s.strategy = "median";
  expect_error([&] { validate_transfer_spec(s); }, {"strategy 'median'"});
  s = spec("best", "t_bad");
  s.k = 0;
  expect_error([&] { validate_transfer_spec(s); }, {"k must be"});
  s = spec("best", "t_bad");
  s.train.eval_every = 0;
  expect_error([&] { validate_transfer_spec(s); }, {"validation"});
  // The flattened metrics compare embeddings of the same shape only: a target sampled on 8 inputs
  // has none to compare with (the sources' data embeddings have 10 rows).
  s = spec("best", "t_bad_shape");
  s.metric = retrieval::Metric::Cosine;
  s.data.examples = 8;
  expect_error([&] { run_transfer(*bb_.model, *bb_.codec, s); }, {"no entry to transfer from", "3 of a shape cosine"});
  // Nobody else sees ana's entries: nothing to transfer from.
  s = spec("best", "t_bad_acl");
  s.caller = {"bob", {}};
  retrieval::Library lib = retrieval::Library::open(lib_);
  // (entries are public by default: make a library with a restricted one)
  const std::string restricted = (ws_ / "restricted.sqlite").string();
  retrieval::Library r = retrieval::Library::create(restricted);
  auto e = lib.get({"ana", {}}, lib.list({"ana", {}}).back().id);
  e->info.visibility = retrieval::Visibility::Restricted;
  r.add({"ana", {}}, *e);
  s.library = restricted;
  expect_error([&] { run_transfer(*bb_.model, *bb_.codec, s); }, {"no entry to transfer from", "bob"});
}

// A transfer run in an experiment config: parsed with its own keys and the target's train keys,
// run by `spot run`, skipped once complete; unknown keys and bad values name the key path.
TEST_F(Transfer, ExperimentConfigTransferRun) {
  const std::string model = "t5:" + (ws_ / "t5tiny").string();
  const std::string out = (ws_ / "exp_out").string();
  const std::string cfg_text = R"({"name":"x","backbone":{"model":")" + model + R"("},"output_dir":")" + out +
                               R"(","runs":[{"name":"avg","kind":"transfer","library":")" + lib_ + R"(","user":"ana",)" +
                               R"("strategy":"average","k":2,"metric":"per_token_cos","embedding_kind":"data",)" +
                               R"("embed_examples":8,"weights":"equal","task":")" + target_ +
                               R"(","prompt_length":4,"steps":2,"batch_size":4,"eval_every":2,"lr":0.3,"init_vocab_size":200}]})";
  const std::string path = (ws_ / "exp.json").string();
  write(path, cfg_text);
  const ExperimentConfig cfg = load_experiment(path);
  ASSERT_EQ(cfg.runs.size(), 1u);
  const TransferSpec& t = cfg.runs[0].transfer;
  EXPECT_EQ(t.strategy, "average");
  EXPECT_EQ(t.metric, retrieval::Metric::PerTokenCos);
  EXPECT_EQ(t.kind, "data");
  EXPECT_EQ(t.data.examples, 8);
  EXPECT_EQ(t.caller.user, "ana");
  EXPECT_EQ(t.train.steps, 2);
  EXPECT_EQ(t.out_dir, out + "/avg");
  const std::vector<RunOutcome> first = run_experiment(cfg, {});
  EXPECT_EQ(first[0].status, "done");
  const json::value res = json::parse(io::read_file(out + "/avg/transfer.json"));
  EXPECT_EQ(res.at("retrieved").as_array().size(), 2u);
  EXPECT_EQ(std::string(res.at("metric").as_string()), "per_token_cos");
  EXPECT_EQ(run_experiment(cfg, {})[0].status, "skipped (already complete)");
  // Train runs store into a library (created; once, also when rerun); a transfer run's baseline is
  // an earlier run's best validation score.
  const std::string lib2 = (ws_ / "lib_exp.sqlite").string(), out2 = (ws_ / "exp_out2").string();
  const std::string train_keys = R"("prompt_length":4,"steps":2,"batch_size":4,"eval_every":2,"lr":0.3,"init_vocab_size":200)";
  const std::string cfg2 = R"({"name":"y","backbone":{"model":")" + model + R"("},"output_dir":")" + out2 + R"(","runs":[)" +
                           R"({"name":"s1","kind":"train","task":")" + src_a_ + R"(","library":")" + lib2 +
                           R"(","user":"ana","task_embedding_step":1,)" + train_keys + "}," +
                           R"({"name":"s2","kind":"train","task":")" + src_b_ + R"(","library":")" + lib2 +
                           R"(","user":"ana","task_embedding_step":1,)" + train_keys + "}," +
                           R"({"name":"scratch","kind":"train","task":")" + target_ + R"(",)" + train_keys + "}," +
                           R"({"name":"best","kind":"transfer","library":")" + lib2 + R"(","user":"ana","k":1,)" +
                           R"("embedding_kind":"prompt","embed_steps":1,"embed_examples":8,"baseline_from_run":"scratch",)" +
                           R"("task":")" + target_ + R"(",)" + train_keys + "}]}";
  const std::string path2 = (ws_ / "exp2.json").string();
  write(path2, cfg2);
  const ExperimentConfig c2 = load_experiment(path2);
  run_experiment(c2, {});
  run_experiment(c2, {});
  retrieval::Library l2 = retrieval::Library::open(lib2);
  EXPECT_EQ(l2.list({"ana", {}}).size(), 3u);  // two sources + the transferred prompt, no duplicates
  const json::value r2 = json::parse(io::read_file(out2 + "/best/transfer.json"));
  double scratch_best = -1;
  {
    std::ifstream in(out2 + "/scratch/metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
      const json::value v = json::parse(line);
      if (v.at("event") == "eval") scratch_best = std::max(scratch_best, v.at("result").at("score").to_number<double>());
    }
  }
  EXPECT_DOUBLE_EQ(r2.at("scratch_score").to_number<double>(), scratch_best);
  // Bad keys and values name the key path.
  std::string bad = cfg_text;
  bad.replace(bad.find("\"k\":2"), 5, "\"kk\":2");
  write(path, bad);
  expect_error([&] { load_experiment(path); }, {path, "kk"});
  bad = cfg_text;
  bad.replace(bad.find("\"average\""), 9, "\"median\"");
  write(path, bad);
  expect_error([&] { load_experiment(path); }, {path, "strategy", "median"});
}

}  // namespace
}  // namespace spot
