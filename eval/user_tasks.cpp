// user_tasks.cpp — user tasks: a JSON spec naming JSONL or TSV files, text fields and labels
// (load_user_task, eval/tasks.h), read and formatted as T5's glue preprocessor plus a template.
#include <boost/json.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eval/task_def.h"
#include "eval/task_io.h"
#include "eval/tasks.h"
#include "eval/text.h"
#include "base/check.h"
#include "io/cache.h"

namespace spot::eval {
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace detail;  // eval/task_io.h: line files, JSON fields, labels; eval/task_def.h: T5 formatting

namespace {

// A classification task of the spec's labels, scored by accuracy (and F1 with two labels).
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

}  // namespace spot::eval
