// cpu/linear.cpp — linear forward and input-backward on the CPU: reference loops and the GEMM provider
// (kernels/gemm.h). A one-row forward (a decode step) is a matrix-vector product that streams W from
// memory once: oneDNN's m = 1 GEMM reached 81% of OpenBLAS's sgemv rate on SmolLM2's tied head
// [49152, 576] and decoding lost 14%, so it runs here (8 rows at a time, AVX-512), 1.24x OpenBLAS's
// sgemv on that head (one thread, AMD Zen 5).
//
// bf16 weights (--precision bf16): the f32 activation is rounded to bf16 (round to nearest even) and
// the product runs as a bf16 GEMM with fp32 accumulation into the f32 output. The reference computes
// exactly that in fp64: the same rounded inputs, exact products, one final rounding.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "base/dtype.h"
#include "kernels/cpu/cpu_ops.h"
#include "kernels/gemm.h"

namespace spot::cpu {

namespace {

// Element p of a row-major f32 or bf16 matrix, as the GEMM reads it: bf16 as stored; an f32
// activation multiplied by bf16 weights rounded to bf16 first.
struct Reader {
  const float* f = nullptr;
  const uint16_t* h = nullptr;
  bool round = false;
  Reader(const Tensor& t, bool round_to_bf16) {
    if (t.dtype() == DType::BF16) h = t.data<uint16_t>();
    else f = t.f32();
    round = round_to_bf16;
  }
  double operator[](int64_t i) const {
    if (h) return bf16_to_f32(h[i]);
    return round ? bf16_to_f32(f32_to_bf16(f[i])) : f[i];
  }
};

// x rounded to bf16 (RNE), 32 at a time with AVX-512 BF16 where the CPU has it.
__attribute__((target("avx512f,avx512bf16,avx512vl"))) void round_bf16_avx512(const float* x, uint16_t* out,
                                                                               int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
    _mm512_storeu_si512(out + i, reinterpret_cast<__m512i>(v));
  }
  for (; i < n; ++i) out[i] = f32_to_bf16(x[i]);
}

// The activation as bf16: as stored, or rounded into `scratch` (per call: the GEMM that follows
// reads it ~n_out times, so one pass over it costs ~1/n_out of the product).
const uint16_t* activation_bf16(const Tensor& a, std::vector<uint16_t>& scratch) {
  if (a.dtype() == DType::BF16) return a.data<uint16_t>();
  const int64_t n = a.numel();
  scratch.resize(static_cast<size_t>(n));
  const float* x = a.f32();
  uint16_t* out = scratch.data();
  const bool fast = cpu_features().avx512_core() && cpu_features().avx512_bf16;
  constexpr int64_t kChunk = 1 << 16;
#pragma omp parallel for schedule(static) if (n > 4 * kChunk)
  for (int64_t c = 0; c < n; c += kChunk) {
    const int64_t len = std::min(kChunk, n - c);
    if (fast) {
      round_bf16_avx512(x + c, out + c, len);
    } else {
      for (int64_t i = 0; i < len; ++i) out[c + i] = f32_to_bf16(x[c + i]);
    }
  }
  return out;
}

// y[r] = W[r, :] · x for `rows` (≤ 8) rows of W (row stride ldw); W f32, or bf16 widened exactly (a
// shift) — x is then already rounded to bf16, so every product is exact and the sum is fp32, as in
// the bf16 GEMM. Eight independent accumulators keep eight row streams in flight.
template <bool kBf16>
__attribute__((target("avx512f"))) inline __m512 load_row16(const void* W, int64_t i) {
  if constexpr (kBf16) {
    const uint16_t* w = static_cast<const uint16_t*>(W) + i;
    return _mm512_castsi512_ps(
        _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w))), 16));
  } else {
    return _mm512_loadu_ps(static_cast<const float*>(W) + i);
  }
}

template <bool kBf16>
__attribute__((target("avx512f"))) void gemv_rows8(int64_t k, const void* W, int64_t ldw, const float* x, float* y,
                                                   int rows, bool accumulate) {
  __m512 acc[8];
  for (int r = 0; r < 8; ++r) acc[r] = _mm512_setzero_ps();
  int64_t p = 0;
  if (rows == 8) {
    for (; p + 16 <= k; p += 16) {
      const __m512 xv = _mm512_loadu_ps(x + p);
      for (int r = 0; r < 8; ++r) acc[r] = _mm512_fmadd_ps(load_row16<kBf16>(W, r * ldw + p), xv, acc[r]);
    }
  }
  for (int r = 0; r < rows; ++r) {
    float t = _mm512_reduce_add_ps(acc[r]);
    for (int64_t q = p; q < k; ++q) {
      const float w = kBf16 ? bf16_to_f32(static_cast<const uint16_t*>(W)[r * ldw + q])
                            : static_cast<const float*>(W)[r * ldw + q];
      t += w * x[q];
    }
    y[r] = accumulate ? y[r] + t : t;
  }
}

// y = W x for W [m, k] (f32 or bf16) and one f32 row x (rounded to bf16 first for bf16 W).
void gemv_forward(const Tensor& x, const Tensor& w, Tensor& y, bool accumulate) {
  const int64_t k = x.dim(1), m = w.dim(0);
  const bool bf16 = w.dtype() == DType::BF16;
  std::vector<float> xr;
  const float* X = x.f32();
  if (bf16) {
    xr.resize(static_cast<size_t>(k));
    for (int64_t p = 0; p < k; ++p) xr[p] = bf16_to_f32(f32_to_bf16(X[p]));
    X = xr.data();
  }
  const size_t esize = bf16 ? 2 : 4;
  const char* W = static_cast<const char*>(w.raw());
  float* Y = y.f32();
  const int64_t blocks = (m + 7) / 8;
#pragma omp parallel for schedule(static) if (m * k > (1 << 17))
  for (int64_t b = 0; b < blocks; ++b) {
    const int rows = static_cast<int>(std::min<int64_t>(8, m - 8 * b));
    const void* Wb = W + static_cast<size_t>(8 * b * k) * esize;
    if (bf16) gemv_rows8<true>(k, Wb, k, X, Y + 8 * b, rows, accumulate);
    else gemv_rows8<false>(k, Wb, k, X, Y + 8 * b, rows, accumulate);
  }
}

}  // namespace

void linear_forward_ref(const Tensor& x, const Tensor& w, Tensor& y, bool accumulate) {
  const int64_t n = x.dim(0), k = x.dim(1), m = w.dim(0);
  const bool bf16 = w.dtype() == DType::BF16;
  const Reader X(x, bf16), W(w, false);
  float* Y = y.f32();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < k; ++p) acc += X[i * k + p] * W[j * k + p];
      Y[i * m + j] = static_cast<float>(accumulate ? Y[i * m + j] + acc : acc);
    }
}

void linear_forward_fast(const Tensor& x, const Tensor& w, Tensor& y, bool accumulate) {
  const int64_t n = x.dim(0), k = x.dim(1), m = w.dim(0);
  if (n == 0 || m == 0) return;
  if (n == 1 && x.dtype() == DType::F32 && cpu_features().avx512f) return gemv_forward(x, w, y, accumulate);
  if (w.dtype() == DType::BF16) {
    std::vector<uint16_t> scratch;
    gemm_bf16(false, true, n, m, k, 1.0f, activation_bf16(x, scratch), k, w.data<uint16_t>(), k,
              accumulate ? 1.0f : 0.0f, y.f32(), m);
    return;
  }
  gemm_f32(false, true, n, m, k, 1.0f, x.f32(), k, w.f32(), k, accumulate ? 1.0f : 0.0f, y.f32(), m);
}

void linear_backward_input_ref(const Tensor& dy, const Tensor& w, Tensor& dx, bool accumulate) {
  const int64_t n = dy.dim(0), m = dy.dim(1), k = w.dim(1);
  const bool bf16 = w.dtype() == DType::BF16;
  const Reader DY(dy, bf16), W(w, false);
  float* DX = dx.f32();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < k; ++p) {
      double acc = 0;
      for (int64_t j = 0; j < m; ++j) acc += DY[i * m + j] * W[j * k + p];
      DX[i * k + p] = static_cast<float>(accumulate ? DX[i * k + p] + acc : acc);
    }
}

void linear_backward_input_fast(const Tensor& dy, const Tensor& w, Tensor& dx, bool accumulate) {
  const int64_t n = dy.dim(0), m = dy.dim(1), k = w.dim(1);
  if (n == 0 || k == 0) return;
  if (w.dtype() == DType::BF16) {
    std::vector<uint16_t> scratch;
    gemm_bf16(false, false, n, k, m, 1.0f, activation_bf16(dy, scratch), m, w.data<uint16_t>(), k,
              accumulate ? 1.0f : 0.0f, dx.f32(), k);
    return;
  }
  gemm_f32(false, false, n, k, m, 1.0f, dy.f32(), m, w.f32(), k, accumulate ? 1.0f : 0.0f, dx.f32(), k);
}

}  // namespace spot::cpu
