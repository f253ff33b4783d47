// cpu/topk.cpp — per-row top-k on the CPU (topk.h).
// Reference: a full stable sort of each row. Fast: a bounded heap per (row, column chunk), OpenMP
// over the chunks (a few queries over a long row split the row across threads), then a merge of
// each row's chunk winners. Both use the one total order of topk.h, so they agree exactly.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "kernels/cpu/cpu_ops.h"

namespace spot::cpu {

namespace {

struct Cand {
  float v;
  int32_t i;
};

// The order of topk.h: larger first, NaN last, ties by the smaller column.
inline bool better(const Cand& a, const Cand& b) {
  const bool an = std::isnan(a.v), bn = std::isnan(b.v);
  if (an != bn) return bn;
  if (!an && a.v != b.v) return a.v > b.v;
  return a.i < b.i;
}

void write_row(const std::vector<Cand>& c, int64_t k, float* v, int32_t* ix) {
  for (int64_t j = 0; j < k; ++j) {
    v[j] = c[j].v;
    ix[j] = c[j].i;
  }
}

}  // namespace

void topk_rows_ref(const Tensor& scores, int64_t k, Tensor& values, Tensor& index) {
  const int64_t q = scores.dim(0), n = scores.dim(1);
  std::vector<Cand> row(n);
  for (int64_t r = 0; r < q; ++r) {
    for (int64_t j = 0; j < n; ++j) row[j] = {scores.f32()[r * n + j], static_cast<int32_t>(j)};
    std::stable_sort(row.begin(), row.end(), better);
    write_row(row, k, values.f32() + r * k, index.i32() + r * k);
  }
}

void topk_rows_fast(const Tensor& scores, int64_t k, Tensor& values, Tensor& index) {
  const int64_t q = scores.dim(0), n = scores.dim(1);
  const int threads = omp_get_max_threads();
  // Enough chunks per row that every thread has work when q is small; chunks of at least 4k columns.
  const int64_t per_row = std::clamp<int64_t>((threads + q - 1) / q, 1, std::max<int64_t>(1, n / 4096));
  const int64_t chunk = (n + per_row - 1) / per_row;
  std::vector<Cand> best(static_cast<size_t>(q * per_row * k));
  std::vector<int64_t> got(static_cast<size_t>(q * per_row), 0);
  const float* S = scores.f32();
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t w = 0; w < q * per_row; ++w) {
    const int64_t r = w / per_row, c0 = (w % per_row) * chunk, c1 = std::min(n, c0 + chunk);
    Cand* h = best.data() + w * k;  // a heap with the worst kept candidate on top
    int64_t size = 0;
    auto worse = [](const Cand& a, const Cand& b) { return better(a, b); };
    for (int64_t j = c0; j < c1; ++j) {
      const Cand c{S[r * n + j], static_cast<int32_t>(j)};
      if (size < k) {
        h[size++] = c;
        std::push_heap(h, h + size, worse);
      } else if (better(c, h[0])) {
        std::pop_heap(h, h + size, worse);
        h[size - 1] = c;
        std::push_heap(h, h + size, worse);
      }
    }
    got[w] = size;
  }
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < q; ++r) {
    std::vector<Cand> all;
    all.reserve(static_cast<size_t>(per_row * k));
    for (int64_t c = 0; c < per_row; ++c)
      all.insert(all.end(), best.begin() + (r * per_row + c) * k, best.begin() + (r * per_row + c) * k + got[r * per_row + c]);
    std::partial_sort(all.begin(), all.begin() + k, all.end(), better);
    write_row(all, k, values.f32() + r * k, index.i32() + r * k);
  }
}

}  // namespace spot::cpu
