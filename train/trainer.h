// trainer.h — prompt tuning of one task on a frozen backbone (Lester et al. 2021), with the
// pieces SPoT needs (Vu et al. 2022 §2–3): the early checkpoint kept as the task embedding, the best
// prompt by validation metric, periodic atomic checkpoints with exact resume, and a JSONL log.
//
// Out directory layout:
//   metrics.jsonl              one JSON object per logged step / evaluation
//   checkpoint.safetensors     latest checkpoint: prompt, optimiser state, trainer state (metadata)
//   task_embedding.safetensors the prompt at step `task_embedding_step` (SPoT's task embedding)
//   best_prompt.safetensors    the prompt with the best validation score so far
//   final_prompt.safetensors   the prompt after the last step
//   config.json                the resolved trainer configuration
//
// Data parallel (issue 10) over a Communicator's ranks (`mpirun -np N spot train`): every rank draws
// the same global batches, takes its contiguous shard of each (base/communicator.h: shard_range),
// and computes its shard's loss and prompt gradient with the global batch's target-token count as
// the denominator; the gradients are summed in rank order and every rank takes the same optimiser
// step, so the prompt is the single-process one up to the order of float additions. Only rank 0
// writes the out directory and prints; it also evaluates, while the others wait. A resumed run reads
// the checkpoint on every rank, which therefore needs the out directory rank 0 writes.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/communicator.h"
#include "base/fields.h"
#include "eval/evaluate.h"
#include "model/backbone.h"
#include "model/text_codec.h"
#include "train/optimizer.h"
#include "prompt/soft_prompt.h"

namespace spot {

struct TrainerConfig {
  std::string task = "glue/sst2";   // one task, or
  std::vector<std::string> tasks;   // a multi-task mixture (SPoT's multi-task source prompts, §3.1)
  int64_t mixture_cap = 0;          // examples-proportional mixing: at most this many examples per
                                    // task per epoch (T5's "rate limit"; 0 = no cap)
  std::string data_dir;              // "" = io::resolve_data_dir()
  std::string train_split = "train";
  std::string eval_split = "validation";
  eval::Verbalizer verbalizer = eval::Verbalizer::t5;
  int64_t prompt_length = 100;
  PromptInit init;                   // mode, seed, file (vocab ids / label ids are filled by the trainer)
  int64_t init_vocab_size = 5000;    // "the 5,000 most common tokens"
  std::string optimizer = "adafactor";
  Schedule schedule{.kind = "constant", .lr = 0.0};  // lr 0 = the backbone's default_prompt_lr()
  int64_t steps = 1000;
  int64_t batch_size = 32;           // examples per optimiser step (before accumulation)
  int64_t batch_tokens = 0;          // > 0: batches filled up to this many padded tokens instead
  int64_t grad_accum = 1;            // micro-batches per optimiser step
  double prompt_dropout = 0.0;       // dropout on the prompt vectors during training
  int64_t max_input_tokens = 512;
  int64_t max_train_examples = -1;   // -1 = the whole split
  int64_t checkpoint_every = 500;
  int64_t eval_every = 500;
  int64_t eval_examples = -1;        // -1 = the whole validation split
  int64_t eval_batch = 32;
  eval::EvalMode eval_mode = eval::EvalMode::rank;
  int64_t task_embedding_step = 0;   // > 0: save the prompt at this step as the task embedding
  int64_t log_every = 10;
  uint64_t seed = 0;
  PromptPlacement placement;          // position and depth (input, or deep: a block per layer)
  std::string out_dir = "runs/default";
};

struct TrainerEvents {
  std::function<void(const std::string& line)> log;  // human-readable lines (default: stderr)
};

struct TrainResult {
  int64_t steps_done = 0;
  double final_loss = 0;
  double best_score = -1;
  int64_t best_step = -1;
  std::vector<eval::EvalResult> final_eval;
  bool resumed = false;
  int64_t resumed_from = 0;
};

class Trainer {
 public:
  // comm: the ranks this run is split over (one process alone by default).
  Trainer(FrozenBackbone& model, const TextCodec& codec, TrainerConfig config,
          Communicator& comm = local_communicator());
  // Trains to config.steps, resuming from out_dir/checkpoint.safetensors when present.
  // stop_after: stop (as if killed) once this many steps have run in this call (tests).
  TrainResult train(int64_t stop_after = -1);
  // Evaluates `prompt` (undefined: the frozen model alone) on each task's eval split.
  std::vector<eval::EvalResult> evaluate(const Tensor& prompt, int64_t max_examples) const;
  // The selection score of an evaluation: the mean of the tasks' scores.
  static double mean_score(const std::vector<eval::EvalResult>& results);
  const TrainerConfig& config() const { return cfg_; }

 private:
  struct Encoded {
    std::vector<int32_t> input, target;
  };
  struct TaskData {
    eval::TaskHandle task;
    std::vector<Encoded> train;
    std::vector<eval::Example> eval;
  };
  void load_data();
  // (task, example) pairs of the next batch; advances the cursor.
  std::vector<std::pair<int, size_t>> next_batch(int64_t& cursor) const;
  void save_checkpoint(const Tensor& prompt, const Optimizer& opt, int64_t step, int64_t cursor, double best,
                       int64_t best_step) const;
  void log_json(const std::string& json) const;
  // Every rank must start from rank 0's data, step and prompt; throws on a rank that does not.
  void check_ranks_agree(const SoftPrompt& prompt, int64_t step, int64_t cursor) const;

  FrozenBackbone& model_;
  const TextCodec& codec_;
  Communicator& comm_;
  TrainerConfig cfg_;
  std::vector<TaskData> tasks_;
  std::string data_dir_;
  std::string task_label_;  // "glue/sst2" or "mixture(glue/mnli+glue/qnli)"
  const Encoded& example(std::pair<int, size_t> at) const { return tasks_[at.first].train[at.second]; }
  // [L, d] at depth input, [layers, L, d] at depth deep.
  Shape prompt_shape() const;
  std::string backbone_hash_;
};

// The field table of TrainerConfig (train/trainer_config.cpp): the keys of a train run in an
// experiment config (experiments/SCHEMA.md), the options of `spot train`, config.json.
const FieldTable<TrainerConfig>& trainer_fields();
// Every field's check, and those relating two fields; throws naming the key.
void validate_trainer_config(const TrainerConfig& c);
// The configuration as JSON (written to out_dir/config.json and into checkpoint metadata).
std::string trainer_config_json(const TrainerConfig& c);

}  // namespace spot
