// ops_bench.cpp — perf mode of the parity registry: every op case on each available backend,
// reporting achieved GFLOP/s and GB/s from the FLOPs and bytes the case declares.
//   build/bench/spot_ops_bench --benchmark_filter=attention
#include <benchmark/benchmark.h>

#include "bench/machine_context.h"
#include "tests/parity/parity.h"

using namespace spot;
using namespace spot::parity;

static void run_case(benchmark::State& state, const Case* c, Backend backend) {
  Context ctx(backend);
  Rng rng(7);
  const Inputs host_in = c->make_inputs(rng);
  Inputs in;
  for (const Tensor& t : host_in) in.push_back(t.defined() ? t.to(ctx.device()) : Tensor());
  Outputs out;
  for (const Output& o : c->make_outputs(host_in, rng)) out.push_back(o.init.to(ctx.device()));
  c->run(ctx, in, out);  // warm-up
  ctx.synchronize();
  for (auto _ : state) {
    c->run(ctx, in, out);
    ctx.synchronize();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(c->flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GB/s"] = benchmark::Counter(c->bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

int main(int argc, char** argv) {
  std::vector<Backend> backends = {Backend::CpuFast};
  if (cuda_available()) backends.push_back(Backend::Cuda);
  for (const Case& c : all_cases())
    for (Backend b : backends)
      benchmark::RegisterBenchmark((std::string(backend_name(b)) + "/" + c.id()).c_str(), run_case, &c, b)
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
  benchmark::Initialize(&argc, argv);
  spot::bench::add_machine_context();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
