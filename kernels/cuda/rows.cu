// cuda/rows.cu — row gather/scatter and the shared-prefix broadcast-concat (rows.h): grid-stride
// loops over elements, coalesced along R; memory-bound copies.
//
// The CUDA dispatchers do not validate indices (that would need a device->host copy); the kernels
// never read or write out of bounds instead: a gathered row whose index is invalid is written as
// NaN (which the loss reports loudly), a scattered row whose index is invalid is dropped.
#include <cmath>

#include "base/cuda/cuda_common.cuh"
#include "kernels/cuda/cuda_ops.h"

namespace spot::cuda {

namespace {

constexpr int kThreads = 256;

// out [M, R] = x[index[m]] for x [N, R].
__global__ void rows_gather_kernel(const float* __restrict__ x, const int32_t* __restrict__ index,
                                   float* __restrict__ out, int64_t m, int64_t n, int64_t r) {
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < m * r;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = index[k / r];
    out[k] = (i >= 0 && i < n) ? x[i * r + k % r] : NAN;
  }
}

// out[index[m]] = src[m]; out was zeroed on the same stream first. Distinct indices: no two
// threads write one element.
__global__ void rows_scatter_kernel(const float* __restrict__ src, const int32_t* __restrict__ index,
                                    float* __restrict__ out, int64_t m, int64_t n, int64_t r) {
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < m * r;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = index[k / r];
    if (i >= 0 && i < n) out[i * r + k % r] = src[k];
  }
}

// out [B, L+T, R]: rows s < L from prefix [L, R], the rest from x [B, T, R].
__global__ void prefix_concat_kernel(const float* __restrict__ prefix, const float* __restrict__ x,
                                     float* __restrict__ out, int64_t b, int64_t l, int64_t t, int64_t r) {
  const int64_t per = (l + t) * r;
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < b * per;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = k / per, e = k % per, s = e / r, j = e % r;
    out[k] = s < l ? prefix[s * r + j] : x[(i * t + s - l) * r + j];
  }
}

}  // namespace

void rows_gather(Context& ctx, const Tensor& x, const Tensor& index, Tensor& out) {
  const int64_t m = index.dim(0), n = x.dim(0), r = x.dim(1);
  if (m * r == 0) return;
  CudaState& s = state_of(ctx);
  rows_gather_kernel<<<grid_stride_blocks(m * r, kThreads), kThreads, 0, s.stream>>>(x.f32(), index.i32(), out.f32(),
                                                                                     m, n, r);
  SPOT_LAUNCH_CHECK(s.stream);
}

void rows_scatter(Context& ctx, const Tensor& src, const Tensor& index, Tensor& out) {
  const int64_t m = index.dim(0), n = out.dim(0), r = out.dim(1);
  CudaState& s = state_of(ctx);
  if (out.numel()) CUDA_CHECK(cudaMemsetAsync(out.f32(), 0, out.nbytes(), s.stream));
  if (m * r == 0) return;
  rows_scatter_kernel<<<grid_stride_blocks(m * r, kThreads), kThreads, 0, s.stream>>>(src.f32(), index.i32(),
                                                                                      out.f32(), m, n, r);
  SPOT_LAUNCH_CHECK(s.stream);
}

void prefix_concat(Context& ctx, const Tensor& prefix, const Tensor& x, Tensor& out) {
  const int64_t b = x.dim(0), t = x.dim(1), r = x.dim(2), l = prefix.dim(0);
  if (out.numel() == 0) return;
  CudaState& s = state_of(ctx);
  prefix_concat_kernel<<<grid_stride_blocks(out.numel(), kThreads), kThreads, 0, s.stream>>>(
      l ? prefix.f32() : nullptr, t ? x.f32() : nullptr, out.f32(), b, l, t, r);
  SPOT_LAUNCH_CHECK(s.stream);
}

}  // namespace spot::cuda
