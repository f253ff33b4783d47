// Fake cuBLAS for tools/cuda_emu: the GEMMs spot calls, computed in fp64 on the host.
#pragma once
#include "cuda_runtime.h"
typedef int cublasStatus_t;
enum : int { CUBLAS_STATUS_SUCCESS = 0, CUBLAS_STATUS_INVALID_VALUE = 7, CUBLAS_STATUS_NOT_SUPPORTED = 15 };
inline const char* cublasGetStatusString(cublasStatus_t s) { return s == 0 ? "ok" : "emulated cublas error"; }
typedef struct cublasContext* cublasHandle_t;
typedef enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 } cublasOperation_t;
typedef enum { CUDA_R_32F = 0, CUDA_R_16F = 2, CUDA_R_16BF = 14 } cudaDataType_t;
typedef enum { CUBLAS_COMPUTE_32F = 68 } cublasComputeType_t;
typedef enum { CUBLAS_GEMM_DEFAULT = -1 } cublasGemmAlgo_t;
inline cublasStatus_t cublasCreate(cublasHandle_t* h) { *h = reinterpret_cast<cublasHandle_t>(0x3); return 0; }
inline cublasStatus_t cublasDestroy(cublasHandle_t) { return 0; }
inline cublasStatus_t cublasSetStream(cublasHandle_t, cudaStream_t) { return 0; }

namespace emu {
inline float load_el(const void* p, cudaDataType_t t, long long i) {
  if (t == CUDA_R_32F) return static_cast<const float*>(p)[i];
  uint32_t u = static_cast<uint32_t>(static_cast<const uint16_t*>(p)[i]) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline void store_el(void* p, cudaDataType_t t, long long i, float f) {
  if (t == CUDA_R_32F) { static_cast<float*>(p)[i] = f; return; }
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  static_cast<uint16_t*>(p)[i] = static_cast<uint16_t>(u >> 16);
}
// Column-major D = alpha·op(A)·op(B) + beta·D (beta == 0: D not read).
inline void gemm_ref(int ta, int tb, long long m, long long n, long long k, float alpha, const void* A,
                     cudaDataType_t at, long long lda, const void* B, cudaDataType_t bt, long long ldb, float beta,
                     void* D, cudaDataType_t dt, long long ldd) {
  for (long long j = 0; j < n; ++j)
    for (long long i = 0; i < m; ++i) {
      double acc = 0;
      for (long long p = 0; p < k; ++p) {
        const float a = load_el(A, at, ta == 0 ? i + p * lda : p + i * lda);
        const float b = load_el(B, bt, tb == 0 ? p + j * ldb : j + p * ldb);
        acc += static_cast<double>(a) * b;
      }
      float v = alpha * static_cast<float>(acc);
      if (beta != 0.0f) v += beta * load_el(D, dt, i + j * ldd);
      store_el(D, dt, i + j * ldd, v);
    }
}
}  // namespace emu

inline cublasStatus_t cublasGemmEx(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                   const void* alpha, const void* A, cudaDataType_t at, int lda, const void* B,
                                   cudaDataType_t bt, int ldb, const void* beta, void* C, cudaDataType_t ct, int ldc,
                                   cublasComputeType_t, cublasGemmAlgo_t) {
  emu::gemm_ref(ta, tb, m, n, k, *static_cast<const float*>(alpha), A, at, lda, B, bt, ldb,
                *static_cast<const float*>(beta), C, ct, ldc);
  return 0;
}
