// tasks.cpp — the Task base class (split lookup, load, decode / choose / correct for class labels),
// Example's field access and the names of the public enums of eval/tasks.h.
//
// The tasks themselves are tables of eval/task_def.h's TaskDef: eval/glue_tasks.cpp,
// superglue_tasks.cpp, source_tasks.cpp; the registry is eval/registry.cpp, user tasks
// eval/user_tasks.cpp, T5's postprocessors eval/t5_postprocess.cpp.
#include "eval/tasks.h"

#include <filesystem>
#include <sstream>

#include "eval/task_io.h"
#include "base/check.h"

namespace spot::eval {
namespace fs = std::filesystem;
using namespace detail;  // eval/task_io.h: fail_at, index_of, join_names, match_natural

// ================================================================ enum names, Example

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

}  // namespace spot::eval
