// bpe.cpp — byte-level BPE from GGUF metadata: vocabulary and merge ranks, PCRE2 pre-tokenisation,
// the per-piece merge loop of Hugging Face `tokenizers` (models/bpe/word.rs: a min-heap of
// (rank, position) candidates), a piece cache, decoding and the ChatML chat template.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "model/tokenizer/bpe.h"

#include <pcre2.h>

#include <array>
#include <mutex>
#include <queue>
#include <unordered_map>

#include "base/check.h"

namespace spot::tokenizer {
namespace {

// ------------------------------------------------------------------ UTF-8 helpers

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes one code point at s[i]; returns false for invalid UTF-8 (overlong forms, surrogates,
// code points past U+10FFFF, truncated sequences), as PCRE2's UTF check does.
bool next_code_point(std::string_view s, size_t& i, uint32_t& cp) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c = b(i);
  size_t n;
  if (c < 0x80) { cp = c; n = 1; }
  else if ((c & 0xE0) == 0xC0) { cp = c & 0x1F; n = 2; }
  else if ((c & 0xF0) == 0xE0) { cp = c & 0x0F; n = 3; }
  else if ((c & 0xF8) == 0xF0) { cp = c & 0x07; n = 4; }
  else return false;
  if (i + n > s.size()) return false;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  i += n;
  return true;
}

// Byte offset of the first invalid UTF-8 sequence, or npos.
size_t invalid_utf8_at(std::string_view s) {
  size_t i = 0;
  uint32_t cp;
  while (i < s.size()) {
    const size_t at = i;
    if (!next_code_point(s, i, cp)) return at;
  }
  return std::string_view::npos;
}

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 bytes
// for U+0100 + k in byte order.
std::array<uint32_t, 256> byte_to_code_point() {
  std::array<uint32_t, 256> map{};
  uint32_t extra = 0;
  for (uint32_t b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    map[b] = printable ? b : 256 + extra++;
  }
  return map;
}

// ------------------------------------------------------------------ PCRE2

struct Regex {
  pcre2_code* code = nullptr;
  std::string pattern;
  Regex(const std::string& p) : pattern(p) {
    int err = 0;
    PCRE2_SIZE err_off = 0;
    code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.c_str()), p.size(), PCRE2_UTF | PCRE2_UCP, &err, &err_off,
                         nullptr);
    if (!code) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof msg);
      SPOT_FAIL("pre-tokenizer regex does not compile at " << err_off << ": " << reinterpret_cast<char*>(msg)
                                                           << " in " << p);
    }
    // JIT is an optimisation: when unavailable pcre2_match interprets the same pattern.
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  }
  ~Regex() { pcre2_code_free(code); }
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
};

struct MatchData {
  pcre2_match_data* md = pcre2_match_data_create(1, nullptr);  // patterns have no capture groups
  MatchData() { SPOT_CHECK(md, "out of memory creating PCRE2 match data"); }
  ~MatchData() { pcre2_match_data_free(md); }
  MatchData(const MatchData&) = delete;
  MatchData& operator=(const MatchData&) = delete;
};

// Splits s at the regex's matches, keeping both the matches and the text between them as pieces
// (tokenizers' SplitDelimiterBehavior::Isolated). Lookarounds see only s.
void split_isolated(const Regex& re, std::string_view s, pcre2_match_data* md, std::vector<std::string_view>& out) {
  size_t pos = 0, last = 0;
  while (pos < s.size()) {
    const int rc = pcre2_match(re.code, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), pos, PCRE2_NO_UTF_CHECK,
                               md, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof msg);
      SPOT_FAIL("pre-tokenizer regex failed: " << reinterpret_cast<char*>(msg));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    const size_t ms = ov[0], me = ov[1];
    if (me == ms) {  // cannot happen with our patterns; step over one character to stay finite
      uint32_t cp;
      pos = ms;
      if (!next_code_point(s, pos, cp)) pos = ms + 1;
      continue;
    }
    if (ms > last) out.push_back(s.substr(last, ms - last));
    out.push_back(s.substr(ms, me - ms));
    last = pos = me;
  }
  if (last < s.size()) out.push_back(s.substr(last));
}

// The GPT-2 split. \s is written [\s\x{85}]: Oniguruma (which `tokenizers` uses) counts U+0085
// (NEL) as space, PCRE2's UCP \s does not.
const char* kGpt2Split =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\x{85}\p{L}\p{N}]+|[\s\x{85}]+(?![^\s\x{85}])|[\s\x{85}]+)";
const char* kDigitSplit = R"(\p{N})";

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

constexpr int32_t kTypeControl = 3;
constexpr int32_t kTypeUserDefined = 4;
constexpr size_t kCacheMaxEntries = 1 << 17;

}  // namespace

// ------------------------------------------------------------------ Impl

struct BpeTokenizer::Impl {
  std::string path;
  std::string pre;
  std::vector<std::string> tokens;  // as spelled in the vocabulary (byte-level alphabet)
  std::vector<std::string> bytes;   // what each token stands for
  std::vector<int32_t> token_type;
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> vocab;
  struct Merge {
    int32_t rank;
    int32_t id;
  };
  std::unordered_map<uint64_t, Merge> merges;  // (left id << 32 | right id) -> rank, merged id
  std::array<int32_t, 256> byte_id{};          // the single-byte token of each byte, -1 if none
  std::vector<std::unique_ptr<Regex>> splits;  // applied in sequence
  struct Special {
    std::string text;
    int32_t id;
    bool control;  // CONTROL: only with parse_special; USER_DEFINED: always
  };
  std::vector<Special> specials;
  int32_t bos = -1, eos = -1, unk = -1, pad = -1;
  std::string chat_template;
  bool chatml = false;
  std::string default_system;

  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache;

  const Merge* find_merge(int32_t a, int32_t b) const {
    auto it = merges.find((static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b));
    return it == merges.end() ? nullptr : &it->second;
  }

  void bpe_piece(std::string_view piece, std::vector<int32_t>& out) const;
  void encode_text(std::string_view text, pcre2_match_data* md, std::vector<int32_t>& out) const;
};

// One pre-token: bytes -> single-byte tokens -> merges, lowest rank first, leftmost on ties
// (tokenizers' Word::merge_all; dropout off).
void BpeTokenizer::Impl::bpe_piece(std::string_view piece, std::vector<int32_t>& out) const {
  {
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto it = cache.find(piece);
    if (it != cache.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  struct Symbol {
    int32_t id;
    int32_t prev, next;
    bool alive;
  };
  std::vector<Symbol> sym;
  sym.reserve(piece.size());
  for (unsigned char b : piece) {
    if (byte_id[b] < 0) continue;  // no token for this byte: dropped, as tokenizers does without unk
    const int32_t k = static_cast<int32_t>(sym.size());
    sym.push_back({byte_id[b], k - 1, k + 1, true});
  }
  if (!sym.empty()) sym.back().next = -1;

  struct Candidate {
    int32_t rank, pos, id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  for (int32_t k = 0; k + 1 < static_cast<int32_t>(sym.size()); ++k)
    if (const Merge* m = find_merge(sym[k].id, sym[k + 1].id)) queue.push({m->rank, k, m->id});

  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = sym[top.pos];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = sym[left.next];
    // A stale candidate: one side has merged since it was queued.
    const Merge* m = find_merge(left.id, right.id);
    if (!m || m->id != top.id) continue;
    left.id = top.id;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) sym[right.next].prev = top.pos;
    if (left.prev >= 0)
      if (const Merge* pm = find_merge(sym[left.prev].id, left.id)) queue.push({pm->rank, left.prev, pm->id});
    if (left.next >= 0)
      if (const Merge* nm = find_merge(left.id, sym[left.next].id)) queue.push({nm->rank, top.pos, nm->id});
  }

  std::vector<int32_t> ids;
  for (const Symbol& s : sym)
    if (s.alive) ids.push_back(s.id);
  out.insert(out.end(), ids.begin(), ids.end());
  std::lock_guard<std::mutex> lock(cache_mutex);
  if (cache.size() >= kCacheMaxEntries) cache.clear();
  cache.emplace(std::string(piece), std::move(ids));
}

// Text without special tokens: pre-tokenise (the split regexes in sequence), then BPE per piece.
void BpeTokenizer::Impl::encode_text(std::string_view text, pcre2_match_data* md, std::vector<int32_t>& out) const {
  if (text.empty()) return;
  std::vector<std::string_view> pieces{text}, next;
  for (const auto& re : splits) {
    next.clear();
    for (std::string_view p : pieces) split_isolated(*re, p, md, next);
    pieces.swap(next);
  }
  for (std::string_view p : pieces) bpe_piece(p, out);
}

// ------------------------------------------------------------------ construction

BpeTokenizer BpeTokenizer::from_gguf(const io::GgufFile& f) {
  auto impl = std::make_shared<Impl>();
  Impl& t = *impl;
  t.path = f.path();
  const std::string model = f.get_string("tokenizer.ggml.model");
  SPOT_CHECK(model == "gpt2", f.path() << ": tokenizer.ggml.model is '" << model
                                       << "', expected 'gpt2' (byte-level BPE)");
  t.pre = f.has("tokenizer.ggml.pre") ? f.get_string("tokenizer.ggml.pre") : "default";
  if (t.pre == "smollm") {
    t.splits.push_back(std::make_unique<Regex>(kDigitSplit));
    t.splits.push_back(std::make_unique<Regex>(kGpt2Split));
  } else if (t.pre == "gpt2" || t.pre == "default") {
    t.splits.push_back(std::make_unique<Regex>(kGpt2Split));
  } else {
    SPOT_FAIL(f.path() << ": tokenizer.ggml.pre '" << t.pre << "' is not supported (supported: smollm, gpt2, default)");
  }

  const std::vector<std::string>& raw_tokens = f.get_string_array("tokenizer.ggml.tokens");
  const size_t n = raw_tokens.size();
  SPOT_CHECK(n > 0 && n < (size_t{1} << 31), f.path() << ": tokenizer.ggml.tokens has " << n << " entries");
  if (f.has("tokenizer.ggml.token_type")) {
    t.token_type = f.get_i32_array("tokenizer.ggml.token_type");
    SPOT_CHECK(t.token_type.size() == n, f.path() << ": tokenizer.ggml.token_type has " << t.token_type.size()
                                                  << " entries for " << n << " tokens");
  } else {
    t.token_type.assign(n, 1);  // NORMAL
  }

  // Byte-level alphabet, both ways.
  const std::array<uint32_t, 256> b2u = byte_to_code_point();
  std::unordered_map<uint32_t, uint8_t> u2b;
  std::array<std::string, 256> byte_char;
  for (uint32_t b = 0; b < 256; ++b) {
    u2b[b2u[b]] = static_cast<uint8_t>(b);
    append_utf8(byte_char[b], b2u[b]);
  }

  // Token spellings and bytes. A token not written in the byte alphabet (or not valid UTF-8) is
  // taken as raw text and respelled, as transformers' GGUF byte_level_tokenizer does.
  t.tokens.resize(n);
  t.bytes.resize(n);
  t.vocab.reserve(n);
  for (size_t id = 0; id < n; ++id) {
    const std::string& tok = raw_tokens[id];
    std::string decoded;
    bool in_alphabet = invalid_utf8_at(tok) == std::string_view::npos;
    for (size_t i = 0; in_alphabet && i < tok.size();) {
      uint32_t cp;
      next_code_point(tok, i, cp);
      auto it = u2b.find(cp);
      if (it == u2b.end()) in_alphabet = false;
      else decoded += static_cast<char>(it->second);
    }
    if (in_alphabet) {
      t.tokens[id] = tok;
      t.bytes[id] = std::move(decoded);
    } else {
      for (unsigned char b : tok) t.tokens[id] += byte_char[b];
      t.bytes[id] = tok;
    }
    // Duplicates keep the first id.
    t.vocab.emplace(t.tokens[id], static_cast<int32_t>(id));
  }
  for (uint32_t b = 0; b < 256; ++b) {
    auto it = t.vocab.find(byte_char[b]);
    t.byte_id[b] = it == t.vocab.end() ? -1 : it->second;
  }

  // Merges: "left right" in rank order; both sides and their concatenation must be tokens.
  const std::vector<std::string>& merges = f.get_string_array("tokenizer.ggml.merges");
  t.merges.reserve(merges.size() * 2);
  for (size_t r = 0; r < merges.size(); ++r) {
    const std::string& m = merges[r];
    const size_t sp = m.find(' ', 1);
    SPOT_CHECK(sp != std::string::npos && sp + 1 < m.size(),
               f.path() << ": tokenizer.ggml.merges[" << r << "] = '" << m << "' is not 'left right'");
    const std::string left = m.substr(0, sp), right = m.substr(sp + 1);
    auto li = t.vocab.find(left), ri = t.vocab.find(right), mi = t.vocab.find(left + right);
    SPOT_CHECK(li != t.vocab.end() && ri != t.vocab.end() && mi != t.vocab.end(),
               f.path() << ": tokenizer.ggml.merges[" << r << "] = '" << m
                        << "' names a token that is not in the vocabulary");
    const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(li->second)) << 32) |
                         static_cast<uint32_t>(ri->second);
    t.merges.emplace(key, Impl::Merge{static_cast<int32_t>(r), mi->second});  // first (best) rank wins
  }

  auto id_key = [&](const char* key, int32_t& dst) {
    if (!f.has(key)) return;
    const uint64_t v = f.get_uint(key);
    SPOT_CHECK(v < n, f.path() << ": " << key << " = " << v << " is outside the vocabulary of " << n);
    dst = static_cast<int32_t>(v);
  };
  id_key("tokenizer.ggml.bos_token_id", t.bos);
  id_key("tokenizer.ggml.eos_token_id", t.eos);
  id_key("tokenizer.ggml.unknown_token_id", t.unk);
  id_key("tokenizer.ggml.padding_token_id", t.pad);

  // Whole-token matches: CONTROL tokens written in the byte alphabet (transformers skips the
  // others as mislabelled) and USER_DEFINED tokens.
  for (size_t id = 0; id < n; ++id) {
    const int32_t type = t.token_type[id];
    if (type != kTypeControl && type != kTypeUserDefined) continue;
    if (t.bytes[id].empty()) continue;
    if (type == kTypeControl && t.tokens[id] != raw_tokens[id]) continue;
    t.specials.push_back({t.bytes[id], static_cast<int32_t>(id), type == kTypeControl});
  }

  // Chat template: understood when it is ChatML; the default system prompt is the text the
  // template writes between "<|im_start|>system\n" and "<|im_end|>".
  if (f.has("tokenizer.chat_template")) {
    t.chat_template = f.get_string("tokenizer.chat_template");
    t.chatml = t.chat_template.find("<|im_start|>") != std::string::npos &&
               t.chat_template.find("<|im_end|>") != std::string::npos;
    for (const char* opener : {"<|im_start|>system\n", "<|im_start|>system\\n"}) {
      const size_t at = t.chat_template.find(opener);
      if (at == std::string::npos) continue;
      const size_t start = at + std::char_traits<char>::length(opener);
      const size_t end = t.chat_template.find("<|im_end|>", start);
      if (end == std::string::npos) break;
      std::string s = t.chat_template.substr(start, end - start);
      // Undo Jinja string-literal escapes a template may use (\n, \', \").
      std::string unescaped;
      for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
          const char e = s[++i];
          unescaped += e == 'n' ? '\n' : e;
        } else {
          unescaped += s[i];
        }
      }
      // A template that only shows a system turn when the caller gives one has no default.
      if (unescaped.find("{{") == std::string::npos && unescaped.find("{%") == std::string::npos)
        t.default_system = unescaped;
      break;
    }
  }

  BpeTokenizer tok;
  tok.impl_ = std::move(impl);
  return tok;
}

// ------------------------------------------------------------------ encode / decode

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool add_bos, bool parse_special) const {
  const Impl& t = *impl_;
  const size_t bad = invalid_utf8_at(text);
  SPOT_CHECK(bad == std::string_view::npos, "BPE encode: input is not valid UTF-8 at byte " << bad);
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  if (add_bos) {
    SPOT_CHECK(t.bos >= 0, t.path << ": encode with add_bos, but the file names no tokenizer.ggml.bos_token_id");
    out.push_back(t.bos);
  }
  MatchData md;
  // Special tokens: repeatedly take the leftmost occurrence of any active one (the longest on a
  // tie), encode the text before it, emit its id. next_at caches each token's next occurrence.
  std::vector<const Impl::Special*> active;
  for (const Impl::Special& s : t.specials)
    if (parse_special || !s.control) active.push_back(&s);
  std::vector<size_t> next_at(active.size(), 0);
  std::vector<bool> stale(active.size(), true);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t best_at = std::string_view::npos;
    const Impl::Special* best = nullptr;
    for (size_t k = 0; k < active.size(); ++k) {
      if (stale[k] || (next_at[k] != std::string_view::npos && next_at[k] < pos)) {
        next_at[k] = text.find(active[k]->text, pos);
        stale[k] = false;
      }
      const size_t at = next_at[k];
      if (at == std::string_view::npos) continue;
      if (at < best_at || (at == best_at && active[k]->text.size() > best->text.size())) {
        best_at = at;
        best = active[k];
      }
    }
    if (!best) break;
    t.encode_text(text.substr(pos, best_at - pos), md.md, out);
    out.push_back(best->id);
    pos = best_at + best->text.size();
  }
  if (pos < text.size()) t.encode_text(text.substr(pos), md.md, out);
  return out;
}

std::string BpeTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  const Impl& t = *impl_;
  std::string out;
  for (int32_t id : ids) {
    SPOT_CHECK(id >= 0 && static_cast<size_t>(id) < t.tokens.size(),
               "BPE decode: id " << id << " is outside the vocabulary of " << t.tokens.size());
    if (skip_special && t.token_type[id] == kTypeControl) continue;
    out += t.bytes[id];
  }
  return out;
}

// ------------------------------------------------------------------ vocabulary

int64_t BpeTokenizer::vocab_size() const { return static_cast<int64_t>(impl_->tokens.size()); }

int32_t BpeTokenizer::token_to_id(std::string_view token) const {
  auto it = impl_->vocab.find(token);
  return it == impl_->vocab.end() ? -1 : it->second;
}

const std::string& BpeTokenizer::id_to_token(int32_t id) const {
  SPOT_CHECK(id >= 0 && static_cast<size_t>(id) < impl_->tokens.size(),
             "token id " << id << " is outside the vocabulary of " << impl_->tokens.size());
  return impl_->tokens[id];
}

const std::string& BpeTokenizer::token_bytes(int32_t id) const {
  SPOT_CHECK(id >= 0 && static_cast<size_t>(id) < impl_->tokens.size(),
             "token id " << id << " is outside the vocabulary of " << impl_->tokens.size());
  return impl_->bytes[id];
}

bool BpeTokenizer::is_control(int32_t id) const {
  SPOT_CHECK(id >= 0 && static_cast<size_t>(id) < impl_->tokens.size(),
             "token id " << id << " is outside the vocabulary of " << impl_->tokens.size());
  return impl_->token_type[id] == kTypeControl;
}

int32_t BpeTokenizer::bos_id() const { return impl_->bos; }
int32_t BpeTokenizer::eos_id() const { return impl_->eos; }
int32_t BpeTokenizer::unk_id() const { return impl_->unk; }
int32_t BpeTokenizer::pad_id() const { return impl_->pad; }
const std::string& BpeTokenizer::pre_tokenizer() const { return impl_->pre; }
const std::string& BpeTokenizer::default_system_prompt() const { return impl_->default_system; }

// ------------------------------------------------------------------ chat template

std::string BpeTokenizer::apply_chat_template(const std::vector<ChatMessage>& messages,
                                              bool add_generation_prompt) const {
  const Impl& t = *impl_;
  SPOT_CHECK(!t.chat_template.empty(), t.path << ": the file has no tokenizer.chat_template");
  SPOT_CHECK(t.chatml, t.path << ": tokenizer.chat_template is not ChatML (<|im_start|>role\\n...<|im_end|>); "
                                 "only ChatML templates are supported");
  std::string out;
  for (size_t k = 0; k < messages.size(); ++k) {
    if (k == 0 && messages[0].role != "system" && !t.default_system.empty())
      out += "<|im_start|>system\n" + t.default_system + "<|im_end|>\n";
    out += "<|im_start|>" + messages[k].role + "\n" + messages[k].content + "<|im_end|>\n";
  }
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

std::vector<int32_t> BpeTokenizer::encode_chat(const std::vector<ChatMessage>& messages,
                                               bool add_generation_prompt) const {
  return encode(apply_chat_template(messages, add_generation_prompt), false, true);
}

}  // namespace spot::tokenizer
