// tasks.cpp — readers for the GLUE / SuperGLUE files, T5 and natural formatting, the task registry.
//
// Readers follow TensorFlow Datasets (tensorflow_datasets/text/glue.py, super_glue.py at the
// versions T5 uses: glue 1.0.0, super_glue 1.0.2): the same text features, label classes, idx and
// row order. Formatting follows t5/data/preprocessors.py (glue, stsb, wsc_simple, record) and
// t5/data/glue_utils.py (which preprocessor and feature order each task gets).
#include "eval/tasks.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cfenv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "eval/source_tasks.h"
#include "eval/task_io.h"
#include "eval/text.h"
#include "base/check.h"
#include "io/data_dir.h"
#include "io/cache.h"

namespace spot::eval {
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace detail;  // eval/task_io.h: line files, JSON fields, labels

// ================================================================ small pieces

Verbalizer verbalizer_from_string(const std::string& s) {
  if (s == "t5") return Verbalizer::t5;
  if (s == "natural") return Verbalizer::natural;
  SPOT_FAIL("unknown verbalizer '" << s << "' (expected t5 or natural)");
}

const char* verbalizer_name(Verbalizer v) { return v == Verbalizer::t5 ? "t5" : "natural"; }

const char* task_kind_name(TaskKind k) {
  switch (k) {
    case TaskKind::classification: return "classification";
    case TaskKind::regression: return "regression";
    case TaskKind::generation: return "generation";
  }
  return "?";
}

const char* metric_key(MetricKind m) {
  switch (m) {
    case MetricKind::accuracy: return "accuracy";
    case MetricKind::f1_with_invalid: return "f1";
    case MetricKind::mean_3class_f1: return "mean_3class_f1";
    case MetricKind::matthews_corrcoef: return "matthews_corrcoef";
    case MetricKind::pearson: return "pearson_corrcoef";
    case MetricKind::spearman: return "spearman_corrcoef";
    case MetricKind::multirc_f1a: return "f1";
    case MetricKind::multirc_em: return "exact_match";
    case MetricKind::squad_em: return "em";
    case MetricKind::squad_f1: return "f1";
  }
  return "?";
}

const std::string& Example::field(const std::string& name) const {
  for (const auto& [k, v] : fields)
    if (k == name) return v;
  SPOT_FAIL("example " << id << " (line " << line << ") has no field '" << name << "'");
}

bool Example::has_field(const std::string& name) const {
  for (const auto& [k, v] : fields)
    if (k == name) return true;
  return false;
}

int64_t Example::number(const std::string& name) const {
  auto it = numbers.find(name);
  SPOT_CHECK(it != numbers.end(), "example " << id << " (line " << line << ") has no number '" << name << "'");
  return it->second;
}

namespace {


// TFDS glue: a label that is a class name maps to its index; otherwise it is read as an integer
// class index ("0"/"1" in CoLA, SST-2, MRPC, QQP, WNLI).
int glue_label(std::string_view s, const std::vector<std::string>& names, const std::string& path, int line) {
  const int by_name = index_of(names, s);
  if (by_name >= 0) return by_name;
  if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }) && s.size() < 6) {
    const int v = std::atoi(std::string(s).c_str());
    if (v < static_cast<int>(names.size())) return v;
  }
  fail_at(path, line, "bad label value " + shown(s) + " (expected one of " + join_names(names) + " or an index 0.." +
                          std::to_string(names.size() - 1) + ")");
}

// SuperGLUE booleans (BoolQ, WiC, WSC labels): TFDS casts true/false to "True"/"False".
int bool_label(const json::value& v, const std::string& path, int line, std::string_view key = "label") {
  if (v.is_bool()) return v.as_bool() ? 1 : 0;
  fail_at(path, line, "bad label value " + json::serialize(v).substr(0, 40) + " in field '" + std::string(key) +
                          "' (expected true or false)");
}

int name_label(const json::value& v, const std::vector<std::string>& names, const std::string& path, int line) {
  if (v.is_string()) {
    const int i = index_of(names, v.as_string());
    if (i >= 0) return i;
  }
  fail_at(path, line, "bad label value " + json::serialize(v).substr(0, 40) + " (expected one of " +
                          join_names(names) + ")");
}

// ---------------------------------------------------------------- T5 formatting pieces

// T5 preprocessors.glue: "<benchmark> <key1>: <text1> <key2>: <text2> ...", joined with single
// spaces and nothing stripped; the target is the label name, or "<unk>" for an unlabelled row.
std::string t5_glue_input(const std::string& benchmark, const Example& ex, const std::vector<std::string>& keys) {
  std::string out = benchmark;
  for (const auto& k : keys) {
    out += ' ';
    out += k;
    out += ": ";
    out += ex.field(k);
  }
  return out;
}

// With no explicit order, T5 sorts the feature names (everything except label and idx).
std::vector<std::string> sorted_keys(const Example& ex) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : ex.fields) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::string label_target(const Example& ex, const std::vector<std::string>& names) {
  return ex.label >= 0 ? names.at(static_cast<size_t>(ex.label)) : std::string("<unk>");
}


// MultiRC paragraphs carry HTML: T5 replaces "<br>" by a space and drops "<b>" / "</b>".
std::string strip_multirc_html(const std::string& s) {
  std::string out = text::replace_all(s, "<br>", " ");
  out = text::replace_all(out, "<b>", "");
  return text::replace_all(out, "</b>", "");
}

// T5 preprocessors.record passage clean-up: "(\.|\?|\!|\"|\')\n@highlight\n" -> "\1 ", then
// "\n@highlight\n" -> ". " (both global, left to right).
std::string record_passage(const std::string& passage) {
  static const std::string_view marker = "\n@highlight\n";
  std::string pass1;
  for (size_t i = 0; i < passage.size();) {
    const char c = passage[i];
    if ((c == '.' || c == '?' || c == '!' || c == '"' || c == '\'') &&
        std::string_view(passage).substr(i + 1, marker.size()) == marker) {
      pass1 += c;
      pass1 += ' ';
      i += 1 + marker.size();
    } else {
      pass1 += c;
      ++i;
    }
  }
  return text::replace_all(pass1, marker, ". ");
}


}  // namespace

// ================================================================ Task base

Task::Task(std::string name, std::string benchmark, std::string t5_name, TaskKind kind,
           std::vector<std::string> label_names, std::vector<MetricKind> metrics, std::vector<SplitInfo> splits)
    : name_(std::move(name)),
      benchmark_(std::move(benchmark)),
      t5_name_(std::move(t5_name)),
      kind_(kind),
      label_names_(std::move(label_names)),
      metrics_(std::move(metrics)),
      splits_(std::move(splits)) {}

const SplitInfo& Task::split(const std::string& name) const {
  for (const auto& s : splits_)
    if (s.name == name) return s;
  std::vector<std::string> names;
  for (const auto& s : splits_) names.push_back(s.name);
  SPOT_FAIL(name_ << ": no split '" << name << "' (splits: " << join_names(names) << ")");
}

std::optional<std::string> Task::find_split_file(const std::string& data_dir, const std::string& split_name) const {
  for (const auto& f : split(split_name).files) {
    const fs::path p = fs::path(f).is_absolute() ? fs::path(f) : fs::path(data_dir) / f;
    std::error_code ec;  // a path that cannot be stat'ed (too long, no permission) is one that does not exist
    if (fs::is_regular_file(p, ec) || fs::is_directory(p, ec)) return p.string();
  }
  return std::nullopt;
}

std::vector<Example> Task::load(const std::string& data_dir, const std::string& split_name) const {
  const SplitInfo& s = split(split_name);
  const auto path = find_split_file(data_dir, split_name);
  if (!path) {
    std::ostringstream os;
    os << name_ << ": no file for split '" << split_name << "': expected ";
    for (size_t i = 0; i < s.files.size(); ++i) {
      if (i) os << " or ";
      os << (fs::path(s.files[i]).is_absolute() ? fs::path(s.files[i]) : fs::path(data_dir) / s.files[i]).string();
    }
    SPOT_FAIL(os.str());
  }
  std::vector<Example> examples = read_file(*path);
  // TFDS asserts that only test splits lack labels.
  if (split_name.rfind("test", 0) != 0)
    for (const auto& ex : examples)
      if (!ex.has_label()) fail_at(*path, ex.line, "missing label (only test splits may be unlabelled)");
  return examples;
}

Prediction Task::decode(const Example& ex, const Formatted& f, const std::string& output, Verbalizer v) const {
  Prediction p;
  p.text = output;
  if (kind_ == TaskKind::classification) {
    // T5 string_label_to_class_id: the exact label string, else -1 (counted wrong).
    p.label = v == Verbalizer::t5 ? index_of(label_names_, output) : match_natural(output, f.candidates);
  }
  return p;
}

Prediction Task::choose(const Example& ex, const Formatted& f, int choice, Verbalizer v) const {
  SPOT_CHECK(choice >= 0 && choice < static_cast<int>(f.candidates.size()),
             name_ << ": candidate " << choice << " out of range (" << f.candidates.size() << " candidates)");
  Prediction p;
  p.choice = choice;
  p.text = f.candidates[static_cast<size_t>(choice)];
  p.label = choice;
  return p;
}

bool Task::correct(const Example& ex, const Prediction& p) const { return ex.label >= 0 && p.label == ex.label; }

// ================================================================ the built-in tasks

namespace {

using Reader = std::function<std::vector<Example>(const std::string& path)>;
using FormatFn = std::function<Formatted(const Example& ex)>;

struct Def {
  std::string name, benchmark, t5_name;
  TaskKind kind = TaskKind::classification;
  std::vector<std::string> labels;  // TFDS class names
  std::vector<MetricKind> metrics;
  std::vector<SplitInfo> splits;
  Reader read;
  FormatFn t5;       // T5 preprocessor
  FormatFn natural;  // instruction-style prompt
};

class DefTask : public Task {
 public:
  explicit DefTask(Def d)
      : Task(d.name, d.benchmark, d.t5_name, d.kind, d.labels, d.metrics, d.splits),
        read_(std::move(d.read)),
        t5_(std::move(d.t5)),
        natural_(std::move(d.natural)) {}
  std::vector<Example> read_file(const std::string& path) const override { return read_(path); }
  Formatted format(const Example& ex, Verbalizer v) const override {
    return v == Verbalizer::t5 ? t5_(ex) : natural_(ex);
  }

 private:
  Reader read_;
  FormatFn t5_, natural_;
};

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

Reader glue_reader(GlueColumns cols, std::vector<std::string> labels) {
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

// A classification task formatted by T5's glue preprocessor, with a natural template.
Def glue_classification(std::string name, std::string benchmark, std::string t5_prefix, std::string t5_name,
                        std::vector<std::string> labels, std::vector<MetricKind> metrics,
                        std::vector<SplitInfo> splits, Reader read, std::vector<std::string> feature_order,
                        std::function<std::string(const Example&)> natural_input,
                        std::vector<std::string> natural_words) {
  Def d;
  d.name = std::move(name);
  d.benchmark = std::move(benchmark);
  d.t5_name = std::move(t5_name);
  d.kind = TaskKind::classification;
  d.labels = labels;
  d.metrics = std::move(metrics);
  d.splits = std::move(splits);
  d.read = std::move(read);
  d.t5 = [t5_prefix, labels, feature_order](const Example& ex) {
    Formatted f;
    f.input = t5_glue_input(t5_prefix, ex, feature_order.empty() ? sorted_keys(ex) : feature_order);
    f.target = label_target(ex, labels);
    f.candidates = labels;
    return f;
  };
  d.natural = [natural_input, natural_words](const Example& ex) {
    Formatted f;
    f.input = natural_input(ex);
    f.candidates = spaced(natural_words);
    f.target = ex.label >= 0 ? f.candidates.at(static_cast<size_t>(ex.label)) : std::string("<unk>");
    return f;
  };
  return d;
}

// ---------------------------------------------------------------- STS-B

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
  int default_max_new_tokens() const override { return 8; }
};

// ---------------------------------------------------------------- SuperGLUE JSONL

// BoolQ, CB, RTE, WiC: one JSON object per line with string features and a label.
enum class SgLabel { boolean, names, copa };

Reader superglue_reader(std::vector<std::string> features, SgLabel kind, std::vector<std::string> labels) {
  return [features = std::move(features), kind, labels = std::move(labels)](const std::string& path) {
    std::vector<Example> out;
    for_each_json_line(path, [&](const json::object& o, const Line& l) {
      Example ex;
      ex.line = l.number;
      ex.idx = need_int(o, "idx", path, l.number);
      ex.id = std::to_string(ex.idx);
      for (const auto& f : features) ex.fields.emplace_back(f, need_string(o, f, path, l.number));
      if (auto it = o.find("label"); it != o.end()) {
        const json::value& v = it->value();
        if (kind == SgLabel::boolean) {
          ex.label = bool_label(v, path, l.number);
        } else if (kind == SgLabel::names) {
          ex.label = name_label(v, labels, path, l.number);
        } else {  // COPA: 0 -> "choice1", 1 -> "choice2" (TFDS: "choice2" if label else "choice1")
          if (!(v.is_int64() && (v.as_int64() == 0 || v.as_int64() == 1)) && !v.is_bool())
            fail_at(path, l.number, "bad label value " + json::serialize(v).substr(0, 40) + " (expected 0 or 1)");
          ex.label = v.is_bool() ? (v.as_bool() ? 1 : 0) : static_cast<int>(v.as_int64());
        }
      }
      out.push_back(std::move(ex));
    });
    return out;
  };
}

std::vector<SplitInfo> superglue_splits(const std::string& dir) {
  return {{"train", {"superglue/" + dir + "/train.jsonl"}},
          {"validation", {"superglue/" + dir + "/val.jsonl"}},
          {"test", {"superglue/" + dir + "/test.jsonl"}}};
}

// ---------------------------------------------------------------- MultiRC

std::vector<Example> read_multirc(const std::string& path) {
  std::vector<Example> out;
  for_each_json_line(path, [&](const json::object& o, const Line& l) {
    const int64_t p_idx = need_int(o, "idx", path, l.number);
    const json::object& passage = need_object(o, "passage", path, l.number);
    const std::string paragraph = need_string(passage, "text", path, l.number, "passage.");
    for (const json::value& qv : need_array(passage, "questions", path, l.number, "passage.")) {
      if (!qv.is_object()) fail_at(path, l.number, "passage.questions[] must hold objects");
      const json::object& q = qv.as_object();
      const std::string question = need_string(q, "question", path, l.number, "passage.questions[].");
      const int64_t q_idx = need_int(q, "idx", path, l.number, "passage.questions[].");
      for (const json::value& av : need_array(q, "answers", path, l.number, "passage.questions[].")) {
        if (!av.is_object()) fail_at(path, l.number, "passage.questions[].answers[] must hold objects");
        const json::object& a = av.as_object();
        Example ex;
        ex.line = l.number;
        const int64_t a_idx = need_int(a, "idx", path, l.number, "passage.questions[].answers[].");
        ex.idx = static_cast<int64_t>(out.size());
        ex.id = std::to_string(p_idx) + "/" + std::to_string(q_idx) + "/" + std::to_string(a_idx);
        ex.group = std::to_string(p_idx) + "/" + std::to_string(q_idx);
        ex.numbers = {{"paragraph", p_idx}, {"question", q_idx}, {"answer", a_idx}};
        ex.fields = {{"paragraph", paragraph},
                     {"question", question},
                     {"answer", need_string(a, "text", path, l.number, "passage.questions[].answers[].")}};
        if (auto it = a.find("label"); it != a.end()) {
          // TFDS: _cast_label(bool(label)); the files hold 0/1.
          const json::value& v = it->value();
          if (v.is_bool()) ex.label = v.as_bool() ? 1 : 0;
          else if (v.is_int64() && (v.as_int64() == 0 || v.as_int64() == 1)) ex.label = static_cast<int>(v.as_int64());
          else fail_at(path, l.number, "bad label value " + json::serialize(v).substr(0, 40) +
                                           " in passage.questions[].answers[].label (expected 0 or 1)");
        }
        out.push_back(std::move(ex));
      }
    }
  });
  return out;
}

// ---------------------------------------------------------------- ReCoRD

std::vector<Example> read_record(const std::string& path) {
  std::vector<Example> out;
  for_each_json_line(path, [&](const json::object& o, const Line& l) {
    const int64_t p_idx = need_int(o, "idx", path, l.number);
    const json::object& passage = need_object(o, "passage", path, l.number);
    const std::string ptext = need_string(passage, "text", path, l.number, "passage.");
    const size_t plen = text::length(ptext);
    // TFDS _get_record_entities: text[start:end + 1] for each span (code-point offsets), as a sorted set.
    std::set<std::string> entities;
    for (const json::value& ev : need_array(passage, "entities", path, l.number, "passage.")) {
      if (!ev.is_object()) fail_at(path, l.number, "passage.entities[] must hold objects");
      const int64_t s = need_int(ev.as_object(), "start", path, l.number, "passage.entities[].");
      const int64_t e = need_int(ev.as_object(), "end", path, l.number, "passage.entities[].");
      if (s < 0 || e < s || static_cast<size_t>(e) >= plen)
        fail_at(path, l.number, "passage.entities[] span [" + std::to_string(s) + ", " + std::to_string(e) +
                                    "] outside the passage (" + std::to_string(plen) + " characters)");
      entities.insert(text::substr(ptext, static_cast<size_t>(s), static_cast<size_t>(e) + 1));
    }
    for (const json::value& qv : need_array(o, "qas", path, l.number)) {
      if (!qv.is_object()) fail_at(path, l.number, "qas[] must hold objects");
      const json::object& q = qv.as_object();
      Example ex;
      ex.line = l.number;
      const int64_t q_idx = need_int(q, "idx", path, l.number, "qas[].");
      ex.idx = static_cast<int64_t>(out.size());
      ex.id = std::to_string(p_idx) + "/" + std::to_string(q_idx);
      ex.group = ex.id;
      ex.numbers = {{"passage", p_idx}, {"query", q_idx}};
      ex.fields = {{"passage", ptext}, {"query", need_string(q, "query", path, l.number, "qas[].")}};
      ex.entities.assign(entities.begin(), entities.end());
      if (auto it = q.find("answers"); it != q.end()) {
        if (!it->value().is_array()) fail_at(path, l.number, "field 'qas[].answers' must be an array");
        std::set<std::string> answers;  // TFDS _get_record_answers: sorted set of answer texts
        for (const json::value& av : it->value().as_array()) {
          if (!av.is_object()) fail_at(path, l.number, "qas[].answers[] must hold objects");
          answers.insert(need_string(av.as_object(), "text", path, l.number, "qas[].answers[]."));
        }
        ex.answers.assign(answers.begin(), answers.end());
      }
      out.push_back(std::move(ex));
    }
  });
  return out;
}

class RecordTask : public DefTask {
 public:
  using DefTask::DefTask;
  Prediction decode(const Example& ex, const Formatted& f, const std::string& output, Verbalizer v) const override {
    Prediction p;
    p.text = v == Verbalizer::t5 ? output : text::strip(output.substr(0, output.find('\n')));
    return p;
  }
  Prediction choose(const Example& ex, const Formatted& f, int choice, Verbalizer v) const override {
    Prediction p = Task::choose(ex, f, choice, v);
    p.label = -1;
    p.text = ex.entities.at(static_cast<size_t>(choice));  // the entity itself, without the leading space
    return p;
  }
  bool correct(const Example& ex, const Prediction& p) const override;
  int default_max_new_tokens() const override { return 32; }
};

// ---------------------------------------------------------------- WSC

// TFDS super_glue _fix_wst (the "wsc.fixed" config T5 uses): repairs span texts that are not
// substrings of the text (case of the first letter, a trailing '.', a newline inside).
void fix_wsc_span(Example& ex, const std::string& k, const std::string& path) {
  std::string& text_ = ex.fields[0].second;  // "text" is the first field
  std::string span;
  size_t span_pos = 0;
  for (size_t i = 0; i < ex.fields.size(); ++i)
    if (ex.fields[i].first == k + "_text") {
      span = ex.fields[i].second;
      span_pos = i;
    }
  if (text_.find(span) != std::string::npos) return;
  if (span == "Kamenev and Zinoviev" || span == "Kamenev, Zinoviev, and Stalin") return;
  const int64_t index = ex.numbers[k + "_index"];  // read before the "theyscold" fix, as TFDS does
  if (span.find("theyscold") != std::string::npos) ex.numbers["span2_index"] = 10;  // TFDS leaves the text as is
  const std::vector<std::string> words = text::split_whitespace(text_);
  if (index < 0 || static_cast<size_t>(index) >= words.size())
    fail_at(path, ex.line, "target." + k + "_index " + std::to_string(index) + " outside the text (" +
                               std::to_string(words.size()) + " words)");
  span = text::first_is_lower(words[static_cast<size_t>(index)]) ? text::lower_first(span) : text::upper_first(span);
  while (!span.empty() && span.back() == '.') span.pop_back();
  span = text::replace_all(span, "\n", " ");
  if (text_.find(span) == std::string::npos)
    fail_at(path, ex.line, "target." + k + "_text " + shown(span) + " is not in the text");
  ex.fields[span_pos].second = span;
}

std::string wsc_pronoun_problem(const Example& ex);

std::vector<Example> read_wsc(const std::string& path) {
  std::vector<Example> out;
  for_each_json_line(path, [&](const json::object& o, const Line& l) {
    Example ex;
    ex.line = l.number;
    ex.idx = need_int(o, "idx", path, l.number);
    ex.id = std::to_string(ex.idx);
    const json::object& t = need_object(o, "target", path, l.number);
    ex.fields = {{"text", need_string(o, "text", path, l.number)},
                 {"span1_text", need_string(t, "span1_text", path, l.number, "target.")},
                 {"span2_text", need_string(t, "span2_text", path, l.number, "target.")}};
    ex.numbers = {{"span1_index", need_int(t, "span1_index", path, l.number, "target.")},
                  {"span2_index", need_int(t, "span2_index", path, l.number, "target.")}};
    if (auto it = o.find("label"); it != o.end()) ex.label = bool_label(it->value(), path, l.number);
    fix_wsc_span(ex, "span1", path);
    fix_wsc_span(ex, "span2", path);
    if (const std::string problem = wsc_pronoun_problem(ex); !problem.empty()) fail_at(path, l.number, problem);
    out.push_back(std::move(ex));
  });
  return out;
}

// T5's two hand-written WSC special cases (preprocessors._wsc_inputs): texts where span2_index
// does not point at the pronoun, with the input T5 writes for them.
const std::pair<std::string_view, std::string_view> kWscSpecialCases[] = {
    {"The boy continued to whip the pony , and eventually the pony threw him over. John laughed out quite loud. "
     "\"Good for him,\" he said. ",
     "The boy continued to whip the pony , and eventually the pony threw him over. John laughed out quite loud. "
     "\"Good for X ,\" he said."},
    {"When they had eventually calmed down a bit , and had gotten home, Mr. Farley put the magic pebble in an iron "
     "safe . Some day they might want to use it , but really for now, what more could they wish for?",
     "When they had eventually calmed down a bit , and had gotten home, Mr. Farley put the magic pebble in an iron "
     "safe . Some day they might want to use X , but really for now, what more could they wish for?"},
};

// What T5's assertions in _wsc_inputs would reject about a row ("" when it is fine): the
// pronoun index must be inside the text (not the first word) and point at span2_text.
std::string wsc_pronoun_problem(const Example& ex) {
  const std::string& t = ex.field("text");
  for (const auto& [text_, input] : kWscSpecialCases)
    if (t == text_) return {};
  const std::vector<std::string> words = text::split_on(t, ' ');
  const int64_t i = ex.number("span2_index");
  if (i <= 0 || static_cast<size_t>(i) >= words.size())
    return "target.span2_index " + std::to_string(i) + " must be in [1, " + std::to_string(words.size()) +
           ") (the text has " + std::to_string(words.size()) + " space-separated words)";
  if (words[static_cast<size_t>(i)] != ex.field("span2_text"))
    return "word " + std::to_string(i) + " of the text is " + shown(words[static_cast<size_t>(i)]) +
           ", not target.span2_text " + shown(ex.field("span2_text"));
  return {};
}

// T5 preprocessors._wsc_inputs: the text with the pronoun (word span2_index of a split on ' ')
// replaced by X.
std::string wsc_inputs(const Example& ex) {
  const std::string& t = ex.field("text");
  for (const auto& [text_, input] : kWscSpecialCases)
    if (t == text_) return std::string(input);
  const std::string problem = wsc_pronoun_problem(ex);
  SPOT_CHECK(problem.empty(), "WSC example " << ex.id << " (line " << ex.line << "): " << problem);
  const std::vector<std::string> words = text::split_on(t, ' ');
  const auto i = static_cast<size_t>(ex.number("span2_index"));
  const std::vector<std::string> before(words.begin(), words.begin() + static_cast<ptrdiff_t>(i));
  const std::vector<std::string> after(words.begin() + static_cast<ptrdiff_t>(i) + 1, words.end());
  return text::join(before, " ") + " X " + text::join(after, " ");
}

class WscTask : public DefTask {
 public:
  using DefTask::DefTask;
  Prediction decode(const Example& ex, const Formatted& f, const std::string& output, Verbalizer v) const override {
    if (v == Verbalizer::natural) return Task::decode(ex, f, output, v);
    Prediction p;  // T5 postprocessors.wsc_simple: does the output name the referent span1_text?
    p.text = output;
    p.label = wsc_simple_postprocess(output, ex.field("span1_text"));
    return p;
  }
  bool use_for_training(const Example& ex, Verbalizer v) const override {
    return v == Verbalizer::t5 ? ex.label == 1 : ex.has_label();
  }
  int default_max_new_tokens() const override { return 16; }
};

// ---------------------------------------------------------------- the registry

std::string mnli_natural(const Example& ex) {
  return clean(ex, "premise") + "\nQuestion: " + clean(ex, "hypothesis") + " True, False or Neither?\nAnswer:";
}

std::vector<std::unique_ptr<Task>> make_builtin() {
  using M = MetricKind;
  std::vector<std::unique_ptr<Task>> tasks;
  auto add = [&](Def d) { tasks.push_back(std::make_unique<DefTask>(std::move(d))); };
  const std::vector<std::string> no_yes = {"no", "yes"};
  const std::vector<std::string> false_true = {"False", "True"};

  // ------------------------------------------------ GLUE (TFDS glue.py columns and classes)
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
    Def d;
    d.name = "glue/stsb";
    d.benchmark = "glue";
    d.t5_name = "glue_stsb_v002";
    d.kind = TaskKind::regression;
    d.metrics = {M::pearson, M::spearman};
    d.splits = glue_splits("STS-B");
    d.read = glue_reader(GlueColumns{{{"sentence1", "sentence1"}, {"sentence2", "sentence2"}}, "score", true}, {});
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
        glue_reader(c, labels), {}, mnli_natural, words));
    add(glue_classification(
        "glue/mnli_matched", "glue", "mnli", "glue_mnli_matched_v002", labels, {M::accuracy},
        {{"validation",
          {"glue/MNLI/dev_matched.tsv", "glue/MNLI/dev_matched.derived.jsonl", "glue/MNLI/dev_matched.1k-subset.tsv"}},
         {"test", {"glue/MNLI/test_matched.tsv"}}},
        glue_reader(c, labels), {}, mnli_natural, words));
    add(glue_classification(
        "glue/mnli_mismatched", "glue", "mnli", "glue_mnli_mismatched_v002", labels, {M::accuracy},
        {{"validation", {"glue/MNLI/dev_mismatched.tsv", "glue/MNLI/dev_mismatched.1k-subset.tsv"}},
         {"test", {"glue/MNLI/test_mismatched.tsv"}}},
        glue_reader(c, labels), {}, mnli_natural, words));
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

  // ------------------------------------------------ SuperGLUE (TFDS super_glue.py 1.0.2)
  add(glue_classification("superglue/boolq", "superglue", "boolq", "super_glue_boolq_v102", false_true,
                          {M::accuracy}, superglue_splits("BoolQ"),
                          superglue_reader({"question", "passage"}, SgLabel::boolean, false_true), {},
                          [](const Example& ex) {
                            return clean(ex, "passage") + "\nQuestion: " + clean(ex, "question") + "?\nAnswer:";
                          },
                          no_yes));
  {
    const std::vector<std::string> labels = {"entailment", "contradiction", "neutral"};
    add(glue_classification("superglue/cb", "superglue", "cb", "super_glue_cb_v102", labels,
                            {M::mean_3class_f1, M::accuracy}, superglue_splits("CB"),
                            superglue_reader({"premise", "hypothesis"}, SgLabel::names, labels), {},
                            [](const Example& ex) {
                              return clean(ex, "premise") + "\nQuestion: " + clean(ex, "hypothesis") +
                                     ". True, False or Neither?\nAnswer:";
                            },
                            {"True", "False", "Neither"}));
  }
  {
    // COPA through T5's glue preprocessor: targets are the literal strings "choice1" / "choice2".
    const std::vector<std::string> labels = {"choice1", "choice2"};
    Def d = glue_classification("superglue/copa", "superglue", "copa", "super_glue_copa_v102", labels,
                                {M::accuracy}, superglue_splits("COPA"),
                                superglue_reader({"premise", "choice1", "choice2", "question"}, SgLabel::copa, labels),
                                {}, nullptr, {});
    // Natural: the premise continued by "because" / "therefore", candidates are the two choices.
    d.natural = [](const Example& ex) {
      Formatted f;
      std::string premise = clean(ex, "premise");
      if (!premise.empty() && premise.back() == '.') premise.pop_back();
      const std::string& q = ex.field("question");
      SPOT_CHECK(q == "cause" || q == "effect",
                 "COPA example " << ex.id << " (line " << ex.line << "): question " << shown(q)
                                 << " is neither cause nor effect");
      f.input = premise + (q == "cause" ? " because" : " therefore");
      f.candidates = {" " + text::lower_first(clean(ex, "choice1")), " " + text::lower_first(clean(ex, "choice2"))};
      f.target = ex.label >= 0 ? f.candidates.at(static_cast<size_t>(ex.label)) : std::string("<unk>");
      return f;
    };
    add(std::move(d));
  }
  {
    Def d = glue_classification("superglue/multirc", "superglue", "multirc", "super_glue_multirc_v102", false_true,
                                {M::multirc_f1a, M::multirc_em}, superglue_splits("MultiRC"), read_multirc,
                                {"question", "answer", "paragraph"},
                                [](const Example& ex) {
                                  return text::strip(strip_multirc_html(ex.field("paragraph"))) +
                                         "\nQuestion: " + clean(ex, "question") +
                                         "\nCandidate answer: " + clean(ex, "answer") +
                                         "\nIs the candidate answer correct?\nAnswer:";
                                },
                                no_yes);
    // T5 removes the HTML markup from the whole joined input.
    auto base = d.t5;
    d.t5 = [base](const Example& ex) {
      Formatted f = base(ex);
      f.input = strip_multirc_html(f.input);
      return f;
    };
    add(std::move(d));
  }
  {
    Def d;
    d.name = "superglue/record";
    d.benchmark = "superglue";
    d.t5_name = "super_glue_record_v102";
    d.kind = TaskKind::generation;
    d.metrics = {M::squad_em, M::squad_f1};
    d.splits = superglue_splits("ReCoRD");
    d.read = read_record;
    // T5 preprocessors.record; at evaluation T5 keeps one copy per query (deduplicate_metric), whose
    // target is the first answer; every answer is a reference.
    d.t5 = [](const Example& ex) {
      Formatted f;
      f.input = "record query: " + ex.field("query") + " entities: " + text::join(ex.entities, ", ") +
                " passage: " + record_passage(ex.field("passage"));
      f.target = ex.answers.empty() ? std::string("<unk>") : ex.answers[0];
      f.candidates = ex.entities;
      f.references = ex.answers;
      return f;
    };
    d.natural = [](const Example& ex) {
      Formatted f;
      f.input = text::strip(record_passage(ex.field("passage"))) + "\nQuery: " + clean(ex, "query") +
                "\nQuestion: Which entity does @placeholder stand for?\nAnswer:";
      f.target = ex.answers.empty() ? std::string("<unk>") : " " + ex.answers[0];
      f.candidates = spaced(ex.entities);
      f.references = ex.answers;
      return f;
    };
    tasks.push_back(std::make_unique<RecordTask>(std::move(d)));
  }
  {
    const std::vector<std::string> labels = {"entailment", "not_entailment"};
    add(glue_classification("superglue/rte", "superglue", "rte", "super_glue_rte_v102", labels, {M::accuracy},
                            superglue_splits("RTE"),
                            superglue_reader({"premise", "hypothesis"}, SgLabel::names, labels), {},
                            [](const Example& ex) {
                              return clean(ex, "premise") + "\nQuestion: " + clean(ex, "hypothesis") +
                                     " True or False?\nAnswer:";
                            },
                            {"True", "False"}));
  }
  add(glue_classification("superglue/wic", "superglue", "wic", "super_glue_wic_v102", false_true, {M::accuracy},
                          superglue_splits("WiC"),
                          superglue_reader({"word", "sentence1", "sentence2"}, SgLabel::boolean, false_true),
                          {"sentence1", "sentence2", "word"},
                          [](const Example& ex) {
                            return "Sentence 1: " + clean(ex, "sentence1") + "\nSentence 2: " + clean(ex, "sentence2") +
                                   "\nQuestion: Is the word \"" + clean(ex, "word") +
                                   "\" used with the same meaning in both sentences?\nAnswer:";
                          },
                          no_yes));
  {
    Def d;
    d.name = "superglue/wsc";
    d.benchmark = "superglue";
    d.t5_name = "super_glue_wsc_v102_simple_eval";
    d.kind = TaskKind::generation;
    d.labels = false_true;
    d.metrics = {M::accuracy};
    d.splits = superglue_splits("WSC");
    d.read = read_wsc;
    // T5 preprocessors.wsc_simple: "wsc: " + the text with the pronoun marked *he*; the target is the
    // candidate referent span1_text (T5 trains on label == True rows only, and evaluates with
    // postprocessors.wsc_simple against the label).
    d.t5 = [](const Example& ex) {
      Formatted f;
      f.input = "wsc: " + text::replace_all(wsc_inputs(ex), " X ", " *" + ex.field("span2_text") + "* ");
      f.target = ex.field("span1_text");
      return f;
    };
    d.natural = [](const Example& ex) {
      Formatted f;
      f.input = clean(ex, "text") + "\nQuestion: In the passage above, does the pronoun \"" + ex.field("span2_text") +
                "\" refer to \"" + ex.field("span1_text") + "\"?\nAnswer:";
      f.candidates = {" no", " yes"};
      f.target = ex.label >= 0 ? f.candidates.at(static_cast<size_t>(ex.label)) : std::string("<unk>");
      return f;
    };
    tasks.push_back(std::make_unique<WscTask>(std::move(d)));
  }
  for (auto& t : make_source_tasks()) tasks.push_back(std::move(t));
  return tasks;
}

const std::vector<std::unique_ptr<Task>>& builtin_storage() {
  static const std::vector<std::unique_ptr<Task>> tasks = make_builtin();
  return tasks;
}

std::string squash_name(const std::string& s) {
  std::string out;
  for (char c : s)
    if (c != '-' && c != '_') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

bool RecordTask::correct(const Example& ex, const Prediction& p) const {
  for (const auto& a : ex.answers)
    if (a == p.text) return true;
  return false;
}

const std::vector<const Task*>& builtin_tasks() {
  static const std::vector<const Task*> list = [] {
    std::vector<const Task*> v;
    for (const auto& t : builtin_storage()) v.push_back(t.get());
    return v;
  }();
  return list;
}

const Task& find_task(const std::string& name) {
  const std::string want = squash_name(name);
  std::vector<const Task*> hits;
  for (const Task* t : builtin_tasks()) {
    const std::string full = squash_name(t->name());
    const std::string bare = squash_name(t->name().substr(t->name().find('/') + 1));
    if (want == full) return *t;
    if (want == bare || want == squash_name(t->t5_name())) hits.push_back(t);
  }
  if (hits.size() == 1) return *hits[0];
  std::vector<std::string> names;
  for (const Task* t : (hits.empty() ? builtin_tasks() : hits)) names.push_back(t->name());
  if (hits.empty()) SPOT_FAIL("unknown task '" << name << "' (tasks: " << join_names(names) << ")");
  SPOT_FAIL("ambiguous task '" << name << "': " << join_names(names));
}

// ================================================================ user tasks

namespace {

class UserTask : public Task {
 public:
  UserTask(std::string name, std::vector<std::string> labels, std::vector<SplitInfo> splits, bool tsv,
           std::vector<std::string> text_fields, std::string label_field, std::string prefix, std::string tmpl,
           std::vector<std::string> natural_labels)
      : Task(std::move(name), "user", "", TaskKind::classification, std::move(labels), {MetricKind::accuracy},
             std::move(splits)),
        tsv_(tsv),
        text_fields_(std::move(text_fields)),
        label_field_(std::move(label_field)),
        prefix_(std::move(prefix)),
        template_(std::move(tmpl)),
        natural_labels_(std::move(natural_labels)) {
    if (label_names_.size() == 2) metrics_.push_back(MetricKind::f1_with_invalid);
  }

  std::vector<Example> read_file(const std::string& path) const override {
    return tsv_ ? read_tsv(path) : read_jsonl(path);
  }

  Formatted format(const Example& ex, Verbalizer v) const override {
    Formatted f;
    if (v == Verbalizer::t5) {
      f.input = t5_glue_input(prefix_, ex, text_fields_);  // T5's glue preprocessor, fields in spec order
      f.candidates = label_names_;
      f.target = label_target(ex, label_names_);
    } else {
      f.input = fill(template_, ex);
      f.candidates = spaced(natural_labels_);
      f.target = ex.label >= 0 ? f.candidates.at(static_cast<size_t>(ex.label)) : std::string("<unk>");
    }
    return f;
  }

 private:
  std::string fill(const std::string& tmpl, const Example& ex) const {
    std::string out;
    for (size_t i = 0; i < tmpl.size();) {
      if (tmpl[i] == '{') {
        const size_t close = tmpl.find('}', i);
        const std::string key = tmpl.substr(i + 1, close - i - 1);
        out += text::strip(ex.field(key));
        i = close + 1;
      } else {
        out += tmpl[i++];
      }
    }
    return out;
  }

  int parse_label(const json::value& v, const std::string& path, int line) const {
    if (v.is_string()) {
      const int i = index_of(label_names_, v.as_string());
      if (i >= 0) return i;
    } else if (v.is_int64() && v.as_int64() >= 0 && v.as_int64() < static_cast<int64_t>(label_names_.size())) {
      return static_cast<int>(v.as_int64());
    } else if (v.is_bool() && label_names_.size() == 2) {
      return v.as_bool() ? 1 : 0;
    }
    fail_at(path, line, "bad label value " + json::serialize(v).substr(0, 40) + " in field '" + label_field_ +
                            "' (expected one of " + join_names(label_names_) + ", an index 0.." +
                            std::to_string(label_names_.size() - 1) + (label_names_.size() == 2 ? " or a boolean)" : ")"));
  }

  std::vector<Example> read_jsonl(const std::string& path) const {
    std::vector<Example> out;
    for_each_json_line(path, [&](const json::object& o, const Line& l) {
      Example ex;
      ex.line = l.number;
      ex.idx = static_cast<int64_t>(out.size());
      ex.id = std::to_string(ex.idx);
      for (const auto& f : text_fields_) ex.fields.emplace_back(f, need_string(o, f, path, l.number));
      if (auto it = o.find(label_field_); it != o.end() && !it->value().is_null())
        ex.label = parse_label(it->value(), path, l.number);
      out.push_back(std::move(ex));
    });
    return out;
  }

  std::vector<Example> read_tsv(const std::string& path) const {
    LineFile file(path);
    const auto& lines = file.lines();
    std::vector<Example> out;
    if (lines.empty()) return out;
    const std::vector<std::string> header = text::split_on(lines[0].text, '\t');
    std::vector<int> cols;
    for (const auto& f : text_fields_) {
      const int i = index_of(header, f);
      if (i < 0) fail_at(path, 1, "header has no column '" + f + "' (columns: " + join_names(header) + ")");
      cols.push_back(i);
    }
    const int label_col = index_of(header, label_field_);
    for (size_t li = 1; li < lines.size(); ++li) {
      const Line& l = lines[li];
      if (l.text.empty()) continue;
      const std::vector<std::string> row = text::split_on(l.text, '\t');
      if (row.size() != header.size())
        fail_at(path, l.number, "expected " + std::to_string(header.size()) + " tab-separated fields, found " +
                                    std::to_string(row.size()));
      Example ex;
      ex.line = l.number;
      ex.idx = static_cast<int64_t>(out.size());
      ex.id = std::to_string(ex.idx);
      for (size_t k = 0; k < text_fields_.size(); ++k)
        ex.fields.emplace_back(text_fields_[k], row[static_cast<size_t>(cols[k])]);
      if (label_col >= 0) ex.label = glue_label(row[static_cast<size_t>(label_col)], label_names_, path, l.number);
      out.push_back(std::move(ex));
    }
    return out;
  }

  bool tsv_;
  std::vector<std::string> text_fields_;
  std::string label_field_, prefix_, template_;
  std::vector<std::string> natural_labels_;
};

std::vector<std::string> string_list(const json::object& o, std::string_view key, const std::string& path,
                                     bool required, std::vector<std::string> fallback = {}) {
  auto it = o.find(key);
  if (it == o.end()) {
    SPOT_CHECK(!required, path << ": task spec is missing '" << key << "'");
    return fallback;
  }
  SPOT_CHECK(it->value().is_array(), path << ": task spec field '" << key << "' must be an array of strings");
  std::vector<std::string> out;
  for (const auto& v : it->value().as_array()) {
    SPOT_CHECK(v.is_string(), path << ": task spec field '" << key << "' must be an array of strings");
    out.emplace_back(v.as_string());
  }
  SPOT_CHECK(!out.empty(), path << ": task spec field '" << key << "' is empty");
  return out;
}

std::string spec_string(const json::object& o, std::string_view key, const std::string& path, bool required,
                        const std::string& fallback = "") {
  auto it = o.find(key);
  if (it == o.end()) {
    SPOT_CHECK(!required, path << ": task spec is missing '" << key << "'");
    return fallback;
  }
  SPOT_CHECK(it->value().is_string(), path << ": task spec field '" << key << "' must be a string");
  return std::string(it->value().as_string());
}

}  // namespace

std::unique_ptr<Task> load_user_task(const std::string& spec_path) {
  std::string text;
  try {
    text = io::read_file(spec_path);
  } catch (const Error& e) {
    SPOT_FAIL(spec_path << ": cannot read the task spec (" << e.what() << ")");
  }
  json::error_code ec;
  json::value v = json::parse(text, ec);
  SPOT_CHECK(!ec, spec_path << ": invalid JSON: " << ec.message());
  SPOT_CHECK(v.is_object(), spec_path << ": a task spec is a JSON object");
  const json::object& o = v.as_object();
  for (const auto& kv : o) {
    static const std::set<std::string> known = {"name", "format", "splits", "text_fields", "label_field",
                                                "labels", "prefix", "natural"};
    SPOT_CHECK(known.count(std::string(kv.key())), spec_path << ": unknown task spec field '" << kv.key()
                                                             << "' (known: " << join_names({known.begin(), known.end()})
                                                             << ")");
  }
  const std::string name = spec_string(o, "name", spec_path, true);
  const std::string format = spec_string(o, "format", spec_path, true);
  SPOT_CHECK(format == "jsonl" || format == "tsv",
             spec_path << ": task spec 'format' must be jsonl or tsv, got '" << format << "'");
  const std::vector<std::string> labels = string_list(o, "labels", spec_path, true);
  const std::vector<std::string> text_fields = string_list(o, "text_fields", spec_path, false, {"text"});
  const std::string label_field = spec_string(o, "label_field", spec_path, false, "label");
  const std::string prefix = spec_string(o, "prefix", spec_path, false, name);

  auto sit = o.find("splits");
  SPOT_CHECK(sit != o.end() && sit->value().is_object() && !sit->value().as_object().empty(),
             spec_path << ": task spec needs 'splits': {\"train\": \"file\", ...}");
  const fs::path base = fs::path(spec_path).parent_path();
  std::vector<SplitInfo> splits;
  for (const auto& kv : sit->value().as_object()) {
    SPOT_CHECK(kv.value().is_string(), spec_path << ": splits." << kv.key() << " must be a file name");
    const fs::path p(std::string(kv.value().as_string()));
    splits.push_back({std::string(kv.key()), {(p.is_absolute() ? p : fs::absolute(base / p)).lexically_normal().string()}});
  }

  // Natural verbalizer: the spec's template and answer words, or "<fields>\nAnswer:" with the labels.
  std::string tmpl;
  std::vector<std::string> natural_labels = labels;
  if (auto nit = o.find("natural"); nit != o.end()) {
    SPOT_CHECK(nit->value().is_object(), spec_path << ": task spec field 'natural' must be an object");
    const json::object& n = nit->value().as_object();
    tmpl = spec_string(n, "template", spec_path, true);
    natural_labels = string_list(n, "labels", spec_path, false, labels);
    SPOT_CHECK(natural_labels.size() == labels.size(),
               spec_path << ": natural.labels has " << natural_labels.size() << " entries for " << labels.size()
                         << " labels");
  } else {
    for (const auto& tf : text_fields) tmpl += tf + ": {" + tf + "}\n";
    tmpl += "Answer:";
  }
  for (size_t i = tmpl.find('{'); i != std::string::npos; i = tmpl.find('{', i + 1)) {
    const size_t close = tmpl.find('}', i);
    SPOT_CHECK(close != std::string::npos, spec_path << ": natural.template has an unclosed '{'");
    const std::string key = tmpl.substr(i + 1, close - i - 1);
    SPOT_CHECK(index_of(text_fields, key) >= 0, spec_path << ": natural.template uses {" << key
                                                          << "}, which is not one of text_fields ("
                                                          << join_names(text_fields) << ")");
  }
  return std::make_unique<UserTask>(name, labels, std::move(splits), format == "tsv", text_fields, label_field, prefix,
                                    tmpl, natural_labels);
}

std::string data_dir_for(const Task& task, const std::optional<std::string>& flag) {
  for (const SplitInfo& s : task.splits())
    for (const std::string& f : s.files)
      if (!fs::path(f).is_absolute()) return io::resolve_data_dir(flag);
  return flag.value_or("");
}

TaskHandle resolve_task(const std::string& name_or_spec) {
  if (name_or_spec.size() > 5 && name_or_spec.substr(name_or_spec.size() - 5) == ".json")
    return TaskHandle(std::shared_ptr<const Task>(load_user_task(name_or_spec)));
  return TaskHandle(std::shared_ptr<const Task>(&find_task(name_or_spec), [](const Task*) {}));  // registry-owned
}

// ================================================================ T5 helpers

std::string stsb_target(double score) {
  // float32 throughout, as TF computes it: label * 5 rounded half to even, divided by 5.
  const float label = static_cast<float>(score);
  const float scaled = label * 5.0f;
  const int old_mode = std::fegetround();
  std::fesetround(FE_TONEAREST);
  const float rounded = std::nearbyint(scaled);
  std::fesetround(old_mode);
  const float value = rounded / 5.0f;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(value));
  return buf;
}

double t5_string_to_float(const std::string& s) {
  // Python float(): surrounding whitespace allowed, underscores only between digits, no hex.
  std::string t = text::strip(s);
  if (t.empty()) return -1.0;
  std::string digits;
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (c == '_') {
      const bool ok = i > 0 && i + 1 < t.size() && std::isdigit(static_cast<unsigned char>(t[i - 1])) &&
                      std::isdigit(static_cast<unsigned char>(t[i + 1]));
      if (!ok) return -1.0;
      continue;
    }
    if (c == 'x' || c == 'X' || c == 'p' || c == 'P') return -1.0;
    digits += c;
  }
  char* end = nullptr;
  const double v = std::strtod(digits.c_str(), &end);
  if (end == digits.c_str() || *end != '\0') return -1.0;
  return v;
}

int wsc_simple_postprocess(const std::string& prediction, const std::string& referent) {
  static const std::set<std::string> determiners = {"a",    "an",   "few",   "her",   "his",  "each", "every",
                                                    "many", "much", "my",    "our",   "some", "that", "the",
                                                    "their", "these", "this", "those", "which", "whose", "your"};
  auto clean_ = [](const std::string& s) {
    const std::string t = text::lower(text::strip(s));
    std::vector<std::string> kept;
    for (const auto& w : text::split_on(t, ' '))
      if (!determiners.count(w)) kept.push_back(w);
    return text::join(kept, " ");
  };
  const std::string p = clean_(prediction);
  if (p.empty()) return -1;  // an empty prediction must not match a False label by accident
  const std::string r = clean_(referent);
  if ((p.find('\'') != std::string::npos) != (r.find('\'') != std::string::npos)) return 0;
  const std::vector<std::string> pw = text::split_on(p, ' '), rw = text::split_on(r, ' ');
  const std::set<std::string> ps(pw.begin(), pw.end()), rs(rw.begin(), rw.end());
  const bool p_in_r = std::includes(rs.begin(), rs.end(), ps.begin(), ps.end());
  const bool r_in_p = std::includes(ps.begin(), ps.end(), rs.begin(), rs.end());
  return (p_in_r || r_in_p) ? 1 : 0;
}

}  // namespace spot::eval
