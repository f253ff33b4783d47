// task_def.cpp — DefTask, the table-driven task type of task_def.h, and the shared formatting pieces.
#include "eval/task_def.h"

#include <algorithm>
#include <utility>

#include "eval/metrics.h"
#include "eval/task_io.h"
#include "eval/text.h"

namespace spot::eval::detail {

// ================================================================ DefTask

DefTask::DefTask(TaskDef d)
    : Task(d.name, d.benchmark, d.t5_name, d.kind, d.labels, d.metrics, d.splits),
      read_(std::move(d.read)),
      t5_(std::move(d.t5)),
      natural_(std::move(d.natural)),
      multiple_choice_(d.multiple_choice),
      match_answers_(d.match_answers),
      max_new_tokens_(d.max_new_tokens) {}

std::vector<Example> DefTask::read_file(const std::string& path) const { return read_(path); }

Formatted DefTask::format(const Example& ex, Verbalizer v) const {
  return v == Verbalizer::t5 ? t5_(ex) : natural_(ex);
}

Prediction DefTask::decode(const Example& ex, const Formatted& f, const std::string& output, Verbalizer v) const {
  Prediction p;
  if (multiple_choice_) {  // the option whose text was decoded (T5: exact string), else -1
    p.text = output;
    p.label = v == Verbalizer::t5 ? index_of(f.candidates, output) : match_natural(output, f.candidates);
    return p;
  }
  if (kind() == TaskKind::generation) {
    p.text = v == Verbalizer::t5 ? output : text::strip(output.substr(0, output.find('\n')));
    return p;
  }
  return Task::decode(ex, f, output, v);
}

bool DefTask::correct(const Example& ex, const Prediction& p) const {
  if (!match_answers_) return Task::correct(ex, p);
  const std::string pred = metrics::squad_normalize(p.text);
  for (const auto& a : ex.answers)
    if (metrics::squad_normalize(a) == pred) return true;
  return false;
}

int DefTask::default_max_new_tokens() const { return max_new_tokens_; }

bool DefTask::always_rank() const { return multiple_choice_; }

// ================================================================ formatting pieces

std::string t5_glue_input(const std::string& prefix, const Example& ex, const std::vector<std::string>& keys) {
  std::string out = prefix;
  for (const auto& k : keys) {
    out += ' ';
    out += k;
    out += ": ";
    out += ex.field(k);
  }
  return out;
}

std::vector<std::string> sorted_keys(const Example& ex) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : ex.fields) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::string label_target(const Example& ex, const std::vector<std::string>& names) {
  return ex.label >= 0 ? names.at(static_cast<size_t>(ex.label)) : std::string("<unk>");
}

FormatFn t5_classification(std::string prefix, std::vector<std::string> keys, std::vector<std::string> labels) {
  return [prefix = std::move(prefix), keys = std::move(keys), labels = std::move(labels)](const Example& ex) {
    Formatted f;
    f.input = t5_glue_input(prefix, ex, keys.empty() ? sorted_keys(ex) : keys);
    f.target = label_target(ex, labels);
    f.candidates = labels;
    return f;
  };
}

FormatFn natural_classification(PromptFn prompt, std::vector<std::string> words) {
  return [prompt = std::move(prompt), words = std::move(words)](const Example& ex) {
    Formatted f;
    f.input = prompt(ex);
    f.candidates = spaced(words);
    f.target = ex.label >= 0 ? f.candidates.at(static_cast<size_t>(ex.label)) : std::string("<unk>");
    return f;
  };
}

std::string nli_natural(const Example& ex) {
  return clean(ex, "premise") + "\nQuestion: " + clean(ex, "hypothesis") + " True, False or Neither?\nAnswer:";
}

TaskDef glue_classification(std::string name, std::string benchmark, std::string t5_prefix, std::string t5_name,
                            std::vector<std::string> labels, std::vector<MetricKind> metrics,
                            std::vector<SplitInfo> splits, ReadFn read, std::vector<std::string> feature_order,
                            PromptFn natural_input, std::vector<std::string> natural_words) {
  TaskDef d;
  d.name = std::move(name);
  d.benchmark = std::move(benchmark);
  d.t5_name = std::move(t5_name);
  d.kind = TaskKind::classification;
  d.labels = labels;
  d.metrics = std::move(metrics);
  d.splits = std::move(splits);
  d.read = std::move(read);
  d.t5 = t5_classification(std::move(t5_prefix), std::move(feature_order), std::move(labels));
  d.natural = natural_classification(std::move(natural_input), std::move(natural_words));
  return d;
}

}  // namespace spot::eval::detail
