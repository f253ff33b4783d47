// cuda/attention.cu — multi-head attention with additive bias, key mask, causal mask and GQA,
// forward and backward to Q/K/V (attention.h), and T5's relative-position bias gather.
//
// Layouts (attention.h): q, d_out, out [B, Tq, H, Dh]; k, v [B, Tk, Hkv, Dh]; bias [H, Tq, Tk];
// key_mask [B, Tk] i32; probs, and the dS workspace, [B, H, Tq, Tk]. Head h reads kv head
// h / (H / Hkv). Causal: query i sees key j iff j <= i + (Tk − Tq).
//
// Three kernels, all fp32 on CUDA cores, 256 threads (8 warps), no atomics (deterministic):
//  1. scores_kernel — one block per (b, h, tile of R query rows). The tile's A rows (Q, or dO in
//     the backward) sit in shared memory; key rows (K, or V) stream through shared memory 32 at a
//     time, lane l of every warp owning key j0+l and warp w owning rows w, w+8, … (RPW = R/8 rows).
//     The R×Tk scores stay in shared memory when they fit (else in the output rows themselves),
//     then one warp per row finishes:
//       forward:  probs = softmax(scale·QKᵀ + bias) over visible keys (0 elsewhere; 0 for a row
//                 with no visible key), written to probs.
//       backward: dP = dO·Vᵀ, dS = P ⊙ (dP − Σ_j P⊙dP), written to the workspace.
//  2. rows_accumulate_kernel — out[b, i, h, :] = α·Σ_j S[b,h,i,j]·Y[b,j,h/G,:] per (b, h, row
//     tile): forward O = P·V (α = 1) and dQ = scale·dS·K. Chunks of 32 keys: the Y rows and the
//     R×32 block of S are staged in shared memory; each thread owns R·Dh/256 outputs.
//  3. cols_accumulate_kernel — out[b, j, hk, :] = α·Σ_{h in group hk} Σ_i S[b,h,i,j]·X[b,i,h,:]
//     per (b, kv head, tile of R keys): dK = scale·Σ dSᵀ·Q and dV = Σ Pᵀ·dO. The group's heads and
//     the query rows are summed in a fixed order, so GQA gradients are deterministic.
// Causal tiles skip the key chunks (query chunks in 3) that are invisible to every row of the tile.
// The prompt-rows backward (PromptRows) restricts kernels 2 and 3 to each example's rows
// [pos_b, pos_b + L) (and kernel 1 too when dK is not needed); positions are not validated on the
// host, so an example whose rows fall outside the sequence gets NaN gradients instead of a crash.
// See kernels/cuda/README.md for FLOPs, bytes and expected H100 throughput, and
// bench/dev/attention.cu for the variants and the block-size sweep.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "kernels/cuda/attention_tuning.h"
#include "base/cuda/cuda_common.cuh"
#include "kernels/cuda/cuda_ops.h"

namespace spot::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / kWarp;  // 8
constexpr int kChunk = 32;                // keys (or queries) per shared-memory chunk: one per lane
constexpr int kPsLd = kChunk + 1;         // padded row of the staged S block (conflict-free transposed stores)
constexpr int64_t kMaxHeadDim = 256;
constexpr int kMaxOutputsPerThread = 16;  // R·Dh <= 16·256 for the accumulate kernels

template <int N>
using IC = std::integral_constant<int, N>;

__host__ __device__ __forceinline__ int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
__host__ __device__ __forceinline__ int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

// Odd leading dimension for chunks of Dh-wide rows: lanes reading row `lane` at the same column hit
// 32 different banks.
__host__ __device__ inline int chunk_ld(int dh) { return dh | 1; }

// dst[r·ld + d] = X[b, row0 + r, hx, d] for r < n; 0 for n <= r < count. X is [B, T, heads, Dh].
__device__ __forceinline__ void load_rows(float* dst, int ld, const float* __restrict__ X, int64_t b, int64_t T,
                                          int64_t heads, int64_t hx, int dh, int64_t row0, int n, int count) {
  for (int idx = threadIdx.x; idx < count * dh; idx += blockDim.x) {
    const int r = idx / dh, d = idx - r * dh;
    dst[r * ld + d] = r < n ? X[((b * T + row0 + r) * heads + hx) * dh + d] : 0.0f;
  }
}

// ---------------------------------------------------------------- 1. scores (+ softmax | dS)

struct ScoresParams {
  const float* a;             // [B, Tq, H, Dh]: q (forward) or d_out (backward)
  const float* kv;            // [B, Tk, Hkv, Dh]: k (forward) or v (backward)
  const float* bias;          // [H, Tq, Tk] or null (forward only)
  const int32_t* mask;        // [B, Tk] or null (forward only)
  const float* probs;         // [B, H, Tq, Tk]: P (backward only)
  float* out;                 // [B, H, Tq, Tk]: probs (forward) or dS (backward)
  const int32_t* positions;   // [B] or null: rows [pos_b, pos_b + n_rows) instead of [0, Tq)
  int64_t Tq, Tk, H, Hkv, group, n_rows, tiles;
  int dh;
  float scale;
  bool causal;
  bool smem_scores;  // scores of the tile in shared memory (else in `out`)
};

template <int RPW, bool kBackward>
__global__ void __launch_bounds__(kThreads) scores_kernel(const ScoresParams p) {
  constexpr int R = kWarps * RPW;
  extern __shared__ float smem[];
  const int ldb = chunk_ld(p.dh);
  float* As = smem;             // [R, Dh]
  float* Bs = As + R * p.dh;    // [32, ldb]
  float* Ss = Bs + kChunk * ldb;  // [R, Tk] when smem_scores
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;

  const int64_t tile = blockIdx.x % p.tiles, bh = blockIdx.x / p.tiles;
  const int64_t h = bh % p.H, b = bh / p.H, hk = h / p.group;
  const int64_t off = p.positions ? p.positions[b] : 0;
  if (off < 0 || off + p.n_rows > p.Tq) return;  // invalid prompt rows (block-uniform): kernel 2 writes NaN
  const int64_t row0 = off + tile * R;            // first query row of the tile
  const int nrows = static_cast<int>(min64(R, off + p.n_rows - row0));
  const int64_t shift = p.Tk - p.Tq;
  const int64_t jend_tile = p.causal ? min64(p.Tk, row0 + nrows + shift) : p.Tk;  // keys any row sees

  float* O = p.out + (bh * p.Tq + row0) * p.Tk;  // the tile's output rows, stride Tk
  float* S = p.smem_scores ? Ss : O;

  load_rows(As, p.dh, p.a, b, p.Tq, p.H, h, p.dh, row0, nrows, R);
  for (int64_t j0 = 0; j0 < jend_tile; j0 += kChunk) {
    __syncthreads();  // As loaded / previous chunk consumed
    load_rows(Bs, ldb, p.kv, b, p.Tk, p.Hkv, hk, p.dh, j0, static_cast<int>(min64(kChunk, p.Tk - j0)),
              kChunk);
    __syncthreads();
    float acc[RPW];
#pragma unroll
    for (int m = 0; m < RPW; ++m) acc[m] = 0.0f;
    const float* brow = Bs + lane * ldb;
#pragma unroll 4
    for (int d = 0; d < p.dh; ++d) {
      const float kd = brow[d];
#pragma unroll
      for (int m = 0; m < RPW; ++m) acc[m] += As[(warp + kWarps * m) * p.dh + d] * kd;
    }
    const int64_t j = j0 + lane;
    if (j < jend_tile) {
#pragma unroll
      for (int m = 0; m < RPW; ++m) {
        const int r = warp + kWarps * m;
        if (r < nrows) {
          float s = acc[m];
          if (!kBackward) s = p.scale * s + (p.bias ? p.bias[(h * p.Tq + row0 + r) * p.Tk + j] : 0.0f);
          S[r * p.Tk + j] = s;
        }
      }
    }
  }
  __syncthreads();

  // One warp per row. Each lane reads and writes only its own columns, so in-place (S == O) is safe.
#pragma unroll
  for (int m = 0; m < RPW; ++m) {
    const int r = warp + kWarps * m;
    if (r >= nrows) continue;  // warp-uniform
    const int64_t i = row0 + r;
    const int64_t jend = p.causal ? min64(p.Tk, i + shift + 1) : p.Tk;
    const float* Sr = S + r * p.Tk;
    float* Or = O + r * p.Tk;
    if (!kBackward) {
      const int32_t* mb = p.mask ? p.mask + b * p.Tk : nullptr;
      float mx = -INFINITY;
      for (int64_t j = lane; j < jend; j += kWarp)
        if (!mb || mb[j] != 0) mx = fmaxf(mx, Sr[j]);
      mx = warp_max(mx);
      float sum = 0.0f;
      for (int64_t j = lane; j < jend; j += kWarp)
        if (!mb || mb[j] != 0) sum += expf(Sr[j] - mx);
      sum = warp_sum(sum);
      const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;  // no visible key: the row's probabilities are 0
      for (int64_t j = lane; j < p.Tk; j += kWarp) {
        float pj = 0.0f;
        if (j < jend && (!mb || mb[j] != 0)) pj = expf(Sr[j] - mx) * inv;
        Or[j] = pj;
      }
    } else {
      const float* Pr = p.probs + (bh * p.Tq + i) * p.Tk;
      float dot = 0.0f;
      for (int64_t j = lane; j < jend; j += kWarp) dot += Pr[j] * Sr[j];
      dot = warp_sum(dot);
      for (int64_t j = lane; j < p.Tk; j += kWarp) Or[j] = j < jend ? Pr[j] * (Sr[j] - dot) : 0.0f;
    }
  }
}

// ---------------------------------------------------------------- 2./3. accumulate kernels

// acc[m] += Σ_c Ps[rm[m]][c] · Bs[c][dm[m]] over one staged chunk.
template <int OUT>
__device__ __forceinline__ void chunk_fma(float (&acc)[OUT], const float* Ps, const float* Bs, int ldb,
                                          const int (&rm)[OUT], const int (&dm)[OUT]) {
#pragma unroll 4
  for (int c = 0; c < kChunk; ++c) {
    const float* brow = Bs + c * ldb;
#pragma unroll
    for (int m = 0; m < OUT; ++m) acc[m] += Ps[rm[m] * kPsLd + c] * brow[dm[m]];
  }
}

// Output (r, d) pairs of this thread: idx = tid + 256·m over the R×Dh tile; pairs past the tile
// compute on row 0 and are never written.
template <int OUT>
__device__ __forceinline__ void output_pairs(int R, int dh, int (&rm)[OUT], int (&dm)[OUT], bool (&live)[OUT]) {
#pragma unroll
  for (int m = 0; m < OUT; ++m) {
    const int idx = threadIdx.x + kThreads * m;
    live[m] = idx < R * dh;
    rm[m] = live[m] ? idx / dh : 0;
    dm[m] = live[m] ? idx - (idx / dh) * dh : 0;
  }
}

struct AccumParams {
  const float* s;            // [B, H, Tq, Tk]: probs or dS
  const float* y;            // rows: [B, Tk, Hkv, Dh] (v or k); cols: [B, Tq, H, Dh] (d_out or q)
  float* out;                // rows: [B, n_out, H, Dh]; cols: [B, n_out, Hkv, Dh]
  const int32_t* positions;  // [B] or null: output rows (rows kernel) / keys (cols kernel) from pos_b
  int64_t Tq, Tk, H, Hkv, group, n_out, tiles;
  int dh;
  float alpha;
  bool causal;
};

// out[b, r, h, :] = α·Σ_j S[b, h, off_b + r, j]·Y[b, j, h/G, :]
template <int RPW, int OUT>
__global__ void __launch_bounds__(kThreads) rows_accumulate_kernel(const AccumParams p) {
  constexpr int R = kWarps * RPW;
  extern __shared__ float smem[];
  const int ldb = chunk_ld(p.dh);
  float* Bs = smem;               // [32, ldb]: Y rows j0..j0+31
  float* Ps = Bs + kChunk * ldb;  // [R, 33]: S[row0 + r, j0 + c]

  const int64_t tile = blockIdx.x % p.tiles, bh = blockIdx.x / p.tiles;
  const int64_t h = bh % p.H, b = bh / p.H, hk = h / p.group;
  const int64_t off = p.positions ? p.positions[b] : 0;
  const bool valid = off >= 0 && off + p.n_out <= p.Tq;  // block-uniform
  const int64_t r0_out = tile * R;
  const int nrows = static_cast<int>(min64(R, p.n_out - r0_out));
  const int64_t row0 = off + r0_out;
  const int64_t shift = p.Tk - p.Tq;
  const int64_t jend_tile = p.causal ? min64(p.Tk, row0 + nrows + shift) : p.Tk;
  const float* Sb = p.s + (bh * p.Tq + row0) * p.Tk;

  int rm[OUT], dm[OUT];
  bool live[OUT];
  output_pairs<OUT>(R, p.dh, rm, dm, live);
  float acc[OUT];
#pragma unroll
  for (int m = 0; m < OUT; ++m) acc[m] = 0.0f;

  if (valid) {
    for (int64_t j0 = 0; j0 < jend_tile; j0 += kChunk) {
      __syncthreads();
      load_rows(Bs, ldb, p.y, b, p.Tk, p.Hkv, hk, p.dh, j0, static_cast<int>(min64(kChunk, p.Tk - j0)),
                kChunk);
      for (int idx = threadIdx.x; idx < R * kChunk; idx += kThreads) {
        const int r = idx / kChunk, c = idx % kChunk;
        const int64_t j = j0 + c;
        Ps[r * kPsLd + c] = (r < nrows && j < jend_tile) ? Sb[r * p.Tk + j] : 0.0f;
      }
      __syncthreads();
      chunk_fma<OUT>(acc, Ps, Bs, ldb, rm, dm);
    }
  }
#pragma unroll
  for (int m = 0; m < OUT; ++m)
    if (live[m] && rm[m] < nrows)
      p.out[((b * p.n_out + r0_out + rm[m]) * p.H + h) * p.dh + dm[m]] = valid ? p.alpha * acc[m] : NAN;
}

// out[b, c, hk, :] = α·Σ_{g < G} Σ_i S[b, hk·G + g, i, off_b + c]·X[b, i, hk·G + g, :]
template <int RPW, int OUT>
__global__ void __launch_bounds__(kThreads) cols_accumulate_kernel(const AccumParams p) {
  constexpr int R = kWarps * RPW;
  extern __shared__ float smem[];
  const int ldb = chunk_ld(p.dh);
  float* Bs = smem;               // [32, ldb]: X rows i0..i0+31
  float* Ps = Bs + kChunk * ldb;  // [R, 33]: S[i0 + c, col0 + r] (transposed)

  const int64_t tile = blockIdx.x % p.tiles, bhk = blockIdx.x / p.tiles;
  const int64_t hk = bhk % p.Hkv, b = bhk / p.Hkv;
  const int64_t off = p.positions ? p.positions[b] : 0;
  const bool valid = off >= 0 && off + p.n_out <= p.Tk;  // block-uniform
  const int64_t c0_out = tile * R;
  const int ncols = static_cast<int>(min64(R, p.n_out - c0_out));
  const int64_t col0 = off + c0_out;  // first key of the tile
  const int64_t shift = p.Tk - p.Tq;
  const int64_t ibeg = p.causal ? max64(0, col0 - shift) : 0;  // earlier rows see none

  int rm[OUT], dm[OUT];
  bool live[OUT];
  output_pairs<OUT>(R, p.dh, rm, dm, live);
  float acc[OUT];
#pragma unroll
  for (int m = 0; m < OUT; ++m) acc[m] = 0.0f;

  if (valid) {
    for (int64_t g = 0; g < p.group; ++g) {
      const int64_t h = hk * p.group + g;
      const float* Sh = p.s + (b * p.H + h) * p.Tq * p.Tk + col0;
      for (int64_t i0 = ibeg; i0 < p.Tq; i0 += kChunk) {
        __syncthreads();
        load_rows(Bs, ldb, p.y, b, p.Tq, p.H, h, p.dh, i0, static_cast<int>(min64(kChunk, p.Tq - i0)),
                  kChunk);
        for (int idx = threadIdx.x; idx < R * kChunk; idx += kThreads) {
          const int c = idx / R, r = idx % R;  // consecutive threads read consecutive keys of row i0 + c
          const int64_t i = i0 + c;
          Ps[r * kPsLd + c] = (r < ncols && i < p.Tq) ? Sh[i * p.Tk + r] : 0.0f;
        }
        __syncthreads();
        chunk_fma<OUT>(acc, Ps, Bs, ldb, rm, dm);
      }
    }
  }
#pragma unroll
  for (int m = 0; m < OUT; ++m)
    if (live[m] && rm[m] < ncols)
      p.out[((b * p.n_out + c0_out + rm[m]) * p.Hkv + hk) * p.dh + dm[m]] = valid ? p.alpha * acc[m] : NAN;
}

// ---------------------------------------------------------------- host side

__global__ void relative_position_bias_kernel(const float* __restrict__ table, const int32_t* __restrict__ buckets,
                                              float* __restrict__ out, int64_t n_buckets, int64_t H, int64_t tqk) {
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < H * tqk;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t h = idx / tqk, ij = idx - h * tqk;
    const int64_t bucket = buckets[ij];
    out[idx] = (bucket >= 0 && bucket < n_buckets) ? table[bucket * H + h] : NAN;
  }
}

struct Dims {
  int64_t B, Tq, Tk, H, Hkv, Dh, group;
};

Dims dims_of(const AttentionConfig& cfg, const Tensor& q, const Tensor& k) {
  return {q.dim(0), q.dim(1), k.dim(1), cfg.n_heads, cfg.n_kv_heads, cfg.d_head, cfg.n_heads / cfg.n_kv_heads};
}

// Smallest of 8/16/32 rows that covers `rows`, capped at `cap`.
int rows_per_block(int64_t rows, int cap) {
  int r = cap;
  while (r > 8 && r / 2 >= rows) r /= 2;
  return r;
}

unsigned grid_of(int64_t blocks, const char* what) {
  SPOT_CHECK(blocks <= INT_MAX, what << ": " << blocks << " blocks exceed the CUDA grid limit");
  return static_cast<unsigned>(blocks);
}

void set_smem(const void* kernel, size_t bytes, const CudaState& s, const char* what) {
  SPOT_CHECK(bytes <= static_cast<size_t>(s.max_smem_optin),
             what << ": needs " << bytes << " bytes of shared memory, the device allows " << s.max_smem_optin);
  if (bytes > 48 * 1024)
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
}

template <class F>
void with_rpw(int R, F&& f) {
  switch (R) {
    case 8: f(IC<1>{}); return;
    case 16: f(IC<2>{}); return;
    case 32: f(IC<4>{}); return;
  }
  SPOT_FAIL("cuda attention: rows per block must be 8, 16 or 32 (got " << R << ")");
}

template <class F>
void with_out(int n, F&& f) {
  if (n <= 1) return f(IC<1>{});
  if (n <= 2) return f(IC<2>{});
  if (n <= 4) return f(IC<4>{});
  if (n <= 8) return f(IC<8>{});
  if (n <= kMaxOutputsPerThread) return f(IC<kMaxOutputsPerThread>{});
  SPOT_FAIL("cuda attention: " << n << " outputs per thread exceed " << kMaxOutputsPerThread);
}

// Kernel 1. n_rows/positions select the query rows (all of them unless a prompt-rows dS).
template <bool kBackward>
void launch_scores(CudaState& s, const Dims& D, const AttentionConfig& cfg, const float* a, const float* kv,
                   const float* bias, const int32_t* mask, const float* probs, float* out, const int32_t* positions,
                   int64_t n_rows, int rows_hint, bool allow_smem_scores) {
  if (D.B * D.H * n_rows == 0) return;
  int R = rows_hint ? rows_hint : rows_per_block(n_rows, 32);
  const size_t base = sizeof(float) * (static_cast<size_t>(R) * D.Dh + static_cast<size_t>(kChunk) * chunk_ld(D.Dh));
  auto smem_for = [&](int r, bool scores) {
    return sizeof(float) * (static_cast<size_t>(r) * D.Dh + static_cast<size_t>(kChunk) * chunk_ld(D.Dh) +
                            (scores ? static_cast<size_t>(r) * D.Tk : 0));
  };
  // Scores in shared memory when a tile of them fits (halving the rows per block down to 8 first);
  // otherwise the output rows hold them (any Tk).
  bool smem_scores = false;
  if (allow_smem_scores) {
    int r = R;
    while (r > 8 && smem_for(r, true) > static_cast<size_t>(s.max_smem_optin)) r /= 2;
    if (smem_for(r, true) <= static_cast<size_t>(s.max_smem_optin)) {
      smem_scores = true;
      R = r;
    }
  }
  const size_t smem = smem_scores ? smem_for(R, true) : base;
  ScoresParams p{a, kv, bias, mask, probs, out, positions, D.Tq, D.Tk, D.H, D.Hkv, D.group, n_rows,
                 (n_rows + R - 1) / R, static_cast<int>(D.Dh), cfg.scale, cfg.causal, smem_scores};
  const unsigned grid = grid_of(D.B * D.H * p.tiles, "attention scores");
  with_rpw(R, [&](auto rpw) {
    auto kernel = scores_kernel<decltype(rpw)::value, kBackward>;
    set_smem(reinterpret_cast<const void*>(kernel), smem, s, "attention scores");
    kernel<<<grid, kThreads, smem, s.stream>>>(p);
  });
  SPOT_LAUNCH_CHECK(s.stream);
}

// Kernels 2 (rows) and 3 (cols).
template <bool kCols>
void launch_accumulate(CudaState& s, const Dims& D, const AttentionConfig& cfg, const float* S, const float* y,
                       float* out, const int32_t* positions, int64_t n_out, float alpha, int rows_hint) {
  const int64_t heads = kCols ? D.Hkv : D.H;
  if (D.B * heads * n_out == 0) return;
  const int cap = D.Dh <= 128 ? 32 : 16;  // R·Dh <= 4096: at most 16 outputs per thread
  const int R = rows_hint ? std::min(rows_hint, cap) : rows_per_block(n_out, cap);
  const int n_per_thread = static_cast<int>((R * D.Dh + kThreads - 1) / kThreads);
  const size_t smem = sizeof(float) * (static_cast<size_t>(kChunk) * chunk_ld(D.Dh) + static_cast<size_t>(R) * kPsLd);
  AccumParams p{S, y, out, positions, D.Tq, D.Tk, D.H, D.Hkv, D.group, n_out, (n_out + R - 1) / R,
                static_cast<int>(D.Dh), alpha, cfg.causal};
  const unsigned grid = grid_of(D.B * heads * p.tiles, kCols ? "attention dK/dV" : "attention P·V / dQ");
  with_rpw(R, [&](auto rpw) {
    with_out(n_per_thread, [&](auto o) {
      constexpr int kRpw = decltype(rpw)::value, kOut = decltype(o)::value;
      void (*kernel)(AccumParams);
      if constexpr (kCols)
        kernel = cols_accumulate_kernel<kRpw, kOut>;
      else
        kernel = rows_accumulate_kernel<kRpw, kOut>;
      set_smem(reinterpret_cast<const void*>(kernel), smem, s, "attention accumulate");
      kernel<<<grid, kThreads, smem, s.stream>>>(p);
    });
  });
  SPOT_LAUNCH_CHECK(s.stream);
}

void check_head_dim(const AttentionConfig& cfg, const char* op) {
  SPOT_CHECK(cfg.d_head <= kMaxHeadDim, op << ": the CUDA kernels support d_head <= " << kMaxHeadDim << " (got "
                                            << cfg.d_head << ")");
}

}  // namespace

void attention_forward_tuned(Context& ctx, const AttentionConfig& cfg, const Tensor& q, const Tensor& k,
                             const Tensor& v, const Tensor& bias, const Tensor& key_mask, Tensor& out, Tensor& probs,
                             const AttentionTuning& tuning) {
  check_head_dim(cfg, "attention_forward");
  const Dims D = dims_of(cfg, q, k);
  CudaState& s = state_of(ctx);
  // probs = softmax(scale·QKᵀ + bias + mask), then out = P·V.
  launch_scores<false>(s, D, cfg, q.f32(), k.f32(), bias.defined() ? bias.f32() : nullptr,
                       key_mask.defined() ? key_mask.i32() : nullptr, nullptr, probs.f32(), nullptr, D.Tq,
                       tuning.score_rows, tuning.smem_scores);
  launch_accumulate<false>(s, D, cfg, probs.f32(), v.f32(), out.f32(), nullptr, D.Tq, 1.0f, tuning.accum_rows);
}

void attention_forward(Context& ctx, const AttentionConfig& cfg, const Tensor& q, const Tensor& k, const Tensor& v,
                       const Tensor& bias, const Tensor& key_mask, Tensor& out, Tensor& probs) {
  attention_forward_tuned(ctx, cfg, q, k, v, bias, key_mask, out, probs, AttentionTuning{});
}

void attention_backward(Context& ctx, const AttentionConfig& cfg, const Tensor& d_out, const Tensor& q,
                        const Tensor& k, const Tensor& v, const Tensor& probs, Tensor* dq, Tensor* dk, Tensor* dv,
                        const PromptRows* rows) {
  check_head_dim(cfg, "attention_backward");
  const Dims D = dims_of(cfg, q, k);
  CudaState& s = state_of(ctx);
  const int32_t* pos = rows ? rows->positions.i32() : nullptr;
  const int64_t nq = rows ? rows->prompt_len : D.Tq;  // rows of dq per example
  const int64_t nk = rows ? rows->prompt_len : D.Tk;  // rows of dk/dv per example
  if (dq || dk) {
    // dS = P ⊙ (dO·Vᵀ − rowsum(P ⊙ dO·Vᵀ)) into a [B, H, Tq, Tk] workspace; only the prompt rows
    // when dQ alone needs it (dK needs every row's dS).
    Tensor ws = ctx.empty({D.B, D.H, D.Tq, D.Tk});
    const bool rows_only = rows && !dk;
    launch_scores<true>(s, D, cfg, d_out.f32(), v.f32(), nullptr, nullptr, probs.f32(), ws.f32(),
                        rows_only ? pos : nullptr, rows_only ? nq : D.Tq, 0, true);
    if (dq) launch_accumulate<false>(s, D, cfg, ws.f32(), k.f32(), dq->f32(), pos, nq, cfg.scale, 0);
    if (dk) launch_accumulate<true>(s, D, cfg, ws.f32(), q.f32(), dk->f32(), pos, nk, cfg.scale, 0);
    // ws is released here: the free is ordered after the kernels above (device_free).
  }
  if (dv) launch_accumulate<true>(s, D, cfg, probs.f32(), d_out.f32(), dv->f32(), pos, nk, 1.0f, 0);
}

void relative_position_bias(Context& ctx, const Tensor& table, const Tensor& buckets, Tensor& out) {
  const int64_t n_buckets = table.dim(0), H = table.dim(1), tqk = buckets.numel();
  if (H * tqk == 0) return;
  CudaState& s = state_of(ctx);
  relative_position_bias_kernel<<<grid_stride_blocks(H * tqk, kThreads), kThreads, 0, s.stream>>>(
      table.f32(), buckets.i32(), out.f32(), n_buckets, H, tqk);
  SPOT_LAUNCH_CHECK(s.stream);
}

}  // namespace spot::cuda
