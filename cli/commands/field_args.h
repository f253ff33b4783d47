// field_args.h — command-line options from a field table (base/fields.h): one option (or flag)
// per field that has a flag, with its help and default from the table, read back through the
// table's checks so that the CLI and a config refuse the same values with the same words.
#pragma once

#include <string>

#include "base/fields.h"
#include "cli/commands.h"

namespace spot::cli {

// Markdown help (`code`, **bold**) as plain text for a terminal.
inline std::string plain_text(const std::string& s) {
  std::string out;
  for (char ch : s)
    if (ch != '`' && ch != '*') out += ch;
  return out;
}

inline const char* meta_of(FieldKind k) {
  switch (k) {
    case FieldKind::Integer: return "N";
    case FieldKind::Number: return "X";
    case FieldKind::Strings: return "A,B,...";
    default: return "V";
  }
}

// One option (or flag) per field of a table that has a flag, its help and default from the table
// (struct_defaults: the command's own defaults, not the config's documented ones).
template <class S>
void add_field_options(Args& a, const FieldTable<S>& table, const S& defaults, bool struct_defaults = false) {
  for (const Field<S>& f : table) {
    if (f.flag.empty()) continue;
    if (f.kind == FieldKind::Bool) {
      a.flag(f.flag, plain_text(f.help));
      continue;
    }
    a.option(f.flag, meta_of(f.kind), plain_text(f.help),
             plain_text(f.default_doc.empty() || struct_defaults ? field_value_text(f.get(defaults)) : f.default_doc));
  }
}

// The values given on the command line, through the table's checks (errors name the option).
template <class S>
void read_field_options(const Args& a, const FieldTable<S>& table, S& s) {
  for (const Field<S>& f : table) {
    if (f.flag.empty()) continue;
    if (f.kind == FieldKind::Bool) {
      if (a.flag(f.flag)) set_field(f, s, FieldValue(true), "option --" + f.flag);
    } else if (auto v = a.get(f.flag)) {
      set_field(f, s, field_value_from_text(f, *v), "option --" + f.flag);
    }
  }
}

}  // namespace spot::cli
