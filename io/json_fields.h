// json_fields.h — reading and writing configuration structs as JSON through their field tables
// (base/fields.h), strictly: an unknown key, a wrong type or a value a field refuses is an error
// naming the file and the key's path ("experiments/x.json: runs[2].lr: expected a number, got
// \"fast\"").
#pragma once

#include <boost/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "base/fields.h"

namespace spot::io {

// A JSON value as people write it, for messages: numbers in plain notation ("8.5", not "8.5E0").
std::string show_json(const boost::json::value& v);

// One JSON object with its key path and file for messages; remembers the keys read, so that
// done() can refuse the ones nobody asked for.
class JsonObject {
 public:
  JsonObject(const boost::json::value& v, std::string path, std::string where);
  std::string key_path(const std::string& k) const { return path_.empty() ? k : path_ + "." + k; }
  const std::string& where() const { return where_; }
  bool has(const std::string& k) const;  // present and not null; does not mark it read
  const boost::json::value* find(const std::string& k);  // marks it read; nullptr when absent or null
  std::string str(const std::string& k, const std::string& def);
  std::string required_str(const std::string& k);
  int64_t integer(const std::string& k, int64_t def);
  double number(const std::string& k, double def);
  bool boolean(const std::string& k, bool def);
  std::vector<std::string> strings(const std::string& k);
  // The value of key k as a field value of `kind` (type errors name the key); nullopt-like: false
  // when absent.
  bool value(const std::string& k, FieldKind kind, FieldValue& out);
  void done() const;  // every key present must have been read

 private:
  const boost::json::object* o_ = nullptr;
  std::string path_, where_;
  std::set<std::string> seen_;
};

// Reads every field of `table` present in `o` into `s` (absent or null keys keep s's value).
template <class S>
void read_fields(JsonObject& o, const FieldTable<S>& table, S& s) {
  for (const Field<S>& f : table) {
    FieldValue v;
    if (o.value(f.key, f.kind, v))
      set_field(f, s, v, o.where() + ": " + o.key_path(f.key));
    else
      SPOT_CHECK(!f.required, o.where() << ": " << o.key_path(f.key) << ": missing required key");
  }
}

boost::json::value field_value_json(const FieldValue& v);

// Every field of `table` as a JSON object, in table order.
template <class S>
boost::json::object write_fields(const FieldTable<S>& table, const S& s) {
  boost::json::object o;
  for (const Field<S>& f : table) o[f.key] = field_value_json(f.get(s));
  return o;
}

}  // namespace spot::io
