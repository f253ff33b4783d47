// table.cpp — the list of `spot` commands. Each command's code is in cli/commands/<name>.cpp.
#include "cli/commands.h"

namespace spot::cli {

int cmd_info(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);
int cmd_model(const std::vector<std::string>& args);
int cmd_data(const std::vector<std::string>& args);
int cmd_train(const std::vector<std::string>& args);
int cmd_eval(const std::vector<std::string>& args);
int cmd_run(const std::vector<std::string>& args);
int cmd_report(const std::vector<std::string>& args);
int cmd_tasks(const std::vector<std::string>& args);
int cmd_task(const std::vector<std::string>& args);
int cmd_generate(const std::vector<std::string>& args);
int cmd_score(const std::vector<std::string>& args);
int cmd_embed(const std::vector<std::string>& args);
int cmd_transfer(const std::vector<std::string>& args);
int cmd_library(const std::vector<std::string>& args);

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"info", "build configuration and devices", cmd_info},
      {"bench", "benchmarks: step (forward + backward to the prompt at T5-small shapes)", cmd_bench},
      {"model", "model fetch smollm2 | hf:<repo>: download a model into the cache", cmd_model},
      {"data", "data fetch glue|superglue [TASK...]: download benchmark data", cmd_data},
      {"train", "prompt tuning of one task (or a mixture) on a frozen backbone", cmd_train, /*data_parallel=*/true},
      {"eval", "evaluate the frozen backbone (zero-shot) or a soft prompt on a task", cmd_eval},
      {"run", "run an experiment config (experiments/*.json): evaluations and prompt-tuning runs", cmd_run, /*data_parallel=*/true},
      {"report", "write report.md and learning curves for an experiment's output directory", cmd_report},
      {"tasks", "GLUE / SuperGLUE / SPoT source tasks and split sizes under the data directory", cmd_tasks},
      {"task", "task show NAME: formatted examples of a task split", cmd_task},
      {"generate", "greedy generation with a Llama-family model (streams; tokens/s on stderr)", cmd_generate},
      {"score", "log-likelihood of candidate continuations of a context, and the argmax", cmd_score},
      {"embed", "a task embedding (prompt or data kind), to a file or onto a library entry", cmd_embed},
      {"transfer", "SPoT transfer: retrieve source prompts by task similarity, initialise, tune, store back", cmd_transfer},
      {"library", "the prompt library: init, add, list, show, search, rm, export, import, check", cmd_library},
  };
  return table;
}

}  // namespace spot::cli
