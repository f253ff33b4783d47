// fetch_data.h — `spot data fetch`: the official GLUE and SuperGLUE archives, downloaded with
// download_file and unpacked into the layout eval/ reads (the layout of ../shared/data):
//   <data>/glue/<TASK>/{train,dev,test}.tsv        (MNLI: dev_matched.tsv, dev_mismatched.tsv, …)
//   <data>/superglue/<Task>/{train,val,test}.jsonl
// Archive URLs are those of the GLUE download_glue_data.py script and the SuperGLUE v2 release;
// MRPC is rebuilt from the SentEval copies of the MSR Paraphrase Corpus with the script's dev ids,
// as the script does. What was fetched (URLs, sizes, sha256 of archives and files) is recorded in
// <data>/<benchmark>/FETCHED.json.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace spot::io {

struct DataFetchOptions {
  std::string glue_url = "https://dl.fbaipublicfiles.com/glue/data";                 // CLI: $SPOT_GLUE_URL
  std::string superglue_url = "https://dl.fbaipublicfiles.com/glue/superglue/data/v2";  // CLI: $SPOT_SUPERGLUE_URL
  // MRPC: msr_paraphrase_{train,test}.txt under mrpc_url, and the GLUE dev split ids (CLI:
  // $SPOT_MRPC_URL sets mrpc_url and makes the ids <mrpc_url>/mrpc_dev_ids.tsv).
  std::string mrpc_url = "https://dl.fbaipublicfiles.com/senteval/senteval_data";
  std::string mrpc_dev_ids_url =
      "https://firebasestorage.googleapis.com/v0/b/mtl-sentence-representations.appspot.com/o/"
      "data%2Fmrpc_dev_ids.tsv?alt=media&token=ec5c0836-31d5-48f4-b431-7480817f1adc";
  bool force = false;  // fetch again even when FETCHED.json says the task is present and intact
  bool progress = true;
  int retries = 3;
  long retry_delay_ms = 1000;
};

struct FetchedDataFile {
  std::string path;  // relative to <data>/<benchmark>, e.g. "RTE/train.tsv"
  int64_t size = 0;
  std::string sha256;
};

struct FetchedTask {
  std::string task;  // canonical name, e.g. "SST-2", "MultiRC"
  std::string dir;   // <data>/<benchmark>/<task>
  bool downloaded = false;  // false: already present and intact
  std::vector<FetchedDataFile> files;
};

// "glue" or "superglue" (case-insensitive). The tasks fetched when none are named; SuperGLUE's
// diagnostics AX-b and AX-g are fetched only when named.
std::vector<std::string> benchmark_tasks(const std::string& benchmark);
// Every task name accepted for the benchmark.
std::vector<std::string> benchmark_known_tasks(const std::string& benchmark);

// Fetches `tasks` (canonical names, matched case-insensitively; empty = benchmark_tasks) into
// `data_dir`. Each file lands atomically; archives are deleted once unpacked; an interrupted
// download resumes on the next run. Unknown tasks, HTTP errors and archives without the expected
// files are spot::Errors naming the task and URL.
std::vector<FetchedTask> fetch_benchmark(const std::string& benchmark, const std::vector<std::string>& tasks,
                                         const std::string& data_dir, const DataFetchOptions& options = {});

// The MRPC step of download_glue_data.py: test.tsv from msr_paraphrase_test.txt (re-indexed,
// label dropped), and train.tsv / dev.tsv from msr_paraphrase_train.txt split by the (#1 ID, #2 ID)
// pairs of dev_ids (header kept, rows whitespace-stripped, '\n' line ends). Writes into out_dir.
void format_mrpc(const std::string& train_txt, const std::string& test_txt, const std::string& dev_ids_tsv,
                 const std::string& out_dir);

}  // namespace spot::io
