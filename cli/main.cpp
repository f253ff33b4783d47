// main.cpp — the `spot` binary: `spot <command> [args]`. Commands live in cli/commands/.
#include <cstdio>
#include <exception>

#include "cli/commands.h"

int main(int argc, char** argv) {
  try {
    return spot::cli::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spot: error: %s\n", e.what());
    return 1;
  }
}
