// fields.h — field-descriptor tables: one row per field of a configuration struct (its key, CLI
// flag, kind, meaning, default and check), so that one table drives the JSON reader and writer
// (io/json_fields.h), the command-line flags and their --help, and the schema documentation
// (experiments/SCHEMA.md, checked against the tables by a test). Enumerations are parsed here, at
// the edge: the struct holds the enum, the table the names.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "base/check.h"

namespace spot {

enum class FieldKind : uint8_t { Integer, Number, String, Bool, Strings };
const char* field_kind_name(FieldKind k);  // "integer", "number", "string", "bool", "array of strings"

using FieldValue = std::variant<int64_t, double, std::string, bool, std::vector<std::string>>;

template <class S>
struct Field {
  std::string key;          // the config key: "prompt_length"
  std::string flag;         // the command-line option without dashes: "prompt-len" ("" = config only)
  FieldKind kind = FieldKind::String;
  std::string help;         // what it means (markdown: `code` allowed)
  std::string default_doc;  // the default as documented, when the struct's value says too little
  std::vector<std::string> choices;  // String fields with a closed set of values
  bool required = false;    // a config must give it
  std::function<FieldValue(const S&)> get;
  // Checks the value and stores it; throws spot::Error with what is wrong ("must be positive, got
  // -3"); the caller names the file and key, or the flag.
  std::function<void(S&, const FieldValue&)> set;
};

template <class S>
using FieldTable = std::vector<Field<S>>;

// Checks the value of a field of type T; throws spot::Error saying what is wrong.
template <class T>
using FieldCheck = std::function<void(const T&)>;

namespace fields {

template <class T>
constexpr FieldKind kind_of() {
  if constexpr (std::is_same_v<T, bool>) return FieldKind::Bool;
  else if constexpr (std::is_integral_v<T>) return FieldKind::Integer;
  else if constexpr (std::is_floating_point_v<T>) return FieldKind::Number;
  else if constexpr (std::is_same_v<T, std::string>) return FieldKind::String;
  else return FieldKind::Strings;
}

template <class T>
FieldValue to_value(const T& v) {
  if constexpr (std::is_same_v<T, bool>) return v;
  else if constexpr (std::is_integral_v<T>) return static_cast<int64_t>(v);
  else if constexpr (std::is_floating_point_v<T>) return static_cast<double>(v);
  else return v;
}

template <class T>
T from_value(const FieldValue& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return std::get<bool>(v);
  } else if constexpr (std::is_integral_v<T>) {
    const int64_t x = std::get<int64_t>(v);
    if constexpr (std::is_unsigned_v<T>) SPOT_CHECK(x >= 0, "must be a non-negative integer, got " << x);
    return static_cast<T>(x);
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(std::get<double>(v));
  } else {
    return std::get<T>(v);
  }
}

// A plain field: ref(s) is the member (any lambda S& -> T&).
template <class S, class Ref>
Field<S> plain(std::string key, std::string flag, std::string help, Ref ref,
               FieldCheck<std::remove_reference_t<decltype(std::declval<Ref>()(std::declval<S&>()))>> check = {},
               std::string default_doc = "") {
  using T = std::remove_reference_t<decltype(ref(std::declval<S&>()))>;
  Field<S> f;
  f.key = std::move(key);
  f.flag = std::move(flag);
  f.kind = kind_of<T>();
  f.help = std::move(help);
  f.default_doc = std::move(default_doc);
  f.get = [ref](const S& s) { return to_value<T>(ref(const_cast<S&>(s))); };
  f.set = [ref, check](S& s, const FieldValue& v) {
    const T x = from_value<T>(v);
    if constexpr (std::is_floating_point_v<T>) SPOT_CHECK(std::isfinite(x), "must be a finite number, got " << x);
    if (check) check(x);
    ref(s) = x;
  };
  return f;
}

// A string field with a closed set of values, stored as the string (validated).
template <class S, class Ref>
Field<S> choice(std::string key, std::string flag, std::string help, Ref ref, std::vector<std::string> choices) {
  Field<S> f = plain<S>(std::move(key), std::move(flag), std::move(help), ref);
  f.choices = choices;
  f.set = [ref, choices](S& s, const FieldValue& v) {
    const std::string& x = std::get<std::string>(v);
    std::string all;
    for (const std::string& c : choices) {
      if (c == x) {
        ref(s) = x;
        return;
      }
      all += (all.empty() ? "" : ", ") + c;
    }
    SPOT_FAIL("'" << x << "' is not one of " << all);
  };
  return f;
}

// An enumeration: the struct holds E, the config and the command line its name.
template <class S, class E, class Ref>
Field<S> enumeration(std::string key, std::string flag, std::string help, Ref ref,
                     std::vector<std::pair<std::string, E>> names) {
  Field<S> f;
  f.key = std::move(key);
  f.flag = std::move(flag);
  f.kind = FieldKind::String;
  f.help = std::move(help);
  for (const auto& n : names) f.choices.push_back(n.first);
  f.get = [ref, names](const S& s) -> FieldValue {
    const E e = ref(const_cast<S&>(s));
    for (const auto& n : names)
      if (n.second == e) return n.first;
    return std::string("?");
  };
  f.set = [ref, names](S& s, const FieldValue& v) {
    const std::string& x = std::get<std::string>(v);
    std::string all;
    for (const auto& n : names) {
      if (n.first == x) {
        ref(s) = n.second;
        return;
      }
      all += (all.empty() ? "" : ", ") + n.first;
    }
    SPOT_FAIL("'" << x << "' is not one of " << all);
  };
  return f;
}

// A value with its own text form (parse throws on bad text; str writes what parse reads).
template <class S, class Ref, class Parse, class Str>
Field<S> parsed(std::string key, std::string flag, std::string help, Ref ref, Parse parse, Str str) {
  Field<S> f;
  f.key = std::move(key);
  f.flag = std::move(flag);
  f.kind = FieldKind::String;
  f.help = std::move(help);
  f.get = [ref, str](const S& s) -> FieldValue { return str(ref(const_cast<S&>(s))); };
  f.set = [ref, parse](S& s, const FieldValue& v) { parse(ref(s), std::get<std::string>(v)); };
  return f;
}

// Common checks.
inline FieldCheck<int64_t> positive() {
  return [](const int64_t& x) { SPOT_CHECK(x > 0, "must be positive, got " << x); };
}
inline FieldCheck<int64_t> at_least(int64_t lo) {
  return [lo](const int64_t& x) { SPOT_CHECK(x >= lo, "must be >= " << lo << ", got " << x); };
}
inline FieldCheck<double> positive_number() {
  return [](const double& x) { SPOT_CHECK(x > 0, "must be positive, got " << x); };
}

}  // namespace fields

// The field of `table` whose key (or, with by_flag, whose flag) is `name`; nullptr if none.
template <class S>
const Field<S>* find_field(const FieldTable<S>& table, const std::string& name, bool by_flag = false) {
  for (const Field<S>& f : table)
    if ((by_flag ? f.flag : f.key) == name) return &f;
  return nullptr;
}

// A value as documented and as JSON writes it: "text" for strings, [..] for arrays, plain numbers.
std::string field_value_text(const FieldValue& v);

// The markdown table of a field table: | key | type | default | allowed / meaning |, the defaults
// read from `defaults`.
template <class S>
std::string fields_markdown(const FieldTable<S>& table, const S& defaults) {
  std::ostringstream o;
  o << "| key | type | default | allowed / meaning |\n|---|---|---|---|\n";
  for (const Field<S>& f : table) {
    const std::string def = !f.default_doc.empty() ? f.default_doc
                            : f.required           ? std::string("**required**")
                                                   : "`" + field_value_text(f.get(defaults)) + "`";
    o << "| `" << f.key << "` | " << field_kind_name(f.kind) << " | " << def << " | " << f.help << " |\n";
  }
  return o.str();
}

// A command-line value (text) as the field's kind: integers and numbers strictly parsed, arrays
// comma-separated. Throws naming the flag.
template <class S>
FieldValue field_value_from_text(const Field<S>& f, const std::string& text);
FieldValue field_value_from_text(FieldKind kind, const std::string& flag, const std::string& text);

template <class S>
FieldValue field_value_from_text(const Field<S>& f, const std::string& text) {
  return field_value_from_text(f.kind, f.flag, text);
}

// Sets a field from a value, naming `where` ("experiments/x.json: runs[2].steps" or "--steps") in
// the error.
template <class S>
void set_field(const Field<S>& f, S& s, const FieldValue& v, const std::string& where) {
  try {
    f.set(s, v);
  } catch (const Error& e) {
    SPOT_FAIL(where << ": " << e.what());
  }
}

}  // namespace spot
