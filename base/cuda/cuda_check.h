// cuda_check.h — CUDA_CHECK / CUBLAS_CHECK / CUDNN_CHECK on top of SPOT_CHECK_STATUS (base/check.h),
// and SPOT_LAUNCH_CHECK after every kernel launch. Failures throw spot::Error naming the call, the
// library's error string, and the source line. Include only from kernels/cuda/ and bench/dev/.
#pragma once

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "base/check.h"

#if defined(SPOT_WITH_CUDNN) && SPOT_WITH_CUDNN
#include <cudnn.h>
#define CUDNN_CHECK(expr) SPOT_CHECK_STATUS((expr), CUDNN_STATUS_SUCCESS, cudnnGetErrorString)
#endif

#define CUDA_CHECK(expr) SPOT_CHECK_STATUS((expr), cudaSuccess, cudaGetErrorString)
#define CUBLAS_CHECK(expr) SPOT_CHECK_STATUS((expr), CUBLAS_STATUS_SUCCESS, cublasGetStatusString)

// After every kernel launch: launch-configuration errors surface at once. A build configured with
// -DSPOT_CUDA_DEBUG_SYNC=ON also waits for the stream, so an illegal address or a device-side
// fault is reported at the launch that caused it rather than at a later synchronisation.
#if defined(SPOT_CUDA_DEBUG_SYNC) && SPOT_CUDA_DEBUG_SYNC
#define SPOT_LAUNCH_CHECK(stream)                  \
  do {                                             \
    CUDA_CHECK(cudaGetLastError());                \
    CUDA_CHECK(cudaStreamSynchronize(stream));     \
  } while (0)
#else
#define SPOT_LAUNCH_CHECK(stream)       \
  do {                                  \
    (void)(stream);                     \
    CUDA_CHECK(cudaGetLastError());     \
  } while (0)
#endif
