// library_store.cpp — a finished run into the prompt library (library_store.h).
#include "app/library_store.h"

#include <boost/json.hpp>

#include <cstring>
#include <filesystem>
#include <optional>

#include "base/check.h"
#include "io/cache.h"
#include "io/download.h"
#include "io/data_dir.h"
#include "eval/tasks.h"
#include "retrieval/library_export.h"

namespace spot {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr const char* kRecordFile = "library_entries.json";

std::string library_key(const std::string& path) { return fs::weakly_canonical(fs::absolute(path)).string(); }

// {"entries": [{"library": <canonical path>, "id": N}, ...]}; a file spot did not write is an error
// naming it (it is never overwritten blindly).
json::array read_records(const std::string& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return {};
  json::error_code jec;
  const json::value v = json::parse(io::read_file(file), jec);
  SPOT_CHECK(!jec && v.is_object() && v.as_object().contains("entries") && v.at("entries").is_array(),
             file << ": not a record of library entries ({\"entries\": [{\"library\": ..., \"id\": N}]})");
  for (const json::value& r : v.at("entries").as_array())
    SPOT_CHECK(r.is_object() && r.as_object().contains("library") && r.at("library").is_string() &&
                   r.as_object().contains("id") && r.at("id").is_int64(),
               file << ": entries: each must be {\"library\": PATH, \"id\": N}");
  return v.at("entries").as_array();
}

}  // namespace

StoredRun store_run_in_library(retrieval::Library& lib, const retrieval::Caller& caller, const TrainerConfig& cfg,
                               const TrainResult& result) {
  const fs::path out(cfg.out_dir);
  const std::string record_file = (out / kRecordFile).string();
  const std::string key = library_key(lib.path());
  StoredRun s;
  std::error_code ec;
  const fs::path best = out / "best_prompt.safetensors", final_prompt = out / "final_prompt.safetensors";
  s.prompt_file = (cfg.eval_every > 0 && fs::is_regular_file(best, ec) ? best : final_prompt).string();
  SPOT_CHECK(fs::is_regular_file(s.prompt_file, ec),
             s.prompt_file << ": missing (the run has not finished; nothing was stored in " << lib.path() << ")");
  retrieval::Entry e;
  e.prompt = SoftPrompt::load(s.prompt_file);

  // Already stored: the recorded entry of this library still holds this very prompt. (Removed since,
  // a run extended to more steps, or a library made afresh at the same path: stored anew.)
  json::array records = read_records(record_file);
  for (auto it = records.begin(); it != records.end(); ++it) {
    if (it->at("library").as_string() != key) continue;
    const int64_t id = it->at("id").as_int64();
    const std::optional<retrieval::Entry> stored = lib.get(caller, id);
    const Tensor& v = e.prompt.values;
    if (stored && stored->prompt.values.shape() == v.shape() &&
        std::memcmp(stored->prompt.values.raw(), v.raw(), v.nbytes()) == 0) {
      s.id = id;
      s.embedding_file.clear();
      return s;
    }
    records.erase(it);
    break;
  }
  const auto& meta = e.prompt.metadata;
  auto meta_or = [&](const char* k, const std::string& def) {
    auto it = meta.find(k);
    return it == meta.end() ? def : it->second;
  };
  retrieval::EntryInfo& m = e.info;
  m.task = meta_or("task", cfg.tasks.empty() ? cfg.task : "");
  m.backbone = meta_or("backbone", "");
  m.backbone_fingerprint = meta_or("backbone_hash", "");
  SPOT_CHECK(!m.backbone_fingerprint.empty(), s.prompt_file << ": no 'backbone_hash' metadata (not written by spot train)");
  m.placement = cfg.placement.str();
  if (cfg.tasks.empty()) {
    // A user task spec is found again by its path (a transfer's mixture trains on it); the
    // dataset fingerprint is the sha256 of the train split's file.
    const eval::TaskHandle task = eval::resolve_task(cfg.task);
    if (task->name() != cfg.task) m.dataset_link = fs::absolute(cfg.task).lexically_normal().string();
    const std::optional<std::string> file = task->find_split_file(
        eval::data_dir_for(*task, cfg.data_dir.empty() ? std::nullopt : std::optional<std::string>(cfg.data_dir)),
        cfg.train_split);
    if (file && fs::is_regular_file(*file)) {
      const std::string bytes = io::read_file(*file);
      m.dataset_fingerprint = "sha256:" + io::sha256_hex(bytes.data(), bytes.size());
    }
  }
  m.steps = result.steps_done;
  m.seed = static_cast<int64_t>(cfg.seed);
  m.init_mode = cfg.init.mode;
  m.train_date = retrieval::now_iso8601();
  if (const std::string metric = meta_or("metric", ""); !metric.empty()) {
    m.metric_name = cfg.eval_split + " score";
    try {
      m.metric_value = std::stod(metric);
    } catch (const std::exception&) {
      SPOT_FAIL(s.prompt_file << ": metadata 'metric' is '" << metric << "', not a number");
    }
  }
  m.description = "spot train, run directory " + fs::absolute(out).lexically_normal().string() + ", prompt of step " +
                  meta_or("step", "?");
  const fs::path emb = out / "task_embedding.safetensors";
  if (cfg.task_embedding_step > 0 && fs::is_regular_file(emb, ec)) {
    s.embedding_file = emb.string();
    e.embeddings["prompt"] = retrieval::read_embedding_file(s.embedding_file);
  }
  // Added before a kill that came before the record was written: found by its bits, not added again.
  if (const std::optional<int64_t> found = lib.find_prompt(caller, m.task, e.prompt.values)) {
    s.id = *found;
  } else {
    s.id = lib.add(caller, std::move(e));
    s.added = true;
  }
  records.push_back(json::object{{"library", key}, {"id", s.id}});
  io::write_file_atomic(record_file, io::json_pretty(json::object{{"entries", records}}));
  return s;
}

}  // namespace spot
