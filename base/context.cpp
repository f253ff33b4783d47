// context.cpp — backend selection, CPU thread control and the CUDA state's lifetime.
#include "base/context.h"

#include <omp.h>

#include "base/cuda/cuda_backend.h"

extern "C" void openblas_set_num_threads(int num_threads);

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

Context::Context(Backend backend, int cuda_device) : backend_(backend) {
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
  const int t = n > 0 ? n : omp_get_num_procs();
  omp_set_num_threads(t);
  openblas_set_num_threads(t);
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
