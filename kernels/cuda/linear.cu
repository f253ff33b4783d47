// cuda/linear.cu — y = x·Wᵀ and dx = dy·W (linear.h) as one cuBLASLt matmul each.
//
// A row-major [R, C] tensor is a column-major C×R matrix (its transpose), so with W [M, K],
// x [N, K], y [N, M], dy [N, M], dx [N, K], all seen column-major:
//   forward   yᵀ (M×N, ld M) = Wᵀ·xᵀ   A = W  (K×M, ld K, op T), B = x  (K×N, ld K, op N)
//   backward dxᵀ (K×N, ld K) = W·dyᵀ   A = W  (K×M, ld K, op N), B = dy (M×N, ld M, op N)
// Types: all f32 with CUBLAS_COMPUTE_32F (plain fp32 FMA, never TF32, so f32 parity holds at 1e-5),
// or bf16 x/dy and W with a bf16 or f32 output (fp32 accumulation). accumulate → beta = 1 (the
// output is C as well as D); beta = 0 never reads the output.
// The heuristic's algorithm is cached per (shape, dtypes, pointer alignments, beta) in CudaState;
// alignments are passed to the heuristic because views (Tensor::rows) need not be 256-byte aligned.
// FLOPs 2·N·M·K; on an H100 expect ~45-50 TFLOP/s f32 (SIMT) and several hundred for bf16 at large N.
#include <cstring>

#include "base/cuda/cuda_common.cuh"
#include "kernels/cuda/cuda_ops.h"

namespace spot::cuda {

namespace {

cudaDataType_t cuda_type(DType t) {
  switch (t) {
    case DType::F32: return CUDA_R_32F;
    case DType::BF16: return CUDA_R_16BF;
    case DType::F16: return CUDA_R_16F;
    default: SPOT_FAIL("cuda linear: unsupported dtype " << dtype_name(t));
  }
}

// Largest power of two (<= 256) dividing the address: what the pointer can promise the kernels.
int64_t alignment_of(const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  int64_t al = 256;
  while (al > 1 && (a % static_cast<uintptr_t>(al)) != 0) al /= 2;
  return al;
}

// RAII holders for the cuBLASLt descriptors of one call.
struct LtDescs {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  ~LtDescs() {
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (d) cublasLtMatrixLayoutDestroy(d);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

// Column-major D[m×n] = op(A)·op(B) + beta·D, A/B of type ab, D of type dt, fp32 compute.
void gemm(CudaState& s, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k, const void* A,
          int64_t lda, const void* B, int64_t ldb, DType ab, void* D, int64_t ldd, DType dt, float beta,
          const char* op_name) {
  const float alpha = 1.0f;
  const cudaDataType_t abt = cuda_type(ab), dtt = cuda_type(dt);
  LtDescs ds;
  CUBLAS_CHECK(cublasLtMatmulDescCreate(&ds.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(ds.op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)));
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(ds.op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)));
  // Layouts describe the stored matrices (before op): A is m×k or k×m, B is k×n or n×k.
  const bool a_n = ta == CUBLAS_OP_N, b_n = tb == CUBLAS_OP_N;
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&ds.a, abt, a_n ? m : k, a_n ? k : m, lda));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&ds.b, abt, b_n ? k : n, b_n ? n : k, ldb));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&ds.d, dtt, m, n, ldd));

  const int64_t al_a = alignment_of(A), al_b = alignment_of(B), al_d = alignment_of(D);
  const LtKey key = {m, n, k, ta, tb, static_cast<int64_t>(ab), static_cast<int64_t>(dt), al_a, al_b, al_d,
                     beta != 0.0f, lda * 1000003 + ldb * 1009 + ldd};
  auto it = s.lt_algos.find(key);
  if (it == s.lt_algos.end()) {
    CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&ds.pref));
    const uint64_t ws = s.workspace_bytes;
    const uint32_t ua = static_cast<uint32_t>(al_a), ub = static_cast<uint32_t>(al_b),
                   ud = static_cast<uint32_t>(al_d);
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(ds.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(ds.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &ua, sizeof(ua)));
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(ds.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &ub, sizeof(ub)));
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(ds.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &ud, sizeof(ud)));
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(ds.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &ud, sizeof(ud)));
    cublasLtMatmulHeuristicResult_t result;
    std::memset(&result, 0, sizeof(result));
    int found = 0;
    const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(s.blas_lt, ds.op, ds.a, ds.b, ds.d, ds.d, ds.pref, 1,
                                                             &result, &found);
    LtChoice choice;
    if (st == CUBLAS_STATUS_SUCCESS && found > 0 && result.state == CUBLAS_STATUS_SUCCESS) {
      choice.found = true;
      choice.algo = result.algo;
    }
    it = s.lt_algos.emplace(key, choice).first;
  }

  if (it->second.found) {
    const cublasStatus_t st = cublasLtMatmul(s.blas_lt, ds.op, &alpha, A, ds.a, B, ds.b, &beta, D, ds.d, D, ds.d,
                                             &it->second.algo, s.workspace, s.workspace_bytes, s.stream);
    if (st != CUBLAS_STATUS_NOT_SUPPORTED) {
      CUBLAS_CHECK(st);
      return;
    }
    it->second.found = false;  // the heuristic's pick refused these operands: use the classic API from now on
  }
  // No cuBLASLt algorithm for this combination (unusual alignment or shape): the classic API
  // computes the same product with the same types.
  SPOT_CHECK(m <= INT_MAX && n <= INT_MAX && k <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX && ldd <= INT_MAX,
             op_name << ": GEMM " << m << "x" << n << "x" << k << " too large for the cublasGemmEx fallback");
  CUBLAS_CHECK(cublasGemmEx(s.blas, ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), &alpha, A,
                            abt, static_cast<int>(lda), B, abt, static_cast<int>(ldb), &beta, D, dtt,
                            static_cast<int>(ldd), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

// A product over an empty K is zero: D = 0 (overwrite) or unchanged (accumulate).
void zero_or_keep(CudaState& s, Tensor& out, bool accumulate) {
  if (!accumulate) CUDA_CHECK(cudaMemsetAsync(out.raw(), 0, out.nbytes(), s.stream));
}

}  // namespace

void linear_forward(Context& ctx, const Tensor& x, const Tensor& w, Tensor& y, bool accumulate) {
  const int64_t n = x.dim(0), k = x.dim(1), m = w.dim(0);
  if (n == 0 || m == 0) return;
  CudaState& s = state_of(ctx);
  if (k == 0) return zero_or_keep(s, y, accumulate);
  SPOT_CHECK(x.dtype() == w.dtype(), "cuda linear_forward: x " << x.str() << " and w " << w.str() << " differ in dtype");
  gemm(s, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, w.raw(), k, x.raw(), k, x.dtype(), y.raw(), m, y.dtype(),
       accumulate ? 1.0f : 0.0f, "linear_forward");
}

void linear_backward_input(Context& ctx, const Tensor& dy, const Tensor& w, Tensor& dx, bool accumulate) {
  const int64_t n = dy.dim(0), m = dy.dim(1), k = w.dim(1);
  if (n == 0 || k == 0) return;
  CudaState& s = state_of(ctx);
  if (m == 0) return zero_or_keep(s, dx, accumulate);
  SPOT_CHECK(dy.dtype() == w.dtype(),
             "cuda linear_backward_input: dy " << dy.str() << " and w " << w.str() << " differ in dtype");
  gemm(s, CUBLAS_OP_N, CUBLAS_OP_N, k, n, m, w.raw(), k, dy.raw(), m, dy.dtype(), dx.raw(), k, dx.dtype(),
       accumulate ? 1.0f : 0.0f, "linear_backward_input");
}

}  // namespace spot::cuda
