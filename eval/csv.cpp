// csv.cpp — the strict RFC 4180 reader of csv.h, a character-level state machine.
#include "eval/csv.h"

#include <fstream>
#include <sstream>

#include "eval/text.h"
#include "base/check.h"
#include "io/cache.h"

namespace spot::eval {

std::vector<CsvRecord> parse_csv(const std::string& text, const std::string& label) {
  std::string_view s(text);
  if (s.substr(0, 3) == "\xEF\xBB\xBF") s.remove_prefix(3);
  SPOT_CHECK(text::valid_utf8(s), label << ": invalid UTF-8");
  std::vector<CsvRecord> out;
  CsvRecord rec;
  std::string field;
  int line = 1;
  bool in_record = false;  // something (a field or a separator) has been read on this record
  size_t i = 0;
  auto end_field = [&] {
    rec.fields.push_back(std::move(field));
    field.clear();
  };
  auto end_record = [&] {
    end_field();
    out.push_back(std::move(rec));
    rec = CsvRecord{};
    in_record = false;
  };
  // A line ends at "\r\n", "\n" or a lone "\r" (Python's csv reader recognises all three).
  auto at_newline = [&](size_t k) { return s[k] == '\n' || s[k] == '\r'; };
  auto newline_width = [&](size_t k) -> size_t { return s[k] == '\r' && k + 1 < s.size() && s[k + 1] == '\n' ? 2 : 1; };

  while (i < s.size()) {
    if (!in_record) {
      rec.line = line;
      if (at_newline(i)) {  // an empty line: no record
        i += newline_width(i);
        ++line;
        continue;
      }
      in_record = true;
    }
    if (s[i] == '"') {
      // Quoted field: up to the closing quote; "" is one quote; line breaks are data.
      const int start_line = line;
      ++i;
      while (true) {
        SPOT_CHECK(i < s.size(), label << ":" << start_line << ": quoted field never closed (end of file)");
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (s[i] == '\n') ++line;
        field += s[i++];
      }
      if (i == s.size()) break;
      if (s[i] == ',') {
        end_field();
        ++i;
      } else if (at_newline(i)) {
        i += newline_width(i);
        end_record();
        ++line;
      } else {
        SPOT_FAIL(label << ":" << line << ": text after the closing quote of a quoted field");
      }
      continue;
    }
    // Unquoted field: up to ',' or the end of the line.
    while (i < s.size() && s[i] != ',' && !at_newline(i)) {
      SPOT_CHECK(s[i] != '"', label << ":" << line << ": '\"' inside an unquoted field (quote the field)");
      field += s[i++];
    }
    if (i == s.size()) break;
    if (s[i] == ',') {
      end_field();
      ++i;
      if (i == s.size()) break;  // "a,b," at the very end: a last empty field
    } else {
      i += newline_width(i);
      end_record();
      ++line;
    }
  }
  if (in_record) end_record();
  return out;
}

std::vector<CsvRecord> read_csv(const std::string& path) {
  return parse_csv(io::read_file(path), path);
}

}  // namespace spot::eval
