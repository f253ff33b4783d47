// data.cpp — `spot data fetch glue|superglue [TASK...]`: the official GLUE / SuperGLUE archives into
// a data directory (io/fetch_data.h). Environment: SPOT_DATA (default data directory) and the
// mirror overrides SPOT_GLUE_URL, SPOT_SUPERGLUE_URL, SPOT_MRPC_URL.
#include <cstdio>
#include <cstdlib>

#include "cli/commands.h"
#include "base/check.h"
#include "io/download.h"
#include "io/data_dir.h"
#include "io/fetch_data.h"

namespace spot::cli {

namespace {

const char* kDataUsage =
    "usage: spot data fetch glue|superglue [TASK...] [--data DIR] [--force] [--retries N] [--quiet]\n"
    "\n"
    "  downloads the official archives and unpacks them into DIR/glue/<TASK>/ (train.tsv, dev.tsv, test.tsv)\n"
    "  or DIR/superglue/<Task>/ (train.jsonl, val.jsonl, test.jsonl); sha256 of what was fetched goes to\n"
    "  DIR/<benchmark>/FETCHED.json. No TASK: every task (SuperGLUE's AX-b and AX-g only when named).\n"
    "  --data DIR   default: $SPOT_DATA, else the data directory every reader uses (../shared/data or ./data\n"
    "               when it exists), else ./data\n"
    "  --force      fetch again tasks that are already present and intact\n"
    "  --retries N  extra attempts after a dropped connection or a 5xx (default 3); a rerun resumes\n"
    "  mirrors: SPOT_GLUE_URL, SPOT_SUPERGLUE_URL (archive base URLs), SPOT_MRPC_URL (MRPC source files)\n";

std::string env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

}  // namespace

int cmd_data(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0] == "--help" || argv[0] == "-h") {
    std::fputs(kDataUsage, argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  SPOT_CHECK(argv[0] == "fetch", "unknown subcommand 'data " << argv[0] << "' (expected: data fetch)");
  Args args(std::vector<std::string>(argv.begin() + 1, argv.end()), {"force", "quiet"}, {"data", "retries"});
  const std::string bench = args.positional_at(0, "benchmark (glue or superglue)");
  const std::vector<std::string> tasks(args.positional().begin() + 1, args.positional().end());
  const std::string data = io::data_dir_for_writing(args.get("data"));

  io::DataFetchOptions o;
  o.glue_url = env("SPOT_GLUE_URL", o.glue_url);
  o.superglue_url = env("SPOT_SUPERGLUE_URL", o.superglue_url);
  if (const std::string mrpc = env("SPOT_MRPC_URL", ""); !mrpc.empty()) {
    o.mrpc_url = mrpc;
    o.mrpc_dev_ids_url = mrpc + "/mrpc_dev_ids.tsv";
  }
  o.force = args.flag("force");
  o.progress = !args.flag("quiet");
  o.retries = static_cast<int>(args.get_int("retries", o.retries));
  SPOT_CHECK(o.retries >= 0, "--retries must be >= 0");
  for (const auto& t : io::fetch_benchmark(bench, tasks, data, o)) {
    int64_t bytes = 0;
    for (const auto& f : t.files) bytes += f.size;
    std::printf("%s: %s %s (%zu files, %s)\n", t.task.c_str(), t.downloaded ? "fetched" : "already present",
                t.dir.c_str(), t.files.size(), io::format_bytes(bytes).c_str());
  }
  return 0;
}

}  // namespace spot::cli
