// parity.h — the registry-driven op parity harness (after ggml's test-backend-ops).
//
// Every op case declares its inputs (random, never zeros), its outputs (overwritten ones are
// poisoned with NaN before the run and must all be written; accumulated ones start from random
// values), FLOPs and bytes, and a tolerance keyed by dtype. The harness runs the case on the CPU
// reference, then on the backend under test (CPU fast path, CUDA), with guard sentinels after every
// output, and compares ‖out − ref‖ / ‖ref‖. The same cases drive a finite-difference gradient mode
// (cases that declare an objective) and a perf mode (bench/ops_bench.cpp).
#pragma once

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "base/context.h"

namespace spot::parity {

using Rng = std::mt19937_64;

// Random tensors for case inputs.
Tensor randn(Rng& rng, const Shape& shape, float stddev = 1.0f, float mean = 0.0f);
Tensor randu(Rng& rng, const Shape& shape, float lo, float hi);
Tensor randint(Rng& rng, const Shape& shape, int32_t lo, int32_t hi);  // [lo, hi)

struct Output {
  Tensor init;             // host tensor: shape and dtype, and the starting values when !overwrite
  bool overwrite = true;   // poisoned with NaN before the run; every element must be written
};

using Inputs = std::vector<Tensor>;
using Outputs = std::vector<Tensor>;

struct Case {
  std::string op;    // e.g. "linear_forward"
  std::string name;  // e.g. "n37_k53_m29"
  std::function<Inputs(Rng&)> make_inputs;
  std::function<std::vector<Output>(const Inputs&, Rng&)> make_outputs;
  std::function<void(Context&, const Inputs&, Outputs&)> run;
  double flops = 0;  // per run
  double bytes = 0;  // minimum bytes moved per run (inputs read once, outputs written once)
  double tol = 0;    // ‖out − ref‖ / ‖ref‖ bound; 0 = the default for the dtype (tolerance_for)
  // Finite-difference mode: objective(inputs) = a scalar computed with the reference forward;
  // the case's output `fd_grad_output` must equal d objective / d inputs[fd_wrt_input].
  std::function<double(const Inputs&)> fd_objective;
  int fd_wrt_input = -1;
  int fd_grad_output = -1;
  std::vector<DType> dtypes_cuda;  // extra dtype variants are separate cases; informational

  std::string id() const { return op + "/" + name; }
};

// The tolerance policy: f32 1e-5 (reordered fp32 sums), tf32 5e-4, f16 2e-3, bf16 1.5e-2 (relative L2).
double tolerance_for(DType t);

std::vector<Case>& registry();
const std::vector<Case>& all_cases();  // registers every op's cases on first use

struct Result {
  bool ok = true;
  bool skipped = false;
  std::string message;  // failure or skip reason
  double rel_err = 0;   // worst output
};

// Runs `c` on `backend` against the CPU reference. Failed cases dump their tensors to
// `dump_dir`/<op>_<name>_<backend>.txt.
Result check_case(const Case& c, Backend backend, uint64_t seed = 1234, const std::string& dump_dir = "parity_failures");
// Central finite differences of the case's objective at a sample of input elements against its
// reference-backend gradient output.
Result check_case_fd(const Case& c, uint64_t seed = 1234, int samples = 12);

}  // namespace spot::parity
