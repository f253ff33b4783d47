// experiment.h — experiment configs (experiments/*.json, schema in experiments/SCHEMA.md): a backbone
// and a list of runs (zero-shot / prompt evaluations and prompt-tuning runs, optionally initialised
// from another run's prompt — SPoT's transfer), executed in order by `spot run`, resumable, with a
// summary that `spot report` turns into tables and plots.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "app/transfer.h"
#include "train/trainer.h"

namespace spot {

struct BackboneSpec {
  std::string model = "smollm2";  // registry spec (model/registry.h)
  bool chat = false;
  std::string backend = "cpu";    // cpu | ref | cuda
  int64_t threads = 0;            // CPU threads (0 = all)
  std::string prompt_path = "auto";  // auto | shared | replicated (Llama family)
  std::string precision = "fp32";  // fp32 | bf16 (model/backbone.h)
  std::string tokenizer;          // T5: spiece.model override
};

struct EvalRunSpec {
  std::string task, split = "validation";
  eval::Verbalizer verbalizer = eval::Verbalizer::t5;
  eval::EvalMode mode = eval::EvalMode::rank;
  int64_t max_examples = -1, batch = 32, max_input_tokens = 512;
  bool length_normalize = false;
  std::string prompt;           // a prompt file, or
  std::string prompt_from_run;  // the best prompt of an earlier train run
};

struct RunSpec {
  std::string name;
  std::string kind = "train";  // "train" | "eval" | "transfer"
  TrainerConfig train;
  std::string init_from_run;  // train: initialise from this run's best prompt (transfer)
  EvalRunSpec eval;
  std::string library;        // train: store the finished run in this prompt library (created if
  std::string library_user;   // missing) as this user ("" = default_caller())
  TransferSpec transfer;      // transfer: SPoT's retrieval-based transfer (app/transfer.h); its
                              // target run's trainer fields are the run's train keys
  std::string baseline_from_run;  // transfer: the from-scratch baseline is this earlier train run's
                                  // best validation score
};

struct ExperimentConfig {
  std::string name, description, path;
  BackboneSpec backbone;
  std::string data_dir;
  std::string output_dir;
  std::vector<RunSpec> runs;
};

// The field tables of the backbone object and of eval runs (app/experiment_fields.cpp); train runs
// use trainer_fields() (train/trainer.h). experiments/SCHEMA.md shows them all.
const FieldTable<BackboneSpec>& backbone_fields();
const FieldTable<EvalRunSpec>& eval_run_fields();
const FieldTable<ExperimentConfig>& experiment_fields();  // the top level's own keys
const FieldTable<RunSpec>& run_fields();                  // every run's name and kind
const FieldTable<TransferSpec>& transfer_fields();        // a transfer run's own keys
// The tables of experiments/SCHEMA.md as markdown, each between its marker lines
// (<!-- fields:backbone --> ... <!-- /fields:backbone -->, likewise train and eval).
std::string schema_sections_markdown();

// Parses and validates a config. Unknown keys and wrong types are errors naming the file and the
// key's path ("experiments/x.json: runs[2].lr: expected a number, got \"fast\"").
ExperimentConfig load_experiment(const std::string& path);
ExperimentConfig parse_experiment(const std::string& text, const std::string& where);

struct RunOutcome {
  std::string name, kind, status;  // status: "done", "skipped (already complete)", "validated"
  double seconds = 0;
};

struct ExperimentOptions {
  bool dry_run = false;            // validate and print the plan only
  std::vector<std::string> only;   // run only these run names
  bool force_eval = false;         // re-run evaluations whose results exist
  // The ranks of a data-parallel run (`mpirun -np N spot run`; null: this process alone). Every rank
  // calls run_experiment: train runs split their batches over the ranks (train/trainer.h), rank 0
  // alone writes, stores into libraries and runs evaluations while the others wait; transfer runs
  // are refused with more than one rank.
  Communicator* world = nullptr;
};

// One evaluation, the path `spot eval` and eval runs share: the task's split scored with `prompt`
// (undefined: zero-shot; [layers, L, d]: deep) under spec's mode, verbalizer, batch and truncation,
// with progress and ETA on stderr after `progress_label`.
eval::EvalResult eval_once(FrozenBackbone& model, const TextCodec& codec, const eval::Task& task,
                           const std::string& data_dir, const EvalRunSpec& spec, const Tensor& prompt,
                           const std::string& progress_label = "");

std::vector<RunOutcome> run_experiment(const ExperimentConfig& config, const ExperimentOptions& options);

// Writes <dir>/report.md (tables) and, when python3 with matplotlib is available, PNG learning
// curves (tools/plot_runs.py). Returns the markdown.
std::string write_report(const std::string& dir);

}  // namespace spot
