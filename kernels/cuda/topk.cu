// cuda/topk.cu — per-row top-k (topk.h), one block per row, never a sort of the row.
//
// Each thread scans a strided share of the row and keeps its k best in a sorted local list
// (insertion; a candidate is compared with the list's worst first, so most cost one compare). Then
// k rounds of a block-wide arg-best over the threads' list heads pick the winners in order: the
// winning thread advances its head. The order is topk.h's total order (larger, NaN last, smaller
// column on ties), so the result is deterministic and equal to the CPU's. Memory-bound: the row is
// read once, coalesced.
#include <cmath>

#include "base/cuda/cuda_common.cuh"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/topk.h"

namespace spot::cuda {

namespace {

constexpr int kThreads = 256;

__device__ inline bool better(float av, int32_t ai, float bv, int32_t bi) {
  const bool an = av != av, bn = bv != bv;  // NaN (no fast-math here; also builds on the emulator)
  if (an != bn) return bn;
  if (!an && av != bv) return av > bv;
  return ai < bi;
}

__global__ void topk_rows_kernel(const float* __restrict__ scores, int64_t n, int k, float* __restrict__ values,
                                 int32_t* __restrict__ index) {
  const int64_t row = blockIdx.x;
  const float* s = scores + row * n;
  float lv[kTopkMax];
  int32_t li[kTopkMax];
  int size = 0;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    const float v = s[j];
    const int32_t c = static_cast<int32_t>(j);
    if (size == k && !better(v, c, lv[k - 1], li[k - 1])) continue;
    int p = size < k ? size++ : k - 1;
    while (p > 0 && better(v, c, lv[p - 1], li[p - 1])) {
      lv[p] = lv[p - 1];
      li[p] = li[p - 1];
      --p;
    }
    lv[p] = v;
    li[p] = c;
  }
  __shared__ float sv[kThreads];
  __shared__ int32_t si[kThreads];
  __shared__ int32_t st[kThreads];
  int head = 0;
  for (int r = 0; r < k; ++r) {
    const bool has = head < size;
    sv[threadIdx.x] = has ? lv[head] : NAN;
    si[threadIdx.x] = has ? li[head] : INT32_MAX;
    st[threadIdx.x] = has ? static_cast<int32_t>(threadIdx.x) : -1;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w /= 2) {
      if (static_cast<int>(threadIdx.x) < w) {
        const int o = threadIdx.x + w;
        if (st[o] >= 0 && (st[threadIdx.x] < 0 || better(sv[o], si[o], sv[threadIdx.x], si[threadIdx.x]))) {
          sv[threadIdx.x] = sv[o];
          si[threadIdx.x] = si[o];
          st[threadIdx.x] = st[o];
        }
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      values[row * k + r] = sv[0];
      index[row * k + r] = si[0];
    }
    if (st[0] == static_cast<int32_t>(threadIdx.x)) ++head;
    __syncthreads();
  }
}

}  // namespace

void topk_rows(Context& ctx, const Tensor& scores, int64_t k, Tensor& values, Tensor& index) {
  CudaState& s = state_of(ctx);
  topk_rows_kernel<<<static_cast<unsigned>(scores.dim(0)), kThreads, 0, s.stream>>>(
      scores.f32(), scores.dim(1), static_cast<int>(k), values.f32(), index.i32());
  SPOT_LAUNCH_CHECK(s.stream);
}

}  // namespace spot::cuda
