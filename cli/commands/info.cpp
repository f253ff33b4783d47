// info.cpp — `spot info` (what this build can run on, here) and `spot --version` (what was built).
#include <cblas.h>
#include <omp.h>

#include <cstdio>

#include "base/tensor.h"
#include "cli/commands.h"
#include "spot_build_info.h"

namespace spot::cli {

namespace {

// OpenBLAS names its build ("OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY ...") and the kernel core it
// chose for this CPU ("SkylakeX", "Zen", or "Prescott" when it does not know the CPU).
void print_gemm_provider() {
  std::printf("gemm: %s, core %s\n", openblas_get_config(), openblas_get_corename());
}

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
            "Prints the build configuration (CUDA backend built or not), whether a CUDA device is present, the CPU "
            "threads the kernels use and the GEMM provider with the core it chose.");
  if (!args.parse(argv)) return 0;
  std::printf("spot: CUDA backend %s\n", SPOT_WITH_CUDA ? "built" : "not built");
  std::printf("cuda device: %s\n", cuda_available() ? "present" : "none");
  std::printf("cpu threads: %d\n", omp_get_max_threads());
  print_gemm_provider();
  return 0;
}

}  // namespace spot::cli
