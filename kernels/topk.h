// topk.h — the k best entries of every row of a score matrix: the ranking step of retrieval
// (retrieval/similarity.h scores queries against the library with one GEMM, then calls this).
#pragma once

#include "base/context.h"

namespace spot {

// The largest k in one call (the CUDA kernel keeps each thread's candidates in registers/local memory).
inline constexpr int64_t kTopkMax = 128;

// scores [Q, N] f32 -> values [Q, k] f32 and index [Q, k] i32: row q's k largest scores in
// descending order and their columns. The order is total and the same on every backend: a larger
// score first; equal scores by the smaller column; NaN ranks below every number (as −inf does, and
// after it). 1 <= k <= min(N, kTopkMax).
void topk_rows(Context& ctx, const Tensor& scores, int64_t k, Tensor& values, Tensor& index);

}  // namespace spot
