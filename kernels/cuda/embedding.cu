// cuda/embedding.cu — soft prompts inserted into the token embeddings, prompt rows overwritten in
// place (deep prompts), the prompt rows gathered back, and the deterministic per-prompt gradient
// reduction over the batch (embedding.h).
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
// out [B, T+Lmax, d]: row s of example b is prompts[src + s - pos] for pos <= s < pos+len, else the
// token ids[b, s] (s < pos) or ids[b, s - len] (s - len < T), else zero (embedding.h).
__global__ void embed_with_prompt_kernel(const int32_t* __restrict__ ids, const float* __restrict__ table,
                                         const float* __restrict__ prompts, const int32_t* __restrict__ positions,
                                         const int32_t* __restrict__ sources, const int32_t* __restrict__ lengths,
                                         float* __restrict__ out, int64_t B, int64_t T, int64_t Lmax, int64_t V,
                                         int64_t R, int64_t d) {
  const int64_t S = T + Lmax;
  for (int64_t row = blockIdx.x; row < B * S; row += gridDim.x) {
    const int64_t b = row / S, s = row % S;
    const int64_t pos = positions[b], src = sources[b], len = lengths[b];
    const float* from = nullptr;
    bool zero = false;
    if (pos >= 0 && pos <= T && len >= 0 && len <= Lmax) {
      if (s >= pos && s < pos + len) {
        if (src >= 0 && src + len <= R) from = prompts + (src + s - pos) * d;
      } else {
        const int64_t tok = s < pos ? s : s - len;
        if (tok >= T) {
          zero = true;
        } else {
          const int64_t id = ids[b * T + tok];
          if (id >= 0 && id < V) from = table + id * d;
        }
      }
    }
    float* dst = out + row * d;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) dst[j] = from ? from[j] : (zero ? 0.0f : NAN);
  }
}

// x[b, pos_b + r] = prompts[src_b + r] (zeros without prompts) for r < len_b; one (example, slot
// row) per block-iteration. A slot outside the sequence or the table writes nothing.
__global__ void prompt_rows_write_kernel(const float* __restrict__ prompts, const int32_t* __restrict__ positions,
                                         const int32_t* __restrict__ sources, const int32_t* __restrict__ lengths,
                                         float* __restrict__ x, int64_t B, int64_t S, int64_t Lmax, int64_t R,
                                         int64_t d) {
  for (int64_t row = blockIdx.x; row < B * Lmax; row += gridDim.x) {
    const int64_t b = row / Lmax, r = row % Lmax;
    const int64_t pos = positions[b], src = sources[b], len = lengths[b];
    if (r >= len || pos < 0 || pos + len > S) continue;
    if (prompts && (src < 0 || src + len > R)) continue;
    float* dst = x + (b * S + pos + r) * d;
    const float* from = prompts ? prompts + (src + r) * d : nullptr;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) dst[j] = from ? from[j] : 0.0f;
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

// d_prompts[o, j] (+)= Σ_b d_rows[b, o - src_b, j] over the examples whose slot reads table row o,
// b in order 0..B-1 for every element: deterministic, no atomics.
__global__ void prompt_grad_reduce_kernel(const float* __restrict__ d_rows, const int32_t* __restrict__ sources,
                                          const int32_t* __restrict__ lengths, float* __restrict__ d_prompts,
                                          int64_t B, int64_t Lmax, int64_t R, int64_t d, bool accumulate) {
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < R * d;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t o = k / d, j = k % d;
    float acc = accumulate ? d_prompts[k] : 0.0f;
    for (int64_t b = 0; b < B; ++b) {
      const int64_t src = sources[b], len = lengths[b];
      if (o >= src && o < src + len && len <= Lmax) acc += d_rows[(b * Lmax + o - src) * d + j];
    }
    d_prompts[k] = acc;
  }
}

// Rows per launch are capped: a block per row, rows beyond the grid handled by the loop.
unsigned row_blocks(int64_t rows) {
  const int64_t cap = 1 << 20;
  return static_cast<unsigned>(rows < 1 ? 1 : (rows < cap ? rows : cap));
}

int row_threads(int64_t d) { return d >= 256 ? 256 : (d >= 128 ? 128 : 64); }

}  // namespace

void embed_with_prompt(Context& ctx, const Tensor& ids, const Tensor& table, const Tensor& prompts,
                       const PromptSlots& slots, Tensor& out) {
  const int64_t B = ids.dim(0), T = ids.dim(1), V = table.dim(0), d = table.dim(1), L = slots.max_len;
  const int64_t R = prompts.defined() ? prompts.dim(0) : 0;
  if (B * (T + L) == 0 || d == 0) return;
  CudaState& s = state_of(ctx);
  embed_with_prompt_kernel<<<row_blocks(B * (T + L)), row_threads(d), 0, s.stream>>>(
      ids.i32(), table.f32(), R ? prompts.f32() : nullptr, slots.position.i32(), slots.source.i32(),
      slots.length.i32(), out.f32(), B, T, L, V, R, d);
  SPOT_LAUNCH_CHECK(s.stream);
}

void prompt_rows_write(Context& ctx, const Tensor& prompts, const PromptSlots& slots, Tensor& x) {
  const int64_t B = x.dim(0), S = x.dim(1), d = x.dim(2), L = slots.max_len;
  const int64_t R = prompts.defined() ? prompts.dim(0) : 0;
  if (B * L == 0 || d == 0) return;
  CudaState& s = state_of(ctx);
  prompt_rows_write_kernel<<<row_blocks(B * L), row_threads(d), 0, s.stream>>>(
      prompts.defined() ? prompts.f32() : nullptr, slots.position.i32(), slots.source.i32(), slots.length.i32(),
      x.f32(), B, S, L, R, d);
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

void prompt_grad_reduce(Context& ctx, const Tensor& d_rows, const PromptSlots& slots, Tensor& d_prompts,
                        bool accumulate) {
  const int64_t B = d_rows.dim(0), L = d_rows.dim(1), d = d_rows.dim(2), R = d_prompts.dim(0);
  if (R * d == 0) return;
  CudaState& s = state_of(ctx);
  prompt_grad_reduce_kernel<<<grid_stride_blocks(R * d, kThreads), kThreads, 0, s.stream>>>(
      d_rows.f32(), slots.source.i32(), slots.length.i32(), d_prompts.f32(), B, L, R, d, accumulate);
  SPOT_LAUNCH_CHECK(s.stream);
}

}  // namespace spot::cuda
