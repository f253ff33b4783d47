// info.cpp — `spot info`: what this build of spot can run on.
#include <omp.h>

#include <cstdio>

#include "cli/commands.h"
#include "base/tensor.h"

namespace spot::cli {

int cmd_info(const std::vector<std::string>& argv) {
  if (!argv.empty() && (argv[0] == "--help" || argv[0] == "-h")) {
    std::printf("usage: spot info\n\nPrints the build configuration (CUDA backend built or not), whether a CUDA device is\n"
                "present, and the CPU threads the kernels use.\n");
    return 0;
  }
  Args args(argv, {}, {});
  std::printf("spot: CUDA backend %s\n", SPOT_WITH_CUDA ? "built" : "not built");
  std::printf("cuda device: %s\n", cuda_available() ? "present" : "none");
  std::printf("cpu threads: %d\n", omp_get_max_threads());
  return 0;
}

}  // namespace spot::cli
