// test_tasks.cpp — eval/tasks on the real GLUE / SuperGLUE files in shared/data (row counts and
// label distributions from shared/data/MANIFEST.md, the first example of each task formatted as
// T5 formats it, checked by hand against the raw line), T5's own preprocessor unit-test cases,
// STS-B rounding, malformed-line errors with file:line, ReCoRD on a small file in the official
// format, user task specs, and the data-directory lookup.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <sys/wait.h>
#include <unistd.h>

#include "eval/tasks.h"
#include "io/data_dir.h"
#include "base/check.h"
#include "tests/expect_error.h"
#include "tests/test_data.h"

namespace spot::eval {
namespace {

namespace fs = std::filesystem;

std::string data_dir() { return test::shared_data_dir(); }

#define REQUIRE_DATA()                                                                             \
  if (!fs::is_directory(data_dir()))                                                               \
  GTEST_SKIP() << "SKIPPED (not verified): shared data directory " << data_dir() << " is absent"

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream f(path, std::ios::binary);
  f << content;
}

// A fresh temporary directory per test.
class TempDir {
 public:
  TempDir() {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() / ("spot_eval_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// The lines of a file with line `number` (1-based) replaced by `replacement`.
std::string replace_line(const std::string& content, int number, const std::string& replacement) {
  std::stringstream in(content);
  std::string line, out;
  int n = 0;
  while (std::getline(in, line)) out += (++n == number ? replacement : line) + "\n";
  return out;
}

std::string line_of(const std::string& content, int number) {
  std::stringstream in(content);
  std::string line;
  for (int n = 0; n < number && std::getline(in, line); ++n) {
  }
  return line;
}

using test::expect_error;

std::map<int, int> label_counts(const std::vector<Example>& ex) {
  std::map<int, int> c;
  for (const auto& e : ex) ++c[e.label];
  return c;
}

// ---------------------------------------------------------------- real files

TEST(EvalTasks, RowCountsMatchManifest) {
  REQUIRE_DATA();
  struct Row {
    const char* task;
    const char* split;
    size_t rows;
  };
  const Row rows[] = {
      {"glue/cola", "train", 8551},          {"glue/cola", "validation", 1043},   {"glue/cola", "test", 1063},
      {"glue/sst2", "train", 67349},         {"glue/sst2", "validation", 872},    {"glue/sst2", "test", 1821},
      {"glue/mrpc", "train", 3668},          {"glue/mrpc", "validation", 408},    {"glue/mrpc", "test", 1725},
      {"glue/qqp", "train", 10260},          {"glue/qqp", "validation", 1000},    {"glue/stsb", "train", 5749},
      {"glue/stsb", "validation", 1500},     {"glue/stsb", "test", 1379},         {"glue/mnli", "train", 20069},
      {"glue/mnli", "validation_matched", 9815}, {"glue/mnli", "validation_mismatched", 1000},
      {"glue/mnli_matched", "validation", 9815}, {"glue/mnli_mismatched", "validation", 1000},
      {"glue/qnli", "train", 9833},          {"glue/qnli", "validation", 5463},   {"glue/qnli", "test", 5463},
      {"glue/rte", "train", 2490},           {"glue/rte", "validation", 277},     {"glue/rte", "test", 3000},
      {"superglue/boolq", "validation", 3270}, {"superglue/boolq", "test", 3245},
      {"superglue/cb", "train", 250},        {"superglue/cb", "validation", 56},  {"superglue/cb", "test", 250},
      {"superglue/copa", "train", 400},      {"superglue/copa", "validation", 100}, {"superglue/copa", "test", 500},
      // MultiRC: one example per answer option (passages 456 / 83 / 166 in the manifest).
      {"superglue/multirc", "train", 27243}, {"superglue/multirc", "validation", 4848},
      {"superglue/multirc", "test", 9693},   {"superglue/rte", "train", 2490},    {"superglue/rte", "validation", 277},
      {"superglue/rte", "test", 3000},       {"superglue/wic", "train", 5428},    {"superglue/wic", "validation", 638},
      {"superglue/wic", "test", 1400},       {"superglue/wsc", "train", 554},     {"superglue/wsc", "validation", 104},
      {"superglue/wsc", "test", 146},
  };
  for (const Row& r : rows) {
    const Task& t = find_task(r.task);
    EXPECT_EQ(t.load(data_dir(), r.split).size(), r.rows) << r.task << " " << r.split;
  }
  // The GLUE-format MNLI dev 1k subset, read directly (the derived JSONL wins for the split).
  const Task& mnli = find_task("glue/mnli");
  const auto subset = mnli.read_file(data_dir() + "/glue/MNLI/dev_matched.1k-subset.tsv");
  EXPECT_EQ(subset.size(), 1000u);
  EXPECT_EQ(label_counts(subset), (std::map<int, int>{{0, 333}, {1, 318}, {2, 349}}));
  // MultiRC passages and questions.
  const auto mrc = find_task("multirc").load(data_dir(), "validation");
  std::map<std::string, int> questions;
  std::map<int64_t, int> passages;
  for (const auto& e : mrc) {
    ++questions[e.group];
    ++passages[e.number("paragraph")];
  }
  EXPECT_EQ(questions.size(), 953u);
  EXPECT_EQ(passages.size(), 83u);
}

TEST(EvalTasks, LabelDistributionsMatchManifest) {
  REQUIRE_DATA();
  // GLUE RTE dev: entailment=146, not_entailment=131 (index 0 = entailment).
  EXPECT_EQ(label_counts(find_task("glue/rte").load(data_dir(), "validation")), (std::map<int, int>{{0, 146}, {1, 131}}));
  EXPECT_EQ(label_counts(find_task("superglue/rte").load(data_dir(), "validation")),
            (std::map<int, int>{{0, 146}, {1, 131}}));
  EXPECT_EQ(label_counts(find_task("cola").load(data_dir(), "validation")), (std::map<int, int>{{0, 322}, {1, 721}}));
  EXPECT_EQ(label_counts(find_task("sst2").load(data_dir(), "validation")), (std::map<int, int>{{0, 428}, {1, 444}}));
  EXPECT_EQ(label_counts(find_task("mrpc").load(data_dir(), "train")), (std::map<int, int>{{0, 1194}, {1, 2474}}));
  EXPECT_EQ(label_counts(find_task("qqp").load(data_dir(), "validation")), (std::map<int, int>{{0, 617}, {1, 383}}));
  // MNLI classes: entailment, neutral, contradiction.
  EXPECT_EQ(label_counts(find_task("mnli_matched").load(data_dir(), "validation")),
            (std::map<int, int>{{0, 3479}, {1, 3123}, {2, 3213}}));
  EXPECT_EQ(label_counts(find_task("mnli_mismatched").load(data_dir(), "validation")),
            (std::map<int, int>{{0, 350}, {1, 316}, {2, 334}}));
  EXPECT_EQ(label_counts(find_task("mnli").load(data_dir(), "train")),
            (std::map<int, int>{{0, 6706}, {1, 6629}, {2, 6734}}));
  EXPECT_EQ(label_counts(find_task("qnli").load(data_dir(), "train")), (std::map<int, int>{{0, 4920}, {1, 4913}}));
  // CB classes: entailment, contradiction, neutral.
  EXPECT_EQ(label_counts(find_task("cb").load(data_dir(), "validation")), (std::map<int, int>{{0, 23}, {1, 28}, {2, 5}}));
  EXPECT_EQ(label_counts(find_task("copa").load(data_dir(), "validation")), (std::map<int, int>{{0, 55}, {1, 45}}));
  EXPECT_EQ(label_counts(find_task("boolq").load(data_dir(), "validation")), (std::map<int, int>{{0, 1237}, {1, 2033}}));
  EXPECT_EQ(label_counts(find_task("wsc").load(data_dir(), "validation")), (std::map<int, int>{{0, 66}, {1, 38}}));
  EXPECT_EQ(label_counts(find_task("wic").load(data_dir(), "validation")), (std::map<int, int>{{0, 319}, {1, 319}}));
  EXPECT_EQ(label_counts(find_task("multirc").load(data_dir(), "validation")), (std::map<int, int>{{0, 2773}, {1, 2075}}));
  // Test splits carry no labels.
  EXPECT_EQ(label_counts(find_task("glue/rte").load(data_dir(), "test")), (std::map<int, int>{{-1, 3000}}));
  EXPECT_EQ(label_counts(find_task("cb").load(data_dir(), "test")), (std::map<int, int>{{-1, 250}}));
}

struct FirstExample {
  const char* task;
  const char* split;
  const char* input;
  const char* target;
};

TEST(EvalTasks, FirstExampleFormattedAsT5) {
  REQUIRE_DATA();
  // Each expected string was checked by hand against the first data line of the file and T5's
  // preprocessors (sorted feature keys for glue(), fixed orders for stsb / multirc / wic).
  const FirstExample cases[] = {
      {"glue/cola", "validation", "cola sentence: The sailors rode the breeze clear of the rocks.", "acceptable"},
      {"glue/cola", "train", "cola sentence: Our friends won't buy this analysis, let alone the next one we propose.",
       "acceptable"},
      {"glue/cola", "test", "cola sentence: Bill whistled past the house.", "<unk>"},
      // SST-2 sentences end with a space in the GLUE files; T5 keeps it.
      {"glue/sst2", "validation", "sst2 sentence: it 's a charming and often affecting journey . ", "positive"},
      {"glue/mrpc", "validation",
       "mrpc sentence1: He said the foodservice pie business doesn't fit the company's long-term growth strategy. "
       "sentence2: \"The foodservice pie business does not fit our long-term growth strategy.",
       "equivalent"},
      {"glue/qqp", "validation",
       "qqp question1: What attributes would have made you highly desirable in ancient Rome? question2: How I GET "
       "OPPERTINUTY TO JOIN IT COMPANY AS A FRESHER?",
       "not_duplicate"},
      {"glue/stsb", "validation",
       "stsb sentence1: A man with a hard hat is dancing. sentence2: A man wearing a hard hat is dancing.", "5.0"},
      {"glue/mnli", "train", "mnli hypothesis: Heterosexuals. premise: Gays and lesbians.", "contradiction"},
      // The derived JSONL keeps the original trailing space of the hypothesis.
      {"glue/mnli_matched", "validation",
       "mnli hypothesis: Everyone really likes the newest benefits  premise: The new rights are nice enough",
       "neutral"},
      {"glue/mnli_mismatched", "validation",
       "mnli hypothesis: Reading is greater than watching television, it makes you smarter. premise: And so, uh, "
       "those things come about through the work of reading rather than through listening to some person on the "
       "street corner or, uh, gazing on TV.",
       "neutral"},
      {"glue/qnli", "validation",
       "qnli question: What came into force after the new constitution was herald? sentence: As of that day, the new "
       "constitution heralding the Second Republic came into force.",
       "entailment"},
      {"glue/rte", "validation",
       "rte sentence1: Dana Reeve, the widow of the actor Christopher Reeve, has died of lung cancer at age 44, "
       "according to the Christopher Reeve Foundation. sentence2: Christopher Reeve had an accident.",
       "not_entailment"},
      {"superglue/cb", "validation",
       "cb hypothesis: Valence was helping premise: Valence the void-brain, Valence the virtuous valet. Why couldn't "
       "the figger choose his own portion of titanic anatomy to shaft? Did he think he was helping?",
       "contradiction"},
      {"superglue/copa", "validation",
       "copa choice1: The toilet filled with water. choice2: Water flowed from the spout. premise: The man turned on "
       "the faucet. question: effect",
       "choice2"},
      {"superglue/rte", "validation",
       "rte hypothesis: Christopher Reeve had an accident. premise: Dana Reeve, the widow of the actor Christopher "
       "Reeve, has died of lung cancer at age 44, according to the Christopher Reeve Foundation.",
       "not_entailment"},
      {"superglue/wic", "validation",
       "wic sentence1: An emerging professional class. sentence2: Apologizing for losing your temper, even though you "
       "were badly provoked, showed real class. word: class",
       "False"},
      {"superglue/wsc", "validation",
       "wsc: Bernard , who had not told the government official that he was less than 21 when he filed for a "
       "homestead claim, did not consider that he had done anything dishonest. Still, anyone who knew that he was 19 "
       "years old could take his claim away from *him* .",
       "anyone"},
  };
  for (const auto& c : cases) {
    const Task& t = find_task(c.task);
    const auto ex = t.load(data_dir(), c.split);
    ASSERT_FALSE(ex.empty()) << c.task;
    const Formatted f = t.format(ex[0], Verbalizer::t5);
    EXPECT_EQ(f.input, c.input) << c.task << " " << c.split;
    EXPECT_EQ(f.target, c.target) << c.task << " " << c.split;
    if (t.kind() == TaskKind::classification) EXPECT_EQ(f.candidates, t.label_names()) << c.task;
  }
}

TEST(EvalTasks, LongFirstExamplesFormattedAsT5) {
  REQUIRE_DATA();
  // BoolQ: "boolq passage: <passage> question: <question>" (sorted keys).
  {
    const Task& t = find_task("boolq");
    const auto ex = t.load(data_dir(), "validation");
    const Formatted f = t.format(ex[0], Verbalizer::t5);
    EXPECT_EQ(f.input.rfind("boolq passage: Ethanol fuel -- All biomass goes through at least some of these steps:", 0), 0u);
    const std::string tail = " uses much less petroleum than producing gasoline. question: does ethanol take more "
                             "energy make that produces";
    ASSERT_GE(f.input.size(), tail.size());
    EXPECT_EQ(f.input.substr(f.input.size() - tail.size()), tail);
    EXPECT_EQ(f.target, "False");
  }
  // MultiRC: "multirc question: <q> answer: <a> paragraph: <p>", one example per answer option.
  {
    const Task& t = find_task("multirc");
    const auto ex = t.load(data_dir(), "validation");
    const Formatted f = t.format(ex[0], Verbalizer::t5);
    EXPECT_EQ(f.input.rfind("multirc question: Would the mass of a baseball affect how much force you have to use to "
                            "pick it up? answer: No paragraph: What causes a change in motion? The application of a "
                            "force.",
                            0),
              0u);
    EXPECT_EQ(f.target, "False");
    EXPECT_EQ(ex[0].id, "0/0/0");
    EXPECT_EQ(ex[0].group, "0/0");
  }
}

TEST(EvalTasks, SpecialRows) {
  REQUIRE_DATA();
  // CoLA dev ends without a newline: the last row is still read.
  const auto cola = find_task("cola").load(data_dir(), "validation");
  EXPECT_EQ(cola.back().field("sentence"), "John talked to Bill about himself.");
  EXPECT_EQ(cola.back().label, 1);
  EXPECT_EQ(cola.back().line, 1043);
  // MRPC's header starts with a UTF-8 BOM; the Quality column must still be found.
  const auto mrpc = find_task("mrpc").load(data_dir(), "train");
  EXPECT_EQ(mrpc[0].field("sentence1"),
            "Amrozi accused his brother, whom he called \"the witness\", of deliberately distorting his evidence.");
  EXPECT_EQ(mrpc[0].label, 1);
  // STS-B dev targets after T5's rounding (raw 5.000 4.750 5.000 2.400 2.750 2.615 5.000 2.333 3.750 5.000).
  const Task& stsb = find_task("stsb");
  const auto s = stsb.load(data_dir(), "validation");
  const char* want[] = {"5.0", "4.8", "5.0", "2.4", "2.8", "2.6", "5.0", "2.4", "3.8", "5.0"};
  for (int i = 0; i < 10; ++i) EXPECT_EQ(stsb.format(s[i], Verbalizer::t5).target, want[i]) << "row " << i;
  EXPECT_DOUBLE_EQ(stsb.gold_value(s[1]), 4.8);  // metrics compare with the rounded target, as T5
  // WSC rows that hit T5's special cases (train idx 137: "Good for him,").
  const Task& wsc = find_task("wsc");
  const auto w = wsc.load(data_dir(), "train");
  EXPECT_EQ(wsc.format(w[137], Verbalizer::t5).input,
            "wsc: The boy continued to whip the pony , and eventually the pony threw him over. John laughed out quite "
            "loud. \"Good for *him* ,\" he said.");
  // T5 trains WSC on the rows whose span1 is the referent: 259 (its mixture weight for WSC).
  size_t trainable = 0;
  for (const auto& e : w) trainable += wsc.use_for_training(e, Verbalizer::t5);
  EXPECT_EQ(trainable, 259u);
  EXPECT_TRUE(wsc.use_for_training(w[0], Verbalizer::natural));
  EXPECT_FALSE(find_task("glue/rte").use_for_training(find_task("glue/rte").load(data_dir(), "test")[0], Verbalizer::t5));
  // Every WSC row of every split formats (T5's assertions hold after TFDS's span fixes).
  for (const char* split : {"train", "validation", "test"})
    for (const auto& e : wsc.load(data_dir(), split)) EXPECT_NO_THROW(wsc.format(e, Verbalizer::t5)) << split << " " << e.id;
}

TEST(EvalTasks, NaturalVerbalizer) {
  REQUIRE_DATA();
  {
    const Task& t = find_task("sst2");
    const Formatted f = t.format(t.load(data_dir(), "validation")[0], Verbalizer::natural);
    EXPECT_EQ(f.input, "Review: it 's a charming and often affecting journey .\nSentiment:");
    EXPECT_EQ(f.candidates, (std::vector<std::string>{" negative", " positive"}));
    EXPECT_EQ(f.target, " positive");
  }
  {
    const Task& t = find_task("copa");
    const Formatted f = t.format(t.load(data_dir(), "validation")[0], Verbalizer::natural);
    EXPECT_EQ(f.input, "The man turned on the faucet therefore");
    EXPECT_EQ(f.candidates, (std::vector<std::string>{" the toilet filled with water.", " water flowed from the spout."}));
    EXPECT_EQ(f.target, " water flowed from the spout.");
  }
  {
    const Task& t = find_task("wsc");
    const Formatted f = t.format(t.load(data_dir(), "validation")[0], Verbalizer::natural);
    EXPECT_EQ(f.candidates, (std::vector<std::string>{" no", " yes"}));
    EXPECT_EQ(f.target, " no");
    EXPECT_NE(f.input.find("does the pronoun \"him\" refer to \"anyone\"?\nAnswer:"), std::string::npos) << f.input;
  }
  {
    const Task& t = find_task("mnli_matched");
    const Formatted f = t.format(t.load(data_dir(), "validation")[0], Verbalizer::natural);
    EXPECT_EQ(f.input, "The new rights are nice enough\nQuestion: Everyone really likes the newest benefits True, False "
                       "or Neither?\nAnswer:");
    EXPECT_EQ(f.target, " Neither");
  }
  // Natural decoding: the first word, case and punctuation ignored.
  const Task& rte = find_task("glue/rte");
  const Example ex = rte.load(data_dir(), "validation")[0];
  const Formatted f = rte.format(ex, Verbalizer::natural);
  EXPECT_EQ(rte.decode(ex, f, " false.\nQuestion: ...", Verbalizer::natural).label, 1);
  EXPECT_EQ(rte.decode(ex, f, " TRUE", Verbalizer::natural).label, 0);
  EXPECT_EQ(rte.decode(ex, f, " maybe", Verbalizer::natural).label, -1);
  // T5 decoding is an exact string match.
  const Formatted t5 = rte.format(ex, Verbalizer::t5);
  EXPECT_EQ(rte.decode(ex, t5, "not_entailment", Verbalizer::t5).label, 1);
  EXPECT_EQ(rte.decode(ex, t5, "not entailment", Verbalizer::t5).label, -1);
}

// ---------------------------------------------------------------- T5's own test cases

TEST(EvalTasks, T5PreprocessorTestCases) {
  // preprocessors_test.test_glue: feature keys sorted, "<unk>" for label -1.
  const Task& qqp = find_task("qqp");
  Example ex;
  ex.fields = {{"q1", "How so?"}, {"q3", "Who?"}, {"q2", "Why not?"}};
  ex.label = 0;
  EXPECT_EQ(qqp.format(ex, Verbalizer::t5).input, "qqp q1: How so? q2: Why not? q3: Who?");
  EXPECT_EQ(qqp.format(ex, Verbalizer::t5).target, "not_duplicate");
  ex.label = -1;
  EXPECT_EQ(qqp.format(ex, Verbalizer::t5).target, "<unk>");

  // test_multirc: HTML markup removed from the joined input.
  Example m;
  m.fields = {{"paragraph", "<b>Sent 1: </b>Once upon a time, there was a squirrel named Joey.<br><b>Sent 2: </b>Joey "
                            "loved to go outside and play with his cousin Jimmy."},
              {"question", "Why was Joey surprised the morning he woke up for breakfast?"},
              {"answer", "There was only pie to eat"}};
  m.label = 1;
  const Formatted mf = find_task("multirc").format(m, Verbalizer::t5);
  EXPECT_EQ(mf.input, "multirc question: Why was Joey surprised the morning he woke up for breakfast? answer: There was "
                      "only pie to eat paragraph: Sent 1: Once upon a time, there was a squirrel named Joey. Sent 2: "
                      "Joey loved to go outside and play with his cousin Jimmy.");
  EXPECT_EQ(mf.target, "True");

  // test_stsb.
  Example s;
  s.fields = {{"sentence1", "Big news."}, {"sentence2", "No idea."}};
  s.score = 2.8;
  EXPECT_EQ(find_task("stsb").format(s, Verbalizer::t5).input, "stsb sentence1: Big news. sentence2: No idea.");
  EXPECT_EQ(find_task("stsb").format(s, Verbalizer::t5).target, "2.8");
  s.score = 1.66;
  EXPECT_EQ(find_task("stsb").format(s, Verbalizer::t5).target, "1.6");

  // test_wsc_simple.
  Example w;
  w.fields = {{"text", "Mitchell asked Tom if he could lend some money."}, {"span1_text", "Tom"}, {"span2_text", "he"}};
  w.numbers = {{"span1_index", 2}, {"span2_index", 4}};
  const Formatted wf = find_task("wsc").format(w, Verbalizer::t5);
  EXPECT_EQ(wf.input, "wsc: Mitchell asked Tom if *he* could lend some money.");
  EXPECT_EQ(wf.target, "Tom");

  // test_record: @highlight markers, entities joined with ", ", one copy per query with all answers.
  Example r;
  r.fields = {{"passage", "This is the passage\n@highlight\nAnother sentence.\n@highlight\nThird sentence."},
              {"query", "It was @placeholder."}};
  r.entities = {"A", "B", "C"};
  r.answers = {"A", "C"};
  const Formatted rf = find_task("record").format(r, Verbalizer::t5);
  EXPECT_EQ(rf.input, "record query: It was @placeholder. entities: A, B, C passage: This is the passage. Another "
                      "sentence. Third sentence.");
  EXPECT_EQ(rf.target, "A");
  EXPECT_EQ(rf.references, (std::vector<std::string>{"A", "C"}));
  EXPECT_EQ(rf.candidates, (std::vector<std::string>{"A", "B", "C"}));
  r.answers.clear();
  EXPECT_EQ(find_task("record").format(r, Verbalizer::t5).target, "<unk>");
}

TEST(EvalTasks, StsbRoundingIsFloat32HalfToEven) {
  // Expected values computed with numpy: "%.1f" % (np.round(np.float32(v) * 5) / 5), tf.round = half to even.
  const std::pair<double, const char*> cases[] = {
      {0.5, "0.4"},  {0.1, "0.0"},  {0.3, "0.4"},  {0.7, "0.8"},  {0.9, "0.8"},  {1.1, "1.2"}, {4.9, "4.8"},
      {2.5, "2.4"},  {3.75, "3.8"}, {4.75, "4.8"}, {0.0, "0.0"},  {5.0, "5.0"},  {1.66, "1.6"}, {2.8, "2.8"},
      {3.8, "3.8"},  {1.5, "1.6"},  {0.25, "0.2"}, {4.5, "4.4"},  {2.3, "2.4"}};
  for (const auto& [v, want] : cases) EXPECT_EQ(stsb_target(v), want) << v;
}

TEST(EvalTasks, T5Postprocessors) {
  EXPECT_DOUBLE_EQ(t5_string_to_float("3.8"), 3.8);
  EXPECT_DOUBLE_EQ(t5_string_to_float(" 4 "), 4.0);
  EXPECT_DOUBLE_EQ(t5_string_to_float("1_0.5"), 10.5);
  EXPECT_DOUBLE_EQ(t5_string_to_float("3.8 points"), -1.0);
  EXPECT_DOUBLE_EQ(t5_string_to_float("0x1p3"), -1.0);
  EXPECT_DOUBLE_EQ(t5_string_to_float(""), -1.0);
  // postprocessors.wsc_simple.
  EXPECT_EQ(wsc_simple_postprocess("Tom", "Tom"), 1);
  EXPECT_EQ(wsc_simple_postprocess("the fuzzy bunny", "bunny"), 1);
  EXPECT_EQ(wsc_simple_postprocess("The Bunny", "fuzzy bunny"), 1);
  EXPECT_EQ(wsc_simple_postprocess("Bob", "Bob's hat"), 0);
  EXPECT_EQ(wsc_simple_postprocess("Mitchell", "Tom"), 0);
  EXPECT_EQ(wsc_simple_postprocess("the", "Tom"), -1);
  EXPECT_EQ(wsc_simple_postprocess("", "Tom"), -1);
}

// ---------------------------------------------------------------- errors

TEST(EvalTasks, MalformedLinesNameFileAndLine) {
  REQUIRE_DATA();
  TempDir tmp;
  const fs::path d = tmp.path();
  const std::string rte = slurp(data_dir() + "/glue/RTE/dev.tsv");
  // Wrong column count.
  write(d / "glue/RTE/dev.tsv", replace_line(rte, 5, "4\tonly two fields"));
  expect_error([&] { find_task("glue/rte").load(d.string(), "validation"); },
               {(d / "glue/RTE/dev.tsv").string() + ":5:", "expected 4 tab-separated fields, found 2"});
  // Bad label value.
  std::string row3 = line_of(rte, 3);
  row3 = row3.substr(0, row3.rfind('\t')) + "\tmaybe";
  write(d / "glue/RTE/dev.tsv", replace_line(rte, 3, row3));
  expect_error([&] { find_task("glue/rte").load(d.string(), "validation"); },
               {"dev.tsv:3:", "bad label value 'maybe'", "entailment, not_entailment"});
  // Missing label column in a labelled split.
  write(d / "glue/RTE/dev.tsv", replace_line(rte, 1, "index\tsentence1\tsentence2\tlabel_x"));
  expect_error([&] { find_task("glue/rte").load(d.string(), "validation"); }, {"dev.tsv:2:", "missing label"});
  // STS-B score that is no number.
  const std::string stsb = slurp(data_dir() + "/glue/STS-B/dev.tsv");
  std::string srow = line_of(stsb, 4);
  srow = srow.substr(0, srow.rfind('\t')) + "\tfive";
  write(d / "glue/STS-B/dev.tsv", replace_line(stsb, 4, srow));
  expect_error([&] { find_task("stsb").load(d.string(), "validation"); }, {"dev.tsv:4:", "bad label value 'five'"});
  // Invalid UTF-8.
  write(d / "glue/STS-B/dev.tsv", replace_line(stsb, 6, "bad \xff\xfe bytes"));
  expect_error([&] { find_task("stsb").load(d.string(), "validation"); }, {"dev.tsv:6:", "invalid UTF-8"});

  const std::string cb = slurp(data_dir() + "/superglue/CB/val.jsonl");
  // Invalid JSON.
  write(d / "superglue/CB/val.jsonl", replace_line(cb, 7, "{\"premise\": \"unterminated"));
  expect_error([&] { find_task("cb").load(d.string(), "validation"); }, {"val.jsonl:7:", "invalid JSON"});
  // Missing field.
  write(d / "superglue/CB/val.jsonl", replace_line(cb, 2, "{\"hypothesis\": \"h\", \"label\": \"neutral\", \"idx\": 1}"));
  expect_error([&] { find_task("cb").load(d.string(), "validation"); }, {"val.jsonl:2:", "missing field 'premise'"});
  // Bad label.
  write(d / "superglue/CB/val.jsonl",
        replace_line(cb, 9, "{\"premise\": \"p\", \"hypothesis\": \"h\", \"label\": \"maybe\", \"idx\": 8}"));
  expect_error([&] { find_task("cb").load(d.string(), "validation"); },
               {"val.jsonl:9:", "bad label value \"maybe\"", "entailment, contradiction, neutral"});
  // A BoolQ label that is not a boolean.
  write(d / "superglue/BoolQ/val.jsonl", "{\"question\": \"q\", \"passage\": \"p\", \"idx\": 0, \"label\": \"yes\"}\n");
  expect_error([&] { find_task("boolq").load(d.string(), "validation"); },
               {"val.jsonl:1:", "bad label value \"yes\"", "true or false"});
  // MultiRC nested label.
  write(d / "superglue/MultiRC/val.jsonl",
        "{\"idx\": 0, \"passage\": {\"text\": \"t\", \"questions\": [{\"question\": \"q\", \"idx\": 0, \"answers\": "
        "[{\"text\": \"a\", \"idx\": 0, \"label\": 2}]}]}}\n");
  expect_error([&] { find_task("multirc").load(d.string(), "validation"); },
               {"val.jsonl:1:", "bad label value 2", "answers[].label"});
  // A WSC pronoun index that does not point at the pronoun (T5 asserts on it).
  write(d / "superglue/WSC/val.jsonl",
        "{\"text\": \"Mitchell asked Tom if he could lend some money.\", \"target\": {\"span2_index\": 3, "
        "\"span1_index\": 2, \"span1_text\": \"Tom\", \"span2_text\": \"he\"}, \"idx\": 0, \"label\": true}\n");
  expect_error([&] { find_task("wsc").load(d.string(), "validation"); },
               {"val.jsonl:1:", "word 3 of the text is 'if', not target.span2_text 'he'"});
}

TEST(EvalTasks, MissingFilesNameTheExpectedPath) {
  REQUIRE_DATA();
  expect_error([&] { find_task("wnli").load(data_dir(), "validation"); },
               {"glue/wnli: no file for split 'validation'", "glue/WNLI/dev.tsv"});
  expect_error([&] { find_task("record").load(data_dir(), "validation"); },
               {"superglue/record", "superglue/ReCoRD/val.jsonl"});
  expect_error([&] { find_task("boolq").load(data_dir(), "train"); }, {"superglue/BoolQ/train.jsonl"});
  expect_error([&] { find_task("rte").load(data_dir(), "validation"); }, {"ambiguous task 'rte'"});
  expect_error([&] { find_task("glue/rte").load(data_dir(), "dev"); }, {"no split 'dev'", "train, validation, test"});
}

// ---------------------------------------------------------------- ReCoRD (absent from shared/data)

TEST(EvalTasks, RecordOfficialFormat) {
  TempDir tmp;
  // Two passages in the official ReCoRD JSONL layout; "Zoë" makes byte and code-point offsets differ.
  const std::string passage = "Zoë Ball met Paris Hilton in Paris.\n@highlight\nZoë Ball said hello\n@highlight\nIt was fun!";
  // Entity offsets (code points, inclusive end): Zoë Ball 0-7, Paris Hilton 13-24, Paris 29-33, Zoë Ball 47-54.
  const std::string line1 =
      "{\"source\": \"Daily mail\", \"passage\": {\"text\": \"Zo\\u00eb Ball met Paris Hilton in Paris.\\n@highlight\\n"
      "Zo\\u00eb Ball said hello\\n@highlight\\nIt was fun!\", \"entities\": [{\"start\": 0, \"end\": 7}, {\"start\": "
      "13, \"end\": 24}, {\"start\": 29, \"end\": 33}, {\"start\": 47, \"end\": 54}]}, \"qas\": [{\"query\": "
      "\"@placeholder greeted the heiress\", \"answers\": [{\"start\": 47, \"end\": 54, \"text\": \"Zo\\u00eb Ball\"}, "
      "{\"start\": 0, \"end\": 7, \"text\": \"Zo\\u00eb Ball\"}], \"idx\": 0}, {\"query\": \"They met in "
      "@placeholder\", \"answers\": [{\"start\": 29, \"end\": 33, \"text\": \"Paris\"}], \"idx\": 1}], \"idx\": 0}";
  const std::string line2 =
      "{\"source\": \"CNN\", \"passage\": {\"text\": \"Short text\", \"entities\": [{\"start\": 6, \"end\": 9}]}, "
      "\"qas\": [{\"query\": \"A @placeholder\", \"idx\": 2}], \"idx\": 1}";
  write(tmp.path() / "superglue/ReCoRD/val.jsonl", line1 + "\n");
  const Task& t = find_task("record");
  const auto ex = t.load(tmp.path().string(), "validation");
  ASSERT_EQ(ex.size(), 2u);  // one example per query
  EXPECT_EQ(ex[0].field("passage"), passage);
  EXPECT_EQ(ex[0].entities, (std::vector<std::string>{"Paris", "Paris Hilton", "Zoë Ball"}));  // sorted, unique
  EXPECT_EQ(ex[0].answers, (std::vector<std::string>{"Zoë Ball"}));
  EXPECT_EQ(ex[0].id, "0/0");
  EXPECT_EQ(ex[1].group, "0/1");
  const Formatted f = t.format(ex[0], Verbalizer::t5);
  EXPECT_EQ(f.input, "record query: @placeholder greeted the heiress entities: Paris, Paris Hilton, Zoë Ball passage: "
                     "Zoë Ball met Paris Hilton in Paris. Zoë Ball said hello. It was fun!");
  EXPECT_EQ(f.target, "Zoë Ball");
  EXPECT_EQ(f.candidates, ex[0].entities);
  EXPECT_EQ(t.format(ex[1], Verbalizer::t5).target, "Paris");
  // An unanswered query outside the test split is an error.
  write(tmp.path() / "superglue/ReCoRD/val.jsonl", line1 + "\n" + line2 + "\n");
  expect_error([&] { t.load(tmp.path().string(), "validation"); }, {"val.jsonl:2:", "missing label"});
}

TEST(EvalTasks, RecordOfficialFormatLoads) {
  TempDir tmp;
  write(tmp.path() / "superglue/ReCoRD/test.jsonl",
        "{\"passage\": {\"text\": \"Short text\", \"entities\": [{\"start\": 6, \"end\": 9}]}, \"qas\": "
        "[{\"query\": \"A @placeholder\", \"idx\": 2}], \"idx\": 1}\n");
  const auto ex = find_task("record").load(tmp.path().string(), "test");
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].entities, (std::vector<std::string>{"text"}));
  EXPECT_FALSE(ex[0].has_label());
  EXPECT_EQ(find_task("record").format(ex[0], Verbalizer::t5).target, "<unk>");
  // An entity span past the end of the passage.
  write(tmp.path() / "superglue/ReCoRD/test.jsonl",
        "{\"passage\": {\"text\": \"Short\", \"entities\": [{\"start\": 2, \"end\": 9}]}, \"qas\": [], \"idx\": 1}\n");
  expect_error([&] { find_task("record").load(tmp.path().string(), "test"); },
               {"test.jsonl:1:", "span [2, 9] outside the passage (5 characters)"});
}

// ---------------------------------------------------------------- user tasks

TEST(EvalTasks, UserTaskJsonl) {
  TempDir tmp;
  write(tmp.path() / "data/train.jsonl",
        "{\"text\": \"great film\", \"label\": \"positive\"}\n{\"text\": \"dull\", \"label\": 0}\n"
        "\n{\"text\": \"fine\", \"label\": true}\n");
  write(tmp.path() / "data/test.jsonl", "{\"text\": \"unknown\"}\n");
  write(tmp.path() / "spec.json",
        "{\"name\": \"my_sentiment\", \"format\": \"jsonl\", \"splits\": {\"train\": \"data/train.jsonl\", \"test\": "
        "\"data/test.jsonl\"}, \"labels\": [\"negative\", \"positive\"], \"natural\": {\"template\": \"Review: "
        "{text}\\nSentiment:\"}}");
  const auto t = resolve_task((tmp.path() / "spec.json").string());
  EXPECT_EQ(t->name(), "my_sentiment");
  EXPECT_EQ(t->benchmark(), "user");
  const auto ex = t->load("", "train");
  ASSERT_EQ(ex.size(), 3u);
  EXPECT_EQ(ex[0].label, 1);
  EXPECT_EQ(ex[1].label, 0);
  EXPECT_EQ(ex[2].label, 1);
  EXPECT_EQ(ex[2].line, 4);
  EXPECT_EQ(t->format(ex[0], Verbalizer::t5).input, "my_sentiment text: great film");
  EXPECT_EQ(t->format(ex[0], Verbalizer::t5).target, "positive");
  EXPECT_EQ(t->format(ex[0], Verbalizer::natural).input, "Review: great film\nSentiment:");
  EXPECT_EQ(t->format(ex[0], Verbalizer::natural).candidates, (std::vector<std::string>{" negative", " positive"}));
  EXPECT_EQ(t->load("", "test")[0].label, -1);
  // A bad label names the file and line.
  write(tmp.path() / "data/train.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"label\": 5}\n");
  expect_error([&] { t->load("", "train"); },
               {"train.jsonl:2:", "bad label value 5 in field 'label'", "negative, positive"});
  write(tmp.path() / "data/train.jsonl", "{\"label\": 1}\n");
  expect_error([&] { t->load("", "train"); }, {"train.jsonl:1:", "missing field 'text'"});
}

// `const Task& t = *resolve_task("spec.json");` left `t` referring to a user task freed at the end of
// the statement (`spot eval --task spec.json` crashed). A temporary handle cannot be dereferenced:
// that shape no longer compiles, while a kept handle works as before.
template <class T>
concept Dereferenceable = requires(T&& h) { *static_cast<T&&>(h); };
template <class T>
concept ArrowAccessible = requires(T&& h) { static_cast<T&&>(h).operator->(); };
static_assert(Dereferenceable<const TaskHandle&>);
static_assert(ArrowAccessible<const TaskHandle&>);
static_assert(!Dereferenceable<TaskHandle>, "*resolve_task(x) would dangle for a user task");
static_assert(!Dereferenceable<const TaskHandle&&>);
static_assert(!ArrowAccessible<TaskHandle>);

TEST(EvalTasks, UserTaskOutlivesTheStatementThatResolvedIt) {
  TempDir tmp;
  write(tmp.path() / "dev.jsonl", "{\"text\": \"a fine film\", \"label\": \"positive\"}\n");
  write(tmp.path() / "spec.json",
        "{\"name\": \"mini\", \"format\": \"jsonl\", \"splits\": {\"validation\": \"dev.jsonl\"}, "
        "\"labels\": [\"negative\", \"positive\"]}");
  const TaskHandle handle = resolve_task((tmp.path() / "spec.json").string());
  const Task& task = *handle;
  std::vector<std::string> filler(1000, std::string(64, 'x'));  // reuse freed memory if the task were gone
  EXPECT_EQ(task.name(), "mini");
  EXPECT_EQ(task.load("", "validation").at(0).label, 1);
  // A registered task through a handle is the registry's own object.
  const TaskHandle rte = resolve_task("glue/rte");
  EXPECT_EQ(rte.get(), &find_task("glue/rte"));
}

// Found by fuzz_user_task: a split file name longer than the file system allows threw
// std::filesystem::filesystem_error instead of the usual error naming the split.
TEST(EvalTasks, UserTaskSplitNameTooLongIsAMissingFile) {
  TempDir tmp;
  write(tmp.path() / "spec.json", "{\"name\": \"x\", \"format\": \"jsonl\", \"splits\": {\"validation\": \"" +
                                      std::string(300, 'a') + ".jsonl\"}, \"labels\": [\"a\", \"b\"]}");
  const TaskHandle t = resolve_task((tmp.path() / "spec.json").string());
  expect_error([&] { t->load("", "validation"); }, {"no file for split 'validation'"});
}

// A user task names its own files: it needs no data directory (a fresh install has none).
TEST(EvalTasks, UserTasksNeedNoDataDirectory) {
  TempDir tmp;
  write(tmp.path() / "dev.jsonl", "{\"text\": \"fine\", \"label\": 1}\n");
  write(tmp.path() / "spec.json", "{\"name\": \"x\", \"format\": \"jsonl\", \"splits\": {\"validation\": "
                                      "\"dev.jsonl\"}, \"labels\": [\"a\", \"b\"]}");
  const TaskHandle user = resolve_task((tmp.path() / "spec.json").string());
  EXPECT_EQ(data_dir_for(*user), "");
  EXPECT_EQ(user->load(data_dir_for(*user), "validation").size(), 1u);
  EXPECT_EQ(data_dir_for(find_task("glue/rte"), tmp.path().string()), tmp.path().string());  // built-in: --data
  expect_error([] { data_dir_for(find_task("glue/rte"), std::string("/nonexistent/spot/data")); }, {"--data"});
}

TEST(EvalTasks, UserTaskTsvWithNamedFields) {
  TempDir tmp;
  write(tmp.path() / "dev.tsv", "id\tq\tdoc\tanswer\n1\tWho?\tNobody knows.\tno\n2\tWhy?\t\"Because\" of it.\tyes\n");
  write(tmp.path() / "spec.json",
        "{\"name\": \"qa_pairs\", \"format\": \"tsv\", \"splits\": {\"validation\": \"dev.tsv\"}, \"text_fields\": "
        "[\"q\", \"doc\"], \"label_field\": \"answer\", \"labels\": [\"no\", \"yes\"], \"prefix\": \"qa\"}");
  const auto t = load_user_task((tmp.path() / "spec.json").string());
  const auto ex = t->load("", "validation");
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_EQ(t->format(ex[1], Verbalizer::t5).input, "qa q: Why? doc: \"Because\" of it.");
  EXPECT_EQ(ex[1].label, 1);
  EXPECT_EQ(t->format(ex[0], Verbalizer::natural).input, "q: Who?\ndoc: Nobody knows.\nAnswer:");
  write(tmp.path() / "dev.tsv", "id\tq\tdoc\tanswer\n1\tWho?\tNobody knows.\n");
  expect_error([&] { t->load("", "validation"); }, {"dev.tsv:2:", "expected 4 tab-separated fields, found 3"});
}

TEST(EvalTasks, UserTaskSpecErrors) {
  TempDir tmp;
  const auto spec = (tmp.path() / "spec.json").string();
  write(spec, "{\"name\": \"x\", \"format\": \"jsonl\", \"splits\": {\"train\": \"t.jsonl\"}}");
  expect_error([&] { load_user_task(spec); }, {"spec.json", "missing 'labels'"});
  write(spec, "{\"name\": \"x\", \"format\": \"csv\", \"splits\": {\"train\": \"t\"}, \"labels\": [\"a\"]}");
  expect_error([&] { load_user_task(spec); }, {"'format' must be jsonl or tsv"});
  write(spec, "{\"name\": \"x\", \"format\": \"jsonl\", \"splits\": {\"train\": \"t\"}, \"labels\": [\"a\"], "
              "\"lables\": []}");
  expect_error([&] { load_user_task(spec); }, {"unknown task spec field 'lables'"});
  write(spec, "{\"name\": \"x\", \"format\": \"jsonl\", \"splits\": {\"train\": \"t\"}, \"labels\": [\"a\"], "
              "\"natural\": {\"template\": \"{sentence}\"}}");
  expect_error([&] { load_user_task(spec); }, {"uses {sentence}", "text_fields (text)"});
  write(spec, "{\"name\": \"x\", \"format\": ");
  expect_error([&] { load_user_task(spec); }, {"spec.json: invalid JSON"});
}

// ---------------------------------------------------------------- registry and data directory

TEST(EvalTasks, FindTaskAliases) {
  EXPECT_EQ(find_task("SST-2").name(), "glue/sst2");
  EXPECT_EQ(find_task("sts-b").name(), "glue/stsb");
  EXPECT_EQ(find_task("glue_mnli_matched_v002").name(), "glue/mnli_matched");
  EXPECT_EQ(find_task("super_glue_wic_v102").name(), "superglue/wic");
  EXPECT_EQ(find_task("SuperGLUE/RTE").name(), "superglue/rte");
  expect_error([] { find_task("rte"); }, {"ambiguous task 'rte'", "glue/rte", "superglue/rte"});
  expect_error([] { find_task("nosuchtask"); }, {"unknown task 'nosuchtask'", "glue/cola"});
  EXPECT_EQ(builtin_tasks().size(), 19u + 12u);  // GLUE + SuperGLUE, then the spot/* source tasks
}

TEST(EvalTasks, DataDirResolution) {
  TempDir tmp;
  EXPECT_EQ(io::resolve_data_dir(tmp.path().string()), tmp.path().string());
  expect_error([] { io::resolve_data_dir(std::string("/nonexistent/spot/data")); }, {"/nonexistent/spot/data", "--data"});
  const char* old = std::getenv("SPOT_DATA");
  const std::string saved = old ? old : "";
  ::setenv("SPOT_DATA", tmp.path().c_str(), 1);
  EXPECT_EQ(io::resolve_data_dir(), tmp.path().string());
  ::setenv("SPOT_DATA", "/nonexistent/env/data", 1);
  expect_error([] { io::resolve_data_dir(); }, {"$SPOT_DATA"});
  // Without --data and $SPOT_DATA: ../shared/data from the working directory, ./data, then
  // shared/data beside a folder above the executable (this test binary sits in <checkout>/build/tests).
  ::unsetenv("SPOT_DATA");
  const fs::path cwd = fs::current_path();
  fs::create_directories(tmp.path() / "work" / "data");
  fs::current_path(tmp.path() / "work");
  EXPECT_EQ(io::resolve_data_dir(), "data");
  EXPECT_EQ(io::data_dir_for_writing(), "data");
  fs::create_directories(tmp.path() / "shared" / "data");
  EXPECT_EQ(io::resolve_data_dir(), "../shared/data");  // the checkout layout wins over ./data
  EXPECT_EQ(io::data_dir_for_writing(), "../shared/data");
  EXPECT_EQ(io::data_dir_for_writing(std::string("elsewhere")), "elsewhere");
  fs::current_path(cwd);
  if (old) ::setenv("SPOT_DATA", saved.c_str(), 1);
}

// ---------------------------------------------------------------- the CLI

// Runs the spot binary with `args`; returns (exit status, stdout + stderr).
std::pair<int, std::string> run_spot(const std::string& args) {
  const std::string cmd = std::string(SPOT_SPOT_BINARY) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  EXPECT_NE(p, nullptr) << cmd;
  std::string out;
  char buf[4096];
  size_t n = 0;
  while (p && (n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = p ? ::pclose(p) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(EvalTasks, CliTasksAndTaskShow) {
  REQUIRE_DATA();
  auto [rc, out] = run_spot("tasks --data " + data_dir());
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("glue/rte"), std::string::npos) << out;
  EXPECT_NE(out.find("train=2490 validation=277 test=3000"), std::string::npos) << out;
  EXPECT_NE(out.find("validation=1000 [dev.1k-subset.tsv]"), std::string::npos) << out;
  EXPECT_NE(out.find("glue/wnli"), std::string::npos) << out;
  std::tie(rc, out) = run_spot("task show glue/rte -n 2 --data " + data_dir());
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("input:      rte sentence1: Dana Reeve"), std::string::npos) << out;
  EXPECT_NE(out.find("[1] id 1 (line 3)"), std::string::npos) << out;
  EXPECT_EQ(out.find("[2]"), std::string::npos) << out;
  std::tie(rc, out) = run_spot("task show superglue/copa --split train -n 1 --verbalizer natural --data " + data_dir());
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("candidates: "), std::string::npos) << out;
  std::tie(rc, out) = run_spot("task show nosuchtask --data " + data_dir());
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("unknown task 'nosuchtask'"), std::string::npos) << out;
  std::tie(rc, out) = run_spot("task show wnli --data " + data_dir());
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("glue/WNLI/dev.tsv"), std::string::npos) << out;
}

}  // namespace
}  // namespace spot::eval
