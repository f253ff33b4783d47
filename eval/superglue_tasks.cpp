// superglue_tasks.cpp — the SuperGLUE tasks: TFDS super_glue.py's JSONL readers (BoolQ, CB, COPA,
// RTE, WiC; MultiRC, ReCoRD, WSC with their own), T5's formatting and the natural prompts, as the
// SuperGLUE part of the registry.
//
// Readers follow TensorFlow Datasets (tensorflow_datasets/text/super_glue.py 1.0.2): the same
// features, label classes, idx and row order. Formatting follows t5/data/preprocessors.py (glue,
// wsc_simple, record) and t5/data/glue_utils.py.
#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
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

namespace spot::eval::detail {
namespace json = boost::json;

namespace {

// ---------------------------------------------------------------- T5 formatting pieces

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

// ---------------------------------------------------------------- SuperGLUE JSONL

// BoolQ, CB, RTE, WiC: one JSON object per line with string features and a label.
enum class SgLabel { boolean, names, copa };

ReadFn superglue_reader(std::vector<std::string> features, SgLabel kind, std::vector<std::string> labels) {
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

// Generation, decoded by DefTask (the text; natural: its first line, stripped); rank mode chooses
// one of the passage's entities; correct() is an exact match with one of the answers.
class RecordTask : public DefTask {
 public:
  using DefTask::DefTask;
  Prediction choose(const Example& ex, const Formatted& f, int choice, Verbalizer v) const override {
    Prediction p = Task::choose(ex, f, choice, v);
    p.label = -1;
    p.text = ex.entities.at(static_cast<size_t>(choice));  // the entity itself, without the leading space
    return p;
  }
  bool correct(const Example& ex, const Prediction& p) const override {
    for (const auto& a : ex.answers)
      if (a == p.text) return true;
    return false;
  }
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

// T5's wsc_simple: generation of the referent, decoded by postprocessors.wsc_simple into the 0/1
// label it names and scored against the label (Task::correct); T5 trains on the True rows only.
// Under the natural verbalizer it is a yes / no question ranked over " no" / " yes"; a decoded
// answer is kept as text only (Task::decode of a generation task).
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
};

}  // namespace

// ---------------------------------------------------------------- the SuperGLUE table

// TFDS super_glue.py 1.0.2's features and classes; T5's glue, record and wsc_simple preprocessors.
std::vector<std::unique_ptr<Task>> make_superglue_tasks() {
  using M = MetricKind;
  std::vector<std::unique_ptr<Task>> tasks;
  auto add = [&](TaskDef d) { tasks.push_back(std::make_unique<DefTask>(std::move(d))); };
  const std::vector<std::string> no_yes = {"no", "yes"};
  const std::vector<std::string> false_true = {"False", "True"};

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
    TaskDef d = glue_classification("superglue/copa", "superglue", "copa", "super_glue_copa_v102", labels,
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
    TaskDef d = glue_classification("superglue/multirc", "superglue", "multirc", "super_glue_multirc_v102", false_true,
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
    TaskDef d;
    d.name = "superglue/record";
    d.benchmark = "superglue";
    d.t5_name = "super_glue_record_v102";
    d.kind = TaskKind::generation;
    d.metrics = {M::squad_em, M::squad_f1};
    d.splits = superglue_splits("ReCoRD");
    d.read = read_record;
    d.max_new_tokens = 32;
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
    TaskDef d;
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
  return tasks;
}

}  // namespace spot::eval::detail
