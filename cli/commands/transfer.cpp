// transfer.cpp — `spot embed` (task embeddings) and `spot transfer` (SPoT's retrieval-based transfer).
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>

#include "app/transfer.h"
#include "cli/commands.h"
#include "cli/commands/backbone_args.h"
#include "cli/commands/caller_args.h"
#include "cli/commands/field_args.h"
#include "io/data_dir.h"
#include "retrieval/library.h"
#include "retrieval/task_embedding.h"

namespace spot::cli {

namespace {

void progress_line(const char* what, int64_t done, int64_t total) {
  std::fprintf(stderr, "%s%s %lld/%lld", isatty(STDERR_FILENO) ? "\r\033[K" : "", what, (long long)done,
               (long long)total);
  if (done == total || !isatty(STDERR_FILENO)) std::fprintf(stderr, "\n");
}

}  // namespace

int cmd_embed(const std::vector<std::string>& argv) {
  Args a("embed",
         "Computes a task embedding (retrieval/task_embedding.h) and writes it (--out), and/or stores it on a library "
         "entry (--library LIB --entry ID; only the entry's owner may). Kinds: `prompt` — SPoT's: the soft prompt after "
         "--steps steps of prompt tuning on the first --examples training examples (a resumable run in --run-dir); "
         "`data` — no training: the frozen backbone's last hidden states mean-pooled over each of --examples sampled "
         "training inputs (seeded), one row per input.");
  a.option("task", "T", "the task (a built-in name or a user task spec FILE.json)")
      .option("kind", "K", "prompt or data", "data")
      .option("out", "FILE", "where the embedding is written (safetensors)", "<task>.<kind>.embedding.safetensors")
      .option("examples", "N", "data: inputs sampled; prompt: the first N training examples", "data: 100, prompt: 1000")
      .option("split", "S", "the split sampled or trained on", "train")
      .option("seed", "N", "the sample (data) or the run's seed (prompt)", "0")
      .option("steps", "N", "prompt: training steps", "100")
      .option("prompt-len", "N", "prompt: prompt length", "100")
      .option("lr", "X", "prompt: learning rate", "the backbone's")
      .option("batch", "N", "prompt: training batch; data: inference batch", "prompt: 8, data: 16")
      .option("max-input-tokens", "N", "inputs are cut to this many tokens", "256")
      .option("verbalizer", "V", "t5 or natural", "t5 (natural for decoder-only models)")
      .option("run-dir", "DIR", "prompt: the training run's directory (resumable)", "runs/embed/<task>")
      .option("library", "FILE", "store the embedding on an entry of this library")
      .option("entry", "ID", "the library entry (with --library)")
      .flag("json", "print a JSON summary");
  add_caller_options(a);
  add_backbone_options(a, /*with_prompt=*/false);
  if (!a.parse(argv)) return 0;
  const std::string task_name = a.get("task").value_or("");
  SPOT_CHECK(!task_name.empty(), "spot embed: --task is required");
  const std::string kind = a.get_or("kind", "data");
  retrieval::parse_embedding_kind(kind);
  SPOT_CHECK(a.get("library").has_value() == a.get("entry").has_value(),
             "spot embed: --library and --entry go together (the entry the embedding is stored on)");
  const eval::TaskHandle task = eval::resolve_task(task_name);
  const std::string split = a.get_or("split", "train");
  task->split(split);
  const std::string data_dir = eval::data_dir_for(*task, a.get("data"));
  const std::string base = std::filesystem::path(task->name()).filename().string();
  const std::string out = a.get_or("out", base + "." + kind + ".embedding.safetensors");
  OpenedBackbone b = open_backbone(a);
  const bool decoder_only = b.backbone.model->name().rfind("t5", 0) != 0;
  const eval::Verbalizer verbalizer =
      eval::verbalizer_from_string(a.get_or("verbalizer", decoder_only ? "natural" : "t5"));
  // The entry is checked (visible, owned, same backbone) before anything is computed.
  int64_t entry = 0;
  std::optional<retrieval::Library> lib;
  if (auto lib_path = a.get("library")) {
    entry = a.get_int("entry", 0);
    lib = retrieval::Library::open(*lib_path);
    const std::optional<retrieval::Entry> en = lib->get(caller_from(a), entry);
    SPOT_CHECK(en, *lib_path << ": no entry " << entry << " visible to this caller");
    const std::string fp = backbone_fingerprint(*b.backbone.model);
    SPOT_CHECK(en->info.backbone_fingerprint == fp,
               *lib_path << ": entry " << entry << " was trained on " << en->info.backbone << " (fingerprint "
                         << en->info.backbone_fingerprint << "), the embedding is computed on "
                         << b.backbone.model->name() << " (fingerprint " << fp << ")");
    SPOT_CHECK(en->info.owner == caller_from(a).user,
               *lib_path << ": entry " << entry << " belongs to " << en->info.owner
                         << "; only its owner changes its embeddings");
  }
  retrieval::TaskEmbedding e;
  if (kind == "data") {
    retrieval::DataEmbeddingSpec s;
    s.examples = a.get_int("examples", 100);
    s.split = split;
    s.seed = static_cast<uint64_t>(a.get_int("seed", 0));
    s.batch = a.get_int("batch", 16);
    s.max_input_tokens = a.get_int("max-input-tokens", 256);
    s.verbalizer = verbalizer;
    e = retrieval::data_embedding(*b.backbone.model, *b.backbone.codec, *task, data_dir, s,
                                  [](int64_t d, int64_t n) { progress_line("spot embed: inputs", d, n); });
  } else {
    TrainerConfig c;
    c.task = task_name;
    c.data_dir = a.get_or("data", "");
    c.train_split = split;
    c.verbalizer = verbalizer;
    c.prompt_length = a.get_int("prompt-len", 100);
    c.batch_size = a.get_int("batch", 8);
    c.max_input_tokens = a.get_int("max-input-tokens", 256);
    c.seed = c.init.seed = static_cast<uint64_t>(a.get_int("seed", 0));
    if (a.get("lr")) c.schedule.lr = a.get_double("lr", 0);
    c.log_every = 10;
    retrieval::PromptEmbeddingSpec s;
    s.steps = a.get_int("steps", 100);
    s.examples = a.get_int("examples", 1000);
    e = retrieval::prompt_embedding(*b.backbone.model, *b.backbone.codec, c, s,
                                    a.get_or("run-dir", "runs/embed/" + base));
  }
  e.save(out);
  if (lib) lib->set_embedding(caller_from(a), entry, kind, e.values);
  if (a.flag("json")) {
    std::printf("{\"task\":\"%s\",\"kind\":\"%s\",\"rows\":%lld,\"d_model\":%lld,\"file\":\"%s\",\"entry\":%lld}\n",
                task->name().c_str(), kind.c_str(), (long long)e.values.dim(0), (long long)e.values.dim(1), out.c_str(),
                (long long)entry);
  } else {
    std::printf("%s task embedding of %s: [%lld, %lld] -> %s%s\n", kind.c_str(), task->name().c_str(),
                (long long)e.values.dim(0), (long long)e.values.dim(1), out.c_str(),
                entry ? (" (and library entry " + std::to_string(entry) + ")").c_str() : "");
  }
  return 0;
}

int cmd_transfer(const std::vector<std::string>& argv) {
  Args a("transfer",
         "SPoT transfer to a target task (app/transfer.h): the target's task embedding -> the k most similar library "
         "entries (same backbone, visible to --user, another task) -> initialisation by --strategy (best: tune from "
         "each of the k, keep the best by validation; average: one run from the similarity-weighted average prompt; "
         "mixture: one prompt on the mixture of the sources' datasets and the target's, then tuned on the target) -> "
         "tuning and evaluation -> the result stored in the library with its lineage and the gain over from-scratch "
         "tuning at the same budget (--with-scratch, or --baseline SCORE). Resumable: run it again to continue. The "
         "training options are `spot train`'s (the target's run).");
  a.option("target", "T", "the target task (a built-in name or a user task spec FILE.json)")
      .option("library", "FILE", "the prompt library")
      .option("strategy", "S", "best, average or mixture", "best")
      .option("k", "N", "sources retrieved", "3")
      .option("metric", "M", "cos_avg, per_token_cos, cosine, l2 or mip (retrieval/similarity.h)", "cos_avg")
      .option("kind", "K", "the task-embedding kind compared: prompt or data", "prompt")
      .option("embed-examples", "N", "data: inputs sampled; prompt: the first N training examples", "data: 100, prompt: 1000")
      .option("embed-steps", "N", "prompt kind: steps of the target's embedding run", "100")
      .option("weights", "W", "average: softmax (of similarity / temperature) or equal", "softmax")
      .option("temperature", "X", "average: the softmax temperature", "0.01")
      .option("length-policy", "P", "sources of another prompt length: refuse, or fit (truncate / pad with vocabulary "
                                    "rows)", "refuse")
      .option("mixture-steps", "N", "mixture: steps of the mixture stage", "--steps")
      .flag("with-scratch", "also tune from scratch at the same budget (the baseline for the gain)")
      .option("baseline", "X", "the target's known from-scratch score (instead of --with-scratch)")
      .flag("no-store", "do not add the transferred prompt to the library")
      .option("out", "DIR", "where the runs write", "runs/transfer/<target>-<strategy>")
      .flag("json", "print the summary as JSON");
  add_caller_options(a);
  TrainerConfig defaults;
  add_field_options(a, trainer_fields(), defaults);
  add_backbone_options(a, /*with_prompt=*/false);
  if (!a.parse(argv)) return 0;
  TransferSpec s;
  s.train.task = a.get("target").value_or("");
  SPOT_CHECK(!s.train.task.empty(), "spot transfer: --target is required");
  read_field_options(a, trainer_fields(), s.train);
  SPOT_CHECK(!a.get("task") || *a.get("task") == s.train.task,
             "spot transfer: the target is --target (--task " << *a.get("task") << " given too)");
  s.train.task = *a.get("target");
  s.train.data_dir = a.get_or("data", "");
  s.library = a.get("library").value_or("");
  s.caller = caller_from(a);
  s.strategy = a.get_or("strategy", "best");
  s.k = a.get_int("k", 3);
  s.metric = retrieval::parse_metric(a.get_or("metric", "cos_avg"));
  s.kind = a.get_or("kind", "prompt");
  const int64_t embed_examples = a.get_int("embed-examples", s.kind == "data" ? 100 : 1000);
  s.data.examples = embed_examples;
  s.data.seed = s.train.seed;
  s.data.max_input_tokens = s.train.max_input_tokens;
  s.prompt_embedding.examples = embed_examples;
  s.prompt_embedding.steps = a.get_int("embed-steps", 100);
  s.weights = a.get_or("weights", "softmax");
  s.temperature = a.get_double("temperature", 0.01);
  s.length_policy = a.get_or("length-policy", "refuse");
  // --mixture-cap is the trainer's option; the mixture stage caps each task at 1000 unless given.
  s.mixture_cap = a.get("mixture-cap") ? s.train.mixture_cap : 1000;
  s.train.mixture_cap = 0;
  s.mixture_steps = a.get_int("mixture-steps", 0);
  s.with_scratch = a.flag("with-scratch");
  if (a.get("baseline")) s.baseline = a.get_double("baseline", NAN);
  SPOT_CHECK(!(s.with_scratch && a.get("baseline")), "spot transfer: --with-scratch or --baseline, not both");
  s.store = !a.flag("no-store");
  const std::string base = std::filesystem::path(s.train.task).filename().string();
  s.out_dir = a.get_or("out", "runs/transfer/" + base + "-" + s.strategy);
  s.train.out_dir = s.out_dir;
  validate_transfer_spec(s);
  SPOT_CHECK(std::filesystem::exists(s.library), s.library << ": no such library (spot library init)");
  OpenedBackbone b = open_backbone(a);
  const TransferResult r = run_transfer(*b.backbone.model, *b.backbone.codec, s);
  if (a.flag("json")) {
    std::printf("%s\n", transfer_result_json(s, r).c_str());
    return 0;
  }
  std::printf("SPoT transfer to %s: %s of top-%lld by %s over %s embeddings\n", s.train.task.c_str(),
              s.strategy.c_str(), (long long)s.k, retrieval::metric_name(s.metric), s.kind.c_str());
  std::printf("  %-4s %-8s %-28s %10s %8s %10s\n", "rank", "entry", "source task", "similarity", "weight",
              s.strategy == "best" ? "score" : "");
  for (size_t i = 0; i < r.retrieved.size(); ++i) {
    const TransferCandidate& c = r.retrieved[i];
    std::printf("  %-4zu %-8lld %-28s %10.4f %8.3f", i + 1, (long long)c.id, c.task.c_str(), c.similarity, c.weight);
    if (!std::isnan(c.score)) std::printf(" %10.2f", c.score);
    std::printf("\n");
  }
  std::printf("  transferred: %.2f (%s)", r.score, r.metric_name.c_str());
  if (!std::isnan(r.scratch_score)) std::printf("   from scratch: %.2f   gain: %+.2f", r.scratch_score, r.gain);
  std::printf("\n  prompt: %s%s\n", r.prompt_file.c_str(),
              r.stored_id ? ("   library entry " + std::to_string(r.stored_id)).c_str() : "");
  return 0;
}

}  // namespace spot::cli
