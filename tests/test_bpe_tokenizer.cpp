// test_bpe_tokenizer.cpp — the byte-level BPE tokenizer: merge order, dropped bytes, special tokens
// and metadata errors on hand-made vocabularies; on the real SmolLM2 GGUF, ids equal to Hugging Face
// (tests/golden/gen_smollm2_tokenizer_ids.py) for every golden line, decode(encode(x)) == x, the
// ChatML template, and all SST-2 train sentences (ids digest, round trip, throughput).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "io/gguf.h"
#include "model/tokenizer/bpe.h"
#include "tests/expect_error.h"
#include "tests/gguf_test_util.h"
#include "tests/test_data.h"

namespace spot::tokenizer {
namespace {

namespace json = boost::json;
using io::GgufFile;
using test::GgufBuilder;

using test::expect_error;

// A toy vocabulary in the byte-level alphabet. Printable ASCII stands for itself there; a space
// is "Ġ" (U+0120).
struct ToyVocab {
  std::vector<std::string> tokens = {"<|endoftext|>", "<|im_start|>", "<think>", "a", "b", "c", "Ġ",
                                     "ab", "bc", "abc", "aa", "Ġa", "1", "2"};
  std::vector<int32_t> types = {3, 3, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  std::vector<std::string> merges;
  std::string model = "gpt2", pre = "smollm";
  uint32_t bos = 1;
  std::string chat_template;

  int32_t id(const std::string& t) const {
    for (size_t k = 0; k < tokens.size(); ++k)
      if (tokens[k] == t) return static_cast<int32_t>(k);
    return -1;
  }
  GgufFile file() const {
    GgufBuilder b;
    b.header(0, 7 + (chat_template.empty() ? 0 : 1))
        .kv_string("tokenizer.ggml.model", model)
        .kv_string("tokenizer.ggml.pre", pre)
        .kv_strings("tokenizer.ggml.tokens", tokens)
        .kv_i32s("tokenizer.ggml.token_type", types)
        .kv_strings("tokenizer.ggml.merges", merges)
        .kv_u32("tokenizer.ggml.bos_token_id", bos)
        .kv_u32("tokenizer.ggml.eos_token_id", 0);
    if (!chat_template.empty()) b.kv_string("tokenizer.chat_template", chat_template);
    return GgufFile::from_bytes(b.bytes, "toy.gguf");
  }
  BpeTokenizer tokenizer() const { return BpeTokenizer::from_gguf(file()); }
  std::vector<int32_t> ids(std::initializer_list<const char*> toks) const {
    std::vector<int32_t> out;
    for (const char* t : toks) out.push_back(id(t));
    return out;
  }
};

TEST(BpeTokenizerToy, LowestRankMergesFirst) {
  ToyVocab v;
  v.merges = {"b c", "a b", "ab c"};  // "b c" outranks "a b": abc -> a + bc, and no "a bc" merge
  EXPECT_EQ(v.tokenizer().encode("abc"), v.ids({"a", "bc"}));
  v.merges = {"a b", "b c", "ab c"};  // now a+b first, then ab+c
  EXPECT_EQ(v.tokenizer().encode("abc"), v.ids({"abc"}));
  EXPECT_EQ(v.tokenizer().encode("cab"), v.ids({"c", "ab"}));
}

TEST(BpeTokenizerToy, LeftmostPairWinsOnTies) {
  ToyVocab v;
  v.merges = {"a a"};
  EXPECT_EQ(v.tokenizer().encode("aaa"), v.ids({"aa", "a"}));
  EXPECT_EQ(v.tokenizer().encode("aaaa"), v.ids({"aa", "aa"}));
}

TEST(BpeTokenizerToy, PreTokenizationBoundsMerges) {
  ToyVocab v;
  v.merges = {"Ġ a", "a b"};
  // " ab" is one GPT-2 piece: "Ġ a" (rank 0) wins over "a b".
  EXPECT_EQ(v.tokenizer().encode(" ab"), v.ids({"Ġa", "b"}));
  // Digits are isolated (smollm): "12" is two pieces; a space before a digit is its own piece.
  EXPECT_EQ(v.tokenizer().encode("a 12"), v.ids({"a", "Ġ", "1", "2"}));
}

TEST(BpeTokenizerToy, BytesWithoutTokensAreDropped) {
  ToyVocab v;
  v.merges = {"a b"};
  // 'x' and U+00E9 have no byte tokens here; tokenizers drops them, and the neighbours then merge.
  EXPECT_EQ(v.tokenizer().encode("axb"), v.ids({"ab"}));
  EXPECT_EQ(v.tokenizer().encode("a\xc3\xa9"), v.ids({"a"}));
}

TEST(BpeTokenizerToy, SpecialTokens) {
  ToyVocab v;
  const BpeTokenizer t = v.tokenizer();
  // CONTROL tokens only with parse_special; USER_DEFINED (<think>) always.
  EXPECT_EQ(t.encode("a<|im_start|>b", false, true), v.ids({"a", "<|im_start|>", "b"}));
  const std::vector<int32_t> plain = t.encode("a<|im_start|>b", false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), v.id("<|im_start|>")), 0);
  EXPECT_EQ(t.encode("a<think>b", false, false), v.ids({"a", "<think>", "b"}));
  EXPECT_EQ(t.encode("<|im_start|><|endoftext|>", true, true), v.ids({"<|im_start|>", "<|im_start|>", "<|endoftext|>"}));
  EXPECT_EQ(t.decode(v.ids({"a", "<|im_start|>", "b"})), "a<|im_start|>b");
  EXPECT_EQ(t.decode(v.ids({"a", "<|im_start|>", "b"}), true), "ab");
  EXPECT_TRUE(t.is_control(v.id("<|endoftext|>")));
  EXPECT_FALSE(t.is_control(v.id("<think>")));
  EXPECT_EQ(t.bos_id(), 1);
  EXPECT_EQ(t.eos_id(), 0);
  EXPECT_EQ(t.pad_id(), -1);
  EXPECT_EQ(t.token_bytes(v.id("Ġa")), " a");
  EXPECT_EQ(t.token_to_id("Ġa"), v.id("Ġa"));
  EXPECT_EQ(t.token_to_id("zzz"), -1);
}

TEST(BpeTokenizerToy, TokensOutsideTheByteAlphabetAreRespelled) {
  ToyVocab v;
  // U+4E2D is no byte-level character: the token is taken as raw text and respelled from its UTF-8
  // bytes E4 B8 AD as "\u00e4\u00b8\u0143", as transformers' GGUF loader does. (U+00E9 would not
  // do: it is the byte-level character of byte 0xE9.)
  v.tokens.push_back("\xe4\xb8\xad");
  v.types.push_back(1);
  const BpeTokenizer t = v.tokenizer();
  const int32_t id = static_cast<int32_t>(v.tokens.size() - 1);
  EXPECT_EQ(t.id_to_token(id), "\xc3\xa4\xc2\xb8\xc5\x83");
  EXPECT_EQ(t.token_bytes(id), "\xe4\xb8\xad");
  EXPECT_EQ(t.decode({id}), "\xe4\xb8\xad");
  EXPECT_EQ(t.token_to_id("\xc3\xa4\xc2\xb8\xc5\x83"), id);
}

TEST(BpeTokenizerToy, MetadataErrors) {
  ToyVocab v;
  v.model = "llama";
  expect_error([&] { v.tokenizer(); }, "toy.gguf: tokenizer.ggml.model is 'llama', expected 'gpt2'");
  v = ToyVocab{};
  v.pre = "qwen2";
  expect_error([&] { v.tokenizer(); }, "tokenizer.ggml.pre 'qwen2' is not supported");
  v = ToyVocab{};
  v.merges = {"a zz"};
  expect_error([&] { v.tokenizer(); }, "tokenizer.ggml.merges[0] = 'a zz' names a token that is not in the vocabulary");
  v.merges = {"abc"};
  expect_error([&] { v.tokenizer(); }, "tokenizer.ggml.merges[0] = 'abc' is not 'left right'");
  v = ToyVocab{};
  v.bos = 500;
  expect_error([&] { v.tokenizer(); }, "tokenizer.ggml.bos_token_id = 500 is outside the vocabulary of 14");
  v = ToyVocab{};
  v.types.pop_back();
  expect_error([&] { v.tokenizer(); }, "tokenizer.ggml.token_type has 13 entries for 14 tokens");
  expect_error([&] { BpeTokenizer::from_gguf(GgufFile::from_bytes(GgufBuilder{}.header(0, 0).bytes, "x.gguf")); },
               "x.gguf: metadata key 'tokenizer.ggml.model' is missing");

  const BpeTokenizer t = ToyVocab{}.tokenizer();
  expect_error([&] { t.encode("ok \xff bad"); }, "input is not valid UTF-8 at byte 3");
  expect_error([&] { t.encode("\xed\xa0\x80"); }, "not valid UTF-8 at byte 0");  // a surrogate
  expect_error([&] { t.decode({0, 99}); }, "id 99 is outside the vocabulary of 14");
  expect_error([&] { t.apply_chat_template({{"user", "hi"}}); }, "toy.gguf: the file has no tokenizer.chat_template");
  ToyVocab nt;
  nt.chat_template = "{% for m in messages %}[INST] {{ m.content }} [/INST]{% endfor %}";
  expect_error([&] { nt.tokenizer().apply_chat_template({{"user", "hi"}}); }, "is not ChatML");
}

TEST(BpeTokenizerToy, ChatTemplateWithoutDefaultSystemPrompt) {
  ToyVocab v;
  v.chat_template =
      "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' "
      "+ '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  const BpeTokenizer t = v.tokenizer();
  EXPECT_EQ(t.default_system_prompt(), "");
  EXPECT_EQ(t.apply_chat_template({{"user", "hi"}}, true), "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(t.apply_chat_template({{"user", "hi"}}, false), "<|im_start|>user\nhi<|im_end|>\n");
}

// ------------------------------------------------------------------ the real SmolLM2 tokenizer

class BpeTokenizerSmolLM2 : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::filesystem::exists(test::smollm2_gguf_path()))
      tok_ = new BpeTokenizer(BpeTokenizer::from_gguf(GgufFile::open(test::smollm2_gguf_path())));
  }
  static void TearDownTestSuite() {
    delete tok_;
    tok_ = nullptr;
  }
  void SetUp() override { SPOT_SKIP_WITHOUT_SMOLLM2(test::smollm2_gguf_path()); }
  static BpeTokenizer* tok_;
};
BpeTokenizer* BpeTokenizerSmolLM2::tok_ = nullptr;

std::vector<json::object> read_jsonl(const std::string& path) {
  std::vector<json::object> rows;
  std::istringstream in(test::read_text_file(path));
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) rows.push_back(json::parse(line).as_object());
  return rows;
}

TEST_F(BpeTokenizerSmolLM2, VocabularyAndSpecialIds) {
  const BpeTokenizer& t = *tok_;
  const json::object summary = test::read_json(test::golden_dir() + "/smollm2/gguf_summary.json").as_object();
  for (const json::value& e : summary.at("metadata").as_array()) {
    const std::string key = json::value_to<std::string>(e.at("key"));
    if (key == "tokenizer.ggml.bos_token_id") EXPECT_EQ(t.bos_id(), e.at("value").as_int64());
    if (key == "tokenizer.ggml.eos_token_id") EXPECT_EQ(t.eos_id(), e.at("value").as_int64());
    if (key == "tokenizer.ggml.unknown_token_id") EXPECT_EQ(t.unk_id(), e.at("value").as_int64());
    if (key == "tokenizer.ggml.padding_token_id") EXPECT_EQ(t.pad_id(), e.at("value").as_int64());
    if (key == "llama.vocab_size") EXPECT_EQ(t.vocab_size(), e.at("value").as_int64());
  }
  EXPECT_EQ(t.pre_tokenizer(), "smollm");
  EXPECT_EQ(t.id_to_token(t.bos_id()), "<|im_start|>");
  EXPECT_EQ(t.id_to_token(t.eos_id()), "<|im_end|>");
  for (int32_t id = 0; id < t.vocab_size(); ++id) ASSERT_EQ(t.token_to_id(t.id_to_token(id)), id) << id;
  EXPECT_EQ(t.encode("hi", true).front(), t.bos_id());
  EXPECT_EQ(t.default_system_prompt(), "You are a helpful AI assistant named SmolLM, trained by Hugging Face");
}

TEST_F(BpeTokenizerSmolLM2, IdsEqualTransformersOnEveryGoldenLine) {
  const BpeTokenizer& t = *tok_;
  const std::vector<json::object> rows = read_jsonl(test::golden_dir() + "/smollm2/tokenizer_ids.jsonl");
  ASSERT_GE(rows.size(), 200u);
  size_t real = 0, tokens = 0, plain_checked = 0;
  for (const json::object& r : rows) {
    const std::string text = json::value_to<std::string>(r.at("text"));
    const std::string src = json::value_to<std::string>(r.at("source"));
    const auto want = json::value_to<std::vector<int32_t>>(r.at("ids"));
    const std::vector<int32_t> got = t.encode(text, false, true);
    EXPECT_EQ(got, want) << src << ": " << text;
    const auto want_plain = r.contains("ids_plain") ? json::value_to<std::vector<int32_t>>(r.at("ids_plain")) : want;
    EXPECT_EQ(t.encode(text, false, false), want_plain) << src << " (special tokens as text): " << text;
    plain_checked += r.contains("ids_plain");
    EXPECT_EQ(t.decode(got), text) << src;
    EXPECT_EQ(t.decode(want_plain), text) << src;
    real += src != "synthetic";
    tokens += want.size();
  }
  EXPECT_GE(real, 200u);
  EXPECT_GE(plain_checked, 3u);
  std::printf("tokenizer goldens: %zu lines (%zu real), %zu tokens, all equal to transformers\n", rows.size(), real,
              tokens);
}

TEST_F(BpeTokenizerSmolLM2, ChatTemplateEqualsTransformers) {
  const BpeTokenizer& t = *tok_;
  const std::vector<json::object> rows = read_jsonl(test::golden_dir() + "/smollm2/chat_template.jsonl");
  ASSERT_GE(rows.size(), 4u);
  for (const json::object& r : rows) {
    std::vector<ChatMessage> messages;
    for (const json::value& m : r.at("messages").as_array())
      messages.push_back({json::value_to<std::string>(m.at("role")), json::value_to<std::string>(m.at("content"))});
    const bool gen = r.at("add_generation_prompt").as_bool();
    EXPECT_EQ(t.apply_chat_template(messages, gen), json::value_to<std::string>(r.at("text")));
    EXPECT_EQ(t.encode_chat(messages, gen), json::value_to<std::vector<int32_t>>(r.at("ids")));
  }
}

// Every SST-2 train sentence: ids equal to transformers' (through the digest the generator wrote),
// round trip, and the throughput with a cold and a warm piece cache.
TEST_F(BpeTokenizerSmolLM2, Sst2TrainIdsRoundTripAndThroughput) {
  const std::string path = test::shared_data("glue/SST-2/train.tsv");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "SKIPPED (not verified): " << path << " is absent";
  std::vector<std::string> sentences;
  {
    std::istringstream in(test::read_text_file(path));
    std::string line;
    std::getline(in, line);  // header: sentence, label
    while (std::getline(in, line))
      if (!line.empty()) sentences.push_back(line.substr(0, line.find('\t')));
  }
  const json::object want = test::read_json(test::golden_dir() + "/smollm2/sst2_train_ids_digest.json").as_object();
  ASSERT_EQ(sentences.size(), want.at("sentences").to_number<size_t>());

  const BpeTokenizer cold = BpeTokenizer::from_gguf(GgufFile::open(test::smollm2_gguf_path()));
  size_t bytes = 0;
  for (const std::string& s : sentences) bytes += s.size();
  double seconds[2] = {0, 0};
  size_t tokens = 0;
  for (int pass = 0; pass < 2; ++pass) {
    tokens = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (const std::string& s : sentences) tokens += cold.encode(s).size();
    seconds[pass] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  // FNV-1a 64 over each sentence's ids (int32 little-endian), each followed by -1.
  uint64_t digest = 0xCBF29CE484222325ull;
  auto feed = [&](int32_t v) {
    uint8_t b[4];
    std::memcpy(b, &v, 4);
    for (uint8_t x : b) digest = (digest ^ x) * 0x100000001B3ull;
  };
  size_t mismatches = 0;
  for (const std::string& s : sentences) {
    const std::vector<int32_t> ids = cold.encode(s);
    for (int32_t id : ids) feed(id);
    feed(-1);
    mismatches += cold.decode(ids) != s;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(digest));
  EXPECT_EQ(tokens, want.at("tokens").to_number<size_t>());
  EXPECT_EQ(std::string(hex), json::value_to<std::string>(want.at("fnv1a64")))
      << "ids of some SST-2 train sentence differ from transformers'";
  EXPECT_EQ(mismatches, 0u);
  std::printf("SST-2 train: %zu sentences, %.1f MB, %zu tokens; cold cache %.3f s (%.2f M tokens/s), "
              "warm %.3f s (%.2f M tokens/s), 1 thread\n",
              sentences.size(), bytes / 1e6, tokens, seconds[0], tokens / seconds[0] / 1e6, seconds[1],
              tokens / seconds[1] / 1e6);
  RecordProperty("tokens_per_s_cold", std::to_string(tokens / seconds[0]));
  RecordProperty("tokens_per_s_warm", std::to_string(tokens / seconds[1]));
}

}  // namespace
}  // namespace spot::tokenizer
