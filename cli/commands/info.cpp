// info.cpp — `spot info` (what this build can run on, here) and `spot --version` (what was built).
#include <omp.h>

#include <cstdio>

#include "base/cpu_features.h"
#include "base/tensor.h"
#include "cli/commands.h"
#include "kernels/gemm.h"
#include "spot_build_info.h"

namespace spot::cli {

namespace {

// The GEMM provider, the kernels it runs here (and whether they are what this CPU can do), and bf16.
void print_gemm_provider() { std::printf("gemm: %s\n", gemm_provider().describe().c_str()); }

}  // namespace

int print_version() {
  std::printf("spot %s\n", SPOT_VERSION);
  std::printf("commit: %s\n", SPOT_GIT_COMMIT);
  std::printf("build: %s, %s, sanitizers: %s\n", SPOT_BUILD_TYPE, SPOT_COMPILER, SPOT_SANITIZERS);
  std::printf("backends: ref, cpu (OpenMP)%s%s\n", SPOT_WITH_CUDA ? ", cuda (archs " : "; cuda not built",
              SPOT_WITH_CUDA ? SPOT_CUDA_ARCHS ")" : "");
  print_gemm_provider();
  return 0;
}

int cmd_info(const std::vector<std::string>& argv) {
  Args args("info",
            "Prints the build configuration (CUDA backend built or not), whether a CUDA device is present, the CPU and "
            "the instruction sets it offers, the CPU threads the kernels use, the GEMM provider with the kernels it "
            "runs here, and the provider's fp32 and bf16 GEMM peaks measured now (2048^3, about a second each).");
  args.flag("no-peak", "skip the GEMM peak measurements");
  if (!args.parse(argv)) return 0;
  std::printf("spot: CUDA backend %s\n", SPOT_WITH_CUDA ? "built" : "not built");
  std::printf("cuda device: %s\n", cuda_available() ? "present" : "none");
  const CpuFeatures& cpu = cpu_features();
  std::printf("cpu: %s\ncpu flags: %s\n", cpu.describe().c_str(), cpu.flags().c_str());
  std::printf("cpu threads: %d\n", omp_get_max_threads());
  print_gemm_provider();
  if (!args.flag("no-peak")) {
    std::printf("gemm peak fp32: %.1f GFLOP/s (2048^3, %d threads)\n", measure_gemm_f32_peak(), omp_get_max_threads());
    std::printf("gemm peak bf16: %.1f GFLOP/s (2048^3, %d threads; fp32 accumulation)\n", measure_gemm_bf16_peak(),
                omp_get_max_threads());
  }
  return 0;
}

}  // namespace spot::cli
