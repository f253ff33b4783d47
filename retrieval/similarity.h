// similarity.h — task-embedding similarity and retrieval over the prompt library (SPoT §3, the
// patent's prompt search).
//
// Metrics. A task embedding e is [L, d] (L tokens of width d; a deep prompt [layers, L, d] counts as
// layers·L tokens). Each metric is one pooling of e into a vector and a dot product, so that scoring
// Q queries against N entries is one GEMM [Q, D]·[N, D]ᵀ followed by a per-row top-k
// (kernels/topk.h) — on the CPU (oneDNN's sgemm) or on CUDA (cuBLAS), blocked over queries so that the
// [Q, N] score matrix is never held whole when it is large.
//   cos_avg        SPoT's "cosine of average tokens": cos(mean_i e1_i, mean_j e2_j).
//   per_token_cos  SPoT's "per-token average cosine": 1/(L1·L2) Σ_i Σ_j cos(e1_i, e2_j). Reduced form:
//                  it equals the dot product of the means of the normalised tokens,
//                  ⟨mean_i e1_i/|e1_i|, mean_j e2_j/|e2_j|⟩ (bilinearity; tests/test_similarity.cpp
//                  checks the identity), so it costs one GEMM, not L1·L2 cosines per pair.
//   cosine         the patent's prompt search: the cosine of the flattened prompts.
//   l2             the patent's Euclidean distance of the flattened prompts (smaller is closer);
//                  ranked by ⟨q, k⟩ − |k|²/2 (= (|q|² − |q − k|²)/2) with an augmented column.
//   mip            maximum inner product of the flattened prompts.
// cos_avg and per_token_cos compare prompts of any lengths (same d); the flattened metrics need the
// same shape and refuse another, naming the entry.
//
// Ranking: by score, larger first (l2: by distance, smaller first); equal scores by the smaller
// entry id (keys are held in ascending id order and topk_rows breaks ties by column).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/context.h"

namespace spot::retrieval {

enum class Metric : uint8_t { CosAvg, PerTokenCos, Cosine, L2, Mip };
const char* metric_name(Metric m);  // "cos_avg" | "per_token_cos" | "cosine" | "l2" | "mip"
Metric parse_metric(const std::string& s);
std::vector<Metric> all_metrics();

// The pooled vector of one embedding (host f32 [D]); `what` names it in errors.
std::vector<float> pool(const Tensor& embedding, Metric m, const std::string& what);

// The metric's value from two embeddings by its definition (no pooling shortcut, fp64): the
// oracle of the tests, and a readable statement of each metric.
double similarity_brute_force(const Tensor& a, const Tensor& b, Metric m);

struct Hit {
  int64_t id = 0;
  double score = 0;  // the metric's value (l2: the distance), recomputed in fp64 for the hits
};

// The keys of one metric over a set of entries, pooled once, on the CPU or copied to a device.
class SimilarityIndex {
 public:
  // ids ascending or not: they are sorted (with their embeddings) here; errors name an entry by
  // its id ("entry 12").
  SimilarityIndex(Metric metric, std::vector<int64_t> ids, const std::vector<Tensor>& embeddings);
  Metric metric() const { return metric_; }
  int64_t size() const { return static_cast<int64_t>(ids_.size()); }
  int64_t dim() const { return dim_; }  // pooled width D
  const std::vector<int64_t>& ids() const { return ids_; }

  // The k nearest entries to each query embedding (k clamped to the index size), best first. The
  // GEMM and the top-k run on ctx's backend. `exclude_self`: a query whose id is in the index is not
  // its own neighbour (query_ids must then be given).
  std::vector<std::vector<Hit>> top_k(Context& ctx, const std::vector<Tensor>& queries, int64_t k,
                                      const std::vector<int64_t>& query_ids = {}) const;
  // Pooled queries [Q, D] (host f32), e.g. from the index's own keys: all-pairs retrieval.
  std::vector<std::vector<Hit>> top_k_pooled(Context& ctx, const Tensor& queries, int64_t k,
                                             const std::vector<int64_t>& query_ids = {}) const;
  // The full [N, N] similarity matrix (host; for heatmaps of small libraries, refused above 20000).
  Tensor all_pairs(Context& ctx) const;
  // The index's own pooled keys [N, D] (host; for l2 without the augmented column).
  Tensor pooled_keys() const;

 private:
  double exact_score(const float* pooled_query, int64_t col) const;
  Tensor augmented(const Tensor& pooled_queries) const;  // [Q, D] -> the GEMM's [Q, D']
  const Tensor& keys_on(Context& ctx) const;             // keys_, or its copy on ctx's device
  Metric metric_;
  std::vector<int64_t> ids_;
  int64_t dim_ = 0;   // D
  Tensor keys_;       // host [N, D'] (D' = D + 1 for l2: the −|k|²/2 column)
  std::vector<float> sq_norms_;  // l2: |k|²
  mutable Tensor device_keys_;   // keys_ on a CUDA context's device, made on first use
};

}  // namespace spot::retrieval
