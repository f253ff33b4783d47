// table.cpp — the list of `spot` commands. Each command's code is in cli/commands/<name>.cpp.
#include "cli/commands.h"

namespace spot::cli {

int cmd_info(const std::vector<std::string>& args);
int cmd_tasks(const std::vector<std::string>& args);
int cmd_task(const std::vector<std::string>& args);

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"info", "build configuration and devices", cmd_info},
      {"tasks", "GLUE / SuperGLUE tasks and split sizes under the data directory", cmd_tasks},
      {"task", "task show NAME: formatted examples of a task split", cmd_task},
  };
  return table;
}

}  // namespace spot::cli
