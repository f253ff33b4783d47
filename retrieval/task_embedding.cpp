// task_embedding.cpp — the prompt and data kinds of task embedding (task_embedding.h).
#include "retrieval/task_embedding.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <random>

#include "base/check.h"
#include "io/safetensors.h"
#include "prompt/soft_prompt.h"

namespace spot::retrieval {

namespace fs = std::filesystem;

const char* embedding_kind_name(EmbeddingKind k) { return k == EmbeddingKind::Prompt ? "prompt" : "data"; }

EmbeddingKind parse_embedding_kind(const std::string& s) {
  if (s == "prompt") return EmbeddingKind::Prompt;
  if (s == "data") return EmbeddingKind::Data;
  SPOT_FAIL("unknown task-embedding kind '" << s << "' (expected prompt or data)");
}

void TaskEmbedding::save(const std::string& path) const {
  SPOT_CHECK(values.defined() && values.ndim() == 2 && values.is_cpu() && values.dtype() == DType::F32,
             path << ": a task embedding is a host f32 [rows, d_model] tensor");
  std::map<std::string, std::string> meta = metadata;
  meta["format"] = "spot.task_embedding.v1";
  meta["kind"] = kind;
  io::save_safetensors(path, {{"embedding", values}}, meta);
}

TaskEmbedding TaskEmbedding::load(const std::string& path, int64_t expected_dim) {
  const io::SafetensorsFile f = io::SafetensorsFile::open(path);
  TaskEmbedding e;
  e.metadata = f.metadata();
  if (f.contains("embedding")) {
    e.values = f.load_f32("embedding");
    auto k = e.metadata.find("kind");
    SPOT_CHECK(k != e.metadata.end(), path << ": metadata has no 'kind' (prompt or data)");
    parse_embedding_kind(k->second);
    e.kind = k->second;
  } else {
    // A prompt file (task_embedding.safetensors written by the trainer, or any saved prompt): the
    // prompt kind, a deep prompt's blocks as layers·L rows.
    const SoftPrompt p = SoftPrompt::load(path);
    e.values = p.values.reshape({p.values.numel() / p.dim(), p.dim()}).clone();
    e.metadata = p.metadata;
    e.kind = "prompt";
  }
  SPOT_CHECK(e.values.ndim() == 2 && e.values.dim(0) > 0,
             path << ": tensor 'embedding' has shape " << shape_str(e.values.shape()) << ", expected [rows, d_model]");
  SPOT_CHECK(expected_dim <= 0 || e.values.dim(1) == expected_dim,
             path << ": the embedding has d_model " << e.values.dim(1) << ", the backbone has " << expected_dim);
  for (int64_t i = 0; i < e.values.numel(); ++i)
    SPOT_CHECK(std::isfinite(e.values.f32()[i]), path << ": tensor 'embedding' holds a non-finite value at " << i);
  return e;
}

TaskEmbedding data_embedding(FrozenBackbone& model, const TextCodec& codec, const eval::Task& task,
                             const std::string& data_dir, const DataEmbeddingSpec& spec,
                             const std::function<void(int64_t, int64_t)>& progress) {
  SPOT_CHECK(spec.examples > 0, "data embedding: the sample size must be positive, got " << spec.examples);
  SPOT_CHECK(spec.batch > 0, "data embedding: the batch must be positive, got " << spec.batch);
  const std::vector<eval::Example> rows = task.load(data_dir, spec.split);
  SPOT_CHECK(!rows.empty(), "data embedding: task " << task.name() << " split " << spec.split << " has no examples under "
                                                    << data_dir);
  std::vector<size_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(spec.seed * 1000003ull + 17);
  std::shuffle(order.begin(), order.end(), rng);
  order.resize(std::min<size_t>(order.size(), static_cast<size_t>(spec.examples)));
  std::sort(order.begin(), order.end());  // the sample is a set; read in file order

  std::vector<std::vector<int32_t>> inputs;
  inputs.reserve(order.size());
  for (size_t i : order)
    inputs.push_back(codec.truncate_input(codec.encode_input(task.format(rows[i], spec.verbalizer).input),
                                          spec.max_input_tokens));
  const int64_t n = static_cast<int64_t>(inputs.size()), d = model.d_model();
  TaskEmbedding e;
  e.kind = "data";
  e.values = Tensor::zeros({n, d});
  RunOptions opt;
  opt.backward = false;
  opt.keep_input_mean = true;
  // Batches of similar lengths pad less; each row goes back to its example's place.
  std::vector<int64_t> by_len(n);
  std::iota(by_len.begin(), by_len.end(), 0);
  std::stable_sort(by_len.begin(), by_len.end(), [&](int64_t a, int64_t b) { return inputs[a].size() < inputs[b].size(); });
  for (int64_t start = 0; start < n; start += spec.batch) {
    const int64_t end = std::min(n, start + spec.batch);
    PromptBatch batch;
    for (int64_t i = start; i < end; ++i) {
      batch.inputs.push_back(inputs[by_len[i]]);
      batch.targets.push_back({codec.eos_id()});  // a one-token target: never seen by the input rows
    }
    const RunResult r = model.run(batch, Tensor(), opt);
    for (int64_t i = start; i < end; ++i)
      std::copy(r.input_mean.f32() + (i - start) * d, r.input_mean.f32() + (i - start + 1) * d,
                e.values.f32() + by_len[i] * d);
    if (progress) progress(end, n);
  }
  e.metadata = {{"task", task.name()},
                {"backbone", model.name()},
                {"backbone_hash", backbone_fingerprint(model)},
                {"split", spec.split},
                {"examples", std::to_string(n)},
                {"seed", std::to_string(spec.seed)},
                {"verbalizer", eval::verbalizer_name(spec.verbalizer)},
                {"max_input_tokens", std::to_string(spec.max_input_tokens)}};
  return e;
}

TaskEmbedding prompt_embedding(FrozenBackbone& model, const TextCodec& codec, TrainerConfig c,
                               const PromptEmbeddingSpec& spec, const std::string& run_dir) {
  SPOT_CHECK(spec.steps > 0, "prompt embedding: steps must be positive, got " << spec.steps);
  SPOT_CHECK(spec.examples == -1 || spec.examples > 0,
             "prompt embedding: examples must be positive or -1 (all), got " << spec.examples);
  c.steps = spec.steps;
  c.task_embedding_step = spec.steps;
  c.max_train_examples = spec.examples;
  c.eval_every = 0;
  c.checkpoint_every = std::max<int64_t>(1, std::min<int64_t>(c.checkpoint_every, spec.steps / 4));
  c.out_dir = run_dir;
  Trainer t(model, codec, c);
  t.train();
  TaskEmbedding e = prompt_embedding_from_run(run_dir);
  e.metadata["embedding_steps"] = std::to_string(spec.steps);
  e.metadata["embedding_examples"] = std::to_string(spec.examples);
  return e;
}

TaskEmbedding prompt_embedding_from_run(const std::string& run_dir) {
  const fs::path p = fs::path(run_dir) / "task_embedding.safetensors";
  SPOT_CHECK(fs::exists(p), p.string() << ": no task embedding in this run (train with --task-embedding-step N, or "
                                       << "`spot embed --kind prompt`)");
  return TaskEmbedding::load(p.string());
}

}  // namespace spot::retrieval
