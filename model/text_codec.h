// text_codec.h — how a backbone turns task text into token ids: the encoder input / context and
// the target continuation, with the model family's conventions (T5: SentencePiece with </s>
// appended to both; Llama-family: byte-level BPE, BOS on the context, no EOS on candidates).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace spot {

class TextCodec {
 public:
  virtual ~TextCodec() = default;
  virtual std::string name() const = 0;
  virtual std::vector<int32_t> encode_input(const std::string& text) const = 0;
  virtual std::vector<int32_t> encode_target(const std::string& text) const = 0;
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
  virtual int32_t eos_id() const = 0;
  virtual int64_t vocab_size() const = 0;
  // The `n` most common ordinary tokens (no specials), for prompt initialisation from vocabulary
  // (Lester et al. 2021 §3.2: "sampled from the 5,000 most common tokens"). SentencePiece and BPE
  // vocabularies are ordered by frequency / merge rank, so these are the first ordinary ids.
  virtual std::vector<int32_t> common_token_ids(int64_t n) const = 0;
  // Shortens an encoded input to at most max_tokens, keeping what the family needs: T5 keeps the
  // head and the closing </s>; decoder-only models keep BOS and the tail (the answer cue).
  virtual std::vector<int32_t> truncate_input(const std::vector<int32_t>& ids, int64_t max_tokens) const {
    if (max_tokens <= 0 || static_cast<int64_t>(ids.size()) <= max_tokens) return ids;
    std::vector<int32_t> out(ids.begin(), ids.begin() + (max_tokens - 1));
    out.push_back(ids.back());
    return out;
  }
};

}  // namespace spot
