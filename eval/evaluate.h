// evaluate.h — the evaluation loop: a task's examples through a Scorer (a frozen backbone with a
// soft prompt), by rank classification or greedy decoding, into T5's metrics.
//
// Rank classification scores every candidate continuation (the label strings) and picks the most
// likely (T5's rank_classification; optionally divided by the candidate's token count). Decoding
// generates text and postprocesses it as T5 does (exact label string, float for STS-B,
// wsc_simple for WSC). Metrics are reported as T5 reports them: in percent, under T5's names, and
// a task's score is the mean of its metrics (t5/evaluation/eval_utils.py compute_avg_glue).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "eval/tasks.h"

namespace spot::eval {

struct ScoreRequest {
  std::string input;
  std::vector<std::string> candidates;
};

class Scorer {  // implemented by a frozen backbone + a soft prompt
 public:
  virtual ~Scorer() = default;
  // log-likelihood (sum over target tokens) of each candidate continuation for each request
  virtual std::vector<std::vector<double>> score(const std::vector<ScoreRequest>& batch) = 0;
  virtual std::vector<std::string> generate(const std::vector<std::string>& inputs, int max_new_tokens) = 0;
  // Number of target tokens of each candidate (for length-normalised ranking). Scorers that can
  // tokenize override this; the default throws, so normalisation never silently falls back.
  virtual std::vector<std::vector<int>> candidate_token_counts(const std::vector<ScoreRequest>& batch);
};

enum class EvalMode { rank, generate };
EvalMode eval_mode_from_string(const std::string& s);  // "rank" | "generate"
const char* eval_mode_name(EvalMode m);

struct EvalOptions {
  int64_t max_examples = -1;  // -1: all. MultiRC / ReCoRD keep whole groups: the cut moves to the
                              // end of the group it falls in (T5 warns that partial groups skew EM)
  int batch_size = 32;
  EvalMode mode = EvalMode::rank;
  Verbalizer verbalizer = Verbalizer::t5;
  bool length_normalize = false;  // rank: log-likelihood / candidate token count
  bool stsb_rank = false;         // STS-B in rank mode: rank the 26 values 0.0..5.0 (else decode)
  int max_new_tokens = 0;         // decoding budget; 0 = the task's default
  std::function<void(size_t done, size_t total)> progress;  // called after each batch
};

// One evaluated example, for the per-example JSONL records.
struct ExampleRecord {
  std::string id;
  std::string input;
  std::string target;
  std::vector<std::string> candidates;  // rank mode: what was scored
  std::vector<double> scores;           // rank mode: the (possibly normalised) score of each candidate
  std::string mode;                     // "rank" or "generate" (WSC under T5 always decodes)
  Prediction prediction;
  int gold_label = -1;
  double gold_value = 0;  // regression gold as T5 compares it (NaN when unlabelled)
  std::vector<std::string> references;
  bool correct = false;
};

struct EvalResult {
  std::string task, split;
  EvalMode mode = EvalMode::rank;
  Verbalizer verbalizer = Verbalizer::t5;
  size_t num_examples = 0;
  // T5's metric names and values in percent, in T5's order; empty on an unlabelled split.
  std::vector<std::pair<std::string, double>> metrics;
  double score = 0;  // mean of `metrics` (NaN when there are none)
  std::vector<ExampleRecord> records;

  double metric(const std::string& name) const;  // throws naming the available metrics
};

// Evaluates `examples` (of `split`, used only for naming) with `scorer`.
EvalResult evaluate(const Task& task, const std::vector<Example>& examples, const std::string& split, Scorer& scorer,
                    const EvalOptions& options);
// Loads `split` from data_dir, then evaluates it.
EvalResult evaluate(const Task& task, const std::string& data_dir, const std::string& split, Scorer& scorer,
                    const EvalOptions& options);

// T5's metrics (in percent) for predictions on examples (examples with no label are skipped).
std::vector<std::pair<std::string, double>> compute_metrics(const Task& task, const std::vector<Example>& examples,
                                                            const std::vector<Prediction>& predictions);

// One JSON object per example: id, input, target, candidates, scores, prediction, gold, correct.
void write_records_jsonl(const EvalResult& result, const std::string& path);
// The result without per-example records, as a JSON object (task, split, mode, metrics, score).
std::string result_json(const EvalResult& result);
// The result for people, naming what each number is (percent, one decimal): the task score and the
// metrics it averages, "score 25.0 (accuracy 50.0, f1 0.0)"; "accuracy 83.5" when the score is the
// one metric; "no metrics (unlabelled split)" when there are none.
std::string result_summary(const EvalResult& result);

// ---------------------------------------------------------------- benchmark averages

// The GLUE / SuperGLUE average as T5's compute_avg_glue: each task group's score is the mean of
// its metrics (MNLI's group holds the matched and mismatched accuracies), the average is the mean
// over groups. GLUE groups: CoLA SST-2 MRPC STS-B QQP MNLI QNLI RTE (WNLI is not averaged, as in
// T5); SuperGLUE: BoolQ CB COPA MultiRC ReCoRD RTE WiC WSC. Results are matched by task name
// (and, for glue/mnli, by split validation_matched / validation_mismatched).
struct BenchmarkAverage {
  double average = 0;                                  // NaN when a group is missing
  std::vector<std::pair<std::string, double>> groups;  // group name -> group score, present ones
  std::vector<std::string> missing;                    // groups without results
};
BenchmarkAverage benchmark_average(const std::string& benchmark, const std::vector<EvalResult>& results);

}  // namespace spot::eval
