// train.cpp — `spot train`, `spot eval`, `spot run`, `spot report`: prompt tuning, evaluation,
// experiment configs and reports.
#include <chrono>
#include <sstream>
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "cli/commands/backbone_args.h"
#include "model/registry.h"
#include "app/experiment.h"
#include "train/scorer.h"
#include "train/trainer.h"
#include "io/data_dir.h"

namespace spot::cli {

namespace {

const char* kTaskNote =
    "A task is a built-in name (`spot tasks` lists them) or a user task spec FILE.json (eval/tasks.h).\n";

const char* kTrainUsage =
    "usage: spot train [--task NAME|SPEC.json | --tasks A,B,...] [--out DIR] [options]\n"
    "\n"
    "Prompt tuning: learns a soft prompt on a task's train split with the backbone frozen; evaluates on\n"
    "the validation split every --eval-every steps. Writes to DIR (default runs/<task>): metrics.jsonl,\n"
    "checkpoint.safetensors (a killed run resumes from it bit-exactly), best_prompt.safetensors,\n"
    "final_prompt.safetensors, task_embedding.safetensors (with --task-embedding-step).\n"
    "\n"
    "  --out DIR           where the run writes (default runs/<task>)\n";

// The trainer options, one per field of TrainerConfig's table (train/trainer_config.cpp): the same
// keys, checks and defaults as a train run of an experiment config (experiments/SCHEMA.md).
std::string trainer_options_usage() {
  std::string out;
  const TrainerConfig defaults;
  for (const Field<TrainerConfig>& f : trainer_fields()) {
    if (f.flag.empty()) continue;
    std::string help = f.help, def = f.default_doc.empty() ? field_value_text(f.get(defaults)) : f.default_doc;
    for (std::string* t : {&help, &def}) {
      std::string plain;
      for (char ch : *t)
        if (ch != '`' && ch != '*') plain += ch;
      *t = plain;
    }
    const char* meta = f.kind == FieldKind::Integer ? " N" : f.kind == FieldKind::Number ? " X" : f.kind == FieldKind::Bool ? "" : " V";
    std::string head = "  --" + f.flag + meta;
    head.resize(std::max<size_t>(head.size() + 1, 22), ' ');
    // Wrapped at 100 columns under the option's column.
    std::string text = help + " (default " + def + ")", line = head;
    std::istringstream words(text);
    std::string w;
    bool first = true;
    while (words >> w) {
      if (!first && line.size() + 1 + w.size() > 100) {
        out += line + "\n";
        line = std::string(22, ' ') + w;
      } else {
        line += (first ? "" : " ") + w;
      }
      first = false;
    }
    out += line + "\n";
  }
  return out;
}

const char* kEvalUsage =
    "usage: spot eval [--task NAME|SPEC.json] [--split S] [--prompt FILE] [options]\n"
    "\n"
    "Evaluates the frozen backbone (zero-shot) or a soft prompt on a task split with T5's metrics and\n"
    "prints the task score and the metrics it averages (percent).\n"
    "\n"
    "  --task NAME         the task (default glue/sst2)\n"
    "  --split S           the split (default validation)\n"
    "  --prompt FILE       a soft prompt (.safetensors saved by spot, or a PEFT adapter_model.safetensors)\n"
    "  --mode M            rank (default: rank classification over the labels) or generate\n"
    "  --verbalizer V      t5 (default) or natural\n"
    "  --length-normalize  rank by log-likelihood per token\n"
    "  --max-examples N    the first N examples (default: all)\n"
    "  --batch N           examples per forward pass (default 32); --max-input-tokens N (default 512)\n"
    "  --out FILE          per-example records (JSONL: input, candidates, scores, prediction, gold)\n"
    "  --json              print the result as one JSON object instead\n";

bool wants_help(const std::vector<std::string>& argv, const char* usage, const char* prompt = "", const char* backbone = "",
                const char* note = "") {
  for (const std::string& a : argv)
    if (a == "--help" || a == "-h") {
      std::printf("%s%s%s%s", usage, prompt, backbone, note);
      return true;
    }
  return false;
}

}  // namespace

int cmd_train(const std::vector<std::string>& argv) {
  const std::string options_usage = trainer_options_usage();
  if (wants_help(argv, kTrainUsage, options_usage.c_str(), kBackboneUsage, kTaskNote)) return 0;
  std::vector<std::string> own = {"out"};
  for (const Field<TrainerConfig>& f : trainer_fields())
    if (!f.flag.empty()) own.push_back(f.flag);
  Args a(argv, backbone_flags(), backbone_options(own, /*with_prompt=*/false));
  TrainerConfig c;
  // Bad values are refused here, before the backbone loads or a step runs.
  for (const Field<TrainerConfig>& f : trainer_fields())
    if (auto v = f.flag.empty() ? std::nullopt : a.get(f.flag))
      set_field(f, c, field_value_from_text(f, *v), "option --" + f.flag);
  c.data_dir = a.get_or("data", "");
  c.out_dir = a.get_or("out", "runs/" + std::filesystem::path(c.task).filename().string());
  try {
    validate_trainer_config(c);
  } catch (const Error& e) {
    SPOT_FAIL("spot train: " << e.what());
  }
  OpenedBackbone b = open_backbone(a);
  const bool default_lr = !a.get("lr");
  Trainer t(*b.backbone.model, *b.backbone.codec, c);
  std::fprintf(stderr, "spot train: %s on %s, %lld steps, lr %g%s -> %s\n", b.backbone.model->name().c_str(),
               c.tasks.empty() ? c.task.c_str() : "a mixture", (long long)c.steps, t.config().schedule.lr,
               default_lr ? " (the backbone's default; --lr to change)" : "", c.out_dir.c_str());
  const TrainResult r = t.train();
  std::printf("steps %lld%s, final loss %.4f", (long long)r.steps_done,
              r.resumed ? (" (resumed from " + std::to_string(r.resumed_from) + ")").c_str() : "", r.final_loss);
  if (r.best_step >= 0)
    std::printf(", best %s score %.1f at step %lld", c.eval_split.c_str(), r.best_score, (long long)r.best_step);
  std::printf("\n");
  return 0;
}

int cmd_eval(const std::vector<std::string>& argv) {
  if (wants_help(argv, kEvalUsage, "", kBackboneUsage, kTaskNote)) return 0;
  // The options are the fields of an eval run (app/experiment_fields.cpp): the same checks.
  std::vector<std::string> flags = {"json"}, options = {"out"};
  for (const Field<EvalRunSpec>& f : eval_run_fields())
    if (!f.flag.empty()) (f.kind == FieldKind::Bool ? flags : options).push_back(f.flag);
  Args a(argv, backbone_flags(flags), backbone_options(options));
  EvalRunSpec spec;
  spec.task = "glue/sst2";
  for (const Field<EvalRunSpec>& f : eval_run_fields()) {
    if (f.flag.empty()) continue;
    if (f.kind == FieldKind::Bool) {
      if (a.flag(f.flag)) set_field(f, spec, FieldValue(true), "option --" + f.flag);
    } else if (auto v = a.get(f.flag)) {
      set_field(f, spec, field_value_from_text(f, *v), "option --" + f.flag);
    }
  }
  // The task and its split are checked before the backbone loads.
  const eval::TaskHandle task = eval::resolve_task(spec.task);
  task->split(spec.split);  // throws listing the task's splits
  const std::string data_dir = eval::data_dir_for(*task, a.get("data"));
  OpenedBackbone b = open_backbone(a);
  const eval::EvalResult r = eval_once(*b.backbone.model, *b.backbone.codec, *task, data_dir, spec, b.prompt);
  if (a.flag("json")) {
    std::printf("%s\n", eval::result_json(r).c_str());
  } else {
    std::printf("%s %s: %s\n", r.task.c_str(), r.split.c_str(), eval::result_summary(r).c_str());
    const std::string with_prompt = a.get("prompt") ? "soft prompt " + *a.get("prompt") : "zero-shot (no prompt)";
    std::printf("  %zu examples, %s, %s verbalizer, %s, %s\n", r.num_examples,
                r.mode == eval::EvalMode::rank ? "rank classification" : "generation",
                eval::verbalizer_name(r.verbalizer), b.backbone.model->name().c_str(), with_prompt.c_str());
  }
  if (auto out = a.get("out")) eval::write_records_jsonl(r, *out);
  return 0;
}

int cmd_run(const std::vector<std::string>& argv) {
  if (wants_help(argv,
                 "usage: spot run CONFIG [--dry-run] [--only A,B] [--force-eval] | spot run --schema\n"
                 "\n"
                 "Runs an experiment config (experiments/*.json; keys in experiments/SCHEMA.md): its evaluations\n"
                 "and prompt-tuning runs, each in <output_dir>/<run>; finished runs are skipped, killed ones resume.\n"
                 "Writes report.md at the end (`spot report`).\n"
                 "  --dry-run     validate the config and list the runs without running them\n"
                 "  --only A,B    only the named runs\n"
                 "  --force-eval  re-run evaluations that already have a result\n"
                 "  --schema      print the key tables of experiments/SCHEMA.md, from the field tables the parser\n"
                 "                reads (a test keeps SCHEMA.md equal to them)\n"))
    return 0;
  Args a(argv, {"dry-run", "force-eval", "schema"}, {"only"});
  if (a.flag("schema")) {
    std::printf("%s", schema_sections_markdown().c_str());
    return 0;
  }
  const ExperimentConfig cfg = load_experiment(a.positional_at(0, "CONFIG (an experiments/*.json file)"));
  ExperimentOptions o;
  o.dry_run = a.flag("dry-run");
  o.force_eval = a.flag("force-eval");
  if (auto only = a.get("only")) {
    std::stringstream ss(*only);
    std::string item;
    while (std::getline(ss, item, ',')) o.only.push_back(item);
  }
  for (const RunOutcome& r : run_experiment(cfg, o))
    std::printf("%-28s %-5s %-28s %.0fs\n", r.name.c_str(), r.kind.c_str(), r.status.c_str(), r.seconds);
  if (!o.dry_run) write_report(cfg.output_dir);
  return 0;
}

int cmd_report(const std::vector<std::string>& argv) {
  if (wants_help(argv,
                 "usage: spot report DIR\n"
                 "\n"
                 "Writes DIR/report.md (every run's scores and settings) and learning curves (PNG) for an\n"
                 "experiment's output directory, and prints the report.\n"))
    return 0;
  Args a(argv, {}, {});
  std::printf("%s", write_report(a.positional_at(0, "DIR (an experiment's output directory)")).c_str());
  return 0;
}

}  // namespace spot::cli
