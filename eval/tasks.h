// tasks.h — the task API: examples, text-to-text formatting and verbalizers, the registry of
// built-in tasks (GLUE, SuperGLUE, SPoT's other sources), user task specs, T5's postprocessors.
//
// Every task reads the official distribution files (GLUE .tsv, SuperGLUE .jsonl) under a data
// directory and turns each row into an Example with the features TensorFlow Datasets' glue /
// super_glue builders produce (the same feature names, label indices and row order). Formatting
// into model text follows T5's preprocessors exactly (t5/data/preprocessors.py: glue, stsb,
// wsc_simple, record; t5/data/glue_utils.py for which one each task uses), because SPoT (Vu et
// al., 2022) trains and evaluates through T5's tasks. A second, "natural" verbalizer writes short
// instruction-style prompts with plain-word answers for decoder-only models (zero-shot SmolLM2).
// Deviations from T5 are listed in eval/README.md.
//
// Where it is implemented: the Task base class in eval/tasks.cpp; every built-in task is a table
// entry (TaskDef, eval/task_def.h) in eval/glue_tasks.cpp, superglue_tasks.cpp or source_tasks.cpp;
// the registry and data_dir_for in eval/registry.cpp; user tasks in eval/user_tasks.cpp; the T5
// helpers at the end of this header in eval/t5_postprocess.cpp.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace spot::eval {

// Which verbalizer (input template + answer strings) to format with.
enum class Verbalizer {
  t5,       // T5's text-to-text format: "rte sentence1: ... sentence2: ..." -> "not_entailment"
  natural,  // instruction-style prompt, answers as plain words with a leading space (" yes")
};
Verbalizer verbalizer_from_string(const std::string& s);  // "t5" | "natural"; throws otherwise
const char* verbalizer_name(Verbalizer v);

// What a prediction is.
enum class TaskKind {
  classification,  // one of label_names (rank over them, or decode and match the string)
  regression,      // a number (STS-B): decode and parse, or rank over the 26 values 0.0..5.0
  generation,      // free text scored against references (ReCoRD; WSC as T5's wsc_simple)
};
const char* task_kind_name(TaskKind k);

// The metrics T5 reports for a task, in T5's order (t5/data/glue_utils.py GLUE_METRICS /
// SUPERGLUE_METRICS); metric_key() gives T5's name for each.
enum class MetricKind {
  accuracy,           // "accuracy"
  f1_with_invalid,    // "f1" (MRPC, QQP)
  mean_3class_f1,     // "mean_3class_f1" (CB)
  matthews_corrcoef,  // "matthews_corrcoef" (CoLA)
  pearson,            // "pearson_corrcoef" (STS-B)
  spearman,           // "spearman_corrcoef" (STS-B)
  multirc_f1a,        // "f1" (MultiRC, over all answer options)
  multirc_em,         // "exact_match" (MultiRC, per question)
  squad_em,           // "em" (ReCoRD)
  squad_f1,           // "f1" (ReCoRD)
};
const char* metric_key(MetricKind m);

// One row of a split, with the features TFDS produces for it.
struct Example {
  int64_t idx = 0;  // TFDS "idx": the row number in the file (GLUE) or the file's "idx" (SuperGLUE)
  std::string id;   // printable id: "12"; MultiRC "paragraph/question/answer"; ReCoRD "passage/query"
  int line = 0;     // 1-based line of the source file, for messages
  std::vector<std::pair<std::string, std::string>> fields;  // text features, name -> text
  std::map<std::string, int64_t> numbers;                   // integer features (WSC span indices)
  int label = -1;                                           // class index; -1 = unlabelled (test)
  double score = std::numeric_limits<double>::quiet_NaN();  // STS-B similarity, as float32 like TFDS
  std::vector<std::string> answers;   // ReCoRD gold answers (sorted, unique: TFDS super_glue 1.0.2)
  std::vector<std::string> entities;  // ReCoRD candidate entities (sorted, unique)
  std::string group;                  // MultiRC question / ReCoRD query key; "" when ungrouped

  bool has_label() const { return label >= 0 || !std::isnan(score) || !answers.empty(); }
  const std::string& field(const std::string& name) const;  // throws naming the field when absent
  bool has_field(const std::string& name) const;
  int64_t number(const std::string& name) const;
};

// An example turned into model text.
struct Formatted {
  std::string input;                    // the encoder input (T5) or the prompt (natural)
  std::string target;                   // the training target; "<unk>" when unlabelled, as T5
  std::vector<std::string> candidates;  // rank-classification continuations; empty = decode only
  std::vector<std::string> references;  // gold strings for text metrics (ReCoRD answers)
};

// A model's answer for one example, after T5's postprocessing.
struct Prediction {
  int label = -1;  // class index; -1 = no label matched (T5's string_label_to_class_id default)
  double value = std::numeric_limits<double>::quiet_NaN();  // regression (STS-B); -1 when unparsable
  std::string text;  // decoded text, or the chosen candidate
  int choice = -1;   // index of the chosen candidate in rank mode
};

// One split and the files that can hold it, relative to the data directory; the first that exists
// wins (a full official file is preferred over the subsets shipped in shared/data).
struct SplitInfo {
  std::string name;                // "train", "validation", "test", "validation_matched", ...
  std::vector<std::string> files;  // e.g. {"glue/QQP/dev.tsv", "glue/QQP/dev.1k-subset.tsv"}
};

class Task {
 public:
  virtual ~Task() = default;

  const std::string& name() const { return name_; }            // "glue/rte", "superglue/wic"
  const std::string& benchmark() const { return benchmark_; }  // "glue", "superglue", "spot", "user"
  const std::string& t5_name() const { return t5_name_; }      // T5 registry name: "glue_rte_v002"
  TaskKind kind() const { return kind_; }
  // Class names as in TFDS (T5 targets), index = label. Empty for regression / generation.
  const std::vector<std::string>& label_names() const { return label_names_; }
  const std::vector<MetricKind>& metrics() const { return metrics_; }
  const std::vector<SplitInfo>& splits() const { return splits_; }
  const SplitInfo& split(const std::string& name) const;  // throws listing the task's splits

  // The file (or directory: RACE, CR) that holds `split` under data_dir, or nullopt when none of
  // its files exists.
  std::optional<std::string> find_split_file(const std::string& data_dir, const std::string& split) const;
  // Reads a split; throws "<task>: no file for split 'S': expected <data_dir>/<file>" when absent.
  // Overridden where a split is a part of a file (CR) or where no reader exists (spot/c4).
  virtual std::vector<Example> load(const std::string& data_dir, const std::string& split) const;
  // Reads one file in this task's format; malformed input throws "<file>:<line>: <what>".
  virtual std::vector<Example> read_file(const std::string& path) const = 0;

  virtual Formatted format(const Example& ex, Verbalizer v) const = 0;
  // Candidates for rank classification of a regression task (STS-B: "0.0", "0.2", ... "5.0").
  virtual std::vector<std::string> regression_candidates(Verbalizer v) const { return {}; }
  // Postprocesses a decoded string into a prediction (T5's postprocess_fn for the T5 verbalizer).
  virtual Prediction decode(const Example& ex, const Formatted& f, const std::string& output, Verbalizer v) const;
  // The prediction for choosing candidate `choice` of f.candidates (or of regression_candidates).
  virtual Prediction choose(const Example& ex, const Formatted& f, int choice, Verbalizer v) const;
  // The gold value T5 compares a regression prediction with (STS-B: the rounded target re-parsed).
  virtual double gold_value(const Example& ex) const { return ex.score; }
  // Whether a prediction is right for the per-example record (accuracy-style; EM for ReCoRD).
  virtual bool correct(const Example& ex, const Prediction& p) const;
  // Whether a row is a training example under this verbalizer: labelled, and for WSC under T5 only
  // rows whose candidate is the referent (T5's super_glue_wsc_v102_simple_train filter).
  virtual bool use_for_training(const Example& ex, Verbalizer v) const { return ex.has_label(); }
  // A sensible decoding budget for this task's targets.
  virtual int default_max_new_tokens() const { return 16; }
  // Multiple-choice tasks (spot/race, spot/cosmosqa, ...): rank the example's options even when
  // the evaluation mode is generate (an option is a sentence, not a label T5 would decode).
  virtual bool always_rank() const { return false; }

 protected:
  Task(std::string name, std::string benchmark, std::string t5_name, TaskKind kind,
       std::vector<std::string> label_names, std::vector<MetricKind> metrics, std::vector<SplitInfo> splits);
  std::string name_, benchmark_, t5_name_;
  TaskKind kind_;
  std::vector<std::string> label_names_;
  std::vector<MetricKind> metrics_;
  std::vector<SplitInfo> splits_;
};

// ---------------------------------------------------------------- registry

// The built-in GLUE and SuperGLUE tasks, in the order of the paper's tables, then SPoT's other
// source tasks and CR ("spot/squad", ..., eval/source_tasks.h). Built by eval/registry.cpp from
// the per-benchmark tables.
const std::vector<const Task*>& builtin_tasks();
// "glue/rte", or a bare name when it is unique ("cola", "sst2", "SST-2", "mnli_matched"); case and
// '-' / '_' are ignored. Ambiguous names ("rte", "wsc"?) and unknown names throw listing the choices.
const Task& find_task(const std::string& name);

// A user task described by a JSON spec file:
//   {"name": "my_sentiment", "format": "jsonl" | "tsv",
//    "splits": {"train": "train.jsonl", "validation": "dev.jsonl"},   // relative to the spec file
//    "text_fields": ["text"], "label_field": "label", "labels": ["negative", "positive"],
//    "prefix": "my_sentiment",                                          // T5 input prefix
//    "natural": {"template": "Review: {text}\nSentiment:", "labels": ["negative", "positive"]}}
// JSONL rows give each text field as a string and the label as a label name, an index or a
// boolean (two labels); TSV files have a header naming the columns. Only "name", "format",
// "splits" and "labels" are required.
std::unique_ptr<Task> load_user_task(const std::string& spec_path);
// A task that a name resolved to: shares ownership of a user task (or refers to a registered one).
// Dereferencing a temporary handle is refused at compile time: `const Task& t = *resolve_task(x);`
// would leave `t` referring to a user task freed at the end of the statement (the crash of
// `spot eval --task spec.json`). Keep the handle: `const auto task = resolve_task(x);`.
class TaskHandle {
 public:
  TaskHandle() = default;
  explicit TaskHandle(std::shared_ptr<const Task> task) : task_(std::move(task)) {}
  const Task& operator*() const& { return *task_; }
  const Task* operator->() const& { return task_.get(); }
  const Task* get() const& { return task_.get(); }
  const Task& operator*() const&& = delete;
  const Task* operator->() const&& = delete;
  const Task* get() const&& = delete;
  explicit operator bool() const { return task_ != nullptr; }

 private:
  std::shared_ptr<const Task> task_;
};

// find_task() for a registered name, load_user_task() for a path ending in .json.
TaskHandle resolve_task(const std::string& name_or_spec);

// The data directory `task` reads from: "" when every split file it names is an absolute path (a
// user task: its files sit beside its spec, so it needs none), else io::resolve_data_dir(flag).
std::string data_dir_for(const Task& task, const std::optional<std::string>& flag = std::nullopt);

// ---------------------------------------------------------------- T5 helpers (exposed for tests)

// T5 preprocessors.stsb target: tf.as_string(tf.round(label * 5) / 5, precision=1) on a float32
// label (round half to even, as tf.round): 3.8 -> "3.8", 1.66 -> "1.6", 0.5 -> "0.4".
std::string stsb_target(double score);
// T5 postprocessors.string_to_float: the number, or -1 when the string does not parse.
double t5_string_to_float(const std::string& s);
// T5 postprocessors.wsc_simple: 1 when `prediction` names the referent, 0 when not, -1 when empty.
int wsc_simple_postprocess(const std::string& prediction, const std::string& referent);

}  // namespace spot::eval
