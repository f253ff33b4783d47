// trainer_config.cpp — the field table of TrainerConfig (trainer.h): every key of a train run in an
// experiment config, every `spot train` option, config.json, and experiments/SCHEMA.md's train table.
#include <boost/json.hpp>

#include "base/fields.h"
#include "io/json_fields.h"
#include "train/trainer.h"

namespace spot {

namespace {

using S = TrainerConfig;
using namespace fields;

FieldTable<S> make_table() {
  FieldTable<S> t;
  t.push_back(plain<S>("task", "task",
                       "a registered task (`spot tasks`: `glue/rte`, `superglue/wic`, `spot/squad`, or a unique short name "
                       "such as `cola`) or a user task spec `*.json` (path relative to the working directory; it must "
                       "exist and parse, `eval/tasks.h`)",
                       [](S& s) -> std::string& { return s.task; }));
  t.push_back(plain<S>("tasks", "tasks",
                       "a multi-task mixture (SPoT's multi-task source prompts); when non-empty it replaces `task`; each "
                       "entry is checked like `task` (on the command line: comma-separated)",
                       [](S& s) -> std::vector<std::string>& { return s.tasks; }));
  t.push_back(plain<S>("mixture_cap", "mixture-cap",
                       "examples-proportional mixing: at most this many examples of each task per epoch (T5's rate limit "
                       "K; the paper uses 2^19 = 524288); `0` = no cap",
                       [](S& s) -> int64_t& { return s.mixture_cap; }, at_least(0)));
  t.push_back(plain<S>("train_split", "train-split", "must be a split of every task of the run",
                       [](S& s) -> std::string& { return s.train_split; }));
  t.push_back(plain<S>("eval_split", "eval-split",
                       "ditto (`glue/mnli`: `validation` = `validation_matched`, or `validation_mismatched`)",
                       [](S& s) -> std::string& { return s.eval_split; }));
  t.push_back(enumeration<S>("verbalizer", "verbalizer",
                             "`t5` (T5's text-to-text formats) or `natural` (instruction-style, for decoder-only models)",
                             [](S& s) -> eval::Verbalizer& { return s.verbalizer; },
                             std::vector<std::pair<std::string, eval::Verbalizer>>{{"t5", eval::Verbalizer::t5},
                                                                                   {"natural", eval::Verbalizer::natural}}));
  t.push_back(plain<S>("prompt_length", "prompt-len", "prompt vectors; > 0",
                       [](S& s) -> int64_t& { return s.prompt_length; }, positive()));
  t.push_back(choice<S>("init", "init",
                        "`vocab` (rows of the `init_vocab_size` most common tokens), `labels` (class-label tokens, "
                        "vocabulary back-off), `uniform` (U(−r, r)), `file` (`init_file`)",
                        [](S& s) -> std::string& { return s.init.mode; }, {"vocab", "labels", "uniform", "file"}));
  t.push_back(plain<S>("init_file", "init-file",
                       "a prompt file (spot safetensors or a PEFT `adapter_model.safetensors`); required when `init` is "
                       "`file` and there is no `init_from_run`",
                       [](S& s) -> std::string& { return s.init.file; }));
  t.push_back(plain<S>("init_uniform_range", "init-uniform-range", "r of `uniform`",
                       [](S& s) -> double& { return s.init.uniform_range; }, positive_number()));
  t.push_back(plain<S>("init_vocab_size", "init-vocab-size", "\"the 5,000 most common tokens\"",
                       [](S& s) -> int64_t& { return s.init_vocab_size; }, positive()));
  t.push_back(choice<S>("optimizer", "optimizer", "`adafactor` (the paper's), `adam`, `adamw`",
                        [](S& s) -> std::string& { return s.optimizer; }, {"adafactor", "adam", "adamw"}));
  t.push_back(plain<S>("lr", "lr",
                       "learning rate; > 0; absent: the backbone's default (`FrozenBackbone::default_prompt_lr`): `0.3` "
                       "for T5 (the paper's), `0.25` × the token-embedding RMS for Llama-family models (`0.034` for "
                       "SmolLM2-135M); the value used is printed when training starts",
                       [](S& s) -> double& { return s.schedule.lr; }, positive_number(), "the backbone's"));
  t.push_back(choice<S>("schedule", "schedule", "`constant`, `warmup_constant`, `warmup_linear`, `warmup_rsqrt`",
                        [](S& s) -> std::string& { return s.schedule.kind; },
                        {"constant", "warmup_constant", "warmup_linear", "warmup_rsqrt"}));
  t.push_back(plain<S>("warmup_steps", "warmup", "for the warmup schedules",
                       [](S& s) -> int64_t& { return s.schedule.warmup_steps; }, at_least(0)));
  t.push_back(plain<S>("steps", "steps", "optimiser steps; > 0 (also the linear schedule's length)",
                       [](S& s) -> int64_t& { return s.steps; }, positive()));
  t.push_back(plain<S>("batch_size", "batch", "examples per micro-batch; > 0",
                       [](S& s) -> int64_t& { return s.batch_size; }, positive()));
  t.push_back(plain<S>("batch_tokens", "batch-tokens",
                       "> 0: fill each micro-batch up to this many padded tokens instead of `batch_size` examples",
                       [](S& s) -> int64_t& { return s.batch_tokens; }, at_least(0)));
  t.push_back(plain<S>("grad_accum", "accum",
                       "micro-batches per optimiser step (effective batch = `batch_size` × `grad_accum`)",
                       [](S& s) -> int64_t& { return s.grad_accum; }, positive()));
  t.push_back(plain<S>("prompt_dropout", "dropout", "dropout on the prompt vectors while training; in [0, 1)",
                       [](S& s) -> double& { return s.prompt_dropout; },
                       [](const double& x) { SPOT_CHECK(x >= 0 && x < 1, "must be in [0, 1), got " << x); }));
  t.push_back(plain<S>("max_input_tokens", "max-input-tokens",
                       "inputs are cut to this many tokens (T5: the end goes, `</s>` stays; decoder-only: the middle "
                       "goes, BOS and the answer cue stay)",
                       [](S& s) -> int64_t& { return s.max_input_tokens; }, positive()));
  const auto all_or_positive = [](const int64_t& x) {
    SPOT_CHECK(x == -1 || x > 0, "must be positive, or -1 for the whole split, got " << x);
  };
  t.push_back(plain<S>("max_train_examples", "max-train-examples",
                       "use only the first N training examples of each task; `-1` = all",
                       [](S& s) -> int64_t& { return s.max_train_examples; }, all_or_positive));
  t.push_back(plain<S>("checkpoint_every", "checkpoint-every",
                       "steps between atomic checkpoints (resume point); `0` = only at the end",
                       [](S& s) -> int64_t& { return s.checkpoint_every; }, at_least(0)));
  t.push_back(plain<S>("eval_every", "eval-every",
                       "steps between validations; the best prompt by validation score is kept; `0` = none",
                       [](S& s) -> int64_t& { return s.eval_every; }, at_least(0)));
  t.push_back(plain<S>("eval_examples", "eval-examples", "examples per task per validation; `-1` = the whole split",
                       [](S& s) -> int64_t& { return s.eval_examples; }, all_or_positive));
  t.push_back(plain<S>("eval_batch", "eval-batch", "evaluation batch size",
                       [](S& s) -> int64_t& { return s.eval_batch; }, positive()));
  t.push_back(enumeration<S>("eval_mode", "eval-mode",
                             "`rank` (rank classification over the labels) or `generate` (greedy decoding, T5's "
                             "postprocessing — what the paper reports). Multiple-choice tasks rank their options in both "
                             "modes; generation tasks (SQuAD, ReCoRD, WSC) decode in both",
                             [](S& s) -> eval::EvalMode& { return s.eval_mode; },
                             std::vector<std::pair<std::string, eval::EvalMode>>{{"rank", eval::EvalMode::rank},
                                                                                 {"generate", eval::EvalMode::generate}}));
  t.push_back(plain<S>("task_embedding_step", "task-embedding-step",
                       "> 0: save the prompt at this step as `task_embedding.safetensors` (SPoT's task embedding: 10,000 "
                       "in the paper); at most `steps`",
                       [](S& s) -> int64_t& { return s.task_embedding_step; }, at_least(0)));
  t.push_back(plain<S>("log_every", "log-every", "steps between `metrics.jsonl` lines",
                       [](S& s) -> int64_t& { return s.log_every; }, positive()));
  Field<S> seed = plain<S>("seed", "seed", "data order, prompt dropout, and the initial prompt draw",
                           [](S& s) -> uint64_t& { return s.seed; });
  seed.set = [inner = seed.set](S& s, const FieldValue& v) {
    inner(s, v);
    s.init.seed = s.seed;  // the seed also draws the initial prompt
  };
  t.push_back(seed);
  t.push_back(parsed<S>("placement", "placement",
                        "where the prompt goes: `prefix`, `suffix`, `infix:K` (before input token K)",
                        [](S& s) -> PromptPlacement& { return s.placement; },
                        [](PromptPlacement& p, const std::string& text) {
                          const PromptDepth depth = p.depth;
                          p = PromptPlacement::parse(text);
                          p.depth = depth;
                        },
                        [](const PromptPlacement& p) { return p.str(); }));
  t.push_back(parsed<S>("prompt_depth", "prompt-depth",
                        "`input` (the prompt enters with the embeddings) or `deep` (one prompt block per encoder layer "
                        "of T5 / layer of Llama, each replacing the prompt rows at that layer's input; saved as "
                        "`[layers, L, d]`)",
                        [](S& s) -> PromptDepth& { return s.placement.depth; },
                        [](PromptDepth& d, const std::string& text) { d = parse_prompt_depth(text); },
                        [](const PromptDepth& d) { return std::string(prompt_depth_name(d)); }));
  t.back().choices = {"input", "deep"};
  return t;
}

}  // namespace

const FieldTable<TrainerConfig>& trainer_fields() {
  static const FieldTable<TrainerConfig> table = make_table();
  return table;
}

void validate_trainer_config(const TrainerConfig& c) {
  // Each field once more (a config built in code skips the table's setters), then what relates two.
  for (const Field<TrainerConfig>& f : trainer_fields()) {
    if (f.key == "lr" && c.schedule.lr == 0) continue;  // 0: the backbone's default, resolved by the Trainer
    // Per-example offsets have no text form (a config cannot give them): nothing to re-read.
    if (f.key == "placement" && c.placement.kind == PromptPlacement::Kind::Explicit) continue;
    TrainerConfig scratch = c;
    set_field(f, scratch, f.get(c), f.key);
  }
  SPOT_CHECK(c.task_embedding_step <= c.steps,
             "task_embedding_step: step " << c.task_embedding_step << " is after the last step (" << c.steps << ")");
  SPOT_CHECK(c.schedule.kind != "warmup_linear" || c.steps > c.schedule.warmup_steps,
             "warmup_steps: " << c.schedule.warmup_steps << " leaves no step of the warmup_linear schedule ("
                              << c.steps << " steps)");
}

std::string trainer_config_json(const TrainerConfig& c) {
  boost::json::object o = io::write_fields(trainer_fields(), c);
  o["data_dir"] = c.data_dir;
  if (c.schedule.lr == 0) o["lr"] = nullptr;  // not resolved yet: the backbone's default (null = absent)
  return boost::json::serialize(o);
}

}  // namespace spot
