// context.cpp — backend selection, CPU thread control and the CUDA state's lifetime.
#include "base/context.h"

#include <malloc.h>
#include <omp.h>

#include <cstdlib>

#include "base/cuda/cuda_backend.h"

namespace spot {

const char* backend_name(Backend b) {
  switch (b) {
    case Backend::CpuReference: return "ref";
    case Backend::CpuFast: return "cpu";
    case Backend::Cuda: return "cuda";
  }
  return "?";
}

Backend backend_from_name(const std::string& name) {
  if (name == "ref" || name == "reference") return Backend::CpuReference;
  if (name == "cpu" || name == "fast") return Backend::CpuFast;
  if (name == "cuda" || name == "gpu") return Backend::Cuda;
  SPOT_FAIL("unknown backend '" << name << "' (expected ref, cpu or cuda)");
}

namespace {

// Host buffers of one step (activations kept for the backward, logits: hundreds of MB) are freed
// at its end and allocated again by the next. With glibc's defaults the large ones are mmap'ed and
// unmapped each time, or the heap top is trimmed, and the next step page-faults all of it in again
// (measured: SmolLM2 replicated step, 1150 ms, with some steps ~150 ms slower when the free order
// lets the heap shrink). Keeping freed memory in the process makes every step after the first reuse
// it. Done once, unless the user set glibc's own MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_.
void keep_host_memory_between_steps() {
  static const bool done = [] {
    if (!std::getenv("MALLOC_MMAP_THRESHOLD_")) mallopt(M_MMAP_THRESHOLD, 256 << 20);  // blocks up to 256 MB from the heap
    if (!std::getenv("MALLOC_TRIM_THRESHOLD_")) mallopt(M_TRIM_THRESHOLD, 1 << 30);     // shrink it only past 1 GB free
    return true;
  }();
  (void)done;
}

}  // namespace

Context::Context(Backend backend, int cuda_device) : backend_(backend) {
  keep_host_memory_between_steps();
  if (backend == Backend::Cuda) {
#if SPOT_WITH_CUDA
    cuda_.reset(cuda::create_state(cuda_device));
#else
    SPOT_FAIL("built without CUDA: the cuda backend is not available (reconfigure with -DSPOT_CUDA=ON)");
#endif
  }
}

Context::~Context() = default;

void cuda::CudaStateDeleter::operator()(CudaState* s) const {
#if SPOT_WITH_CUDA
  destroy_state(s);
#else
  (void)s;
#endif
}

cuda::CudaState& Context::cuda() const {
  SPOT_CHECK(cuda_, "this context runs on " << backend_name(backend_) << ", not cuda");
  return *cuda_;
}

void Context::set_cpu_threads(int n) {
  cpu_threads_ = n;
  set_process_cpu_threads(n > 0 ? n : omp_get_num_procs());
}

void set_process_cpu_threads(int n) {
  SPOT_CHECK(n > 0, "set_process_cpu_threads: " << n << " threads");
  omp_set_num_threads(n);
}

void Context::synchronize() const {
#if SPOT_WITH_CUDA
  if (cuda_) cuda::synchronize(*cuda_);
#endif
}

double Context::peak_device_bytes() const {
#if SPOT_WITH_CUDA
  if (cuda_) return static_cast<double>(cuda::peak_pool_bytes(*cuda_));
#endif
  return 0;
}

NvtxRange::NvtxRange(const char* name) {
#if SPOT_WITH_CUDA
  cuda::nvtx_push(name);
#else
  (void)name;
#endif
}

NvtxRange::~NvtxRange() {
#if SPOT_WITH_CUDA
  cuda::nvtx_pop();
#endif
}

}  // namespace spot
