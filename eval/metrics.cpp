// metrics.cpp — GLUE / SuperGLUE metrics following scikit-learn, scipy and T5's qa_utils.
#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "eval/text.h"
#include "base/check.h"

namespace spot::eval::metrics {
namespace {

void check_sizes(size_t a, size_t b, const char* what) {
  SPOT_CHECK(a == b, what << ": " << a << " gold values but " << b << " predictions");
  SPOT_CHECK(a > 0, what << ": no examples");
}

double nan() { return std::numeric_limits<double>::quiet_NaN(); }

}  // namespace

double accuracy(const std::vector<int>& gold, const std::vector<int>& pred) {
  check_sizes(gold.size(), pred.size(), "accuracy");
  size_t right = 0;
  for (size_t i = 0; i < gold.size(); ++i) right += gold[i] == pred[i];
  return static_cast<double>(right) / static_cast<double>(gold.size());
}

double f1_binary(const std::vector<int>& gold, const std::vector<int>& pred, int positive) {
  check_sizes(gold.size(), pred.size(), "f1");
  int64_t tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < gold.size(); ++i) {
    const bool g = gold[i] == positive, p = pred[i] == positive;
    tp += g && p;
    fp += !g && p;
    fn += g && !p;
  }
  const int64_t denom = 2 * tp + fp + fn;
  return denom == 0 ? 0.0 : static_cast<double>(2 * tp) / static_cast<double>(denom);
}

double f1_with_invalid(const std::vector<int>& gold, const std::vector<int>& pred) {
  check_sizes(gold.size(), pred.size(), "f1_with_invalid");
  std::vector<int> fixed(pred);
  for (size_t i = 0; i < fixed.size(); ++i)
    if (fixed[i] != 0 && fixed[i] != 1) fixed[i] = 1 - gold[i];
  return f1_binary(gold, fixed, 1);
}

double macro_f1(const std::vector<int>& gold, const std::vector<int>& pred, int num_classes) {
  check_sizes(gold.size(), pred.size(), "macro_f1");
  SPOT_CHECK(num_classes > 0, "macro_f1: num_classes must be positive");
  // sklearn with labels=range(n): per class, true_sum counts gold == c, pred_sum counts pred == c
  // (a prediction outside 0..n-1 adds to no pred_sum), tp counts both.
  std::vector<int64_t> tp(num_classes, 0), true_sum(num_classes, 0), pred_sum(num_classes, 0);
  for (size_t i = 0; i < gold.size(); ++i) {
    if (gold[i] >= 0 && gold[i] < num_classes) ++true_sum[gold[i]];
    if (pred[i] >= 0 && pred[i] < num_classes) ++pred_sum[pred[i]];
    if (gold[i] == pred[i] && gold[i] >= 0 && gold[i] < num_classes) ++tp[gold[i]];
  }
  double sum = 0;
  for (int c = 0; c < num_classes; ++c) {
    const int64_t denom = true_sum[c] + pred_sum[c];
    sum += denom == 0 ? 0.0 : static_cast<double>(2 * tp[c]) / static_cast<double>(denom);
  }
  return sum / num_classes;
}

double matthews_corrcoef(const std::vector<int>& gold, const std::vector<int>& pred) {
  check_sizes(gold.size(), pred.size(), "matthews_corrcoef");
  // sklearn: C = confusion matrix over the sorted union of labels; t_sum = row sums, p_sum = column
  // sums; cov(yt, yp) = trace(C) * n - t_sum . p_sum; mcc = cov(yt,yp) / sqrt(cov(yt,yt) cov(yp,yp)).
  std::map<int, int64_t> t_sum, p_sum;
  int64_t correct = 0;
  for (size_t i = 0; i < gold.size(); ++i) {
    ++t_sum[gold[i]];
    ++p_sum[pred[i]];
    correct += gold[i] == pred[i];
  }
  const double n = static_cast<double>(gold.size());
  double t_dot_p = 0, t_dot_t = 0, p_dot_p = 0;
  for (const auto& [label, count] : t_sum) {
    t_dot_t += static_cast<double>(count) * static_cast<double>(count);
    auto it = p_sum.find(label);
    if (it != p_sum.end()) t_dot_p += static_cast<double>(count) * static_cast<double>(it->second);
  }
  for (const auto& [label, count] : p_sum) p_dot_p += static_cast<double>(count) * static_cast<double>(count);
  const double cov_ytyp = static_cast<double>(correct) * n - t_dot_p;
  const double cov_ypyp = n * n - p_dot_p;
  const double cov_ytyt = n * n - t_dot_t;
  if (cov_ypyp * cov_ytyt == 0) return 0.0;
  return cov_ytyp / std::sqrt(cov_ytyt * cov_ypyp);
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  check_sizes(x.size(), y.size(), "pearson");
  SPOT_CHECK(x.size() >= 2, "pearson: needs at least 2 values, got " << x.size());
  const double n = static_cast<double>(x.size());
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  // Constant input: scipy warns and returns NaN.
  bool x_const = true, y_const = true;
  for (size_t i = 1; i < x.size(); ++i) {
    x_const = x_const && x[i] == x[0];
    y_const = y_const && y[i] == y[0];
  }
  if (x_const || y_const) return nan();
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  const double r = sxy / (std::sqrt(sxx) * std::sqrt(syy));
  return std::clamp(r, -1.0, 1.0);  // scipy clips rounding overshoot
}

std::vector<double> average_ranks(const std::vector<double>& x) {
  std::vector<size_t> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  std::vector<double> ranks(x.size());
  size_t i = 0;
  while (i < order.size()) {
    size_t j = i;
    while (j + 1 < order.size() && x[order[j + 1]] == x[order[i]]) ++j;
    // Positions i..j (0-based) hold equal values: each gets the mean of ranks i+1..j+1.
    const double avg = 0.5 * static_cast<double>(i + j) + 1.0;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = avg;
    i = j + 1;
  }
  return ranks;
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  check_sizes(x.size(), y.size(), "spearman");
  return pearson(average_ranks(x), average_ranks(y));
}

double multirc_f1a(const std::vector<int>& gold, const std::vector<int>& pred) {
  return f1_with_invalid(gold, pred);
}

double multirc_exact_match(const std::vector<int>& gold, const std::vector<int>& pred,
                           const std::vector<std::string>& group) {
  check_sizes(gold.size(), pred.size(), "multirc_exact_match");
  SPOT_CHECK(group.size() == gold.size(), "multirc_exact_match: " << group.size() << " group keys for "
                                                                  << gold.size() << " answers");
  // Groups are keyed by question; the order of first appearance does not change the mean.
  std::map<std::string, bool> all_right;
  for (size_t i = 0; i < gold.size(); ++i) {
    auto [it, inserted] = all_right.emplace(group[i], true);
    it->second = it->second && gold[i] == pred[i];
  }
  double sum = 0;
  for (const auto& [key, ok] : all_right) sum += ok ? 1.0 : 0.0;
  return sum / static_cast<double>(all_right.size());
}

std::string squad_normalize(std::string_view s) {
  // 1. lower(); 2. drop string.punctuation (ASCII only); 3. re.sub(r"\b(a|an|the)\b", " ");
  // 4. " ".join(s.split()).
  const std::string lowered = text::lower(s);
  static const std::string_view punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  std::string no_punct;
  no_punct.reserve(lowered.size());
  for (char ch : lowered)
    if (punctuation.find(ch) == std::string_view::npos) no_punct += ch;
  // With \b on both sides and only word characters inside, the regex matches exactly the maximal
  // runs of \w characters that spell a, an or the; each becomes one space.
  const std::u32string cps = text::decode(no_punct);
  std::u32string no_articles;
  size_t i = 0;
  while (i < cps.size()) {
    const bool word = text::is_word_char(cps[i]);
    size_t j = i + 1;
    while (j < cps.size() && text::is_word_char(cps[j]) == word) ++j;
    const std::u32string_view run(cps.data() + i, j - i);
    if (word && (run == U"a" || run == U"an" || run == U"the"))
      no_articles += U' ';
    else
      no_articles.append(run);
    i = j;
  }
  return text::join(text::split_whitespace(text::encode(no_articles)), " ");
}

double squad_token_f1(std::string_view normalized_gold, std::string_view normalized_pred) {
  const std::vector<std::string> pred_tokens = text::split_whitespace(normalized_pred);
  const std::vector<std::string> gold_tokens = text::split_whitespace(normalized_gold);
  // Counter(pred) & Counter(gold): per token, the smaller of the two counts.
  std::map<std::string, int64_t> gold_count;
  for (const auto& t : gold_tokens) ++gold_count[t];
  int64_t same = 0;
  for (const auto& t : pred_tokens) {
    auto it = gold_count.find(t);
    if (it != gold_count.end() && it->second > 0) {
      --it->second;
      ++same;
    }
  }
  if (same == 0) return 0.0;
  const double precision = static_cast<double>(same) / static_cast<double>(pred_tokens.size());
  const double recall = static_cast<double>(same) / static_cast<double>(gold_tokens.size());
  return (2 * precision * recall) / (precision + recall);
}

QaScores qa_max_over_ground_truths(const std::vector<std::vector<std::string>>& gold_answers,
                                   const std::vector<std::string>& predictions) {
  check_sizes(gold_answers.size(), predictions.size(), "qa metrics");
  double em_sum = 0, f1_sum = 0;
  for (size_t i = 0; i < predictions.size(); ++i) {
    SPOT_CHECK(!gold_answers[i].empty(), "qa metrics: question " << i << " has no gold answer");
    const std::string p = squad_normalize(predictions[i]);
    double em = 0, f1 = 0;
    for (const auto& g : gold_answers[i]) {
      const std::string t = squad_normalize(g);
      em = std::max(em, t == p ? 1.0 : 0.0);
      f1 = std::max(f1, squad_token_f1(t, p));
    }
    em_sum += em;
    f1_sum += f1;
  }
  const double n = static_cast<double>(predictions.size());
  return {em_sum / n, f1_sum / n};
}

}  // namespace spot::eval::metrics
