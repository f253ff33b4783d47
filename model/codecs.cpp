// codecs.cpp — T5 and Llama-family text codecs.
#include "model/codecs.h"

#include <algorithm>

#include "base/check.h"

namespace spot {

std::vector<int32_t> T5Codec::common_token_ids(int64_t n) const {
  // T5's SentencePiece vocabulary is sorted by piece score (≈ frequency); ids 0-2 are pad/eos/unk
  // and the last 100 are sentinels.
  std::vector<int32_t> ids;
  const int64_t last = tok_.vocab_size() - T5Tokenizer::kNumSentinels;
  for (int32_t id = 3; id < last && static_cast<int64_t>(ids.size()) < n; ++id) ids.push_back(id);
  return ids;
}

LlamaCodec::LlamaCodec(tokenizer::BpeTokenizer tok, bool chat) : tok_(std::move(tok)), chat_(chat) {
  if (chat_) {
    // Measure the template's header: the tokens before a marker user text.
    const std::vector<int32_t> with = tok_.encode_chat({{"user", "\x01"}}, true);
    const std::vector<int32_t> marker = tok_.encode("\x01", false, false);
    const auto it = std::search(with.begin(), with.end(), marker.begin(), marker.end());
    header_tokens_ = it == with.end() ? 0 : it - with.begin();
  }
}

std::vector<int32_t> LlamaCodec::encode_input(const std::string& text) const {
  if (chat_) return tok_.encode_chat({{"user", text}}, true);
  return tok_.encode(text, false, false);
}

std::vector<int32_t> LlamaCodec::encode_target(const std::string& text) const {
  if (chat_ && !text.empty() && text[0] == ' ') return tok_.encode(text.substr(1), false, false);
  return tok_.encode(text, false, false);
}

int32_t LlamaCodec::eos_id() const {
  // Instruction models end a turn with <|im_end|>; base models with the EOS token.
  if (chat_) {
    const int32_t im_end = tok_.token_to_id("<|im_end|>");
    if (im_end >= 0) return im_end;
  }
  return tok_.eos_id();
}

std::vector<int32_t> LlamaCodec::common_token_ids(int64_t n) const {
  // BPE ids grow with merge rank, so low ids are the most frequent pieces; skip control tokens.
  std::vector<int32_t> ids;
  for (int32_t id = 0; id < tok_.vocab_size() && static_cast<int64_t>(ids.size()) < n; ++id)
    if (!tok_.is_control(id)) ids.push_back(id);
  return ids;
}

std::vector<int32_t> LlamaCodec::truncate_input(const std::vector<int32_t>& ids, int64_t max_tokens) const {
  if (max_tokens <= 0 || static_cast<int64_t>(ids.size()) <= max_tokens) return ids;
  const int64_t head = std::min<int64_t>(header_tokens_, max_tokens / 2);
  std::vector<int32_t> out(ids.begin(), ids.begin() + head);
  out.insert(out.end(), ids.end() - (max_tokens - head), ids.end());
  return out;
}

}  // namespace spot
