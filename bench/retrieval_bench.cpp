// retrieval_bench.cpp — top-k retrieval over a large prompt library (retrieval/similarity.h: one
// GEMM + topk_rows) against FAISS's exact inner-product index (IndexFlatIP), in the same run, on the
// same data and thread count (issue 8's benchmark).
//
// Keys: N random unit vectors of width d (fixed seed; each row from its own seed, so FAISS's copy
// is regenerated bit for bit instead of held twice). Queries: Q random unit vectors. spot's metric
// is `mip` — the inner product of the stored vectors, which is IndexFlatIP's computation exactly
// (`cosine` ranks the same on unit vectors but renormalises the keys in fp64 when pooling, so its
// keys differ from FAISS's in the last bit; its search is the same code). Per case: the median of
// the repetitions (spot, FAISS and a memory-bandwidth pass interleaved, so that outside load hits
// all three alike), spot/FAISS, key bytes read per second (N·d·4 / time) against the read bandwidth
// measured beside them, GFLOP/s (2·N·d·Q) against spot's sgemm peak (kernels/gemm.h), and whether both return
// the same ids. At most spot's keys and FAISS's copy are held at once (2 x 3 GB at 10^6 x 768).
//
//   spot_retrieval_bench [--n 10000,100000,1000000] [--d 576,768] [--q 1,64] [--k 10] [--reps 7]
//                        [--threads 2] [--wait-quiet] [--cpu-only]
// --wait-quiet: before starting, poll /proc/loadavg every 30 s (at most 20 min) until the 1-minute
// load is below 0.7 (other people's builds share the cores); the load is printed at start and end.
#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "base/context.h"
#include "base/cpu_features.h"
#include "kernels/gemm.h"
#include "retrieval/similarity.h"

#if SPOT_BENCH_FAISS
#include <faiss/IndexFlat.h>
#include <faiss/utils/distances.h>
// FAISS's BLAS: OpenBLAS (bench/CMakeLists.txt).
extern "C" char* openblas_get_config();
extern "C" char* openblas_get_corename();
extern "C" void openblas_set_num_threads(int);
#endif

namespace {

using namespace spot;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string fmt_ms(double ms) {
  char b[32];
  std::snprintf(b, sizeof b, ms < 10 ? "%.2f" : ms < 100 ? "%.1f" : "%.0f", ms);
  return b;
}

[[maybe_unused]] std::string fmt_ratio(double r) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2fx", r);
  return b;
}

std::vector<int64_t> parse_list(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(static_cast<int64_t>(std::stod(item)));
  return out;
}

double load1() {
  std::ifstream f("/proc/loadavg");
  double l = -1;
  f >> l;
  return l;
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

double peak_rss_gb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1e6;  // kB -> GB
}

// Row r of a set: d values uniform in [-1, 1) from a per-row xorshift stream, scaled to unit norm.
void fill_unit_rows(float* out, int64_t r0, int64_t r1, int64_t d, uint64_t seed) {
#pragma omp parallel for schedule(static)
  for (int64_t r = r0; r < r1; ++r) {
    uint64_t s = (seed * 0x9E3779B97F4A7C15ull) ^ (static_cast<uint64_t>(r) + 1) * 0xBF58476D1CE4E5B9ull;
    float* x = out + (r - r0) * d;
    double n = 0;
    for (int64_t j = 0; j < d; ++j) {
      s ^= s << 13, s ^= s >> 7, s ^= s << 17;
      x[j] = static_cast<float>((s >> 40) * (2.0 / 16777216.0) - 1.0);
      n += double(x[j]) * x[j];
    }
    const float inv = static_cast<float>(1.0 / std::sqrt(n));
    for (int64_t j = 0; j < d; ++j) x[j] *= inv;
  }
}

// STREAM-like read bandwidth: the sum of a 512 MiB float array (16x the L3) with `threads` threads;
// 32 independent partial sums per thread (four AVX registers), so that the adds' latency does not
// bound the loop below the memory's rate. One pass runs beside each repetition of each case: the
// machine is a VM whose memory bandwidth moves with its neighbours' load, so a case's percentages
// are taken against the bandwidth measured while it ran.
class BandwidthProbe {
 public:
  BandwidthProbe() : a_(new float[kFloats]) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < kFloats; ++i) a_[i] = 1.0f;
  }
  double pass_gbs(int threads) {
    const auto t0 = Clock::now();
    double total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
    {
      float acc[kLanes] = {};
#pragma omp for schedule(static)
      for (int64_t i = 0; i < kFloats; i += kLanes)
        for (int64_t j = 0; j < kLanes; ++j) acc[j] += a_[i + j];
      for (float v : acc) total += v;
    }
    const double s = seconds_since(t0);
    sink_ += total;
    return kFloats * 4.0 / s / 1e9;
  }
  double best_gbs(int threads, int passes) {
    double best = 0;
    for (int i = 0; i < passes; ++i) best = std::max(best, pass_gbs(threads));
    return best;
  }
  double sink() const { return sink_; }

 private:
  static constexpr int64_t kFloats = int64_t{1} << 27, kLanes = 32;
  std::unique_ptr<float[]> a_;
  double sink_ = 0;
};

// spot's sgemm (kernels/gemm.h) at 2048³ (the compute ceiling for the Q = 64 GEMMs), best of 5.
double sgemm_peak_gflops() {
  const int n = 2048;
  std::vector<float> a(size_t(n) * n, 0.5f), b(size_t(n) * n, 0.25f), c(size_t(n) * n);
  double best = 1e9;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = Clock::now();
    gemm_f32(false, true, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    best = std::min(best, seconds_since(t0));
  }
  return 2.0 * n * n * n / best / 1e9;
}

// Whether two top-k lists agree. Exact scores (fp64) of every id either side lists decide whether a
// difference is a near-tie (within `tol` of the score it was swapped with / the k-th score) or real.
struct Agreement {
  int same = 0, ties = 0, differ = 0;
  double worst_gap = 0;  // the largest |Δ exact score| among tie differences
};

double exact_ip(const float* q, const float* keys_gen_row, int64_t d) {
  double s = 0;
  for (int64_t j = 0; j < d; ++j) s += double(q[j]) * keys_gen_row[j];
  return s;
}

void compare_lists(const std::vector<int64_t>& a, const std::vector<int64_t>& b, const float* q, int64_t d,
                   uint64_t key_seed, Agreement& agree) {
  if (a == b) {
    ++agree.same;
    return;
  }
  // Rank by rank: where the ids differ, the two ids' exact scores must be within tol (a near-tie
  // broken differently by fp32 rounding in a different summation order).
  const double tol = 1e-5;
  std::vector<float> row(static_cast<size_t>(d));
  auto score = [&](int64_t id) {
    fill_unit_rows(row.data(), id, id + 1, d, key_seed);
    return exact_ip(q, row.data(), d);
  };
  double gap = 0;
  for (size_t j = 0; j < std::min(a.size(), b.size()); ++j)
    if (a[j] != b[j]) gap = std::max(gap, std::fabs(score(a[j]) - score(b[j])));
  if (a.size() == b.size() && gap <= tol) {
    ++agree.ties;
    agree.worst_gap = std::max(agree.worst_gap, gap);
  } else {
    ++agree.differ;
  }
}

std::string agreement_str(const Agreement& g, int64_t nq) {
  char buf[128];
  if (g.differ) std::snprintf(buf, sizeof buf, "**DIFFER** in %d/%lld queries", g.differ, static_cast<long long>(nq));
  else if (g.ties) std::snprintf(buf, sizeof buf, "same (%d/%lld near-ties, Δ ≤ %.1e)", g.ties, static_cast<long long>(nq), g.worst_gap);
  else std::snprintf(buf, sizeof buf, "same (%lld/%lld)", static_cast<long long>(nq), static_cast<long long>(nq));
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
#if SPOT_BENCH_FAISS
  // OpenBLAS (FAISS's BLAS) chose its kernels by CPU model when it loaded ("Haswell" on AMD Zen 5,
  // "Prescott" on CPUs newer than its table). Give it the core type this CPU's instruction sets call
  // for, once, by re-executing with OPENBLAS_CORETYPE set (a value the user set is kept).
  if (!std::getenv("OPENBLAS_CORETYPE")) {
    const CpuFeatures& f = cpu_features();
    const char* core = f.avx512_core() ? (f.avx512_bf16 ? "Cooperlake" : "SkylakeX") : f.avx2 ? "Haswell" : nullptr;
    if (core) {
      setenv("OPENBLAS_CORETYPE", core, 1);
      execv("/proc/self/exe", argv);
      std::fprintf(stderr, "spot_retrieval_bench: could not re-execute with OPENBLAS_CORETYPE=%s\n", core);
    }
  }
#endif
  std::vector<int64_t> ns = {10000, 100000, 1000000}, ds = {576, 768}, qs = {1, 64};
  int64_t k = 10;
  int reps = 7, threads = 2;
  bool wait_quiet = false, cpu_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--n") ns = parse_list(next());
    else if (a == "--d") ds = parse_list(next());
    else if (a == "--q") qs = parse_list(next());
    else if (a == "--k") k = std::stoll(next());
    else if (a == "--reps") reps = std::stoi(next());
    else if (a == "--threads") threads = std::stoi(next());
    else if (a == "--wait-quiet") wait_quiet = true;
    else if (a == "--cpu-only") cpu_only = true;
    else {
      std::fprintf(stderr,
                   "usage: spot_retrieval_bench [--n LIST] [--d LIST] [--q LIST] [--k K] [--reps R] [--threads T] "
                   "[--wait-quiet] [--cpu-only]\n");
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  if (wait_quiet) {
    const auto t0 = Clock::now();
    double l = load1();
    while (l >= 0.7 && seconds_since(t0) < 1200) {
      std::printf("waiting for a quiet machine: load %.2f\n", l);
      std::fflush(stdout);
      sleep(30);
      l = load1();
    }
    std::printf("waited %.0f s for load < 0.7 (now %.2f%s)\n", seconds_since(t0), l, l >= 0.7 ? ", gave up" : "");
  }
  const double load_start = load1();

  Context ctx(Backend::CpuFast);
  ctx.set_cpu_threads(threads);
  const int64_t qmax = *std::max_element(qs.begin(), qs.end());

  std::printf("cpu: %s, %ld logical cores; load at start %.2f\n", cpu_model().c_str(), sysconf(_SC_NPROCESSORS_ONLN),
              load_start);
  std::printf("cpu flags: %s\n", cpu_features().flags().c_str());
  std::printf("spot gemm: %s\n", gemm_provider().describe().c_str());
#if SPOT_BENCH_FAISS
  openblas_set_num_threads(threads);
  std::printf("faiss gemm: %s, core %s (OPENBLAS_CORETYPE=%s)\n", openblas_get_config(), openblas_get_corename(),
              std::getenv("OPENBLAS_CORETYPE") ? std::getenv("OPENBLAS_CORETYPE") : "unset");
#endif
  std::printf("threads: %d for both (spot: omp_set_num_threads, which oneDNN reads; FAISS: the same OpenMP setting "
              "and openblas_set_num_threads)\n", threads);
#if SPOT_BENCH_FAISS
  std::printf("faiss: %d.%d.%d (Debian libfaiss-dev, IndexFlatIP; its BLAS is OpenBLAS); "
              "distance_compute_blas_threshold %d (fewer queries: one thread per query)\n",
              FAISS_VERSION_MAJOR, FAISS_VERSION_MINOR, FAISS_VERSION_PATCH, faiss::distance_compute_blas_threshold);
#else
  std::printf("faiss: ****** NOT BUILT WITH FAISS ****** (install libfaiss-dev: tools/install_deps.sh, then "
              "reconfigure); the FAISS columns say so\n");
#endif
  const bool gpu = !cpu_only && cuda_available();
  const std::string no_gpu = cpu_only ? "--cpu-only" : SPOT_WITH_CUDA ? "no GPU" : "not built with CUDA";
  if (!gpu) std::printf("cuda: ****** SKIPPED: %s ****** — the CUDA column is not measured\n", no_gpu.c_str());
  BandwidthProbe probe;
  const double bw1 = probe.best_gbs(1, 10), bw = probe.best_gbs(threads, 10);
  const double peak = sgemm_peak_gflops();
  std::printf("memory read bandwidth (sum over 512 MiB, best of 10) at the start: %.1f GB/s on 1 thread, %.1f GB/s "
              "on %d; the table's 'read GB/s' is the median of one pass beside each repetition of the case\n",
              bw1, bw, threads);
  std::printf("sgemm peak (2048³, best of 5, %d threads): %.1f GFLOP/s\n", threads, peak);
  std::printf("k = %lld, metric mip, median of %d repetitions (spot and FAISS interleaved), after one warm-up each\n\n",
              static_cast<long long>(k), reps);
  std::printf("| d | N | Q | spot CPU ms | FAISS ms | spot/FAISS | read GB/s | spot GB/s (%% of read) | "
              "FAISS GB/s (%% of read) | spot GFLOP/s (%% of sgemm peak) | ids spot vs FAISS | spot CUDA ms |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|\n");
  std::fflush(stdout);

  const uint64_t key_seed = 1, query_seed = 2;
  for (int64_t d : ds) {
    for (int64_t n : ns) {
      std::vector<int64_t> ids(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) ids[i] = i;
      // spot's index, from one [N, d] block viewed as N embeddings [1, d]; the block is then freed.
      auto t0 = Clock::now();
      std::unique_ptr<retrieval::SimilarityIndex> index;
      {
        Tensor keys = Tensor::empty({n, d});
        fill_unit_rows(keys.f32(), 0, n, d, key_seed);
        std::vector<Tensor> emb;
        emb.reserve(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) emb.push_back(keys.rows(i, i + 1));
        index = std::make_unique<retrieval::SimilarityIndex>(retrieval::Metric::Mip, ids, emb);
      }
      const double build_spot = seconds_since(t0);
#if SPOT_BENCH_FAISS
      t0 = Clock::now();
      faiss::IndexFlatIP flat(static_cast<int>(d));
      {
        const int64_t chunk = 65536;
        std::vector<float> buf(static_cast<size_t>(chunk * d));
        for (int64_t r0 = 0; r0 < n; r0 += chunk) {
          const int64_t r1 = std::min(n, r0 + chunk);
          fill_unit_rows(buf.data(), r0, r1, d, key_seed);
          flat.add(r1 - r0, buf.data());
        }
      }
      const double build_faiss = seconds_since(t0);
#else
      const double build_faiss = 0;
#endif
      std::fprintf(stderr, "d %lld N %lld: built spot %.1f s, FAISS %.1f s; peak RSS %.2f GB; load %.2f\n",
                   static_cast<long long>(d), static_cast<long long>(n), build_spot, build_faiss, peak_rss_gb(),
                   load1());
      Tensor queries_all = Tensor::empty({qmax, d});
      fill_unit_rows(queries_all.f32(), 0, qmax, d, query_seed);
      for (int64_t nq : qs) {
        const Tensor queries = queries_all.rows(0, nq);
        std::vector<std::vector<retrieval::Hit>> hits;
        auto run_spot = [&]() {
          const auto t = Clock::now();
          hits = index->top_k_pooled(ctx, queries, k);
          return seconds_since(t);
        };
#if SPOT_BENCH_FAISS
        std::vector<float> fd(static_cast<size_t>(nq * k));
        std::vector<faiss::Index::idx_t> fi(static_cast<size_t>(nq * k));
        auto run_faiss = [&]() {
          const auto t = Clock::now();
          flat.search(nq, queries.f32(), k, fd.data(), fi.data());
          return seconds_since(t);
        };
#else
        auto run_faiss = [] { return 0.0; };
#endif
        run_spot();
        run_faiss();
        std::vector<double> ts, tf, tb;
        for (int r = 0; r < reps; ++r) {
          ts.push_back(run_spot());
          tf.push_back(run_faiss());
          tb.push_back(probe.pass_gbs(threads));
        }
        const double ms_spot = median(ts) * 1e3, ms_faiss = median(tf) * 1e3, read = median(tb);
        const double key_gb = n * d * 4.0 / 1e9, gflop = 2.0 * n * d * nq / 1e9;
        const double gbs_spot = key_gb / (ms_spot / 1e3), gflops_spot = gflop / (ms_spot / 1e3);
        char spot_cols[160], faiss_cols[160], cuda_col[64];
        std::snprintf(spot_cols, sizeof spot_cols, "%.1f | %.1f (%.0f%%)", read, gbs_spot, 100 * gbs_spot / read);
#if SPOT_BENCH_FAISS
        Agreement agree;
        for (int64_t q = 0; q < nq; ++q) {
          std::vector<int64_t> a, b(fi.begin() + q * k, fi.begin() + (q + 1) * k);
          for (const retrieval::Hit& h : hits[q]) a.push_back(h.id);
          compare_lists(a, b, queries.f32() + q * d, d, key_seed, agree);
        }
        const double gbs_faiss = key_gb / (ms_faiss / 1e3);
        std::snprintf(faiss_cols, sizeof faiss_cols, "%.1f (%.0f%%) | %.1f (%.0f%%) | %s", gbs_faiss,
                      100 * gbs_faiss / read, gflops_spot, 100 * gflops_spot / peak, agreement_str(agree, nq).c_str());
        const std::string times = fmt_ms(ms_spot) + " | " + fmt_ms(ms_faiss) + " | " + fmt_ratio(ms_spot / ms_faiss);
#else
        std::snprintf(faiss_cols, sizeof faiss_cols, "**not built with FAISS** | %.1f (%.0f%%) | **not built with FAISS**",
                      gflops_spot, 100 * gflops_spot / peak);
        const std::string times = fmt_ms(ms_spot) + " | **not built with FAISS** | —";
#endif
        if (gpu) {
          Context cuda_ctx(Backend::Cuda);
          index->top_k_pooled(cuda_ctx, queries, k);  // warm-up: copies the keys to the device once
          std::vector<double> tc;
          std::vector<std::vector<retrieval::Hit>> cuda_hits;
          for (int r = 0; r < reps; ++r) {
            const auto t = Clock::now();
            cuda_hits = index->top_k_pooled(cuda_ctx, queries, k);
            tc.push_back(seconds_since(t));
          }
          int64_t same = 0;
          for (int64_t q = 0; q < nq; ++q) {
            bool eq = cuda_hits[q].size() == hits[q].size();
            for (size_t j = 0; eq && j < hits[q].size(); ++j) eq = cuda_hits[q][j].id == hits[q][j].id;
            same += eq;
          }
          std::snprintf(cuda_col, sizeof cuda_col, "%s (ids = CPU's in %lld/%lld)", fmt_ms(median(tc) * 1e3).c_str(),
                        static_cast<long long>(same), static_cast<long long>(nq));
        } else {
          std::snprintf(cuda_col, sizeof cuda_col, "**skipped: %s**", no_gpu.c_str());
        }
        std::printf("| %lld | %lld | %lld | %s | %s | %s | %s |\n", static_cast<long long>(d),
                    static_cast<long long>(n), static_cast<long long>(nq), times.c_str(), spot_cols, faiss_cols, cuda_col);
        std::fflush(stdout);
      }
    }
  }
  std::printf("\nload at start %.2f, at end %.2f; peak RSS %.2f GB\n", load_start, load1(), peak_rss_gb());
  if (probe.sink() == 42) std::printf("(sink)\n");
  return 0;
}
