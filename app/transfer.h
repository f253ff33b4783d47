// transfer.h — SPoT's retrieval-based transfer (Vu et al. 2022 §3; the patent's prompt library and
// its three ways of starting from retrieved prompts), behind `spot transfer` and the "transfer" run
// of experiment configs:
//
//   target task embedding (retrieval/task_embedding.h: prompt or data kind)
//   → retrieval: the k most similar entries of the library (similarity.h), among those the caller
//     may see, trained on the same backbone (fingerprint), holding that embedding kind, and not of
//     the target task itself
//   → initialisation, by strategy:
//       best     best-of-top-k: tune on the target from each of the k prompts; keep the best by
//                validation score (the paper's main setting)
//       average  one run from Σ_r α_r ρ_r, α = softmax(s_r / temperature) over the similarities
//                (l2: s = −distance), or equal weights (weights = "equal")
//       mixture  one prompt trained on an examples-proportional mixture of the k sources' datasets
//                and the target's (each capped at mixture_cap examples per epoch), then tuned on
//                the target from it
//   → tuning on the target → evaluation (the trainer's best validation score)
//   → optionally the from-scratch baseline at the same budget (with_scratch), for the gain
//   → the result stored back in the library with its lineage (parents, strategy, k, weights), and
//     each source's gain recorded in its usage statistics.
//
// Prompts of another length than the target's prompt_length: length_policy "refuse" (the default:
// an error naming the entry and both lengths) or "fit" (a longer prompt keeps its first rows; a
// shorter one is completed with rows sampled from the vocabulary, as the `vocab` init draws them).
// A source of another depth (input / deep) is always refused.
//
// Everything is resumable: each training run resumes from its checkpoint, the target embedding and
// the retrieval are written once to the output directory and read back, and the library entry is
// added once (its id kept in out_dir/library_entry.txt).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "retrieval/library.h"
#include "retrieval/similarity.h"
#include "retrieval/task_embedding.h"
#include "train/trainer.h"

namespace spot {

struct TransferSpec {
  std::string library;                 // the prompt library file
  retrieval::Caller caller;            // who asks (ACL) and owns the stored result
  std::string strategy = "best";       // best | average | mixture
  int64_t k = 3;
  retrieval::Metric metric = retrieval::Metric::CosAvg;
  std::string kind = "prompt";         // the task-embedding kind compared: prompt | data
  retrieval::DataEmbeddingSpec data;   // kind data: how the target's embedding is made
  retrieval::PromptEmbeddingSpec prompt_embedding;  // kind prompt: likewise
  std::string weights = "softmax";     // average: softmax | equal
  double temperature = 0.01;           // average: softmax temperature over similarities
  std::string length_policy = "refuse";  // refuse | fit
  int64_t mixture_cap = 1000;          // mixture: examples per task per epoch
  int64_t mixture_steps = 0;           // mixture: steps of the mixture stage (0 = train.steps)
  bool with_scratch = false;           // also tune from scratch at the same budget (the baseline)
  double baseline = NAN;               // a known from-scratch score of the target (else with_scratch)
  bool store = true;                   // add the transferred prompt to the library
  TrainerConfig train;                 // the target tuning: task, steps, lr, batch, prompt length, seed...
  std::string out_dir = "runs/transfer";
};

void validate_transfer_spec(const TransferSpec& s);

// The caller when none is named: $SPOT_USER, else the login name (getpwuid), with no groups.
retrieval::Caller default_caller();

struct TransferCandidate {
  int64_t id = 0;
  std::string task;
  std::string task_ref;   // what loads its data: the task name, else the entry's dataset link (a spec)
  double similarity = 0;  // the metric's value (l2: the distance)
  double weight = 0;      // its α in an average (1 for the chosen prompt of best-of-k)
  double score = NAN;     // best: the target score tuned from it
};

struct TransferResult {
  std::vector<TransferCandidate> retrieved;  // best first
  double score = NAN;                        // the transferred prompt's validation score
  double scratch_score = NAN;                // the from-scratch baseline (with_scratch or baseline)
  double gain = NAN;                         // score − baseline
  std::string prompt_file;                   // the transferred prompt
  int64_t chosen = 0;                        // best: the entry the kept prompt started from
  int64_t stored_id = 0;                     // the library entry added (0: not stored)
  std::string metric_name;                   // the target's score name ("accuracy", ...)
};

TransferResult run_transfer(FrozenBackbone& model, const TextCodec& codec, const TransferSpec& spec);

// The transfer summary as JSON (written to out_dir/transfer.json).
std::string transfer_result_json(const TransferSpec& spec, const TransferResult& r);

}  // namespace spot
