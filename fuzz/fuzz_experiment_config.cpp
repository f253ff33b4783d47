// fuzz_experiment_config.cpp — libFuzzer harness for the experiment config reader,
// spot::load_experiment (app/experiment.cpp). The input is a config's JSON bytes, written to
// config.json in a per-process temp directory ($FUZZ_TMPDIR, default /dev/shm); every "@DIR@" in it
// is first replaced by that directory, which holds a user task spec (task.json, labels negative /
// positive, splits train / validation / test) with its data, so that configs can name a user task
// ("task": "@DIR@/task.json") as well as the built-in ones. A config either loads or is rejected
// with spot::Error. One that loads must be consistent with what `spot run` does with it: every
// train run's trainer configuration serialises to valid JSON (it is written to config.json and to
// checkpoint metadata) and its placement parses back; every eval run's mode and verbalizer parse.
// Anything else — another exception type, a crash, a sanitizer report, a leak or an inconsistency
// — aborts and is a finding. Nothing is trained or evaluated. Build: fuzz/build.sh; run:
// tools/fuzz.sh.
#include <boost/json.hpp>

#include <cstdint>
#include <string>

#include "eval/evaluate.h"
#include "fuzz/fuzz_util.h"
#include "app/experiment.h"
#include "io/json_fields.h"
#include "train/trainer.h"

namespace {

constexpr const char* kHarness = "fuzz_experiment_config";

using spot::Error;
using spot::fuzz::finding;
using spot::fuzz::write_file;

const std::string& dir() {
  static const std::string d = [] {
    const std::string t = spot::fuzz::temp_dir(kHarness);
    write_file(kHarness, t + "/task.json",
               R"({"name": "fuzz_sentiment", "format": "jsonl",
                   "splits": {"train": "train.jsonl", "validation": "dev.jsonl", "test": "test.jsonl"},
                   "text_fields": ["text"], "labels": ["negative", "positive"],
                   "natural": {"template": "Review: {text}\nSentiment:"}})");
    write_file(kHarness, t + "/train.jsonl", "{\"text\": \"great\", \"label\": \"positive\"}\n");
    write_file(kHarness, t + "/dev.jsonl", "{\"text\": \"awful\", \"label\": 0}\n");
    write_file(kHarness, t + "/test.jsonl", "{\"text\": \"fine\"}\n");
    return t;
  }();
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& d = dir();
  std::string text(reinterpret_cast<const char*>(data), size);
  for (size_t at = text.find("@DIR@"); at != std::string::npos; at = text.find("@DIR@", at + d.size()))
    text.replace(at, 5, d);
  const std::string path = d + "/config.json";
  write_file(kHarness, path, text);
  spot::fuzz::only_spot_errors(kHarness, [&] {
    const spot::ExperimentConfig cfg = spot::load_experiment(path);
    if (cfg.runs.empty()) finding(kHarness, "a loaded config has no runs");
    if (spot::fuzz::verbose()) std::fprintf(stderr, "%s: loaded, %zu runs\n", kHarness, cfg.runs.size());
    for (const spot::RunSpec& r : cfg.runs) {
      try {
        if (r.kind == "train") {
          const std::string json = spot::trainer_config_json(r.train);
          boost::json::error_code ec;
          (void)boost::json::parse(json, ec);
          if (ec) finding(kHarness, "run '" + r.name + "': trainer_config_json is not valid JSON: " + json);
          // The written config reads back through the same field table to the same config.
          boost::json::value v = boost::json::parse(json);
          v.as_object().erase("data_dir");
          spot::io::JsonObject o(v, "", "config.json");
          spot::TrainerConfig back;
          spot::io::read_fields(o, spot::trainer_fields(), back);
          o.done();
          back.data_dir = r.train.data_dir;
          if (spot::trainer_config_json(back) != json)
            finding(kHarness, "run '" + r.name + "': config.json does not read back: " + json + " vs " +
                                  spot::trainer_config_json(back));
          (void)spot::PromptPlacement::parse(r.train.placement.str());
        } else if (r.kind == "eval") {
          (void)spot::eval::eval_mode_name(r.eval.mode);
          (void)spot::eval::verbalizer_name(r.eval.verbalizer);
        } else {
          finding(kHarness, "run '" + r.name + "' has kind '" + r.kind + "'");
        }
      } catch (const Error& e) {
        finding(kHarness, "run '" + r.name + "' was accepted but does not run: " + e.what());
      }
    }
  });
  return 0;
}
