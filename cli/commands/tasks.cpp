// tasks.cpp — `spot tasks` (the GLUE / SuperGLUE tasks and the split sizes found under the data
// directory) and `spot task show NAME` (formatted examples of one split, as a model would see them).
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "eval/tasks.h"
#include "base/check.h"
#include "io/data_dir.h"

namespace spot::cli {
namespace {

std::string metric_list(const eval::Task& t) {
  std::string out;
  for (auto m : t.metrics()) {
    if (!out.empty()) out += ',';
    out += eval::metric_key(m);
  }
  return out;
}

// One line of text for the terminal: newlines and tabs shown as \n and \t.
std::string one_line(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else out += c;
  }
  return out;
}

}  // namespace

int cmd_tasks(const std::vector<std::string>& argv) {
  Args args("tasks",
            "Lists the GLUE / SuperGLUE / SPoT source tasks (and a user task spec) with the number of examples in each "
            "split found under the data directory. '-' marks a split whose file is absent; [file] names a substitute "
            "file (a subset).");
  args.option("data", "DIR", "data directory", "$SPOT_DATA, else ../shared/data, else ./data")
      .option("spec", "TASK.json", "also a user task spec");
  if (!args.parse(argv)) return 0;
  SPOT_CHECK(args.positional().empty(), "spot tasks takes no positional arguments");
  const std::string data = io::resolve_data_dir(args.get("data"));
  std::vector<eval::TaskHandle> tasks;
  for (const eval::Task* t : eval::builtin_tasks()) tasks.push_back(eval::resolve_task(t->name()));
  if (auto spec = args.get("spec")) tasks.push_back(eval::resolve_task(*spec));

  std::printf("data: %s\n", data.c_str());
  std::printf("%-22s %-14s %-32s %s\n", "task", "kind", "metrics", "examples per split");
  int errors = 0;
  for (const auto& t : tasks) {
    std::string sizes;
    for (const auto& s : t->splits()) {
      sizes += " " + s.name + "=";
      const auto path = t->find_split_file(data, s.name);
      if (!path) {
        sizes += "-";
        continue;
      }
      try {
        sizes += std::to_string(t->load(data, s.name).size());
      } catch (const std::exception& e) {
        sizes += "ERROR";
        std::fprintf(stderr, "spot tasks: %s\n", e.what());
        ++errors;
      }
      // Name the file when it is not the split's official one (a subset or a derived copy).
      if (std::filesystem::path(*path).filename() != std::filesystem::path(s.files.front()).filename())
        sizes += " [" + std::filesystem::path(*path).filename().string() + "]";
    }
    std::printf("%-22s %-14s %-32s%s\n", t->name().c_str(), eval::task_kind_name(t->kind()), metric_list(*t).c_str(),
                sizes.c_str());
  }
  return errors ? 1 : 0;
}

int cmd_task(const std::vector<std::string>& argv) {
  Args args("task",
            "spot task show NAME|TASK.json: prints examples of one split formatted as model input / target / rank "
            "candidates. NAME is glue/rte, superglue/wic, or a unique short name (cola, sst2, boolq, ...).");
  args.positional("show NAME", "the sub-command and the task")
      .option("split", "S", "the split", "validation, else the first")
      .option("n", "N", "examples to print (also -n N)", "3")
      .option("offset", "K", "the first example", "0")
      .option("verbalizer", "V", "t5 or natural", "t5")
      .option("data", "DIR", "data directory", "$SPOT_DATA, else ../shared/data, else ./data");
  // "-n 3" is the documented short form of "--n 3".
  std::vector<std::string> words;
  for (const auto& w : argv) words.push_back(w == "-n" ? "--n" : w);
  if (!args.parse(words)) return 0;
  if (args.positional().empty()) {
    std::fprintf(stderr, "%s", args.help().c_str());
    return 2;
  }
  const std::string sub = args.positional_at(0, "sub-command (show)");
  SPOT_CHECK(sub == "show", "unknown sub-command 'spot task " << sub << "' (expected: show)");
  const auto task = eval::resolve_task(args.positional_at(1, "task name"));
  SPOT_CHECK(args.positional().size() == 2, "spot task show takes one task name");
  const std::string data = io::resolve_data_dir(args.get("data"));
  std::string split = task->splits().front().name;
  for (const auto& s : task->splits())
    if (s.name == "validation") split = s.name;
  split = args.get_or("split", split);
  const int64_t n = args.get_int("n", 3), offset = args.get_int("offset", 0);
  SPOT_CHECK(n >= 0 && offset >= 0, "-n and --offset must not be negative");
  const eval::Verbalizer v = eval::verbalizer_from_string(args.get_or("verbalizer", "t5"));

  const std::vector<eval::Example> examples = task->load(data, split);
  const std::string path = *task->find_split_file(data, split);
  std::printf("%s  split %s  (%s, %zu examples)  kind %s  verbalizer %s\n", task->name().c_str(), split.c_str(),
              path.c_str(), examples.size(), eval::task_kind_name(task->kind()), eval::verbalizer_name(v));
  std::printf("metrics: %s\n", metric_list(*task).c_str());
  for (int64_t i = offset; i < offset + n && i < static_cast<int64_t>(examples.size()); ++i) {
    const eval::Example& ex = examples[static_cast<size_t>(i)];
    const eval::Formatted f = task->format(ex, v);
    std::printf("\n[%lld] id %s (line %d)\n", static_cast<long long>(i), ex.id.c_str(), ex.line);
    std::printf("  input:      %s\n", one_line(f.input).c_str());
    std::printf("  target:     %s\n", one_line(f.target).c_str());
    std::vector<std::string> cands = f.candidates;
    if (cands.empty()) cands = task->regression_candidates(v);
    if (!cands.empty()) {
      std::string c;
      for (size_t k = 0; k < cands.size() && k < 30; ++k) {
        if (k) c += " | ";
        c += one_line(cands[k]);
      }
      if (cands.size() > 30) c += " | ... (" + std::to_string(cands.size()) + " in all)";
      std::printf("  candidates: %s\n", c.c_str());
    }
    if (!f.references.empty()) {
      std::string r;
      for (size_t k = 0; k < f.references.size(); ++k) {
        if (k) r += " | ";
        r += one_line(f.references[k]);
      }
      std::printf("  references: %s\n", r.c_str());
    }
  }
  return 0;
}

}  // namespace spot::cli
