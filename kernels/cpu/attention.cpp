// cpu/attention.cpp — attention with additive bias, masks and GQA on the CPU.
// Reference: direct loops over (b, h, i, j) in fp64. Fast: per-(b, h) GEMMs (kernels/gemm.h) on strided
// views of the [B, T, H, Dh] layouts, softmax in between; OpenMP over (b, h) (oneDNN's sgemm runs
// single-threaded inside the parallel region).

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/gemm.h"

namespace spot::cpu {

namespace {

struct Dims {
  int64_t b, tq, tk, h, hkv, dh, group;
};

Dims dims_of(const AttentionConfig& cfg, const Tensor& q, const Tensor& k) {
  return {q.dim(0), q.dim(1), k.dim(1), cfg.n_heads, cfg.n_kv_heads, cfg.d_head, cfg.n_heads / cfg.n_kv_heads};
}

inline bool visible(const AttentionConfig& cfg, const int32_t* mask_b, int64_t tq, int64_t tk, int64_t i, int64_t j) {
  if (mask_b && mask_b[j] == 0) return false;
  if (cfg.causal && j > i + (tk - tq)) return false;
  return true;
}

}  // namespace

void attention_forward_ref(const AttentionConfig& cfg, const Tensor& q, const Tensor& k, const Tensor& v,
                           const Tensor& bias, const Tensor& key_mask, Tensor& out, Tensor& probs) {
  const Dims D = dims_of(cfg, q, k);
  std::vector<double> s(D.tk);
  for (int64_t b = 0; b < D.b; ++b)
    for (int64_t h = 0; h < D.h; ++h) {
      const int64_t hk = h / D.group;
      const int32_t* mask_b = key_mask.defined() ? key_mask.i32() + b * D.tk : nullptr;
      for (int64_t i = 0; i < D.tq; ++i) {
        const float* qi = q.f32() + ((b * D.tq + i) * D.h + h) * D.dh;
        double mx = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < D.tk; ++j) {
          if (!visible(cfg, mask_b, D.tq, D.tk, i, j)) continue;
          const float* kj = k.f32() + ((b * D.tk + j) * D.hkv + hk) * D.dh;
          double acc = 0;
          for (int64_t d = 0; d < D.dh; ++d) acc += static_cast<double>(qi[d]) * kj[d];
          s[j] = cfg.scale * acc + (bias.defined() ? bias.f32()[(h * D.tq + i) * D.tk + j] : 0.0);
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j < D.tk; ++j)
          if (visible(cfg, mask_b, D.tq, D.tk, i, j)) sum += std::exp(s[j] - mx);
        float* pi = probs.f32() + ((b * D.h + h) * D.tq + i) * D.tk;
        for (int64_t j = 0; j < D.tk; ++j)
          pi[j] = visible(cfg, mask_b, D.tq, D.tk, i, j) ? static_cast<float>(std::exp(s[j] - mx) / sum) : 0.0f;
        float* oi = out.f32() + ((b * D.tq + i) * D.h + h) * D.dh;
        for (int64_t d = 0; d < D.dh; ++d) {
          double acc = 0;
          for (int64_t j = 0; j < D.tk; ++j) {
            const double p = visible(cfg, mask_b, D.tq, D.tk, i, j) ? std::exp(s[j] - mx) / sum : 0.0;
            acc += p * v.f32()[((b * D.tk + j) * D.hkv + hk) * D.dh + d];
          }
          oi[d] = static_cast<float>(acc);
        }
      }
    }
}

void attention_forward_fast(const AttentionConfig& cfg, const Tensor& q, const Tensor& k, const Tensor& v,
                            const Tensor& bias, const Tensor& key_mask, Tensor& out, Tensor& probs) {
  const Dims D = dims_of(cfg, q, k);
  const int64_t ldq = D.h * D.dh, ldk = D.hkv * D.dh;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < D.b; ++b)
    for (int64_t h = 0; h < D.h; ++h) {
      const int64_t hk = h / D.group;
      const float* Q = q.f32() + b * D.tq * ldq + h * D.dh;
      const float* K = k.f32() + b * D.tk * ldk + hk * D.dh;
      const float* V = v.f32() + b * D.tk * ldk + hk * D.dh;
      float* P = probs.f32() + (b * D.h + h) * D.tq * D.tk;
      float* O = out.f32() + b * D.tq * ldq + h * D.dh;
      const int32_t* mask_b = key_mask.defined() ? key_mask.i32() + b * D.tk : nullptr;
      // P = scale · Q Kᵀ   [Tq, Tk]
      gemm_f32(false, true, D.tq, D.tk, D.dh, cfg.scale, Q, ldq, K, ldk, 0.0f, P, D.tk);
      const float* B = bias.defined() ? bias.f32() + h * D.tq * D.tk : nullptr;
      for (int64_t i = 0; i < D.tq; ++i) {
        float* pi = P + i * D.tk;
        const int64_t jmax = cfg.causal ? std::min(D.tk, i + (D.tk - D.tq) + 1) : D.tk;  // exclusive
        float mx = -std::numeric_limits<float>::infinity();
        for (int64_t j = 0; j < jmax; ++j) {
          if (B) pi[j] += B[i * D.tk + j];
          if (mask_b && mask_b[j] == 0) continue;
          mx = std::max(mx, pi[j]);
        }
        float sum = 0;
        for (int64_t j = 0; j < jmax; ++j) {
          const float e = (mask_b && mask_b[j] == 0) ? 0.0f : std::exp(pi[j] - mx);
          pi[j] = e;
          sum += e;
        }
        const float inv = sum > 0 ? 1.0f / sum : 0.0f;
        for (int64_t j = 0; j < jmax; ++j) pi[j] *= inv;
        for (int64_t j = jmax; j < D.tk; ++j) pi[j] = 0.0f;
      }
      // O = P V   [Tq, Dh]
      gemm_f32(false, false, D.tq, D.dh, D.tk, 1.0f, P, D.tk, V, ldk, 0.0f, O, ldq);
    }
}

// Reference backward: full dQ, dK, dV in fp64, then (for prompt rows) the rows are extracted.
void attention_backward_ref(const AttentionConfig& cfg, const Tensor& d_out, const Tensor& q, const Tensor& k,
                            const Tensor& v, const Tensor& probs, Tensor* dq, Tensor* dk, Tensor* dv,
                            const PromptRows* rows) {
  const Dims D = dims_of(cfg, q, k);
  std::vector<double> gq(D.b * D.tq * D.h * D.dh, 0.0), gk(D.b * D.tk * D.hkv * D.dh, 0.0),
      gv(D.b * D.tk * D.hkv * D.dh, 0.0), dp(D.tk);
  for (int64_t b = 0; b < D.b; ++b)
    for (int64_t h = 0; h < D.h; ++h) {
      const int64_t hk = h / D.group;
      for (int64_t i = 0; i < D.tq; ++i) {
        const float* doi = d_out.f32() + ((b * D.tq + i) * D.h + h) * D.dh;
        const float* pi = probs.f32() + ((b * D.h + h) * D.tq + i) * D.tk;
        double rowdot = 0;
        for (int64_t j = 0; j < D.tk; ++j) {
          double acc = 0;
          for (int64_t d = 0; d < D.dh; ++d) acc += static_cast<double>(doi[d]) * v.f32()[((b * D.tk + j) * D.hkv + hk) * D.dh + d];
          dp[j] = acc;
          rowdot += pi[j] * acc;
        }
        for (int64_t j = 0; j < D.tk; ++j) {
          const double ds = pi[j] * (dp[j] - rowdot);
          const float* kj = k.f32() + ((b * D.tk + j) * D.hkv + hk) * D.dh;
          const float* qi = q.f32() + ((b * D.tq + i) * D.h + h) * D.dh;
          for (int64_t d = 0; d < D.dh; ++d) {
            gq[((b * D.tq + i) * D.h + h) * D.dh + d] += cfg.scale * ds * kj[d];
            gk[((b * D.tk + j) * D.hkv + hk) * D.dh + d] += cfg.scale * ds * qi[d];
            gv[((b * D.tk + j) * D.hkv + hk) * D.dh + d] += static_cast<double>(pi[j]) * doi[d];
          }
        }
      }
    }
  // Copy out (all rows, or each example's prompt rows).
  auto emit = [&](const std::vector<double>& g, Tensor* dst, int64_t t, int64_t heads) {
    if (!dst) return;
    const int64_t row = heads * D.dh;
    const int64_t n_rows = rows ? rows->prompt_len : t;
    for (int64_t b = 0; b < D.b; ++b) {
      const int64_t start = rows ? rows->positions.i32()[b] : 0;
      for (int64_t r = 0; r < n_rows; ++r)
        for (int64_t c = 0; c < row; ++c)
          dst->f32()[(b * n_rows + r) * row + c] = static_cast<float>(g[(b * t + start + r) * row + c]);
    }
  };
  emit(gq, dq, D.tq, D.h);
  emit(gk, dk, D.tk, D.hkv);
  emit(gv, dv, D.tk, D.hkv);
}

void attention_backward_fast(const AttentionConfig& cfg, const Tensor& d_out, const Tensor& q, const Tensor& k,
                             const Tensor& v, const Tensor& probs, Tensor* dq, Tensor* dk, Tensor* dv,
                             const PromptRows* rows) {
  const Dims D = dims_of(cfg, q, k);
  const int64_t ldq = D.h * D.dh, ldk = D.hkv * D.dh;
  const int64_t nq = rows ? rows->prompt_len : D.tq;  // rows of dq per example
  const int64_t nk = rows ? rows->prompt_len : D.tk;  // rows of dk/dv per example
  // One task per (example, kv head): the group's heads accumulate into the same dK/dV rows in a
  // fixed order, so results are deterministic and race-free.
#pragma omp parallel
  {
    std::vector<float> ds(D.tq * D.tk);
#pragma omp for collapse(2) schedule(static)
    for (int64_t b = 0; b < D.b; ++b)
      for (int64_t hk = 0; hk < D.hkv; ++hk) {
        const int64_t p0 = rows ? rows->positions.i32()[b] : 0;
        const float* K = k.f32() + b * D.tk * ldk + hk * D.dh;
        const float* V = v.f32() + b * D.tk * ldk + hk * D.dh;
        for (int64_t g = 0; g < D.group; ++g) {
          const int64_t h = hk * D.group + g;
          const float beta = g == 0 ? 0.0f : 1.0f;
          const float* Q = q.f32() + b * D.tq * ldq + h * D.dh;
          const float* dO = d_out.f32() + b * D.tq * ldq + h * D.dh;
          const float* P = probs.f32() + (b * D.h + h) * D.tq * D.tk;
          // dV[rows] (+)= P[:, rows]ᵀ dO
          if (dv)
            gemm_f32(true, false, nk, D.dh, D.tq, 1.0f, P + p0, D.tk, dO, ldq, beta,
                        dv->f32() + b * nk * ldk + hk * D.dh, ldk);
          if (!dq && !dk) continue;
          // dP = dO Vᵀ  [Tq, Tk], then dS = P ⊙ (dP − rowsum(P ⊙ dP))
          gemm_f32(false, true, D.tq, D.tk, D.dh, 1.0f, dO, ldq, V, ldk, 0.0f,
                      ds.data(), D.tk);
          for (int64_t i = 0; i < D.tq; ++i) {
            float* dsi = ds.data() + i * D.tk;
            const float* pi = P + i * D.tk;
            float rowdot = 0;
            for (int64_t j = 0; j < D.tk; ++j) rowdot += pi[j] * dsi[j];
            for (int64_t j = 0; j < D.tk; ++j) dsi[j] = pi[j] * (dsi[j] - rowdot);
          }
          // dQ[rows] = scale · dS[rows, :] K
          if (dq)
            gemm_f32(false, false, nq, D.dh, D.tk, cfg.scale, ds.data() + p0 * D.tk,
                        D.tk, K, ldk, 0.0f, dq->f32() + b * nq * ldq + h * D.dh, ldq);
          // dK[rows] (+)= scale · dS[:, rows]ᵀ Q
          if (dk)
            gemm_f32(true, false, nk, D.dh, D.tq, cfg.scale, ds.data() + p0, D.tk, Q,
                        ldq, beta, dk->f32() + b * nk * ldk + hk * D.dh, ldk);
        }
      }
  }
}

void relative_position_bias_ref(const Tensor& table, const Tensor& buckets, Tensor& out) {
  const int64_t h = table.dim(1), tq = buckets.dim(0), tk = buckets.dim(1);
  for (int64_t hh = 0; hh < h; ++hh)
    for (int64_t i = 0; i < tq * tk; ++i) out.f32()[hh * tq * tk + i] = table.f32()[buckets.i32()[i] * h + hh];
}

void relative_position_bias_fast(const Tensor& table, const Tensor& buckets, Tensor& out) {
  relative_position_bias_ref(table, buckets, out);  // a gather: nothing to optimise at these sizes
}

}  // namespace spot::cpu
