// csv.h — an RFC 4180 CSV reader for task files (CosmosQA's valid.csv, Yelp polarity's train.csv).
//
// Fields are separated by ',' and records by "\r\n" or "\n". A field that starts with '"' is
// quoted: it runs to the next '"' not followed by another '"', may hold ',', '"' (written "") and
// line breaks (kept as they are in the file), and must be followed by ',' or the end of the record.
// This is what Python's csv module reads with its default dialect, except that it is strict where
// Python is lenient: a '"' inside an unquoted field, text after a closing quote, and a quote left
// open at the end of the file are errors naming the file and the line. A UTF-8 BOM at the start is
// dropped; the text must be valid UTF-8; a completely empty line is skipped (as csv.reader does).
#pragma once

#include <string>
#include <vector>

namespace spot::eval {

struct CsvRecord {
  int line = 0;  // 1-based line where the record starts
  std::vector<std::string> fields;
};

std::vector<CsvRecord> read_csv(const std::string& path);
// The same on text in memory; `label` stands for the file name in messages.
std::vector<CsvRecord> parse_csv(const std::string& text, const std::string& label);

}  // namespace spot::eval
