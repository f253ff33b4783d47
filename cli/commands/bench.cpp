// bench.cpp — `spot bench step`: times one prompt-tuning step (forward + backward to the prompt) of a
// frozen T5 with random weights at T5-small shapes, or of a real backbone with --model (e.g. SmolLM2-135M
// on the shared-prefix or replicated prompt path), and reports ms/step, tokens/s, achieved GFLOP/s
// against the sgemm peak measured in the same run, and peak RSS. `spot bench generate`: prefill and
// decode rates of greedy generation with a Llama-family backbone (bench/compare_pytorch_llama.py).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <random>
#include <vector>

#include "cli/commands.h"
#include "cli/commands/backbone_args.h"
#include "kernels/gemm.h"
#include "model/llama/llama_model.h"
#include "model/t5/t5_model.h"
#include "prompt/soft_prompt.h"

namespace spot::cli {

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Best-of-N sgemm rate of the GEMM provider at a large square size: the ceiling the step's GEMMs run against.
double measure_sgemm_gflops(int n, int reps) {
  std::vector<float> a(size_t(n) * n), b(size_t(n) * n), c(size_t(n) * n);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  for (auto* v : {&a, &b})
    for (float& x : *v) x = u(rng);
  double best = 0;
  for (int r = 0; r < reps + 1; ++r) {
    const double t0 = now_s();
    gemm_f32(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    const double dt = now_s() - t0;
    if (r > 0) best = std::max(best, 2.0 * n * n * n / dt * 1e-9);
  }
  return best;
}

// What every benchmark names: the CPU and the GEMM provider with the kernels it runs.
std::string machine_json() {
  return "\"cpu\":\"" + cpu_features().describe() + "\",\"gemm\":\"" + gemm_provider().describe() + "\",";
}

void print_machine() {
  std::printf("  cpu          %s\n  gemm         %s\n", cpu_features().describe().c_str(), gemm_provider().describe().c_str());
}

// This process's peak resident set: VmHWM, which starts afresh at exec. (getrusage's ru_maxrss does
// not: a spot started by a 1.7 GB Python benchmark reported the parent's 1.7 GB.)
double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // "VmHWM:   123456 kB"
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string join_ms(const std::vector<double>& seconds) {
  std::string s;
  char buf[32];
  for (double x : seconds) {
    std::snprintf(buf, sizeof buf, "%.3f", x * 1e3);
    if (!s.empty()) s += ',';
    s += buf;
  }
  return s;
}

// B examples of T input and Tt target token ids drawn from 3..vocab-1 (seed 5); eos >= 0 ends every
// input and target with it.
PromptBatch random_batch(int64_t B, int64_t T, int64_t Tt, int64_t vocab, int32_t eos) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int32_t> tok(3, static_cast<int32_t>(vocab - 1));
  PromptBatch batch;
  for (int64_t b = 0; b < B; ++b) {
    std::vector<int32_t> in(T), tg(Tt);
    for (auto& x : in) x = tok(rng);
    for (auto& x : tg) x = tok(rng);
    if (eos >= 0) in.back() = tg.back() = eos;
    batch.inputs.push_back(in);
    batch.targets.push_back(tg);
  }
  return batch;
}

struct TimedSteps {
  std::vector<double> seconds;  // of the timed steps, in run order
  double loss = 0, grad_norm = 0;  // of the last step (grad_norm 0 when forward only)
};

// warmup + steps runs of the step, the device synchronised around each; the last `steps` are timed.
TimedSteps time_steps(Context& ctx, FrozenBackbone& model, const PromptBatch& batch, const Tensor& prompt,
                      bool backward, int warmup, int steps) {
  RunOptions opt;
  opt.backward = backward;
  TimedSteps t;
  for (int s = 0; s < warmup + steps; ++s) {
    ctx.synchronize();
    const double t0 = now_s();
    RunResult r = model.run(batch, prompt, opt);
    ctx.synchronize();
    if (s >= warmup) t.seconds.push_back(now_s() - t0);
    t.loss = r.loss;
    if (backward) {
      t.grad_norm = 0;
      for (int64_t i = 0; i < r.prompt_grads[0].numel(); ++i)
        t.grad_norm += double(r.prompt_grads[0].f32()[i]) * r.prompt_grads[0].f32()[i];
      t.grad_norm = std::sqrt(t.grad_norm);
    }
  }
  return t;
}

void reject_random_model_options(const Args& args, const char* what) {
  for (const char* o : {"d-model", "layers", "vocab"})
    SPOT_CHECK(!args.get(o), "spot bench " << what << ": --" << o << " applies to the random T5 (no --model) only");
}

// `spot bench step --model SPEC`: the step on a real backbone (its weights, its vocabulary), with a
// soft prompt initialised from the 5,000 most common tokens and random token ids of the given shape.
// Llama: --prompt-path shared|replicated picks the prompt path (llama_model.h).
int bench_model_step(const Args& args) {
  const int64_t B = args.get_int("batch", 8), T = args.get_int("input-len", 56), L = args.get_int("prompt-len", 20),
                Tt = args.get_int("target-len", 8);
  const int steps = static_cast<int>(args.get_int("steps", 5)), warmup = static_cast<int>(args.get_int("warmup", 1));
  SPOT_CHECK(B >= 1 && T >= 1 && L >= 1 && Tt >= 1 && steps >= 1 && warmup >= 0,
             "spot bench step: --batch, --input-len, --prompt-len, --target-len, --steps must be >= 1");
  const bool backward = !args.flag("forward-only");
  reject_random_model_options(args, "step");
  SPOT_CHECK(!args.get("max-new") && !args.get("repeat"), "spot bench step: --max-new and --repeat are for bench generate");
  OpenedBackbone ob = open_backbone(args);
  FrozenBackbone& model = *ob.backbone.model;
  Context& ctx = *ob.ctx;
  auto* llama = dynamic_cast<LlamaModel*>(&model);
  auto* t5 = dynamic_cast<T5Model*>(&model);
  SPOT_CHECK(llama || t5, "spot bench step: no FLOP count for " << model.name());

  const PromptBatch batch = random_batch(B, T, Tt, ob.backbone.codec->vocab_size(), -1);
  Tensor prompt = ob.prompt;
  if (!prompt.defined()) {
    PromptInit init;
    init.vocab_ids = ob.backbone.codec->common_token_ids(5000);
    init.seed = 2;
    prompt = SoftPrompt::init(L, model.input_embeddings_host(), init).values;
  }
  SPOT_CHECK(prompt.ndim() == 2, ob.prompt_file << ": a deep prompt; spot bench step times input-depth prompts "
                                                 << "(its FLOP count is theirs)");
  SPOT_CHECK(prompt.dim(0) == L, ob.prompt_file << ": the prompt has " << prompt.dim(0) << " rows, --prompt-len is " << L);
  const TimedSteps ts = time_steps(ctx, model, batch, prompt, backward, warmup, steps);
  const std::vector<double>& times = ts.seconds;
  const double loss = ts.loss, gnorm = ts.grad_norm;
  const double med = median(times);
  // Llama counts token positions (inputs + targets − 1); T5 the encoder input length.
  const double flops = llama ? llama->count_flops(B, T + Tt - 1, L, Tt, backward) : t5->count_flops(B, T, L, Tt, backward);
  const double tokens = static_cast<double>(B * (T + L + Tt));
  const std::string path = llama ? llama_prompt_path_name(llama->prompt_path()) : "encoder";
  const double peak = args.flag("no-peak") || ctx.backend() == Backend::Cuda ? 0 : measure_sgemm_gflops(2048, 3);
  const double peak16 = args.flag("no-peak") || ctx.backend() == Backend::Cuda || model.precision() != Precision::Bf16
                            ? 0
                            : measure_gemm_bf16_peak();
  if (args.flag("json")) {
    std::printf(
        "{%s\"precision\":\"%s\",\"model\":\"%s\",\"prompt_path\":\"%s\",\"backend\":\"%s\",\"threads\":%d,\"batch\":%lld,"
        "\"input_len\":%lld,\"prompt_len\":%lld,\"target_len\":%lld,\"steps\":%d,\"ms_per_step\":%.3f,"
        "\"min_ms\":%.3f,\"max_ms\":%.3f,\"tokens_per_s\":%.1f,\"gflop_per_step\":%.3f,\"gflops\":%.2f,"
        "\"sgemm_peak_gflops\":%.2f,\"bf16_gemm_peak_gflops\":%.2f,\"peak_rss_mb\":%.1f,\"loss\":%.6f,\"grad_norm\":%.6g}\n",
        machine_json().c_str(), precision_name(model.precision()), ob.backbone.spec.c_str(), path.c_str(),
        backend_name(ctx.backend()), ctx.cpu_threads(), (long long)B,
        (long long)T, (long long)L, (long long)Tt, steps, med * 1e3, *std::min_element(times.begin(), times.end()) * 1e3,
        *std::max_element(times.begin(), times.end()) * 1e3, tokens / med, flops * 1e-9, flops / med * 1e-9, peak,
        peak16, peak_rss_mb(), loss, gnorm);
    return 0;
  }
  std::printf("spot bench step — %s (%s), prompt path %s, backend %s\n", model.name().c_str(), ob.backbone.spec.c_str(),
              path.c_str(), backend_name(ctx.backend()));
  std::printf("  batch %lld x (%lld input + %lld prompt) tokens, %lld target tokens, %s\n", (long long)B, (long long)T,
              (long long)L, (long long)Tt, backward ? "forward + backward to the prompt" : "forward only");
  std::printf("  ms/step      %9.2f  (median of %d; min %.2f, max %.2f)\n", med * 1e3, steps,
              *std::min_element(times.begin(), times.end()) * 1e3, *std::max_element(times.begin(), times.end()) * 1e3);
  std::printf("  tokens/s     %9.0f\n", tokens / med);
  std::printf("  GFLOP/step   %9.2f  achieved %.1f GFLOP/s", flops * 1e-9, flops / med * 1e-9);
  if (peak > 0) std::printf("  = %.0f%% of the sgemm peak %.1f GFLOP/s measured now", 100 * flops / med * 1e-9 / peak, peak);
  if (peak16 > 0)
    std::printf(", %.0f%% of the bf16 GEMM peak %.1f", 100 * flops / med * 1e-9 / peak16, peak16);
  std::printf("\n");
  if (ctx.backend() != Backend::Cuda) print_machine();
  std::printf("  peak RSS     %9.1f MB\n  loss %.4f, |dL/dprompt| %.4g\n", peak_rss_mb(), loss, gnorm);
  return 0;
}

// `spot bench generate TEXT`: greedy generation of --max-new tokens (end-of-turn ignored, so every
// run makes the same number), --warmup + --repeat times in this process; median prefill and decode
// times. Prefill = the forward over the prompt rows and input tokens up to the first new token;
// decode = the forwards after it (max-new − 1 of them).
int bench_generate(const Args& args) {
  SPOT_CHECK(args.positional().size() >= 2, "spot bench generate: no input text (spot bench generate [options] TEXT)");
  std::string text;
  for (size_t i = 1; i < args.positional().size(); ++i) {
    if (!text.empty()) text += ' ';
    text += args.positional()[i];
  }
  const int64_t max_new = args.get_int("max-new", 64);
  const int repeat = static_cast<int>(args.get_int("repeat", 3)), warmup = static_cast<int>(args.get_int("warmup", 1));
  SPOT_CHECK(max_new >= 2 && repeat >= 1 && warmup >= 0, "spot bench generate: --max-new >= 2, --repeat >= 1");
  reject_random_model_options(args, "generate");
  OpenedBackbone ob = open_backbone(args);
  auto* llama = dynamic_cast<LlamaModel*>(ob.backbone.model.get());
  SPOT_CHECK(llama, "spot bench generate: " << ob.backbone.model->name() << " is not a Llama-family model");
  const std::vector<int32_t> ids = ob.backbone.codec->encode_input(text);
  std::vector<double> prefill, decode;
  std::vector<int32_t> out;
  for (int r = 0; r < warmup + repeat; ++r) {
    double t_first = 0, t_last = 0;
    int64_t n = 0;
    const double t0 = now_s();
    out = llama->generate(ob.prompt, ids, max_new, /*stop_id=*/-1, [&](int32_t) {
      const double t = now_s() - t0;
      if (n++ == 0) t_first = t;
      t_last = t;
    }, ob.prompt_depth);
    if (r >= warmup) {
      prefill.push_back(t_first);
      decode.push_back(t_last - t_first);
    }
  }
  const int64_t L = ob.prompt.defined() ? ob.prompt.dim(-2) : 0, steps = static_cast<int64_t>(out.size()) - 1;
  const double p = median(prefill), d = median(decode);
  std::string id_list;
  for (int32_t t : out) {
    if (!id_list.empty()) id_list += ',';
    id_list += std::to_string(t);
  }
  if (args.flag("json")) {
    std::printf(
        "{%s\"model\":\"%s\",\"backend\":\"%s\",\"threads\":%d,\"input_tokens\":%zu,\"prompt_len\":%lld,"
        "\"new_tokens\":%zu,\"repeat\":%d,\"prefill_ms\":%.3f,\"decode_ms\":%.3f,\"prefill_tokens_per_s\":%.2f,"
        "\"decode_tokens_per_s\":%.2f,\"prefill_ms_all\":[%s],\"decode_ms_all\":[%s],\"ids\":[%s]}\n",
        machine_json().c_str(), ob.backbone.spec.c_str(), backend_name(ob.ctx->backend()), ob.ctx->cpu_threads(),
        ids.size(), (long long)L,
        out.size(), repeat, p * 1e3, d * 1e3, (L + ids.size()) / p, steps / d,
        join_ms(prefill).c_str(), join_ms(decode).c_str(), id_list.c_str());
    return 0;
  }
  std::printf("spot bench generate — %s, backend %s, %zu input tokens", ob.backbone.model->name().c_str(),
              backend_name(ob.ctx->backend()), ids.size());
  if (L) std::printf(" + %lld soft-prompt rows", (long long)L);
  std::printf(", %zu new tokens, median of %d\n", out.size(), repeat);
  std::printf("  prefill  %9.1f ms  %8.1f tokens/s\n", p * 1e3, (L + ids.size()) / p);
  std::printf("  decode   %9.1f ms  %8.1f tokens/s (%lld steps)\n", d * 1e3, steps / d, (long long)steps);
  if (ob.ctx->backend() != Backend::Cuda) print_machine();
  return 0;
}

}  // namespace

int cmd_bench(const std::vector<std::string>& argv) {
  Args args("bench",
            "step (default): times forward + backward to the prompt (median of --steps after --warmup), prints ms/step, "
            "GFLOP/s and the share of the sgemm peak measured in the same run, and the memory the prompt-only "
            "backward keeps; without --model it runs a random T5-small, with --model that backbone. generate TEXT: "
            "greedy decoding speed (prefill and decode) of a Llama-family --model from TEXT.");
  args.positional("step|generate [TEXT]", "the benchmark (default step), and generate's input text")
      .option("batch", "N", "step: examples", "8")
      .option("input-len", "T", "step: input tokens", "128")
      .option("prompt-len", "L", "step: prompt vectors", "100")
      .option("target-len", "Tt", "step: target tokens", "8")
      .option("steps", "N", "step: timed steps", "5")
      .option("warmup", "N", "step: untimed steps first", "1")
      .flag("forward-only", "step: no backward")
      .flag("no-peak", "step: skip the sgemm peak measurement")
      .option("d-model", "D", "step: random T5 width", "512 (T5-small)")
      .option("layers", "N", "step: random T5 layers (encoder and decoder each)", "6 (T5-small)")
      .option("vocab", "V", "step: random T5 vocabulary", "32128 (T5-small)")
      .option("max-new", "N", "generate: new tokens", "64")
      .option("repeat", "N", "generate: timed repetitions", "3")
      .flag("json", "one JSON object instead of the table");
  add_backbone_options(args);
  if (!args.parse(argv)) return 0;
  const std::string what = args.positional().empty() ? "step" : args.positional()[0];
  SPOT_CHECK(what == "step" || what == "generate",
             "spot bench: unknown benchmark '" << what << "' (available: step, generate)");
  if (what == "generate") return bench_generate(args);
  if (args.get("model")) return bench_model_step(args);
  for (const char* o : {"prompt", "cache", "prompt-path", "max-new", "repeat"})
    SPOT_CHECK(!args.get(o), "spot bench step: --" << o << " needs --model (without it the step runs a random T5-small)");
  SPOT_CHECK(!args.flag("chat"), "spot bench step: --chat needs --model");
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
  const Precision precision = parse_precision(args.get_or("precision", "fp32"));
  T5Model model(ctx, T5Weights::load(c, RandomTensorSource(1, 0.05f, {"lm_head.weight"}), ctx.device()), precision);

  const PromptBatch batch = random_batch(B, T, Tt, c.vocab_size, c.eos_token_id);
  Tensor prompt = RandomTensorSource(2, 0.5f).load_f32("prompt", {L, c.d_model});
  const TimedSteps ts = time_steps(ctx, model, batch, prompt, backward, warmup, steps);
  std::vector<double> times = ts.seconds;
  const double loss = ts.loss, gnorm = ts.grad_norm;
  std::sort(times.begin(), times.end());  // times.front() is the fastest step
  const double med = median(times);
  const double flops = model.count_flops(B, T, L, Tt, backward);
  const double tokens = static_cast<double>(B * (T + L + Tt));
  const MemoryReport mem = model.last_memory_report();
  const double peak = args.flag("no-peak") || ctx.backend() == Backend::Cuda ? 0 : measure_sgemm_gflops(2048, 3);
  const double peak16 =
      args.flag("no-peak") || ctx.backend() == Backend::Cuda || precision != Precision::Bf16 ? 0 : measure_gemm_bf16_peak();
  if (args.flag("json")) {
    std::printf(
        "{%s\"precision\":\"%s\",\"backend\":\"%s\",\"batch\":%lld,\"input_len\":%lld,\"prompt_len\":%lld,\"target_len\":%lld,"
        "\"ms_per_step\":%.3f,\"min_ms\":%.3f,\"tokens_per_s\":%.1f,\"gflop_per_step\":%.3f,\"gflops\":%.2f,"
        "\"sgemm_peak_gflops\":%.2f,\"bf16_gemm_peak_gflops\":%.2f,\"peak_rss_mb\":%.1f,\"loss\":%.6f,\"grad_norm\":%.6g,"
        "\"saved_activation_mb\":%.2f,\"full_backward_extra_mb\":%.2f,\"weight_grad_mb\":%.2f,\"peak_device_mb\":%.1f}\n",
        machine_json().c_str(), precision_name(precision), backend_name(ctx.backend()), (long long)B, (long long)T, (long long)L, (long long)Tt,
        med * 1e3, times.front() * 1e3, tokens / med, flops * 1e-9, flops / med * 1e-9, peak, peak16, peak_rss_mb(), loss, gnorm,
        mem.saved_activation_bytes / 1048576.0, mem.full_backward_extra_bytes / 1048576.0,
        mem.weight_gradient_bytes / 1048576.0, ctx.peak_device_bytes() / 1048576.0);
    return 0;
  }
  std::printf("spot bench step — %s, backend %s, precision %s\n", model.name().c_str(), backend_name(ctx.backend()),
              precision_name(precision));
  std::printf("  batch %lld x (%lld input + %lld prompt) tokens, %lld target tokens, %s\n", (long long)B, (long long)T,
              (long long)L, (long long)Tt, backward ? "forward + backward to the prompt" : "forward only");
  std::printf("  ms/step      %9.2f  (median of %d; min %.2f)\n", med * 1e3, steps, times.front() * 1e3);
  std::printf("  tokens/s     %9.0f\n", tokens / med);
  std::printf("  GFLOP/step   %9.2f  achieved %.1f GFLOP/s", flops * 1e-9, flops / med * 1e-9);
  if (peak > 0) std::printf("  = %.0f%% of the sgemm peak %.1f GFLOP/s measured now", 100 * flops / med * 1e-9 / peak, peak);
  if (peak16 > 0)
    std::printf(", %.0f%% of the bf16 GEMM peak %.1f", 100 * flops / med * 1e-9 / peak16, peak16);
  std::printf("\n");
  if (ctx.backend() != Backend::Cuda) print_machine();
  std::printf("  peak RSS     %9.1f MB\n", peak_rss_mb());
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
