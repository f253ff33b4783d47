// library_store.h — a finished prompt-tuning run stored in the prompt library (SPoT §3: trained
// source prompts with their task embeddings are what retrieval later searches). `spot train
// --library LIB` calls it once Trainer::train returns (train/ cannot see retrieval/), as an
// experiment run may.
#pragma once

#include <cstdint>
#include <string>

#include "retrieval/library.h"
#include "train/trainer.h"

namespace spot {

struct StoredRun {
  int64_t id = 0;
  bool added = false;       // false: the run was already in this library (the recorded entry)
  std::string prompt_file;  // what was stored
  std::string embedding_file;  // "" when the run wrote no task embedding
};

// Stores the run of cfg.out_dir in `lib` as `caller` (the owner): best_prompt.safetensors when the
// run evaluated (else final_prompt.safetensors), its task embedding of kind "prompt"
// (task_embedding.safetensors, when --task-embedding-step wrote it), and the metadata: task,
// backbone and its fingerprint, placement, steps, seed, the best validation score ("<split> score"),
// init mode, the train date, the dataset fingerprint (sha256 of the train split file) and, for a user
// task spec, its path as the dataset link (so that a transfer mixture can load it again).
// <out_dir>/library_entries.json records each library the run was stored in and its entry id
// (written atomically after the add), so that a run resumed and finished again returns its recorded
// entry rather than adding a duplicate. A recorded entry that no longer holds this prompt (removed
// since, a run extended to more steps, a new library at the same path) is not a duplicate: the
// prompt is added anew.
StoredRun store_run_in_library(retrieval::Library& lib, const retrieval::Caller& caller, const TrainerConfig& cfg,
                               const TrainResult& result);

}  // namespace spot
