// text.cpp — Python-compatible string helpers on UTF-8, built on ICU's character properties.
#include "eval/text.h"

#include <unicode/uchar.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>

#include "base/check.h"

namespace spot::eval::text {
namespace {

// Decodes the code point at byte offset i and advances i; invalid sequences are a caller error
// (every reader validates its input with valid_utf8 first).
char32_t next_cp(std::string_view s, size_t& i) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const int32_t n = static_cast<int32_t>(s.size());
  int32_t k = static_cast<int32_t>(i);
  UChar32 c = 0;
  U8_NEXT(p, k, n, c);
  SPOT_CHECK(c >= 0, "invalid UTF-8 at byte " << i);
  i = static_cast<size_t>(k);
  return static_cast<char32_t>(c);
}

std::u16string to_utf16(std::string_view s) {
  UErrorCode err = U_ZERO_ERROR;
  int32_t len = 0;
  u_strFromUTF8(nullptr, 0, &len, s.data(), static_cast<int32_t>(s.size()), &err);
  SPOT_CHECK(err == U_BUFFER_OVERFLOW_ERROR || U_SUCCESS(err), "invalid UTF-8 text: " << u_errorName(err));
  std::u16string out(static_cast<size_t>(len), u'\0');
  err = U_ZERO_ERROR;
  u_strFromUTF8(out.data(), len, nullptr, s.data(), static_cast<int32_t>(s.size()), &err);
  SPOT_CHECK(U_SUCCESS(err), "invalid UTF-8 text: " << u_errorName(err));
  return out;
}

std::string to_utf8(const std::u16string& s) {
  UErrorCode err = U_ZERO_ERROR;
  int32_t len = 0;
  u_strToUTF8(nullptr, 0, &len, s.data(), static_cast<int32_t>(s.size()), &err);
  SPOT_CHECK(err == U_BUFFER_OVERFLOW_ERROR || U_SUCCESS(err), "UTF-16 to UTF-8 failed: " << u_errorName(err));
  std::string out(static_cast<size_t>(len), '\0');
  err = U_ZERO_ERROR;
  u_strToUTF8(out.data(), len, nullptr, s.data(), static_cast<int32_t>(s.size()), &err);
  SPOT_CHECK(U_SUCCESS(err), "UTF-16 to UTF-8 failed: " << u_errorName(err));
  return out;
}

// Full case mapping of a whole string (context matters: final sigma), root locale as Python.
std::string map_case(std::string_view s, bool to_lower) {
  const std::u16string in = to_utf16(s);
  UErrorCode err = U_ZERO_ERROR;
  auto fn = to_lower ? u_strToLower : u_strToUpper;
  const int32_t len = fn(nullptr, 0, in.data(), static_cast<int32_t>(in.size()), "", &err);
  SPOT_CHECK(err == U_BUFFER_OVERFLOW_ERROR || U_SUCCESS(err), "case mapping failed: " << u_errorName(err));
  std::u16string out(static_cast<size_t>(len), u'\0');
  err = U_ZERO_ERROR;
  fn(out.data(), len, in.data(), static_cast<int32_t>(in.size()), "", &err);
  SPOT_CHECK(U_SUCCESS(err), "case mapping failed: " << u_errorName(err));
  return to_utf8(out);
}

}  // namespace

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const int32_t n = static_cast<int32_t>(s.size());
  int32_t i = 0;
  while (i < n) {
    UChar32 c = 0;
    U8_NEXT(p, i, n, c);
    if (c < 0) return false;
  }
  return true;
}

std::string lower(std::string_view s) {
  bool ascii = true;
  for (char ch : s)
    if (static_cast<unsigned char>(ch) >= 0x80) ascii = false;
  if (ascii) {  // the common case, and identical to the full mapping on ASCII
    std::string out(s);
    for (char& ch : out)
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    return out;
  }
  return map_case(s, true);
}

bool is_space(char32_t c) {
  const UCharDirection d = u_charDirection(static_cast<UChar32>(c));
  return d == U_WHITE_SPACE_NEUTRAL || d == U_BLOCK_SEPARATOR || d == U_SEGMENT_SEPARATOR ||
         u_charType(static_cast<UChar32>(c)) == U_SPACE_SEPARATOR;
}

bool is_word_char(char32_t c) {
  if (c == U'_') return true;
  const auto cp = static_cast<UChar32>(c);
  if (U_GET_GC_MASK(cp) & U_GC_L_MASK) return true;  // str.isalpha(): Lu Ll Lt Lm Lo
  return u_getIntPropertyValue(cp, UCHAR_NUMERIC_TYPE) != U_NT_NONE;  // isdecimal/isdigit/isnumeric
}

std::vector<std::string> split_whitespace(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0, start = std::string_view::npos;
  while (i < s.size()) {
    const size_t at = i;
    const char32_t c = next_cp(s, i);
    if (is_space(c)) {
      if (start != std::string_view::npos) out.emplace_back(s.substr(start, at - start));
      start = std::string_view::npos;
    } else if (start == std::string_view::npos) {
      start = at;
    }
  }
  if (start != std::string_view::npos) out.emplace_back(s.substr(start));
  return out;
}

std::vector<std::string> split_on(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == sep) {
      out.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  out.emplace_back(s.substr(start));
  return out;
}

std::string strip(std::string_view s) {
  size_t i = 0, first = s.size(), last = 0;
  while (i < s.size()) {
    const size_t at = i;
    const char32_t c = next_cp(s, i);
    if (!is_space(c)) {
      if (first == s.size()) first = at;
      last = i;
    }
  }
  if (first == s.size()) return {};
  return std::string(s.substr(first, last - first));
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  SPOT_CHECK(!from.empty(), "replace_all: empty pattern");
  std::string out;
  size_t i = 0;
  while (true) {
    const size_t at = s.find(from, i);
    if (at == std::string_view::npos) break;
    out.append(s.substr(i, at - i));
    out.append(to);
    i = at + from.size();
  }
  out.append(s.substr(i));
  return out;
}

std::u32string decode(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) out += next_cp(s, i);
  return out;
}

std::string encode(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) {
    uint8_t buf[4];
    int32_t n = 0;
    UBool error = false;
    U8_APPEND(buf, n, 4, static_cast<UChar32>(c), error);
    SPOT_CHECK(!error, "invalid code point " << static_cast<uint32_t>(c));
    out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
  }
  return out;
}

size_t length(std::string_view s) {
  size_t n = 0, i = 0;
  while (i < s.size()) {
    next_cp(s, i);
    ++n;
  }
  return n;
}

std::string substr(std::string_view s, size_t start, size_t end) {
  size_t i = 0, cp = 0, b_start = s.size(), b_end = s.size();
  while (i < s.size()) {
    if (cp == start) b_start = i;
    if (cp == end) {
      b_end = i;
      break;
    }
    next_cp(s, i);
    ++cp;
  }
  if (start >= end || b_start >= b_end) return {};
  return std::string(s.substr(b_start, b_end - b_start));
}

bool first_is_lower(std::string_view s) {
  if (s.empty()) return false;
  size_t i = 0;
  // Python's islower() on one character is the Unicode Lowercase property (Ll + Other_Lowercase).
  return u_isULowercase(static_cast<UChar32>(next_cp(s, i))) != 0;
}

std::string lower_first(std::string_view s) {
  if (s.empty()) return {};
  size_t i = 0;
  next_cp(s, i);
  return map_case(s.substr(0, i), true) + std::string(s.substr(i));
}

std::string upper_first(std::string_view s) {
  if (s.empty()) return {};
  size_t i = 0;
  next_cp(s, i);
  return map_case(s.substr(0, i), false) + std::string(s.substr(i));
}

}  // namespace spot::eval::text
