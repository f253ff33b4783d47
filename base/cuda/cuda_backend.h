// cuda_backend.h — the CUDA backend's entry points used by host code (memory, context state,
// op launchers). Declarations only: implemented in kernels/cuda/*.cu, called from dispatchers
// when spot is built with CUDA.
#pragma once

#include <cstddef>
#include <cstdint>

namespace spot::cuda {

struct CudaState;
CudaState* create_state(int device);  // owned by Context through CudaStateDeleter
void destroy_state(CudaState* s);
void synchronize(CudaState& s);
uint64_t peak_pool_bytes(const CudaState& s);  // high-water mark of the allocation pool + workspace

int device_count();
void* device_malloc(size_t bytes);
void device_free(void* p);
void memcpy(void* dst, bool dst_on_device, const void* src, bool src_on_device, size_t bytes);
void memset_zero(void* p, size_t bytes);
void fill_f32(float* p, int64_t n, float value);

void nvtx_push(const char* name);
void nvtx_pop();

}  // namespace spot::cuda
