// experiment.cpp — experiment config parsing (strict: unknown keys and wrong types name the key
// path), the run loop behind `spot run`, and `spot report`.
#include "app/experiment.h"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <charconv>
#include <iomanip>
#include <set>
#include <sstream>

#include "app/library_store.h"
#include "io/cache.h"
#include "io/json_fields.h"
#include "model/registry.h"
#include "train/scorer.h"
#include "base/paths.h"
#include "io/data_dir.h"

namespace spot {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

using Obj = io::JsonObject;

// Trainer fields (train/trainer_config.cpp), read over `c` (the config's "defaults" or the built-in
// defaults); a run may also name the run it starts from.
void read_trainer_fields(Obj& o, TrainerConfig& c, std::string* init_from_run) {
  io::read_fields(o, trainer_fields(), c);
  if (init_from_run) *init_from_run = o.str("init_from_run", *init_from_run);
}

// A task name must resolve to a registered task (eval::find_task) or name a user task spec (*.json,
// relative to the working directory, as `spot run` resolves it) that exists and parses; `key` is
// the key path the name came from.
eval::TaskHandle check_task(const std::string& where, const std::string& key, const std::string& name) {
  const bool spec = name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0;
  std::error_code ec;  // a name that cannot be stat'ed (too long, no permission) does not exist either
  if (spec) SPOT_CHECK(fs::is_regular_file(name, ec), where << ": " << key << ": user task spec '" << name << "' does not exist");
  try {
    return eval::resolve_task(name);
  } catch (const Error& e) {
    SPOT_FAIL(where << ": " << key << ": " << e.what());
  }
}

// The split must be one of the task's splits.
void check_split(const std::string& where, const std::string& key, const eval::Task& task, const std::string& split) {
  for (const auto& s : task.splits())
    if (s.name == split) return;
  std::string names;
  for (const auto& s : task.splits()) names += (names.empty() ? "" : ", ") + s.name;
  SPOT_FAIL(where << ": " << key << ": task '" << task.name() << "' has no split '" << split << "' (splits: " << names
                  << ")");
}

// The tasks a train run uses, each with the key path it was set by: the run's own "tasks" or
// "task", else the defaults', else the built-in default task.
std::vector<std::pair<std::string, std::string>> run_task_keys(const Obj& run, const Obj* defaults,
                                                               const TrainerConfig& c) {
  std::vector<std::pair<std::string, std::string>> out;  // (key path, task name)
  const Obj* from = run.has("tasks") || run.has("task") ? &run
                    : defaults && (defaults->has("tasks") || defaults->has("task")) ? defaults
                                                                                    : nullptr;
  if (!c.tasks.empty()) {
    for (size_t i = 0; i < c.tasks.size(); ++i)
      out.emplace_back((from ? from->key_path("tasks") : std::string("tasks")) + "[" + std::to_string(i) + "]", c.tasks[i]);
  } else {
    out.emplace_back(from ? from->key_path("task") : std::string("task (built-in default)"), c.task);
  }
  return out;
}

std::string split_key(const Obj& run, const Obj* defaults, const std::string& k) {
  if (run.has(k) || !defaults || !defaults->has(k)) return run.key_path(k);
  return defaults->key_path(k);
}


}  // namespace

ExperimentConfig parse_experiment(const std::string& text, const std::string& where) {
  json::value root;
  try {
    root = json::parse(text);
  } catch (const std::exception& e) {
    SPOT_FAIL(where << ": not valid JSON: " << e.what());
  }
  Obj top(root, "", where);
  ExperimentConfig cfg;
  cfg.path = where;
  io::read_fields(top, experiment_fields(), cfg);
  if (cfg.output_dir.empty()) cfg.output_dir = "runs/" + cfg.name;
  if (const json::value* b = top.find("backbone")) {
    Obj bo(*b, "backbone", where);
    io::read_fields(bo, backbone_fields(), cfg.backbone);
    bo.done();
  }
  TrainerConfig defaults;
  defaults.data_dir = cfg.data_dir;
  std::unique_ptr<Obj> dob;
  if (const json::value* d = top.find("defaults")) {
    dob = std::make_unique<Obj>(*d, "defaults", where);
    read_trainer_fields(*dob, defaults, nullptr);
    dob->done();
  }
  const json::value* runs = top.find("runs");
  SPOT_CHECK(runs && runs->is_array() && !runs->as_array().empty(), where << ": runs: expected a non-empty array of runs");
  std::set<std::string> names;
  for (size_t i = 0; i < runs->as_array().size(); ++i) {
    const std::string path = "runs[" + std::to_string(i) + "]";
    Obj ro(runs->as_array()[i], path, where);
    RunSpec r;
    io::read_fields(ro, run_fields(), r);
    SPOT_CHECK(names.insert(r.name).second, where << ": " << path << ".name: duplicate run name '" << r.name << "'");
    if (r.kind == "train") {
      r.train = defaults;
      read_trainer_fields(ro, r.train, &r.init_from_run);
      r.library = ro.str("library", "");
      r.library_user = ro.str("user", "");
      r.train.out_dir = (fs::path(cfg.output_dir) / r.name).string();
      try {
        validate_trainer_config(r.train);  // what relates two fields, once defaults and run are merged
      } catch (const Error& e) {
        SPOT_FAIL(where << ": " << path << "." << e.what());
      }
      if (!r.init_from_run.empty()) {
        SPOT_CHECK(names.count(r.init_from_run) && r.init_from_run != r.name,
                   where << ": " << path << ".init_from_run: no earlier run named '" << r.init_from_run << "'");
        r.train.init.mode = "file";
      }
      if (r.train.init.mode == "file" && r.init_from_run.empty())
        SPOT_CHECK(!r.train.init.file.empty(), where << ": " << path << ".init_file: needed when init is 'file'");
      for (const auto& [key, name] : run_task_keys(ro, dob.get(), r.train)) {
        const auto task = check_task(where, key, name);
        check_split(where, split_key(ro, dob.get(), "train_split"), *task, r.train.train_split);
        check_split(where, split_key(ro, dob.get(), "eval_split"), *task, r.train.eval_split);
      }
    } else if (r.kind == "transfer") {
      r.transfer.train = defaults;
      read_trainer_fields(ro, r.transfer.train, nullptr);
      io::read_fields(ro, transfer_fields(), r.transfer);
      r.baseline_from_run = ro.str("baseline_from_run", "");
      if (!r.baseline_from_run.empty()) {
        SPOT_CHECK(names.count(r.baseline_from_run) && r.baseline_from_run != r.name,
                   where << ": " << path << ".baseline_from_run: no earlier run named '" << r.baseline_from_run << "'");
        SPOT_CHECK(!r.transfer.with_scratch && std::isnan(r.transfer.baseline),
                   where << ": " << path << ".baseline_from_run: give one baseline (not with with_scratch or baseline)");
      }
      if (r.transfer.caller.user.empty()) r.transfer.caller = default_caller();
      r.transfer.data.seed = r.transfer.train.seed;
      r.transfer.data.max_input_tokens = r.transfer.train.max_input_tokens;
      r.transfer.prompt_embedding.examples = r.transfer.data.examples;
      r.transfer.out_dir = r.transfer.train.out_dir = (fs::path(cfg.output_dir) / r.name).string();
      try {
        validate_transfer_spec(r.transfer);
      } catch (const Error& e) {
        SPOT_FAIL(where << ": " << path << ": " << e.what());
      }
      for (const auto& [key, name] : run_task_keys(ro, dob.get(), r.transfer.train)) {
        const auto task = check_task(where, key, name);
        check_split(where, split_key(ro, dob.get(), "train_split"), *task, r.transfer.train.train_split);
        check_split(where, split_key(ro, dob.get(), "eval_split"), *task, r.transfer.train.eval_split);
      }
    } else {
      r.eval.verbalizer = defaults.verbalizer;
      r.eval.max_input_tokens = defaults.max_input_tokens;
      io::read_fields(ro, eval_run_fields(), r.eval);
      const eval::TaskHandle task = check_task(where, path + ".task", r.eval.task);
      check_split(where, path + ".split", *task, r.eval.split);
      if (!r.eval.prompt_from_run.empty())
        SPOT_CHECK(names.count(r.eval.prompt_from_run) && r.eval.prompt_from_run != r.name,
                   where << ": " << path << ".prompt_from_run: no earlier run named '" << r.eval.prompt_from_run << "'");
    }
    ro.done();
    cfg.runs.push_back(std::move(r));
  }
  top.done();
  return cfg;
}

ExperimentConfig load_experiment(const std::string& path) {
  SPOT_CHECK(fs::exists(path), path << ": no such config file");
  return parse_experiment(io::read_file(path), path);
}

namespace {

std::string best_prompt_of(const ExperimentConfig& cfg, const std::string& run) {
  const fs::path p = fs::path(cfg.output_dir) / run / "best_prompt.safetensors";
  const fs::path f = fs::path(cfg.output_dir) / run / "final_prompt.safetensors";
  if (fs::exists(p)) return p.string();
  SPOT_CHECK(fs::exists(f), "run '" << run << "' has no prompt yet (" << p.string() << ")");
  return f.string();
}

// A finished train run's best validation score (its metrics.jsonl's eval events).
double best_score_of(const ExperimentConfig& cfg, const std::string& run) {
  const fs::path log = fs::path(cfg.output_dir) / run / "metrics.jsonl";
  SPOT_CHECK(fs::exists(log), "run '" << run << "' has no metrics yet (" << log.string() << ")");
  std::ifstream in(log);
  double best = NAN;
  for (std::string line; std::getline(in, line);) {
    json::error_code ec;
    const json::value v = json::parse(line, ec);
    if (ec || !v.is_object() || !v.as_object().contains("event") || v.at("event") != "eval") continue;
    const double s = v.at("result").at("score").to_number<double>();
    if (std::isnan(best) || s > best) best = s;
  }
  SPOT_CHECK(!std::isnan(best), log.string() << ": run '" << run << "' has no validation score");
  return best;
}

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

}  // namespace

eval::EvalResult eval_once(FrozenBackbone& model, const TextCodec& codec, const eval::Task& task,
                           const std::string& data_dir, const EvalRunSpec& spec, const Tensor& prompt,
                           const std::string& progress_label) {
  ScorerOptions so;
  so.batch_examples = spec.batch;
  so.max_input_tokens = spec.max_input_tokens;
  BackboneScorer scorer(model, codec, prompt, so);
  eval::EvalOptions eo;
  eo.max_examples = spec.max_examples;
  eo.batch_size = static_cast<int>(spec.batch);
  eo.mode = spec.mode;
  eo.verbalizer = spec.verbalizer;
  eo.length_normalize = spec.length_normalize;
  const double t0 = now_s();
  eo.progress = [&](size_t done, size_t total) {
    const double el = now_s() - t0, rate = done / std::max(el, 1e-9);
    std::fprintf(stderr, "\r%s%zu/%zu examples  %.1f ex/s  ETA %.0fs   ", progress_label.c_str(), done, total, rate,
                 (total - done) / std::max(rate, 1e-9));
  };
  eval::EvalResult r = eval::evaluate(task, data_dir, spec.split, scorer, eo);
  std::fprintf(stderr, "\n");
  return r;
}

std::vector<RunOutcome> run_experiment(const ExperimentConfig& cfg, const ExperimentOptions& opt) {
  std::vector<RunOutcome> out;
  auto selected = [&](const std::string& n) {
    if (opt.only.empty()) return true;
    for (const auto& o : opt.only)
      if (o == n) return true;
    return false;
  };
  if (opt.dry_run) {
    for (const RunSpec& r : cfg.runs)
      if (selected(r.name)) {
        std::printf("%-28s %-5s %s\n", r.name.c_str(), r.kind.c_str(),
                    r.kind == "train"      ? (trainer_config_json(r.train) + (r.init_from_run.empty() ? "" : " <- " + r.init_from_run)).c_str()
                    : r.kind == "transfer" ? (r.transfer.strategy + " of top-" + std::to_string(r.transfer.k) + " from " +
                                              r.transfer.library + " to " + r.transfer.train.task)
                                                 .c_str()
                                           : (r.eval.task + " " + r.eval.split).c_str());
        out.push_back({r.name, r.kind, "validated", 0});
      }
    return out;
  }
  Communicator& comm = opt.world ? *opt.world : local_communicator();
  const bool root = comm.rank() == 0;
  if (comm.size() > 1)
    for (const RunSpec& r : cfg.runs)
      // SPoT transfer trains, evaluates and stores in a library in one call (app/transfer.h); it does
      // not split its training over ranks.
      SPOT_CHECK(!selected(r.name) || r.kind != "transfer",
                 cfg.path << ": run '" << r.name << "' is a transfer run, which does not run data-parallel over "
                          << comm.size() << " ranks: run it without an MPI launcher (spot run --only " << r.name << ")");
  Context ctx(backend_from_name(cfg.backbone.backend));
  if (cfg.backbone.threads > 0) ctx.set_cpu_threads(static_cast<int>(cfg.backbone.threads));
  BackboneOptions bo;
  bo.chat = cfg.backbone.chat;
  bo.tokenizer = cfg.backbone.tokenizer;
  bo.llama_prompt_path = cfg.backbone.prompt_path;
  bo.precision = parse_precision(cfg.backbone.precision);
  LoadedBackbone lb = load_backbone(ctx, cfg.backbone.model, bo);
  if (root) {
    fs::create_directories(cfg.output_dir);
    io::write_file_atomic((fs::path(cfg.output_dir) / "experiment.json").string(), io::read_file(cfg.path));
  }
  for (const RunSpec& r : cfg.runs) {
    if (!selected(r.name)) continue;
    const double t0 = now_s();
    const fs::path dir = fs::path(cfg.output_dir) / r.name;
    RunOutcome o{r.name, r.kind, "done", 0};
    if (r.kind == "train") {
      if (fs::exists(dir / "final_prompt.safetensors")) {
        o.status = "skipped (already complete)";
      } else {
        TrainerConfig tc = r.train;
        if (!r.init_from_run.empty()) tc.init.file = best_prompt_of(cfg, r.init_from_run);
        if (root)
          std::fprintf(stderr, "== run %s: prompt tuning on %s (%lld steps) with %s\n", r.name.c_str(),
                       tc.tasks.empty() ? tc.task.c_str() : "a mixture", (long long)tc.steps, lb.model->name().c_str());
        Trainer t(*lb.model, *lb.codec, tc, comm);
        const TrainResult res = t.train();  // returns on every rank once rank 0 has written the run
        if (root)
          std::fprintf(stderr, "== run %s: best %.2f at step %lld\n", r.name.c_str(), res.best_score, (long long)res.best_step);
      }
      if (!r.library.empty() && root) {
        // Stored once (the run directory records the entry), also when the run was complete before.
        retrieval::Library lib = fs::exists(r.library) ? retrieval::Library::open(r.library)
                                                       : retrieval::Library::create(r.library);
        retrieval::Caller caller = default_caller();
        if (!r.library_user.empty()) caller.user = r.library_user;
        TrainResult done;
        done.steps_done = r.train.steps;
        const StoredRun sr = store_run_in_library(lib, caller, r.train, done);
        std::fprintf(stderr, "== run %s: %s library entry %lld of %s\n", r.name.c_str(), sr.added ? "stored as" : "already",
                     (long long)sr.id, r.library.c_str());
      }
    } else if (r.kind == "transfer") {
      if (fs::exists(dir / "transfer.json")) {
        o.status = "skipped (already complete)";
      } else {
        std::fprintf(stderr, "== run %s: SPoT transfer to %s (%s of top-%lld)\n", r.name.c_str(),
                     r.transfer.train.task.c_str(), r.transfer.strategy.c_str(), (long long)r.transfer.k);
        TransferSpec ts = r.transfer;
        if (!r.baseline_from_run.empty()) ts.baseline = best_score_of(cfg, r.baseline_from_run);
        const TransferResult res = run_transfer(*lb.model, *lb.codec, ts);
        std::fprintf(stderr, "== run %s: %.2f (from scratch %.2f, gain %+.2f)\n", r.name.c_str(), res.score,
                     res.scratch_score, res.gain);
      }
    } else {
      const fs::path result = dir / ("eval_" + r.eval.split + ".json");
      if (fs::exists(result) && !opt.force_eval) {
        o.status = "skipped (already complete)";
      } else if (root) {
        fs::create_directories(dir);
        Tensor prompt;
        std::string prompt_file = r.eval.prompt;
        if (!r.eval.prompt_from_run.empty()) prompt_file = best_prompt_of(cfg, r.eval.prompt_from_run);
        if (!prompt_file.empty()) prompt = SoftPrompt::load(prompt_file, lb.model->d_model()).values;
        const double te = now_s();
        const std::string data_dir = cfg.data_dir;
        const eval::TaskHandle task = eval::resolve_task(r.eval.task);
        const eval::EvalResult er = eval_once(
            *lb.model, *lb.codec, *task,
            eval::data_dir_for(*task, data_dir.empty() ? std::nullopt : std::optional<std::string>(data_dir)), r.eval,
            prompt, "[" + r.name + "] ");
        std::fprintf(stderr, "== run %s: %s %s %s, %zu examples\n", r.name.c_str(), er.task.c_str(),
                     er.split.c_str(), eval::result_summary(er).c_str(), er.num_examples);
        eval::write_records_jsonl(er, (dir / ("records_" + r.eval.split + ".jsonl")).string());
        json::object meta{{"result", json::parse(eval::result_json(er))},
                          {"prompt", prompt_file},
                          {"backbone", lb.model->name()},
                          {"seconds", now_s() - te}};
        io::write_file_atomic(result.string(), json::serialize(meta) + "\n");
      }
      // The other ranks wait for rank 0's evaluation: a later run may read what it wrote.
      comm.barrier();
    }
    o.seconds = now_s() - t0;
    out.push_back(o);
  }
  return out;
}

std::string write_report(const std::string& dir) {
  SPOT_CHECK(fs::is_directory(dir), dir << ": not a directory");
  std::ostringstream md;
  md << "# Report: " << fs::path(dir).filename().string() << "\n\n";
  const fs::path exp = fs::path(dir) / "experiment.json";
  if (fs::exists(exp)) {
    const ExperimentConfig c = parse_experiment(io::read_file(exp.string()), exp.string());
    md << c.description << "\n\nBackbone: `" << c.backbone.model << "`" << (c.backbone.chat ? " (chat template)" : "")
       << ", backend " << c.backbone.backend << ".\n\n";
  }
  md << "| run | kind | task | split | metric(s) | score | best step / steps | time |\n";
  md << "|---|---|---|---|---|---|---|---|\n";
  std::vector<fs::path> runs;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory()) runs.push_back(e.path());
  std::sort(runs.begin(), runs.end());
  auto fmt_metrics = [](const json::object& result) {
    std::ostringstream os;
    const json::value* m = result.if_contains("metrics");
    if (m && m->is_object())
      for (const auto& kv : m->as_object())
        os << (os.tellp() > 0 ? ", " : "") << std::string(kv.key()) << " " << std::fixed << std::setprecision(2)
           << kv.value().to_number<double>();
    else if (m && m->is_array())
      for (const auto& e : m->as_array()) os << json::serialize(e) << " ";
    return os.str();
  };
  for (const fs::path& r : runs) {
    const std::string name = r.filename().string();
    for (const auto& e : fs::directory_iterator(r)) {
      const std::string fn = e.path().filename().string();
      if (fn.rfind("eval_", 0) == 0 && fn.size() > 5 && e.path().extension() == ".json") {
        const json::object o = json::parse(io::read_file(e.path().string())).as_object();
        const json::object& res = o.at("result").as_object();
        char t[32];
        std::snprintf(t, sizeof t, "%.0fs", o.at("seconds").to_number<double>());
        md << "| " << name << " | eval" << (o.at("prompt").as_string().empty() ? " (zero-shot)" : " (prompt)") << " | "
           << std::string(res.at("task").as_string()) << " | " << std::string(res.at("split").as_string()) << " | "
           << fmt_metrics(res) << " | "
           << std::fixed << std::setprecision(2) << res.at("score").to_number<double>() << " | | " << t << " |\n";
      }
    }
    const fs::path log = r / "metrics.jsonl";
    if (!fs::exists(log)) continue;
    std::ifstream in(log);
    std::string line, task, split, metrics;
    double best = -1, elapsed = 0;
    int64_t best_step = -1, last_step = 0, steps = 0;
    while (std::getline(in, line)) {
      json::error_code ec;
      const json::value v = json::parse(line, ec);
      if (ec || !v.is_object()) continue;
      const json::object& o = v.as_object();
      const std::string ev(o.at("event").as_string());
      if (ev == "start") steps = o.at("config").as_object().at("steps").as_int64();
      if (ev == "train") {
        last_step = o.at("step").as_int64();
        elapsed = o.at("elapsed_s").to_number<double>();
      }
      if (ev == "eval") {
        const json::object& res = o.at("result").as_object();
        task = std::string(res.at("task").as_string());
        split = std::string(res.at("split").as_string());
        const double s = res.at("score").to_number<double>();
        if (s > best) best = s, best_step = o.at("step").as_int64(), metrics = fmt_metrics(res);
      }
    }
    char t[32];
    std::snprintf(t, sizeof t, "%.0fs", elapsed);
    md << "| " << name << " | prompt tuning | " << task << " | " << split << " | " << metrics << " | " << std::fixed
       << std::setprecision(2) << best << " | " << best_step << " / " << last_step << (steps ? " of " + std::to_string(steps) : "")
       << " | " << t << " |\n";
  }
  // Learning curves (PNG) through the plotting script, when matplotlib is available.
  // tools/plot_runs.py of the checkout the spot executable was built in.
  if (const auto found = find_beside_executable("tools/plot_runs.py")) {
    const std::string& script = *found;
    // Debian's python3-matplotlib lives with /usr/bin/python3 (a pyenv python3 may lack it).
    const std::string py = fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    const std::string cmd = py + " '" + script + "' '" + dir + "' > /dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) md << "\n![learning curves](learning_curves.png)\n";
    else md << "\n(learning curves not drawn: `python3 " << script << "` needs matplotlib)\n";
  }
  io::write_file_atomic((fs::path(dir) / "report.md").string(), md.str());
  return md.str();
}

}  // namespace spot
