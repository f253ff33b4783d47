// cuda/embedding.cu — the soft prompt inserted into the token embeddings, the prompt rows gathered
// back, and the deterministic prompt-gradient reduction over the batch (embedding.h).
//
// The CUDA dispatchers do not validate ids or positions (that would need a device->host copy);
// these kernels never read out of bounds instead: a row whose id or prompt position is invalid is
// written as NaN, which the loss and every parity check report loudly.
#include <cmath>

#include "base/cuda/cuda_common.cuh"
#include "kernels/cuda/cuda_ops.h"

namespace spot::cuda {

namespace {

constexpr int kThreads = 256;

// One (example, position) row per block-iteration; threads stride over d (coalesced copy).
// out [B, T+L, d]: row s of example b is prompt[s - pos] for pos <= s < pos+L, else the token
// ids[b, s] (s < pos) or ids[b, s - L] (s >= pos + L).
__global__ void embed_with_prompt_kernel(const int32_t* __restrict__ ids, const float* __restrict__ table,
                                         const float* __restrict__ prompt, const int32_t* __restrict__ positions,
                                         float* __restrict__ out, int64_t B, int64_t T, int64_t L, int64_t V,
                                         int64_t d) {
  const int64_t S = T + L;
  for (int64_t row = blockIdx.x; row < B * S; row += gridDim.x) {
    const int64_t b = row / S, s = row % S;
    const int64_t pos = positions[b];
    const float* src = nullptr;
    if (pos >= 0 && pos <= T) {
      if (s >= pos && s < pos + L) {
        src = prompt + (s - pos) * d;
      } else {
        const int64_t id = ids[b * T + (s < pos ? s : s - L)];
        if (id >= 0 && id < V) src = table + id * d;
      }
    }
    float* dst = out + row * d;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) dst[j] = src ? src[j] : NAN;
  }
}

// out [B, L, d] = x[b, pos_b : pos_b + L, :] for x [B, S, d].
__global__ void prompt_rows_gather_kernel(const float* __restrict__ x, const int32_t* __restrict__ positions,
                                          float* __restrict__ out, int64_t B, int64_t S, int64_t L, int64_t d) {
  for (int64_t row = blockIdx.x; row < B * L; row += gridDim.x) {
    const int64_t b = row / L, r = row % L;
    const int64_t pos = positions[b];
    const bool ok = pos >= 0 && pos + L <= S;
    const float* src = x + (b * S + pos + r) * d;
    float* dst = out + row * d;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) dst[j] = ok ? src[j] : NAN;
  }
}

// d_prompt[k] (+)= Σ_b d_rows[b, k], b in order 0..B-1 for every element: deterministic, no atomics.
__global__ void prompt_grad_reduce_kernel(const float* __restrict__ d_rows, float* __restrict__ d_prompt, int64_t B,
                                          int64_t n, bool accumulate) {
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < n;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float acc = accumulate ? d_prompt[k] : 0.0f;
    for (int64_t b = 0; b < B; ++b) acc += d_rows[b * n + k];
    d_prompt[k] = acc;
  }
}

// Rows per launch are capped: a block per row, rows beyond the grid handled by the loop.
unsigned row_blocks(int64_t rows) {
  const int64_t cap = 1 << 20;
  return static_cast<unsigned>(rows < 1 ? 1 : (rows < cap ? rows : cap));
}

int row_threads(int64_t d) { return d >= 256 ? 256 : (d >= 128 ? 128 : 64); }

}  // namespace

void embed_with_prompt(Context& ctx, const Tensor& ids, const Tensor& table, const Tensor& prompt,
                       const Tensor& positions, Tensor& out) {
  const int64_t B = ids.dim(0), T = ids.dim(1), V = table.dim(0), d = table.dim(1);
  const int64_t L = prompt.defined() ? prompt.dim(0) : 0;
  if (B * (T + L) == 0 || d == 0) return;
  CudaState& s = state_of(ctx);
  const float* P = L ? prompt.f32() : nullptr;
  embed_with_prompt_kernel<<<row_blocks(B * (T + L)), row_threads(d), 0, s.stream>>>(
      ids.i32(), table.f32(), P, positions.i32(), out.f32(), B, T, L, V, d);
  SPOT_LAUNCH_CHECK(s.stream);
}

void prompt_rows_gather(Context& ctx, const Tensor& x, const Tensor& positions, int64_t prompt_len, Tensor& out) {
  const int64_t B = x.dim(0), S = x.dim(1), d = x.dim(2);
  if (B * prompt_len == 0 || d == 0) return;
  CudaState& s = state_of(ctx);
  prompt_rows_gather_kernel<<<row_blocks(B * prompt_len), row_threads(d), 0, s.stream>>>(
      x.f32(), positions.i32(), out.f32(), B, S, prompt_len, d);
  SPOT_LAUNCH_CHECK(s.stream);
}

void prompt_grad_reduce(Context& ctx, const Tensor& d_rows, Tensor& d_prompt, bool accumulate) {
  const int64_t B = d_rows.dim(0), n = d_rows.dim(1) * d_rows.dim(2);
  if (n == 0) return;
  CudaState& s = state_of(ctx);
  prompt_grad_reduce_kernel<<<grid_stride_blocks(n, kThreads), kThreads, 0, s.stream>>>(d_rows.f32(), d_prompt.f32(),
                                                                                        B, n, accumulate);
  SPOT_LAUNCH_CHECK(s.stream);
}

}  // namespace spot::cuda
