// library.h — the prompt library (SPoT, Vu et al. 2022 §3; the patent's prompt library): trained soft
// prompts with their task embeddings and what is known of them, in one SQLite file.
//
// Storage: SQLite in WAL mode; every write is one transaction, so a process killed mid-write leaves
// the file at the last committed state. The schema carries a version; opening a file of an older
// version migrates it forward inside one transaction (never half-migrated), a newer one is refused.
// Prompts and embeddings are stored as safetensors bytes (the format of prompt files), with the
// prompt's sha256 checked on every read.
//
// Access control is part of the API: every call names its caller; an entry is public or restricted
// to named users and groups ("user:ana", "group:nlp"), and a restricted entry is invisible (not
// listed, not found, not searchable) to anyone else; only its owner removes it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "prompt/soft_prompt.h"

namespace spot::retrieval {

// Who is asking. An empty user sees public entries only.
struct Caller {
  std::string user;
  std::vector<std::string> groups;
  bool can_read(const std::string& owner, bool is_public, const std::vector<std::string>& readers) const;
};

// The current UTC time as ISO 8601 ("2026-12-07T21:46:39Z"): entries' created and train dates.
std::string now_iso8601();

enum class Visibility : uint8_t { Public, Restricted };
const char* visibility_name(Visibility v);   // "public" | "restricted"
Visibility parse_visibility(const std::string& s);

// Where a transferred prompt came from.
struct Lineage {
  int64_t parent = 0;    // entry id of a source prompt
  std::string strategy;  // "best" | "average" | "mixture" | "init" ...
  int64_t k = 0;
  double weight = 0;     // its weight in a weighted average (1 for best-of-k)
};

struct EntryInfo {
  int64_t id = 0;  // assigned by add()
  std::string task;
  std::string backbone;              // the backbone's name ("t5(d_model=512, ...)")
  std::string backbone_fingerprint;  // hash of its config and weights (train/trainer.h)
  std::string placement = "prefix";  // PromptPlacement::str()
  std::string depth = "input";       // "input" | "deep"
  int64_t prompt_length = 0, layers = 0, d_model = 0;  // from the prompt
  std::string dataset_fingerprint, dataset_link;
  std::string train_date;  // ISO 8601
  int64_t steps = 0, seed = 0;
  std::string metric_name;
  double metric_value = 0;
  std::string init_mode;
  std::vector<Lineage> parents;
  std::string owner;
  Visibility visibility = Visibility::Public;
  std::vector<std::string> readers;  // restricted: "user:<name>" or "group:<name>"
  std::vector<std::string> tags;
  std::string description;
  std::string created;  // set by add()
  // Usage, so that the library can rank by utility as well as similarity.
  int64_t times_retrieved = 0;
  double mean_gain = 0;  // mean gain (target score points) when used as a transfer source
  int64_t gain_count = 0;
  std::vector<std::string> embedding_kinds;  // the task embeddings stored ("prompt", "data", ...)
};

struct Entry {
  EntryInfo info;
  SoftPrompt prompt;
  std::map<std::string, Tensor> embeddings;  // kind -> host f32 tensor
};

struct ListFilter {
  std::string task;                  // "" = any
  std::string backbone_fingerprint;  // "" = any
  std::string tag;                   // "" = any
};

class Library {
 public:
  static constexpr int kSchemaVersion = 1;

  // Creates a new library file (refuses an existing path).
  static Library create(const std::string& path);
  // Opens an existing library (refuses a file that is not one, naming it); check: also runs
  // PRAGMA integrity_check and throws with its report when the file is damaged.
  static Library open(const std::string& path, bool check = false);
  ~Library();
  Library(Library&&) noexcept;
  Library& operator=(Library&&) noexcept;

  const std::string& path() const { return path_; }
  int schema_version() const;

  // Adds an entry as `caller` (the owner); fills id, created, the prompt's shape fields. One
  // transaction.
  // source_gains: (entry, gain) of the transfer sources this entry was made from, recorded into their
  // usage statistics in the same transaction (a transfer is stored with its sources' gains, or not).
  int64_t add(const Caller& caller, Entry entry, const std::vector<std::pair<int64_t, double>>& source_gains = {});
  // Adds several entries as `caller` in one transaction: all of them or none. Each entry's info.id
  // names it within the batch (its id where it came from, e.g. an export; 0 = none, and no two may
  // share one): a lineage parent equal to another batch entry's id becomes that entry's new id, any
  // other parent id becomes 0 (its source is not in this library; strategy, k and weight stay).
  // keep_history: created, times_retrieved and the gain statistics are kept from the entries (an
  // import); otherwise they start afresh as in add(). Returns the new ids, in order.
  std::vector<int64_t> add_all(const Caller& caller, std::vector<Entry> entries, bool keep_history = false);
  // The entries the caller may see, newest first.
  std::vector<EntryInfo> list(const Caller& caller, const ListFilter& filter = {}) const;
  // One entry, or nullopt when it does not exist or the caller may not see it (the same answer:
  // a restricted entry's existence is not revealed).
  std::optional<Entry> get(const Caller& caller, int64_t id) const;
  // get() for use on a backbone: refuses a prompt trained on another one, naming both.
  Entry get_for_backbone(const Caller& caller, int64_t id, const std::string& backbone,
                         const std::string& fingerprint) const;
  // The task embeddings of one kind of the entries the caller may see (and `filter` keeps), in
  // ascending id order, without reading their prompts: the keys of a similarity search, filtered by
  // access before anything is ranked.
  std::vector<std::pair<int64_t, Tensor>> embeddings(const Caller& caller, const std::string& kind,
                                                     const ListFilter& filter = {}) const;
  // The newest entry of `task` owned by the caller whose prompt is bit for bit `values`, if any: a
  // writer killed between its add() and recording the id finds its entry again instead of adding a
  // duplicate.
  std::optional<int64_t> find_prompt(const Caller& caller, const std::string& task, const Tensor& values) const;
  // Removes an entry; only its owner may. Returns false when there is no such entry visible.
  bool remove(const Caller& caller, int64_t id);
  // Usage statistics (one transaction each).
  void record_retrieved(const std::vector<int64_t>& ids);
  void record_gain(int64_t id, double gain);
  // Stores (or replaces) the entry's task embedding of `kind` (host f32 [rows, d]); only the owner
  // may. One transaction.
  void set_embedding(const Caller& caller, int64_t id, const std::string& kind, const Tensor& embedding);
  // PRAGMA integrity_check: "ok", or SQLite's report.
  std::string integrity_check() const;
  // Everything a reader would trip over, of every entry whatever its access (the report names
  // entries by id only): integrity_check(), each prompt's sha256 and that the prompt and embedding
  // blobs decode. Empty when the library is sound.
  std::vector<std::string> verify() const;
  int64_t size() const;  // entries of all owners

 struct Db;  // the SQLite connection (library.cpp); opaque to callers

 private:
  Library(std::string path, std::unique_ptr<Db> db);
  std::string path_;
  std::unique_ptr<Db> db_;
};

}  // namespace spot::retrieval
