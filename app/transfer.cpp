// transfer.cpp — retrieval-based soft-prompt transfer (transfer.h).
#include "app/transfer.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "base/check.h"
#include "io/cache.h"
#include "io/data_dir.h"
#include "prompt/soft_prompt.h"

namespace spot {

namespace fs = std::filesystem;
namespace json = boost::json;
using retrieval::Caller;
using retrieval::Library;

void validate_transfer_spec(const TransferSpec& s) {
  SPOT_CHECK(!s.library.empty(), "transfer: no library (--library FILE)");
  SPOT_CHECK(s.strategy == "best" || s.strategy == "average" || s.strategy == "mixture",
             "transfer: strategy '" << s.strategy << "' (expected best, average or mixture)");
  SPOT_CHECK(s.k >= 1 && s.k <= 128, "transfer: k must be in [1, 128], got " << s.k);
  retrieval::parse_embedding_kind(s.kind);
  SPOT_CHECK(s.weights == "softmax" || s.weights == "equal", "transfer: weights '" << s.weights << "' (softmax or equal)");
  SPOT_CHECK(std::isfinite(s.temperature) && s.temperature > 0, "transfer: temperature must be > 0, got " << s.temperature);
  SPOT_CHECK(s.length_policy == "refuse" || s.length_policy == "fit",
             "transfer: length policy '" << s.length_policy << "' (refuse or fit)");
  SPOT_CHECK(s.mixture_cap >= 0 && s.mixture_steps >= 0, "transfer: mixture cap and steps must be >= 0");
  SPOT_CHECK(s.train.tasks.empty(), "transfer: the target is one task (a mixture target is not supported)");
  SPOT_CHECK(s.train.eval_every > 0, "transfer: the target runs need validation (eval_every > 0) to score and "
                                     "to pick the best of the top k");
  SPOT_CHECK(std::isnan(s.baseline) || std::isfinite(s.baseline), "transfer: baseline is not finite");
  validate_trainer_config(s.train);
}

retrieval::Caller default_caller() {
  retrieval::Caller c;
  if (const char* env = std::getenv("SPOT_USER"); env && *env) c.user = env;
  else if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_name) c.user = pw->pw_name;
  return c;
}

namespace {

void say(const std::string& line) { std::fprintf(stderr, "spot transfer: %s\n", line.c_str()); }


// A source prompt as an initial prompt of the target's length (length_policy), [L, d] or
// [layers, L, d].
Tensor fit_prompt(const Tensor& src, int64_t id, int64_t length, int64_t layers, const std::string& policy,
                  const Tensor& fill) {
  const bool deep = src.ndim() == 3;
  SPOT_CHECK(deep == (layers > 0), "transfer: entry " << id << " is a " << (deep ? "deep" : "input-depth")
                                                       << " prompt; the target trains a "
                                                       << (layers > 0 ? "deep" : "input-depth") << " prompt");
  SPOT_CHECK(!deep || src.dim(0) == layers,
             "transfer: entry " << id << " has " << src.dim(0) << " layer blocks, the target " << layers);
  const int64_t L = src.dim(-2), d = src.dim(-1);
  if (L == length) return src.clone();
  SPOT_CHECK(policy == "fit", "transfer: entry " << id << " has prompt length " << L << ", the target trains length "
                                                  << length << " (--length-policy fit truncates a longer prompt and "
                                                  << "pads a shorter one with vocabulary rows)");
  const int64_t blocks = deep ? layers : 1;
  Tensor out = deep ? Tensor::empty({layers, length, d}) : Tensor::empty({length, d});
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t r = 0; r < length; ++r) {
      const float* from = r < L ? src.f32() + (b * L + r) * d : fill.f32() + r * d;
      std::copy(from, from + d, out.f32() + (b * length + r) * d);
    }
  return out;
}

std::string read_text_or(const fs::path& p, const std::string& fallback) {
  return fs::exists(p) ? io::read_file(p.string()) : fallback;
}

// A training run to the end (resumable); its best validation score.
double tune(FrozenBackbone& model, const TextCodec& codec, TrainerConfig c, const std::string& label) {
  say(label + " -> " + c.out_dir);
  Trainer t(model, codec, c);
  const TrainResult r = t.train();
  SPOT_CHECK(r.best_step >= 0, c.out_dir << ": the run has no validation score");
  return r.best_score;
}

}  // namespace

TransferResult run_transfer(FrozenBackbone& model, const TextCodec& codec, const TransferSpec& spec) {
  validate_transfer_spec(spec);
  const fs::path out(spec.out_dir);
  fs::create_directories(out);
  const std::string target = spec.train.task;
  const eval::TaskHandle task = eval::resolve_task(target);
  const std::string fingerprint = backbone_fingerprint(model);
  const int64_t d = model.d_model();
  const int64_t layers = spec.train.placement.depth == PromptDepth::Deep ? model.prompt_layers() : 0;
  TransferResult res;

  // ---- the target's task embedding (computed once)
  const fs::path emb_file = out / ("target_embedding_" + spec.kind + ".safetensors");
  retrieval::TaskEmbedding target_emb;
  if (fs::exists(emb_file)) {
    target_emb = retrieval::TaskEmbedding::load(emb_file.string(), d);
    say("target embedding (" + spec.kind + ") read from " + emb_file.string());
  } else if (spec.kind == "data") {
    retrieval::DataEmbeddingSpec ds = spec.data;
    ds.verbalizer = spec.train.verbalizer;
    const std::string data_dir = eval::data_dir_for(*task, spec.train.data_dir.empty()
                                                               ? std::nullopt
                                                               : std::optional<std::string>(spec.train.data_dir));
    say("target embedding (data): " + std::to_string(ds.examples) + " " + ds.split + " inputs of " + target);
    target_emb = retrieval::data_embedding(model, codec, *task, data_dir, ds);
    target_emb.save(emb_file.string());
  } else {
    say("target embedding (prompt): " + std::to_string(spec.prompt_embedding.steps) + " steps on the first " +
        std::to_string(spec.prompt_embedding.examples) + " examples of " + target);
    target_emb = retrieval::prompt_embedding(model, codec, spec.train, spec.prompt_embedding,
                                             (out / "target_embedding_run").string());
    target_emb.save(emb_file.string());
  }

  // ---- retrieval (once; read back on resume so that a library grown since does not change it)
  Library lib = Library::open(spec.library);
  const fs::path retrieval_file = out / "retrieval.json";
  if (fs::exists(retrieval_file)) {
    const json::value v = json::parse(io::read_file(retrieval_file.string()));
    for (const json::value& h : v.at("retrieved").as_array()) {
      TransferCandidate c;
      c.id = h.at("id").to_number<int64_t>();
      c.task = std::string(h.at("task").as_string());
      c.task_ref = std::string(h.at("task_ref").as_string());
      c.similarity = h.at("similarity").to_number<double>();
      c.weight = h.at("weight").to_number<double>();
      res.retrieved.push_back(c);
    }
    say("retrieval read from " + retrieval_file.string());
  } else {
    std::vector<int64_t> ids;
    std::vector<Tensor> embs;
    std::map<int64_t, std::string> task_of, ref_of;
    int64_t other_backbone = 0, no_kind = 0, same_task = 0;
    std::set<int64_t> candidates;
    for (const retrieval::EntryInfo& info : lib.list(spec.caller)) {
      if (info.backbone_fingerprint != fingerprint) { ++other_backbone; continue; }
      if (info.task == target || info.task == task->name()) { ++same_task; continue; }
      if (std::find(info.embedding_kinds.begin(), info.embedding_kinds.end(), spec.kind) == info.embedding_kinds.end()) {
        ++no_kind;
        continue;
      }
      candidates.insert(info.id);
      task_of[info.id] = info.task;
      ref_of[info.id] = info.dataset_link.empty() ? info.task : info.dataset_link;
    }
    // The keys: the caller-visible embeddings of this kind (access filtered before ranking).
    retrieval::ListFilter same_backbone;
    same_backbone.backbone_fingerprint = fingerprint;
    // Entries whose embedding cannot be compared with the target's (another d; for the flattened
    // metrics cosine, l2 and mip another shape) are left out and counted.
    const bool flattened = spec.metric == retrieval::Metric::Cosine || spec.metric == retrieval::Metric::L2 ||
                           spec.metric == retrieval::Metric::Mip;
    int64_t incomparable = 0;
    for (auto& [id, emb] : lib.embeddings(spec.caller, spec.kind, same_backbone)) {
      if (!candidates.count(id)) continue;
      if (flattened ? emb.shape() != target_emb.values.shape() : emb.dim(-1) != target_emb.values.dim(-1)) {
        ++incomparable;
        continue;
      }
      ids.push_back(id);
      embs.push_back(std::move(emb));
    }
    SPOT_CHECK(!ids.empty(), spec.library << ": no entry to transfer from: none visible to "
                                         << (spec.caller.user.empty() ? "anonymous" : spec.caller.user)
                                         << " was trained on this backbone (fingerprint " << fingerprint
                                         << ") with a '" << spec.kind << "' task embedding and another task ("
                                         << other_backbone << " of another backbone, " << same_task << " of "
                                         << target << ", " << no_kind << " without that embedding, "
                                         << incomparable << " of a shape " << retrieval::metric_name(spec.metric)
                                         << " cannot compare with the target's " << shape_str(target_emb.values.shape())
                                         << ")");
    if (incomparable > 0)
      say(std::to_string(incomparable) + " entries left out: their " + spec.kind + " embedding's shape cannot be compared by " +
          retrieval::metric_name(spec.metric) + " with the target's " + shape_str(target_emb.values.shape()));
    const retrieval::SimilarityIndex index(spec.metric, ids, embs);
    const std::vector<retrieval::Hit> hits = index.top_k(model.context(), {target_emb.values}, spec.k)[0];
    // Weights: best-of-k keeps one prompt (1 for the chosen one, set below); average: softmax of
    // the similarities over the temperature (l2: of −distance), or equal.
    std::vector<double> w(hits.size(), 1.0 / static_cast<double>(hits.size()));
    if (spec.weights == "softmax") {
      const double sign = spec.metric == retrieval::Metric::L2 ? -1.0 : 1.0;
      double mx = -INFINITY, z = 0;
      for (const auto& h : hits) mx = std::max(mx, sign * h.score);
      for (size_t i = 0; i < hits.size(); ++i) z += (w[i] = std::exp((sign * hits[i].score - mx) / spec.temperature));
      for (double& x : w) x /= z;
    }
    json::array arr;
    for (size_t i = 0; i < hits.size(); ++i) {
      res.retrieved.push_back({hits[i].id, task_of[hits[i].id], ref_of[hits[i].id], hits[i].score, w[i], NAN});
      arr.push_back(json::object{{"id", hits[i].id},
                                 {"task", task_of[hits[i].id]},
                                 {"task_ref", ref_of[hits[i].id]},
                                 {"similarity", hits[i].score},
                                 {"weight", w[i]}});
    }
    std::vector<int64_t> got;
    for (const auto& h : hits) got.push_back(h.id);
    lib.record_retrieved(got);
    json::object doc{{"target", target},
                     {"metric", retrieval::metric_name(spec.metric)},
                     {"kind", spec.kind},
                     {"k", spec.k},
                     {"candidates", static_cast<int64_t>(ids.size())},
                     {"retrieved", arr}};
    io::write_file_atomic(retrieval_file.string(), json::serialize(doc) + "\n");
  }
  for (size_t i = 0; i < res.retrieved.size(); ++i) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "  #%zu entry %lld  %-24s %s %.4f", i + 1, (long long)res.retrieved[i].id,
                  res.retrieved[i].task.c_str(), retrieval::metric_name(spec.metric), res.retrieved[i].similarity);
    say(buf);
  }

  // ---- the sources' prompts at the target's shape
  Tensor fill;  // rows for padding a shorter prompt (vocabulary rows, as the vocab init draws them)
  if (spec.length_policy == "fit") {
    PromptInit pi;
    pi.mode = "vocab";
    pi.seed = spec.train.seed;
    pi.vocab_ids = codec.common_token_ids(spec.train.init_vocab_size);
    fill = SoftPrompt::init(spec.train.prompt_length, model.input_embeddings_host(), pi).values;
  }
  auto source_prompt = [&](int64_t id) {
    const retrieval::Entry e = lib.get_for_backbone(spec.caller, id, model.name(), fingerprint);
    return fit_prompt(e.prompt.values, id, spec.train.prompt_length, layers, spec.length_policy, fill);
  };
  auto write_init = [&](const Tensor& values, const std::string& name, const std::string& from) {
    SoftPrompt p;
    p.values = values;
    p.metadata = {{"backbone", model.name()}, {"backbone_hash", fingerprint}, {"init_from", from}};
    const std::string path = (out / name).string();
    if (!fs::exists(path)) p.save(path);
    return path;
  };
  auto from_file = [&](const std::string& file, const std::string& dir) {
    TrainerConfig c = spec.train;
    c.init.mode = "file";
    c.init.file = file;
    c.out_dir = (out / dir).string();
    return c;
  };

  // ---- the strategies
  std::vector<retrieval::Lineage> parents;
  std::string result_run;
  if (spec.strategy == "best") {
    double best = -INFINITY;
    for (size_t i = 0; i < res.retrieved.size(); ++i) {
      TransferCandidate& c = res.retrieved[i];
      const std::string dir = "from_entry_" + std::to_string(c.id);
      const std::string init = write_init(source_prompt(c.id), "init_entry_" + std::to_string(c.id) + ".safetensors",
                                          spec.library + "#" + std::to_string(c.id));
      c.score = tune(model, codec, from_file(init, dir), "best-of-" + std::to_string(spec.k) + ": from entry " +
                                                             std::to_string(c.id) + " (" + c.task + ")");
      if (c.score > best) best = c.score, res.chosen = c.id, result_run = dir;  // ties: the more similar
    }
    for (TransferCandidate& c : res.retrieved) c.weight = c.id == res.chosen ? 1.0 : 0.0;
    parents.push_back({res.chosen, "best", spec.k, 1.0});
    res.score = best;
  } else if (spec.strategy == "average") {
    Tensor avg;
    for (const TransferCandidate& c : res.retrieved) {
      const Tensor p = source_prompt(c.id);
      if (!avg.defined()) avg = Tensor::zeros(p.shape());
      for (int64_t j = 0; j < p.numel(); ++j)
        avg.f32()[j] = static_cast<float>(avg.f32()[j] + c.weight * static_cast<double>(p.f32()[j]));
      parents.push_back({c.id, "average", spec.k, c.weight});
    }
    const std::string init = write_init(avg, "init_average.safetensors", spec.library + "#average");
    result_run = "from_average";
    res.score = tune(model, codec, from_file(init, result_run), "weighted average of " +
                                                                    std::to_string(res.retrieved.size()) + " prompts");
  } else {
    // Mixture: the sources' tasks and the target's, examples-proportional with a cap; then the target.
    TrainerConfig m = spec.train;
    std::set<std::string> seen;
    for (const TransferCandidate& c : res.retrieved) {
      // The entry's task by name, else its dataset link (a user task spec).
      std::string ref;
      for (const std::string& cand : {c.task, c.task_ref}) {
        try {
          eval::resolve_task(cand);
          ref = cand;
          break;
        } catch (const Error&) {
        }
      }
      SPOT_CHECK(!ref.empty(), "transfer: mixture: entry " << c.id << "'s task '" << c.task << "' is not a task spot "
                                                           << "can load, nor is its dataset link '" << c.task_ref
                                                           << "' (a user task spec)");
      if (seen.insert(ref).second) m.tasks.push_back(ref);
      parents.push_back({c.id, "mixture", spec.k, c.weight});
    }
    m.tasks.push_back(target);
    m.mixture_cap = spec.mixture_cap;
    m.steps = spec.mixture_steps > 0 ? spec.mixture_steps : spec.train.steps;
    m.eval_every = 0;
    m.task_embedding_step = 0;
    m.out_dir = (out / "mixture").string();
    say("mixture of " + std::to_string(m.tasks.size()) + " tasks -> " + m.out_dir);
    {
      Trainer t(model, codec, m);
      t.train();
    }
    result_run = "from_mixture";
    res.score = tune(model, codec, from_file((out / "mixture" / "final_prompt.safetensors").string(), result_run),
                     "target from the mixture prompt");
  }
  res.prompt_file = (out / result_run / "best_prompt.safetensors").string();

  // ---- the baseline at the same budget
  if (spec.with_scratch) {
    TrainerConfig c = spec.train;
    c.out_dir = (out / "scratch").string();
    res.scratch_score = tune(model, codec, c, "from scratch (init " + c.init.mode + ")");
  } else {
    res.scratch_score = spec.baseline;
  }
  if (!std::isnan(res.scratch_score)) res.gain = res.score - res.scratch_score;
  res.metric_name = spec.train.eval_split + " score";

  // ---- store back (once), with lineage; each source's gain into its usage statistics
  const fs::path stored = out / "library_entry.txt";
  if (fs::exists(stored)) {
    res.stored_id = std::stoll(read_text_or(stored, "0"));
  } else if (spec.store) {
    retrieval::Entry e;
    e.prompt = SoftPrompt::load(res.prompt_file, d);
    e.info.task = task->name();
    e.info.backbone = model.name();
    e.info.backbone_fingerprint = fingerprint;
    e.info.placement = spec.train.placement.str();
    if (target != task->name()) e.info.dataset_link = target;  // a user task spec: how to load it again
    e.info.train_date = retrieval::now_iso8601();
    e.info.steps = spec.train.steps;
    e.info.seed = static_cast<int64_t>(spec.train.seed);
    e.info.metric_name = res.metric_name;
    e.info.metric_value = res.score;
    e.info.init_mode = "transfer:" + spec.strategy;
    e.info.parents = parents;
    e.info.tags = {"transfer", spec.strategy};
    e.info.description = "SPoT transfer to " + task->name() + " (" + spec.strategy + " of top-" +
                         std::to_string(spec.k) + " by " + retrieval::metric_name(spec.metric) + " over " + spec.kind +
                         " embeddings)";
    e.embeddings[spec.kind] = target_emb.values;
    // Each source's gain goes into its usage statistics in the add's transaction. A run killed after
    // the add but before recording the id finds its entry by its bits instead of adding it again.
    std::vector<std::pair<int64_t, double>> gains;
    if (!std::isnan(res.scratch_score))
      for (const TransferCandidate& c : res.retrieved)
        gains.emplace_back(c.id, spec.strategy == "best" ? c.score - res.scratch_score : res.gain);
    const std::optional<int64_t> found = lib.find_prompt(spec.caller, e.info.task, e.prompt.values);
    res.stored_id = found ? *found : lib.add(spec.caller, std::move(e), gains);
    io::write_file_atomic(stored.string(), std::to_string(res.stored_id) + "\n");
  }
  io::write_file_atomic((out / "transfer.json").string(), transfer_result_json(spec, res) + "\n");
  return res;
}

std::string transfer_result_json(const TransferSpec& spec, const TransferResult& r) {
  auto num = [](double x) -> json::value { return std::isnan(x) ? json::value(nullptr) : json::value(x); };
  json::array hits;
  for (const TransferCandidate& c : r.retrieved)
    hits.push_back(json::object{{"id", c.id}, {"task", c.task}, {"similarity", c.similarity}, {"weight", c.weight},
                                {"score", num(c.score)}});
  json::object o{{"target", spec.train.task},
                 {"strategy", spec.strategy},
                 {"k", spec.k},
                 {"metric", retrieval::metric_name(spec.metric)},
                 {"kind", spec.kind},
                 {"retrieved", hits},
                 {"score", num(r.score)},
                 {"scratch_score", num(r.scratch_score)},
                 {"gain", num(r.gain)},
                 {"metric_name", r.metric_name},
                 {"prompt", r.prompt_file},
                 {"chosen", r.chosen},
                 {"stored_id", r.stored_id}};
  return json::serialize(o);
}

}  // namespace spot
