// task_io.h — helpers the task readers share (eval/glue_tasks.cpp, superglue_tasks.cpp,
// source_tasks.cpp, user_tasks.cpp): numbered lines of a text file, JSON fields read with
// "<file>:<line>: <what>" errors, label parsing and lookups, and the natural-verbalizer pieces.
// Internal to eval/; not part of the task API (the formatting pieces are in eval/task_def.h).
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "eval/tasks.h"

namespace spot::eval::detail {

[[noreturn]] void fail_at(const std::string& path, int line, const std::string& what);

// 's' quoted for a message, cut to `max` bytes.
std::string shown(std::string_view s, size_t max = 60);

// A text file as numbered lines: a UTF-8 BOM at the start is dropped (MRPC), "\r\n" ends a line
// like "\n", a last line without "\n" counts (CoLA dev). Every line must be valid UTF-8.
struct Line {
  int number;
  std::string_view text;
};

class LineFile {
 public:
  explicit LineFile(const std::string& path);
  const std::vector<Line>& lines() const { return lines_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_, data_;
  std::vector<Line> lines_;
};

// One JSONL line as an object; anything else is "<path>:<line>: invalid JSON: ...".
boost::json::object parse_json_line(const std::string& path, const Line& l);

// Every non-blank line of a JSONL file, in order, parsed as above: fn(object, line).
void for_each_json_line(const std::string& path,
                        const std::function<void(const boost::json::object&, const Line&)>& fn);

// A required field of a JSON object; `where` prefixes the key in messages ("passage.").
const boost::json::value& need(const boost::json::object& o, std::string_view key, const std::string& path, int line,
                               std::string_view where = "");
std::string need_string(const boost::json::object& o, std::string_view key, const std::string& path, int line,
                        std::string_view where = "");
int64_t need_int(const boost::json::object& o, std::string_view key, const std::string& path, int line,
                 std::string_view where = "");
const boost::json::object& need_object(const boost::json::object& o, std::string_view key, const std::string& path,
                                       int line, std::string_view where = "");
const boost::json::array& need_array(const boost::json::object& o, std::string_view key, const std::string& path,
                                     int line, std::string_view where = "");

// ---------------------------------------------------------------- labels

// TFDS glue: a label that is a class name maps to its index; otherwise it is read as an integer
// class index ("0"/"1" in CoLA, SST-2, MRPC, QQP, WNLI). Anything else fails at path:line.
int glue_label(std::string_view s, const std::vector<std::string>& names, const std::string& path, int line);
// SuperGLUE booleans (BoolQ, WiC, WSC labels): TFDS casts true/false to "True"/"False".
int bool_label(const boost::json::value& v, const std::string& path, int line, std::string_view key = "label");
// A label given as one of `names` (MNLI JSONL, CB, SuperGLUE RTE).
int name_label(const boost::json::value& v, const std::vector<std::string>& names, const std::string& path, int line);

// The index of `s` in `names`, or -1.
int index_of(const std::vector<std::string>& names, std::string_view s);
std::string join_names(const std::vector<std::string>& names);

// Natural-verbalizer answers are continuations: each word with a leading space.
std::vector<std::string> spaced(const std::vector<std::string>& words);
// The stripped text of a field.
std::string clean(const Example& ex, const std::string& key);
// Natural-verbalizer decoding: the first line of the output, stripped, without trailing
// punctuation, compared case-insensitively with each answer word; else the first word of it.
int match_natural(const std::string& output, const std::vector<std::string>& words);

}  // namespace spot::eval::detail
