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
    "  --task NAME         the task (default glue/sst2); --tasks A,B,... a multi-task mixture\n"
    "  --mixture-cap N     examples-proportional mixing, at most N examples per task (default 0: no cap)\n"
    "  --steps N           optimiser steps (default 1000)\n"
    "  --lr X              learning rate (default: the backbone's: 0.3 for T5, the paper's value; for Llama-\n"
    "                      family models 0.25 x the RMS of the token embeddings, 0.034 for SmolLM2-135M,\n"
    "                      where 0.3 diverges). The value used is printed when training starts.\n"
    "  --optimizer O       adafactor (default, the paper's) or adam\n"
    "  --schedule S        constant (default), warmup_constant, warmup_linear, warmup_rsqrt; --warmup N\n"
    "  --batch N           examples per step (default 32); --batch-tokens N fills batches by padded tokens\n"
    "  --accum N           micro-batches per step (default 1)\n"
    "  --prompt-len N      prompt vectors (default 100)\n"
    "  --init M            vocab (default), uniform, labels, file (with --init-file FILE)\n"
    "  --placement P       prefix (default), suffix, infix:K\n"
    "  --prompt-depth D    input (default: the prompt enters with the embeddings) or deep (a prompt\n"
    "                      block at the input of every encoder layer (T5) / layer (Llama), VPT-deep)\n"
    "  --verbalizer V      t5 (default: T5's text-to-text format) or natural (instruction style)\n"
    "  --eval-every N      evaluate every N steps (default 500) on --eval-examples N (default: all)\n"
    "  --eval-mode M       rank (default: rank classification) or generate\n"
    "  --checkpoint-every N  (default 500)\n"
    "  --task-embedding-step N  save the prompt at step N as the task embedding (SPoT)\n"
    "  --seed N            data order and prompt initialisation (default 0)\n"
    "  --max-train-examples N, --max-input-tokens N (default 512), --dropout P (prompt dropout)\n";

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
  if (wants_help(argv, kTrainUsage, "", kBackboneUsage, kTaskNote)) return 0;
  Args a(argv, backbone_flags(),
         backbone_options({"task", "tasks", "out", "steps", "lr", "optimizer", "schedule", "warmup", "batch",
                           "batch-tokens", "accum", "prompt-len", "init", "init-file", "verbalizer", "eval-every",
                           "eval-examples", "checkpoint-every", "task-embedding-step", "seed", "placement", "prompt-depth",
                           "max-train-examples", "max-input-tokens", "dropout", "mixture-cap", "eval-mode"},
                          /*with_prompt=*/false));
  TrainerConfig c;
  c.task = a.get_or("task", c.task);
  if (auto t = a.get("tasks")) {
    std::string s = *t, item;
    std::stringstream ss(s);
    while (std::getline(ss, item, ',')) c.tasks.push_back(item);
  }
  c.data_dir = a.get_or("data", "");
  c.out_dir = a.get_or("out", "runs/" + std::filesystem::path(c.task).filename().string());
  c.steps = a.get_int("steps", c.steps);
  c.schedule.lr = a.get_double("lr", c.schedule.lr);
  c.schedule.kind = a.get_or("schedule", c.schedule.kind);
  c.schedule.warmup_steps = a.get_int("warmup", 0);
  c.schedule.total_steps = c.steps;
  c.optimizer = a.get_or("optimizer", c.optimizer);
  c.batch_size = a.get_int("batch", c.batch_size);
  c.batch_tokens = a.get_int("batch-tokens", 0);
  c.grad_accum = a.get_int("accum", 1);
  c.prompt_length = a.get_int("prompt-len", c.prompt_length);
  c.init.mode = a.get_or("init", c.init.mode);
  c.init.file = a.get_or("init-file", "");
  c.verbalizer = a.get_or("verbalizer", c.verbalizer);
  c.eval_every = a.get_int("eval-every", c.eval_every);
  c.eval_examples = a.get_int("eval-examples", c.eval_examples);
  c.eval_mode = a.get_or("eval-mode", c.eval_mode);
  c.checkpoint_every = a.get_int("checkpoint-every", c.checkpoint_every);
  c.task_embedding_step = a.get_int("task-embedding-step", 0);
  c.seed = static_cast<uint64_t>(a.get_int("seed", 0));
  c.placement = PromptPlacement::parse(a.get_or("placement", "prefix"));
  c.placement.depth = parse_prompt_depth(a.get_or("prompt-depth", "input"));
  c.max_train_examples = a.get_int("max-train-examples", -1);
  c.max_input_tokens = a.get_int("max-input-tokens", c.max_input_tokens);
  c.prompt_dropout = a.get_double("dropout", 0.0);
  c.mixture_cap = a.get_int("mixture-cap", 0);
  c.init.seed = c.seed;
  // Bad values are refused here, before the backbone loads or a step runs.
  auto at_least = [&](const char* opt, double v, double lo) {
    SPOT_CHECK(v >= lo, "option --" << opt << ": must be " << (lo == 1 ? "a positive integer" : "at least 0") << ", got " << v);
  };
  if (a.get("lr")) SPOT_CHECK(c.schedule.lr > 0, "option --lr: must be positive, got " << c.schedule.lr);
  at_least("steps", c.steps, 1);
  at_least("prompt-len", c.prompt_length, 1);
  at_least("accum", c.grad_accum, 1);
  if (c.batch_tokens == 0) at_least("batch", c.batch_size, 1);
  at_least("batch-tokens", c.batch_tokens, 0);
  at_least("warmup", c.schedule.warmup_steps, 0);
  at_least("eval-every", c.eval_every, 0);
  at_least("checkpoint-every", c.checkpoint_every, 0);
  at_least("task-embedding-step", c.task_embedding_step, 0);
  SPOT_CHECK(c.task_embedding_step <= c.steps, "option --task-embedding-step: step " << c.task_embedding_step
                                                   << " is after the last step (" << c.steps << ")");
  at_least("max-input-tokens", c.max_input_tokens, 1);
  at_least("mixture-cap", c.mixture_cap, 0);
  SPOT_CHECK(c.prompt_dropout >= 0 && c.prompt_dropout < 1, "option --dropout: must be in [0, 1), got " << c.prompt_dropout);
  SPOT_CHECK(c.max_train_examples == -1 || c.max_train_examples > 0,
             "option --max-train-examples: must be positive (default: the whole split), got " << c.max_train_examples);
  SPOT_CHECK(c.eval_examples == -1 || c.eval_examples > 0,
             "option --eval-examples: must be positive (default: the whole split), got " << c.eval_examples);
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
  Args a(argv, backbone_flags({"length-normalize", "json"}),
         backbone_options({"task", "split", "max-examples", "batch", "mode", "verbalizer", "out", "max-input-tokens"}));
  const int64_t max_examples = a.get_int("max-examples", -1), batch = a.get_int("batch", 32),
                max_input_tokens = a.get_int("max-input-tokens", 512);
  SPOT_CHECK(max_examples == -1 || max_examples > 0, "option --max-examples: must be positive, got " << max_examples);
  SPOT_CHECK(batch > 0 && batch <= (1 << 20), "option --batch: must be a positive number of examples (at most 2^20), got " << batch);
  SPOT_CHECK(max_input_tokens > 0, "option --max-input-tokens: must be positive, got " << max_input_tokens);
  // The task, its split, the mode and the verbalizer are checked before the backbone loads.
  eval::EvalOptions eo;
  eo.mode = eval::eval_mode_from_string(a.get_or("mode", "rank"));
  eo.verbalizer = eval::verbalizer_from_string(a.get_or("verbalizer", "t5"));
  const eval::TaskHandle task = eval::resolve_task(a.get_or("task", "glue/sst2"));
  const std::string split = a.get_or("split", "validation");
  task->split(split);  // throws listing the task's splits
  const std::string data_dir = eval::data_dir_for(*task, a.get("data"));
  OpenedBackbone b = open_backbone(a);
  const Tensor& prompt = b.prompt;
  ScorerOptions so;
  so.batch_examples = batch;
  so.max_input_tokens = max_input_tokens;
  BackboneScorer scorer(*b.backbone.model, *b.backbone.codec, prompt, so);
  eo.max_examples = max_examples;
  eo.batch_size = static_cast<int>(so.batch_examples);
  eo.length_normalize = a.flag("length-normalize");
  const auto t0 = std::chrono::steady_clock::now();
  eo.progress = [&](size_t done, size_t total) {
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "\r%zu/%zu examples  %.1f ex/s   ", done, total, done / std::max(el, 1e-9));
  };
  const eval::EvalResult r = eval::evaluate(*task, data_dir, split, scorer, eo);
  std::fprintf(stderr, "\n");
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
                 "usage: spot run CONFIG [--dry-run] [--only A,B] [--force-eval]\n"
                 "\n"
                 "Runs an experiment config (experiments/*.json; keys in experiments/SCHEMA.md): its evaluations\n"
                 "and prompt-tuning runs, each in <output_dir>/<run>; finished runs are skipped, killed ones resume.\n"
                 "Writes report.md at the end (`spot report`).\n"
                 "  --dry-run     validate the config and list the runs without running them\n"
                 "  --only A,B    only the named runs\n"
                 "  --force-eval  re-run evaluations that already have a result\n"))
    return 0;
  Args a(argv, {"dry-run", "force-eval"}, {"only"});
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
