// json_fields.cpp — the strict JSON object reader and field-value conversions (json_fields.h).
#include "io/json_fields.h"

#include <charconv>
#include <cmath>

namespace spot::io {

namespace json = boost::json;

std::string show_json(const json::value& v) {
  if (v.is_double()) {
    char b[32];
    const auto r = std::to_chars(b, b + sizeof b, v.as_double());  // shortest round-trip form
    return std::string(b, r.ptr);
  }
  return json::serialize(v);
}

JsonObject::JsonObject(const json::value& v, std::string path, std::string where)
    : path_(std::move(path)), where_(std::move(where)) {
  SPOT_CHECK(v.is_object(), where_ << ": " << (path_.empty() ? "top level" : path_) << ": expected an object, got "
                                   << show_json(v));
  o_ = &v.as_object();
}

bool JsonObject::has(const std::string& k) const {
  const json::value* v = o_->if_contains(k);
  return v && !v->is_null();
}

const json::value* JsonObject::find(const std::string& k) {
  seen_.insert(k);
  const json::value* v = o_->if_contains(k);
  return v && !v->is_null() ? v : nullptr;
}

std::string JsonObject::str(const std::string& k, const std::string& def) {
  const json::value* v = find(k);
  if (!v) return def;
  SPOT_CHECK(v->is_string(), where_ << ": " << key_path(k) << ": expected a string, got " << show_json(*v));
  return std::string(v->as_string());
}

std::string JsonObject::required_str(const std::string& k) {
  SPOT_CHECK(o_->if_contains(k), where_ << ": " << key_path(k) << ": missing required key");
  return str(k, "");
}

int64_t JsonObject::integer(const std::string& k, int64_t def) {
  const json::value* v = find(k);
  if (!v) return def;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(v->as_uint64());
  if (v->is_double() && std::floor(v->as_double()) == v->as_double() && v->as_double() >= -0x1p63 &&
      v->as_double() < 0x1p63)  // in range: casting a larger double is undefined behaviour
    return static_cast<int64_t>(v->as_double());
  SPOT_FAIL(where_ << ": " << key_path(k) << ": expected an integer, got " << show_json(*v));
}

double JsonObject::number(const std::string& k, double def) {
  const json::value* v = find(k);
  if (!v) return def;
  SPOT_CHECK(v->is_number(), where_ << ": " << key_path(k) << ": expected a number, got " << show_json(*v));
  return v->to_number<double>();
}

bool JsonObject::boolean(const std::string& k, bool def) {
  const json::value* v = find(k);
  if (!v) return def;
  SPOT_CHECK(v->is_bool(), where_ << ": " << key_path(k) << ": expected true or false, got " << show_json(*v));
  return v->as_bool();
}

std::vector<std::string> JsonObject::strings(const std::string& k) {
  const json::value* v = find(k);
  std::vector<std::string> out;
  if (!v) return out;
  SPOT_CHECK(v->is_array(), where_ << ": " << key_path(k) << ": expected an array of strings, got " << show_json(*v));
  for (size_t i = 0; i < v->as_array().size(); ++i) {
    const json::value& e = v->as_array()[i];
    SPOT_CHECK(e.is_string(), where_ << ": " << key_path(k) << "[" << i << "]: expected a string, got " << show_json(e));
    out.emplace_back(e.as_string());
  }
  return out;
}

bool JsonObject::value(const std::string& k, FieldKind kind, FieldValue& out) {
  if (!has(k)) {
    seen_.insert(k);
    return false;
  }
  switch (kind) {
    case FieldKind::Integer: out = integer(k, 0); break;
    case FieldKind::Number: out = number(k, 0); break;
    case FieldKind::String: out = str(k, ""); break;
    case FieldKind::Bool: out = boolean(k, false); break;
    case FieldKind::Strings: out = strings(k); break;
  }
  return true;
}

void JsonObject::done() const {
  for (const auto& kv : *o_)
    if (!seen_.count(std::string(kv.key()))) {
      std::string known;
      for (const auto& s : seen_) known += (known.empty() ? "" : ", ") + s;
      SPOT_FAIL(where_ << ": " << key_path(std::string(kv.key())) << ": unknown key (known here: " << known << ")");
    }
}

json::value field_value_json(const FieldValue& v) {
  struct Visit {
    json::value operator()(int64_t x) const { return x; }
    json::value operator()(double x) const { return x; }
    json::value operator()(const std::string& x) const { return json::string(x); }
    json::value operator()(bool x) const { return x; }
    json::value operator()(const std::vector<std::string>& x) const {
      json::array a;
      for (const std::string& s : x) a.emplace_back(json::string(s));
      return a;
    }
  };
  return std::visit(Visit{}, v);
}

}  // namespace spot::io
