// gemm.cpp — oneDNN behind gemm.h: dnnl_sgemm for fp32, cached matmul primitives for bf16.
#include "kernels/gemm.h"

#include <dnnl.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <tuple>
#include <vector>

#include "base/check.h"
#include "base/dtype.h"

namespace spot {

namespace {

#define SPOT_DNNL_CHECK(call, what)                                                                     \
  do {                                                                                                \
    const dnnl_status_t st_ = (call);                                                                 \
    SPOT_CHECK(st_ == dnnl_success, "oneDNN: " << what << " failed (status " << static_cast<int>(st_) \
                                               << ")");                                               \
  } while (0)

const char* isa_name(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "none (reference kernels)";
  }
}

// One engine and stream for the bf16 primitives (the CPU engine; the stream runs in order).
struct Dnnl {
  dnnl_engine_t engine = nullptr;
  dnnl_stream_t stream = nullptr;
  Dnnl() {
    SPOT_DNNL_CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0), "creating the CPU engine");
    SPOT_DNNL_CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags), "creating a stream");
  }
  ~Dnnl() {
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(engine);
  }
};

Dnnl& dnnl() {
  static Dnnl d;
  return d;
}

dnnl_memory_desc_t desc_2d(int64_t rows, int64_t cols, dnnl_data_type_t dt, bool trans, int64_t ld) {
  // A logical [rows, cols] matrix stored row-major with row stride ld, or its transpose stored
  // row-major ([cols, rows] with row stride ld).
  dnnl_memory_desc_t d;
  dnnl_dims_t dims = {rows, cols};
  dnnl_dims_t strides = {trans ? 1 : ld, trans ? ld : 1};
  SPOT_DNNL_CHECK(dnnl_memory_desc_init_by_strides(&d, 2, dims, dt, strides), "a matrix descriptor");
  return d;
}

// A bf16 matmul primitive for one shape, layout, alpha and beta (oneDNN bakes them into the JIT code;
// a new shape costs ~0.1 ms to create, as oneDNN reuses its JIT kernels across primitives).
struct Bf16Matmul {
  dnnl_primitive_t prim = nullptr;
  dnnl_memory_desc_t a, b, c;
  std::string impl;
  Bf16Matmul() = default;
  Bf16Matmul(const Bf16Matmul&) = delete;
  Bf16Matmul& operator=(const Bf16Matmul&) = delete;
  ~Bf16Matmul() {
    if (prim) dnnl_primitive_destroy(prim);
  }
};

using Bf16Key = std::tuple<bool, bool, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, float, float>;

// Shapes vary with padding from batch to batch: the cache is bounded (cleared when full; a primitive
// in use elsewhere lives on through its shared_ptr).
std::shared_ptr<const Bf16Matmul> bf16_matmul(const Bf16Key& key) {
  static std::mutex mu;
  static std::map<Bf16Key, std::shared_ptr<const Bf16Matmul>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  if (cache.size() >= 1024) cache.clear();
  const auto [ta, tb, m, n, k, lda, ldb, ldc, alpha, beta] = key;
  auto owned = std::make_shared<Bf16Matmul>();
  Bf16Matmul& mm = *owned;
  mm.a = desc_2d(m, k, dnnl_bf16, ta, lda);
  mm.b = desc_2d(k, n, dnnl_bf16, tb, ldb);
  mm.c = desc_2d(m, n, dnnl_f32, false, ldc);
  dnnl_matmul_desc_t md;
  SPOT_DNNL_CHECK(dnnl_matmul_desc_init(&md, &mm.a, &mm.b, nullptr, &mm.c), "a bf16 matmul descriptor");
  dnnl_primitive_attr_t attr;
  SPOT_DNNL_CHECK(dnnl_primitive_attr_create(&attr), "primitive attributes");
  dnnl_post_ops_t po = nullptr;
  if (alpha != 1.0f) SPOT_DNNL_CHECK(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha), "alpha");
  if (beta != 0.0f) {
    SPOT_DNNL_CHECK(dnnl_post_ops_create(&po), "post-ops");
    SPOT_DNNL_CHECK(dnnl_post_ops_append_sum(po, beta), "the beta sum post-op");
    SPOT_DNNL_CHECK(dnnl_primitive_attr_set_post_ops(attr, po), "post-ops");
  }
  dnnl_primitive_desc_t pd;
  const dnnl_status_t st = dnnl_primitive_desc_create(&pd, &md, attr, dnnl().engine, nullptr);
  if (po) dnnl_post_ops_destroy(po);
  dnnl_primitive_attr_destroy(attr);
  SPOT_CHECK(st == dnnl_success, "oneDNN has no bf16 matmul for [" << m << ", " << k << "] x [" << k << ", " << n
                                                                   << "] (status " << static_cast<int>(st) << ")");
  const char* impl = nullptr;
  dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
  mm.impl = impl ? impl : "?";
  const dnnl_status_t st2 = dnnl_primitive_create(&mm.prim, pd);
  dnnl_primitive_desc_destroy(pd);
  SPOT_DNNL_CHECK(st2, "creating a bf16 matmul");
  cache.emplace(key, owned);
  return owned;
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

void gemm_f32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
              const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  // dnnl_sgemm is row-major, like cblas_sgemm(CblasRowMajor, ...).
  SPOT_DNNL_CHECK(dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc),
                  "sgemm [" << m << ", " << k << "] x [" << k << ", " << n << "]");
}

void gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const uint16_t* a,
               int64_t lda, const uint16_t* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  const std::shared_ptr<const Bf16Matmul> held = bf16_matmul(Bf16Key{trans_a, trans_b, m, n, k, lda, ldb, ldc, alpha, beta});
  const Bf16Matmul& mm = *held;
  Dnnl& d = dnnl();
  dnnl_memory_t ma, mb, mc;
  SPOT_DNNL_CHECK(dnnl_memory_create(&ma, &mm.a, d.engine, const_cast<uint16_t*>(a)), "memory A");
  SPOT_DNNL_CHECK(dnnl_memory_create(&mb, &mm.b, d.engine, const_cast<uint16_t*>(b)), "memory B");
  SPOT_DNNL_CHECK(dnnl_memory_create(&mc, &mm.c, d.engine, c), "memory C");
  dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
  const dnnl_status_t st = dnnl_primitive_execute(mm.prim, d.stream, 3, args);
  const dnnl_status_t st2 = dnnl_stream_wait(d.stream);
  dnnl_memory_destroy(ma);
  dnnl_memory_destroy(mb);
  dnnl_memory_destroy(mc);
  SPOT_DNNL_CHECK(st, "bf16 matmul [" << m << ", " << k << "] x [" << k << ", " << n << "] (" << mm.impl << ")");
  SPOT_DNNL_CHECK(st2, "waiting for the bf16 matmul");
}

std::string expected_gemm_isa(const CpuFeatures& f) {
  // oneDNN's levels, each including the one below it (src/cpu/x64/cpu_isa_traits.hpp).
  if (f.avx512_core()) {
    const bool vnni = f.avx512_vnni;
    const bool bf16 = vnni && f.avx512_bf16;
    if (bf16 && f.amx_tile && f.amx_bf16 && f.amx_int8) return "avx512_core_amx";
    if (bf16) return "avx512_core_bf16";
    if (vnni) return "avx512_core_vnni";
    return "avx512_core";
  }
  if (f.avx2 && f.fma) return f.avx_vnni ? "avx2_vnni" : "avx2";
  if (f.avx) return "avx";
  if (f.sse41) return "sse41";
  return "none (reference kernels)";
}

std::string GemmProvider::describe() const {
  std::ostringstream o;
  o << name << ", kernels " << isa;
  if (!limited_by.empty()) o << " (capped by " << limited_by << "; this CPU could run " << expected_isa << ")";
  else if (isa != expected_isa) o << " (BELOW this CPU's " << expected_isa << ")";
  o << ", bf16 " << bf16;
  return o.str();
}

const GemmProvider& gemm_provider() {
  static const GemmProvider p = [] {
    GemmProvider g;
    const dnnl_version_t* v = dnnl_version();
    std::ostringstream name;
    name << "oneDNN " << v->major << "." << v->minor << "." << v->patch;
    g.name = name.str();
    g.isa = isa_name(dnnl_get_effective_cpu_isa());
    const CpuFeatures& f = cpu_features();
    g.expected_isa = expected_gemm_isa(f);
    for (const char* var : {"ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"})
      if (!env_or_empty(var).empty()) g.limited_by = std::string(var) + "=" + env_or_empty(var);
    if (f.amx_tile && f.amx_bf16) g.bf16 = "native (amx_bf16)";
    else if (f.bf16_native()) g.bf16 = "native (avx512_bf16)";
    else g.bf16 = "emulated (slower than fp32)";
    if (!g.ok())
      std::fprintf(stderr,
                   "spot: warning: the GEMM provider (%s) runs %s kernels, but this CPU, %s, supports %s (flags: %s); "
                   "GEMMs will be slower than this machine allows\n",
                   g.name.c_str(), g.isa.c_str(), f.describe().c_str(), g.expected_isa.c_str(), f.flags().c_str());
    return g;
  }();
  return p;
}

double measure_gemm_f32_peak(int64_t n, double seconds) {
  std::vector<float> a(static_cast<size_t>(n * n), 0.5f), b(a.size(), 0.25f), c(a.size());
  gemm_f32(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
  int reps = 0;
  const double t0 = now_s();
  double t = 0;
  do {
    gemm_f32(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    ++reps;
    t = now_s() - t0;
  } while (t < seconds);
  return 2.0 * n * n * n * reps / t * 1e-9;
}

double measure_gemm_bf16_peak(int64_t n, double seconds) {
  std::vector<uint16_t> a(static_cast<size_t>(n * n), f32_to_bf16(0.5f)), b(a.size(), f32_to_bf16(0.25f));
  std::vector<float> c(a.size());
  gemm_bf16(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
  int reps = 0;
  const double t0 = now_s();
  double t = 0;
  do {
    gemm_bf16(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    ++reps;
    t = now_s() - t0;
  } while (t < seconds);
  return 2.0 * n * n * n * reps / t * 1e-9;
}

}  // namespace spot
