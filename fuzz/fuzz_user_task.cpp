// fuzz_user_task.cpp — libFuzzer harness for the user-task spec reader, eval::load_user_task.
// The input is the bytes of a task spec (JSON), written to spec.json in a per-process temp
// directory ($FUZZ_TMPDIR, default /dev/shm) that also holds small split files (train/dev/test in
// .jsonl and .tsv, written once at start-up). When the spec loads, every split it names whose file
// lies inside that directory is read through Task::load (user splits are paths relative to the spec
// file, resolved at load, so data_dir does not matter; files elsewhere are skipped so that the
// fuzzer cannot make the harness read /dev/zero or the machine's files), and every example is
// formatted with both verbalizers, decoded and ranked (fuzz_util.h). Loading, reading and
// formatting either succeed or throw spot::Error; anything else — another exception type, a crash,
// a sanitizer report or a leak — aborts and is a finding. Build: fuzz/build.sh; run: tools/fuzz.sh.
#include <cstdint>
#include <memory>
#include <string>

#include "eval/tasks.h"
#include "fuzz/fuzz_util.h"

namespace {

constexpr const char* kHarness = "fuzz_user_task";

using spot::fuzz::finding;
using spot::fuzz::write_file;

// Split files with the fields and label forms the seeds' specs use: text / text2 / premise /
// hypothesis / sentence, labels by name, index and boolean (labelled splits), none in test.
const std::string& data_dir() {
  static const std::string dir = [] {
    const std::string d = spot::fuzz::temp_dir(kHarness);
    auto put = [&](const char* name, const char* text) { write_file(kHarness, d + "/" + name, text); };
    put("train.jsonl",
        "{\"text\": \"a gripping, well-acted film\", \"text2\": \"It is good.\", \"premise\": \"A man sleeps.\", "
        "\"hypothesis\": \"A person rests.\", \"sentence\": \"Great!\", \"label\": \"positive\"}\n"
        "{\"text\": \"  dull and far too long \", \"text2\": \"It is bad.\", \"premise\": \"Dogs bark.\", "
        "\"hypothesis\": \"Cats meow.\", \"sentence\": \"Meh.\", \"label\": 0}\n"
        "\n"
        "{\"text\": \"caf\\u00e9 \\u00c9t\\u00e9 \\u03a3\\u03a3\", \"text2\": \"{braces}\", \"premise\": \"\", "
        "\"hypothesis\": \"\\t\", \"sentence\": \"x\", \"label\": 1, \"extra\": [1, 2]}\r\n");
    put("dev.jsonl",
        "{\"text\": \"fine\", \"text2\": \"ok\", \"premise\": \"p\", \"hypothesis\": \"h\", \"sentence\": \"s\", "
        "\"label\": true}\n"
        "{\"text\": \"worse\", \"text2\": \"no\", \"premise\": \"p\", \"hypothesis\": \"h\", \"sentence\": \"s\", "
        "\"label\": false}\n");
    put("test.jsonl",
        "{\"text\": \"unlabelled\", \"text2\": \"?\", \"premise\": \"p\", \"hypothesis\": \"h\", \"sentence\": \"s\"}\n"
        "{\"text\": \"null label\", \"text2\": \"?\", \"premise\": \"p\", \"hypothesis\": \"h\", \"sentence\": \"s\", "
        "\"label\": null}\n");
    put("train.tsv",
        "text\ttext2\tpremise\thypothesis\tsentence\tlabel\n"
        "a gripping film\tIt is good.\tA man sleeps.\tA person rests.\tGreat!\tpositive\n"
        "dull\tIt is bad.\tDogs bark.\tCats meow.\tMeh.\t0\n"
        "\n"
        "\"quoted\"\t{x}\t\t \tcaf\xc3\xa9\t1\r\n");
    put("dev.tsv", "\xEF\xBB\xBFtext\ttext2\tlabel\nfine\tok\tnegative\nworse\tno\t1");
    put("test.tsv", "index\ttext\ttext2\n0\tunlabelled\t?\n");
    return d;
  }();
  return dir;
}

bool inside(const std::string& path, const std::string& dir) { return path.rfind(dir + "/", 0) == 0; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& dir = data_dir();
  const std::string spec = dir + "/spec.json";
  write_file(kHarness, spec, std::string_view(reinterpret_cast<const char*>(data), size));
  std::unique_ptr<spot::eval::Task> task;
  spot::fuzz::only_spot_errors(kHarness, [&] { task = spot::eval::load_user_task(spec); });
  if (!task) return 0;
  if (task->benchmark() != "user" || task->label_names().empty() || task->splits().empty())
    finding(kHarness, "a loaded user task has no labels or splits");
  for (const spot::eval::SplitInfo& s : task->splits()) {
    if (s.files.size() != 1 || !inside(s.files[0], dir)) continue;
    spot::fuzz::only_spot_errors(kHarness, [&] {
      const std::vector<spot::eval::Example> examples = task->load(dir, s.name);
      if (spot::fuzz::verbose()) std::fprintf(stderr, "%s: split %s: %zu examples\n", kHarness, s.name.c_str(), examples.size());
      spot::fuzz::exercise_examples(*task, examples);
    });
  }
  return 0;
}
