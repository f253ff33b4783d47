// test_metrics.cpp — eval/metrics against scikit-learn / scipy / the SQuAD normaliser, through the
// goldens written by tests/golden/gen_metric_goldens.py (tests/golden/metrics/metrics.json).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

#include "eval/metrics.h"
#include "base/check.h"

namespace spot::eval {
namespace {

namespace json = boost::json;
constexpr double kTol = 1e-9;

const json::object& goldens() {
  static const json::value v = [] {
    const std::string path = std::string(SPOT_SOURCE_DIR) + "/tests/golden/metrics/metrics.json";
    std::ifstream f(path);
    EXPECT_TRUE(f) << "missing golden file " << path << " (run tests/golden/gen_metric_goldens.py)";
    std::stringstream ss;
    ss << f.rdbuf();
    return json::parse(ss.str());
  }();
  return v.as_object();
}

std::vector<int> ints(const json::value& v) {
  std::vector<int> out;
  for (const auto& x : v.as_array()) out.push_back(static_cast<int>(x.as_int64()));
  return out;
}

std::vector<double> doubles(const json::value& v) {
  std::vector<double> out;
  for (const auto& x : v.as_array()) out.push_back(x.is_double() ? x.as_double() : static_cast<double>(x.as_int64()));
  return out;
}

std::vector<std::string> strings(const json::value& v) {
  std::vector<std::string> out;
  for (const auto& x : v.as_array()) out.emplace_back(x.as_string());
  return out;
}

double num(const json::value& v) { return v.is_double() ? v.as_double() : static_cast<double>(v.as_int64()); }

// Compares with a golden value; a JSON null is scipy's NaN.
void expect_value(double got, const json::value& want, const std::string& what) {
  if (want.is_null()) {
    EXPECT_TRUE(std::isnan(got)) << what << ": expected NaN, got " << got;
  } else {
    EXPECT_NEAR(got, num(want), kTol) << what;
  }
}

TEST(EvalMetrics, GoldensCoverEveryMetric) {
  const auto& g = goldens();
  for (const char* key : {"binary", "multiclass", "regression", "multirc", "squad_normalize", "qa", "token_f1"}) {
    ASSERT_TRUE(g.contains(key)) << key;
    EXPECT_GE(g.at(key).as_array().size(), 2u) << key;
  }
}

TEST(EvalMetrics, BinaryMatchesSklearn) {
  for (const auto& cv : goldens().at("binary").as_array()) {
    const auto& c = cv.as_object();
    const std::string name(c.at("name").as_string());
    const auto gold = ints(c.at("gold")), pred = ints(c.at("pred"));
    expect_value(metrics::accuracy(gold, pred), c.at("accuracy"), name + " accuracy");
    expect_value(metrics::f1_with_invalid(gold, pred), c.at("f1_with_invalid"), name + " f1_with_invalid");
    expect_value(metrics::matthews_corrcoef(gold, pred), c.at("matthews_corrcoef"), name + " mcc");
    if (c.contains("f1")) expect_value(metrics::f1_binary(gold, pred), c.at("f1"), name + " f1");
  }
}

TEST(EvalMetrics, MulticlassMatchesSklearn) {
  for (const auto& cv : goldens().at("multiclass").as_array()) {
    const auto& c = cv.as_object();
    const std::string name(c.at("name").as_string());
    const auto gold = ints(c.at("gold")), pred = ints(c.at("pred"));
    const int k = static_cast<int>(c.at("num_classes").as_int64());
    expect_value(metrics::accuracy(gold, pred), c.at("accuracy"), name + " accuracy");
    expect_value(metrics::macro_f1(gold, pred, k), c.at("macro_f1"), name + " macro_f1");
    expect_value(metrics::matthews_corrcoef(gold, pred), c.at("matthews_corrcoef"), name + " mcc");
  }
}

TEST(EvalMetrics, CorrelationsMatchScipy) {
  for (const auto& cv : goldens().at("regression").as_array()) {
    const auto& c = cv.as_object();
    const std::string name(c.at("name").as_string());
    const auto x = doubles(c.at("x")), y = doubles(c.at("y"));
    expect_value(metrics::pearson(x, y), c.at("pearson"), name + " pearson");
    expect_value(metrics::spearman(x, y), c.at("spearman"), name + " spearman");
    const auto ranks = metrics::average_ranks(x);
    const auto want = doubles(c.at("ranks_x"));
    ASSERT_EQ(ranks.size(), want.size());
    for (size_t i = 0; i < ranks.size(); ++i) EXPECT_NEAR(ranks[i], want[i], kTol) << name << " rank " << i;
  }
}

TEST(EvalMetrics, MultircMatchesT5) {
  for (const auto& cv : goldens().at("multirc").as_array()) {
    const auto& c = cv.as_object();
    const std::string name(c.at("name").as_string());
    const auto gold = ints(c.at("gold")), pred = ints(c.at("pred"));
    const auto group = strings(c.at("group"));
    expect_value(metrics::multirc_f1a(gold, pred), c.at("f1a"), name + " f1a");
    expect_value(metrics::multirc_exact_match(gold, pred, group), c.at("exact_match"), name + " exact_match");
  }
}

TEST(EvalMetrics, SquadNormalizeMatchesPython) {
  for (const auto& cv : goldens().at("squad_normalize").as_array()) {
    const auto& c = cv.as_object();
    EXPECT_EQ(metrics::squad_normalize(std::string(c.at("input").as_string())), std::string(c.at("output").as_string()))
        << "input: " << c.at("input").as_string();
  }
}

TEST(EvalMetrics, TokenF1AndQaMatchPython) {
  for (const auto& cv : goldens().at("token_f1").as_array()) {
    const auto& c = cv.as_object();
    expect_value(metrics::squad_token_f1(c.at("gold").as_string(), c.at("pred").as_string()), c.at("f1"),
                 std::string("token f1 of '") + std::string(c.at("pred").as_string()) + "'");
  }
  for (const auto& cv : goldens().at("qa").as_array()) {
    const auto& c = cv.as_object();
    std::vector<std::vector<std::string>> golds;
    for (const auto& g : c.at("golds").as_array()) golds.push_back(strings(g));
    const auto s = metrics::qa_max_over_ground_truths(golds, strings(c.at("preds")));
    expect_value(s.exact_match, c.at("em"), std::string(c.at("name").as_string()) + " em");
    expect_value(s.f1, c.at("f1"), std::string(c.at("name").as_string()) + " f1");
  }
}

TEST(EvalMetrics, HandCheckedValues) {
  // 2 TP, 1 FP, 1 FN -> F1 = 4 / 6; an invalid prediction on a positive becomes a false negative.
  EXPECT_NEAR(metrics::f1_binary({1, 1, 1, 0, 0}, {1, 1, 0, 1, 0}), 4.0 / 6.0, 1e-15);
  EXPECT_NEAR(metrics::f1_with_invalid({1, 1, 1, 0, 0}, {1, 1, -1, 1, 0}), 4.0 / 6.0, 1e-15);
  // An invalid prediction on a negative becomes a false positive.
  EXPECT_NEAR(metrics::f1_with_invalid({1, 0}, {1, -1}), 2.0 / 3.0, 1e-15);
  EXPECT_DOUBLE_EQ(metrics::accuracy({0, 1, 2}, {0, -1, 2}), 2.0 / 3.0);
  EXPECT_EQ(metrics::average_ranks({10, 20, 20, 5}), (std::vector<double>{2, 3.5, 3.5, 1}));
  EXPECT_DOUBLE_EQ(metrics::multirc_exact_match({1, 0, 1}, {1, 0, 0}, {"a", "a", "b"}), 0.5);
}

TEST(EvalMetrics, BadInputsThrow) {
  EXPECT_THROW(metrics::accuracy({0, 1}, {0}), Error);
  EXPECT_THROW(metrics::accuracy({}, {}), Error);
  EXPECT_THROW(metrics::pearson({1.0}, {2.0}), Error);
  EXPECT_THROW(metrics::qa_max_over_ground_truths({{}}, {"x"}), Error);
  EXPECT_THROW(metrics::multirc_exact_match({1}, {1}, {}), Error);
}

}  // namespace
}  // namespace spot::eval
