// source_tasks.cpp — readers, T5-style formatting and the task table (TaskDef, eval/task_def.h) of
// SPoT's other source tasks (SQuAD, CosmosQA, RACE, WinoGrande, HellaSwag, SNLI, DocNLI, Yelp-2,
// DROP) and of CR: the "spot" part of the registry, after GLUE and SuperGLUE.
//
// Readers follow each dataset's official release (and TFDS's feature names where TFDS has the
// dataset); SQuAD's formatting is T5's preprocessors.squad, the others are "<task> <field>: ..." as
// T5's glue preprocessor writes them. Deviations are listed in eval/README.md.
#include "eval/source_tasks.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "eval/csv.h"
#include "eval/task_def.h"
#include "eval/task_io.h"
#include "eval/text.h"
#include "base/check.h"
#include "io/arrow_ipc.h"
#include "io/cache.h"

namespace spot::eval {
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace detail;

// ================================================================ helpers

namespace {

// RE2's \s+ -> ' ' (RE2's \s is [\t\n\f\r ]: no other Unicode spaces).
std::string collapse_re2_space(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool in_space = false;
  for (char ch : s) {
    const bool sp = ch == ' ' || ch == '\t' || ch == '\n' || ch == '\f' || ch == '\r';
    if (sp && in_space) continue;
    out += sp ? ' ' : ch;
    in_space = sp;
  }
  return out;
}

}  // namespace

std::string t5_pad_punctuation(std::string_view s) {
  // RE2 (TensorFlow's regex engine) matches code points; \w is ASCII [0-9A-Za-z_] only.
  std::string padded;
  padded.reserve(s.size() * 2);
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    n = std::min(n, s.size() - i);
    if (n == 1 && (std::isalnum(c) || c == '_')) {
      padded += static_cast<char>(c);
    } else {
      padded += ' ';
      padded.append(s.substr(i, n));
      padded += ' ';
    }
    i += n;
  }
  return collapse_re2_space(padded);
}

std::string cr_split_of(std::string_view sentence) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64
  for (char c : sentence) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  const uint64_t bucket = h % 10;
  return bucket == 0 ? "test" : bucket == 1 ? "validation" : "train";
}

namespace {

std::string read_whole(const std::string& path) { return io::read_file(path); }

// A whole-file JSON document, with errors that name the file and the JSON path ("data[3].title").
json::value parse_json_file(const std::string& path) {
  const std::string text = read_whole(path);
  json::error_code ec;
  json::value v = json::parse(text, ec);
  SPOT_CHECK(!ec, path << ": invalid JSON: " << ec.message());
  return v;
}

struct JsonAt {
  const std::string& path;
  const json::value& get(const json::object& o, std::string_view key, const std::string& at) const {
    const json::value* v = o.if_contains(key);
    SPOT_CHECK(v, path << ": " << at << (at.empty() ? "" : ".") << key << ": missing field");
    return *v;
  }
  std::string str(const json::object& o, std::string_view key, const std::string& at) const {
    const json::value& v = get(o, key, at);
    SPOT_CHECK(v.is_string(), path << ": " << at << (at.empty() ? "" : ".") << key << ": expected a string, got "
                                   << json::serialize(v).substr(0, 40));
    return std::string(v.as_string());
  }
  const json::array& arr(const json::object& o, std::string_view key, const std::string& at) const {
    const json::value& v = get(o, key, at);
    SPOT_CHECK(v.is_array(), path << ": " << at << (at.empty() ? "" : ".") << key << ": expected an array");
    return v.as_array();
  }
  const json::object& obj(const json::value& v, const std::string& at) const {
    SPOT_CHECK(v.is_object(), path << ": " << at << ": expected an object, got " << json::serialize(v).substr(0, 40));
    return v.as_object();
  }
};

std::string index_path(const std::string& base, size_t i) { return base + "[" + std::to_string(i) + "]"; }

// ================================================================ task classes

// CR has one source (custrev.neg + custrev.pos) for every split: load() keeps the split's rows.
class CrTask : public DefTask {
 public:
  using DefTask::DefTask;
  std::vector<Example> load(const std::string& data_dir, const std::string& split) const override {
    std::vector<Example> out;
    for (Example& ex : Task::load(data_dir, split))
      if (cr_split_of(ex.field("sentence")) == split) out.push_back(std::move(ex));
    return out;
  }
};

// A source task of the paper whose data format spot does not read: load() fails naming the files
// a reader would need and why there is none.
class UnavailableTask : public Task {
 public:
  UnavailableTask(std::string name, std::vector<SplitInfo> splits, std::string why)
      : Task(std::move(name), "spot", "", TaskKind::generation, {}, {}, std::move(splits)), why_(std::move(why)) {}
  std::vector<Example> load(const std::string& data_dir, const std::string& split_name) const override {
    std::string files;
    for (const auto& f : split(split_name).files) files += (files.empty() ? "" : " or ") + (fs::path(data_dir) / f).string();
    SPOT_FAIL(name() << ": cannot load split '" << split_name << "' (expected " << files << "): " << why_);
  }
  std::vector<Example> read_file(const std::string& path) const override {
    SPOT_FAIL(name() << ": " << path << ": " << why_);
  }
  Formatted format(const Example& ex, Verbalizer v) const override { SPOT_FAIL(name() << ": " << why_); }

 private:
  std::string why_;
};

// ================================================================ SQuAD v1.1

// TFDS squad / the official json: data[].paragraphs[].qas[] -> one example per question, in file
// order. answers: T5's padded answer texts (T5 scores against them, see README).
std::vector<Example> read_squad(const std::string& path) {
  const json::value root = parse_json_file(path);
  const JsonAt j{path};
  const json::object& top = j.obj(root, "top level");
  const json::array& data = j.arr(top, "data", "");
  std::vector<Example> out;
  for (size_t a = 0; a < data.size(); ++a) {
    const std::string at_a = index_path("data", a);
    const json::object& article = j.obj(data[a], at_a);
    const std::string title = j.str(article, "title", at_a);
    const json::array& paragraphs = j.arr(article, "paragraphs", at_a);
    for (size_t p = 0; p < paragraphs.size(); ++p) {
      const std::string at_p = index_path(at_a + ".paragraphs", p);
      const json::object& para = j.obj(paragraphs[p], at_p);
      const std::string context = j.str(para, "context", at_p);
      const json::array& qas = j.arr(para, "qas", at_p);
      for (size_t q = 0; q < qas.size(); ++q) {
        const std::string at_q = index_path(at_p + ".qas", q);
        const json::object& qa = j.obj(qas[q], at_q);
        Example ex;
        ex.idx = static_cast<int64_t>(out.size());
        ex.id = j.str(qa, "id", at_q);
        ex.fields = {{"question", j.str(qa, "question", at_q)}, {"context", context}, {"title", title}};
        const json::array& answers = j.arr(qa, "answers", at_q);
        for (size_t k = 0; k < answers.size(); ++k)
          ex.answers.push_back(t5_pad_punctuation(j.str(j.obj(answers[k], index_path(at_q + ".answers", k)), "text",
                                                        index_path(at_q + ".answers", k))));
        out.push_back(std::move(ex));
      }
    }
  }
  return out;
}

Formatted squad_t5(const Example& ex) {
  // t5.data.preprocessors.squad: _string_join(['question:', q, 'context:', c]) of the padded
  // question and context (joined by spaces, then \s+ collapsed).
  Formatted f;
  f.input = collapse_re2_space("question: " + t5_pad_punctuation(ex.field("question")) + " context: " +
                               t5_pad_punctuation(ex.field("context")));
  f.target = ex.answers.empty() ? std::string("<unk>") : ex.answers[0];
  f.references = ex.answers;
  return f;
}

// ================================================================ CosmosQA

std::vector<Example> read_cosmosqa(const std::string& path) {
  const std::vector<CsvRecord> rows = read_csv(path);
  SPOT_CHECK(!rows.empty(), path << ": empty file (expected a header: id,context,question,answer0..answer3,label)");
  const std::vector<std::string>& header = rows[0].fields;
  auto col = [&](const std::string& name, bool required) {
    const int i = index_of(header, name);
    if (i < 0 && required) fail_at(path, rows[0].line, "header has no column '" + name + "' (columns: " + join_names(header) + ")");
    return i;
  };
  const int id = col("id", true), context = col("context", true), question = col("question", true);
  int answer[4];
  for (int k = 0; k < 4; ++k) answer[k] = col("answer" + std::to_string(k), true);
  const int label = col("label", false);  // absent in the unlabelled test file
  std::vector<Example> out;
  for (size_t r = 1; r < rows.size(); ++r) {
    const CsvRecord& rec = rows[r];
    if (rec.fields.size() != header.size())
      fail_at(path, rec.line, "expected " + std::to_string(header.size()) + " comma-separated fields, found " +
                                  std::to_string(rec.fields.size()));
    Example ex;
    ex.idx = static_cast<int64_t>(out.size());
    ex.id = rec.fields[static_cast<size_t>(id)];
    ex.line = rec.line;
    ex.fields = {{"context", rec.fields[static_cast<size_t>(context)]},
                 {"question", rec.fields[static_cast<size_t>(question)]}};
    for (int k = 0; k < 4; ++k) ex.fields.emplace_back("answer" + std::to_string(k), rec.fields[static_cast<size_t>(answer[k])]);
    if (label >= 0) {
      const std::string& v = rec.fields[static_cast<size_t>(label)];
      if (v.size() != 1 || v[0] < '0' || v[0] > '3')
        fail_at(path, rec.line, "bad label value " + shown(v) + " (expected 0, 1, 2 or 3)");
      ex.label = v[0] - '0';
    }
    out.push_back(std::move(ex));
  }
  return out;
}

// ================================================================ RACE

int race_file_order(const fs::path& a, const fs::path& b) {
  const std::string sa = a.stem().string(), sb = b.stem().string();
  const bool na = !sa.empty() && std::all_of(sa.begin(), sa.end(), ::isdigit);
  const bool nb = !sb.empty() && std::all_of(sb.begin(), sb.end(), ::isdigit);
  if (na && nb && sa.size() != sb.size()) return sa.size() < sb.size() ? -1 : 1;  // numeric order
  if (na != nb) return na ? -1 : 1;
  return a.filename().string() < b.filename().string() ? -1 : (a.filename() == b.filename() ? 0 : 1);
}

void read_race_file(const fs::path& file, const std::string& level, std::vector<Example>& out) {
  const std::string path = file.string();
  const json::value root = parse_json_file(path);
  const JsonAt j{path};
  const json::object& o = j.obj(root, "top level");
  const std::string article = j.str(o, "article", "");
  const json::array& questions = j.arr(o, "questions", "");
  const json::array& options = j.arr(o, "options", "");
  const json::array* answers = nullptr;
  if (const json::value* a = o.if_contains("answers")) {
    SPOT_CHECK(a->is_array(), path << ": answers: expected an array");
    answers = &a->as_array();
  }
  SPOT_CHECK(options.size() == questions.size() && (!answers || answers->size() == questions.size()),
             path << ": " << questions.size() << " questions, " << options.size() << " option lists and "
                  << (answers ? answers->size() : 0) << " answers (expected one of each per question)");
  for (size_t q = 0; q < questions.size(); ++q) {
    SPOT_CHECK(questions[q].is_string(), path << ": questions[" << q << "]: expected a string");
    SPOT_CHECK(options[q].is_array() && options[q].as_array().size() == 4,
               path << ": options[" << q << "]: expected an array of 4 options");
    Example ex;
    ex.idx = static_cast<int64_t>(out.size());
    ex.id = level + (level.empty() ? "" : "/") + file.filename().string() + "/" + std::to_string(q);
    ex.fields = {{"question", std::string(questions[q].as_string())}};
    static const char* letters[] = {"A", "B", "C", "D"};
    for (size_t k = 0; k < 4; ++k) {
      const json::value& opt = options[q].as_array()[k];
      SPOT_CHECK(opt.is_string(), path << ": options[" << q << "][" << k << "]: expected a string");
      ex.fields.emplace_back(letters[k], std::string(opt.as_string()));
    }
    ex.fields.emplace_back("article", article);
    if (answers) {
      const json::value& a = (*answers)[q];
      const bool ok = a.is_string() && a.as_string().size() == 1 && a.as_string()[0] >= 'A' && a.as_string()[0] <= 'D';
      SPOT_CHECK(ok, path << ": answers[" << q << "]: bad answer " << json::serialize(a).substr(0, 40)
                          << " (expected \"A\", \"B\", \"C\" or \"D\")");
      ex.label = a.as_string()[0] - 'A';
    }
    out.push_back(std::move(ex));
  }
}

// A RACE split directory ({high,middle}/<n>.txt), one level directory, or one file.
std::vector<Example> read_race(const std::string& path) {
  std::vector<Example> out;
  if (fs::is_regular_file(path)) {
    read_race_file(path, "", out);
    return out;
  }
  SPOT_CHECK(fs::is_directory(path), path << ": no such RACE file or directory");
  std::vector<std::pair<std::string, fs::path>> dirs;
  for (const char* level : {"high", "middle"})
    if (fs::is_directory(fs::path(path) / level)) dirs.emplace_back(level, fs::path(path) / level);
  if (dirs.empty()) dirs.emplace_back(fs::path(path).filename().string(), fs::path(path));
  for (const auto& [level, dir] : dirs) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file() && e.path().extension() == ".txt") files.push_back(e.path());
    std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) { return race_file_order(a, b) < 0; });
    for (const fs::path& f : files) read_race_file(f, level, out);
  }
  SPOT_CHECK(!out.empty(), path << ": no RACE questions (expected high/ and middle/ directories of <n>.txt files)");
  return out;
}

// ================================================================ WinoGrande

int winogrande_label(const std::string& answer, const std::string& path, const std::string& where) {
  if (answer == "1" || answer == "2") return answer[0] - '1';
  SPOT_FAIL(path << ": " << where << ": bad answer " << shown(answer) << " (expected \"1\" or \"2\")");
}

// The official jsonl {qID, sentence, option1, option2, answer}, or the Hugging Face `datasets`
// Arrow stream of train_xl (the same columns without qID).
std::vector<Example> read_winogrande(const std::string& path) {
  std::vector<Example> out;
  if (path.size() > 6 && path.substr(path.size() - 6) == ".arrow") {
    io::ArrowStreamInfo info;
    const auto cols = io::read_arrow_stream_strings(path, {"sentence", "option1", "option2", "answer"}, &info);
    for (size_t r = 0; r < cols[0].size(); ++r) {
      const std::string where = "row " + std::to_string(r);
      for (const auto& c : cols)
        SPOT_CHECK(text::valid_utf8(c[r]), path << ": " << where << ": invalid UTF-8");
      Example ex;
      ex.idx = static_cast<int64_t>(r);
      ex.id = std::to_string(r);
      ex.fields = {{"sentence", cols[0][r]}, {"option1", cols[1][r]}, {"option2", cols[2][r]}};
      if (!cols[3][r].empty()) ex.label = winogrande_label(cols[3][r], path, where);
      out.push_back(std::move(ex));
    }
    return out;
  }
  for_each_json_line(path, [&](const json::object& o, const Line& l) {
    Example ex;
    ex.idx = static_cast<int64_t>(out.size());
    ex.id = need_string(o, "qID", path, l.number);
    ex.line = l.number;
    ex.fields = {{"sentence", need_string(o, "sentence", path, l.number)},
                 {"option1", need_string(o, "option1", path, l.number)},
                 {"option2", need_string(o, "option2", path, l.number)}};
    if (const json::value* a = o.if_contains("answer"); a && !a->is_null()) {
      if (!a->is_string()) fail_at(path, l.number, "field 'answer' must be a string, got " + json::serialize(*a));
      ex.label = winogrande_label(std::string(a->as_string()), path, "line " + std::to_string(l.number));
    }
    out.push_back(std::move(ex));
  });
  return out;
}

// ================================================================ HellaSwag

std::vector<Example> read_hellaswag(const std::string& path) {
  std::vector<Example> out;
  for_each_json_line(path, [&](const json::object& o, const Line& l) {
    Example ex;
    ex.idx = static_cast<int64_t>(out.size());
    ex.id = std::to_string(need_int(o, "ind", path, l.number));
    ex.line = l.number;
    ex.fields = {{"activity_label", need_string(o, "activity_label", path, l.number)},
                 {"context", need_string(o, "ctx", path, l.number)}};
    const json::array& endings = need_array(o, "endings", path, l.number);
    if (endings.size() != 4) fail_at(path, l.number, "field 'endings' must hold 4 endings, found " + std::to_string(endings.size()));
    for (size_t k = 0; k < 4; ++k) {
      if (!endings[k].is_string()) fail_at(path, l.number, "endings[" + std::to_string(k) + "] must be a string");
      ex.fields.emplace_back("ending" + std::to_string(k), std::string(endings[k].as_string()));
    }
    if (const json::value* v = o.if_contains("label"); v && !v->is_null()) {
      if (!v->is_int64() || v->as_int64() < 0 || v->as_int64() > 3)
        fail_at(path, l.number, "bad label value " + json::serialize(*v) + " (expected 0, 1, 2 or 3)");
      ex.label = static_cast<int>(v->as_int64());
    }
    out.push_back(std::move(ex));
  });
  return out;
}

// ================================================================ SNLI (GLUE-distribution TSV)

// Rows carry 1 to 5 annotator labels before gold_label, so the row length varies: gold_label is
// the last field. Rows whose gold_label is "-" (no annotator majority) have no label and are
// skipped, as every SNLI trainer does.
std::vector<Example> read_snli(const std::string& path, const std::vector<std::string>& labels) {
  LineFile file(path);
  const auto& lines = file.lines();
  std::vector<Example> out;
  if (lines.empty()) return out;
  const std::vector<std::string> header = text::split_on(lines[0].text, '\t');
  auto col = [&](const std::string& name) {
    const int i = index_of(header, name);
    if (i < 0) fail_at(path, 1, "header has no column '" + name + "' (columns: " + join_names(header) + ")");
    return static_cast<size_t>(i);
  };
  const size_t s1 = col("sentence1"), s2 = col("sentence2"), label1 = col("label1");
  const int pair_id = index_of(header, "pairID");
  // From label1 on the rows are ragged, so every column read by position must come before it.
  if (s1 > label1 || s2 > label1 || pair_id > static_cast<int>(label1))
    fail_at(path, 1, "columns sentence1, sentence2 and pairID must come before label1 (the annotator labels are ragged)");
  const size_t min_fields = label1 + 2, max_fields = label1 + 6;  // label1 [+ label2..5] + gold_label
  for (size_t li = 1; li < lines.size(); ++li) {
    const Line& l = lines[li];
    if (l.text.empty()) continue;
    const std::vector<std::string> row = text::split_on(l.text, '\t');
    if (row.size() < min_fields || row.size() > max_fields)
      fail_at(path, l.number, "expected " + std::to_string(min_fields) + " to " + std::to_string(max_fields) +
                                  " tab-separated fields (1 to 5 annotator labels, then gold_label), found " +
                                  std::to_string(row.size()));
    const std::string& gold = row.back();
    if (gold == "-") continue;
    const int label = index_of(labels, gold);
    if (label < 0) fail_at(path, l.number, "bad gold_label " + shown(gold) + " (expected " + join_names(labels) + " or -)");
    Example ex;
    ex.idx = static_cast<int64_t>(out.size());
    ex.id = pair_id >= 0 ? row[static_cast<size_t>(pair_id)] : std::to_string(ex.idx);
    ex.line = l.number;
    ex.fields = {{"premise", row[s1]}, {"hypothesis", row[s2]}};
    ex.label = label;
    out.push_back(std::move(ex));
  }
  return out;
}

// ================================================================ DocNLI

// The official {train,dev,test}.json: one JSON array of {premise, hypothesis, label}.
std::vector<Example> read_docnli(const std::string& path, const std::vector<std::string>& labels) {
  const json::value root = parse_json_file(path);
  const JsonAt j{path};
  SPOT_CHECK(root.is_array(), path << ": expected a JSON array of {premise, hypothesis, label}");
  std::vector<Example> out;
  const json::array& rows = root.as_array();
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::string at = index_path("", i);
    const json::object& o = j.obj(rows[i], at);
    Example ex;
    ex.idx = static_cast<int64_t>(i);
    ex.id = std::to_string(i);
    ex.fields = {{"premise", j.str(o, "premise", at)}, {"hypothesis", j.str(o, "hypothesis", at)}};
    if (const json::value* v = o.if_contains("label"); v && !v->is_null()) {
      const int label = v->is_string() ? index_of(labels, v->as_string()) : -1;
      SPOT_CHECK(label >= 0, path << ": " << at << ".label: bad label " << json::serialize(*v).substr(0, 40)
                                  << " (expected " << join_names(labels) << ")");
      ex.label = label;
    }
    out.push_back(std::move(ex));
  }
  return out;
}

// ================================================================ Yelp polarity

// yelp_review_polarity_csv/{train,test}.csv: no header, "<1|2>","<review>"; the review escapes a
// line break as backslash-n and a quote as backslash-quote (undone here, as Hugging Face's
// yelp_polarity loader does).
std::vector<Example> read_yelp(const std::string& path) {
  std::vector<Example> out;
  for (const CsvRecord& rec : read_csv(path)) {
    if (rec.fields.size() != 2)
      fail_at(path, rec.line, "expected 2 comma-separated fields (class, review), found " + std::to_string(rec.fields.size()));
    const std::string& c = rec.fields[0];
    if (c != "1" && c != "2") fail_at(path, rec.line, "bad class " + shown(c) + " (expected 1 = negative or 2 = positive)");
    Example ex;
    ex.idx = static_cast<int64_t>(out.size());
    ex.id = std::to_string(ex.idx);
    ex.line = rec.line;
    ex.fields = {{"text", text::replace_all(text::replace_all(rec.fields[1], "\\\"", "\""), "\\n", "\n")}};
    ex.label = c[0] - '1';
    out.push_back(std::move(ex));
  }
  return out;
}

// ================================================================ DROP

// The official drop_dataset_{train,dev}.json: {passage_id: {passage, qa_pairs: [{question,
// query_id, answer, validated_answers}]}}. An answer is its number, else its spans joined by ", ",
// else its date as "day month year" (drop_eval.answer_json_to_strings). References: the answer and
// the validated answers. Questions without any non-empty answer are skipped.
std::string drop_answer_text(const json::value& v, const std::string& path, const std::string& at) {
  const JsonAt j{path};
  const json::object& a = j.obj(v, at);
  if (const json::value* n = a.if_contains("number"); n && n->is_string() && !n->as_string().empty())
    return std::string(n->as_string());
  if (const json::value* s = a.if_contains("spans"); s && s->is_array() && !s->as_array().empty()) {
    std::vector<std::string> spans;
    for (const json::value& e : s->as_array()) {
      SPOT_CHECK(e.is_string(), path << ": " << at << ".spans: expected strings");
      spans.emplace_back(e.as_string());
    }
    return text::join(spans, ", ");
  }
  if (const json::value* d = a.if_contains("date"); d && d->is_object()) {
    std::vector<std::string> parts;
    for (const char* k : {"day", "month", "year"})
      if (const json::value* p = d->as_object().if_contains(k); p && p->is_string() && !p->as_string().empty())
        parts.emplace_back(p->as_string());
    return text::join(parts, " ");
  }
  return "";
}

std::vector<Example> read_drop(const std::string& path) {
  const json::value root = parse_json_file(path);
  const JsonAt j{path};
  const json::object& top = j.obj(root, "top level");
  std::vector<Example> out;
  for (const auto& kv : top) {
    const std::string pid(kv.key());
    const json::object& passage = j.obj(kv.value(), pid);
    const std::string text_ = j.str(passage, "passage", pid);
    const json::array& qas = j.arr(passage, "qa_pairs", pid);
    for (size_t q = 0; q < qas.size(); ++q) {
      const std::string at = index_path(pid + ".qa_pairs", q);
      const json::object& qa = j.obj(qas[q], at);
      Example ex;
      ex.idx = static_cast<int64_t>(out.size());
      ex.id = j.str(qa, "query_id", at);
      ex.group = pid;
      ex.fields = {{"question", j.str(qa, "question", at)}, {"context", text_}};
      std::vector<std::string> answers;
      auto add = [&](const std::string& s) {
        if (!s.empty() && std::find(answers.begin(), answers.end(), s) == answers.end()) answers.push_back(s);
      };
      add(drop_answer_text(j.get(qa, "answer", at), path, at + ".answer"));
      if (const json::value* va = qa.if_contains("validated_answers"); va && va->is_array())
        for (size_t k = 0; k < va->as_array().size(); ++k)
          add(drop_answer_text(va->as_array()[k], path, index_path(at + ".validated_answers", k)));
      if (answers.empty()) continue;
      ex.answers = std::move(answers);
      out.push_back(std::move(ex));
    }
  }
  return out;
}

// ================================================================ CR

// <dir>/custrev.neg (label 0) then <dir>/custrev.pos (label 1), one sentence per line; empty lines
// (two in each file as distributed) are skipped.
std::vector<Example> read_cr(const std::string& dir) {
  SPOT_CHECK(fs::is_directory(dir), dir << ": expected the CR directory holding custrev.neg and custrev.pos");
  std::vector<Example> out;
  for (const auto& [file, label] : {std::pair<const char*, int>{"custrev.neg", 0}, {"custrev.pos", 1}}) {
    const fs::path p = fs::path(dir) / file;
    SPOT_CHECK(fs::is_regular_file(p), dir << ": missing " << file << " (CR is custrev.neg + custrev.pos)");
    LineFile lf(p.string());
    for (const Line& l : lf.lines()) {
      if (text::strip(l.text).empty()) continue;
      Example ex;
      ex.idx = static_cast<int64_t>(out.size());
      ex.id = std::string(label ? "pos/" : "neg/") + std::to_string(l.number);
      ex.line = l.number;
      ex.fields = {{"sentence", std::string(l.text)}};
      ex.label = label;
      out.push_back(std::move(ex));
    }
  }
  return out;
}

// ================================================================ formatting pieces

// A multiple-choice T5 format: the input lists `keys` in order, the options are the fields
// `option_keys`, the target is the gold option's text.
FormatFn mc_t5(std::string prefix, std::vector<std::string> keys, std::vector<std::string> option_keys) {
  return [=](const Example& ex) {
    Formatted f;
    f.input = t5_glue_input(prefix, ex, keys);
    for (const auto& k : option_keys) f.candidates.push_back(ex.field(k));
    f.target = ex.label >= 0 ? f.candidates.at(static_cast<size_t>(ex.label)) : std::string("<unk>");
    return f;
  };
}

FormatFn mc_natural(PromptFn prompt, std::vector<std::string> option_keys) {
  return [=](const Example& ex) {
    Formatted f;
    f.input = prompt(ex);
    for (const auto& k : option_keys) f.candidates.push_back(" " + clean(ex, k));
    f.target = ex.label >= 0 ? f.candidates.at(static_cast<size_t>(ex.label)) : std::string("<unk>");
    return f;
  };
}

FormatFn qa_natural() {
  return [](const Example& ex) {
    Formatted f;
    f.input = clean(ex, "context") + "\nQuestion: " + clean(ex, "question") + "\nAnswer:";
    f.target = ex.answers.empty() ? std::string("<unk>") : " " + text::strip(ex.answers[0]);
    f.references = ex.answers;
    return f;
  };
}

std::vector<SplitInfo> splits3(const std::string& dir, const std::string& train, const std::string& validation,
                               const std::string& test) {
  std::vector<SplitInfo> s{{"train", {"spot_source/" + dir + "/" + train}},
                           {"validation", {"spot_source/" + dir + "/" + validation}}};
  if (!test.empty()) s.push_back({"test", {"spot_source/" + dir + "/" + test}});
  return s;
}

}  // namespace

// ================================================================ registry

std::vector<std::unique_ptr<Task>> make_source_tasks() {
  using M = MetricKind;
  std::vector<std::unique_ptr<Task>> tasks;
  auto add = [&](TaskDef d) { tasks.push_back(std::make_unique<DefTask>(std::move(d))); };
  auto def = [](std::string name) {
    TaskDef d;
    d.name = std::move(name);
    d.benchmark = "spot";
    return d;
  };
  const std::vector<std::string> neg_pos = {"negative", "positive"};

  // C4 (365M examples, "prefix LM" objective on raw web text).
  tasks.push_back(std::make_unique<UnavailableTask>(
      "spot/c4",
      std::vector<SplitInfo>{{"train", {"spot_source/C4/c4-train.00000-of-01024.json.gz"}},
                             {"validation", {"spot_source/C4/c4-validation.00000-of-00008.json.gz"}}},
      "SPoT's C4 source trains with T5's prefix-LM objective (a random split of each document's tokens into "
      "input and target); spot has no reader for C4's gzipped JSON shards nor that objective"));
  {
    const std::vector<std::string> labels = {"entailment", "not_entailment"};
    TaskDef d = def("spot/docnli");
    d.labels = labels;
    d.metrics = {M::accuracy};
    d.splits = splits3("DocNLI", "train.json", "dev.json", "test.json");
    d.read = [labels](const std::string& p) { return read_docnli(p, labels); };
    d.t5 = t5_classification("docnli", {"hypothesis", "premise"}, labels);  // T5's sorted feature order, as MNLI
    d.natural = natural_classification(
        [](const Example& ex) {
          return clean(ex, "premise") + "\nQuestion: " + clean(ex, "hypothesis") + " True or False?\nAnswer:";
        },
        {"True", "False"});
    add(std::move(d));
  }
  {
    TaskDef d = def("spot/yelp2");
    d.labels = neg_pos;
    d.metrics = {M::accuracy};
    // Yelp polarity has no validation split: its test file stands in for it (model selection on
    // the test set is what any SPoT source using Yelp-2 can do).
    d.splits = {{"train", {"spot_source/Yelp-2/train.csv"}},
                {"validation", {"spot_source/Yelp-2/test.csv"}},
                {"test", {"spot_source/Yelp-2/test.csv"}}};
    d.read = read_yelp;
    d.t5 = t5_classification("yelp_polarity", {"text"}, neg_pos);
    d.natural = natural_classification([](const Example& ex) { return "Review: " + clean(ex, "text") + "\nSentiment:"; }, neg_pos);
    add(std::move(d));
  }
  // CxC (Crisscrossed Captions) semantic similarity.
  tasks.push_back(std::make_unique<UnavailableTask>(
      "spot/cxc",
      std::vector<SplitInfo>{{"train", {"spot_source/CxC/sts_train.csv"}},
                             {"validation", {"spot_source/CxC/sts_val.csv"}},
                             {"test", {"spot_source/CxC/sts_test.csv"}}},
      "CxC's similarity files name MS-COCO caption ids, not texts; joining them with the COCO 2014 "
      "captions is not implemented"));
  {
    TaskDef d = def("spot/squad");
    d.t5_name = "squad_v010_allanswers";
    d.kind = TaskKind::generation;
    d.metrics = {M::squad_em, M::squad_f1};
    d.splits = splits3("SQuAD", "train-v1.1.json", "dev-v1.1.json", "");
    d.read = read_squad;
    d.t5 = squad_t5;
    d.natural = qa_natural();
    d.match_answers = true;  // SQuAD EM against the answers
    d.max_new_tokens = 32;
    add(std::move(d));
  }
  {
    TaskDef d = def("spot/drop");
    d.kind = TaskKind::generation;
    d.metrics = {M::squad_em, M::squad_f1};
    d.splits = splits3("DROP", "drop_dataset_train.json", "drop_dataset_dev.json", "");
    d.read = read_drop;
    d.t5 = [](const Example& ex) {
      Formatted f;
      f.input = t5_glue_input("drop", ex, {"question", "context"});
      f.target = ex.answers.empty() ? std::string("<unk>") : ex.answers[0];
      f.references = ex.answers;
      return f;
    };
    d.natural = qa_natural();
    d.match_answers = true;  // SQuAD EM against the answers
    d.max_new_tokens = 32;
    add(std::move(d));
  }
  {
    TaskDef d = def("spot/winogrande");
    d.metrics = {M::accuracy};
    d.multiple_choice = true;
    const std::string dir = "spot_source/WinoGrande/";
    d.splits = {{"train", {dir + "train_xl.jsonl", dir + "train_xl.hf-datasets.arrow"}},
                {"train_l", {dir + "train_l.jsonl"}},
                {"train_m", {dir + "train_m.jsonl"}},
                {"train_s", {dir + "train_s.jsonl"}},
                {"train_xs", {dir + "train_xs.jsonl"}},
                {"validation", {dir + "dev.jsonl"}},
                {"test", {dir + "test.jsonl"}}};
    d.read = read_winogrande;
    d.t5 = mc_t5("winogrande", {"sentence", "option1", "option2"}, {"option1", "option2"});
    d.natural = mc_natural(
        [](const Example& ex) { return clean(ex, "sentence") + "\nQuestion: Who or what is _ in the sentence above?\nAnswer:"; },
        {"option1", "option2"});
    add(std::move(d));
  }
  {
    TaskDef d = def("spot/hellaswag");
    d.metrics = {M::accuracy};
    d.multiple_choice = true;
    d.splits = splits3("HellaSwag", "hellaswag_train.jsonl", "hellaswag_val.jsonl", "hellaswag_test.jsonl");
    d.read = read_hellaswag;
    const std::vector<std::string> endings = {"ending0", "ending1", "ending2", "ending3"};
    d.t5 = mc_t5("hellaswag", {"activity_label", "context", "ending0", "ending1", "ending2", "ending3"}, endings);
    d.natural = mc_natural([](const Example& ex) { return clean(ex, "activity_label") + ": " + clean(ex, "context"); },
                           endings);
    add(std::move(d));
  }
  {
    TaskDef d = def("spot/cosmosqa");
    d.metrics = {M::accuracy};
    d.multiple_choice = true;
    d.splits = splits3("CosmosQA", "train.csv", "valid.csv", "test.csv");
    d.read = read_cosmosqa;
    const std::vector<std::string> answers = {"answer0", "answer1", "answer2", "answer3"};
    d.t5 = mc_t5("cosmosqa", {"context", "question", "answer0", "answer1", "answer2", "answer3"}, answers);
    d.natural = mc_natural(
        [](const Example& ex) { return clean(ex, "context") + "\nQuestion: " + clean(ex, "question") + "\nAnswer:"; },
        answers);
    add(std::move(d));
  }
  {
    TaskDef d = def("spot/race");
    d.metrics = {M::accuracy};
    d.multiple_choice = true;
    d.splits = {{"train", {"spot_source/RACE/train"}},
                {"validation", {"spot_source/RACE/dev"}},
                {"test", {"spot_source/RACE/test"}}};
    d.read = read_race;
    // The article goes last: inputs are truncated from the end, and RACE articles run past 512
    // tokens, so the question and options must come first to survive truncation.
    d.t5 = mc_t5("race", {"question", "A", "B", "C", "D", "article"}, {"A", "B", "C", "D"});
    d.natural = mc_natural(
        [](const Example& ex) { return clean(ex, "article") + "\nQuestion: " + clean(ex, "question") + "\nAnswer:"; },
        {"A", "B", "C", "D"});
    add(std::move(d));
  }
  {
    const std::vector<std::string> labels = {"entailment", "neutral", "contradiction"};  // TFDS snli
    TaskDef d = def("spot/snli");
    d.labels = labels;
    d.metrics = {M::accuracy};
    d.splits = {{"train", {"spot_source/SNLI/train.tsv"}},
                {"validation", {"spot_source/SNLI/dev.tsv"}},
                {"test", {"spot_source/SNLI/test.tsv", "spot_source/SNLI/test.1k-subset.tsv"}}};
    d.read = [labels](const std::string& p) { return read_snli(p, labels); };
    d.t5 = t5_classification("snli", {"hypothesis", "premise"}, labels);  // T5's sorted feature order, as MNLI
    d.natural = natural_classification(nli_natural, {"True", "Neither", "False"});
    add(std::move(d));
  }
  {
    TaskDef d = def("spot/cr");
    d.labels = neg_pos;
    d.metrics = {M::accuracy};
    d.splits = {{"train", {"spot_source/CR"}}, {"validation", {"spot_source/CR"}}, {"test", {"spot_source/CR"}}};
    d.read = read_cr;
    d.t5 = t5_classification("cr", {"sentence"}, neg_pos);
    d.natural = natural_classification([](const Example& ex) { return "Review: " + clean(ex, "sentence") + "\nSentiment:"; }, neg_pos);
    tasks.push_back(std::make_unique<CrTask>(std::move(d)));
  }
  return tasks;
}

}  // namespace spot::eval
