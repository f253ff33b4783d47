// sentencepiece.cpp — T5Tokenizer: libsentencepiece for the vocabulary and the normalisation, HF transformers'
// T5Tokenizer rules for special tokens, whitespace and the unigram Viterbi (see sentencepiece.h for why).
#include "model/tokenizer/sentencepiece.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <unordered_map>

#include "base/check.h"

namespace spot {

namespace {

constexpr std::string_view kMetaspace = "\xE2\x96\x81";  // U+2581 "▁", SentencePiece's escaped space
constexpr std::string_view kNel = "\xC2\x85";            // U+0085: whitespace to HF, a character to SentencePiece
// HF tokenizers' Unigram: unknown characters score the lowest piece score minus this (also SentencePiece's value).
constexpr double kUnkPenalty = 10.0;

size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

// --- the few protobuf fields of ModelProto we need (the generated sentencepiece_model.pb.h is not installed).
bool read_varint(std::string_view s, size_t& pos, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64 && pos < s.size(); shift += 7) {
    const auto byte = static_cast<unsigned char>(s[pos++]);
    value |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

// Calls f(field, wire_type, varint value, length-delimited payload) for each top-level field of a message.
template <typename F>
bool for_each_field(std::string_view msg, F&& f) {
  size_t pos = 0;
  while (pos < msg.size()) {
    uint64_t tag = 0, value = 0;
    if (!read_varint(msg, pos, tag)) return false;
    std::string_view payload;
    switch (tag & 7) {
      case 0:
        if (!read_varint(msg, pos, value)) return false;
        break;
      case 1:
        if (msg.size() - pos < 8) return false;
        pos += 8;
        break;
      case 2:
        if (!read_varint(msg, pos, value) || value > msg.size() - pos) return false;
        payload = msg.substr(pos, value);
        pos += value;
        break;
      case 5:
        if (msg.size() - pos < 4) return false;
        pos += 4;
        break;
      default:
        return false;
    }
    f(tag >> 3, tag & 7, value, payload);
  }
  return true;
}

// TrainerSpec.model_type (ModelProto field 2 -> TrainerSpec field 3); UNIGRAM = 1 is the proto default.
int model_type(std::string_view model_proto) {
  int type = 1;
  for_each_field(model_proto, [&](uint64_t field, uint64_t wire, uint64_t, std::string_view trainer_spec) {
    if (field != 2 || wire != 2) return;
    for_each_field(trainer_spec, [&](uint64_t f, uint64_t w, uint64_t v, std::string_view) {
      if (f == 3 && w == 0) type = static_cast<int>(v);
    });
  });
  return type;
}

}  // namespace

struct T5Tokenizer::Impl {
  std::string path;
  sentencepiece::SentencePieceProcessor processor;
  int32_t num_pieces = 0;             // pieces in the model; sentinels follow
  std::vector<std::string> pieces;    // id -> piece, sentinels included  [num_pieces + kNumSentinels]
  std::vector<double> scores;         // id -> unigram log-probability (sentinels 0, as HF)
  std::unordered_map<std::string_view, int32_t> piece_ids;  // views into `pieces`
  size_t max_piece_bytes = 0;
  double unk_score = 0.0;

  // The id of a special token spelled at text[pos...], and its length; -1 when there is none. HF matches the
  // exact strings, on the raw text (before normalisation): "<extra_id_01>" or "<EXTRA_ID_0>" are ordinary text.
  int32_t special_at(std::string_view text, size_t pos, size_t& length) const {
    const std::string_view rest = text.substr(pos);
    for (const auto& [s, id] : {std::pair<std::string_view, int32_t>{"<pad>", kPadId}, {"</s>", kEosId},
                                {"<unk>", kUnkId}}) {
      if (rest.substr(0, s.size()) == s) {
        length = s.size();
        return id;
      }
    }
    constexpr std::string_view kSentinel = "<extra_id_";
    if (rest.substr(0, kSentinel.size()) != kSentinel) return -1;
    size_t i = kSentinel.size();
    int k = 0, digits = 0;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9' && digits < 3) k = k * 10 + (rest[i++] - '0'), ++digits;
    if (digits == 0 || i >= rest.size() || rest[i] != '>' || k >= kNumSentinels) return -1;
    if (digits > 1 && rest[kSentinel.size()] == '0') return -1;  // not a canonical number: not a sentinel
    length = i + 1;
    return num_pieces + kNumSentinels - 1 - k;
  }

  // One segment of text without special tokens -> ids (no </s>).
  void encode_segment(std::string_view segment, std::vector<int32_t>& ids) const {
    if (segment.empty()) return;
    std::string text;  // the segment with NEL as a space
    text.reserve(segment.size());
    for (size_t p = 0; p < segment.size();) {
      const bool nel = segment.substr(p, kNel.size()) == kNel;
      text += nel ? ' ' : segment[p];
      p += nel ? kNel.size() : 1;
    }
    // SentencePiece's own pieces concatenate to its normalised text: NFKC (the model's precompiled charsmap),
    // whitespace runs collapsed to one "▁", leading/trailing whitespace removed, a "▁" before the first word.
    std::vector<std::string> sp_pieces;
    const auto status = processor.Encode(text, &sp_pieces);
    SPOT_CHECK(status.ok(), "T5Tokenizer: SentencePiece failed on text from '" << path << "': " << status.ToString());
    std::string normalized;
    for (const auto& p : sp_pieces) normalized += p;
    // HF segments each whitespace-separated word ("▁" + word) on its own.
    size_t begin = 0;
    while (begin < normalized.size()) {
      size_t end = normalized.find(kMetaspace, begin + 1);
      if (end == std::string::npos) end = normalized.size();
      viterbi(std::string_view(normalized).substr(begin, end - begin), ids);
      begin = end;
    }
  }

  // HF tokenizers' Unigram::encode_optimized: best path over byte positions, float64 scores, the first
  // candidate kept on ties (strict >), characters without a one-character piece scored as unknown, and runs of
  // unknown characters fused into one <unk>.
  void viterbi(std::string_view word, std::vector<int32_t>& ids) const {
    struct Best {
      double score = 0.0;
      int64_t start = -1;  // -1: not reached yet
      int32_t id = -1;
    };
    const size_t n = word.size();
    std::vector<Best> best(n + 1);
    best[0].start = 0;
    for (size_t start = 0; start < n;) {
      const size_t char_len = std::min(utf8_length(static_cast<unsigned char>(word[start])), n - start);
      const double base = best[start].score;
      bool has_single_char_piece = false;
      for (size_t len = 1; len <= std::min(max_piece_bytes, n - start); ++len) {
        const auto it = piece_ids.find(word.substr(start, len));
        if (it == piece_ids.end()) continue;
        const double candidate = base + scores[it->second];
        Best& target = best[start + len];
        if (target.start < 0 || candidate > target.score) target = {candidate, static_cast<int64_t>(start), it->second};
        if (len == char_len) has_single_char_piece = true;
      }
      if (!has_single_char_piece) {
        const double candidate = base + unk_score;
        Best& target = best[start + char_len];
        if (target.start < 0 || candidate > target.score) target = {candidate, static_cast<int64_t>(start), kUnkId};
      }
      start += char_len;
    }
    const size_t first = ids.size();
    for (size_t end = n; end > 0; end = static_cast<size_t>(best[end].start)) {
      const int32_t id = best[end].id;
      if (id == kUnkId && ids.size() > first && ids.back() == kUnkId) continue;  // fuse unknown runs
      ids.push_back(id);
    }
    std::reverse(ids.begin() + static_cast<std::ptrdiff_t>(first), ids.end());
  }
};

T5Tokenizer::T5Tokenizer() = default;
T5Tokenizer::~T5Tokenizer() = default;
T5Tokenizer::T5Tokenizer(T5Tokenizer&&) noexcept = default;
T5Tokenizer& T5Tokenizer::operator=(T5Tokenizer&&) noexcept = default;

const T5Tokenizer::Impl& T5Tokenizer::impl() const {
  SPOT_CHECK(impl_ != nullptr, "T5Tokenizer: no model loaded (call load(path) first)");
  return *impl_;
}

void T5Tokenizer::load(const std::string& model_path) {
  std::error_code ec;
  SPOT_CHECK(std::filesystem::is_regular_file(model_path, ec) && std::ifstream(model_path, std::ios::binary).good(),
             "T5Tokenizer: cannot open SentencePiece model '" << model_path << "' (missing, unreadable or not a file)");

  auto impl = std::make_unique<Impl>();
  impl->path = model_path;
  sentencepiece::util::Status status;
  try {
    status = impl->processor.Load(model_path);
  } catch (const std::exception& e) {  // libsentencepiece's reader can throw on I/O errors
    SPOT_FAIL("T5Tokenizer: reading SentencePiece model '" << model_path << "' failed: " << e.what());
  }
  SPOT_CHECK(status.ok(), "T5Tokenizer: '" << model_path << "' is not a valid SentencePiece model: " << status.ToString());
  const int type = model_type(impl->processor.serialized_model_proto());
  SPOT_CHECK(type == 1, "T5Tokenizer: '" << model_path << "' is a SentencePiece model of type " << type
                                       << ", not unigram (type 1) as T5's spiece.model");
  const auto& sp = impl->processor;
  SPOT_CHECK(sp.pad_id() == kPadId && sp.eos_id() == kEosId && sp.unk_id() == kUnkId,
             "T5Tokenizer: '" << model_path << "' is not a T5 vocabulary: pad/eos/unk ids are " << sp.pad_id() << "/"
                              << sp.eos_id() << "/" << sp.unk_id() << ", T5 needs 0/1/2");

  impl->num_pieces = sp.GetPieceSize();
  const int32_t total = impl->num_pieces + kNumSentinels;
  impl->pieces.reserve(total);
  impl->scores.reserve(total);
  double min_score = std::numeric_limits<double>::infinity();
  for (int32_t id = 0; id < impl->num_pieces; ++id) {
    impl->pieces.push_back(sp.IdToPiece(id));
    impl->scores.push_back(sp.GetScore(id));
  }
  for (int32_t k = kNumSentinels - 1; k >= 0; --k) {
    impl->pieces.push_back("<extra_id_" + std::to_string(k) + ">");
    impl->scores.push_back(0.0);
  }
  // HF's Unigram vocabulary holds every piece, control pieces and sentinels included: a normalised word can
  // match "</s>" (from fullwidth "＜/s＞") as HF does. The first id wins for a repeated string, as in HF.
  for (int32_t id = 0; id < total; ++id) {
    impl->piece_ids.emplace(impl->pieces[id], id);
    impl->max_piece_bytes = std::max(impl->max_piece_bytes, impl->pieces[id].size());
    min_score = std::min(min_score, impl->scores[id]);
  }
  impl->unk_score = min_score - kUnkPenalty;
  impl_ = std::move(impl);
}

std::vector<int32_t> T5Tokenizer::encode(std::string_view text) const {
  const Impl& m = impl();
  std::vector<int32_t> ids;
  size_t segment_begin = 0;
  for (size_t pos = text.find('<'); pos != std::string_view::npos; pos = text.find('<', pos)) {
    size_t length = 0;
    const int32_t special = m.special_at(text, pos, length);
    if (special < 0) {
      ++pos;
      continue;
    }
    m.encode_segment(text.substr(segment_begin, pos - segment_begin), ids);
    ids.push_back(special);
    pos += length;
    segment_begin = pos;
  }
  m.encode_segment(text.substr(segment_begin), ids);
  ids.push_back(kEosId);
  return ids;
}

std::string T5Tokenizer::decode(const std::vector<int32_t>& ids) const {
  const Impl& m = impl();
  std::string text;
  bool first = true;
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    SPOT_CHECK(id >= 0 && id < vocab_size(),
               "T5Tokenizer::decode: id " << id << " at position " << i << " is outside [0, " << vocab_size() << ")");
    if (id >= m.num_pieces || m.processor.IsControl(id) || m.processor.IsUnknown(id)) continue;
    // HF's Metaspace decoder: "▁" -> " ", except that every "▁" of the first kept piece is dropped.
    const std::string_view piece = m.pieces[id];
    for (size_t p = 0; p < piece.size();) {
      if (piece.substr(p, kMetaspace.size()) == kMetaspace) {
        if (!first) text += ' ';
        p += kMetaspace.size();
      } else {
        text += piece[p++];
      }
    }
    first = false;
  }
  return text;
}

std::string T5Tokenizer::id_to_piece(int32_t id) const {
  const Impl& m = impl();
  SPOT_CHECK(id >= 0 && id < vocab_size(), "T5Tokenizer::id_to_piece: id " << id << " is outside [0, " << vocab_size() << ")");
  return m.pieces[id];
}

int32_t T5Tokenizer::piece_to_id(std::string_view piece) const {
  const Impl& m = impl();
  const auto it = m.piece_ids.find(piece);
  return it == m.piece_ids.end() ? kUnkId : it->second;
}

int32_t T5Tokenizer::vocab_size() const { return impl().num_pieces + kNumSentinels; }

}  // namespace spot
