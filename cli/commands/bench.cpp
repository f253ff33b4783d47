// bench.cpp — `spot bench step`: times one prompt-tuning step (forward + backward to the prompt) of a
// frozen T5 with random weights at T5-small shapes, and reports ms/step, tokens/s, achieved GFLOP/s
// against the sgemm peak measured in the same run, and peak RSS.
#include <cblas.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "cli/commands.h"
#include "model/t5/t5_model.h"

namespace spot::cli {

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Best-of-N sgemm rate at a large square size: the ceiling the step's GEMMs run against.
double measure_sgemm_gflops(int n, int reps) {
  std::vector<float> a(size_t(n) * n), b(size_t(n) * n), c(size_t(n) * n);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  for (auto* v : {&a, &b})
    for (float& x : *v) x = u(rng);
  double best = 0;
  for (int r = 0; r < reps + 1; ++r) {
    const double t0 = now_s();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    const double dt = now_s() - t0;
    if (r > 0) best = std::max(best, 2.0 * n * n * n / dt * 1e-9);
  }
  return best;
}

double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

}  // namespace

int cmd_bench(const std::vector<std::string>& argv) {
  Args args(argv, {"json", "no-peak", "forward-only"},
            {"backend", "batch", "input-len", "prompt-len", "target-len", "steps", "warmup", "threads", "d-model",
             "layers", "vocab"});
  const std::string what = args.positional().empty() ? "step" : args.positional()[0];
  SPOT_CHECK(what == "step", "spot bench: unknown benchmark '" << what << "' (available: step)");
  const int64_t B = args.get_int("batch", 8), T = args.get_int("input-len", 128), L = args.get_int("prompt-len", 100),
                Tt = args.get_int("target-len", 8);
  const int steps = static_cast<int>(args.get_int("steps", 5)), warmup = static_cast<int>(args.get_int("warmup", 1));
  const bool backward = !args.flag("forward-only");
  Context ctx(backend_from_name(args.get_or("backend", "cpu")));
  if (args.get("threads")) ctx.set_cpu_threads(static_cast<int>(args.get_int("threads", 0)));

  T5Config c = T5Config::t5_small();
  c.d_model = args.get_int("d-model", c.d_model);
  c.num_layers = c.num_decoder_layers = args.get_int("layers", c.num_layers);
  c.vocab_size = args.get_int("vocab", c.vocab_size);
  T5Model model(ctx, T5Weights::load(c, RandomTensorSource(1, 0.05f, {"lm_head.weight"}), ctx.device()));

  std::mt19937 rng(5);
  std::uniform_int_distribution<int32_t> tok(3, static_cast<int32_t>(c.vocab_size - 1));
  PromptBatch batch;
  for (int64_t b = 0; b < B; ++b) {
    std::vector<int32_t> in(T), tg(Tt);
    for (auto& x : in) x = tok(rng);
    for (auto& x : tg) x = tok(rng);
    in.back() = tg.back() = c.eos_token_id;
    batch.inputs.push_back(in);
    batch.targets.push_back(tg);
  }
  Tensor prompt = RandomTensorSource(2, 0.5f).load_f32("prompt", {L, c.d_model});
  RunOptions opt;
  opt.backward = backward;

  std::vector<double> times;
  double loss = 0, gnorm = 0;
  for (int s = 0; s < warmup + steps; ++s) {
    ctx.synchronize();
    const double t0 = now_s();
    RunResult r = model.run(batch, prompt, opt);
    ctx.synchronize();
    const double dt = now_s() - t0;
    if (s >= warmup) times.push_back(dt);
    loss = r.loss;
    if (backward) {
      gnorm = 0;
      for (int64_t i = 0; i < r.prompt_grad.numel(); ++i) gnorm += double(r.prompt_grad.f32()[i]) * r.prompt_grad.f32()[i];
      gnorm = std::sqrt(gnorm);
    }
  }
  std::sort(times.begin(), times.end());
  const double med = times[times.size() / 2];
  const double flops = model.count_flops(B, T, L, Tt, backward);
  const double tokens = static_cast<double>(B * (T + L + Tt));
  const MemoryReport mem = model.last_memory_report();
  const double peak = args.flag("no-peak") || ctx.backend() == Backend::Cuda ? 0 : measure_sgemm_gflops(2048, 3);
  if (args.flag("json")) {
    std::printf(
        "{\"backend\":\"%s\",\"batch\":%lld,\"input_len\":%lld,\"prompt_len\":%lld,\"target_len\":%lld,"
        "\"ms_per_step\":%.3f,\"min_ms\":%.3f,\"tokens_per_s\":%.1f,\"gflop_per_step\":%.3f,\"gflops\":%.2f,"
        "\"sgemm_peak_gflops\":%.2f,\"peak_rss_mb\":%.1f,\"loss\":%.6f,\"grad_norm\":%.6g,"
        "\"saved_activation_mb\":%.2f,\"full_backward_extra_mb\":%.2f,\"weight_grad_mb\":%.2f,\"peak_device_mb\":%.1f}\n",
        backend_name(ctx.backend()), (long long)B, (long long)T, (long long)L, (long long)Tt, med * 1e3,
        times.front() * 1e3, tokens / med, flops * 1e-9, flops / med * 1e-9, peak, peak_rss_mb(), loss, gnorm,
        mem.saved_activation_bytes / 1048576.0, mem.full_backward_extra_bytes / 1048576.0,
        mem.weight_gradient_bytes / 1048576.0, ctx.peak_device_bytes() / 1048576.0);
    return 0;
  }
  std::printf("spot bench step — %s, backend %s\n", model.name().c_str(), backend_name(ctx.backend()));
  std::printf("  batch %lld x (%lld input + %lld prompt) tokens, %lld target tokens, %s\n", (long long)B, (long long)T,
              (long long)L, (long long)Tt, backward ? "forward + backward to the prompt" : "forward only");
  std::printf("  ms/step      %9.2f  (median of %d; min %.2f)\n", med * 1e3, steps, times.front() * 1e3);
  std::printf("  tokens/s     %9.0f\n", tokens / med);
  std::printf("  GFLOP/step   %9.2f  achieved %.1f GFLOP/s", flops * 1e-9, flops / med * 1e-9);
  if (peak > 0) std::printf("  = %.0f%% of the sgemm peak %.1f GFLOP/s measured now", 100 * flops / med * 1e-9 / peak, peak);
  std::printf("\n  peak RSS     %9.1f MB\n", peak_rss_mb());
  if (ctx.backend() == Backend::Cuda) std::printf("  peak device  %9.1f MB\n", ctx.peak_device_bytes() / 1048576.0);
  std::printf("  loss %.4f, |dL/dprompt| %.4g\n", loss, gnorm);
  if (backward)
    std::printf(
        "  memory: activations kept for the prompt-only backward %.1f MB; a weight-gradient backward would keep "
        "%.1f MB more activations and %.1f MB of weight gradients (weights %.1f MB)\n",
        mem.saved_activation_bytes / 1048576.0, mem.full_backward_extra_bytes / 1048576.0,
        mem.weight_gradient_bytes / 1048576.0, mem.weight_bytes / 1048576.0);
  return 0;
}

}  // namespace spot::cli
