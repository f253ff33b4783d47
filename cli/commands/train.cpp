// train.cpp — `spot train`, `spot eval`, `spot run`, `spot report`: prompt tuning, evaluation,
// experiment configs and reports.
#include <chrono>
#include <sstream>
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "cli/commands/backbone_args.h"
#include "cli/commands/field_args.h"
#include "cli/commands/caller_args.h"
#include "app/library_store.h"
#include "model/registry.h"
#include "app/experiment.h"
#include "train/scorer.h"
#include "train/trainer.h"
#include "io/data_dir.h"

namespace spot::cli {

namespace {

const char* kTaskNote =
    "A task is a built-in name (`spot tasks` lists them) or a user task spec FILE.json (eval/tasks.h).\n";

const char* kTrainAbout =
    "Prompt tuning: learns a soft prompt on a task's train split with the backbone frozen; evaluates on the "
    "validation split every --eval-every steps. Writes to --out DIR: metrics.jsonl, checkpoint.safetensors (a "
    "killed run resumes from it bit-exactly), best_prompt.safetensors, final_prompt.safetensors, "
    "task_embedding.safetensors (with --task-embedding-step). The options are the keys of a train run in an "
    "experiment config (experiments/SCHEMA.md), with the same checks. With --library LIB the finished run's best "
    "prompt (the final one without validation) and its task embedding are added to the prompt library, owned by "
    "--user; the run directory records the entry (library_entries.json), so that finishing the run again adds no "
    "duplicate. Under an MPI launcher (`mpirun -np N spot train ...`) the run is data parallel: each global batch "
    "is split over the N ranks and their prompt gradients summed in rank order; rank 0 alone writes, prints and "
    "evaluates.";

}  // namespace

int cmd_train(const std::vector<std::string>& argv) {
  Args a("train", kTrainAbout);
  a.option("out", "DIR", "where the run writes", "runs/<task>");
  add_field_options(a, trainer_fields(), TrainerConfig{});
  add_backbone_options(a, /*with_prompt=*/false);
  a.option("library", "LIB", "when the run has finished, add its prompt and task embedding to this prompt library "
                             "(`spot library init LIB`)");
  add_caller_options(a);
  a.footer(kTaskNote);
  if (!a.parse(argv)) return 0;
  TrainerConfig c;
  // Bad values are refused here, before the backbone loads or a step runs.
  read_field_options(a, trainer_fields(), c);
  c.data_dir = a.get_or("data", "");
  c.out_dir = a.get_or("out", "runs/" + std::filesystem::path(c.task).filename().string());
  try {
    validate_trainer_config(c);
  } catch (const Error& e) {
    SPOT_FAIL("spot train: " << e.what());
  }
  // Data parallel under an MPI launcher: rank 0 alone opens the library, prints and writes.
  Communicator& comm = world();
  const bool root = comm.rank() == 0;
  // The library is opened (and refused, naming it) before anything is trained.
  std::optional<retrieval::Library> library;
  if (auto lib = a.get("library"); lib && root) library.emplace(retrieval::Library::open(*lib));
  const retrieval::Caller caller = caller_from(a);
  SPOT_CHECK(!a.get("library") || !caller.user.empty(), "--library: the entry needs an owner (--user NAME or SPOT_USER)");
  OpenedBackbone b = open_backbone(a);
  const bool default_lr = !a.get("lr");
  Trainer t(*b.backbone.model, *b.backbone.codec, c, comm);
  if (root)
    std::fprintf(stderr, "spot train: %s on %s, %lld steps, lr %g%s -> %s%s\n", b.backbone.model->name().c_str(),
                 c.tasks.empty() ? c.task.c_str() : "a mixture", (long long)c.steps, t.config().schedule.lr,
                 default_lr ? " (the backbone's default; --lr to change)" : "", c.out_dir.c_str(),
                 comm.size() > 1 ? (", data parallel over " + std::to_string(comm.size()) + " ranks").c_str() : "");
  const TrainResult r = t.train();
  if (!root) return 0;
  std::printf("steps %lld%s, final loss %.4f", (long long)r.steps_done,
              r.resumed ? (" (resumed from " + std::to_string(r.resumed_from) + ")").c_str() : "", r.final_loss);
  if (r.best_step >= 0)
    std::printf(", best %s score %.1f at step %lld", c.eval_split.c_str(), r.best_score, (long long)r.best_step);
  std::printf("\n");
  if (library && r.steps_done >= c.steps) {
    const StoredRun s = store_run_in_library(*library, caller, c, r);
    if (s.added)
      std::printf("library: added entry %lld to %s (%s%s)\n", (long long)s.id, library->path().c_str(),
                  std::filesystem::path(s.prompt_file).filename().c_str(),
                  s.embedding_file.empty() ? ", no task embedding" : ", with its task embedding");
    else
      std::printf("library: already entry %lld of %s\n", (long long)s.id, library->path().c_str());
  }
  return 0;
}

int cmd_eval(const std::vector<std::string>& argv) {
  Args a("eval",
         "Evaluates the frozen backbone (zero-shot) or a soft prompt (--prompt) on a task split with T5's metrics and "
         "prints the task score and the metrics it averages (percent). The options are the keys of an eval run in an "
         "experiment config (experiments/SCHEMA.md), with the same checks.");
  EvalRunSpec defaults;
  defaults.task = "glue/sst2";
  add_field_options(a, eval_run_fields(), defaults, /*struct_defaults=*/true);
  a.option("out", "FILE", "per-example records (JSONL: input, candidates, scores, prediction, gold)")
      .flag("json", "print the result as one JSON object");
  add_backbone_options(a);
  a.footer(kTaskNote);
  if (!a.parse(argv)) return 0;
  EvalRunSpec spec = defaults;
  read_field_options(a, eval_run_fields(), spec);
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
  Args a("run",
         "Runs an experiment config (experiments/*.json; keys in experiments/SCHEMA.md): its evaluations and "
         "prompt-tuning runs, each in <output_dir>/<run>; finished runs are skipped, killed ones resume. Writes "
         "report.md at the end (`spot report`). Under an MPI launcher (`mpirun -np N spot run ...`) train runs are "
         "data parallel over the N ranks and rank 0 alone writes and evaluates; transfer runs are refused there.");
  a.positional("CONFIG", "the experiment config (an experiments/*.json file)")
      .flag("dry-run", "validate the config and list the runs without running them")
      .option("only", "A,B", "only the named runs")
      .flag("force-eval", "re-run evaluations that already have a result")
      .flag("schema", "print the key tables of experiments/SCHEMA.md from the field tables the parser reads (a test "
                      "keeps SCHEMA.md equal to them)");
  if (!a.parse(argv)) return 0;
  if (a.flag("schema")) {
    std::printf("%s", schema_sections_markdown().c_str());
    return 0;
  }
  const ExperimentConfig cfg = load_experiment(a.positional_at(0, "CONFIG (an experiments/*.json file)"));
  // Data parallel under an MPI launcher: train runs split their batches over the ranks; rank 0 alone
  // prints, writes and evaluates (app/experiment.h).
  const bool root = world().rank() == 0;
  ExperimentOptions o;
  o.world = &world();
  o.dry_run = a.flag("dry-run");
  o.force_eval = a.flag("force-eval");
  if (auto only = a.get("only")) {
    std::stringstream ss(*only);
    std::string item;
    while (std::getline(ss, item, ',')) o.only.push_back(item);
  }
  if (o.dry_run && !root) return 0;
  const std::vector<RunOutcome> outcomes = run_experiment(cfg, o);
  if (!root) return 0;
  for (const RunOutcome& r : outcomes)
    std::printf("%-28s %-5s %-28s %.0fs\n", r.name.c_str(), r.kind.c_str(), r.status.c_str(), r.seconds);
  if (!o.dry_run) write_report(cfg.output_dir);
  return 0;
}

int cmd_report(const std::vector<std::string>& argv) {
  Args a("report",
         "Writes DIR/report.md (every run's scores and settings) and learning curves (PNG) for an experiment's "
         "output directory, and prints the report.");
  a.positional("DIR", "an experiment's output directory");
  if (!a.parse(argv)) return 0;
  std::printf("%s", write_report(a.positional_at(0, "DIR (an experiment's output directory)")).c_str());
  return 0;
}

}  // namespace spot::cli
