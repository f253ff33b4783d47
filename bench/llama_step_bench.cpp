// llama_step_bench.cpp — one prompt-tuning step (forward + backward to the prompt) of a frozen
// Llama at SmolLM2-135M shapes with random weights, on the shared-prefix path and the replicated
// path, and the gain of sharing the prefix. Default shapes: batch 8, 64 tokens per example (56
// input + 8 target), prompt 20.
//   build/bench/spot_llama_step_bench [--benchmark_filter=step] [--benchmark_min_time=...]
// llama_{step,forward}_ab/pairs print the gain: shared-prefix and replicated runs timed alternately.
// Environment: SPOT_BENCH_BACKEND=cpu|cuda (default cpu), SPOT_BENCH_THREADS (default all cores),
// SPOT_BENCH_BATCH, SPOT_BENCH_INPUT, SPOT_BENCH_TARGET, SPOT_BENCH_PROMPT, SPOT_BENCH_LAYERS
// (default 30), SPOT_BENCH_PAIRS (interleaved pairs for the gain, default 4).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>

#include "bench/machine_context.h"
#include "model/llama/llama_model.h"

using namespace spot;

namespace {

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoll(v) : fallback;
}

struct Setup {
  std::unique_ptr<Context> ctx;
  std::unique_ptr<LlamaModel> model;
  PromptBatch batch;
  Tensor prompt;
  int64_t B, T_in, T_tgt, L;
};

Setup& setup() {
  static Setup s = [] {
    Setup s;
    const char* be = std::getenv("SPOT_BENCH_BACKEND");
    s.ctx = std::make_unique<Context>(backend_from_name(be && *be ? be : "cpu"));
    if (const int64_t th = env_int("SPOT_BENCH_THREADS", 0)) s.ctx->set_cpu_threads(static_cast<int>(th));
    LlamaConfig c = LlamaConfig::smollm2_135m();
    c.num_hidden_layers = env_int("SPOT_BENCH_LAYERS", c.num_hidden_layers);
    s.model = std::make_unique<LlamaModel>(*s.ctx, LlamaWeights::load(c, RandomTensorSource(1), s.ctx->device()));
    s.B = env_int("SPOT_BENCH_BATCH", 8);
    s.T_in = env_int("SPOT_BENCH_INPUT", 56);
    s.T_tgt = env_int("SPOT_BENCH_TARGET", 8);
    s.L = env_int("SPOT_BENCH_PROMPT", 20);
    std::mt19937 rng(5);
    std::uniform_int_distribution<int32_t> tok(3, static_cast<int32_t>(c.vocab_size - 1));
    for (int64_t b = 0; b < s.B; ++b) {
      std::vector<int32_t> in(s.T_in), tg(s.T_tgt);
      for (auto& x : in) x = tok(rng);
      for (auto& x : tg) x = tok(rng);
      s.batch.inputs.push_back(in);
      s.batch.targets.push_back(tg);
    }
    s.prompt = RandomTensorSource(2, 0.5f).load_f32("prompt", {s.L, c.hidden_size});
    return s;
  }();
  return s;
}

void llama_step(benchmark::State& state, LlamaPromptPath path, bool backward) {
  Setup& s = setup();
  s.model->set_prompt_path(path);
  RunOptions opt;
  opt.backward = backward;
  double loss = 0;
  for (auto _ : state) {
    RunResult r = s.model->run(s.batch, s.prompt, opt);
    s.ctx->synchronize();
    loss = r.loss;
  }
  const int64_t seq = s.T_in + s.T_tgt - 1;
  const double flops = s.model->count_flops(s.B, seq, s.L, s.T_tgt, backward);
  state.counters["GFLOP/step"] = flops * 1e-9;
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["loss"] = loss;
  if (backward) state.counters["saved_act_MB"] = s.model->last_memory_report().saved_activation_bytes / 1048576.0;
  state.SetLabel(std::string(llama_prompt_path_name(path)) + ", " + s.model->name());
}

// The gain, measured robustly on a shared machine: shared-prefix and replicated steps alternate
// (order swapped every pair), so load drift hits both; reports the medians and the median of the
// per-pair time ratios.
void llama_step_ab(benchmark::State& state, bool backward) {
  Setup& s = setup();
  RunOptions opt;
  opt.backward = backward;
  std::vector<double> shared_ms, repl_ms, ratio;
  auto time_one = [&](LlamaPromptPath p) {
    s.model->set_prompt_path(p);
    const auto t0 = std::chrono::steady_clock::now();
    s.model->run(s.batch, s.prompt, opt);
    s.ctx->synchronize();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  for (auto _ : state) {
    const bool shared_first = shared_ms.size() % 2 == 0;
    double a = 0, b = 0;
    if (shared_first) {
      a = time_one(LlamaPromptPath::SharedPrefix);
      b = time_one(LlamaPromptPath::Replicated);
    } else {
      b = time_one(LlamaPromptPath::Replicated);
      a = time_one(LlamaPromptPath::SharedPrefix);
    }
    shared_ms.push_back(a);
    repl_ms.push_back(b);
    ratio.push_back(b / a);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : (v[(v.size() - 1) / 2] + v[v.size() / 2]) / 2;
  };
  const int64_t seq = s.T_in + s.T_tgt - 1;
  s.model->set_prompt_path(LlamaPromptPath::SharedPrefix);
  const double fs = s.model->count_flops(s.B, seq, s.L, s.T_tgt, backward);
  s.model->set_prompt_path(LlamaPromptPath::Replicated);
  const double fr = s.model->count_flops(s.B, seq, s.L, s.T_tgt, backward);
  const double ms_s = median(shared_ms), ms_r = median(repl_ms), gain = median(ratio);
  state.counters["shared_ms"] = ms_s;
  state.counters["replicated_ms"] = ms_r;
  state.counters["speedup"] = gain;
  std::printf(
      "\nllama %s, batch %lld x (%lld input + %lld target tokens), prompt %lld, %zu interleaved pairs:\n"
      "  replicated     %9.1f ms/step  %7.2f GFLOP/step  %6.1f GFLOP/s\n"
      "  shared-prefix  %9.1f ms/step  %7.2f GFLOP/step  %6.1f GFLOP/s\n"
      "  speedup %.2fx (median of per-pair ratios); FLOPs %.1f%% fewer\n\n",
      backward ? "step (forward + backward to the prompt)" : "forward", (long long)s.B, (long long)s.T_in,
      (long long)s.T_tgt, (long long)s.L, ratio.size(), ms_r, fr * 1e-9, fr / ms_r * 1e-6, ms_s, fs * 1e-9,
      fs / ms_s * 1e-6, gain, 100.0 * (1.0 - fs / fr));
}

}  // namespace

int main(int argc, char** argv) {
  for (LlamaPromptPath p : {LlamaPromptPath::SharedPrefix, LlamaPromptPath::Replicated}) {
    const std::string path = llama_prompt_path_name(p);
    benchmark::RegisterBenchmark(("llama_step/" + path).c_str(), llama_step, p, true)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->MinWarmUpTime(1e-3);  // one untimed step first (allocations, first touch)
    benchmark::RegisterBenchmark(("llama_forward/" + path).c_str(), llama_step, p, false)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->MinWarmUpTime(1e-3);
  }
  const int64_t pairs = env_int("SPOT_BENCH_PAIRS", 4);
  for (bool backward : {true, false})
    benchmark::RegisterBenchmark(backward ? "llama_step_ab/pairs" : "llama_forward_ab/pairs", llama_step_ab, backward)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(pairs);
  benchmark::Initialize(&argc, argv);
  spot::bench::add_machine_context();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
