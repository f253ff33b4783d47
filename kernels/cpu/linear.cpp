// cpu/linear.cpp — linear forward and input-backward on the CPU: reference loops and the GEMM provider
// (kernels/gemm.h). A one-row forward (a decode step) is a GEMM with m = 1 too: oneDNN streams W once
// for it (OpenBLAS's sgemm packed all of W first, which is why this used to call sgemv).
#include "kernels/cpu/cpu_ops.h"
#include "kernels/gemm.h"

namespace spot::cpu {

void linear_forward_ref(const Tensor& x, const Tensor& w, Tensor& y, bool accumulate) {
  const int64_t n = x.dim(0), k = x.dim(1), m = w.dim(0);
  const float* X = x.f32();
  const float* W = w.f32();
  float* Y = y.f32();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < k; ++p) acc += static_cast<double>(X[i * k + p]) * W[j * k + p];
      Y[i * m + j] = static_cast<float>(accumulate ? Y[i * m + j] + acc : acc);
    }
}

void linear_forward_fast(const Tensor& x, const Tensor& w, Tensor& y, bool accumulate) {
  const int64_t n = x.dim(0), k = x.dim(1), m = w.dim(0);
  if (n == 0 || m == 0) return;
  gemm_f32(false, true, n, m, k, 1.0f, x.f32(), k, w.f32(), k,
           accumulate ? 1.0f : 0.0f, y.f32(), m);
}

void linear_backward_input_ref(const Tensor& dy, const Tensor& w, Tensor& dx, bool accumulate) {
  const int64_t n = dy.dim(0), m = dy.dim(1), k = w.dim(1);
  const float* DY = dy.f32();
  const float* W = w.f32();
  float* DX = dx.f32();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < k; ++p) {
      double acc = 0;
      for (int64_t j = 0; j < m; ++j) acc += static_cast<double>(DY[i * m + j]) * W[j * k + p];
      DX[i * k + p] = static_cast<float>(accumulate ? DX[i * k + p] + acc : acc);
    }
}

void linear_backward_input_fast(const Tensor& dy, const Tensor& w, Tensor& dx, bool accumulate) {
  const int64_t n = dy.dim(0), m = dy.dim(1), k = w.dim(1);
  if (n == 0 || k == 0) return;
  gemm_f32(false, false, n, k, m, 1.0f, dy.f32(), m, w.f32(), k,
              accumulate ? 1.0f : 0.0f, dx.f32(), k);
}

}  // namespace spot::cpu
