// gemm.h — the CPU backend's GEMM provider: oneDNN (Debian's libdnnl), whose JIT picks its kernels
// by the instruction sets cpuid reports, so a CPU newer than any table of models still gets its
// AVX-512 (or AMX) kernels. Why not OpenBLAS: Debian's 0.3.21 chooses its kernels by CPU model at
// load time — "Haswell" (AVX2, half the AVX-512 rate) on AMD Zen 5, "Prescott" (SSE3, a fifth) on
// Intel family 6 model 207 — and has no bf16 GEMM; oneDNN's sgemm matches OpenBLAS with the right
// core type on every shape spot runs (bench/README.md, "GEMM provider").
//
// Every fp32 product of the CPU fast path goes through gemm_f32; the bf16 path through gemm_bf16.
// gemm_provider() says what runs, and warns once on stderr when the provider would run kernels below
// what this CPU can do (never a silent slow path).
#pragma once

#include <cstdint>
#include <string>

#include "base/cpu_features.h"

namespace spot {

// Row-major C[m, n] = alpha · op(A) · op(B) + beta · C, op(X) = Xᵀ when trans_x. A is [m, k] (or
// [k, m] transposed) with row stride lda, B is [k, n] (or [n, k]) with row stride ldb. Inside an
// OpenMP parallel region it runs on the calling thread only.
void gemm_f32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
              const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// The same with bf16 A and B (raw bf16 bits) and fp32 accumulation and output. Call it from one
// thread at a time: oneDNN runs it on its own OpenMP threads (primitives cached per shape).
void gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const uint16_t* a,
               int64_t lda, const uint16_t* b, int64_t ldb, float beta, float* c, int64_t ldc);

// The oneDNN ISA level ("avx512_core_bf16", "avx2", ...) whose kernels a CPU with these features
// should run: the highest level all of whose instruction sets the CPU has and the OS enables.
// Depends on the features only (never the vendor, family or model).
std::string expected_gemm_isa(const CpuFeatures& f);

struct GemmProvider {
  std::string name;          // "oneDNN 2.6.3"
  std::string isa;           // the ISA level the provider dispatches to here
  std::string expected_isa;  // expected_gemm_isa(cpu_features())
  std::string limited_by;    // "ONEDNN_MAX_CPU_ISA=avx2" when the user capped it, else ""
  std::string bf16;          // "native (avx512_bf16)", "native (amx_bf16)" or "emulated (slower than fp32)"
  bool ok() const { return isa == expected_isa || !limited_by.empty(); }
  std::string describe() const;  // one line for `spot info`, `--version` and every benchmark
};

// What runs here. The first call warns on stderr when !ok().
const GemmProvider& gemm_provider();

// Measured peak of the provider on this machine: GFLOP/s of square n³ products over at least
// `seconds` (after one warm-up), with the current OpenMP thread count.
double measure_gemm_f32_peak(int64_t n = 2048, double seconds = 1.0);
double measure_gemm_bf16_peak(int64_t n = 2048, double seconds = 1.0);

}  // namespace spot
