// test_data_parallel.cpp — data-parallel prompt tuning (issue 10): the rank-order sum and the shards
// (base/communicator.h); MpiCommunicator's collectives in three processes (tests/mpi_check.cpp); and
// `mpirun -np 2 spot train|run` on the tiny T5 (tests/tiny_t5.h): the prompt after K steps equals the
// single-process run's with the same global batch within 1e-6 relative, two 2-rank runs end on the
// same bits, a 2-rank run resumed from its checkpoint ends on the bits of one that was not stopped,
// and rank 0 alone writes and prints.
//
// The tests start mpirun themselves (CI runs as root: --allow-run-as-root; --oversubscribe: more
// ranks than cores). MPI is a dependency, so without mpirun they fail rather than skip.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "base/communicator.h"
#include "io/cache.h"
#include "io/safetensors.h"
#include "tests/run_spot.h"
#include "tests/test_data.h"
#include "tests/tiny_t5.h"

namespace fs = std::filesystem;
namespace json = boost::json;

namespace spot::test {
namespace {

// ---------------------------------------------------------------- the rank-order sum and the shards

// Values whose float sum depends on the order: 1e30 + 1 - 1e30 is 0 in that order and 1 in others.
TEST(DataParallel, SumIsInRankOrder) {
  const std::vector<float> gathered = {1e30f, -1e30f, 1.0f,    // rank 0
                                       1.0f, 1e30f, -1e30f,    // rank 1
                                       -1e30f, 1.0f, 1e30f};   // rank 2
  std::vector<float> out(3);
  sum_in_rank_order(gathered, 3, out);
  EXPECT_EQ(out, (std::vector<float>{0.0f, 1.0f, 0.0f}));
  const std::vector<double> g64 = {1e300, 1.0, -1e300, 2.5};  // two ranks of two values
  std::vector<double> o64(2);
  sum_in_rank_order(g64, 2, o64);
  EXPECT_EQ(o64, (std::vector<double>{0.0, 3.5}));
  // Floats are added in double and rounded once: 2^24 + 1 + 1 is exact in double, not in float.
  std::vector<float> o(1);
  sum_in_rank_order(std::vector<float>{16777216.0f, 1.0f, 1.0f}, 3, o);
  EXPECT_EQ(o[0], 16777218.0f);
  EXPECT_THROW(sum_in_rank_order(std::vector<float>{1, 2, 3}, 2, o), Error);
}

TEST(DataParallel, ShardsCoverTheBatchInRankOrder) {
  for (size_t n = 0; n <= 23; ++n)
    for (int size = 1; size <= 5; ++size) {
      size_t next = 0, smallest = n, largest = 0;
      for (int r = 0; r < size; ++r) {
        const auto [lo, hi] = shard_range(n, r, size);
        EXPECT_EQ(lo, next) << n << " items, rank " << r << " of " << size;
        EXPECT_LE(lo, hi);
        next = hi;
        smallest = std::min(smallest, hi - lo);
        largest = std::max(largest, hi - lo);
      }
      EXPECT_EQ(next, n) << n << " items over " << size;
      EXPECT_LE(largest - smallest, 1u) << n << " items over " << size;
    }
  EXPECT_EQ(shard_range(5, 0, 2), (std::pair<size_t, size_t>{0, 2}));
  EXPECT_EQ(shard_range(5, 1, 2), (std::pair<size_t, size_t>{2, 5}));
  EXPECT_THROW(shard_range(5, 2, 2), Error);
}

TEST(DataParallel, LocalCommunicatorIsOneRank) {
  Communicator& c = local_communicator();
  EXPECT_EQ(c.rank(), 0);
  EXPECT_EQ(c.size(), 1);
  std::vector<float> v = {1.5f, -2.0f};
  c.allreduce_sum(v);
  EXPECT_EQ(v, (std::vector<float>{1.5f, -2.0f}));
  c.barrier();
}

// ---------------------------------------------------------------- processes started through mpirun

std::string mpirun_path() { return SPOT_MPIEXEC; }

bool have_mpirun() {
  const std::string p = mpirun_path();
  return !p.empty() && p.find("NOTFOUND") == std::string::npos && fs::exists(p);
}

#define SPOT_REQUIRE_MPIRUN()                                                                        \
  ASSERT_TRUE(have_mpirun()) << "mpirun not found (configure found '" << mpirun_path()             \
                             << "'): MPI is a dependency of spot; install openmpi-bin (tools/install_deps.sh)"

std::vector<std::string> mpirun_args(int ranks) {
  return {"--allow-run-as-root", "--oversubscribe", "-np", std::to_string(ranks)};
}

// The environment of processes started through mpirun, plus `env`. In the AddressSanitizer build
// (tools/ctest.sh sets ASAN_OPTIONS) the ranks unwind every allocation's whole stack, so that
// tools/sanitizers/lsan.supp recognises what Open MPI itself leaves at exit by its frames.
std::map<std::string, std::string> mpi_env(std::map<std::string, std::string> env) {
  if (const char* asan = std::getenv("ASAN_OPTIONS"); asan && *asan)
    env["ASAN_OPTIONS"] = std::string(asan) + ":fast_unwind_on_malloc=0";
  return env;
}

TEST(DataParallel, MpiCollectivesInThreeProcesses) {
  SPOT_REQUIRE_MPIRUN();
  const fs::path scratch = fs::temp_directory_path() / ("spot_mpi_check." + std::to_string(::getpid()));
  fs::create_directories(scratch);
  std::vector<std::string> args = mpirun_args(3);
  args.push_back(SPOT_MPI_CHECK_BINARY);
  const CliResult r = run_program(mpirun_path(), args, mpi_env({}), scratch.string());
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_FALSE(r.sanitizer_report()) << r.err;
  for (int rank = 0; rank < 3; ++rank)
    EXPECT_NE(r.out.find("rank " + std::to_string(rank) + " of 3 ok"), std::string::npos) << r.out << r.err;
  fs::remove_all(scratch);
}

class DataParallelCli : public ::testing::Test {
 protected:
  static fs::path ws_;

  static void SetUpTestSuite() {
    ws_ = fs::temp_directory_path() / ("spot_data_parallel." + std::to_string(::getpid()));
    fs::remove_all(ws_);
    fs::create_directories(ws_);
    write_tiny_t5(ws_ / "t5tiny");
    // 13 examples of a user task: batches of 5 cross epochs and split 2 + 3 over two ranks.
    const char* texts[] = {"a fine film", "dull and long", "a joy to watch", "I left early", "bright and warm",
                           "a tired plot", "moving", "flat", "the cast shines", "it drags", "sharp writing",
                           "no spark at all", "I would see it again"};
    std::string rows;
    for (int i = 0; i < 13; ++i)
      rows += std::string("{\"text\":\"") + texts[i] + "\",\"label\":\"" + (i % 2 ? "negative" : "positive") + "\"}\n";
    std::ofstream(ws_ / "train.jsonl") << rows;
    std::ofstream(ws_ / "dev.jsonl") << rows;
    std::ofstream(ws_ / "spec.json")
        << R"({"name":"mini","format":"jsonl","splits":{"train":"train.jsonl","validation":"dev.jsonl"},)"
        << R"("labels":["negative","positive"]})";
  }
  static void TearDownTestSuite() {
    if (!failed_) fs::remove_all(ws_);  // kept for a look when a case failed
  }
  void SetUp() override { SPOT_REQUIRE_SHARED_DATA("tokenizers/t5/spiece.model"); }
  void TearDown() override {
    if (HasFailure()) failed_ = true;
  }
  static inline bool failed_ = false;

  // The environment of every run: the shared data (the T5 tokenizer); no OMP_NUM_THREADS, so that
  // the ranks share the cores as a user's run does.
  static std::map<std::string, std::string> env() {
    return {{"SPOT_DATA", shared_data_dir()}, {"OMP_NUM_THREADS", ""}, {"SPOT_DEBUG", ""}};
  }
  std::string scratch() const {
    const fs::path s = ws_ / ("scratch." + std::to_string(::getpid()));
    fs::create_directories(s);
    return s.string();
  }
  // `spot args...` alone, or as `ranks` ranks under mpirun; neither may crash or print a sanitizer report.
  CliResult spot(const std::vector<std::string>& args, int ranks = 0) {
    CliResult r;
    if (ranks == 0) {
      r = run_spot(args, env(), scratch(), ws_.string());
    } else {
      std::vector<std::string> a = mpirun_args(ranks);
      a.push_back(fs::absolute(SPOT_SPOT_BINARY).string());
      a.insert(a.end(), args.begin(), args.end());
      r = run_program(mpirun_path(), a, mpi_env(env()), scratch(), ws_.string());
    }
    std::string cmd = ranks ? "mpirun -np " + std::to_string(ranks) + " spot" : "spot";
    for (const std::string& a : args) cmd += " " + a;
    EXPECT_LT(r.code, 128) << cmd << " crashed\n--- stderr:\n" << r.err;
    EXPECT_FALSE(r.sanitizer_report()) << cmd << " printed a sanitizer report\n--- stderr:\n" << r.err;
    last_cmd_ = cmd;
    return r;
  }
  void expect_ok(const CliResult& r) {
    EXPECT_EQ(r.code, 0) << last_cmd_ << "\n--- stdout:\n" << r.out << "\n--- stderr:\n" << r.err;
  }
  std::string ws(const std::string& rel) const { return (ws_ / rel).string(); }

  // A global batch of 5 examples, 2 micro-batches per step (gradient accumulation), evaluation and a
  // checkpoint every 2 steps, the prompt of step 1 kept (as the task embedding).
  std::vector<std::string> train_args(const std::string& out, int steps) const {
    return {"train", "--model", "t5:" + ws("t5tiny"), "--task", ws("spec.json"), "--steps", std::to_string(steps),
            "--batch", "5", "--accum", "2", "--prompt-len", "3", "--eval-every", "2", "--checkpoint-every", "2",
            "--task-embedding-step", "1", "--seed", "7", "--out", ws(out)};
  }
  Tensor prompt_of(const std::string& file) const {
    return io::SafetensorsFile::open(ws(file)).load_f32("prompt");
  }
  // The loss of the last "train" event in a run's metrics.jsonl.
  double last_loss(const std::string& run) const {
    std::ifstream in(ws(run + "/metrics.jsonl"));
    double loss = std::nan("");
    for (std::string line; std::getline(in, line);) {
      const json::object o = json::parse(line).as_object();
      if (o.at("event").as_string() == "train") loss = o.at("loss").to_number<double>();
    }
    return loss;
  }

  std::string last_cmd_;
};

fs::path DataParallelCli::ws_;

size_t count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
  return n;
}

size_t count_lines(const std::string& path) {
  std::ifstream f(path);
  size_t n = 0;
  for (std::string line; std::getline(f, line);) n += !line.empty();
  return n;
}

// max |a - b| / max |b| over the prompt's values.
double relative_difference(const Tensor& a, const Tensor& b) {
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < b.numel(); ++i) {
    diff = std::max(diff, std::abs(double(a.f32()[i]) - b.f32()[i]));
    scale = std::max(scale, std::abs(double(b.f32()[i])));
  }
  return diff / scale;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.f32(), b.f32(), static_cast<size_t>(a.nbytes())) == 0;
}

TEST_F(DataParallelCli, TwoRanksTrainTheSingleProcessPromptAndRepeatBitForBit) {
  SPOT_REQUIRE_MPIRUN();
  const CliResult one = spot(train_args("one", 3));
  expect_ok(one);
  const CliResult two = spot(train_args("two", 3), 2);
  expect_ok(two);
  const CliResult again = spot(train_args("two_again", 3), 2);
  expect_ok(again);

  const Tensor p1 = prompt_of("one/final_prompt.safetensors"), p2 = prompt_of("two/final_prompt.safetensors");
  ASSERT_EQ(p1.shape(), p2.shape());
  // The prompt moved (it is not the initial one in both runs), and the ranks' prompt is the single
  // process's up to the order of float additions (measured 2.4e-7 here: the floor, since one process
  // on 1 thread and on 2 differs by as much).
  EXPECT_GT(relative_difference(prompt_of("one/task_embedding.safetensors"), p1), 1e-3);
  const double rel = relative_difference(p2, p1);
  EXPECT_LE(rel, 1e-6) << "2 ranks against 1 process after 3 steps";
  std::printf("2 ranks vs 1 process after 3 steps: max |difference| / max |value| = %.3g\n", rel);
  EXPECT_NEAR(last_loss("two"), last_loss("one"), 1e-5 * std::abs(last_loss("one")));
  // Two runs of 2 ranks: the same bits.
  EXPECT_TRUE(same_bits(p2, prompt_of("two_again/final_prompt.safetensors")));
  EXPECT_TRUE(same_bits(prompt_of("two/checkpoint.safetensors"), prompt_of("two_again/checkpoint.safetensors")));

  // Rank 0 alone prints and writes: one result line, one log line per event.
  EXPECT_EQ(count(two.out, "steps 3, final loss "), 1u) << two.out;
  EXPECT_EQ(count(two.err, "data parallel over 2 ranks"), 1u) << two.err;
  EXPECT_EQ(count(two.err, "[mini] step 3: validation score "), 1u) << two.err;
  EXPECT_EQ(count_lines(ws("two/metrics.jsonl")), count_lines(ws("one/metrics.jsonl")));
  for (const char* f : {"config.json", "checkpoint.safetensors", "best_prompt.safetensors", "task_embedding.safetensors"})
    EXPECT_TRUE(fs::is_regular_file(ws("two/") + f)) << f;
}

TEST_F(DataParallelCli, TwoRanksResumeBitForBit) {
  SPOT_REQUIRE_MPIRUN();
  expect_ok(spot(train_args("whole", 4), 2));
  expect_ok(spot(train_args("halves", 2), 2));
  const CliResult r = spot(train_args("halves", 4), 2);  // every rank reads rank 0's checkpoint of step 2
  expect_ok(r);
  EXPECT_NE(r.out.find("steps 4 (resumed from 2)"), std::string::npos) << r.out;
  EXPECT_TRUE(same_bits(prompt_of("whole/final_prompt.safetensors"), prompt_of("halves/final_prompt.safetensors")));
}

TEST_F(DataParallelCli, RunConfigOnTwoRanksAndOtherCommandsRefused) {
  SPOT_REQUIRE_MPIRUN();
  const std::string spec = ws("spec.json");
  std::ofstream(ws("exp.json")) << R"({"name":"dp","backbone":{"model":"t5:)" << ws("t5tiny") << R"("},"output_dir":")"
                                << ws("exp_out") << R"(","runs":[)"
                                << R"({"name":"tune","kind":"train","task":")" << spec
                                << R"(","prompt_length":3,"steps":2,"batch_size":3,"eval_every":2,"checkpoint_every":2},)"
                                << R"({"name":"tuned","kind":"eval","task":")" << spec
                                << R"(","split":"validation","prompt_from_run":"tune"}]})";
  CliResult r = spot({"run", ws("exp.json")}, 2);
  expect_ok(r);
  EXPECT_EQ(count(r.out, "tune "), 1u) << r.out;
  EXPECT_EQ(count(r.err, "== run tuned: mini validation score "), 1u) << r.err;
  for (const char* f : {"tune/final_prompt.safetensors", "tuned/eval_validation.json", "report.md"})
    EXPECT_TRUE(fs::is_regular_file(ws("exp_out/") + f)) << f;

  r = spot({"eval", "--model", "t5:" + ws("t5tiny"), "--task", spec}, 2);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("spot eval does not run data-parallel over 2 ranks"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace spot::test
