// library_export.h — library entries outside the library: as JSON (for `spot library ... --json`
// and scripts) and as a portable directory that another library imports (the patent's sharing of
// trained prompts between users and sites).
//
// The directory: one folder per entry, entry_<id>/, holding
//   prompt.safetensors               the prompt as a spot prompt file (prompt/soft_prompt.h)
//   embedding_<kind>.safetensors     each task embedding (tensor "embedding")
//   entry.json                       every metadata field of the entry (entry_info_json), plus
//                                    "format": "spot.library_entry.v1" and the prompt file's sha256
//   peft/                            with peft: the prompt as a PEFT prompt-tuning adapter
// Import reads every entry first and checks it whole (strict JSON: an unknown key, a wrong type, a
// missing required key or a file that disagrees is an error naming the file and the key), then adds
// them all in one transaction (Library::add_all): a malformed entry adds nothing.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "io/json_fields.h"
#include "retrieval/library.h"

namespace spot::retrieval {

inline constexpr const char* kEntryFormat = "spot.library_entry.v1";

// Every field of an entry's metadata, by the names of EntryInfo.
boost::json::object entry_info_json(const EntryInfo& m);
// The inverse, strictly (errors name o's file and key); o.done() is left to the caller, which may
// read keys of its own first.
EntryInfo entry_info_from_json(io::JsonObject& o);

// A task embedding from a file: tensor "embedding" (an export), "prompt" (a spot prompt file, such
// as a run's task_embedding.safetensors), "prompt_embeddings" (PEFT) or a file's only tensor;
// [L, d] or [layers, L, d], finite. Errors name the file.
Tensor read_embedding_file(const std::string& path);
// An embedding kind names a file (embedding_<kind>.safetensors): letters, digits, '_' and '-'.
void check_embedding_kind(const std::string& kind, const std::string& what);

// Writes the caller-visible entries `ids` (empty: all the caller sees) to out_dir, which must not
// exist or be empty; written beside it and renamed into place, so that a failed export leaves no
// half directory. An id the caller cannot see is an error (as for a missing one). Returns the ids.
std::vector<int64_t> export_entries(const Library& lib, const Caller& caller, const std::string& out_dir,
                                    const std::vector<int64_t>& ids, bool peft = false);

struct ImportedEntry {
  int64_t old_id = 0, new_id = 0;
  std::string dir;
};
// Imports every entry folder of in_dir as `caller` (the owner of the new entries; the exported
// owner is not carried over), keeping created and the usage statistics, with lineage parents among
// the imported entries remapped to their new ids (others become 0). All or nothing.
std::vector<ImportedEntry> import_entries(Library& lib, const Caller& caller, const std::string& in_dir);

}  // namespace spot::retrieval
