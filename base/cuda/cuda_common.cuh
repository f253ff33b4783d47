// cuda_common.cuh — internal to kernels/cuda: the CudaState behind Context::cuda(), launch-size
// helpers and deterministic warp/block reductions shared by the op files.
#pragma once

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <array>
#include <climits>
#include <cstdint>
#include <map>

#include "base/context.h"
#include "base/cuda/cuda_backend.h"
#include "base/cuda/cuda_check.h"

namespace spot::cuda {

// Key of a cached cuBLASLt algorithm: shape, dtypes, transposes, alignments, beta != 0.
using LtKey = std::array<int64_t, 12>;
struct LtChoice {
  bool found = false;  // false: cuBLASLt has no algorithm for the key, linear.cu falls back to cublasGemmEx
  cublasLtMatmulAlgo_t algo{};
};

struct CudaState {
  int device = 0;
  cudaStream_t stream = nullptr;  // a blocking stream: ordered with legacy-default-stream copies/memsets
  cublasHandle_t blas = nullptr;
  cublasLtHandle_t blas_lt = nullptr;
  void* workspace = nullptr;  // cuBLASLt workspace, stream-ordered
  size_t workspace_bytes = 0;
  int sm_count = 0;
  int max_smem_optin = 0;  // bytes of dynamic shared memory a block may opt in to
  std::map<LtKey, LtChoice> lt_algos;  // heuristic results, queried once per key
};

// The context's CUDA state, with its device made current for the launches that follow.
inline CudaState& state_of(Context& ctx) {
  CudaState& s = ctx.cuda();
  int cur = -1;
  CUDA_CHECK(cudaGetDevice(&cur));
  if (cur != s.device) CUDA_CHECK(cudaSetDevice(s.device));
  return s;
}

constexpr int kWarp = 32;

// Blocks for a grid-stride loop over n items: enough to fill the GPU, never above the 1-D limit.
inline unsigned grid_stride_blocks(int64_t n, int threads) {
  const int64_t want = (n + threads - 1) / threads;
  const int64_t cap = 65536LL * 8;  // ~8 waves of 2048-thread SMs on 132 SMs is far below this
  return static_cast<unsigned>(want < 1 ? 1 : (want < cap ? want : cap));
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = kWarp / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = kWarp / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
// Fixed tree: the same bits on every run. `scratch` holds 32 floats of shared memory.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, n_warps = blockDim.x / kWarp;
  v = warp_sum(v);
  __syncthreads();  // scratch may still be read by a previous reduction
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < n_warps ? scratch[lane] : 0.0f;
  return warp_sum(v);
}

}  // namespace spot::cuda
