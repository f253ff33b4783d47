// task_embedding.h — task embeddings: what a task is compared by when the library is searched for
// source prompts to transfer from (SPoT, Vu et al. 2022 §3; the patent's claim 17 "embedding model").
//
// Two kinds, each a host f32 tensor [rows, d_model] that the similarity metrics (similarity.h)
// compare by pooling its rows:
//   prompt  SPoT's: the soft prompt after an early stretch of prompt tuning on the task, [L, d]
//           (the trainer writes it as task_embedding.safetensors at `task_embedding_step`). The
//           variant here trains on a fixed portion of the data (the first `examples` training
//           examples) for `steps` steps, so that the embedding costs the same for every task
//           whatever its size.
//   data    ours, no training: the frozen backbone reads a fixed-size sample of the task's inputs
//           and each sampled input's last hidden states are mean-pooled over its tokens
//           (RunOptions::keep_input_mean), one row per example, [n, d]. cos_avg then compares the
//           tasks' mean hidden states; per_token_cos the average cosine between their examples.
//           The sample: `examples` training inputs drawn without replacement by a seeded shuffle
//           (the same seed, the same inputs), each formatted with the verbalizer and cut to
//           `max_input_tokens`.
//
// A task embedding file is safetensors with the tensor "embedding" and metadata (kind, task,
// backbone, backbone_hash, and how it was made).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "base/tensor.h"
#include "eval/tasks.h"
#include "model/backbone.h"
#include "model/text_codec.h"
#include "train/trainer.h"

namespace spot::retrieval {

enum class EmbeddingKind : uint8_t { Prompt, Data };
const char* embedding_kind_name(EmbeddingKind k);  // "prompt" | "data"
EmbeddingKind parse_embedding_kind(const std::string& s);

struct TaskEmbedding {
  std::string kind;  // "prompt" | "data"
  Tensor values;     // host f32 [rows, d_model]
  std::map<std::string, std::string> metadata;

  // Atomic write; load() checks the tensor (2-D f32, finite), the kind, and d_model when given,
  // naming the file.
  void save(const std::string& path) const;
  static TaskEmbedding load(const std::string& path, int64_t expected_dim = 0);
};

struct DataEmbeddingSpec {
  int64_t examples = 100;  // sample size (fewer when the split is smaller)
  std::string split = "train";
  uint64_t seed = 0;
  int64_t batch = 16;
  int64_t max_input_tokens = 256;
  eval::Verbalizer verbalizer = eval::Verbalizer::t5;
};

// The data kind: [n, d], computed with the frozen backbone alone. progress(done, total) after each
// batch when given.
TaskEmbedding data_embedding(FrozenBackbone& model, const TextCodec& codec, const eval::Task& task,
                             const std::string& data_dir, const DataEmbeddingSpec& spec,
                             const std::function<void(int64_t, int64_t)>& progress = {});

struct PromptEmbeddingSpec {
  int64_t steps = 100;      // the early stretch (the paper: 10,000 steps of T5-Base)
  int64_t examples = 1000;  // the fixed portion: the first N training examples (-1: all)
};

// The prompt kind, the variant on a fixed portion: trains `base` (its task, prompt length, lr,
// batch, seed...) for spec.steps steps on the first spec.examples training examples, without
// validation, in run_dir (resumable like every run), and returns the prompt at the last step.
TaskEmbedding prompt_embedding(FrozenBackbone& model, const TextCodec& codec, TrainerConfig base,
                               const PromptEmbeddingSpec& spec, const std::string& run_dir);

// The prompt kind from a finished training run: its task_embedding.safetensors (the prompt at
// task_embedding_step), else refused naming the file.
TaskEmbedding prompt_embedding_from_run(const std::string& run_dir);

}  // namespace spot::retrieval
