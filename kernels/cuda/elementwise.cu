// cuda/elementwise.cu — axpy, scale, add (elementwise.h): grid-stride loops, one element per
// thread-iteration; memory-bound (12, 8 and 12 bytes per element).
#include "base/cuda/cuda_common.cuh"
#include "kernels/cuda/cuda_ops.h"

namespace spot::cuda {

namespace {

constexpr int kThreads = 256;

__global__ void axpy_kernel(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] += alpha * x[i];
}

// x and y may alias (scale in place): no __restrict__.
__global__ void scale_kernel(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = alpha * x[i];
}

// y may alias a or b (residual adds in place).
__global__ void add_kernel(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = a[i] + b[i];
}

}  // namespace

void axpy(Context& ctx, float alpha, const Tensor& x, Tensor& y) {
  const int64_t n = x.numel();
  if (n == 0) return;
  CudaState& s = state_of(ctx);
  axpy_kernel<<<grid_stride_blocks(n, kThreads), kThreads, 0, s.stream>>>(alpha, x.f32(), y.f32(), n);
  SPOT_LAUNCH_CHECK(s.stream);
}

void scale(Context& ctx, float alpha, const Tensor& x, Tensor& y) {
  const int64_t n = x.numel();
  if (n == 0) return;
  CudaState& s = state_of(ctx);
  scale_kernel<<<grid_stride_blocks(n, kThreads), kThreads, 0, s.stream>>>(alpha, x.f32(), y.f32(), n);
  SPOT_LAUNCH_CHECK(s.stream);
}

void add(Context& ctx, const Tensor& a, const Tensor& b, Tensor& y) {
  const int64_t n = a.numel();
  if (n == 0) return;
  CudaState& s = state_of(ctx);
  add_kernel<<<grid_stride_blocks(n, kThreads), kThreads, 0, s.stream>>>(a.f32(), b.f32(), y.f32(), n);
  SPOT_LAUNCH_CHECK(s.stream);
}

}  // namespace spot::cuda
