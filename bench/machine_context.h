// machine_context.h — what every Google Benchmark binary of bench/ prints in its context header
// (and its JSON "context"): the CPU, its instruction sets, the GEMM provider with the kernels it runs,
// and the provider's fp32 and bf16 peaks measured at the start of the run (2048³, current threads).
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

#include "base/cpu_features.h"
#include "kernels/gemm.h"

namespace spot::bench {

inline void add_machine_context(bool measure_peaks = true) {
  benchmark::AddCustomContext("cpu", cpu_features().describe());
  benchmark::AddCustomContext("cpu_flags", cpu_features().flags());
  benchmark::AddCustomContext("gemm", gemm_provider().describe());
  if (!measure_peaks) return;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f GFLOP/s", measure_gemm_f32_peak(2048, 1.0));
  benchmark::AddCustomContext("gemm_peak_fp32", buf);
  std::snprintf(buf, sizeof buf, "%.1f GFLOP/s", measure_gemm_bf16_peak(2048, 1.0));
  benchmark::AddCustomContext("gemm_peak_bf16", buf);
}

}  // namespace spot::bench
