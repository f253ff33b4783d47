// context.h — the explicit execution context every op takes: which backend runs it, and for CUDA
// the stream, BLAS handles and workspace. No global state: two contexts can run side by side.
#pragma once

#include <memory>

#include "base/tensor.h"

namespace spot {

enum class Backend : uint8_t {
  CpuReference,  // plain loops, fp64 accumulation: the oracle every other path is tested against
  CpuFast,       // oneDNN GEMMs (kernels/gemm.h) + OpenMP (+ AVX where it pays)
  Cuda,          // kernels/cuda
};
const char* backend_name(Backend b);
Backend backend_from_name(const std::string& name);  // "ref" | "cpu" | "cuda"

namespace cuda {
struct CudaState;  // stream, cuBLAS/cuBLASLt handles, workspace (base/cuda/cuda_backend.h)
struct CudaStateDeleter {
  void operator()(CudaState* s) const;
};
}  // namespace cuda

class Context {
 public:
  explicit Context(Backend backend = Backend::CpuFast, int cuda_device = 0);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  Backend backend() const { return backend_; }
  Device device() const { return backend_ == Backend::Cuda ? Device::CUDA : Device::CPU; }
  cuda::CudaState& cuda() const;  // throws unless backend() == Cuda

  // Threads for the CPU fast path (OpenMP, which oneDNN's GEMMs also read); 0 = all cores.
  void set_cpu_threads(int n);
  int cpu_threads() const { return cpu_threads_; }

  void synchronize() const;  // waits for queued device work (no-op on CPU)
  double peak_device_bytes() const;  // CUDA: allocation high-water mark; CPU: 0

  // Allocate on this context's device.
  Tensor empty(const Shape& shape, DType dtype = DType::F32) const { return Tensor::empty(shape, dtype, device()); }
  Tensor zeros(const Shape& shape, DType dtype = DType::F32) const { return Tensor::zeros(shape, dtype, device()); }

 private:
  Backend backend_;
  int cpu_threads_ = 0;
  std::unique_ptr<cuda::CudaState, cuda::CudaStateDeleter> cuda_;
};

// The threads of the CPU fast path (OpenMP, which oneDNN reads too) in this process, until a context sets its
// own (Context::set_cpu_threads): how the ranks an MPI launcher started on one node share its cores.
void set_process_cpu_threads(int n);

// RAII NVTX range for Nsight (no-op in a CPU-only build): SPOT_NVTX_RANGE("t5.encoder.layer");
class NvtxRange {
 public:
  explicit NvtxRange(const char* name);
  ~NvtxRange();
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
};
#define SPOT_NVTX_CONCAT2(a, b) a##b
#define SPOT_NVTX_CONCAT(a, b) SPOT_NVTX_CONCAT2(a, b)
#define SPOT_NVTX_RANGE(name) ::spot::NvtxRange SPOT_NVTX_CONCAT(spot_nvtx_, __LINE__)(name)

}  // namespace spot
