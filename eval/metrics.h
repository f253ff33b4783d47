// metrics.h — the official GLUE / SuperGLUE metrics, as T5 computes them (t5/evaluation/metrics.py,
// which calls scikit-learn and scipy, and qa_utils.py for the SQuAD-style ReCoRD metrics).
//
// Every function returns a fraction in [0, 1] (or a correlation in [-1, 1]) exactly as the library
// it reproduces; the evaluation loop multiplies by 100 as T5 does. Undefined values (a Pearson
// correlation of a constant vector) are NaN, as scipy returns them. Labels are class indices; a
// prediction of -1 is T5's "invalid" (a decoded string that is no label), never equal to a gold label.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace spot::eval::metrics {

// sklearn.metrics.accuracy_score.
double accuracy(const std::vector<int>& gold, const std::vector<int>& pred);

// sklearn.metrics.f1_score(average='binary', pos_label=positive): 2TP / (2TP + FP + FN), 0 when
// the denominator is 0 (sklearn's zero_division default).
double f1_binary(const std::vector<int>& gold, const std::vector<int>& pred, int positive = 1);

// T5's f1_score_with_invalid: a prediction other than 0 or 1 is set to 1 - gold, then binary F1.
double f1_with_invalid(const std::vector<int>& gold, const std::vector<int>& pred);

// sklearn.metrics.fbeta_score(beta=1, labels=range(num_classes), average='macro'): the unweighted
// mean of the per-class F1 (T5's mean_multiclass_f1; CB uses num_classes = 3).
double macro_f1(const std::vector<int>& gold, const std::vector<int>& pred, int num_classes);

// sklearn.metrics.matthews_corrcoef, multiclass form over the union of labels seen (an invalid
// prediction -1 is one more class, as sklearn treats it); 0 when undefined.
double matthews_corrcoef(const std::vector<int>& gold, const std::vector<int>& pred);

// scipy.stats.pearsonr(x, y)[0]; NaN when either input is constant.
double pearson(const std::vector<double>& x, const std::vector<double>& y);

// Ranks 1..n with ties given their average rank (scipy.stats.rankdata(method='average')).
std::vector<double> average_ranks(const std::vector<double>& x);

// scipy.stats.spearmanr(x, y)[0]: Pearson of the average ranks; NaN when either input is constant.
double spearman(const std::vector<double>& x, const std::vector<double>& y);

// MultiRC F1a: T5's multirc_f1_over_all_answers = f1_with_invalid over every answer option.
double multirc_f1a(const std::vector<int>& gold, const std::vector<int>& pred);

// MultiRC EM: T5's mean_group_metric(all_match): per question (group), 1 when every answer
// option of that question is predicted right, averaged over questions.
double multirc_exact_match(const std::vector<int>& gold, const std::vector<int>& pred,
                           const std::vector<std::string>& group);

// The official SQuAD v1.1 answer normalisation (T5 qa_utils.normalize_squad): lower-case, drop
// ASCII punctuation, replace the words a/an/the by a space, collapse whitespace.
std::string squad_normalize(std::string_view s);

// Token-level F1 of two normalised strings (T5 qa_utils._f1_score; 0 when no token is shared).
double squad_token_f1(std::string_view normalized_gold, std::string_view normalized_pred);

struct QaScores {
  double exact_match = 0;  // fraction of questions whose prediction equals some gold answer
  double f1 = 0;           // mean over questions of the best token F1 over the gold answers
};

// T5 metrics.squad / qa_utils.qa_metrics: normalise, then the max over ground truths per question,
// averaged over questions (ReCoRD's official EM and F1). Every question needs >= 1 gold answer.
QaScores qa_max_over_ground_truths(const std::vector<std::vector<std::string>>& gold_answers,
                                   const std::vector<std::string>& predictions);

}  // namespace spot::eval::metrics
