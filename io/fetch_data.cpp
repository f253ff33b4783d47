// fetch_data.cpp — GLUE / SuperGLUE archive fetching and unpacking, and the MRPC formatting of
// download_glue_data.py. See fetch_data.h.
#include "io/fetch_data.h"

#include <algorithm>
#include <cctype>
#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <set>
#include <sstream>

#include "base/check.h"
#include "io/cache.h"
#include "io/download.h"
#include "io/zip.h"

namespace fs = std::filesystem;
namespace json = boost::json;

namespace spot::io {

namespace {

struct TaskSpec {
  const char* name;     // directory name under <data>/<benchmark>/
  const char* archive;  // file under the benchmark's base URL; "" = MRPC (special)
  const char* must_have;  // a file the unpacked task must contain
  bool by_default;      // fetched when no task is named
};

// GLUE: the archive names of download_glue_data.py (note QQP-clean.zip and QNLIv2.zip).
const std::vector<TaskSpec> kGlue = {
    {"CoLA", "CoLA.zip", "train.tsv", true},   {"SST-2", "SST-2.zip", "train.tsv", true},
    {"MRPC", "", "train.tsv", true},           {"QQP", "QQP-clean.zip", "train.tsv", true},
    {"STS-B", "STS-B.zip", "train.tsv", true}, {"MNLI", "MNLI.zip", "train.tsv", true},
    {"QNLI", "QNLIv2.zip", "train.tsv", true}, {"RTE", "RTE.zip", "train.tsv", true},
    {"WNLI", "WNLI.zip", "train.tsv", true},
};

// SuperGLUE v2 release: one <Task>.zip per task; the diagnostics hold a single <Task>.jsonl.
const std::vector<TaskSpec> kSuperGlue = {
    {"BoolQ", "BoolQ.zip", "train.jsonl", true},     {"CB", "CB.zip", "train.jsonl", true},
    {"COPA", "COPA.zip", "train.jsonl", true},       {"MultiRC", "MultiRC.zip", "train.jsonl", true},
    {"ReCoRD", "ReCoRD.zip", "train.jsonl", true},   {"RTE", "RTE.zip", "train.jsonl", true},
    {"WiC", "WiC.zip", "train.jsonl", true},         {"WSC", "WSC.zip", "train.jsonl", true},
    {"AX-b", "AX-b.zip", "AX-b.jsonl", false},       {"AX-g", "AX-g.zip", "AX-g.jsonl", false},
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

const std::vector<TaskSpec>& specs_for(const std::string& benchmark) {
  const std::string b = lower(benchmark);
  if (b == "glue") return kGlue;
  if (b == "superglue") return kSuperGlue;
  SPOT_FAIL("unknown benchmark '" << benchmark << "' (expected glue or superglue)");
}

std::string strip_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Python's str.strip() with no argument, on UTF-8 text: ASCII whitespace, \x1c-\x1f and the
// Unicode White_Space characters (NBSP, NEL, U+1680, U+2000-U+200A, U+2028/9, U+202F, U+205F, U+3000).
std::string py_strip(const std::string& s) {
  auto ws_len_at_end = [&](size_t end) -> size_t {  // bytes of a whitespace char ending at `end`
    if (end == 0) return 0;
    const unsigned char c = static_cast<unsigned char>(s[end - 1]);
    if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) return 1;
    if (end >= 2 && static_cast<unsigned char>(s[end - 2]) == 0xc2 && (c == 0xa0 || c == 0x85)) return 2;
    if (end >= 3) {
      const unsigned a = static_cast<unsigned char>(s[end - 3]), b = static_cast<unsigned char>(s[end - 2]);
      const unsigned cp = ((a & 0x0f) << 12) | ((b & 0x3f) << 6) | (c & 0x3f);
      if ((a & 0xf0) == 0xe0 && (cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
                                  cp == 0x202f || cp == 0x205f || cp == 0x3000))
        return 3;
    }
    return 0;
  };
  auto ws_len_at_start = [&](size_t begin) -> size_t {
    if (begin >= s.size()) return 0;
    const unsigned char c = static_cast<unsigned char>(s[begin]);
    if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) return 1;
    if (c == 0xc2 && begin + 1 < s.size()) {
      const unsigned char d = static_cast<unsigned char>(s[begin + 1]);
      if (d == 0xa0 || d == 0x85) return 2;
    }
    if ((c & 0xf0) == 0xe0 && begin + 2 < s.size()) {
      const unsigned cp = ((c & 0x0f) << 12) | ((static_cast<unsigned char>(s[begin + 1]) & 0x3f) << 6) |
                          (static_cast<unsigned char>(s[begin + 2]) & 0x3f);
      if (cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
          cp == 0x205f || cp == 0x3000)
        return 3;
    }
    return 0;
  };
  size_t b = 0, e = s.size();
  while (size_t n = ws_len_at_start(b)) b += n;
  while (e > b) {
    const size_t n = ws_len_at_end(e);
    if (!n) break;
    e -= n;
  }
  return s.substr(b, e - b);
}

// Lines as Python's text mode yields them (universal newlines: "\n", "\r\n" and "\r" end a line),
// each without its terminator; `terminated[i]` says whether line i had one.
std::vector<std::string> py_lines(const std::string& text, std::vector<bool>* terminated = nullptr) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t i = start;
    while (i < text.size() && text[i] != '\n' && text[i] != '\r') ++i;
    lines.push_back(text.substr(start, i - start));
    if (terminated) terminated->push_back(i < text.size());
    if (i < text.size() && text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    start = i + 1;
  }
  return lines;
}

std::vector<std::string> split_tabs(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t t = s.find('\t', start);
    out.push_back(s.substr(start, t == std::string::npos ? std::string::npos : t - start));
    if (t == std::string::npos) return out;
    start = t + 1;
  }
}

json::value read_fetched_json(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return json::object{};
  boost::system::error_code jec;
  json::value v = json::parse(read_file(path), jec);
  if (jec || !v.is_object()) {
    std::fprintf(stderr, "spot: %s is not valid JSON; rewriting it\n", path.c_str());
    return json::object{};
  }
  return v;
}

// True when FETCHED.json lists the task and every file it lists is present with its size and sha256.
bool task_intact(const json::value& fetched, const std::string& bench_dir, const std::string& task,
                 std::vector<FetchedDataFile>* files) {
  const auto* tasks = fetched.as_object().if_contains("tasks");
  if (!tasks || !tasks->is_object()) return false;
  const auto* t = tasks->as_object().if_contains(task);
  if (!t || !t->is_object()) return false;
  const auto* list = t->as_object().if_contains("files");
  if (!list || !list->is_array() || list->as_array().empty()) return false;
  for (const auto& f : list->as_array()) {
    if (!f.is_object()) return false;
    const auto& o = f.as_object();
    const auto* p = o.if_contains("path");
    const auto* sz = o.if_contains("size");
    const auto* sh = o.if_contains("sha256");
    if (!p || !p->is_string() || !sz || !sz->is_int64() || !sh || !sh->is_string()) return false;
    const std::string rel(p->as_string());
    if (!is_safe_relative_path(rel)) return false;
    if (!file_intact((fs::path(bench_dir) / rel).string(), sz->as_int64(), std::string(sh->as_string()))) return false;
    files->push_back({rel, sz->as_int64(), std::string(sh->as_string())});
  }
  return true;
}

struct Source {
  std::string url;
  int64_t size;
  std::string sha256;
};

Source download_source(const std::string& url, const std::string& dest, const DataFetchOptions& o) {
  DownloadOptions d;
  d.progress = o.progress;
  d.retries = o.retries;
  d.retry_delay_ms = o.retry_delay_ms;
  const DownloadResult r = download_file(url, dest, d);
  return {url, r.size, r.sha256};
}

bool skipped_member(const std::string& name) {
  if (name.rfind("__MACOSX/", 0) == 0) return true;
  const std::string base = name.substr(name.rfind('/') == std::string::npos ? 0 : name.rfind('/') + 1);
  return base == ".DS_Store" || base.rfind("._", 0) == 0;
}

// Unpacks a task archive into task_dir. Archives hold "<Task>/<files>" (GLUE: also original/ and
// LICENSE.txt); the one top-level directory is dropped, whatever its name (QQP-clean.zip holds QQP/).
std::vector<FetchedDataFile> unpack_task(const std::string& archive, const std::string& url, const TaskSpec& spec,
                                         const std::string& task_dir) {
  ZipArchive zip(archive);
  std::vector<std::pair<const ZipEntry*, std::string>> members;  // entry, path inside the archive
  for (const auto& e : zip.entries()) {
    if (e.is_dir() || skipped_member(e.name)) continue;
    SPOT_CHECK(is_safe_relative_path(e.name), "archive " << url << ": refusing member with unsafe path '" << e.name << "'");
    members.push_back({&e, e.name});
  }
  SPOT_CHECK(!members.empty(), "archive " << url << " holds no files");
  std::string top;
  bool common_top = true;
  for (const auto& [e, name] : members) {
    const size_t slash = name.find('/');
    const std::string first = slash == std::string::npos ? "" : name.substr(0, slash);
    if (first.empty() || (!top.empty() && first != top)) common_top = false;
    if (top.empty()) top = first;
  }
  std::vector<std::pair<const ZipEntry*, std::string>> out;  // entry, path inside task_dir
  for (const auto& [e, name] : members) out.push_back({e, common_top ? name.substr(top.size() + 1) : name});
  const bool has_required =
      std::any_of(out.begin(), out.end(), [&](const auto& m) { return m.second == spec.must_have; });
  if (!has_required) {
    std::string listing;
    for (size_t i = 0; i < std::min<size_t>(out.size(), 8); ++i) listing += (i ? ", " : "") + out[i].second;
    SPOT_FAIL("archive " << url << " has an unexpected layout: no " << spec.must_have << " for " << spec.name
                         << " (files: " << listing << (out.size() > 8 ? ", ..." : "") << ")");
  }
  std::vector<FetchedDataFile> files;
  for (const auto& [e, rel] : out) {
    const std::string dest = (fs::path(task_dir) / rel).string();
    const std::string sha = zip.extract(*e, dest);
    files.push_back({std::string(spec.name) + "/" + rel, static_cast<int64_t>(fs::file_size(dest)), sha});
  }
  return files;
}

}  // namespace

std::vector<std::string> benchmark_tasks(const std::string& benchmark) {
  std::vector<std::string> out;
  for (const auto& s : specs_for(benchmark))
    if (s.by_default) out.push_back(s.name);
  return out;
}

std::vector<std::string> benchmark_known_tasks(const std::string& benchmark) {
  std::vector<std::string> out;
  for (const auto& s : specs_for(benchmark)) out.push_back(s.name);
  return out;
}

void format_mrpc(const std::string& train_txt, const std::string& test_txt, const std::string& dev_ids_tsv,
                 const std::string& out_dir) {
  // Dev ids: one "<#1 ID>\t<#2 ID>" per line.
  std::set<std::pair<std::string, std::string>> dev_ids;
  for (const auto& line : py_lines(read_file(dev_ids_tsv))) {
    const auto f = split_tabs(py_strip(line));
    if (f.size() == 2) dev_ids.insert({f[0], f[1]});
  }
  SPOT_CHECK(!dev_ids.empty(), dev_ids_tsv << ": no MRPC dev id pairs");

  auto rows_of = [](const std::string& path, std::string* header) {
    std::vector<bool> term;
    const auto lines = py_lines(read_file(path), &term);
    SPOT_CHECK(!lines.empty(), path << " is empty");
    *header = lines[0] + (term[0] ? "\n" : "");  // the header line as readline() returns it
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 1; i < lines.size(); ++i) {
      const std::string s = py_strip(lines[i]);
      if (s.empty()) continue;
      auto f = split_tabs(s);
      SPOT_CHECK(f.size() == 5, path << ":" << i + 1 << ": expected 5 tab-separated fields (Quality, #1 ID, #2 ID, "
                                     << "#1 String, #2 String), got " << f.size());
      rows.push_back(std::move(f));
    }
    return rows;
  };

  std::string train_header, test_header;
  const auto train_rows = rows_of(train_txt, &train_header);
  const auto test_rows = rows_of(test_txt, &test_header);
  std::string train = train_header, dev = train_header;
  size_t n_dev = 0;
  for (const auto& r : train_rows) {
    const std::string line = r[0] + "\t" + r[1] + "\t" + r[2] + "\t" + r[3] + "\t" + r[4] + "\n";
    if (dev_ids.count({r[1], r[2]})) {
      dev += line;
      ++n_dev;
    } else {
      train += line;
    }
  }
  SPOT_CHECK(n_dev > 0, "none of the " << dev_ids.size() << " MRPC dev id pairs of " << dev_ids_tsv << " occurs in "
                                       << train_txt);
  std::string test = "index\t#1 ID\t#2 ID\t#1 String\t#2 String\n";
  for (size_t i = 0; i < test_rows.size(); ++i) {
    const auto& r = test_rows[i];
    test += std::to_string(i) + "\t" + r[1] + "\t" + r[2] + "\t" + r[3] + "\t" + r[4] + "\n";
  }
  write_file_atomic((fs::path(out_dir) / "train.tsv").string(), train);
  write_file_atomic((fs::path(out_dir) / "dev.tsv").string(), dev);
  write_file_atomic((fs::path(out_dir) / "test.tsv").string(), test);
}

std::vector<FetchedTask> fetch_benchmark(const std::string& benchmark, const std::vector<std::string>& tasks,
                                         const std::string& data_dir, const DataFetchOptions& o) {
  const auto& specs = specs_for(benchmark);
  const std::string bench = lower(benchmark);
  // Resolve names first, so a typo fails before anything is downloaded.
  std::vector<const TaskSpec*> chosen;
  for (const auto& name : tasks.empty() ? benchmark_tasks(bench) : tasks) {
    const TaskSpec* found = nullptr;
    for (const auto& s : specs)
      if (lower(s.name) == lower(name)) found = &s;
    if (!found) {
      std::string known;
      for (const auto& s : specs) known += std::string(known.empty() ? "" : ", ") + s.name;
      SPOT_FAIL("unknown " << bench << " task '" << name << "' (known: " << known << ")");
    }
    if (std::find(chosen.begin(), chosen.end(), found) == chosen.end()) chosen.push_back(found);
  }

  const std::string bench_dir = (fs::path(data_dir) / bench).string();
  const std::string downloads = (fs::path(bench_dir) / ".downloads").string();
  const std::string fetched_path = (fs::path(bench_dir) / "FETCHED.json").string();
  fs::create_directories(bench_dir);
  json::value fetched = read_fetched_json(fetched_path);
  const std::string base = strip_slash(bench == "glue" ? o.glue_url : o.superglue_url);

  std::vector<FetchedTask> results;
  for (const TaskSpec* spec : chosen) try {
    FetchedTask ft;
    ft.task = spec->name;
    ft.dir = (fs::path(bench_dir) / spec->name).string();
    if (!o.force && task_intact(fetched, bench_dir, spec->name, &ft.files)) {
      ft.downloaded = false;
      results.push_back(std::move(ft));
      continue;
    }
    ft.files.clear();
    std::vector<Source> sources;
    if (std::string(spec->archive).empty()) {  // MRPC
      const std::string mrpc = strip_slash(o.mrpc_url);
      const std::string train = (fs::path(downloads) / "msr_paraphrase_train.txt").string();
      const std::string test = (fs::path(downloads) / "msr_paraphrase_test.txt").string();
      const std::string ids = (fs::path(downloads) / "mrpc_dev_ids.tsv").string();
      sources.push_back(download_source(mrpc + "/msr_paraphrase_train.txt", train, o));
      sources.push_back(download_source(mrpc + "/msr_paraphrase_test.txt", test, o));
      sources.push_back(download_source(o.mrpc_dev_ids_url, ids, o));
      format_mrpc(train, test, ids, ft.dir);
      for (const char* f : {"train.tsv", "dev.tsv", "test.tsv"}) {
        const std::string p = (fs::path(ft.dir) / f).string();
        ft.files.push_back({std::string(spec->name) + "/" + f, static_cast<int64_t>(fs::file_size(p)), sha256_file(p)});
      }
      for (const auto& p : {train, test, ids}) fs::remove(p);
    } else {
      const std::string url = base + "/" + spec->archive;
      const std::string archive = (fs::path(downloads) / spec->archive).string();
      sources.push_back(download_source(url, archive, o));
      ft.files = unpack_task(archive, url, *spec, ft.dir);
      fs::remove(archive);
    }
    ft.downloaded = true;

    // Record the task at once, so a later failure does not lose what this one fetched.
    json::array src, files;
    for (const auto& s : sources) src.push_back(json::object{{"url", s.url}, {"size", s.size}, {"sha256", s.sha256}});
    for (const auto& f : ft.files) files.push_back(json::object{{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}});
    json::object& root = fetched.as_object();
    root["benchmark"] = bench;
    if (!root.contains("tasks") || !root["tasks"].is_object()) root["tasks"] = json::object{};
    root["tasks"].as_object()[spec->name] =
        json::object{{"fetched_at", utc_now()}, {"sources", std::move(src)}, {"files", std::move(files)}};
    write_file_atomic(fetched_path, json_pretty(fetched));
    results.push_back(std::move(ft));
  } catch (const Error& e) {
    throw Error(bench + " " + spec->name + ": " + e.what());  // which task, on top of which URL
  }
  std::error_code ec;
  fs::remove(downloads, ec);  // only when empty: an interrupted .part stays for a resume
  return results;
}

}  // namespace spot::io
