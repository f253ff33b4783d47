// table.cpp — the list of `spot` commands. Each command's code is in cli/commands/<name>.cpp.
#include "cli/commands.h"

namespace spot::cli {

int cmd_info(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"info", "build configuration and devices", cmd_info},
      {"bench", "benchmarks: step (forward + backward to the prompt at T5-small shapes)", cmd_bench},
  };
  return table;
}

}  // namespace spot::cli
