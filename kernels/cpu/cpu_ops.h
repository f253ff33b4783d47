// cpu_ops.h — the CPU backends of every op: `_ref` (plain loops, fp64 accumulation, never
// optimised: the oracle) and `_fast` (the GEMM provider of kernels/gemm.h + OpenMP). Arguments are already checked by the
// dispatchers in kernels/<op>.cpp.
#pragma once

#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/embedding.h"
#include "base/context.h"

namespace spot::cpu {

// Every op of kernels/ops.inc, twice.
#define SPOT_OP(name, ...)      \
  void name##_ref(__VA_ARGS__); \
  void name##_fast(__VA_ARGS__);
#include "kernels/ops.inc"
#undef SPOT_OP

}  // namespace spot::cpu
