// test_evaluate.cpp — the evaluation loop with a deterministic fake Scorer: it prefers the gold
// answer for a fixed ~70% of inputs (chosen by a hash of the input text) and a wrong one for the
// rest, so the expected predictions are known and every metric can be checked end to end, in rank
// and in generate mode, on real GLUE/SuperGLUE splits and on small synthetic ones.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <unistd.h>

#include "eval/evaluate.h"
#include "eval/metrics.h"
#include "base/check.h"
#include "tests/test_data.h"

namespace spot::eval {
namespace {

namespace fs = std::filesystem;

std::string data_dir() { return test::shared_data_dir(); }

#define REQUIRE_DATA()                                                                             \
  if (!fs::is_directory(data_dir()))                                                               \
  GTEST_SKIP() << "SKIPPED (not verified): shared data directory " << data_dir() << " is absent"

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Right on a fixed 70% of inputs.
bool knows(const std::string& input) { return fnv1a(input) % 10 < 7; }

// The fake model: told the gold answer of every input, it scores / generates it when knows(input),
// and the next candidate (rank) or `wrong_text(input)` (generate) otherwise.
class FakeScorer : public Scorer {
 public:
  std::map<std::string, std::string> gold_text;  // input -> gold target / candidate text
  std::function<std::string(const std::string& input)> wrong_text = [](const std::string&) { return "garbage"; };
  int score_calls = 0, generate_calls = 0;
  size_t max_batch = 0;

  std::vector<std::vector<double>> score(const std::vector<ScoreRequest>& batch) override {
    ++score_calls;
    max_batch = std::max(max_batch, batch.size());
    std::vector<std::vector<double>> out;
    for (const auto& r : batch) {
      const auto it = gold_text.find(r.input);
      EXPECT_NE(it, gold_text.end()) << "unknown input " << r.input;
      int gold = -1;
      for (size_t c = 0; c < r.candidates.size(); ++c)
        if (it != gold_text.end() && r.candidates[c] == it->second) gold = static_cast<int>(c);
      EXPECT_GE(gold, 0) << "gold '" << (it == gold_text.end() ? "" : it->second) << "' not among the candidates";
      const int n = static_cast<int>(r.candidates.size());
      const int preferred = knows(r.input) ? gold : (gold + 1) % n;
      std::vector<double> s(r.candidates.size());
      for (int c = 0; c < n; ++c) s[c] = c == preferred ? -0.5 : -3.0 - 0.25 * c;
      out.push_back(s);
    }
    return out;
  }

  std::vector<std::string> generate(const std::vector<std::string>& inputs, int max_new_tokens) override {
    ++generate_calls;
    max_batch = std::max(max_batch, inputs.size());
    EXPECT_GT(max_new_tokens, 0);
    std::vector<std::string> out;
    for (const auto& in : inputs) out.push_back(knows(in) ? gold_text.at(in) : wrong_text(in));
    return out;
  }
};

// Registers every example's gold target text with the fake scorer.
void teach(FakeScorer& s, const Task& t, const std::vector<Example>& ex, Verbalizer v = Verbalizer::t5) {
  for (const auto& e : ex) {
    const Formatted f = t.format(e, v);
    s.gold_text[f.input] = f.target;
  }
}

// The predicted labels the fake scorer must produce in rank mode (the next label when wrong).
std::vector<int> expected_rank_labels(const Task& t, const std::vector<Example>& ex, Verbalizer v = Verbalizer::t5) {
  std::vector<int> out;
  for (const auto& e : ex) {
    const Formatted f = t.format(e, v);
    const int n = static_cast<int>(f.candidates.size());
    out.push_back(knows(f.input) ? e.label : (e.label + 1) % n);
  }
  return out;
}

std::vector<int> gold_labels(const std::vector<Example>& ex) {
  std::vector<int> out;
  for (const auto& e : ex) out.push_back(e.label);
  return out;
}

TEST(EvalEvaluate, RankClassificationRte) {
  REQUIRE_DATA();
  const Task& t = find_task("glue/rte");
  const auto ex = t.load(data_dir(), "validation");
  FakeScorer s;
  teach(s, t, ex);
  EvalOptions o;
  o.batch_size = 16;
  const EvalResult r = evaluate(t, ex, "validation", s, o);
  const auto want = expected_rank_labels(t, ex);
  size_t right = 0;
  for (size_t i = 0; i < ex.size(); ++i) right += want[i] == ex[i].label;
  ASSERT_EQ(r.metrics.size(), 1u);
  EXPECT_EQ(r.metrics[0].first, "accuracy");
  EXPECT_DOUBLE_EQ(r.metric("accuracy"), 100.0 * static_cast<double>(right) / static_cast<double>(ex.size()));
  EXPECT_GT(right, ex.size() * 6 / 10);  // the hash really splits about 70 / 30
  EXPECT_LT(right, ex.size() * 8 / 10);
  EXPECT_DOUBLE_EQ(r.score, r.metric("accuracy"));
  ASSERT_EQ(r.records.size(), ex.size());
  for (size_t i = 0; i < ex.size(); ++i) {
    EXPECT_EQ(r.records[i].prediction.label, want[i]);
    EXPECT_EQ(r.records[i].correct, want[i] == ex[i].label);
    EXPECT_EQ(r.records[i].mode, "rank");
    EXPECT_EQ(r.records[i].candidates, t.label_names());
  }
  EXPECT_EQ(s.generate_calls, 0);
  EXPECT_EQ(s.score_calls, 18);  // ceil(277 / 16)
  EXPECT_EQ(s.max_batch, 16u);
}

TEST(EvalEvaluate, GenerateModeCountsInvalidOutputsWrong) {
  REQUIRE_DATA();
  const Task& t = find_task("mrpc");
  const auto ex = t.load(data_dir(), "validation");
  FakeScorer s;
  teach(s, t, ex);
  EvalOptions o;
  o.mode = EvalMode::generate;
  o.batch_size = 50;
  const EvalResult r = evaluate(t, ex, "validation", s, o);
  // Unknown inputs decode to "garbage": T5 maps it to -1, which f1_with_invalid counts as wrong.
  std::vector<int> pred;
  for (const auto& e : ex) pred.push_back(knows(t.format(e, Verbalizer::t5).input) ? e.label : -1);
  const auto gold = gold_labels(ex);
  ASSERT_EQ(r.metrics.size(), 2u);
  EXPECT_EQ(r.metrics[0].first, "f1");
  EXPECT_EQ(r.metrics[1].first, "accuracy");
  EXPECT_NEAR(r.metric("f1"), 100 * metrics::f1_with_invalid(gold, pred), 1e-12);
  EXPECT_NEAR(r.metric("accuracy"), 100 * metrics::accuracy(gold, pred), 1e-12);
  EXPECT_NEAR(r.score, (r.metric("f1") + r.metric("accuracy")) / 2, 1e-12);
  EXPECT_EQ(s.score_calls, 0);
  for (const auto& rec : r.records) EXPECT_EQ(rec.mode, "generate");
}

TEST(EvalEvaluate, CbMacroF1AndBatchInvariance) {
  REQUIRE_DATA();
  const Task& t = find_task("cb");
  const auto ex = t.load(data_dir(), "validation");
  FakeScorer s;
  teach(s, t, ex);
  const auto pred = expected_rank_labels(t, ex);
  const auto gold = gold_labels(ex);
  EvalOptions o;
  o.batch_size = 1;
  const EvalResult r1 = evaluate(t, ex, "validation", s, o);
  o.batch_size = 7;
  size_t calls = 0, total = 0;
  o.progress = [&](size_t done, size_t n) {
    ++calls;
    total = n;
    EXPECT_LE(done, n);
  };
  const EvalResult r7 = evaluate(t, ex, "validation", s, o);
  EXPECT_NEAR(r1.metric("mean_3class_f1"), 100 * metrics::macro_f1(gold, pred, 3), 1e-12);
  EXPECT_NEAR(r1.metric("accuracy"), 100 * metrics::accuracy(gold, pred), 1e-12);
  EXPECT_EQ(r1.metrics, r7.metrics);
  EXPECT_EQ(calls, 8u);  // ceil(56 / 7)
  EXPECT_EQ(total, 56u);
}

TEST(EvalEvaluate, CopaNaturalPerExampleCandidates) {
  REQUIRE_DATA();
  const Task& t = find_task("copa");
  const auto ex = t.load(data_dir(), "validation");
  FakeScorer s;
  teach(s, t, ex, Verbalizer::natural);
  EvalOptions o;
  o.verbalizer = Verbalizer::natural;
  const EvalResult r = evaluate(t, ex, "validation", s, o);
  const auto pred = expected_rank_labels(t, ex, Verbalizer::natural);
  EXPECT_NEAR(r.metric("accuracy"), 100 * metrics::accuracy(gold_labels(ex), pred), 1e-12);
  EXPECT_EQ(r.records[0].candidates, t.format(ex[0], Verbalizer::natural).candidates);
}

TEST(EvalEvaluate, StsbGenerateAndRank) {
  REQUIRE_DATA();
  const Task& t = find_task("stsb");
  const auto all = t.load(data_dir(), "validation");
  const std::vector<Example> ex(all.begin(), all.begin() + 300);
  FakeScorer s;
  teach(s, t, ex);
  s.wrong_text = [](const std::string& in) { return fnv1a(in) % 2 ? std::string("2.0") : std::string("n/a"); };
  EvalOptions o;
  o.mode = EvalMode::generate;
  const EvalResult g = evaluate(t, ex, "validation", s, o);
  // Gold is the rounded target (T5 postprocesses targets too); "n/a" parses to -1.
  std::vector<double> gold, pred;
  for (const auto& e : ex) {
    const std::string in = t.format(e, Verbalizer::t5).input;
    gold.push_back(std::stod(stsb_target(e.score)));
    pred.push_back(knows(in) ? std::stod(stsb_target(e.score)) : (fnv1a(in) % 2 ? 2.0 : -1.0));
  }
  ASSERT_EQ(g.metrics.size(), 2u);
  EXPECT_NEAR(g.metric("pearson_corrcoef"), 100 * metrics::pearson(gold, pred), 1e-9);
  EXPECT_NEAR(g.metric("spearman_corrcoef"), 100 * metrics::spearman(gold, pred), 1e-9);
  // Rank mode without stsb_rank still decodes (a regression task has no label candidates).
  o.mode = EvalMode::rank;
  const EvalResult d = evaluate(t, ex, "validation", s, o);
  EXPECT_EQ(d.metrics, g.metrics);
  // Rank over the 26 values: the wrong choice is the next value up (mod 26).
  o.stsb_rank = true;
  const EvalResult r = evaluate(t, ex, "validation", s, o);
  std::vector<double> rpred;
  for (size_t i = 0; i < ex.size(); ++i) {
    const int k = static_cast<int>(std::lround(gold[i] * 5));
    rpred.push_back(knows(t.format(ex[i], Verbalizer::t5).input) ? gold[i] : ((k + 1) % 26) / 5.0);
  }
  EXPECT_NEAR(r.metric("pearson_corrcoef"), 100 * metrics::pearson(gold, rpred), 1e-9);
  EXPECT_EQ(r.records[0].candidates.size(), 26u);
  EXPECT_EQ(r.records[0].mode, "rank");
}

TEST(EvalEvaluate, MultircGroupsAndMaxExamples) {
  REQUIRE_DATA();
  const Task& t = find_task("multirc");
  const auto ex = t.load(data_dir(), "validation");
  FakeScorer s;
  teach(s, t, ex);
  EvalOptions o;
  o.max_examples = 100;
  const EvalResult r = evaluate(t, ex, "validation", s, o);
  // The cut moves to the end of the question it falls in.
  ASSERT_GE(r.num_examples, 100u);
  EXPECT_NE(ex[r.num_examples].group, ex[r.num_examples - 1].group);
  EXPECT_EQ(ex[99].group, ex[r.num_examples - 1].group);
  const std::vector<Example> used(ex.begin(), ex.begin() + static_cast<ptrdiff_t>(r.num_examples));
  const auto pred = expected_rank_labels(t, used);
  const auto gold = gold_labels(used);
  std::vector<std::string> groups;
  for (const auto& e : used) groups.push_back(e.group);
  EXPECT_EQ(r.metrics[0].first, "f1");
  EXPECT_EQ(r.metrics[1].first, "exact_match");
  EXPECT_NEAR(r.metric("f1"), 100 * metrics::multirc_f1a(gold, pred), 1e-12);
  EXPECT_NEAR(r.metric("exact_match"), 100 * metrics::multirc_exact_match(gold, pred, groups), 1e-12);
  EXPECT_LT(r.metric("exact_match"), r.metric("f1"));  // EM needs every option of a question right
}

TEST(EvalEvaluate, WscDecodesAndPostprocessesLikeT5) {
  REQUIRE_DATA();
  const Task& t = find_task("wsc");
  const auto ex = t.load(data_dir(), "validation");
  // wsc_simple inputs do not show span1, so rows that share a sentence and pronoun share an input:
  // the model's answer is per input. It names the true referent (span1 of a row labelled True)
  // when it knows the input, and "nobody" otherwise.
  std::map<std::string, std::string> referent;
  for (const auto& e : ex) {
    const std::string in = t.format(e, Verbalizer::t5).input;
    if (e.label == 1) referent[in] = e.field("span1_text");
  }
  FakeScorer s;
  for (const auto& e : ex) {
    const std::string in = t.format(e, Verbalizer::t5).input;
    s.gold_text[in] = referent.count(in) ? referent[in] : "nobody";
  }
  s.wrong_text = [](const std::string&) { return std::string("nobody"); };
  EvalOptions o;  // rank mode: WSC under T5 has no candidates, so it is decoded
  const EvalResult r = evaluate(t, ex, "validation", s, o);
  size_t right = 0, shared = 0;
  for (const auto& e : ex) {
    const std::string in = t.format(e, Verbalizer::t5).input;
    const std::string out = knows(in) ? s.gold_text[in] : "nobody";
    right += wsc_simple_postprocess(out, e.field("span1_text")) == e.label;
    shared += referent.count(in) && e.label == 0;
  }
  EXPECT_GT(shared, 0u);  // the shared-input case really occurs in the data
  EXPECT_DOUBLE_EQ(r.metric("accuracy"), 100.0 * static_cast<double>(right) / static_cast<double>(ex.size()));
  EXPECT_EQ(r.records[0].mode, "generate");
  EXPECT_EQ(s.score_calls, 0);
}

TEST(EvalEvaluate, RecordRankOverEntities) {
  const fs::path dir = fs::temp_directory_path() / ("spot_eval_record_" + std::to_string(::getpid()));
  fs::create_directories(dir / "superglue/ReCoRD");
  {
    std::ofstream f(dir / "superglue/ReCoRD/val.jsonl");
    for (int p = 0; p < 12; ++p) {
      f << "{\"idx\": " << p << ", \"passage\": {\"text\": \"Alice met Bob and the Queen of Hearts " << p
        << ".\", \"entities\": [{\"start\": 0, \"end\": 4}, {\"start\": 10, \"end\": 12}, {\"start\": 18, \"end\": "
           "36}]}, \"qas\": [{\"idx\": "
        << p << ", \"query\": \"@placeholder smiled " << p << "\", \"answers\": [{\"start\": 18, \"end\": 36, \"text\": "
        << "\"the Queen of Hearts\"}]}]}\n";
    }
  }
  const Task& t = find_task("record");
  const auto ex = t.load(dir.string(), "validation");
  fs::remove_all(dir);
  ASSERT_EQ(ex.size(), 12u);
  EXPECT_EQ(ex[0].entities, (std::vector<std::string>{"Alice", "Bob", "the Queen of Hearts"}));
  FakeScorer s;
  teach(s, t, ex);
  const EvalResult r = evaluate(t, ex, "validation", s, EvalOptions{});
  // A wrong pick is the next entity (mod 3) after "the Queen of Hearts": "Alice", sharing no token.
  size_t right = 0;
  for (const auto& e : ex) right += knows(t.format(e, Verbalizer::t5).input);
  EXPECT_NEAR(r.metric("em"), 100.0 * static_cast<double>(right) / 12.0, 1e-12);
  EXPECT_NEAR(r.metric("f1"), r.metric("em"), 1e-12);
  EXPECT_EQ(r.records[0].references, (std::vector<std::string>{"the Queen of Hearts"}));
  // Decoding: a partly right answer earns token F1 but no exact match.
  s.wrong_text = [](const std::string&) { return std::string("Queen Hearts"); };
  EvalOptions g;
  g.mode = EvalMode::generate;
  const EvalResult d = evaluate(t, ex, "validation", s, g);
  const double wrong_f1 = metrics::squad_token_f1("queen of hearts", "queen hearts");  // 2 * (1 * 2/3) / (5/3) = 0.8
  EXPECT_NEAR(wrong_f1, 0.8, 1e-12);
  EXPECT_NEAR(d.metric("f1"), 100.0 * (static_cast<double>(right) + (12.0 - right) * wrong_f1) / 12.0, 1e-9);
  EXPECT_NEAR(d.metric("em"), 100.0 * static_cast<double>(right) / 12.0, 1e-12);
}

// Scores that favour the longest candidate in total but not per token.
class LengthScorer : public Scorer {
 public:
  bool report_lengths = true;
  std::vector<std::vector<double>> score(const std::vector<ScoreRequest>& batch) override {
    std::vector<std::vector<double>> out;
    for (const auto& r : batch) {
      std::vector<double> s;
      for (const auto& c : r.candidates) s.push_back(c == "not_entailment" ? -2.4 : -2.0);  // 3 tokens vs 1
      out.push_back(s);
    }
    return out;
  }
  std::vector<std::string> generate(const std::vector<std::string>& inputs, int) override {
    return std::vector<std::string>(inputs.size(), "entailment");
  }
  std::vector<std::vector<int>> candidate_token_counts(const std::vector<ScoreRequest>& batch) override {
    if (!report_lengths) return Scorer::candidate_token_counts(batch);
    std::vector<std::vector<int>> out;
    for (const auto& r : batch) {
      std::vector<int> n;
      for (const auto& c : r.candidates) n.push_back(c == "not_entailment" ? 3 : 1);
      out.push_back(n);
    }
    return out;
  }
};

TEST(EvalEvaluate, LengthNormalisation) {
  REQUIRE_DATA();
  const Task& t = find_task("glue/rte");
  const auto all = t.load(data_dir(), "validation");
  const std::vector<Example> ex(all.begin(), all.begin() + 20);
  LengthScorer s;
  EvalOptions o;
  const EvalResult plain = evaluate(t, ex, "validation", s, o);
  for (const auto& rec : plain.records) EXPECT_EQ(rec.prediction.label, 0);  // -2.0 > -2.4
  o.length_normalize = true;
  const EvalResult norm = evaluate(t, ex, "validation", s, o);
  for (const auto& rec : norm.records) {
    EXPECT_EQ(rec.prediction.label, 1);  // -0.8 per token > -2.0
    EXPECT_NEAR(rec.scores[1], -0.8, 1e-12);
  }
  s.report_lengths = false;
  try {
    evaluate(t, ex, "validation", s, o);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("candidate_token_counts"), std::string::npos) << e.what();
  }
}

class BrokenScorer : public Scorer {
 public:
  std::vector<std::vector<double>> score(const std::vector<ScoreRequest>& batch) override {
    return std::vector<std::vector<double>>(batch.size(), std::vector<double>{0.0});  // one score per request
  }
  std::vector<std::string> generate(const std::vector<std::string>& inputs, int) override { return {}; }
};

TEST(EvalEvaluate, ScorerContractViolationsThrow) {
  REQUIRE_DATA();
  const Task& t = find_task("glue/rte");
  const auto all = t.load(data_dir(), "validation");
  const std::vector<Example> ex(all.begin(), all.begin() + 4);
  BrokenScorer s;
  EXPECT_THROW(evaluate(t, ex, "validation", s, EvalOptions{}), Error);
  EvalOptions g;
  g.mode = EvalMode::generate;
  EXPECT_THROW(evaluate(t, ex, "validation", s, g), Error);
  EvalOptions b;
  b.batch_size = 0;
  EXPECT_THROW(evaluate(t, ex, "validation", s, b), Error);
}

TEST(EvalEvaluate, UnlabelledSplitAndJsonlRecords) {
  REQUIRE_DATA();
  const Task& t = find_task("glue/rte");
  FakeScorer s;
  const auto test = t.load(data_dir(), "test");
  for (const auto& e : test) s.gold_text[t.format(e, Verbalizer::t5).input] = "entailment";
  EvalOptions o;
  o.max_examples = 25;
  const EvalResult r = evaluate(t, test, "test", s, o);
  EXPECT_EQ(r.num_examples, 25u);
  EXPECT_TRUE(r.metrics.empty());
  EXPECT_TRUE(std::isnan(r.score));
  const std::string path = (fs::temp_directory_path() / ("spot_eval_records_" + std::to_string(::getpid()) + ".jsonl")).string();
  write_records_jsonl(r, path);
  std::ifstream f(path);
  std::string line;
  size_t n = 0;
  while (std::getline(f, line)) {
    const auto o = boost::json::parse(line).as_object();
    EXPECT_EQ(std::string(o.at("id").as_string()), r.records[n].id);
    EXPECT_EQ(std::string(o.at("input").as_string()), r.records[n].input);
    EXPECT_EQ(std::string(o.at("target").as_string()), "<unk>");
    EXPECT_EQ(o.at("candidates").as_array().size(), 2u);
    EXPECT_EQ(o.at("gold_label").as_int64(), -1);
    EXPECT_FALSE(o.at("correct").as_bool());
    ++n;
  }
  fs::remove(path);
  EXPECT_EQ(n, 25u);
  const auto summary = boost::json::parse(result_json(r)).as_object();
  EXPECT_EQ(std::string(summary.at("task").as_string()), "glue/rte");
  EXPECT_TRUE(summary.at("score").is_null());
}

EvalResult fake_result(const std::string& task, const std::string& split,
                       std::vector<std::pair<std::string, double>> metrics) {
  EvalResult r;
  r.task = task;
  r.split = split;
  r.metrics = std::move(metrics);
  return r;
}

TEST(EvalEvaluate, BenchmarkAveragesFollowT5Groups) {
  std::vector<EvalResult> glue = {
      fake_result("glue/cola", "validation", {{"matthews_corrcoef", 50}}),
      fake_result("glue/sst2", "validation", {{"accuracy", 90}}),
      fake_result("glue/mrpc", "validation", {{"f1", 88}, {"accuracy", 84}}),
      fake_result("glue/stsb", "validation", {{"pearson_corrcoef", 86}, {"spearman_corrcoef", 85}}),
      fake_result("glue/qqp", "validation", {{"f1", 70}, {"accuracy", 80}}),
      fake_result("glue/mnli_matched", "validation", {{"accuracy", 80}}),
      fake_result("glue/mnli_mismatched", "validation", {{"accuracy", 82}}),
      fake_result("glue/qnli", "validation", {{"accuracy", 91}}),
      fake_result("glue/rte", "validation", {{"accuracy", 70}}),
      fake_result("glue/wnli", "validation", {{"accuracy", 10}}),  // not part of T5's average
  };
  const auto g = benchmark_average("glue", glue);
  EXPECT_TRUE(g.missing.empty());
  const double want = (50 + 90 + 86 + 85.5 + 75 + 81 + 91 + 70) / 8.0;
  EXPECT_NEAR(g.average, want, 1e-12);
  ASSERT_EQ(g.groups.size(), 8u);
  EXPECT_EQ(g.groups[5].first, "MNLI");
  EXPECT_NEAR(g.groups[5].second, 81, 1e-12);
  // glue/mnli evaluated on its two validation splits fills the MNLI group too.
  glue[5] = fake_result("glue/mnli", "validation_matched", {{"accuracy", 80}});
  glue[6] = fake_result("glue/mnli", "validation_mismatched", {{"accuracy", 82}});
  EXPECT_NEAR(benchmark_average("glue", glue).average, want, 1e-12);
  glue.erase(glue.begin() + 3);  // no STS-B
  const auto partial = benchmark_average("glue", glue);
  EXPECT_TRUE(std::isnan(partial.average));
  EXPECT_EQ(partial.missing, (std::vector<std::string>{"STSB"}));

  const std::vector<EvalResult> sg = {
      fake_result("superglue/boolq", "validation", {{"accuracy", 80}}),
      fake_result("superglue/cb", "validation", {{"mean_3class_f1", 90}, {"accuracy", 94}}),
      fake_result("superglue/copa", "validation", {{"accuracy", 70}}),
      fake_result("superglue/multirc", "validation", {{"f1", 75}, {"exact_match", 35}}),
      fake_result("superglue/record", "validation", {{"em", 80}, {"f1", 82}}),
      fake_result("superglue/rte", "validation", {{"accuracy", 85}}),
      fake_result("superglue/wic", "validation", {{"accuracy", 70}}),
      fake_result("superglue/wsc", "validation", {{"accuracy", 78}}),
  };
  EXPECT_NEAR(benchmark_average("superglue", sg).average, (80 + 92 + 70 + 55 + 81 + 85 + 70 + 78) / 8.0, 1e-12);
  EXPECT_THROW(benchmark_average("squad", sg), Error);
}

}  // namespace
}  // namespace spot::eval

namespace spot::eval {
namespace {

// What people read: the task score named as such, with the metrics it averages, one decimal.
TEST(EvalOutput, ResultSummaryNamesWhatItPrints) {
  EvalResult r;
  r.metrics = {{"accuracy", 50.0}, {"f1", 0.0}};
  r.score = 25.0;
  EXPECT_EQ(result_summary(r), "score 25.0 (accuracy 50.0, f1 0.0)");
  r.metrics = {{"accuracy", 83.5}};
  r.score = 83.5;
  EXPECT_EQ(result_summary(r), "accuracy 83.5");
  r.metrics = {{"pearson_corrcoef", 88.25}, {"spearman_corrcoef", std::nan("")}};
  EXPECT_EQ(result_summary(r).substr(0, 6), "score ");
  EXPECT_NE(result_summary(r).find("spearman_corrcoef n/a"), std::string::npos);
  r.metrics.clear();
  EXPECT_EQ(result_summary(r), "no metrics (unlabelled split)");
}

}  // namespace
}  // namespace spot::eval
