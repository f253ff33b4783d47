// sentencepiece.h — the T5 tokenizer: T5's SentencePiece vocabulary (spiece.model, read with Debian's
// libsentencepiece) encoded exactly as HF transformers' T5Tokenizer does (transformers 5.24, the reference).
//
// Ids equal HF's on every text we have compared (the 260 lines of tests/golden/tokenizer/t5_ids.jsonl and
// all ~584k distinct GLUE/SuperGLUE/SPoT-source texts of ../shared/data). Plain SentencePiece differs from HF
// in three ways, all replicated here (tests/golden/README.md, "Tokenizer"):
//   1. HF splits the raw text on its special tokens (<pad>, </s>, <unk>, <extra_id_0..99>) first and encodes
//      each piece of text between them separately;
//   2. HF's whitespace split also splits at U+0085 (NEL), which SentencePiece's normaliser keeps as a character;
//   3. HF's Viterbi adds scores in float64 and keeps the first of equal-score paths; libsentencepiece adds in
//      float32, so some ties ("xxx" = x + xx or xx + x) break the other way. Segmentation is therefore done
//      here, per whitespace-separated word, on the text as SentencePiece normalises it (NFKC + whitespace).
// Known residual difference (none in our data): HF's normaliser works per grapheme cluster and, for a cluster
// with a normalisation rule for its first character, drops the cluster's combining marks (e.g. NFD Vietnamese);
// SentencePiece keeps them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace spot {

class T5Tokenizer {
 public:
  static constexpr int32_t kPadId = 0;  // <pad>, also the decoder start token
  static constexpr int32_t kEosId = 1;  // </s>, appended by encode()
  static constexpr int32_t kUnkId = 2;  // <unk>
  static constexpr int32_t kNumSentinels = 100;  // <extra_id_k> = vocab_size() - 1 - k, after the pieces

  T5Tokenizer();
  explicit T5Tokenizer(const std::string& model_path) : T5Tokenizer() { load(model_path); }
  ~T5Tokenizer();
  T5Tokenizer(T5Tokenizer&&) noexcept;
  T5Tokenizer& operator=(T5Tokenizer&&) noexcept;

  // Reads a SentencePiece unigram model. Throws spot::Error naming the file when it is missing or unreadable,
  // is not a SentencePiece model, is not a unigram model, or lacks T5's <pad>=0, </s>=1, <unk>=2.
  void load(const std::string& model_path);
  bool loaded() const { return impl_ != nullptr; }

  // Text -> ids with </s> appended, as HF's tokenizer(text).input_ids. Special-token strings in the text
  // ("</s>", "<extra_id_0>", ...) become their ids, as in HF.
  std::vector<int32_t> encode(std::string_view text) const;
  // Ids -> text as HF's decode(ids, skip_special_tokens=True): <pad>, </s>, <unk> and sentinels are skipped,
  // "▁" becomes a space, the first piece's leading "▁" is dropped. Throws on an id outside [0, vocab_size()).
  std::string decode(const std::vector<int32_t>& ids) const;

  std::string id_to_piece(int32_t id) const;  // throws on an id outside [0, vocab_size())
  int32_t piece_to_id(std::string_view piece) const;  // kUnkId for a string that is no piece (as HF and spm)
  // Pieces in the model plus the 100 sentinels (32100 for T5; the T5 checkpoints pad their embedding to 32128).
  int32_t vocab_size() const;

 private:
  struct Impl;
  const Impl& impl() const;  // throws when nothing is loaded
  std::unique_ptr<Impl> impl_;
};

}  // namespace spot
