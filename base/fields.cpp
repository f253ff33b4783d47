// fields.cpp — value texts, kind names and command-line parsing for field tables (fields.h).
#include "base/fields.h"

#include <cerrno>
#include <charconv>
#include <cstdlib>

namespace spot {

const char* field_kind_name(FieldKind k) {
  switch (k) {
    case FieldKind::Integer: return "integer";
    case FieldKind::Number: return "number";
    case FieldKind::String: return "string";
    case FieldKind::Bool: return "bool";
    case FieldKind::Strings: return "array of strings";
  }
  return "?";
}

std::string field_value_text(const FieldValue& v) {
  struct Visit {
    std::string operator()(int64_t x) const { return std::to_string(x); }
    std::string operator()(double x) const {
      char b[32];
      const auto r = std::to_chars(b, b + sizeof b, x);  // shortest round-trip form
      std::string s(b, r.ptr);
      if (s.find_first_of(".e") == std::string::npos) s += ".0";
      return s;
    }
    std::string operator()(const std::string& x) const { return "\"" + x + "\""; }
    std::string operator()(bool x) const { return x ? "true" : "false"; }
    std::string operator()(const std::vector<std::string>& x) const {
      std::string s = "[";
      for (size_t i = 0; i < x.size(); ++i) s += (i ? ", \"" : "\"") + x[i] + "\"";
      return s + "]";
    }
  };
  return std::visit(Visit{}, v);
}

FieldValue field_value_from_text(FieldKind kind, const std::string& flag, const std::string& text) {
  switch (kind) {
    case FieldKind::Integer: {
      char* end = nullptr;
      errno = 0;
      const long long x = std::strtoll(text.c_str(), &end, 10);
      SPOT_CHECK(errno != ERANGE, "option --" << flag << ": '" << text << "' is out of range");
      SPOT_CHECK(end && *end == '\0' && !text.empty(), "option --" << flag << ": '" << text << "' is not an integer");
      return static_cast<int64_t>(x);
    }
    case FieldKind::Number: {
      char* end = nullptr;
      const double x = std::strtod(text.c_str(), &end);
      SPOT_CHECK(end && *end == '\0' && !text.empty(), "option --" << flag << ": '" << text << "' is not a number");
      SPOT_CHECK(std::isfinite(x), "option --" << flag << ": '" << text << "' is not a finite number");
      return x;
    }
    case FieldKind::Bool:
      SPOT_CHECK(text == "true" || text == "false", "option --" << flag << ": '" << text << "' is not true or false");
      return text == "true";
    case FieldKind::String: return text;
    case FieldKind::Strings: {
      std::vector<std::string> out;
      std::string item;
      for (char c : text + ",") {
        if (c == ',') {
          if (!item.empty()) out.push_back(item);
          item.clear();
        } else {
          item += c;
        }
      }
      return out;
    }
  }
  return text;
}

}  // namespace spot
