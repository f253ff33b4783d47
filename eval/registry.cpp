// registry.cpp — the built-in task registry (GLUE, then SuperGLUE, then SPoT's source tasks), name
// lookup, resolve_task() and the data directory a task reads from (data_dir_for).
#include <cctype>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "eval/source_tasks.h"
#include "eval/task_def.h"
#include "eval/task_io.h"
#include "eval/tasks.h"
#include "base/check.h"
#include "io/data_dir.h"

namespace spot::eval {
namespace fs = std::filesystem;
using namespace detail;

namespace {

// In the order of the paper's tables: GLUE, SuperGLUE, then the other sources and CR.
std::vector<std::unique_ptr<Task>> make_builtin() {
  std::vector<std::unique_ptr<Task>> tasks = make_glue_tasks();
  for (auto& t : make_superglue_tasks()) tasks.push_back(std::move(t));
  for (auto& t : make_source_tasks()) tasks.push_back(std::move(t));
  return tasks;
}

const std::vector<std::unique_ptr<Task>>& builtin_storage() {
  static const std::vector<std::unique_ptr<Task>> tasks = make_builtin();
  return tasks;
}

// Names compare lower-cased, without '-' and '_': "SST-2" = "sst2", "glue_rte_v002" = "gluertev002".
std::string squash_name(const std::string& s) {
  std::string out;
  for (char c : s)
    if (c != '-' && c != '_') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

const std::vector<const Task*>& builtin_tasks() {
  static const std::vector<const Task*> list = [] {
    std::vector<const Task*> v;
    for (const auto& t : builtin_storage()) v.push_back(t.get());
    return v;
  }();
  return list;
}

const Task& find_task(const std::string& name) {
  const std::string want = squash_name(name);
  std::vector<const Task*> hits;
  for (const Task* t : builtin_tasks()) {
    const std::string full = squash_name(t->name());
    const std::string bare = squash_name(t->name().substr(t->name().find('/') + 1));
    if (want == full) return *t;
    if (want == bare || want == squash_name(t->t5_name())) hits.push_back(t);
  }
  if (hits.size() == 1) return *hits[0];
  std::vector<std::string> names;
  for (const Task* t : (hits.empty() ? builtin_tasks() : hits)) names.push_back(t->name());
  if (hits.empty()) SPOT_FAIL("unknown task '" << name << "' (tasks: " << join_names(names) << ")");
  SPOT_FAIL("ambiguous task '" << name << "': " << join_names(names));
}

TaskHandle resolve_task(const std::string& name_or_spec) {
  if (name_or_spec.size() > 5 && name_or_spec.substr(name_or_spec.size() - 5) == ".json")
    return TaskHandle(std::shared_ptr<const Task>(load_user_task(name_or_spec)));
  return TaskHandle(std::shared_ptr<const Task>(&find_task(name_or_spec), [](const Task*) {}));  // registry-owned
}

// ================================================================ the data directory

std::string data_dir_for(const Task& task, const std::optional<std::string>& flag) {
  for (const SplitInfo& s : task.splits())
    for (const std::string& f : s.files)
      if (!fs::path(f).is_absolute()) return io::resolve_data_dir(flag);
  return flag.value_or("");
}

}  // namespace spot::eval
