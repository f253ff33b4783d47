// backend.cu — the CUDA backend's context state (stream, cuBLAS/cuBLASLt handles, workspace),
// device memory, copies and NVTX ranges (cuda_backend.h).
#include <nvtx3/nvToolsExt.h>

#include <cstdio>

#include "base/cuda/cuda_common.cuh"

namespace spot::cuda {

namespace {

constexpr size_t kWorkspaceBytes = 32u << 20;  // cuBLASLt workspace: enough for split-K on big GEMMs

__global__ void fill_f32_kernel(float* __restrict__ p, int64_t n, float value) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    p[i] = value;
}

// Errors in destructors and teardown are reported, never thrown (a throw there terminates).
void report_teardown_error(const char* what, cudaError_t e) {
  if (e != cudaSuccess && e != cudaErrorCudartUnloading)
    std::fprintf(stderr, "spot: %s failed during teardown: %s\n", what, cudaGetErrorString(e));
}

}  // namespace

int device_count() {
  // Machines without a driver or a GPU answer with an error code: that means zero devices. The
  // error is cleared so it does not surface at the next CUDA_CHECK.
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return n;
}

CudaState* create_state(int device) {
  const int n = device_count();
  SPOT_CHECK(n > 0, "cuda backend: no CUDA device present (cudaGetDeviceCount found none)");
  SPOT_CHECK(device >= 0 && device < n, "cuda backend: device " << device << " requested, " << n << " present");
  auto* s = new CudaState;
  try {
    s->device = device;
    CUDA_CHECK(cudaSetDevice(device));
    CUDA_CHECK(cudaStreamCreate(&s->stream));
    CUBLAS_CHECK(cublasCreate(&s->blas));
    CUBLAS_CHECK(cublasSetStream(s->blas, s->stream));
    CUBLAS_CHECK(cublasLtCreate(&s->blas_lt));
    CUDA_CHECK(cudaMalloc(&s->workspace, kWorkspaceBytes));
    s->workspace_bytes = kWorkspaceBytes;
    CUDA_CHECK(cudaDeviceGetAttribute(&s->sm_count, cudaDevAttrMultiProcessorCount, device));
    CUDA_CHECK(cudaDeviceGetAttribute(&s->max_smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
    // Stream-ordered allocations (device_malloc) keep freed memory in the pool instead of returning
    // it to the driver: allocation in a training loop is then a pool lookup, not a cudaMalloc.
    cudaMemPool_t pool;
    CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
    uint64_t threshold = UINT64_MAX;
    CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
  } catch (...) {
    destroy_state(s);
    throw;
  }
  return s;
}

void destroy_state(CudaState* s) {
  if (!s) return;
  if (s->stream) report_teardown_error("cudaStreamSynchronize", cudaStreamSynchronize(s->stream));
  if (s->workspace) report_teardown_error("cudaFree(workspace)", cudaFree(s->workspace));
  if (s->blas_lt) cublasLtDestroy(s->blas_lt);
  if (s->blas) cublasDestroy(s->blas);
  if (s->stream) report_teardown_error("cudaStreamDestroy", cudaStreamDestroy(s->stream));
  delete s;
}

void synchronize(CudaState& s) { CUDA_CHECK(cudaStreamSynchronize(s.stream)); }

uint64_t peak_pool_bytes(const CudaState& s) {
  cudaMemPool_t pool;
  CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, s.device));
  uint64_t high = 0;
  CUDA_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &high));
  return high + s.workspace_bytes;
}

// Allocations are ordered on the legacy default stream, which every context's (blocking) stream
// synchronises with: memory freed here is reused only after the work queued before the free.
void* device_malloc(size_t bytes) {
  void* p = nullptr;
  const cudaError_t e = cudaMallocAsync(&p, bytes, cudaStreamLegacy);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    (void)cudaMemGetInfo(&free_b, &total_b);
    SPOT_FAIL("out of device memory allocating " << bytes << " bytes (" << free_b << " of " << total_b
                                                  << " bytes free): " << cudaGetErrorString(e));
  }
  return p;
}

void device_free(void* p) {
  if (!p) return;
  report_teardown_error("cudaFreeAsync", cudaFreeAsync(p, cudaStreamLegacy));
}

// Synchronous copy (legacy default stream: waits for the context streams' queued work first).
void memcpy(void* dst, bool dst_on_device, const void* src, bool src_on_device, size_t bytes) {
  if (bytes == 0) return;
  const cudaMemcpyKind kind = dst_on_device ? (src_on_device ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                            : (src_on_device ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  CUDA_CHECK(cudaMemcpy(dst, src, bytes, kind));
}

void memset_zero(void* p, size_t bytes) {
  if (bytes == 0) return;
  CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, cudaStreamLegacy));
}

void fill_f32(float* p, int64_t n, float value) {
  if (n <= 0) return;
  constexpr int kThreads = 256;
  fill_f32_kernel<<<grid_stride_blocks(n, kThreads), kThreads, 0, cudaStreamLegacy>>>(p, n, value);
  SPOT_LAUNCH_CHECK(cudaStreamLegacy);
}

void nvtx_push(const char* name) { nvtxRangePushA(name); }
void nvtx_pop() { nvtxRangePop(); }

}  // namespace spot::cuda
