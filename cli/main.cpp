// main.cpp — the `spot` binary: `spot <command> [args]`. Commands live in cli/commands/.
// An error is one line naming the file, option or field ("spot: error: ..."), exit status 1; the
// source location that raised it is added with --verbose or SPOT_DEBUG=1.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "base/check.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  // --verbose stands before the command (`spot --verbose eval ...`) or last on the line; it is taken
  // out before the command parses its options (elsewhere it could be an option's value or text).
  std::vector<char*> args(argv, argv + argc);
  bool verbose = false;
  if (args.size() > 1 && std::strcmp(args[1], "--verbose") == 0) verbose = true, args.erase(args.begin() + 1);
  if (args.size() > 2 && std::strcmp(args.back(), "--verbose") == 0) verbose = true, args.pop_back();
  if (const char* d = std::getenv("SPOT_DEBUG"); d && *d && std::strcmp(d, "0") != 0) verbose = true;
  try {
    return spot::cli::run(static_cast<int>(args.size()), args.data());
  } catch (const spot::Error& e) {
    if (verbose && !e.where().empty()) std::fprintf(stderr, "spot: error: %s [%s]\n", e.what(), e.where().c_str());
    else std::fprintf(stderr, "spot: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spot: error: %s\n", e.what());
    return 1;
  }
}
