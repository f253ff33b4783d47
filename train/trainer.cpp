// trainer.cpp — the prompt-tuning loop: deterministic data order (a function of the seed and a saved
// cursor), gradient accumulation, atomic checkpoints with bit-exact resume, periodic evaluation,
// best/early/final prompts, JSONL metrics and a progress line with rate and ETA; data parallel over a
// Communicator's ranks (trainer.h).
#include "train/trainer.h"

#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>
#include <random>
#include <span>
#include <sstream>

#include "io/cache.h"
#include "io/safetensors.h"
#include "train/scorer.h"
#include "io/data_dir.h"

namespace spot {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

std::string fmt_duration(double s) {
  char buf[32];
  if (s < 0 || !std::isfinite(s)) return "?";
  const long t = static_cast<long>(s + 0.5);
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  return buf;
}

}  // namespace

Trainer::Trainer(FrozenBackbone& model, const TextCodec& codec, TrainerConfig config, Communicator& comm)
    : model_(model), codec_(codec), comm_(comm), cfg_(std::move(config)) {
  try {
    validate_trainer_config(cfg_);
  } catch (const Error& e) {
    SPOT_FAIL("trainer: " << e.what());
  }
  if (cfg_.schedule.lr == 0) cfg_.schedule.lr = model_.default_prompt_lr();
  cfg_.schedule.total_steps = cfg_.steps;  // the linear schedule's length
  const std::vector<std::string> names = cfg_.tasks.empty() ? std::vector<std::string>{cfg_.task} : cfg_.tasks;
  for (const std::string& n : names) tasks_.push_back({eval::resolve_task(n), {}, {}});
  // A data directory only when a task reads from one (user tasks name their files themselves).
  const std::optional<std::string> flag = cfg_.data_dir.empty() ? std::nullopt : std::optional<std::string>(cfg_.data_dir);
  for (const TaskData& td : tasks_)
    if (const std::string d = eval::data_dir_for(*td.task, flag); !d.empty()) data_dir_ = d;
  if (tasks_.size() == 1) {
    task_label_ = tasks_[0].task->name();
  } else {
    task_label_ = "mixture(";
    for (size_t i = 0; i < tasks_.size(); ++i) task_label_ += (i ? "+" : "") + tasks_[i].task->name();
    task_label_ += ")";
  }
  backbone_hash_ = backbone_fingerprint(model_);
  load_data();
}

void Trainer::load_data() {
  const eval::Verbalizer v = cfg_.verbalizer;
  for (TaskData& td : tasks_) {
    std::vector<eval::Example> rows = td.task->load(data_dir_, cfg_.train_split);
    for (const eval::Example& ex : rows) {
      if (!td.task->use_for_training(ex, v)) continue;
      const eval::Formatted f = td.task->format(ex, v);
      td.train.push_back({codec_.truncate_input(codec_.encode_input(f.input), cfg_.max_input_tokens),
                          codec_.encode_target(f.target)});
      if (cfg_.max_train_examples > 0 && static_cast<int64_t>(td.train.size()) >= cfg_.max_train_examples) break;
    }
    SPOT_CHECK(!td.train.empty(), "trainer: task " << td.task->name() << " split " << cfg_.train_split
                                                   << " has no labelled training examples under " << data_dir_);
    td.eval = td.task->load(data_dir_, cfg_.eval_split);
    SPOT_CHECK(cfg_.eval_every <= 0 || !td.eval.empty(),
               "trainer: task " << td.task->name() << " split " << cfg_.eval_split << " has no examples ("
                                << td.task->find_split_file(data_dir_, cfg_.eval_split).value_or("no file")
                                << "); evaluation needs some, or --eval-every 0");
  }
}

// The examples of the next batch. Epoch e is a permutation, drawn from seed + e, of every task's
// examples (a task above mixture_cap contributes a fresh random subset of mixture_cap each epoch:
// examples-proportional mixing with T5's rate limit); `cursor` counts examples consumed since step
// 0, so a checkpoint's cursor reproduces the order exactly.
std::vector<std::pair<int, size_t>> Trainer::next_batch(int64_t& cursor) const {
  int64_t epoch_size = 0;
  for (const TaskData& td : tasks_) {
    const int64_t n = static_cast<int64_t>(td.train.size());
    epoch_size += cfg_.mixture_cap > 0 ? std::min(n, cfg_.mixture_cap) : n;
  }
  std::vector<std::pair<int, size_t>> perm;
  int64_t perm_epoch = -1;
  auto index_at = [&](int64_t k) {
    const int64_t e = k / epoch_size;
    if (e != perm_epoch) {
      perm.clear();
      std::mt19937_64 rng(cfg_.seed * 1000003ull + static_cast<uint64_t>(e));
      for (size_t t = 0; t < tasks_.size(); ++t) {
        std::vector<size_t> idx(tasks_[t].train.size());
        std::iota(idx.begin(), idx.end(), 0);
        const int64_t n = static_cast<int64_t>(idx.size());
        if (cfg_.mixture_cap > 0 && n > cfg_.mixture_cap) {
          std::shuffle(idx.begin(), idx.end(), rng);
          idx.resize(cfg_.mixture_cap);
        }
        for (size_t i : idx) perm.push_back({static_cast<int>(t), i});
      }
      std::shuffle(perm.begin(), perm.end(), rng);
      perm_epoch = e;
    }
    return perm[k % epoch_size];
  };
  std::vector<std::pair<int, size_t>> batch;
  if (cfg_.batch_tokens <= 0) {
    for (int64_t i = 0; i < cfg_.batch_size; ++i) batch.push_back(index_at(cursor++));
    return batch;
  }
  // Token budget: add examples while (count + 1) · max padded length stays within the budget.
  size_t max_len = 0;
  while (true) {
    const auto at = index_at(cursor);
    const size_t len = example(at).input.size() + example(at).target.size() + cfg_.prompt_length;
    const size_t new_max = std::max(max_len, len);
    if (!batch.empty() && static_cast<int64_t>(new_max * (batch.size() + 1)) > cfg_.batch_tokens) break;
    batch.push_back(at);
    max_len = new_max;
    ++cursor;
  }
  return batch;
}

// Only rank 0 writes (here and in save_checkpoint and train()'s prompt files): the other ranks hold
// the same state and would write the same bytes to the same files.
void Trainer::log_json(const std::string& line) const {
  if (comm_.rank() != 0) return;
  std::ofstream f(fs::path(cfg_.out_dir) / "metrics.jsonl", std::ios::app);
  f << line << "\n";
}

void Trainer::save_checkpoint(const Tensor& prompt, const Optimizer& opt, int64_t step, int64_t cursor, double best,
                              int64_t best_step) const {
  if (comm_.rank() != 0) return;
  std::vector<std::pair<std::string, Tensor>> tensors{{"prompt", prompt}};
  for (const auto& [k, t] : opt.state()) tensors.push_back({"optimizer." + k, t});
  json::object st{{"step", step},        {"cursor", cursor},        {"best_score", best},
                  {"best_step", best_step}, {"optimizer", opt.name()}, {"backbone_hash", backbone_hash_}};
  std::map<std::string, std::string> meta{{"format", "spot.checkpoint.v1"},
                                          {"trainer_state", json::serialize(st)},
                                          {"config", trainer_config_json(cfg_)}};
  io::save_safetensors((fs::path(cfg_.out_dir) / "checkpoint.safetensors").string(), tensors, meta);
}

namespace {

// FNV-1a over bytes, continuing from h.
uint64_t fnv1a(uint64_t h, const void* data, size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}
constexpr uint64_t kFnvBasis = 0xcbf29ce484222325ull;

}  // namespace

void Trainer::check_ranks_agree(const SoftPrompt& prompt, int64_t step, int64_t cursor) const {
  if (comm_.size() == 1) return;
  uint64_t data = kFnvBasis, examples = 0;
  for (const TaskData& td : tasks_)
    for (const Encoded& e : td.train) {
      data = fnv1a(data, e.input.data(), e.input.size() * sizeof(int32_t));
      data = fnv1a(data, e.target.data(), e.target.size() * sizeof(int32_t));
      ++examples;
    }
  const uint64_t prompt_sum = fnv1a(kFnvBasis, prompt.values.f32(), static_cast<size_t>(prompt.values.nbytes()));
  const std::pair<const char*, uint64_t> mine[] = {{"training examples", examples},
                                                   {"training data checksum", data},
                                                   {"step", static_cast<uint64_t>(step)},
                                                   {"data cursor", static_cast<uint64_t>(cursor)},
                                                   {"prompt checksum", prompt_sum}};
  uint64_t root[std::size(mine)];
  for (size_t i = 0; i < std::size(mine); ++i) root[i] = mine[i].second;
  comm_.broadcast(root, sizeof root, 0);
  for (size_t i = 0; i < std::size(mine); ++i)
    SPOT_CHECK(root[i] == mine[i].second,
               "trainer: rank " << comm_.rank() << " of " << comm_.size() << " has " << mine[i].first << " "
                                << mine[i].second << " but rank 0 has " << root[i]
                                << ": every rank must read the same data (" << (data_dir_.empty() ? "the task's files" : data_dir_)
                                << ") and the out directory rank 0 writes (" << cfg_.out_dir << ")");
}

Shape Trainer::prompt_shape() const {
  if (cfg_.placement.depth == PromptDepth::Deep) return {model_.prompt_layers(), cfg_.prompt_length, model_.d_model()};
  return {cfg_.prompt_length, model_.d_model()};
}

double Trainer::mean_score(const std::vector<eval::EvalResult>& results) {
  double s = 0;
  for (const auto& r : results) s += r.score;
  return results.empty() ? std::nan("") : s / static_cast<double>(results.size());
}

std::vector<eval::EvalResult> Trainer::evaluate(const Tensor& prompt, int64_t max_examples) const {
  ScorerOptions so;
  so.batch_examples = cfg_.eval_batch;
  so.max_input_tokens = cfg_.max_input_tokens;
  so.placement = cfg_.placement;
  BackboneScorer scorer(model_, codec_, prompt, so);
  eval::EvalOptions eo;
  eo.max_examples = max_examples;
  eo.batch_size = static_cast<int>(cfg_.eval_batch);
  eo.mode = cfg_.eval_mode;
  eo.verbalizer = cfg_.verbalizer;
  std::vector<eval::EvalResult> out;
  for (const TaskData& td : tasks_) out.push_back(eval::evaluate(*td.task, td.eval, cfg_.eval_split, scorer, eo));
  return out;
}

TrainResult Trainer::train(int64_t stop_after) {
  const bool root = comm_.rank() == 0;  // the rank that writes and prints
  std::optional<io::DirLock> lock;
  if (root) {
    fs::create_directories(cfg_.out_dir);
    // One run per directory; what a killed run left half-written goes (its last renamed checkpoint stays).
    lock.emplace(cfg_.out_dir);
    for (const std::string& name : io::remove_stale_temporaries(cfg_.out_dir))
      std::fprintf(stderr, "%s: removed %s, a temporary left by a killed run\n", cfg_.out_dir.c_str(), name.c_str());
    io::write_file_atomic((fs::path(cfg_.out_dir) / "config.json").string(), trainer_config_json(cfg_) + "\n");
  }
  // The other ranks read the directory once rank 0 holds it.
  comm_.barrier();
  const std::string ckpt_path = (fs::path(cfg_.out_dir) / "checkpoint.safetensors").string();
  auto opt = make_optimizer(cfg_.optimizer);
  TrainResult res;
  SoftPrompt prompt;
  int64_t step = 0, cursor = 0, best_step = -1;
  double best = std::numeric_limits<double>::lowest();  // finite: it goes into JSON
  const Tensor emb = model_.input_embeddings_host();
  const bool deep = cfg_.placement.depth == PromptDepth::Deep;

  if (fs::exists(ckpt_path)) {
    // Resume: prompt, optimiser state, step, data cursor, best score.
    io::SafetensorsFile f = io::SafetensorsFile::open(ckpt_path);
    const auto& meta = f.metadata();
    auto it = meta.find("trainer_state");
    SPOT_CHECK(it != meta.end(), ckpt_path << ": not a spot checkpoint (no 'trainer_state' metadata)");
    const json::object st = json::parse(it->second).as_object();
    const std::string hash(st.at("backbone_hash").as_string());
    SPOT_CHECK(hash == backbone_hash_, ckpt_path << ": written for another backbone (hash " << hash << ", this one "
                                                 << backbone_hash_ << ")");
    SPOT_CHECK(std::string(st.at("optimizer").as_string()) == opt->name(),
               ckpt_path << ": optimizer '" << st.at("optimizer").as_string() << "' but the config says " << opt->name());
    prompt.values = f.load_f32("prompt");
    check_shape(prompt.values, prompt_shape(), (ckpt_path + ": tensor 'prompt'").c_str());
    std::map<std::string, Tensor> os;
    for (const std::string& name : f.names())
      if (name.rfind("optimizer.", 0) == 0) {
        const std::string key = name.substr(10);
        os[key] = key == "step" ? f.load_i32(name) : f.load_f32(name);
      }
    opt->load_state(os);
    step = st.at("step").as_int64();
    cursor = st.at("cursor").as_int64();
    best = st.at("best_score").to_number<double>();
    best_step = st.at("best_step").as_int64();
    res.resumed = true;
    res.resumed_from = step;
    // Steps after the checkpoint will run again: drop their log lines (and any line a kill cut short).
    const fs::path log = fs::path(cfg_.out_dir) / "metrics.jsonl";
    if (root && fs::exists(log)) {
      std::ifstream in(log);
      std::string line, kept;
      while (std::getline(in, line)) {
        json::error_code ec;
        const json::value v = json::parse(line, ec);
        if (ec || !v.is_object()) continue;
        const json::value* s = v.as_object().if_contains("step");
        if (s && s->is_int64() && s->as_int64() > step) continue;
        kept += line + "\n";
      }
      kept += "{\"event\":\"resume\",\"step\":" + std::to_string(step) + "}\n";
      io::write_file_atomic(log.string(), kept);
    }
  } else {
    PromptInit init = cfg_.init;
    init.vocab_ids = codec_.common_token_ids(cfg_.init_vocab_size);
    for (const TaskData& td : tasks_)
      for (const std::string& label : td.task->label_names()) init.label_token_ids.push_back(codec_.encode_target(label));
    if (init.mode == "labels") {
      // Drop the EOS that T5 targets carry: the label's own pieces initialise the row.
      for (auto& toks : init.label_token_ids)
        if (toks.size() > 1 && toks.back() == codec_.eos_id()) toks.pop_back();
    }
    prompt = SoftPrompt::init(cfg_.prompt_length, emb, init, deep ? model_.prompt_layers() : 0);
    size_t n_train = 0;
    for (const TaskData& td : tasks_) n_train += td.train.size();
    log_json("{\"event\":\"start\",\"config\":" + trainer_config_json(cfg_) + ",\"train_examples\":" +
             std::to_string(n_train) + ",\"backbone\":\"" + model_.name() + "\"}");
  }
  check_ranks_agree(prompt, step, cursor);
  prompt.metadata["backbone"] = model_.name();
  prompt.metadata["backbone_hash"] = backbone_hash_;
  prompt.metadata["task"] = task_label_;
  prompt.metadata["seed"] = std::to_string(cfg_.seed);
  prompt.metadata["init"] = cfg_.init.mode;

  auto save_prompt_as = [&](const char* file, int64_t at_step, const std::string& metric) {
    if (!root) return;
    SoftPrompt p = prompt;
    p.metadata["step"] = std::to_string(at_step);
    if (!metric.empty()) p.metadata["metric"] = metric;
    p.save((fs::path(cfg_.out_dir) / file).string());
  };

  const bool tty = isatty(STDERR_FILENO);
  const double t_start = now_s();
  const int64_t first_step = step;
  double loss_ema = NAN, last_print = 0;
  int64_t tokens_seen = 0;
  RunOptions ro;
  std::string last_eval = "";
  while (step < cfg_.steps) {
    if (stop_after >= 0 && step - first_step >= stop_after) break;
    // ---- one optimiser step: accumulate the prompt gradient over micro-batches
    Tensor grad = Tensor::zeros(prompt.values.shape());
    double loss = 0;
    for (int64_t micro = 0; micro < cfg_.grad_accum; ++micro) {
      // The global batch (the same on every rank), and this rank's contiguous shard of it.
      const std::vector<std::pair<int, size_t>> global = next_batch(cursor);
      int64_t global_target_tokens = 0;
      for (const auto& at : global) {
        const Encoded& e = example(at);
        tokens_seen += static_cast<int64_t>(e.input.size() + e.target.size());
        global_target_tokens += static_cast<int64_t>(e.target.size());
      }
      const auto [lo, hi] = shard_range(global.size(), comm_.rank(), comm_.size());
      PromptBatch pb;
      for (size_t i = lo; i < hi; ++i) {
        pb.inputs.push_back(example(global[i]).input);
        pb.targets.push_back(example(global[i]).target);
      }
      Tensor p = prompt.values;
      Tensor keep;  // dropout mask (scaled), when enabled
      if (cfg_.prompt_dropout > 0) {
        p = prompt.values.clone();
        keep = Tensor::empty(p.shape());
        std::mt19937_64 rng(cfg_.seed ^ (0x9e3779b97f4a7c15ull * static_cast<uint64_t>(step * cfg_.grad_accum + micro + 1)));
        std::bernoulli_distribution bern(1.0 - cfg_.prompt_dropout);
        const float scale = static_cast<float>(1.0 / (1.0 - cfg_.prompt_dropout));
        for (int64_t i = 0; i < p.numel(); ++i) {
          keep.f32()[i] = bern(rng) ? scale : 0.0f;
          p.f32()[i] *= keep.f32()[i];
        }
      }
      if (pb.size() == 0) continue;  // a global batch of fewer examples than ranks: none for this one
      // The loss is a mean over the global batch's target tokens: a shard divides by their count
      // (not its own), so that the shards' losses and gradients add up to the global batch's. One
      // process alone leaves it to the backbone (the same count), as before data parallelism.
      ro.loss_tokens = comm_.size() > 1 ? global_target_tokens : 0;
      const RunResult r = model_.run(pb, PromptSet::single(p, cfg_.placement), ro);
      SPOT_CHECK(std::isfinite(r.loss), "trainer: non-finite loss at step " << step << " (check the learning rate)");
      loss += r.loss / static_cast<double>(cfg_.grad_accum);
      for (int64_t i = 0; i < grad.numel(); ++i)
        grad.f32()[i] += r.prompt_grads[0].f32()[i] * (keep.defined() ? keep.f32()[i] : 1.0f) /
                         static_cast<float>(cfg_.grad_accum);
    }
    // The global batch's gradient and loss: the ranks' sums, added in rank order (the same bits on
    // every rank, so the ranks' prompts and optimiser states stay identical).
    comm_.allreduce_sum(std::span<float>(grad.f32(), static_cast<size_t>(grad.numel())));
    comm_.allreduce_sum(std::span<double>(&loss, 1));
    double gnorm = 0;
    for (int64_t i = 0; i < grad.numel(); ++i) gnorm += double(grad.f32()[i]) * grad.f32()[i];
    gnorm = std::sqrt(gnorm);
    const double lr = cfg_.schedule.at(step);
    opt->step(prompt.values, grad, lr);
    ++step;
    loss_ema = std::isnan(loss_ema) ? loss : 0.95 * loss_ema + 0.05 * loss;
    res.final_loss = loss;

    const double elapsed = now_s() - t_start;
    const double rate = (step - first_step) / std::max(elapsed, 1e-9);
    if (step % cfg_.log_every == 0 || step == cfg_.steps)
      log_json("{\"event\":\"train\",\"step\":" + std::to_string(step) + ",\"loss\":" + std::to_string(loss) +
               ",\"loss_ema\":" + std::to_string(loss_ema) + ",\"lr\":" + std::to_string(lr) +
               ",\"grad_norm\":" + std::to_string(gnorm) + ",\"elapsed_s\":" + std::to_string(elapsed) +
               ",\"tokens\":" + std::to_string(tokens_seen) + "}");
    if (root && (elapsed - last_print > (tty ? 0.5 : 30.0) || step == cfg_.steps)) {
      last_print = elapsed;
      const double eta = (cfg_.steps - step) / std::max(rate, 1e-9);
      std::fprintf(stderr, "%s[%s] step %lld/%lld  loss %.4f  %.2f steps/s  %.0f tok/s  elapsed %s  ETA %s%s%s",
                   tty ? "\r\033[K" : "", task_label_.c_str(), (long long)step, (long long)cfg_.steps, loss_ema,
                   rate, tokens_seen / std::max(elapsed, 1e-9), fmt_duration(elapsed).c_str(),
                   fmt_duration(eta).c_str(), last_eval.c_str(), tty ? "" : "\n");
      std::fflush(stderr);
    }
    if (cfg_.task_embedding_step > 0 && step == cfg_.task_embedding_step) save_prompt_as("task_embedding.safetensors", step, "");
    const bool do_eval = cfg_.eval_every > 0 && (step % cfg_.eval_every == 0 || step == cfg_.steps);
    if (do_eval) {
      // Rank 0 evaluates; the others wait for its score, so that every rank keeps the same best.
      double score = 0;
      if (root) {
        const std::vector<eval::EvalResult> ers = evaluate(prompt.values, cfg_.eval_examples);
        score = mean_score(ers);
        char buf[96];
        std::snprintf(buf, sizeof buf, "  | %s score %.1f", cfg_.eval_split.c_str(), score);
        last_eval = buf;
        if (tty) std::fprintf(stderr, "\n");
        for (const eval::EvalResult& er : ers) {
          std::fprintf(stderr, "[%s] step %lld: %s %s, %zu examples\n", er.task.c_str(), (long long)step,
                       cfg_.eval_split.c_str(), eval::result_summary(er).c_str(), er.num_examples);
          log_json("{\"event\":\"eval\",\"step\":" + std::to_string(step) + ",\"result\":" + eval::result_json(er) + "}");
        }
        res.final_eval = ers;
      }
      comm_.barrier();
      comm_.broadcast(&score, sizeof score, 0);
      if (score > best) {
        best = score;
        best_step = step;
        save_prompt_as("best_prompt.safetensors", step, std::to_string(score));
      }
    }
    if ((cfg_.checkpoint_every > 0 && step % cfg_.checkpoint_every == 0) || step == cfg_.steps)
      save_checkpoint(prompt.values, *opt, step, cursor, best, best_step);
  }
  if (root && tty) std::fprintf(stderr, "\n");
  if (step >= cfg_.steps) save_prompt_as("final_prompt.safetensors", step, "");
  // Every rank returns once rank 0's files are written (what runs next may read them).
  comm_.barrier();
  res.steps_done = step;
  res.best_score = best;
  res.best_step = best_step;
  return res;
}

}  // namespace spot
