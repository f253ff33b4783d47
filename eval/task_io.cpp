// task_io.cpp — the file, field and label helpers of task_io.h, shared by the task readers.
#include "eval/task_io.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "eval/text.h"
#include "base/check.h"
#include "io/cache.h"

namespace spot::eval::detail {

namespace json = boost::json;

LineFile::LineFile(const std::string& path) : path_(path) {
  data_ = io::read_file(path);
  std::string_view all(data_);
  if (all.substr(0, 3) == "\xEF\xBB\xBF") all.remove_prefix(3);
  int number = 0;
  while (!all.empty()) {
    const size_t nl = all.find('\n');
    std::string_view line = all.substr(0, nl);
    all.remove_prefix(nl == std::string_view::npos ? all.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++number;
    if (!text::valid_utf8(line)) fail_at(path, number, "invalid UTF-8");
    lines_.push_back({number, line});
  }
}

[[noreturn]] void fail_at(const std::string& path, int line, const std::string& what) {
  SPOT_FAIL(path << ":" << line << ": " << what);
}

std::string shown(std::string_view s, size_t max) {
  std::string out = "'";
  out += s.size() > max ? std::string(s.substr(0, max)) + "..." : std::string(s);
  return out + "'";
}

// ---------------------------------------------------------------- JSON fields

json::object parse_json_line(const std::string& path, const Line& l) {
  json::error_code ec;
  json::value v = json::parse(l.text, ec);
  if (ec) fail_at(path, l.number, "invalid JSON: " + ec.message());
  if (!v.is_object()) fail_at(path, l.number, "invalid JSON: expected an object, got " + json::serialize(v).substr(0, 40));
  return std::move(v.as_object());
}

void for_each_json_line(const std::string& path, const std::function<void(const json::object&, const Line&)>& fn) {
  LineFile file(path);
  for (const Line& l : file.lines()) {
    if (text::strip(l.text).empty()) continue;
    fn(parse_json_line(path, l), l);
  }
}

const json::value& need(const json::object& o, std::string_view key, const std::string& path, int line,
                        std::string_view where) {
  auto it = o.find(key);
  if (it == o.end())
    fail_at(path, line, "missing field '" + std::string(where) + std::string(key) + "'");
  return it->value();
}

std::string need_string(const json::object& o, std::string_view key, const std::string& path, int line,
                        std::string_view where) {
  const json::value& v = need(o, key, path, line, where);
  if (!v.is_string())
    fail_at(path, line, "field '" + std::string(where) + std::string(key) + "' must be a string, got " +
                            json::serialize(v).substr(0, 40));
  return std::string(v.as_string());
}

int64_t need_int(const json::object& o, std::string_view key, const std::string& path, int line,
                 std::string_view where) {
  const json::value& v = need(o, key, path, line, where);
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64() && v.as_uint64() <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(v.as_uint64());
  fail_at(path, line, "field '" + std::string(where) + std::string(key) + "' must be an integer, got " +
                          json::serialize(v).substr(0, 40));
}

const json::object& need_object(const json::object& o, std::string_view key, const std::string& path, int line,
                                std::string_view where) {
  const json::value& v = need(o, key, path, line, where);
  if (!v.is_object()) fail_at(path, line, "field '" + std::string(where) + std::string(key) + "' must be an object");
  return v.as_object();
}

const json::array& need_array(const json::object& o, std::string_view key, const std::string& path, int line,
                              std::string_view where) {
  const json::value& v = need(o, key, path, line, where);
  if (!v.is_array()) fail_at(path, line, "field '" + std::string(where) + std::string(key) + "' must be an array");
  return v.as_array();
}

// ---------------------------------------------------------------- labels

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

int bool_label(const json::value& v, const std::string& path, int line, std::string_view key) {
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

int index_of(const std::vector<std::string>& names, std::string_view s) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == s) return static_cast<int>(i);
  return -1;
}

std::string join_names(const std::vector<std::string>& names) { return text::join(names, ", "); }

// Natural-verbalizer answers are continuations: a leading space, so that a byte-level BPE model
// scores " yes" as the word after "Answer:".
std::vector<std::string> spaced(const std::vector<std::string>& words) {
  std::vector<std::string> out;
  for (const auto& w : words) out.push_back(" " + w);
  return out;
}

std::string clean(const Example& ex, const std::string& key) { return text::strip(ex.field(key)); }

// Natural-verbalizer decoding: the first line of the output, stripped, without trailing
// punctuation, compared case-insensitively with each answer word; else the first word of it.
int match_natural(const std::string& output, const std::vector<std::string>& words) {
  std::string s = output.substr(0, output.find('\n'));
  s = text::lower(text::strip(s));
  while (!s.empty() && std::string_view(".,;:!?\"'").find(s.back()) != std::string_view::npos) s.pop_back();
  for (size_t i = 0; i < words.size(); ++i)
    if (s == text::lower(text::strip(words[i]))) return static_cast<int>(i);
  const std::vector<std::string> toks = text::split_whitespace(s);
  if (toks.empty()) return -1;
  std::string first = toks[0];
  while (!first.empty() && std::string_view(".,;:!?\"'").find(first.back()) != std::string_view::npos) first.pop_back();
  for (size_t i = 0; i < words.size(); ++i)
    if (first == text::lower(text::strip(words[i]))) return static_cast<int>(i);
  return -1;
}

}  // namespace spot::eval::detail
