// Fake cuBLASLt for tools/cuda_emu: descriptors are recorded and checked for consistency, the matmul runs on the host.
#pragma once
#include "cublas_v2.h"
typedef struct cublasLtContext* cublasLtHandle_t;
struct EmuLtDesc { int ta = 0, tb = 0; cublasComputeType_t ct; cudaDataType_t st; };
struct EmuLtLayout { cudaDataType_t t; unsigned long long rows, cols; long long ld; };
struct EmuLtPref { int dummy; };
typedef EmuLtDesc* cublasLtMatmulDesc_t;
typedef EmuLtLayout* cublasLtMatrixLayout_t;
typedef EmuLtPref* cublasLtMatmulPreference_t;
struct cublasLtMatmulAlgo_t { unsigned long long data[8]; };
struct cublasLtMatmulHeuristicResult_t { cublasLtMatmulAlgo_t algo; size_t workspaceSize; cublasStatus_t state; float wavesCount; int reserved[4]; };
typedef enum { CUBLASLT_MATMUL_DESC_TRANSA = 3, CUBLASLT_MATMUL_DESC_TRANSB = 4 } cublasLtMatmulDescAttributes_t;
typedef enum { CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES = 5,
               CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES = 6, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES = 7,
               CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES = 8 } cublasLtMatmulPreferenceAttributes_t;
inline cublasStatus_t cublasLtCreate(cublasLtHandle_t* h) { *h = reinterpret_cast<cublasLtHandle_t>(0x4); return 0; }
inline cublasStatus_t cublasLtDestroy(cublasLtHandle_t) { return 0; }
inline cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t* d, cublasComputeType_t ct, cudaDataType_t st) { *d = new EmuLtDesc{0, 0, ct, st}; return 0; }
inline cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t d) { delete d; return 0; }
inline cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t a, const void* v, size_t n) {
  if (n != sizeof(int)) return CUBLAS_STATUS_INVALID_VALUE;
  int x; std::memcpy(&x, v, 4);
  (a == CUBLASLT_MATMUL_DESC_TRANSA ? d->ta : d->tb) = x;
  return 0;
}
inline cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t* l, cudaDataType_t t, unsigned long long r, unsigned long long c, long long ld) {
  if (ld < static_cast<long long>(r)) return CUBLAS_STATUS_INVALID_VALUE;
  *l = new EmuLtLayout{t, r, c, ld}; return 0;
}
inline cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t l) { delete l; return 0; }
inline cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t* p) { *p = new EmuLtPref{}; return 0; }
inline cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t p) { delete p; return 0; }
inline cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t, cublasLtMatmulPreferenceAttributes_t, const void*, size_t) { return 0; }
inline cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t, cublasLtMatmulDesc_t, cublasLtMatrixLayout_t, cublasLtMatrixLayout_t,
    cublasLtMatrixLayout_t, cublasLtMatrixLayout_t, cublasLtMatmulPreference_t, int, cublasLtMatmulHeuristicResult_t* r, int* found) {
  r->state = 0; *found = 1; return 0;
}
inline cublasStatus_t cublasLtMatmul(cublasLtHandle_t, cublasLtMatmulDesc_t op, const void* alpha, const void* A, cublasLtMatrixLayout_t a,
    const void* B, cublasLtMatrixLayout_t b, const void* beta, const void* C, cublasLtMatrixLayout_t c, void* D, cublasLtMatrixLayout_t d,
    const cublasLtMatmulAlgo_t*, void*, size_t, cudaStream_t) {
  // Dimensions from D and the layouts, checked for consistency like cuBLASLt does.
  const long long m = d->rows, n = d->cols;
  const long long k = op->ta == 0 ? a->cols : a->rows;
  const long long am = op->ta == 0 ? a->rows : a->cols;
  const long long bk = op->tb == 0 ? b->rows : b->cols, bn = op->tb == 0 ? b->cols : b->rows;
  if (am != m || bk != k || bn != n || c->rows != d->rows || c->cols != d->cols || C != D) {
    std::fprintf(stderr, "EMU cublasLtMatmul: inconsistent layouts m=%lld n=%lld k=%lld am=%lld bk=%lld bn=%lld\n", m, n, k, am, bk, bn);
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  if (a->t != b->t) return CUBLAS_STATUS_NOT_SUPPORTED;
  emu::gemm_ref(op->ta, op->tb, m, n, k, *static_cast<const float*>(alpha), A, a->t, a->ld, B, b->t, b->ld,
                *static_cast<const float*>(beta), D, d->t, d->ld);
  return 0;
}
