// test_source_tasks.cpp — SPoT's source tasks (eval/source_tasks.h) on the real files in
// shared/data/spot_source: row counts and label counts against shared/data/MANIFEST.md, every
// formatted example of a split against a digest computed by an independent Python implementation
// (tests/golden/gen_source_task_digests.py: json / csv modules, pyarrow, T5's padding regexes), the
// first example spelled out; malformed-input errors with file:line (or JSON path); the strict CSV
// reader; the Arrow IPC stream reader on pyarrow-written fixtures (tests/golden/arrow) and on
// corrupted bytes; readers for the official formats of the tasks absent from shared/data (small
// files written here); multiple-choice tasks ranked in generate mode; the registry.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include <unistd.h>

#include "eval/csv.h"
#include "eval/evaluate.h"
#include "eval/source_tasks.h"
#include "eval/tasks.h"
#include "base/check.h"
#include "io/arrow_ipc.h"
#include "io/download.h"
#include "tests/expect_error.h"
#include "tests/test_data.h"

namespace spot::eval {
namespace {

namespace fs = std::filesystem;

std::string data_dir() { return test::shared_data_dir(); }
std::string source_dir() { return data_dir() + "/spot_source"; }
std::string arrow_fixture(const std::string& name) {
  return std::string(SPOT_SOURCE_DIR) + "/tests/golden/arrow/" + name;
}

#define REQUIRE_SOURCE_DATA()                                                                      \
  if (!fs::is_directory(source_dir()))                                                             \
  GTEST_SKIP() << "SKIPPED (not verified): shared data directory " << source_dir() << " is absent"

void write(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream f(path, std::ios::binary);
  f << content;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class TempDir {
 public:
  TempDir() {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() / ("spot_src_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

using test::expect_error;

// sha256 over "input \x1f target \x1f candidates joined by \x1e \n" of every example, as the
// Python generator computes it.
std::string digest(const Task& t, const std::vector<Example>& examples) {
  std::string all;
  for (const Example& ex : examples) {
    const Formatted f = t.format(ex, Verbalizer::t5);
    all += f.input + "\x1f" + f.target + "\x1f";
    for (size_t c = 0; c < f.candidates.size(); ++c) all += (c ? "\x1e" : "") + f.candidates[c];
    all += "\n";
  }
  return io::sha256_hex(all.data(), all.size());
}

std::map<int, int> label_counts(const std::vector<Example>& ex) {
  std::map<int, int> m;
  for (const auto& e : ex) ++m[e.label];
  return m;
}

// ---------------------------------------------------------------- real files

struct DigestCase {
  std::string task, split;
  size_t rows;
  std::map<int, int> labels;  // empty: not a classification
  std::string sha256;
};

TEST(SourceTasks, RealFilesMatchManifestAndPythonReference) {
  REQUIRE_SOURCE_DATA();
  // Row counts: MANIFEST.md (RACE: questions per directory; SNLI / CosmosQA / WinoGrande label
  // counts as listed there). Digests: tests/golden/gen_source_task_digests.py.
  const std::vector<DigestCase> cases = {
      {"spot/squad", "validation", 10570, {}, "de38665b9bd741425e190bbd8d24ae756ae307219c01be51fb0deb1c4cf6e0bf"},
      {"spot/cosmosqa", "validation", 2985, {{0, 744}, {1, 729}, {2, 761}, {3, 751}},
       "d2554e8f97ab5bf900f39745d4f58ca3ee41244ff2c94c0cc32974ee733e256d"},
      {"spot/race", "validation", 3451 + 1436, {{0, 1067}, {1, 1291}, {2, 1303}, {3, 1226}},
       "76f88dff9167bd7fbc44d31f93335b1c22605b1bdf6d9026e75fd08e06bbf4bf"},
      {"spot/race", "train", 10324 + 4099, {{0, 3197}, {1, 3677}, {2, 3968}, {3, 3581}},
       "9cc435d0021f3ec3b6adcd7fd81447545b50b7029c380b82d7317379d182fb62"},
      {"spot/winogrande", "train", 40398, {{0, 20199}, {1, 20199}},
       "ae2b781e7876389491b9735f1b6420dccff80eb8e6e03764a90895feaea20b6f"},
      {"spot/winogrande", "validation", 1267, {{0, 628}, {1, 639}},
       "c6b93c6478c1aa213b10d25861e024c9708b9e20c01f525c8b6226af17a90b49"},
      {"spot/snli", "train", 15203, {{0, 5063}, {1, 5063}, {2, 5077}},
       "f8d13f7f2a0fd7ec2b3fc40617bfbd357c48bd49475c4d7ab73eac234e828fd9"},
      {"spot/snli", "test", 1000, {{0, 347}, {1, 312}, {2, 341}},
       "b5ad627c0a3159180b6e4e1daac368f1c54d2fed5194d7bea7e2649ab8d8b7bf"},
      {"spot/cr", "train", 3053, {{0, 1115}, {1, 1938}}, "c879d1a21eb095bcaf417dc0f463050b83da1de1421a7cda5353df5a5aa84710"},
      {"spot/cr", "validation", 353, {{0, 129}, {1, 224}}, "732bffbbecfd17d1dd91754d325c54e58d966f9aa6d4da15fac66e4f0b53e47b"},
      {"spot/cr", "test", 365, {{0, 122}, {1, 243}}, "0d1f08a8b52614e127afaea1ccfcf232a1e66e5045905979cc5a347630e423d5"},
  };
  for (const auto& c : cases) {
    const Task& t = find_task(c.task);
    const std::vector<Example> ex = t.load(data_dir(), c.split);
    EXPECT_EQ(ex.size(), c.rows) << c.task << " " << c.split;
    if (!c.labels.empty()) EXPECT_EQ(label_counts(ex), c.labels) << c.task << " " << c.split;
    EXPECT_EQ(digest(t, ex), c.sha256) << c.task << " " << c.split;
  }
  // CR: 1366 negative + 2405 positive sentences (the files' 1368 / 2407 lines less 2 empty each).
  const Task& cr = find_task("spot/cr");
  EXPECT_EQ(cr.read_file(source_dir() + "/CR").size(), 3771u);
  // SQuAD dev: 48 articles; every question has at least one answer.
  const auto squad = find_task("squad").load(data_dir(), "validation");
  for (const auto& e : squad) ASSERT_FALSE(e.answers.empty()) << e.id;
}

TEST(SourceTasks, FirstFormattedExamples) {
  REQUIRE_SOURCE_DATA();
  {
    const Task& t = find_task("spot/squad");
    const Formatted f = t.format(t.load(data_dir(), "validation")[0], Verbalizer::t5);
    EXPECT_EQ(f.input.rfind("question: Which NFL team represented the AFC at Super Bowl 50 ? context: Super Bowl 50 was "
                            "an American football game to determine the champion of the National Football League ( NFL ) "
                            "for the 2015 season . The",
                            0),
              0u);
    EXPECT_NE(f.input.find(" 24 \xE2\x80\x93 10 "), std::string::npos);  // "24–10": the en dash padded too
    EXPECT_EQ(f.target, "Denver Broncos");
    EXPECT_EQ(f.references, (std::vector<std::string>{"Denver Broncos", "Denver Broncos", "Denver Broncos"}));
  }
  {
    const Task& t = find_task("spot/winogrande");
    const auto ex = t.load(data_dir(), "validation");
    const Formatted f = t.format(ex[0], Verbalizer::t5);
    EXPECT_EQ(f.input,
              "winogrande sentence: Sarah was a much better surgeon than Maria so _ always got the easier cases. "
              "option1: Sarah option2: Maria");
    EXPECT_EQ(f.target, "Maria");
    EXPECT_EQ(f.candidates, (std::vector<std::string>{"Sarah", "Maria"}));
    EXPECT_EQ(ex[0].id, "3FCO4VKOZ4BJQ6IFC0VAIBK4KTWE7U-2");
    // The Arrow train_xl split holds every train_l row (MANIFEST: checked with the JS reader).
    const auto xl = t.load(data_dir(), "train");
    const auto l = t.load(data_dir(), "train_l");
    std::map<std::string, int> xl_rows;
    for (const auto& e : xl) ++xl_rows[e.field("sentence") + "|" + e.field("option1") + "|" + e.field("option2") + "|" +
                                       std::to_string(e.label)];
    size_t found = 0;
    for (const auto& e : l)
      found += xl_rows.count(e.field("sentence") + "|" + e.field("option1") + "|" + e.field("option2") + "|" +
                             std::to_string(e.label));
    EXPECT_EQ(found, l.size());
    EXPECT_EQ(t.load(data_dir(), "test")[0].label, -1);  // test.jsonl has no answers
  }
  {
    const Task& t = find_task("spot/race");
    const auto ex = t.load(data_dir(), "validation");
    EXPECT_EQ(ex[0].id, "high/63.txt/0");  // high before middle, files in numeric order: 63.txt is the first
    const Formatted f = t.format(ex[0], Verbalizer::t5);
    EXPECT_EQ(f.input.rfind("race question: Researchers did experiments on kids in order to find out   _  . A: how "
                            "they really feel when they are learning B: whether mood affects their learning ability C: ",
                            0),
              0u);
    EXPECT_EQ(f.target, "whether mood affects their learning ability");
    EXPECT_EQ(f.candidates.size(), 4u);
    EXPECT_TRUE(t.always_rank());
  }
  {
    const Task& t = find_task("spot/cosmosqa");
    const Formatted f = t.format(t.load(data_dir(), "validation")[0], Verbalizer::t5);
    EXPECT_EQ(f.input.rfind("cosmosqa context: Do i need to go for a legal divorce ? I wanted to marry a woman", 0), 0u);
    EXPECT_NE(f.input.find(" question: Why is this person asking about divorce ? answer0: If he gets married in the "
                           "church he wo nt have to get a divorce . answer1: He wants to get married to a different "
                           "person . answer2: "),
              std::string::npos);
    EXPECT_EQ(f.target, "He wants to get married to a different person .");
  }
  {
    const Task& t = find_task("spot/snli");
    const auto ex = t.load(data_dir(), "train");
    const Formatted f = t.format(ex[0], Verbalizer::t5);
    EXPECT_EQ(f.input.rfind("snli hypothesis: A boy flips a burger. premise: An older man sits with his orange juice", 0), 0u);
    EXPECT_EQ(f.target, "contradiction");
    EXPECT_EQ(ex[0].id, "4804607632.jpg#0r1c");
  }
  {
    const Task& t = find_task("spot/cr");
    const auto ex = t.load(data_dir(), "validation");
    EXPECT_EQ(t.format(ex[0], Verbalizer::t5).input,
              "cr sentence: player has a problem with dual-layer dvd 's such as alias season 1 and season 2 .");
    EXPECT_EQ(cr_split_of(ex[0].field("sentence")), "validation");
    const Formatted n = t.format(ex[0], Verbalizer::natural);
    EXPECT_EQ(n.candidates, (std::vector<std::string>{" negative", " positive"}));
  }
}

// ---------------------------------------------------------------- T5 pieces

TEST(SourceTasks, T5PadPunctuation) {
  EXPECT_EQ(t5_pad_punctuation("U.S. (1990)"), "U . S . ( 1990 ) ");
  EXPECT_EQ(t5_pad_punctuation("Denver Broncos"), "Denver Broncos");
  EXPECT_EQ(t5_pad_punctuation("snake_case x\t\ty"), "snake_case x y");
  EXPECT_EQ(t5_pad_punctuation("caf\xC3\xA9"), "caf \xC3\xA9 ");          // RE2's \w is ASCII only
  EXPECT_EQ(t5_pad_punctuation("a\xC2\xA0" "b"), "a \xC2\xA0 b");          // NBSP is \W, not \s
  EXPECT_EQ(t5_pad_punctuation("  lead"), " lead");
}

TEST(SourceTasks, CrSplitIsStableAndNearEightyTenTen) {
  EXPECT_EQ(cr_split_of("a sentence"), cr_split_of("a sentence"));
  std::map<std::string, int> n;
  for (int i = 0; i < 10000; ++i) ++n[cr_split_of("sentence " + std::to_string(i))];
  EXPECT_NEAR(n["train"], 8000, 300);
  EXPECT_NEAR(n["validation"], 1000, 150);
  EXPECT_NEAR(n["test"], 1000, 150);
}

// ---------------------------------------------------------------- malformed input

TEST(SourceTasks, MalformedInputErrorsNameFileAndPlace) {
  TempDir tmp;
  const Task& cosmos = find_task("spot/cosmosqa");
  const std::string header = "id,context,question,answer0,answer1,answer2,answer3,label\r\n";
  write(tmp / "c1.csv", header + "a,ctx,q,\"x,1\",y,z,w,1\r\nb,ctx,q,x,y,z,w,7\r\n");
  expect_error([&] { cosmos.read_file(tmp / "c1.csv"); }, {"c1.csv:3: bad label value '7'"});
  write(tmp / "c2.csv", header + "a,ctx,q,x,y,z,1\r\n");
  expect_error([&] { cosmos.read_file(tmp / "c2.csv"); }, {"c2.csv:2: expected 8 comma-separated fields, found 7"});
  write(tmp / "c3.csv", header + "a,\"ctx never closed,q,x,y,z,w,1\r\n");
  expect_error([&] { cosmos.read_file(tmp / "c3.csv"); }, {"c3.csv:2: quoted field never closed"});
  write(tmp / "c4.csv", "id,context,question,answer0,answer1,answer2,label\r\n");
  expect_error([&] { cosmos.read_file(tmp / "c4.csv"); }, {"c4.csv:1: header has no column 'answer3'"});
  {
    write(tmp / "c5.csv", header + "a,\"ctx, \"\"quoted\"\"\",q,x,y,z,w,2\r\n");
    const auto ok = cosmos.read_file(tmp / "c5.csv");
    ASSERT_EQ(ok.size(), 1u);
    EXPECT_EQ(ok[0].field("context"), "ctx, \"quoted\"");
    EXPECT_EQ(ok[0].label, 2);
  }

  const Task& wino = find_task("spot/winogrande");
  write(tmp / "w.jsonl", "{\"qID\": \"q1\", \"sentence\": \"_ won.\", \"option1\": \"A\", \"option2\": \"B\", \"answer\": \"3\"}\n");
  expect_error([&] { wino.read_file(tmp / "w.jsonl"); }, {"w.jsonl", "line 1", "bad answer '3'"});
  write(tmp / "w2.jsonl", "{\"qID\": \"q1\", \"sentence\": \"_ won.\", \"option1\": \"A\"}\n{\"qID\": ");
  expect_error([&] { wino.read_file(tmp / "w2.jsonl"); }, {"w2.jsonl:1: missing field 'option2'"});

  const Task& snli = find_task("spot/snli");
  const std::string snli_header = "index\tcaptionID\tpairID\ts1bp\ts2bp\ts1p\ts2p\tsentence1\tsentence2\tlabel1\tgold_label\n";
  write(tmp / "s.tsv", snli_header + "0\tc\tp0\tb\tb\tp\tp\tA man.\tA person.\tentailment\tentailment\n" +
                           "1\tc\tp1\tb\tb\tp\tp\tA man.\tNobody.\tneutral\tcontradiction\tneutral\tneutral\tneutral\n" +
                           "2\tc\tp2\tb\tb\tp\tp\tA man.\tA cat.\tneutral\tcontradiction\t-\n" +
                           "3\tc\tp3\tb\tb\tp\tp\tA man.\tA dog.\n");
  expect_error([&] { snli.read_file(tmp / "s.tsv"); }, {"s.tsv:5: expected 11 to 15 tab-separated fields", "found 9"});
  write(tmp / "s.tsv", snli_header + "0\tc\tp0\tb\tb\tp\tp\tA man.\tA person.\tentailment\tentailment\n" +
                           "1\tc\tp1\tb\tb\tp\tp\tA man.\tNobody.\tneutral\tcontradiction\tneutral\tneutral\tneutral\n" +
                           "2\tc\tp2\tb\tb\tp\tp\tA man.\tA cat.\tneutral\tcontradiction\t-\n");
  {
    const auto rows = snli.read_file(tmp / "s.tsv");  // the "-" row (no gold label) is skipped
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[1].label, 1);  // gold_label is the last of the ragged row: neutral
    EXPECT_EQ(rows[1].id, "p1");
  }
  write(tmp / "s.tsv", snli_header + "0\tc\tp0\tb\tb\tp\tp\tA man.\tA person.\tentailment\tmaybe\n");
  expect_error([&] { snli.read_file(tmp / "s.tsv"); }, {"s.tsv:2: bad gold_label 'maybe'"});
  // Found by fuzz_dataset_readers: a column read by position after the ragged label1 read past the
  // end of a short row (UBSan); such a header is refused.
  write(tmp / "s.tsv", "\tsentence1\tsentence2\tlabel1\t\tpairID\n\t\t\t\tneutral\n");
  expect_error([&] { snli.read_file(tmp / "s.tsv"); }, {"s.tsv:1:", "must come before label1"});

  const Task& squad = find_task("spot/squad");
  write(tmp / "q.json", R"({"data": [{"title": "T", "paragraphs": [{"context": "C.", "qas": [{"id": "1", "answers": []}]}]}]})");
  expect_error([&] { squad.read_file(tmp / "q.json"); }, {"q.json: data[0].paragraphs[0].qas[0].question: missing field"});
  write(tmp / "q.json", R"({"data": [{"title": "T", "paragraphs": [{"context": "C.", "qas": [{"id": "1", "question": "Q?", "answers": [{"text": 5}]}]}]}]})");
  expect_error([&] { squad.read_file(tmp / "q.json"); }, {"qas[0].answers[0].text: expected a string"});
  write(tmp / "q.json", R"({"data": [)");
  expect_error([&] { squad.read_file(tmp / "q.json"); }, {"q.json: invalid JSON"});

  const Task& race = find_task("spot/race");
  write(tmp / "race/high/1.txt", R"({"answers": ["E"], "options": [["a","b","c","d"]], "questions": ["q"], "article": "x", "id": "high1.txt"})");
  expect_error([&] { race.read_file(tmp / "race"); }, {"1.txt: answers[0]: bad answer \"E\""});
  write(tmp / "race/high/1.txt", R"({"answers": ["A"], "options": [["a","b","c"]], "questions": ["q"], "article": "x", "id": "high1.txt"})");
  expect_error([&] { race.read_file(tmp / "race"); }, {"1.txt: options[0]: expected an array of 4 options"});
  write(tmp / "race/high/1.txt", R"({"answers": ["A", "B"], "options": [["a","b","c","d"]], "questions": ["q"], "article": "x", "id": "h"})");
  expect_error([&] { race.read_file(tmp / "race"); }, {"1 questions, 1 option lists and 2 answers"});

  const Task& cr = find_task("spot/cr");
  write(tmp / "cr/custrev.neg", "bad .\n");
  expect_error([&] { cr.read_file(tmp / "cr"); }, {"missing custrev.pos"});
  write(tmp / "cr/custrev.pos", "good .\n\xff\n");
  expect_error([&] { cr.read_file(tmp / "cr"); }, {"custrev.pos:2: invalid UTF-8"});
  expect_error([&] { cr.load(tmp.path().string(), "dev"); }, {"spot/cr: no split 'dev'"});
}

TEST(SourceTasks, AbsentFilesAndTasksWithoutReaderNameTheExpectedFile) {
  TempDir tmp;
  expect_error([&] { find_task("spot/hellaswag").load(tmp.path().string(), "train"); },
               {"spot/hellaswag: no file for split 'train'", "spot_source/HellaSwag/hellaswag_train.jsonl"});
  expect_error([&] { find_task("spot/squad").load(tmp.path().string(), "train"); },
               {"spot_source/SQuAD/train-v1.1.json"});
  expect_error([&] { find_task("spot/c4").load(tmp.path().string(), "train"); },
               {"spot/c4: cannot load split 'train'", "spot_source/C4/c4-train.00000-of-01024.json.gz", "prefix-LM"});
  expect_error([&] { find_task("spot/cxc").load(data_dir(), "validation"); },
               {"spot/cxc", "spot_source/CxC/sts_val.csv", "COCO"});
  write(tmp / "spot_source/CxC/sts_train.csv", "x\n");  // present, still no reader
  expect_error([&] { find_task("spot/cxc").load(tmp.path().string(), "train"); }, {"spot/cxc", "not implemented"});
}

// ---------------------------------------------------------------- CSV reader

TEST(SourceTasks, CsvReaderFollowsRfc4180Strictly) {
  auto p = [](const std::string& s) { return parse_csv(s, "t.csv"); };
  {
    const auto r = p("\xEF\xBB\xBFh1,h2\r\n\"a,b\",\"say \"\"hi\"\"\"\r\n\r\nx,\"two\r\nlines\"\nlast,\n");
    ASSERT_EQ(r.size(), 4u);
    EXPECT_EQ(r[0].fields, (std::vector<std::string>{"h1", "h2"}));
    EXPECT_EQ(r[1].fields, (std::vector<std::string>{"a,b", "say \"hi\""}));
    EXPECT_EQ(r[2].line, 4);  // line 3 is empty
    EXPECT_EQ(r[2].fields, (std::vector<std::string>{"x", "two\r\nlines"}));
    EXPECT_EQ(r[3].line, 6);
    EXPECT_EQ(r[3].fields, (std::vector<std::string>{"last", ""}));
  }
  EXPECT_EQ(p("a,b").at(0).fields, (std::vector<std::string>{"a", "b"}));  // no final newline
  EXPECT_EQ(p("a\rb\r").size(), 2u);                                         // lone CR ends a line, as in Python
  EXPECT_EQ(p(",\n").at(0).fields, (std::vector<std::string>{"", ""}));
  EXPECT_EQ(p("\"\"\n").at(0).fields, (std::vector<std::string>{""}));
  expect_error([&] { p("a,b\"c\n"); }, {"t.csv:1: '\"' inside an unquoted field"});
  expect_error([&] { p("x\n\"ab\"c,d\n"); }, {"t.csv:2: text after the closing quote"});
  expect_error([&] { p("x\n\"open\n\n"); }, {"t.csv:2: quoted field never closed"});
  expect_error([&] { p("ok\n\xc3\x28\n"); }, {"t.csv: invalid UTF-8"});
}

// ---------------------------------------------------------------- Arrow IPC stream reader

TEST(SourceTasks, ArrowStreamReaderOnPyarrowFixtures) {
  for (const std::string name : {"two_batches.arrow", "legacy_format.arrow"}) {
    io::ArrowStreamInfo info;
    const auto cols = io::read_arrow_stream_strings(arrow_fixture(name), {"b", "a"}, &info);
    ASSERT_EQ(cols.size(), 2u);
    EXPECT_EQ(cols[0], (std::vector<std::string>{"x", "yy", "zzz", "w", ""})) << name;  // large_utf8
    EXPECT_EQ(cols[1], (std::vector<std::string>{"alpha", "", "caf\xC3\xA9 \xE2\x80\x93 \xE4\xB8\xAD", "delta", "epsilon"}))
        << name;
    EXPECT_EQ(info.num_rows, 5);
    EXPECT_EQ(info.num_batches, 2);
    EXPECT_EQ(info.field_names, (std::vector<std::string>{"a", "n", "b", "l", "s"}));
    EXPECT_EQ(info.field_types, (std::vector<std::string>{"utf8", "int", "large_utf8", "list", "struct"}));
    EXPECT_EQ(info.schema_metadata_json, "{\"info\": {\"features\": {\"a\": {\"dtype\": \"string\"}}}}");
  }
  io::ArrowStreamInfo info;
  EXPECT_TRUE(io::read_arrow_stream_strings(arrow_fixture("empty.arrow"), {"a"}, &info)[0].empty());
  EXPECT_EQ(info.num_batches, 1);
  expect_error([] { io::read_arrow_stream_strings(arrow_fixture("with_null.arrow"), {"a"}); },
               {"with_null.arrow: column 'a' is null at row 1"});
  expect_error([] { io::read_arrow_stream_strings(arrow_fixture("dictionary.arrow"), {"a"}); },
               {"dictionary.arrow", "dictionary-encoded"});
  expect_error([] { io::read_arrow_stream_strings(arrow_fixture("compressed.arrow"), {"a"}); },
               {"compressed.arrow", "compressed record batches are not supported"});
  expect_error([] { io::read_arrow_stream_strings(arrow_fixture("two_batches.arrow"), {"n"}); },
               {"column 'n' has Arrow type int, expected utf8 or large_utf8"});
  expect_error([] { io::read_arrow_stream_strings(arrow_fixture("two_batches.arrow"), {"zz"}); },
               {"no column 'zz' (columns: a, n, b, l, s)"});
  expect_error([] { io::read_arrow_stream_strings("/nonexistent/x.arrow", {"a"}); }, {"/nonexistent/x.arrow: cannot open"});
}

TEST(SourceTasks, ArrowStreamReaderSurvivesTruncationAndCorruption) {
  const std::string good = slurp(arrow_fixture("two_batches.arrow"));
  ASSERT_GT(good.size(), 1000u);
  // Every truncation either reads a prefix of the batches or throws spot::Error; none crashes.
  int errors = 0;
  for (size_t n = 0; n < good.size(); n += 7) {
    try {
      const auto cols = io::read_arrow_stream_strings_from_bytes(good.substr(0, n), "cut", {"a", "b"});
      EXPECT_TRUE(cols[0].size() == 0 || cols[0].size() == 3 || cols[0].size() == 5) << n;
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 100);
  expect_error([&] { io::read_arrow_stream_strings_from_bytes(good.substr(0, 100), "cut", {"a"}); }, {"cut"});
  expect_error([&] { io::read_arrow_stream_strings_from_bytes("", "empty", {"a"}); }, {"empty: no Schema message"});
  // Random byte flips (the sanitizer build turns any out-of-range read into a failure).
  std::mt19937 rng(7);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bad = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bad[rng() % bad.size()] = static_cast<char>(rng() & 0xff);
    try {
      const auto cols = io::read_arrow_stream_strings_from_bytes(bad, "fuzz", {"a", "b"});
      EXPECT_EQ(cols[0].size(), cols[1].size());
    } catch (const Error&) {
    }
  }
}

// ---------------------------------------------------------------- official formats not in shared/data

TEST(SourceTasks, ReadersForOfficialFormatsOfAbsentTasks) {
  TempDir tmp;
  {
    const Task& t = find_task("spot/yelp2");
    write(tmp / "spot_source/Yelp-2/train.csv",
          // As in yelp_review_polarity_csv: quotes doubled inside quoted fields, and the review's own
          // escapes \n and \" kept as backslash sequences (so \" appears as \"").
          "\"1\",\"Awful.\\nNever again, \"\"truly\"\".\"\n\"2\",\"Great \\\"\"spot\\\"\".\"\n");
    write(tmp / "spot_source/Yelp-2/test.csv", "\"2\",\"Fine.\"\n");
    const auto ex = t.load(tmp.path().string(), "train");
    ASSERT_EQ(ex.size(), 2u);
    EXPECT_EQ(ex[0].field("text"), "Awful.\nNever again, \"truly\".");
    EXPECT_EQ(ex[1].field("text"), "Great \"spot\".");
    EXPECT_EQ(t.format(ex[0], Verbalizer::t5).input, "yelp_polarity text: Awful.\nNever again, \"truly\".");
    EXPECT_EQ(t.format(ex[1], Verbalizer::t5).target, "positive");
    EXPECT_EQ(t.load(tmp.path().string(), "validation").size(), 1u);  // test.csv stands in for validation
    write(tmp / "bad.csv", "\"3\",\"x\"\n");
    expect_error([&] { t.read_file(tmp / "bad.csv"); }, {"bad.csv:1: bad class '3'"});
  }
  {
    const Task& t = find_task("spot/docnli");
    write(tmp / "d.json", R"([{"premise": "A long document.", "hypothesis": "A summary.", "label": "entailment"},
                              {"premise": "P", "hypothesis": "H", "label": "not_entailment"}])");
    const auto ex = t.read_file(tmp / "d.json");
    ASSERT_EQ(ex.size(), 2u);
    EXPECT_EQ(t.format(ex[0], Verbalizer::t5).input, "docnli hypothesis: A summary. premise: A long document.");
    EXPECT_EQ(t.format(ex[1], Verbalizer::t5).target, "not_entailment");
    write(tmp / "d.json", R"([{"premise": "P", "hypothesis": "H", "label": "neutral"}])");
    expect_error([&] { t.read_file(tmp / "d.json"); }, {"d.json: [0].label: bad label \"neutral\""});
  }
  {
    const Task& t = find_task("spot/hellaswag");
    write(tmp / "h.jsonl",
          R"({"ind": 24, "activity_label": "Roof shingle removal", "ctx_a": "A man is sitting on a roof.", "ctx_b": "he", "ctx": "A man is sitting on a roof. he", "endings": ["is using wrap.", "is ripping level tiles off.", "is holding a rubik's cube.", "starts pulling up roofing."], "source_id": "x", "split": "val", "split_type": "indomain", "label": 3})"
          "\n");
    const auto ex = t.read_file(tmp / "h.jsonl");
    ASSERT_EQ(ex.size(), 1u);
    const Formatted f = t.format(ex[0], Verbalizer::t5);
    EXPECT_EQ(f.input,
              "hellaswag activity_label: Roof shingle removal context: A man is sitting on a roof. he ending0: is using "
              "wrap. ending1: is ripping level tiles off. ending2: is holding a rubik's cube. ending3: starts pulling up "
              "roofing.");
    EXPECT_EQ(f.target, "starts pulling up roofing.");
    EXPECT_EQ(ex[0].id, "24");
    write(tmp / "h.jsonl", R"({"ind": 1, "activity_label": "a", "ctx": "c", "endings": ["x", "y"], "label": 0})" "\n");
    expect_error([&] { t.read_file(tmp / "h.jsonl"); }, {"h.jsonl:1: field 'endings' must hold 4 endings, found 2"});
  }
  {
    const Task& t = find_task("spot/drop");
    write(tmp / "drop.json", R"({"nfl_1": {"passage": "The Bears won 24-10.", "qa_pairs": [
        {"question": "How many points did the Bears score?", "query_id": "q1",
         "answer": {"number": "24", "date": {"day": "", "month": "", "year": ""}, "spans": []},
         "validated_answers": [{"number": "24", "date": {"day": "", "month": "", "year": ""}, "spans": []}]},
        {"question": "Who won?", "query_id": "q2",
         "answer": {"number": "", "date": {"day": "", "month": "", "year": ""}, "spans": ["the Bears", "Chicago"]}},
        {"question": "When?", "query_id": "q3",
         "answer": {"number": "", "date": {"day": "7", "month": "May", "year": "2001"}, "spans": []}},
        {"question": "Nothing?", "query_id": "q4",
         "answer": {"number": "", "date": {"day": "", "month": "", "year": ""}, "spans": []}}]}})");
    const auto ex = t.read_file(tmp / "drop.json");
    ASSERT_EQ(ex.size(), 3u);  // q4 has no answer
    EXPECT_EQ(ex[0].answers, (std::vector<std::string>{"24"}));
    EXPECT_EQ(ex[1].answers, (std::vector<std::string>{"the Bears, Chicago"}));
    EXPECT_EQ(ex[2].answers, (std::vector<std::string>{"7 May 2001"}));
    EXPECT_EQ(t.format(ex[0], Verbalizer::t5).input,
              "drop question: How many points did the Bears score? context: The Bears won 24-10.");
    EXPECT_EQ(ex[1].group, "nfl_1");
  }
}

// ---------------------------------------------------------------- evaluation and registry

// Prefers the candidate equal to `want` (any input); records which method was used.
class OptionScorer : public Scorer {
 public:
  std::string want;
  int score_calls = 0, generate_calls = 0;
  std::vector<std::vector<double>> score(const std::vector<ScoreRequest>& batch) override {
    ++score_calls;
    std::vector<std::vector<double>> out;
    for (const auto& r : batch) {
      std::vector<double> s;
      for (const auto& c : r.candidates) s.push_back(c == want ? -1.0 : -5.0);
      out.push_back(s);
    }
    return out;
  }
  std::vector<std::string> generate(const std::vector<std::string>& inputs, int) override {
    ++generate_calls;
    return std::vector<std::string>(inputs.size(), want);
  }
};

TEST(SourceTasks, MultipleChoiceIsRankedEvenInGenerateMode) {
  TempDir tmp;
  write(tmp / "w.jsonl",
        "{\"qID\": \"a\", \"sentence\": \"_ won.\", \"option1\": \"Ann\", \"option2\": \"Bob\", \"answer\": \"2\"}\n"
        "{\"qID\": \"b\", \"sentence\": \"_ lost.\", \"option1\": \"Bob\", \"option2\": \"Cy\", \"answer\": \"1\"}\n");
  const Task& t = find_task("spot/winogrande");
  const auto ex = t.read_file(tmp / "w.jsonl");
  OptionScorer scorer;
  scorer.want = "Bob";
  EvalOptions o;
  o.mode = EvalMode::generate;
  const EvalResult r = evaluate(t, ex, "validation", scorer, o);
  EXPECT_EQ(scorer.score_calls, 1);
  EXPECT_EQ(scorer.generate_calls, 0);
  EXPECT_EQ(r.records[0].mode, "rank");
  EXPECT_DOUBLE_EQ(r.metric("accuracy"), 100.0);
  // decode() maps an exact option string to its index (T5), first word case-insensitively (natural).
  const Formatted f = t.format(ex[0], Verbalizer::t5);
  EXPECT_EQ(t.decode(ex[0], f, "Bob", Verbalizer::t5).label, 1);
  EXPECT_EQ(t.decode(ex[0], f, "bob", Verbalizer::t5).label, -1);
  EXPECT_EQ(t.decode(ex[0], t.format(ex[0], Verbalizer::natural), " bob.", Verbalizer::natural).label, 1);

  // SQuAD decodes; a prediction is right when it normalises to any reference.
  const Task& squad = find_task("spot/squad");
  write(tmp / "q.json", R"({"data": [{"title": "T", "paragraphs": [{"context": "Paris is in France.", "qas": [
      {"id": "1", "question": "Where is Paris?", "answers": [{"text": "France", "answer_start": 12}, {"text": "in France", "answer_start": 9}]}]}]}]})");
  const auto sq = squad.read_file(tmp / "q.json");
  scorer.want = "the France";
  const EvalResult rq = evaluate(squad, sq, "validation", scorer, o);
  EXPECT_EQ(scorer.generate_calls, 1);
  EXPECT_DOUBLE_EQ(rq.metric("em"), 100.0);
  EXPECT_TRUE(rq.records[0].correct);
  EXPECT_EQ(squad.format(sq[0], Verbalizer::t5).input, "question: Where is Paris ? context: Paris is in France . ");
}

TEST(SourceTasks, Registry) {
  EXPECT_EQ(find_task("squad").name(), "spot/squad");
  EXPECT_EQ(find_task("squad_v010_allanswers").name(), "spot/squad");
  EXPECT_EQ(find_task("CosmosQA").name(), "spot/cosmosqa");
  EXPECT_EQ(find_task("cr").name(), "spot/cr");
  EXPECT_EQ(find_task("spot/race").benchmark(), "spot");
  std::vector<std::string> spot;
  for (const Task* t : builtin_tasks())
    if (t->benchmark() == "spot") spot.push_back(t->name());
  EXPECT_EQ(spot, (std::vector<std::string>{"spot/c4", "spot/docnli", "spot/yelp2", "spot/cxc", "spot/squad", "spot/drop",
                                            "spot/winogrande", "spot/hellaswag", "spot/cosmosqa", "spot/race",
                                            "spot/snli", "spot/cr"}));
}

}  // namespace
}  // namespace spot::eval
