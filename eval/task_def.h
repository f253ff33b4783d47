// task_def.h — the one table-driven task type behind every built-in task (TaskDef, DefTask), the
// formatting pieces the task tables share, and the per-benchmark tables. Internal to eval/.
//
// A built-in task is a TaskDef: its registry entry (name, benchmark, T5 name, kind, classes,
// metrics, split files), a reader and the two verbalizers' formatters. DefTask turns one into a
// Task; a task whose decoding or scoring is its own (STS-B, ReCoRD, WSC, CR's hashed split) derives
// from DefTask in the file of its benchmark:
//
//   eval/glue_tasks.cpp       GLUE: TSV readers, the GLUE table (STS-B's StsbTask)
//   eval/superglue_tasks.cpp  SuperGLUE: JSONL readers incl. MultiRC, ReCoRD, WSC, the table
//   eval/source_tasks.cpp     SPoT's other source tasks and CR (eval/source_tasks.h)
//   eval/registry.cpp         builtin_tasks(): GLUE, then SuperGLUE, then the source tasks
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "eval/tasks.h"

namespace spot::eval::detail {

using ReadFn = std::function<std::vector<Example>(const std::string& path)>;
using FormatFn = std::function<Formatted(const Example& ex)>;
using PromptFn = std::function<std::string(const Example& ex)>;

// One built-in task, as a table entry.
struct TaskDef {
  std::string name;       // "glue/rte"
  std::string benchmark;  // "glue", "superglue", "spot"
  std::string t5_name;    // T5's registry name, "" where T5 has none
  TaskKind kind = TaskKind::classification;
  std::vector<std::string> labels;  // class names (TFDS's where TFDS has the dataset), index = label
  std::vector<MetricKind> metrics;
  std::vector<SplitInfo> splits;
  ReadFn read;
  FormatFn t5;       // the T5 preprocessor
  FormatFn natural;  // the instruction-style prompt
  // Candidates are the example's own options (RACE, CosmosQA, ...): always ranked, and a decoded
  // string counts as the option it spells.
  bool multiple_choice = false;
  // Generation: correct() is SQuAD exact match (normalised) against ex.answers (spot/squad,
  // spot/drop). Otherwise correct() is Task's label comparison (WSC, generation too, scores
  // wsc_simple's 0/1 against the label).
  bool match_answers = false;
  int max_new_tokens = 16;  // default_max_new_tokens()
};

// A Task made of a TaskDef. decode(): multiple choice -> the option decoded (T5: the exact string,
// natural: match_natural), generation -> the text (natural: its first line, stripped), else
// Task::decode (class labels).
class DefTask : public Task {
 public:
  explicit DefTask(TaskDef d);

  std::vector<Example> read_file(const std::string& path) const override;
  Formatted format(const Example& ex, Verbalizer v) const override;
  Prediction decode(const Example& ex, const Formatted& f, const std::string& output, Verbalizer v) const override;
  bool correct(const Example& ex, const Prediction& p) const override;
  int default_max_new_tokens() const override;
  bool always_rank() const override;

 private:
  ReadFn read_;
  FormatFn t5_, natural_;
  bool multiple_choice_, match_answers_;
  int max_new_tokens_;
};

// ---------------------------------------------------------------- the tables

// In registry order; eval/registry.cpp appends make_source_tasks() (eval/source_tasks.h).
std::vector<std::unique_ptr<Task>> make_glue_tasks();       // eval/glue_tasks.cpp
std::vector<std::unique_ptr<Task>> make_superglue_tasks();  // eval/superglue_tasks.cpp

// ---------------------------------------------------------------- formatting pieces

// T5 preprocessors.glue: "<prefix> <key1>: <text1> <key2>: <text2> ...", joined with single spaces
// and nothing stripped.
std::string t5_glue_input(const std::string& prefix, const Example& ex, const std::vector<std::string>& keys);
// With no explicit order, T5 sorts the feature names (everything except label and idx).
std::vector<std::string> sorted_keys(const Example& ex);
// The class name of ex.label, or "<unk>" for an unlabelled row (as T5).
std::string label_target(const Example& ex, const std::vector<std::string>& names);

// A classification task's T5 format: t5_glue_input over `keys` (empty: sorted_keys), the class
// name as target, the classes as candidates.
FormatFn t5_classification(std::string prefix, std::vector<std::string> keys, std::vector<std::string> labels);
// A classification task's natural format: prompt(ex), the answer words spaced as candidates, the
// gold word as target.
FormatFn natural_classification(PromptFn prompt, std::vector<std::string> words);
// The 3-way NLI prompt (MNLI, SNLI): "<premise>\nQuestion: <hypothesis> True, False or Neither?\nAnswer:".
std::string nli_natural(const Example& ex);

// A classification TaskDef formatted by T5's glue preprocessor (feature_order empty: sorted), with
// a natural prompt and answer words.
TaskDef glue_classification(std::string name, std::string benchmark, std::string t5_prefix, std::string t5_name,
                            std::vector<std::string> labels, std::vector<MetricKind> metrics,
                            std::vector<SplitInfo> splits, ReadFn read, std::vector<std::string> feature_order,
                            PromptFn natural_input, std::vector<std::string> natural_words);

}  // namespace spot::eval::detail
