// fuzz_dataset_readers.cpp — libFuzzer harness for the dataset readers (JSONL, TSV, CSV, JSON and
// Arrow files of eval/). The first input byte selects a reader, (byte - 'A') mod 27:
//   A  eval::parse_csv (in memory) and eval::read_csv (file); both must agree
//   B  eval::detail::for_each_json_line
//   C  a user task's JSONL reader (text_fields text, text2; labels a, b, c)
//   D  the same user task as TSV
//   E  a two-label user JSONL task (label_field "gold": names, indices, booleans)
//   F  glue/rte  G glue/stsb  H glue/cola  I glue/mrpc (GLUE TSV)  J glue/mnli (MNLI .jsonl)
//   K  superglue/cb  L superglue/copa  M superglue/record  N superglue/multirc  O superglue/wsc
//   P  superglue/boolq  Q superglue/wic (SuperGLUE JSONL)
//   R  spot/cosmosqa  S spot/yelp2 (CSV)  T spot/winogrande  U spot/hellaswag (JSONL)
//   V  spot/snli (ragged TSV)  W spot/squad  X spot/docnli  Y spot/drop (JSON)
//   Z  spot/winogrande (.arrow: Arrow IPC stream)  [  spot/race (one RACE .txt JSON file)
// The rest of the input is the file's content, written to a per-process temp file ($FUZZ_TMPDIR,
// default /dev/shm) with the extension the reader dispatches on. Every read either succeeds or
// throws spot::Error; what a task reads is formatted with both verbalizers, decoded and ranked
// (fuzz_util.h), each step again either succeeding or throwing spot::Error. Anything else — another
// exception type, a crash, a sanitizer report, a leak, or the two CSV readers disagreeing — aborts
// and is a finding. Build: fuzz/build.sh; run: tools/fuzz.sh.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "eval/csv.h"
#include "eval/task_io.h"
#include "eval/tasks.h"
#include "fuzz/fuzz_util.h"

namespace {

constexpr const char* kHarness = "fuzz_dataset_readers";

using spot::Error;
using spot::eval::Task;
using spot::fuzz::finding;
using spot::fuzz::write_file;

std::unique_ptr<Task> user_task(const std::string& name, const std::string& spec_text) {
  const std::string path = spot::fuzz::temp_dir(kHarness) + "/" + name + ".json";
  write_file(kHarness, path, spec_text);
  return spot::eval::load_user_task(path);
}

struct Reader {
  const char* what;
  const char* ext;                                  // the temp file's extension
  std::function<void(const std::string& path, const std::string& text)> special;  // non-task readers
  const Task* task = nullptr;
};

const std::vector<Reader>& readers() {
  static const std::unique_ptr<Task> user_jsonl = user_task(
      "user_jsonl", R"({"name": "fuzz_jsonl", "format": "jsonl", "splits": {"train": "train.jsonl"},
        "text_fields": ["text", "text2"], "labels": ["a", "b", "c"],
        "natural": {"template": "{text} | {text2}\nAnswer:", "labels": ["A", "B", "C"]}})");
  static const std::unique_ptr<Task> user_tsv = user_task(
      "user_tsv", R"({"name": "fuzz_tsv", "format": "tsv", "splits": {"train": "train.tsv"},
        "text_fields": ["text", "text2"], "labels": ["a", "b", "c"], "prefix": "fuzz tsv"})");
  static const std::unique_ptr<Task> user_bool = user_task(
      "user_bool", R"({"name": "fuzz_bool", "format": "jsonl", "splits": {"train": "train.jsonl"},
        "label_field": "gold", "labels": ["no", "yes"]})");
  auto task = [](const char* name, const char* ext) { return Reader{name, ext, nullptr, &spot::eval::find_task(name)}; };
  static const std::vector<Reader> list = {
      {"csv", ".csv",
       [](const std::string& path, const std::string& text) {
         std::vector<spot::eval::CsvRecord> mem, file;
         std::string mem_error, file_error;
         bool mem_ok = false, file_ok = false;
         try {
           mem = spot::eval::parse_csv(text, "fuzz-input");
           mem_ok = true;
         } catch (const Error& e) {
           mem_error = e.what();
         }
         try {
           file = spot::eval::read_csv(path);
           file_ok = true;
         } catch (const Error& e) {
           file_error = e.what();
         }
         const std::string label = "fuzz-input";
         if (mem_ok != file_ok || (!mem_ok && (mem_error.rfind(label, 0) != 0 ||
                                               path + mem_error.substr(label.size()) != file_error)))
           finding(kHarness, "parse_csv and read_csv disagree: '" + mem_error + "' vs '" + file_error + "'");
         if (!mem_ok) return;
         if (mem.size() != file.size()) finding(kHarness, "parse_csv and read_csv give different record counts");
         for (size_t i = 0; i < mem.size(); ++i)
           if (mem[i].line != file[i].line || mem[i].fields != file[i].fields || mem[i].line < 1 ||
               (i > 0 && mem[i].line <= mem[i - 1].line) || mem[i].fields.empty())
             finding(kHarness, "CSV record " + std::to_string(i) + " differs between the readers or has a bad line");
       }},
      {"for_each_json_line", ".jsonl",
       [](const std::string& path, const std::string&) {
         int last = 0;
         spot::eval::detail::for_each_json_line(
             path, [&](const boost::json::object& o, const spot::eval::detail::Line& l) {
               if (l.number <= last) finding(kHarness, "for_each_json_line: line numbers do not increase");
               last = l.number;
               (void)o.size();
             });
       }},
      {"user jsonl", ".jsonl", nullptr, user_jsonl.get()},
      {"user tsv", ".tsv", nullptr, user_tsv.get()},
      {"user bool jsonl", ".jsonl", nullptr, user_bool.get()},
      task("glue/rte", ".tsv"),
      task("glue/stsb", ".tsv"),
      task("glue/cola", ".tsv"),
      task("glue/mrpc", ".tsv"),
      task("glue/mnli", ".jsonl"),
      task("superglue/cb", ".jsonl"),
      task("superglue/copa", ".jsonl"),
      task("superglue/record", ".jsonl"),
      task("superglue/multirc", ".jsonl"),
      task("superglue/wsc", ".jsonl"),
      task("superglue/boolq", ".jsonl"),
      task("superglue/wic", ".jsonl"),
      task("spot/cosmosqa", ".csv"),
      task("spot/yelp2", ".csv"),
      task("spot/winogrande", ".jsonl"),
      task("spot/hellaswag", ".jsonl"),
      task("spot/snli", ".tsv"),
      task("spot/squad", ".json"),
      task("spot/docnli", ".json"),
      task("spot/drop", ".json"),
      task("spot/winogrande", ".arrow"),
      task("spot/race", ".txt"),
  };
  return list;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::vector<Reader>& all = readers();
  const Reader& r = all[static_cast<uint8_t>(data[0] - 'A') % all.size()];
  const std::string path = spot::fuzz::temp_dir(kHarness) + "/input" + r.ext;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  write_file(kHarness, path, text);
  spot::fuzz::only_spot_errors(kHarness, [&] {
    if (r.special) {
      r.special(path, text);
    } else {
      const std::vector<spot::eval::Example> examples = r.task->read_file(path);
      if (spot::fuzz::verbose()) std::fprintf(stderr, "%s: %s: %zu examples\n", kHarness, r.what, examples.size());
      spot::fuzz::exercise_examples(*r.task, examples);
    }
  });
  return 0;
}
