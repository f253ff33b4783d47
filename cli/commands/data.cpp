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

std::string env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

}  // namespace

int cmd_data(const std::vector<std::string>& argv) {
  Args args("data",
            "spot data fetch glue|superglue [TASK...]: downloads the official archives and unpacks them into "
            "DIR/glue/<TASK>/ (train.tsv, dev.tsv, test.tsv) or DIR/superglue/<Task>/ (train.jsonl, val.jsonl, "
            "test.jsonl); sha256 of what was fetched goes to DIR/<benchmark>/FETCHED.json. No TASK: every task "
            "(SuperGLUE's AX-b and AX-g only when named).");
  args.positional("fetch BENCHMARK TASK...", "glue or superglue, and the tasks (default: all)")
      .option("data", "DIR", "where to write", "$SPOT_DATA, else the data directory every reader uses, else ./data")
      .flag("force", "fetch again tasks that are already present and intact")
      .option("retries", "N", "extra attempts after a dropped connection or a 5xx; a rerun resumes", "3")
      .flag("quiet", "no progress")
      .footer("mirrors: SPOT_GLUE_URL, SPOT_SUPERGLUE_URL (archive base URLs), SPOT_MRPC_URL (MRPC source files)");
  if (argv.empty()) {
    std::fprintf(stderr, "%s", args.help().c_str());
    return 2;
  }
  if (!args.parse(argv)) return 0;
  SPOT_CHECK(args.positional_at(0, "sub-command (fetch)") == "fetch",
             "unknown subcommand 'data " << args.positional()[0] << "' (expected: data fetch)");
  const std::string bench = args.positional_at(1, "benchmark (glue or superglue)");
  const std::vector<std::string> tasks(args.positional().begin() + 2, args.positional().end());
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
