// train.cpp — `spot train`, `spot eval`, `spot run`, `spot report`: prompt tuning, evaluation,
// experiment configs and reports.
#include <chrono>
#include <sstream>
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "model/registry.h"
#include "train/experiment.h"
#include "train/scorer.h"
#include "train/trainer.h"

namespace spot::cli {

namespace {

const std::vector<std::string> kBackboneOptions = {"model", "backend", "threads", "tokenizer", "prompt-path", "data"};

struct Backbone {
  std::unique_ptr<Context> ctx;
  LoadedBackbone lb;
};

Backbone open_backbone(const Args& a) {
  Backbone b;
  b.ctx = std::make_unique<Context>(backend_from_name(a.get_or("backend", "cpu")));
  if (a.get("threads")) b.ctx->set_cpu_threads(static_cast<int>(a.get_int("threads", 0)));
  BackboneOptions o;
  o.chat = a.flag("chat");
  o.tokenizer = a.get_or("tokenizer", "");
  o.llama_prompt_path = a.get_or("prompt-path", "auto");
  b.lb = load_backbone(*b.ctx, a.get_or("model", "smollm2"), o);
  return b;
}

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

int cmd_train(const std::vector<std::string>& argv) {
  Args a(argv, {"chat"},
         with(kBackboneOptions, {"task", "tasks", "out", "steps", "lr", "optimizer", "schedule", "warmup", "batch",
                                 "batch-tokens", "accum", "prompt-len", "init", "init-file", "verbalizer", "eval-every",
                                 "eval-examples", "checkpoint-every", "task-embedding-step", "seed", "placement",
                                 "max-train-examples", "max-input-tokens", "dropout", "mixture-cap", "eval-mode"}));
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
  c.max_train_examples = a.get_int("max-train-examples", -1);
  c.max_input_tokens = a.get_int("max-input-tokens", c.max_input_tokens);
  c.prompt_dropout = a.get_double("dropout", 0.0);
  c.mixture_cap = a.get_int("mixture-cap", 0);
  c.init.seed = c.seed;
  Backbone b = open_backbone(a);
  std::fprintf(stderr, "spot train: %s on %s, %lld steps -> %s\n", b.lb.model->name().c_str(),
               c.tasks.empty() ? c.task.c_str() : "a mixture", (long long)c.steps, c.out_dir.c_str());
  Trainer t(*b.lb.model, *b.lb.codec, c);
  const TrainResult r = t.train();
  std::printf("steps %lld%s, final loss %.4f", (long long)r.steps_done,
              r.resumed ? (" (resumed from " + std::to_string(r.resumed_from) + ")").c_str() : "", r.final_loss);
  if (r.best_step >= 0) std::printf(", best validation score %.2f at step %lld", r.best_score, (long long)r.best_step);
  std::printf("\n");
  return 0;
}

int cmd_eval(const std::vector<std::string>& argv) {
  Args a(argv, {"chat", "length-normalize"},
         with(kBackboneOptions, {"task", "split", "prompt", "max-examples", "batch", "mode", "verbalizer", "out",
                                 "max-input-tokens"}));
  Backbone b = open_backbone(a);
  Tensor prompt;
  if (auto p = a.get("prompt")) prompt = SoftPrompt::load(*p, b.lb.model->d_model()).values;
  ScorerOptions so;
  so.batch_examples = a.get_int("batch", 32);
  so.max_input_tokens = a.get_int("max-input-tokens", 512);
  BackboneScorer scorer(*b.lb.model, *b.lb.codec, prompt, so);
  eval::EvalOptions eo;
  eo.max_examples = a.get_int("max-examples", -1);
  eo.batch_size = static_cast<int>(so.batch_examples);
  eo.mode = eval::eval_mode_from_string(a.get_or("mode", "rank"));
  eo.verbalizer = eval::verbalizer_from_string(a.get_or("verbalizer", "t5"));
  eo.length_normalize = a.flag("length-normalize");
  const auto t0 = std::chrono::steady_clock::now();
  eo.progress = [&](size_t done, size_t total) {
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "\r%zu/%zu examples  %.1f ex/s   ", done, total, done / std::max(el, 1e-9));
  };
  const eval::TaskHandle task = eval::resolve_task(a.get_or("task", "glue/sst2"));
  const eval::EvalResult r = eval::evaluate(*task, eval::resolve_data_dir(a.get("data")), a.get_or("split", "validation"),
                                            scorer, eo);
  std::fprintf(stderr, "\n");
  std::printf("%s\n", eval::result_json(r).c_str());
  if (auto out = a.get("out")) eval::write_records_jsonl(r, *out);
  return 0;
}

int cmd_run(const std::vector<std::string>& argv) {
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
  Args a(argv, {}, {});
  std::printf("%s", write_report(a.positional_at(0, "DIR (an experiment's output directory)")).c_str());
  return 0;
}

}  // namespace spot::cli
