// experiment_fields.cpp — the field tables of an experiment config's backbone object and eval runs
// (experiment.h), and the generated sections of experiments/SCHEMA.md.
#include <sstream>

#include "app/experiment.h"
#include "model/registry.h"

namespace spot {

namespace {

using namespace fields;

FieldTable<BackboneSpec> make_backbone_table() {
  using S = BackboneSpec;
  FieldTable<S> t;
  t.push_back(plain<S>("model", "model",
                       "`smollm2` (SmolLM2-135M-Instruct from the cache, `spot model fetch smollm2`); `gguf:<file.gguf>` "
                       "(a Llama-family GGUF); `t5:<dir>` (a Hugging Face T5 checkpoint directory: `config.json` + "
                       "safetensors); `hf:<owner/name>` (the T5 checkpoint `spot model fetch hf:<owner/name>` put in "
                       "`<cache>/models/hf/<owner>/<name>`; `config.json` must say `\"model_type\": \"t5\"`). The form "
                       "is checked at parse time; the files when the run starts.",
                       [](S& s) -> std::string& { return s.model; },
                       [](const std::string& m) { check_backbone_spec(m); }));
  t.push_back(plain<S>("chat", "chat", "Llama-family: wrap inputs in the model's chat template",
                       [](S& s) -> bool& { return s.chat; }));
  t.push_back(choice<S>("backend", "backend", "`cpu` (oneDNN GEMMs + OpenMP), `ref` (the scalar reference), `cuda`",
                        [](S& s) -> std::string& { return s.backend; }, {"cpu", "ref", "cuda"}));
  t.push_back(plain<S>("threads", "threads", "CPU threads; `0` = all", [](S& s) -> int64_t& { return s.threads; },
                       at_least(0)));
  t.push_back(choice<S>("prompt_path", "prompt-path",
                        "Llama-family prompt computation: `auto` (shared on CPU, replicated on CUDA, by measurement), "
                        "`shared` (one prefix shared by the batch) or `replicated`",
                        [](S& s) -> std::string& { return s.prompt_path; }, {"auto", "shared", "replicated"}));
  t.push_back(choice<S>("precision", "precision",
                        "`fp32`, or `bf16`: the frozen linear weights in bf16 (bf16 products, fp32 accumulation); the "
                        "prompt, its gradient, the optimiser, norms, softmax and the loss stay fp32. CPU backends",
                        [](S& s) -> std::string& { return s.precision; }, {"fp32", "bf16"}));
  t.push_back(plain<S>("tokenizer", "tokenizer",
                       "T5: a `spiece.model` to use instead of `<dir>/spiece.model` (fallback: "
                       "`shared/data/tokenizers/t5/spiece.model`)",
                       [](S& s) -> std::string& { return s.tokenizer; }));
  return t;
}

FieldTable<EvalRunSpec> make_eval_table() {
  using S = EvalRunSpec;
  FieldTable<S> t;
  t.push_back(plain<S>("task", "task", "as for train runs", [](S& s) -> std::string& { return s.task; }));
  t.back().required = true;
  t.push_back(plain<S>("split", "split", "must be a split of the task", [](S& s) -> std::string& { return s.split; }));
  t.push_back(enumeration<S>("verbalizer", "verbalizer", "`t5` or `natural`",
                             [](S& s) -> eval::Verbalizer& { return s.verbalizer; },
                             std::vector<std::pair<std::string, eval::Verbalizer>>{{"t5", eval::Verbalizer::t5},
                                                                                   {"natural", eval::Verbalizer::natural}}));
  t.back().default_doc = "`defaults.verbalizer`, else `\"t5\"`";
  t.push_back(enumeration<S>("mode", "mode", "`rank` or `generate`", [](S& s) -> eval::EvalMode& { return s.mode; },
                             std::vector<std::pair<std::string, eval::EvalMode>>{{"rank", eval::EvalMode::rank},
                                                                                 {"generate", eval::EvalMode::generate}}));
  t.push_back(plain<S>("max_examples", "max-examples",
                       "evaluate the first N examples (MultiRC / ReCoRD: to the end of the cut's group); `-1` = all",
                       [](S& s) -> int64_t& { return s.max_examples; },
                       [](const int64_t& x) { SPOT_CHECK(x == -1 || x > 0, "must be positive, or -1 for all, got " << x); }));
  t.push_back(plain<S>("batch", "batch", "batch size", [](S& s) -> int64_t& { return s.batch; },
                       [](const int64_t& x) {
                         SPOT_CHECK(x > 0 && x <= (1 << 20), "must be a positive number of examples (at most 2^20), got " << x);
                       }));
  t.push_back(plain<S>("max_input_tokens", "max-input-tokens", "input truncation",
                       [](S& s) -> int64_t& { return s.max_input_tokens; }, positive(),
                       "`defaults.max_input_tokens`, else `512`"));
  t.push_back(plain<S>("length_normalize", "length-normalize",
                       "rank mode: divide each candidate's log-likelihood by its token count",
                       [](S& s) -> bool& { return s.length_normalize; }));
  // On the command line --prompt belongs to the backbone option group (cli/commands/backbone_args.h).
  t.push_back(plain<S>("prompt", "",
                       "a prompt file; with neither `prompt` nor `prompt_from_run` the frozen model is evaluated zero-shot",
                       [](S& s) -> std::string& { return s.prompt; }));
  t.push_back(plain<S>("prompt_from_run", "", "the best prompt of an **earlier** train run",
                       [](S& s) -> std::string& { return s.prompt_from_run; }));
  return t;
}

FieldTable<ExperimentConfig> make_experiment_table() {
  using S = ExperimentConfig;
  FieldTable<S> t;
  t.push_back(plain<S>("name", "", "the experiment's name", [](S& s) -> std::string& { return s.name; }));
  t.back().required = true;
  t.push_back(plain<S>("description", "", "free text; copied into `report.md`",
                       [](S& s) -> std::string& { return s.description; }));
  t.push_back(plain<S>("data_dir", "",
                       "the data directory; `\"\"` = `$SPOT_DATA`, else `../shared/data` from the working directory, else "
                       "`<source>/../shared/data`",
                       [](S& s) -> std::string& { return s.data_dir; }));
  t.push_back(plain<S>("output_dir", "", "where runs write (one sub-directory per run)",
                       [](S& s) -> std::string& { return s.output_dir; }, {}, "`\"runs/<name>\"`"));
  return t;
}

FieldTable<RunSpec> make_run_table() {
  using S = RunSpec;
  FieldTable<S> t;
  t.push_back(plain<S>("name", "", "unique within the config; a directory name (no `/`, not `.` or `..`)",
                       [](S& s) -> std::string& { return s.name; }, [](const std::string& n) {
                         SPOT_CHECK(!n.empty() && n.find('/') == std::string::npos && n != "." && n != "..",
                                    "'" << n << "' is not a valid directory name");
                       }));
  t.back().required = true;
  t.push_back(choice<S>("kind", "", "`train`, `eval` or `transfer`", [](S& s) -> std::string& { return s.kind; },
                        {"train", "eval", "transfer"}));
  return t;
}

FieldTable<TransferSpec> make_transfer_table() {
  using S = TransferSpec;
  FieldTable<S> t;
  t.push_back(plain<S>("library", "library", "the prompt library (SQLite file; relative to the working directory)",
                       [](S& s) -> std::string& { return s.library; }));
  t.back().required = true;
  t.push_back(plain<S>("user", "user", "the caller: sees public entries and those restricted to it; owns the stored result",
                       [](S& s) -> std::string& { return s.caller.user; }, {}, "`$SPOT_USER`, else the login name"));
  t.push_back(choice<S>("strategy", "strategy",
                        "`best` (tune from each of the top k, keep the best by validation), `average` (from the "
                        "similarity-weighted average prompt), `mixture` (a prompt on the mixture of the sources' tasks and "
                        "the target's, then tuned on the target)",
                        [](S& s) -> std::string& { return s.strategy; }, {"best", "average", "mixture"}));
  t.push_back(plain<S>("k", "k", "sources retrieved; in [1, 128]", [](S& s) -> int64_t& { return s.k; },
                       [](const int64_t& k) { SPOT_CHECK(k >= 1 && k <= 128, "must be in [1, 128], got " << k); }));
  t.push_back(enumeration<S>("metric", "metric",
                             "`cos_avg`, `per_token_cos` (SPoT's), `cosine`, `l2`, `mip` (the patent's prompt search)",
                             [](S& s) -> retrieval::Metric& { return s.metric; },
                             std::vector<std::pair<std::string, retrieval::Metric>>{
                                 {"cos_avg", retrieval::Metric::CosAvg},
                                 {"per_token_cos", retrieval::Metric::PerTokenCos},
                                 {"cosine", retrieval::Metric::Cosine},
                                 {"l2", retrieval::Metric::L2},
                                 {"mip", retrieval::Metric::Mip}}));
  t.push_back(choice<S>("embedding_kind", "kind", "the task embeddings compared: `prompt` (SPoT's) or `data`",
                        [](S& s) -> std::string& { return s.kind; }, {"prompt", "data"}));
  t.push_back(plain<S>("embed_examples", "embed-examples",
                       "data kind: the target inputs sampled (and the prompt kind's fixed portion: the first N examples)",
                       [](S& s) -> int64_t& { return s.data.examples; }, positive()));
  t.push_back(plain<S>("embed_steps", "embed-steps", "prompt kind: steps of the target's embedding run",
                       [](S& s) -> int64_t& { return s.prompt_embedding.steps; }, positive()));
  t.push_back(choice<S>("weights", "weights", "average: `softmax` (of similarity / temperature) or `equal`",
                        [](S& s) -> std::string& { return s.weights; }, {"softmax", "equal"}));
  t.push_back(plain<S>("temperature", "temperature", "average: the softmax temperature",
                       [](S& s) -> double& { return s.temperature; }, positive_number()));
  t.push_back(choice<S>("length_policy", "length-policy",
                        "sources of another prompt length: `refuse`, or `fit` (a longer prompt keeps its first rows, a "
                        "shorter one is padded with vocabulary rows)",
                        [](S& s) -> std::string& { return s.length_policy; }, {"refuse", "fit"}));
  t.push_back(plain<S>("transfer_mixture_cap", "", "mixture: examples per task per epoch of the mixture stage",
                       [](S& s) -> int64_t& { return s.mixture_cap; }, at_least(1)));
  t.push_back(plain<S>("mixture_steps", "mixture-steps", "mixture: steps of the mixture stage; `0` = the run's `steps`",
                       [](S& s) -> int64_t& { return s.mixture_steps; }, at_least(0)));
  t.push_back(plain<S>("with_scratch", "with-scratch", "also tune from scratch at the same budget (the gain's baseline)",
                       [](S& s) -> bool& { return s.with_scratch; }));
  t.push_back(plain<S>("baseline", "baseline", "a known from-scratch score of the target (instead of `with_scratch`)",
                       [](S& s) -> double& { return s.baseline; }, {}, "none"));
  t.push_back(plain<S>("store", "", "add the transferred prompt to the library (with its lineage)",
                       [](S& s) -> bool& { return s.store; }));
  return t;
}

std::string section(const std::string& name, const std::string& table) {
  return "<!-- fields:" + name + " -->\n" + table + "<!-- /fields:" + name + " -->\n";
}

}  // namespace

const FieldTable<BackboneSpec>& backbone_fields() {
  static const FieldTable<BackboneSpec> t = make_backbone_table();
  return t;
}

const FieldTable<ExperimentConfig>& experiment_fields() {
  static const FieldTable<ExperimentConfig> t = make_experiment_table();
  return t;
}

const FieldTable<RunSpec>& run_fields() {
  static const FieldTable<RunSpec> t = make_run_table();
  return t;
}

const FieldTable<TransferSpec>& transfer_fields() {
  static const FieldTable<TransferSpec> t = make_transfer_table();
  return t;
}

const FieldTable<EvalRunSpec>& eval_run_fields() {
  static const FieldTable<EvalRunSpec> t = make_eval_table();
  return t;
}

std::string schema_sections_markdown() {
  RunSpec run;
  run.kind = "train";
  return section("experiment", fields_markdown(experiment_fields(), ExperimentConfig{})) + "\n" +
         section("backbone", fields_markdown(backbone_fields(), BackboneSpec{})) + "\n" +
         section("run", fields_markdown(run_fields(), run)) + "\n" +
         section("train", fields_markdown(trainer_fields(), TrainerConfig{})) + "\n" +
         section("eval", fields_markdown(eval_run_fields(), EvalRunSpec{})) + "\n" +
         section("transfer", fields_markdown(transfer_fields(), TransferSpec{}));
}

}  // namespace spot
