// spot_bench_main.cpp — the `spot bench` command as a standalone binary: `spot_bench bench step ...`
// behaves like `spot bench step ...` but links only the model code (used by tools/gpu_check.sh).
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace spot::cli {
int cmd_bench(const std::vector<std::string>& args);
}

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "bench") args.erase(args.begin());
  try {
    return spot::cli::cmd_bench(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spot_bench: error: %s\n", e.what());
    return 1;
  }
}
