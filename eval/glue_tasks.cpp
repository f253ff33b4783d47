// glue_tasks.cpp — the GLUE tasks: TFDS glue.py's TSV readers (and MNLI's JSONL dev substitute),
// T5's glue / stsb formatting and the natural prompts, as the GLUE part of the registry.
//
// Readers follow TensorFlow Datasets (tensorflow_datasets/text/glue.py 1.0.0): the same text
// features, label classes, idx and row order. Formatting follows t5/data/preprocessors.py (glue,
// stsb) and t5/data/glue_utils.py (which preprocessor and feature order each task gets).
#include <boost/json.hpp>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eval/task_def.h"
#include "eval/task_io.h"
#include "eval/tasks.h"
#include "eval/text.h"
#include "base/check.h"

namespace spot::eval::detail {
namespace json = boost::json;

namespace {

// ---------------------------------------------------------------- GLUE TSV

// One GLUE task's columns, as TFDS glue.py's text_features / label_column.
struct GlueColumns {
  std::vector<std::pair<std::string, std::string>> features;  // feature name -> TSV column
  std::string label_column;
  bool float_label = false;  // STS-B
  bool cola = false;         // train/dev: no header, 4 columns (source, label, original label, sentence)
};

std::vector<Example> read_glue_tsv(const std::string& path, const GlueColumns& cols,
                                   const std::vector<std::string>& labels) {
  LineFile file(path);
  const auto& lines = file.lines();
  std::vector<Example> out;
  if (lines.empty()) return out;
  // CoLA train/dev have no header; its test file does ("index\tsentence").
  const bool headerless = cols.cola && lines[0].text != "index\tsentence";
  std::vector<std::string> header;
  size_t first = 0;
  if (headerless) {
    header = {"source", "label", "original_label", "sentence"};
  } else {
    header = text::split_on(lines[0].text, '\t');
    first = 1;
  }
  auto column = [&](const std::string& name) -> int {
    const int i = index_of(header, name);
    return i;
  };
  std::vector<int> feature_col;
  for (const auto& [feat, col] : cols.features) {
    const int i = column(col);
    if (i < 0) fail_at(path, 1, "header has no column '" + col + "' (columns: " + join_names(header) + ")");
    feature_col.push_back(i);
  }
  const int label_col = column(cols.label_column);  // absent in test files: unlabelled
  for (size_t li = first; li < lines.size(); ++li) {
    const Line& l = lines[li];
    if (l.text.empty()) continue;  // csv.DictReader skips blank rows
    const std::vector<std::string> row = text::split_on(l.text, '\t');
    if (row.size() != header.size())
      fail_at(path, l.number, "expected " + std::to_string(header.size()) + " tab-separated fields, found " +
                                  std::to_string(row.size()));
    Example ex;
    ex.idx = static_cast<int64_t>(out.size());  // TFDS: the row number after the header
    ex.id = std::to_string(ex.idx);
    ex.line = l.number;
    for (size_t k = 0; k < cols.features.size(); ++k)
      ex.fields.emplace_back(cols.features[k].first, row[static_cast<size_t>(feature_col[k])]);
    if (label_col >= 0) {
      const std::string& v = row[static_cast<size_t>(label_col)];
      if (cols.float_label) {
        char* end = nullptr;
        const float f = std::strtof(v.c_str(), &end);  // TFDS: np.float32(label)
        if (v.empty() || *end != '\0' || !std::isfinite(f))
          fail_at(path, l.number, "bad label value " + shown(v) + " in column '" + cols.label_column +
                                      "' (expected a number)");
        ex.score = static_cast<double>(f);
      } else {
        ex.label = glue_label(v, labels, path, l.number);
      }
    }
    out.push_back(std::move(ex));
  }
  return out;
}

// shared/data's full MNLI dev_matched is a third-party JSONL {premise, hypothesis, label}.
std::vector<Example> read_mnli_jsonl(const std::string& path, const std::vector<std::string>& labels) {
  std::vector<Example> out;
  for_each_json_line(path, [&](const json::object& o, const Line& l) {
    Example ex;
    ex.idx = static_cast<int64_t>(out.size());
    ex.id = std::to_string(ex.idx);
    ex.line = l.number;
    ex.fields = {{"premise", need_string(o, "premise", path, l.number)},
                 {"hypothesis", need_string(o, "hypothesis", path, l.number)}};
    if (auto it = o.find("label"); it != o.end()) ex.label = name_label(it->value(), labels, path, l.number);
    out.push_back(std::move(ex));
  });
  return out;
}

ReadFn glue_reader(GlueColumns cols, std::vector<std::string> labels) {
  return [cols = std::move(cols), labels = std::move(labels)](const std::string& path) {
    if (path.size() > 6 && path.substr(path.size() - 6) == ".jsonl") return read_mnli_jsonl(path, labels);
    return read_glue_tsv(path, cols, labels);
  };
}

std::vector<SplitInfo> glue_splits(const std::string& dir) {
  return {{"train", {"glue/" + dir + "/train.tsv"}},
          {"validation", {"glue/" + dir + "/dev.tsv"}},
          {"test", {"glue/" + dir + "/test.tsv"}}};
}

// ---------------------------------------------------------------- STS-B

// Regression: decoded with T5's string_to_float, ranked over the 26 values 0.0 .. 5.0.
class StsbTask : public DefTask {
 public:
  using DefTask::DefTask;
  std::vector<std::string> regression_candidates(Verbalizer v) const override {
    std::vector<std::string> c;
    for (int i = 0; i <= 25; ++i) c.push_back(stsb_target(0.2 * i));
    return v == Verbalizer::t5 ? c : spaced(c);
  }
  Prediction decode(const Example& ex, const Formatted& f, const std::string& output, Verbalizer v) const override {
    Prediction p;
    p.text = output;
    if (v == Verbalizer::t5) {
      p.value = t5_string_to_float(output);
    } else {
      const auto toks = text::split_whitespace(output.substr(0, output.find('\n')));
      std::string first = toks.empty() ? std::string() : toks[0];
      while (!first.empty() && std::string_view(".,;:").find(first.back()) != std::string_view::npos) first.pop_back();
      p.value = t5_string_to_float(first);
    }
    return p;
  }
  Prediction choose(const Example& ex, const Formatted& f, int choice, Verbalizer v) const override {
    const auto c = regression_candidates(v);
    SPOT_CHECK(choice >= 0 && choice < static_cast<int>(c.size()), name() << ": candidate " << choice << " out of range");
    Prediction p;
    p.choice = choice;
    p.text = c[static_cast<size_t>(choice)];
    p.value = t5_string_to_float(text::strip(p.text));
    return p;
  }
  // T5 postprocesses the target string too: metrics compare with the rounded score.
  double gold_value(const Example& ex) const override {
    return std::isnan(ex.score) ? ex.score : t5_string_to_float(stsb_target(ex.score));
  }
  bool correct(const Example& ex, const Prediction& p) const override {
    return !std::isnan(ex.score) && p.value == gold_value(ex);
  }
};

}  // namespace

// ---------------------------------------------------------------- the GLUE table

// TFDS glue.py's columns and classes; T5's glue preprocessor (stsb for STS-B).
std::vector<std::unique_ptr<Task>> make_glue_tasks() {
  using M = MetricKind;
  std::vector<std::unique_ptr<Task>> tasks;
  auto add = [&](TaskDef d) { tasks.push_back(std::make_unique<DefTask>(std::move(d))); };
  const std::vector<std::string> no_yes = {"no", "yes"};

  {
    const std::vector<std::string> labels = {"unacceptable", "acceptable"};
    GlueColumns c{{{"sentence", "sentence"}}, "label", false, true};
    add(glue_classification("glue/cola", "glue", "cola", "glue_cola_v002", labels, {M::matthews_corrcoef},
                            glue_splits("CoLA"), glue_reader(c, labels), {},
                            [](const Example& ex) {
                              return "Sentence: " + clean(ex, "sentence") +
                                     "\nQuestion: Is this sentence grammatically acceptable?\nAnswer:";
                            },
                            no_yes));
  }
  {
    const std::vector<std::string> labels = {"negative", "positive"};
    GlueColumns c{{{"sentence", "sentence"}}, "label"};
    add(glue_classification("glue/sst2", "glue", "sst2", "glue_sst2_v002", labels, {M::accuracy},
                            glue_splits("SST-2"), glue_reader(c, labels), {},
                            [](const Example& ex) { return "Review: " + clean(ex, "sentence") + "\nSentiment:"; },
                            {"negative", "positive"}));
  }
  {
    const std::vector<std::string> labels = {"not_equivalent", "equivalent"};
    GlueColumns c{{{"sentence1", "#1 String"}, {"sentence2", "#2 String"}}, "Quality"};
    add(glue_classification("glue/mrpc", "glue", "mrpc", "glue_mrpc_v002", labels, {M::f1_with_invalid, M::accuracy},
                            glue_splits("MRPC"), glue_reader(c, labels), {},
                            [](const Example& ex) {
                              return "Sentence 1: " + clean(ex, "sentence1") + "\nSentence 2: " +
                                     clean(ex, "sentence2") +
                                     "\nQuestion: Do both sentences mean the same thing?\nAnswer:";
                            },
                            no_yes));
  }
  {
    const std::vector<std::string> labels = {"not_duplicate", "duplicate"};
    GlueColumns c{{{"question1", "question1"}, {"question2", "question2"}}, "is_duplicate"};
    add(glue_classification("glue/qqp", "glue", "qqp", "glue_qqp_v002", labels, {M::f1_with_invalid, M::accuracy},
                            {{"train", {"glue/QQP/train.tsv"}},
                             {"validation", {"glue/QQP/dev.tsv", "glue/QQP/dev.1k-subset.tsv"}},
                             {"test", {"glue/QQP/test.tsv"}}},
                            glue_reader(c, labels), {},
                            [](const Example& ex) {
                              return "Question 1: " + clean(ex, "question1") + "\nQuestion 2: " +
                                     clean(ex, "question2") +
                                     "\nQuestion: Do both questions ask the same thing?\nAnswer:";
                            },
                            no_yes));
  }
  {
    TaskDef d;
    d.name = "glue/stsb";
    d.benchmark = "glue";
    d.t5_name = "glue_stsb_v002";
    d.kind = TaskKind::regression;
    d.metrics = {M::pearson, M::spearman};
    d.splits = glue_splits("STS-B");
    d.read = glue_reader(GlueColumns{{{"sentence1", "sentence1"}, {"sentence2", "sentence2"}}, "score", true}, {});
    d.max_new_tokens = 8;
    // T5 preprocessors.stsb: fixed feature order and the score rounded to 0.2.
    d.t5 = [](const Example& ex) {
      Formatted f;
      f.input = "stsb sentence1: " + ex.field("sentence1") + " sentence2: " + ex.field("sentence2");
      f.target = std::isnan(ex.score) ? std::string("<unk>") : stsb_target(ex.score);
      return f;
    };
    d.natural = [](const Example& ex) {
      Formatted f;
      f.input = "Sentence 1: " + clean(ex, "sentence1") + "\nSentence 2: " + clean(ex, "sentence2") +
                "\nQuestion: How similar are the two sentences, on a scale from 0.0 to 5.0?\nAnswer:";
      f.target = std::isnan(ex.score) ? std::string("<unk>") : " " + stsb_target(ex.score);
      return f;
    };
    tasks.push_back(std::make_unique<StsbTask>(std::move(d)));
  }
  {
    const std::vector<std::string> labels = {"entailment", "neutral", "contradiction"};
    const std::vector<std::string> words = {"True", "Neither", "False"};
    GlueColumns c{{{"premise", "sentence1"}, {"hypothesis", "sentence2"}}, "gold_label"};
    // T5 casts every MNLI config as benchmark "mnli".
    add(glue_classification(
        "glue/mnli", "glue", "mnli", "glue_mnli_v002", labels, {M::accuracy},
        {{"train", {"glue/MNLI/train.tsv"}},
         // "validation" = the matched dev set, so that a multi-task mixture holding MNLI can validate
         // every task on one split name.
         {"validation",
          {"glue/MNLI/dev_matched.tsv", "glue/MNLI/dev_matched.derived.jsonl", "glue/MNLI/dev_matched.1k-subset.tsv"}},
         {"validation_matched",
          {"glue/MNLI/dev_matched.tsv", "glue/MNLI/dev_matched.derived.jsonl", "glue/MNLI/dev_matched.1k-subset.tsv"}},
         {"validation_mismatched", {"glue/MNLI/dev_mismatched.tsv", "glue/MNLI/dev_mismatched.1k-subset.tsv"}},
         {"test_matched", {"glue/MNLI/test_matched.tsv"}},
         {"test_mismatched", {"glue/MNLI/test_mismatched.tsv"}}},
        glue_reader(c, labels), {}, nli_natural, words));
    add(glue_classification(
        "glue/mnli_matched", "glue", "mnli", "glue_mnli_matched_v002", labels, {M::accuracy},
        {{"validation",
          {"glue/MNLI/dev_matched.tsv", "glue/MNLI/dev_matched.derived.jsonl", "glue/MNLI/dev_matched.1k-subset.tsv"}},
         {"test", {"glue/MNLI/test_matched.tsv"}}},
        glue_reader(c, labels), {}, nli_natural, words));
    add(glue_classification(
        "glue/mnli_mismatched", "glue", "mnli", "glue_mnli_mismatched_v002", labels, {M::accuracy},
        {{"validation", {"glue/MNLI/dev_mismatched.tsv", "glue/MNLI/dev_mismatched.1k-subset.tsv"}},
         {"test", {"glue/MNLI/test_mismatched.tsv"}}},
        glue_reader(c, labels), {}, nli_natural, words));
  }
  {
    const std::vector<std::string> labels = {"entailment", "not_entailment"};
    GlueColumns c{{{"question", "question"}, {"sentence", "sentence"}}, "label"};
    add(glue_classification("glue/qnli", "glue", "qnli", "glue_qnli_v002", labels, {M::accuracy},
                            glue_splits("QNLI"), glue_reader(c, labels), {},
                            [](const Example& ex) {
                              return "Question: " + clean(ex, "question") + "\nSentence: " + clean(ex, "sentence") +
                                     "\nQuestion: Does the sentence answer the question?\nAnswer:";
                            },
                            {"yes", "no"}));
  }
  {
    const std::vector<std::string> labels = {"entailment", "not_entailment"};
    GlueColumns c{{{"sentence1", "sentence1"}, {"sentence2", "sentence2"}}, "label"};
    add(glue_classification("glue/rte", "glue", "rte", "glue_rte_v002", labels, {M::accuracy}, glue_splits("RTE"),
                            glue_reader(c, labels), {},
                            [](const Example& ex) {
                              return clean(ex, "sentence1") + "\nQuestion: " + clean(ex, "sentence2") +
                                     " True or False?\nAnswer:";
                            },
                            {"True", "False"}));
  }
  {
    const std::vector<std::string> labels = {"not_entailment", "entailment"};
    GlueColumns c{{{"sentence1", "sentence1"}, {"sentence2", "sentence2"}}, "label"};
    add(glue_classification("glue/wnli", "glue", "wnli", "glue_wnli_v002", labels, {M::accuracy},
                            glue_splits("WNLI"), glue_reader(c, labels), {},
                            [](const Example& ex) {
                              return clean(ex, "sentence1") + "\nQuestion: " + clean(ex, "sentence2") +
                                     " True or False?\nAnswer:";
                            },
                            {"False", "True"}));
  }
  return tasks;
}

}  // namespace spot::eval::detail
