// cuda/rmsnorm.cu — T5 LayerNorm / Llama RMSNorm forward and input-backward (rmsnorm.h).
// One warp per row (8 rows per 256-thread block); lanes stride over d, so loads are coalesced and
// the row reductions are shuffle trees in fp32 (deterministic). A row is read twice (the second
// read hits L1/L2): 8·d bytes in, 4·d out per row forward, 12·d in and 4·d (or 8·d) backward.
// y and dx may alias x / dy (in-place use), so they are not __restrict__.
#include <cmath>

#include "base/cuda/cuda_common.cuh"
#include "kernels/cuda/cuda_ops.h"

namespace spot::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kRowsPerBlock = kThreads / kWarp;

// y[i] = w ⊙ x[i] · r_i, r_i = 1/sqrt(mean(x[i]²) + eps) -> inv_rms[i]
__global__ void rms_norm_forward_kernel(const float* x, const float* __restrict__ w, float eps,
                                        float* y, float* __restrict__ inv_rms, int64_t n, int64_t d) {
  const int lane = threadIdx.x % kWarp;
  for (int64_t row = blockIdx.x * static_cast<int64_t>(kRowsPerBlock) + threadIdx.x / kWarp; row < n;
       row += static_cast<int64_t>(gridDim.x) * kRowsPerBlock) {
    const float* xi = x + row * d;
    float ss = 0.0f;
    for (int64_t j = lane; j < d; j += kWarp) ss += xi[j] * xi[j];
    ss = warp_sum(ss);
    const float r = 1.0f / sqrtf(ss / static_cast<float>(d) + eps);
    if (lane == 0) inv_rms[row] = r;
    float* yi = y + row * d;
    for (int64_t j = lane; j < d; j += kWarp) yi[j] = w[j] * (xi[j] * r);
  }
}

// dx = r·(w⊙dy) − x·r³·mean(w⊙dy⊙x)  (+ dx when accumulating the residual branch's gradient)
__global__ void rms_norm_backward_kernel(const float* dy, const float* x, const float* __restrict__ w,
                                         const float* __restrict__ inv_rms, float* dx, int64_t n, int64_t d,
                                         bool accumulate) {
  const int lane = threadIdx.x % kWarp;
  for (int64_t row = blockIdx.x * static_cast<int64_t>(kRowsPerBlock) + threadIdx.x / kWarp; row < n;
       row += static_cast<int64_t>(gridDim.x) * kRowsPerBlock) {
    const float* dyi = dy + row * d;
    const float* xi = x + row * d;
    float dot = 0.0f;
    for (int64_t j = lane; j < d; j += kWarp) dot += w[j] * dyi[j] * xi[j];
    dot = warp_sum(dot);
    const float r = inv_rms[row];
    const float c = r * r * r * dot / static_cast<float>(d);
    float* dxi = dx + row * d;
    for (int64_t j = lane; j < d; j += kWarp) {
      const float g = r * w[j] * dyi[j] - c * xi[j];
      dxi[j] = accumulate ? dxi[j] + g : g;
    }
  }
}

unsigned blocks_for_rows(int64_t n) {
  const int64_t want = (n + kRowsPerBlock - 1) / kRowsPerBlock;
  const int64_t cap = 1 << 20;
  return static_cast<unsigned>(want < cap ? want : cap);
}

}  // namespace

void rms_norm_forward(Context& ctx, const Tensor& x, const Tensor& w, float eps, Tensor& y, Tensor& inv_rms) {
  const int64_t n = x.dim(0), d = x.dim(1);
  if (n == 0) return;
  CudaState& s = state_of(ctx);
  rms_norm_forward_kernel<<<blocks_for_rows(n), kThreads, 0, s.stream>>>(x.f32(), w.f32(), eps, y.f32(),
                                                                          inv_rms.f32(), n, d);
  SPOT_LAUNCH_CHECK(s.stream);
}

void rms_norm_backward_input(Context& ctx, const Tensor& dy, const Tensor& x, const Tensor& w, const Tensor& inv_rms,
                             Tensor& dx, bool accumulate) {
  const int64_t n = x.dim(0), d = x.dim(1);
  if (n == 0) return;
  CudaState& s = state_of(ctx);
  rms_norm_backward_kernel<<<blocks_for_rows(n), kThreads, 0, s.stream>>>(dy.f32(), x.f32(), w.f32(), inv_rms.f32(),
                                                                           dx.f32(), n, d, accumulate);
  SPOT_LAUNCH_CHECK(s.stream);
}

}  // namespace spot::cuda
