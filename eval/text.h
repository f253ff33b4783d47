// text.h — Python-compatible string helpers for the evaluation code (UTF-8 in, UTF-8 out).
//
// T5's preprocessors and metrics are Python (and TensorFlow string ops); reproducing their output
// byte for byte needs Python's definitions of lower-casing, whitespace, `\w` and code-point
// indexing, not the C locale's. ICU supplies the Unicode character properties; each helper names
// the Python function it matches.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace spot::eval::text {

// True when s is well-formed UTF-8 (what Python's strict decoder accepts).
bool valid_utf8(std::string_view s);

// Python str.lower(): full Unicode lower-case mapping (ICU root locale; handles final sigma).
std::string lower(std::string_view s);

// Python str.isspace() for one code point: bidirectional class WS, B or S, or category Zs.
bool is_space(char32_t c);

// Python `re` \w for str patterns: str.isalnum() (letters and characters with a numeric type) or '_'.
bool is_word_char(char32_t c);

// Python str.split() with no argument: split on runs of Unicode whitespace, no empty pieces.
std::vector<std::string> split_whitespace(std::string_view s);

// Python str.split(sep) / tf.strings.split(sep=...) with a one-byte separator: empty pieces kept.
std::vector<std::string> split_on(std::string_view s, char sep);

// Python str.strip(): Unicode whitespace removed at both ends.
std::string strip(std::string_view s);

std::string join(const std::vector<std::string>& parts, std::string_view sep);

// Every non-overlapping occurrence of `from`, left to right (str.replace / a literal regex_replace).
std::string replace_all(std::string_view s, std::string_view from, std::string_view to);

// UTF-8 <-> code points (the input must be valid UTF-8).
std::u32string decode(std::string_view s);
std::string encode(std::u32string_view s);

// Number of code points (Python len()).
size_t length(std::string_view s);

// Python s[start:end] on code points, with end clamped to the length; byte offsets are computed.
std::string substr(std::string_view s, size_t start, size_t end);

// Python s[0].islower() for the first code point (false on an empty string).
bool first_is_lower(std::string_view s);

// Python s[0].lower() + s[1:] / s[0].upper() + s[1:].
std::string lower_first(std::string_view s);
std::string upper_first(std::string_view s);

}  // namespace spot::eval::text
