// codecs.h — TextCodec implementations: T5 (SentencePiece, </s> appended to inputs and targets) and
// Llama-family GGUF models (byte-level BPE; optionally the model's ChatML chat template around the
// input, for instruction-tuned models such as SmolLM2-Instruct).
#pragma once

#include <memory>

#include "model/text_codec.h"
#include "model/tokenizer/bpe.h"
#include "model/tokenizer/sentencepiece.h"

namespace spot {

class T5Codec : public TextCodec {
 public:
  explicit T5Codec(const std::string& spiece_model) : tok_(spiece_model) {}
  std::string name() const override { return "t5-sentencepiece"; }
  std::vector<int32_t> encode_input(const std::string& text) const override { return tok_.encode(text); }
  std::vector<int32_t> encode_target(const std::string& text) const override { return tok_.encode(text); }
  std::string decode(const std::vector<int32_t>& ids) const override { return tok_.decode(ids); }
  int32_t eos_id() const override { return T5Tokenizer::kEosId; }
  int64_t vocab_size() const override { return tok_.vocab_size(); }
  std::vector<int32_t> common_token_ids(int64_t n) const override;
  const T5Tokenizer& tokenizer() const { return tok_; }

 private:
  T5Tokenizer tok_;
};

class LlamaCodec : public TextCodec {
 public:
  // chat: wrap every input as a user turn of the model's chat template and open the assistant turn;
  // targets then start the assistant's answer (a leading space of a candidate is dropped).
  LlamaCodec(tokenizer::BpeTokenizer tok, bool chat);
  std::string name() const override { return chat_ ? "bpe+chat" : "bpe"; }
  std::vector<int32_t> encode_input(const std::string& text) const override;
  std::vector<int32_t> encode_target(const std::string& text) const override;
  std::string decode(const std::vector<int32_t>& ids) const override { return tok_.decode(ids, true); }
  int32_t eos_id() const override;
  int64_t vocab_size() const override { return tok_.vocab_size(); }
  std::vector<int32_t> common_token_ids(int64_t n) const override;
  // Keeps the chat header and the tail of the input (where templates put the question and cue).
  std::vector<int32_t> truncate_input(const std::vector<int32_t>& ids, int64_t max_tokens) const override;
  const tokenizer::BpeTokenizer& tokenizer() const { return tok_; }
  bool chat() const { return chat_; }

 private:
  tokenizer::BpeTokenizer tok_;
  bool chat_;
  int64_t header_tokens_ = 0;  // tokens of the chat template before the user's text
};

}  // namespace spot
