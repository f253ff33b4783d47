// Fake CUDA runtime for tools/cuda_emu (CPU emulation of spot's kernels): blocks run one after another,
// the threads of a block are ucontext fibers with real barrier semantics (__syncthreads, warp shuffles).
#pragma once
#include <ucontext.h>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(x)
#define __shared__ static

typedef int cudaError_t;
enum : int { cudaSuccess = 0, cudaErrorInvalidValue = 1, cudaErrorMemoryAllocation = 2, cudaErrorNoDevice = 100,
             cudaErrorCudartUnloading = 4, cudaErrorInvalidConfiguration = 9 };
inline const char* cudaGetErrorString(cudaError_t e) { return e == 0 ? "no error" : "emulated cuda error"; }
typedef struct CUstream_st* cudaStream_t;
#define cudaStreamLegacy ((cudaStream_t)0x1)
typedef struct CUmemPool_st* cudaMemPool_t;
enum cudaMemcpyKind { cudaMemcpyHostToHost, cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice, cudaMemcpyDefault };
enum cudaDeviceAttr { cudaDevAttrMultiProcessorCount, cudaDevAttrMaxSharedMemoryPerBlockOptin };
enum cudaMemPoolAttr { cudaMemPoolAttrReleaseThreshold, cudaMemPoolAttrUsedMemHigh };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize };

namespace emu {
struct Dim { unsigned x = 0, y = 1, z = 1; };
inline Dim threadIdx, blockIdx, blockDim, gridDim;
inline cudaError_t last_error = cudaSuccess;
inline std::map<const void*, int> max_dyn_smem;  // per kernel, set by cudaFuncSetAttribute
inline std::vector<unsigned char> dyn_smem_buf;
inline float* dyn_smem() { return reinterpret_cast<float*>(dyn_smem_buf.data()); }

enum class St { Run, BlockBar, WarpBar, Done };
struct Fiber {
  ucontext_t ctx;
  std::vector<char> stack;
  St st = St::Run;
};
inline ucontext_t sched_ctx;
inline std::vector<Fiber> fibers;
inline int cur = -1;
inline void (*entry_fn)(void*) = nullptr;
inline void* entry_arg = nullptr;
inline float warp_buf[32][32];
inline long long barriers = 0;

inline void yield_with(St s) {
  fibers[cur].st = s;
  swapcontext(&fibers[cur].ctx, &sched_ctx);
}
inline void trampoline() {
  entry_fn(entry_arg);
  fibers[cur].st = St::Done;
  swapcontext(&fibers[cur].ctx, &sched_ctx);
}

[[noreturn]] inline void die(const std::string& m) {
  std::fprintf(stderr, "EMU FATAL: %s (block %u thread %u)\n", m.c_str(), blockIdx.x, threadIdx.x);
  std::abort();
}

// Runs one block of `n` threads to completion.
inline void run_block(int n, void (*fn)(void*), void* arg) {
  entry_fn = fn;
  entry_arg = arg;
  if (static_cast<int>(fibers.size()) < n) fibers.resize(n);
  for (int t = 0; t < n; ++t) {
    Fiber& f = fibers[t];
    if (f.stack.empty()) f.stack.resize(256 * 1024);
    getcontext(&f.ctx);
    f.ctx.uc_stack.ss_sp = f.stack.data();
    f.ctx.uc_stack.ss_size = f.stack.size();
    f.ctx.uc_link = nullptr;
    makecontext(&f.ctx, trampoline, 0);
    f.st = St::Run;
  }
  for (;;) {
    bool ran = false;
    static const bool reverse = std::getenv("EMU_REVERSE") != nullptr;  // other interleaving: exposes races
    for (int tt = 0; tt < n; ++tt) {
      const int t = reverse ? n - 1 - tt : tt;
      if (fibers[t].st == St::Run) {
        cur = t;
        threadIdx.x = t;
        swapcontext(&sched_ctx, &fibers[t].ctx);
        ran = true;
      }
    }
    int done = 0, at_block = 0;
    for (int t = 0; t < n; ++t) {
      done += fibers[t].st == St::Done;
      at_block += fibers[t].st == St::BlockBar;
    }
    if (done == n) break;
    bool released = false;
    if (at_block > 0 && at_block + done == n) {
      if (done > 0) die("__syncthreads reached by some threads while others exited");
      for (int t = 0; t < n; ++t) fibers[t].st = St::Run;
      released = true;
      ++barriers;
    }
    for (int w = 0; w * 32 < n; ++w) {
      int at_warp = 0;
      for (int l = 0; l < 32 && w * 32 + l < n; ++l) at_warp += fibers[w * 32 + l].st == St::WarpBar;
      if (at_warp == 0) continue;
      if (at_warp == 32) {
        for (int l = 0; l < 32; ++l) fibers[w * 32 + l].st = St::Run;
        released = true;
        ++barriers;
      }
    }
    if (!released && !ran) {
      std::string states;
      for (int t = 0; t < n; ++t) states += "0RBWD"[1 + static_cast<int>(fibers[t].st)];
      die("deadlock: barrier mismatch, thread states " + states);
    }
  }
  cur = -1;
}

template <class... P>
struct LaunchPack {
  void (*k)(P...);
  std::tuple<P...> args;
  static void call(void* self) {
    auto* p = static_cast<LaunchPack*>(self);
    std::apply(p->k, p->args);
  }
};

template <class... P, class... A>
void launch(void (*k)(P...), unsigned grid, int threads, size_t smem, cudaStream_t, A&&... args) {
  if (grid == 0 || threads <= 0 || threads > 1024) {
    last_error = cudaErrorInvalidConfiguration;
    return;
  }
  auto it = max_dyn_smem.find(reinterpret_cast<const void*>(k));
  const size_t limit = it != max_dyn_smem.end() ? static_cast<size_t>(it->second) : 48 * 1024;
  if (smem > limit) {
    std::fprintf(stderr, "EMU: launch with %zu bytes of dynamic smem above the kernel's limit %zu\n", smem, limit);
    last_error = cudaErrorInvalidValue;
    return;
  }
  LaunchPack<P...> pack{k, std::tuple<P...>(std::forward<A>(args)...)};
  gridDim.x = grid;
  blockDim.x = threads;
  dyn_smem_buf.assign(smem + 16, 0xff);  // NaN garbage: reads of unwritten shared memory show up
  for (unsigned b = 0; b < grid; ++b) {
    blockIdx.x = b;
    std::memset(dyn_smem_buf.data(), 0xff, dyn_smem_buf.size());
    run_block(threads, &LaunchPack<P...>::call, &pack);
  }
}
}  // namespace emu

using emu::threadIdx;
using emu::blockIdx;
using emu::blockDim;
using emu::gridDim;

inline void __syncthreads() { emu::yield_with(emu::St::BlockBar); }
inline float __shfl_xor_sync(unsigned mask, float v, int o) {
  if (mask != 0xffffffffu) emu::die("partial shuffle mask");
  const int lane = threadIdx.x % 32, w = threadIdx.x / 32;
  emu::warp_buf[w][lane] = v;
  emu::yield_with(emu::St::WarpBar);
  const float r = emu::warp_buf[w][lane ^ o];
  emu::yield_with(emu::St::WarpBar);
  return r;
}

inline cudaError_t cudaGetLastError() { cudaError_t e = emu::last_error; emu::last_error = cudaSuccess; return e; }
inline cudaError_t cudaGetDeviceCount(int* n) { *n = 1; return cudaSuccess; }
inline cudaError_t cudaGetDevice(int* d) { *d = 0; return cudaSuccess; }
inline cudaError_t cudaSetDevice(int) { return cudaSuccess; }
inline cudaError_t cudaStreamCreate(cudaStream_t* s) { *s = reinterpret_cast<cudaStream_t>(0x2); return cudaSuccess; }
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return emu::last_error; }
inline cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaMalloc(void** p, size_t n) { *p = std::malloc(n ? n : 1); return *p ? cudaSuccess : cudaErrorMemoryAllocation; }
inline cudaError_t cudaFree(void* p) { std::free(p); return cudaSuccess; }
inline cudaError_t cudaMallocAsync(void** p, size_t n, cudaStream_t) { return cudaMalloc(p, n); }
inline cudaError_t cudaFreeAsync(void* p, cudaStream_t) { return cudaFree(p); }
inline cudaError_t cudaMemcpy(void* d, const void* s, size_t n, cudaMemcpyKind) { std::memcpy(d, s, n); return cudaSuccess; }
inline cudaError_t cudaMemsetAsync(void* p, int v, size_t n, cudaStream_t) { std::memset(p, v, n); return cudaSuccess; }
inline cudaError_t cudaMemGetInfo(size_t* f, size_t* t) { *f = *t = 0; return cudaSuccess; }
inline cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr a, int) {
  *v = a == cudaDevAttrMultiProcessorCount ? 132 : 232448;  // H100
  return cudaSuccess;
}
inline cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t* p, int) { *p = nullptr; return cudaSuccess; }
inline cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t, cudaMemPoolAttr, void*) { return cudaSuccess; }
// The emulated pool keeps no statistics: its high-water mark reads as 0.
inline cudaError_t cudaMemPoolGetAttribute(cudaMemPool_t, cudaMemPoolAttr, void* v) { *static_cast<uint64_t*>(v) = 0; return cudaSuccess; }
template <class T>
inline cudaError_t cudaFuncSetAttribute(T* k, cudaFuncAttribute, int v) { emu::max_dyn_smem[reinterpret_cast<const void*>(k)] = v; return cudaSuccess; }
inline cudaError_t cudaFuncSetAttribute(const void* k, cudaFuncAttribute, int v) { emu::max_dyn_smem[k] = v; return cudaSuccess; }
