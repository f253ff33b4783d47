// bpe.h — byte-level BPE tokenizer (GPT-2 style) built from GGUF metadata, for Llama-family GGUF
// models such as SmolLM2. Matches Hugging Face `tokenizers` (the BPE model, ByteLevel
// pre-tokenizer/decoder and added-token matching) id for id.
//
// encode(text):
//   1. special tokens: with parse_special, CONTROL tokens (token_type 3, e.g. <|im_start|>) found
//      anywhere in the text become their ids (leftmost, then longest match); USER_DEFINED tokens
//      (token_type 4) are always matched whole;
//   2. pre-tokenisation of the text between them, by tokenizer.ggml.pre:
//        "smollm": each numeric character (\p{N}) is isolated, then the GPT-2 split
//                  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//                  (SmolLM2's tokenizer.json: Sequence[Digits(individual_digits), ByteLevel];
//                   llama.cpp LLAMA_VOCAB_PRE_TYPE_SMOLLM);
//        "gpt2":   the GPT-2 split alone;
//      regexes run in PCRE2 (UTF + UCP, JIT); \s also covers U+0085 as Oniguruma's does;
//   3. every piece's bytes are spelled in GPT-2's byte-to-unicode alphabet and merged by BPE:
//      repeatedly the adjacent pair with the lowest merge rank (leftmost on ties). Bytes without
//      a vocabulary entry are dropped, as `tokenizers` does without an unk token.
// Results per piece are cached (pieces repeat a lot in real text).
//
// decode(ids) concatenates the tokens' bytes (byte-level spelling undone); the result is the
// original UTF-8 text for ids from encode, and raw bytes (possibly a partial UTF-8 sequence) for
// arbitrary ids.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/gguf.h"

namespace spot::tokenizer {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

class BpeTokenizer {
 public:
  // Reads tokenizer.ggml.{model (must be "gpt2"), pre, tokens, merges, token_type,
  // bos/eos/unknown/padding_token_id} and tokenizer.chat_template. Throws spot::Error naming the
  // file and key for missing or inconsistent metadata (merges naming unknown tokens, ids out of
  // range, unsupported pre-tokenizer...).
  static BpeTokenizer from_gguf(const io::GgufFile& file);

  // Text (UTF-8; invalid UTF-8 throws) to ids. add_bos prepends bos_id().
  std::vector<int32_t> encode(std::string_view text, bool add_bos = false, bool parse_special = false) const;
  // Ids to text; skip_special drops CONTROL tokens. Ids outside the vocabulary throw.
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const;

  int64_t vocab_size() const;
  // Tokens as the vocabulary spells them (byte-level alphabet: "Ġthe" for " the"); -1 when absent.
  int32_t token_to_id(std::string_view token) const;
  const std::string& id_to_token(int32_t id) const;
  // The bytes a token stands for (" the" for "Ġthe"; "<|im_end|>" for the control token).
  const std::string& token_bytes(int32_t id) const;
  bool is_control(int32_t id) const;  // token_type 3

  // -1 when the file does not name one.
  int32_t bos_id() const;
  int32_t eos_id() const;
  int32_t unk_id() const;
  int32_t pad_id() const;
  const std::string& pre_tokenizer() const;  // tokenizer.ggml.pre

  // The ChatML conversation tokenizer.chat_template describes (SmolLM2):
  //   [<|im_start|>system\n{default system prompt}<|im_end|>\n   when messages[0] is not "system"]
  //   <|im_start|>{role}\n{content}<|im_end|>\n                   for every message
  //   <|im_start|>assistant\n                                      with add_generation_prompt
  // The default system prompt is read from the template. Throws when the file has no template or
  // its template is not ChatML (no Jinja engine here: only this one format is understood).
  std::string apply_chat_template(const std::vector<ChatMessage>& messages, bool add_generation_prompt = true) const;
  // apply_chat_template then encode with parse_special = true.
  std::vector<int32_t> encode_chat(const std::vector<ChatMessage>& messages, bool add_generation_prompt = true) const;
  const std::string& default_system_prompt() const;  // "" when the template has none

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // immutable after from_gguf except the (locked) piece cache
};

}  // namespace spot::tokenizer
