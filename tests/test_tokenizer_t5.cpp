// test_tokenizer_t5.cpp — T5Tokenizer against HF transformers' T5Tokenizer: every line of
// tests/golden/tokenizer/t5_ids.jsonl (written by tests/golden/gen_t5_tokenizer_ids.py) must give HF's ids and
// HF's decoded text; plus round trips, the sentinel/special conventions and the load errors.
// Needs ../shared/data/tokenizers/t5/spiece.model (skipped with the reason when absent).
// SPOT_T5_IDS_JSONL=<file> runs the comparison on another file of the same format (e.g. a whole corpus).
#include <gtest/gtest.h>
#include <sentencepiece_trainer.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/check.h"
#include "model/tokenizer/sentencepiece.h"
#include "tests/test_data.h"

namespace spot {
namespace {

const std::string kModelPath = test::shared_data("tokenizers/t5/spiece.model");

std::string golden_path() {
  const char* env = std::getenv("SPOT_T5_IDS_JSONL");
  return env && *env ? env : std::string(SPOT_SOURCE_DIR) + "/tests/golden/tokenizer/t5_ids.jsonl";
}

struct GoldenLine {
  size_t line = 0;
  std::string source, text, decoded;
  std::vector<int32_t> ids;
};

std::vector<GoldenLine> read_golden(const std::string& path) {
  std::ifstream in(path);
  SPOT_CHECK(in.good(), "cannot open golden file " << path);
  std::vector<GoldenLine> out;
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    const boost::json::object obj = boost::json::parse(line).as_object();
    GoldenLine g;
    g.line = n;
    if (const auto* s = obj.if_contains("source")) g.source = std::string(s->as_string());
    g.text = std::string(obj.at("text").as_string());
    if (const auto* d = obj.if_contains("decoded")) g.decoded = std::string(d->as_string());
    for (const auto& v : obj.at("ids").as_array()) g.ids.push_back(static_cast<int32_t>(v.to_number<int64_t>()));
    out.push_back(std::move(g));
  }
  return out;
}

std::string ids_str(const std::vector<int32_t>& ids) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < ids.size(); ++i) os << (i ? ", " : "") << ids[i];
  os << "]";
  return os.str();
}

class T5TokenizerTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(kModelPath)) return;
    tokenizer_ = new T5Tokenizer(kModelPath);
    golden_ = new std::vector<GoldenLine>(read_golden(golden_path()));
  }
  static void TearDownTestSuite() {
    delete tokenizer_;
    delete golden_;
    tokenizer_ = nullptr;
    golden_ = nullptr;
  }
  void SetUp() override {
    if (!tokenizer_) GTEST_SKIP() << "T5 SentencePiece model not found at " << kModelPath << " (shared data absent)";
  }
  static T5Tokenizer* tokenizer_;
  static std::vector<GoldenLine>* golden_;
};
T5Tokenizer* T5TokenizerTest::tokenizer_ = nullptr;
std::vector<GoldenLine>* T5TokenizerTest::golden_ = nullptr;

TEST_F(T5TokenizerTest, IdsMatchHfOnEveryGoldenLine) {
  ASSERT_GE(golden_->size(), 200u) << golden_path();
  size_t mismatches = 0;
  for (const auto& g : *golden_) {
    const auto ids = tokenizer_->encode(g.text);
    if (ids == g.ids) continue;
    if (++mismatches <= 20) {
      ADD_FAILURE() << golden_path() << ":" << g.line << " (" << g.source << ")\n  text: \"" << g.text
                    << "\"\n  HF:   " << ids_str(g.ids) << "\n  ours: " << ids_str(ids);
    }
  }
  EXPECT_EQ(mismatches, 0u) << "of " << golden_->size() << " lines";
  std::printf("[ tokenizer ] %zu lines of %s compared, %zu mismatches\n", golden_->size(), golden_path().c_str(),
              mismatches);
}

TEST_F(T5TokenizerTest, DecodeMatchesHfSkipSpecialTokens) {
  size_t mismatches = 0;
  for (const auto& g : *golden_) {
    const std::string text = tokenizer_->decode(g.ids);
    if (text == g.decoded) continue;
    if (++mismatches <= 20)
      ADD_FAILURE() << golden_path() << ":" << g.line << ": decode gives \"" << text << "\", HF \"" << g.decoded << "\"";
  }
  EXPECT_EQ(mismatches, 0u);
}

// decode() is the inverse of encode() up to normalisation: re-encoding the decoded text gives the same ids
// (for ids without <unk> or sentinels, which decode drops).
TEST_F(T5TokenizerTest, DecodeEncodeRoundTrip) {
  size_t checked = 0;
  for (const auto& g : *golden_) {
    const bool lossy = std::any_of(g.ids.begin(), g.ids.end() - 1, [&](int32_t id) {
      return id == T5Tokenizer::kUnkId || id == T5Tokenizer::kEosId || id == T5Tokenizer::kPadId ||
             id >= tokenizer_->vocab_size() - T5Tokenizer::kNumSentinels;
    });
    if (lossy) continue;
    EXPECT_EQ(tokenizer_->encode(tokenizer_->decode(g.ids)), g.ids) << "line " << g.line << ": " << g.text;
    ++checked;
  }
  EXPECT_GE(checked, 200u);
}

TEST_F(T5TokenizerTest, T5Conventions) {
  const T5Tokenizer& t = *tokenizer_;
  EXPECT_EQ(t.vocab_size(), 32100);
  EXPECT_EQ(t.encode("Hello world"), (std::vector<int32_t>{8774, 296, 1}));
  EXPECT_EQ(t.encode(""), (std::vector<int32_t>{1}));
  EXPECT_EQ(t.encode("  \t "), (std::vector<int32_t>{1}));
  EXPECT_EQ(t.id_to_piece(0), "<pad>");
  EXPECT_EQ(t.id_to_piece(1), "</s>");
  EXPECT_EQ(t.id_to_piece(2), "<unk>");
  EXPECT_EQ(t.id_to_piece(8774), "\xE2\x96\x81Hello");
  EXPECT_EQ(t.piece_to_id("\xE2\x96\x81Hello"), 8774);
  EXPECT_EQ(t.piece_to_id("\xE2\x96\x81translate"), 13959);
  EXPECT_EQ(t.piece_to_id("no such piece"), T5Tokenizer::kUnkId);
  EXPECT_EQ(t.id_to_piece(32099), "<extra_id_0>");
  EXPECT_EQ(t.id_to_piece(32000), "<extra_id_99>");
  EXPECT_EQ(t.piece_to_id("<extra_id_0>"), 32099);
  EXPECT_EQ(t.encode("a <extra_id_0> b"), (std::vector<int32_t>{3, 9, 32099, 3, 115, 1}));
  // pad and eos are skipped by decode, wherever they are.
  EXPECT_EQ(t.decode({0, 8774, 296, 1, 0, 0}), "Hello world");
  EXPECT_EQ(t.decode({}), "");
  EXPECT_EQ(t.decode(t.encode(" Hello   world  ")), "Hello world");
}

TEST_F(T5TokenizerTest, OutOfRangeIdsThrow) {
  EXPECT_THROW(tokenizer_->id_to_piece(-1), Error);
  EXPECT_THROW(tokenizer_->id_to_piece(32100), Error);
  try {
    tokenizer_->decode({8774, 40000});
    FAIL() << "decode accepted id 40000";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("40000"), std::string::npos) << e.what();
  }
}

// Load errors need no T5 model: they must name the file and say what is wrong.
class T5TokenizerLoad : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("spot_tok_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static void expect_load_error(const std::string& path, const std::string& says) {
    try {
      T5Tokenizer t(path);
      ADD_FAILURE() << "loading " << path << " succeeded";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("'" + path + "'"), std::string::npos) << what;
      EXPECT_NE(what.find(says), std::string::npos) << what;
    }
  }
  // A tiny SentencePiece model trained here, so the type and id checks meet real models that are not T5's.
  std::string train(const std::string& name, const std::string& options) {
    const std::string corpus = (dir_ / "corpus.txt").string();
    {
      std::ofstream out(corpus);
      for (int i = 0; i < 50; ++i) out << "the quick brown fox jumps over the lazy dog " << i << "\n";
    }
    const std::string prefix = (dir_ / name).string();
    const auto status = sentencepiece::SentencePieceTrainer::Train(
        "--input=" + corpus + " --model_prefix=" + prefix + " --vocab_size=40 --minloglevel=2 " + options);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return prefix + ".model";
  }
  std::filesystem::path dir_;
};

TEST_F(T5TokenizerLoad, MissingFileOrDirectoryIsAClearError) {
  expect_load_error("/nonexistent/dir/spiece.model", "missing");
  expect_load_error(dir_.string(), "not a file");
}

TEST_F(T5TokenizerLoad, CorruptFileIsAClearError) {
  const std::string garbage = (dir_ / "garbage.model").string();
  const std::string empty = (dir_ / "empty.model").string();
  std::ofstream(garbage, std::ios::binary) << "this is not a protobuf \x01\x02\x03\xff\xfe";
  std::ofstream(empty, std::ios::binary).flush();
  expect_load_error(garbage, "is not a valid SentencePiece model");
  expect_load_error(empty, "is not a valid SentencePiece model");
}

TEST_F(T5TokenizerLoad, NonUnigramModelIsRejected) {
  expect_load_error(train("bpe", "--model_type=bpe --pad_id=0 --eos_id=1 --unk_id=2 --bos_id=-1"), "not unigram");
}

TEST_F(T5TokenizerLoad, UnigramModelWithOtherSpecialIdsIsRejected) {
  // SentencePiece's defaults: <unk>=0, <s>=1, </s>=2, no <pad>.
  expect_load_error(train("default_ids", "--model_type=unigram"), "not a T5 vocabulary");
  // The same model with T5's ids loads, and encodes with </s> appended.
  T5Tokenizer t(train("t5_ids", "--model_type=unigram --pad_id=0 --eos_id=1 --unk_id=2 --bos_id=-1"));
  const auto ids = t.encode("the lazy dog");
  ASSERT_GE(ids.size(), 2u);
  EXPECT_EQ(ids.back(), T5Tokenizer::kEosId);
  EXPECT_EQ(t.decode(ids), "the lazy dog");
}

TEST(T5TokenizerUnloaded, UseBeforeLoadThrows) {
  T5Tokenizer t;
  EXPECT_FALSE(t.loaded());
  EXPECT_THROW(t.encode("x"), Error);
  EXPECT_THROW(t.vocab_size(), Error);
}

}  // namespace
}  // namespace spot
