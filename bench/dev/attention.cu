// bench/dev/attention.cu — kernel lab for the attention forward (DESIGN.md practice 5, after llm.c's
// dev/cuda): numbered variants, a CPU reference, validation of every variant, and a block-size sweep
// of the library kernel. The winner lives in kernels/cuda/attention.cu; this file keeps the history.
//
//   build-cuda/bench/spot_dev_attention                       # T5-small encoder shape, all variants
//   build-cuda/bench/spot_dev_attention B Tq Tk H Hkv Dh causal [iters]
//
// Variants:
//   1  naive: one thread per (b, h, query row); scores, softmax and P·V straight from global memory.
//   2  library kernels with the scores of a tile kept in `probs` (global memory; the fallback for
//      any Tk).
//   3  library kernels with the scores of a tile in shared memory (the default when they fit).
// Each variant is checked against the CPU fast path (itself tested against the fp64 reference by
// tests/parity) with the parity harness's metric, ‖gpu − cpu‖ / ‖cpu‖, on out and probs.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/attention.h"
#include "kernels/cuda/attention_tuning.h"
#include "base/cuda/cuda_common.cuh"

using namespace spot;

namespace {

struct Shape5 {
  int64_t B, Tq, Tk, H, Hkv, Dh;
  bool causal;
};

// ---------------------------------------------------------------- variant 1: naive

__global__ void naive_attention_kernel(const float* q, const float* k, const float* v, const float* bias,
                                       const int32_t* mask, float* out, float* probs, int64_t B, int64_t Tq,
                                       int64_t Tk, int64_t H, int64_t Hkv, int64_t Dh, float scale, bool causal) {
  const int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (t >= B * H * Tq) return;
  const int64_t i = t % Tq, h = (t / Tq) % H, b = t / (Tq * H), hk = h / (H / Hkv);
  const float* qi = q + ((b * Tq + i) * H + h) * Dh;
  float* p = probs + ((b * H + h) * Tq + i) * Tk;
  const int64_t jend = causal && i + (Tk - Tq) + 1 < Tk ? i + (Tk - Tq) + 1 : Tk;
  float mx = -INFINITY;
  for (int64_t j = 0; j < Tk; ++j) {
    const bool vis = j < jend && (!mask || mask[b * Tk + j] != 0);
    float s = 0.0f;
    if (vis) {
      const float* kj = k + ((b * Tk + j) * Hkv + hk) * Dh;
      for (int64_t d = 0; d < Dh; ++d) s += qi[d] * kj[d];
      s = scale * s + (bias ? bias[(h * Tq + i) * Tk + j] : 0.0f);
      mx = fmaxf(mx, s);
    }
    p[j] = vis ? s : -INFINITY;
  }
  float sum = 0.0f;
  for (int64_t j = 0; j < Tk; ++j) {
    const float e = p[j] == -INFINITY ? 0.0f : expf(p[j] - mx);
    p[j] = e;
    sum += e;
  }
  const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
  for (int64_t j = 0; j < Tk; ++j) p[j] *= inv;
  float* oi = out + ((b * Tq + i) * H + h) * Dh;
  for (int64_t d = 0; d < Dh; ++d) {
    float acc = 0.0f;
    for (int64_t j = 0; j < Tk; ++j) acc += p[j] * v[((b * Tk + j) * Hkv + hk) * Dh + d];
    oi[d] = acc;
  }
}

void naive_attention(Context& ctx, const AttentionConfig& cfg, const Tensor& q, const Tensor& k, const Tensor& v,
                     const Tensor& bias, const Tensor& mask, Tensor& out, Tensor& probs) {
  const int64_t B = q.dim(0), Tq = q.dim(1), Tk = k.dim(1);
  const int64_t n = B * cfg.n_heads * Tq;
  cudaStream_t stream = cuda::state_of(ctx).stream;
  naive_attention_kernel<<<static_cast<unsigned>((n + 127) / 128), 128, 0, stream>>>(
      q.f32(), k.f32(), v.f32(), bias.defined() ? bias.f32() : nullptr, mask.defined() ? mask.i32() : nullptr,
      out.f32(), probs.f32(), B, Tq, Tk, cfg.n_heads, cfg.n_kv_heads, cfg.d_head, cfg.scale, cfg.causal);
  SPOT_LAUNCH_CHECK(stream);
}

// ---------------------------------------------------------------- harness

Tensor random_tensor(std::mt19937_64& rng, const Shape& shape, float stddev) {
  Tensor t = Tensor::empty(shape);
  std::normal_distribution<float> dist(0.0f, stddev);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = dist(rng);
  return t;
}

double rel_err(const Tensor& got_dev, const Tensor& ref) {
  const std::vector<float> g = got_dev.to_floats(), r = ref.to_floats();
  double num = 0, den = 0;
  for (size_t i = 0; i < r.size(); ++i) {
    num += (static_cast<double>(g[i]) - r[i]) * (static_cast<double>(g[i]) - r[i]);
    den += static_cast<double>(r[i]) * r[i];
  }
  if (std::isnan(num)) return INFINITY;
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

// Mean milliseconds per call over `iters` calls (after one warm-up), timed with events on the stream.
double time_ms(Context& ctx, int iters, const std::function<void()>& f) {
  cudaStream_t stream = cuda::state_of(ctx).stream;
  f();
  ctx.synchronize();
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  CUDA_CHECK(cudaEventRecord(start, stream));
  for (int i = 0; i < iters; ++i) f();
  CUDA_CHECK(cudaEventRecord(stop, stream));
  CUDA_CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  CUDA_CHECK(cudaEventDestroy(start));
  CUDA_CHECK(cudaEventDestroy(stop));
  return ms / iters;
}

int run(const Shape5& s, int iters) {
  const AttentionConfig cfg{s.H, s.Hkv, s.Dh, s.causal ? 1.0f / std::sqrt(static_cast<float>(s.Dh)) : 1.0f,
                            s.causal};
  std::mt19937_64 rng(42);
  const Tensor q = random_tensor(rng, {s.B, s.Tq, s.H, s.Dh}, 0.6f);
  const Tensor k = random_tensor(rng, {s.B, s.Tk, s.Hkv, s.Dh}, 0.6f);
  const Tensor v = random_tensor(rng, {s.B, s.Tk, s.Hkv, s.Dh}, 1.0f);
  const Tensor bias = s.causal ? Tensor() : random_tensor(rng, {s.H, s.Tq, s.Tk}, 1.0f);
  Tensor mask = Tensor::empty({s.B, s.Tk}, DType::I32);
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t j = 0; j < s.Tk; ++j) mask.i32()[b * s.Tk + j] = j < s.Tk - (7 * b) % std::max<int64_t>(s.Tk, 1) ? 1 : 0;

  std::printf("attention forward: B=%lld Tq=%lld Tk=%lld H=%lld Hkv=%lld Dh=%lld causal=%d\n",
              static_cast<long long>(s.B), static_cast<long long>(s.Tq), static_cast<long long>(s.Tk),
              static_cast<long long>(s.H), static_cast<long long>(s.Hkv), static_cast<long long>(s.Dh), s.causal);
  Context cpu(Backend::CpuFast);
  Tensor ref_out = Tensor::empty(q.shape()), ref_probs = Tensor::empty({s.B, s.H, s.Tq, s.Tk});
  attention_forward(cpu, cfg, q, k, v, bias, mask, ref_out, ref_probs);

  Context ctx(Backend::Cuda);
  const Tensor dq = q.to(Device::CUDA), dk = k.to(Device::CUDA), dv = v.to(Device::CUDA);
  const Tensor dbias = bias.defined() ? bias.to(Device::CUDA) : Tensor(), dmask = mask.to(Device::CUDA);
  Tensor out = ctx.empty(q.shape()), probs = ctx.empty({s.B, s.H, s.Tq, s.Tk});
  const double flops = 4.0 * s.B * s.H * s.Tq * s.Tk * s.Dh * (s.causal ? 0.5 : 1.0);
  const double bytes = 4.0 * (2 * s.B * s.Tq * s.H * s.Dh + 2 * s.B * s.Tk * s.Hkv * s.Dh + s.B * s.H * s.Tq * s.Tk);
  int failures = 0;

  auto report = [&](const char* name, const std::function<void()>& f) {
    out.fill(NAN);
    probs.fill(NAN);
    f();
    ctx.synchronize();
    const double e_out = rel_err(out, ref_out), e_probs = rel_err(probs, ref_probs);
    const bool ok = e_out <= 1e-5 && e_probs <= 1e-5;
    failures += ok ? 0 : 1;
    const double ms = time_ms(ctx, iters, f);
    std::printf("  %-34s %9.3f ms  %8.1f GFLOP/s  %7.1f GB/s  err out %.2e probs %.2e %s\n", name, ms,
                flops / ms * 1e-6, bytes / ms * 1e-6, e_out, e_probs, ok ? "ok" : "MISMATCH");
  };

  report("1 naive", [&] { naive_attention(ctx, cfg, dq, dk, dv, dbias, dmask, out, probs); });
  cuda::AttentionTuning global_scores;
  global_scores.smem_scores = false;
  report("2 library, scores in global", [&] {
    cuda::attention_forward_tuned(ctx, cfg, dq, dk, dv, dbias, dmask, out, probs, global_scores);
  });
  report("3 library, scores in smem (default)", [&] {
    cuda::attention_forward_tuned(ctx, cfg, dq, dk, dv, dbias, dmask, out, probs, cuda::AttentionTuning{});
  });

  std::printf("  block-size sweep of variant 3 (score rows x accumulate rows per block):\n");
  for (int sr : {8, 16, 32})
    for (int ar : {8, 16, 32}) {
      cuda::AttentionTuning t;
      t.score_rows = sr;
      t.accum_rows = ar;
      const std::string name = "3 score_rows=" + std::to_string(sr) + " accum_rows=" + std::to_string(ar);
      report(name.c_str(), [&] { cuda::attention_forward_tuned(ctx, cfg, dq, dk, dv, dbias, dmask, out, probs, t); });
    }
  return failures;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (!cuda_available()) {
      std::fprintf(stderr, "spot_dev_attention: no CUDA device present\n");
      return 1;
    }
    int iters = 20;
    std::vector<Shape5> shapes;
    if (argc >= 8) {
      shapes.push_back({std::atoll(argv[1]), std::atoll(argv[2]), std::atoll(argv[3]), std::atoll(argv[4]),
                        std::atoll(argv[5]), std::atoll(argv[6]), std::atoi(argv[7]) != 0});
      if (argc >= 9) iters = std::atoi(argv[8]);
    } else {
      shapes.push_back({32, 356, 356, 8, 8, 64, false});   // T5-small encoder, 100-token prompt + 256 tokens
      shapes.push_back({16, 356, 356, 9, 3, 64, true});    // SmolLM2-135M-like causal GQA
      shapes.push_back({4, 2048, 2048, 8, 8, 64, false});  // long sequence: 16 score rows per block in smem
    }
    int failures = 0;
    for (const Shape5& s : shapes) failures += run(s, iters);
    std::printf("%s\n", failures ? "SOME VARIANTS MISMATCH THE CPU REFERENCE" : "all variants match the CPU reference");
    return failures ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spot_dev_attention: %s\n", e.what());
    return 1;
  }
}
