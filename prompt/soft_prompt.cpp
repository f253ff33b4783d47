// soft_prompt.cpp — prompt initialisation, persistence and PEFT export.
#include "prompt/soft_prompt.h"

#include <boost/json.hpp>
#include <filesystem>
#include <random>

#include "io/cache.h"
#include "io/safetensors.h"

namespace spot {

SoftPrompt SoftPrompt::init(int64_t L, const Tensor& emb, const PromptInit& spec, int64_t layers) {
  SPOT_CHECK(layers >= 0, "soft prompt init: layers " << layers);
  if (layers > 0) {
    SoftPrompt p;
    if (spec.mode == "file") {
      p = load(spec.file, emb.defined() ? emb.dim(1) : 0, L, layers);
      p.metadata["init_from"] = spec.file;
    } else {
      p.values = Tensor::empty({layers, L, emb.dim(1)});
      for (int64_t l = 0; l < layers; ++l) {
        PromptInit block = spec;
        block.seed = spec.seed + static_cast<uint64_t>(l);
        const SoftPrompt b = init(L, emb, block);
        std::copy(b.values.f32(), b.values.f32() + b.values.numel(), p.values.f32() + l * b.values.numel());
      }
    }
    p.metadata["init"] = spec.mode;
    p.metadata["seed"] = std::to_string(spec.seed);
    return p;
  }
  SPOT_CHECK(L > 0, "soft prompt length must be positive, got " << L);
  SPOT_CHECK(emb.defined() && emb.ndim() == 2 && emb.is_cpu(), "soft prompt init: embeddings must be a host [V, d] tensor");
  const int64_t V = emb.dim(0), d = emb.dim(1);
  SoftPrompt p;
  p.values = Tensor::empty({L, d});
  std::mt19937_64 rng(spec.seed);
  auto copy_row = [&](int64_t row, int32_t id) {
    SPOT_CHECK(id >= 0 && id < V, "soft prompt init: token id " << id << " outside vocabulary of " << V);
    std::copy(emb.f32() + int64_t(id) * d, emb.f32() + (int64_t(id) + 1) * d, p.values.f32() + row * d);
  };
  auto fill_vocab = [&](int64_t from) {
    SPOT_CHECK(!spec.vocab_ids.empty(), "soft prompt init '" << spec.mode << "': no vocabulary ids to sample from");
    std::uniform_int_distribution<size_t> pick(0, spec.vocab_ids.size() - 1);
    for (int64_t r = from; r < L; ++r) copy_row(r, spec.vocab_ids[pick(rng)]);
  };
  if (spec.mode == "uniform") {
    std::uniform_real_distribution<float> u(static_cast<float>(-spec.uniform_range), static_cast<float>(spec.uniform_range));
    for (int64_t i = 0; i < p.values.numel(); ++i) p.values.f32()[i] = u(rng);
  } else if (spec.mode == "vocab") {
    fill_vocab(0);
  } else if (spec.mode == "labels") {
    // One row per class label (the mean of its tokens' embeddings), the rest sampled from the
    // vocabulary (Lester et al. 2021 §3.2 "class label" initialisation with back-off).
    SPOT_CHECK(!spec.label_token_ids.empty(), "soft prompt init 'labels': the task has no class labels");
    int64_t r = 0;
    for (const auto& toks : spec.label_token_ids) {
      if (r >= L) break;
      SPOT_CHECK(!toks.empty(), "soft prompt init 'labels': a label has no tokens");
      for (int64_t j = 0; j < d; ++j) {
        double s = 0;
        for (int32_t id : toks) {
          SPOT_CHECK(id >= 0 && id < V, "soft prompt init: label token " << id << " outside vocabulary");
          s += emb.f32()[int64_t(id) * d + j];
        }
        p.values.f32()[r * d + j] = static_cast<float>(s / static_cast<double>(toks.size()));
      }
      ++r;
    }
    fill_vocab(r);
  } else if (spec.mode == "file") {
    SoftPrompt f = load(spec.file, d, L, /*expected_layers=*/0);
    p.values = f.values;
    p.metadata["init_from"] = spec.file;
  } else {
    SPOT_FAIL("unknown prompt init mode '" << spec.mode << "' (expected uniform, vocab, labels or file)");
  }
  p.metadata["init"] = spec.mode;
  p.metadata["seed"] = std::to_string(spec.seed);
  return p;
}

void SoftPrompt::save(const std::string& path) const {
  SPOT_CHECK(values.defined() && (values.ndim() == 2 || values.ndim() == 3), "SoftPrompt::save: no prompt values");
  std::map<std::string, std::string> meta = metadata;
  meta["format"] = "spot.soft_prompt.v1";
  meta["length"] = std::to_string(length());
  meta["d_model"] = std::to_string(dim());
  meta["depth"] = deep() ? "deep" : "input";
  if (deep()) meta["layers"] = std::to_string(layers());
  io::save_safetensors(path, {{"prompt", values}}, meta);
}

SoftPrompt SoftPrompt::load(const std::string& path, int64_t expected_dim, int64_t expected_len,
                            int64_t expected_layers) {
  io::SafetensorsFile f = io::SafetensorsFile::open(path);
  SoftPrompt p;
  const char* key = f.contains("prompt") ? "prompt" : f.contains("prompt_embeddings") ? "prompt_embeddings" : nullptr;
  SPOT_CHECK(key, path << ": no tensor 'prompt' (spot) or 'prompt_embeddings' (PEFT) in this file");
  p.values = f.load_f32(key);
  SPOT_CHECK(p.values.ndim() == 2 || p.values.ndim() == 3,
             path << ": tensor '" << key << "' has shape " << shape_str(p.values.shape())
                  << ", expected [length, d_model] (depth input) or [layers, length, d_model] (depth deep)");
  if (expected_layers == 0)
    SPOT_CHECK(p.values.ndim() == 2, path << ": tensor '" << key << "' " << shape_str(p.values.shape())
                                          << " is a deep prompt (one block per layer); an input-depth prompt "
                                          << "[length, d_model] was expected");
  if (expected_layers > 0)
    SPOT_CHECK(p.values.ndim() == 3 && p.values.dim(0) == expected_layers,
               path << ": tensor '" << key << "' has shape " << shape_str(p.values.shape()) << ", expected a deep prompt of "
                    << expected_layers << " layer blocks [" << expected_layers << ", length, d_model]");
  SPOT_CHECK(expected_dim <= 0 || p.values.dim(-1) == expected_dim,
             path << ": tensor '" << key << "' has d_model " << p.values.dim(-1) << ", the backbone has " << expected_dim);
  SPOT_CHECK(expected_len <= 0 || p.values.dim(-2) == expected_len,
             path << ": tensor '" << key << "' has length " << p.values.dim(-2) << ", expected " << expected_len);
  for (int64_t i = 0; i < p.values.numel(); ++i)
    SPOT_CHECK(std::isfinite(p.values.f32()[i]), path << ": tensor '" << key << "' holds a non-finite value at " << i);
  p.metadata = f.metadata();
  return p;
}

void SoftPrompt::export_peft(const std::string& dir, const std::string& base_model, const std::string& task_type,
                             int64_t num_layers, int64_t num_heads) const {
  namespace fs = std::filesystem;
  SPOT_CHECK(!deep(), "PEFT export: a deep prompt (" << layers() << " layer blocks) has no PEFT prompt-tuning "
                                                    << "equivalent; only input-depth prompts [length, d_model] export");
  fs::create_directories(dir);
  io::save_safetensors((fs::path(dir) / "adapter_model.safetensors").string(), {{"prompt_embeddings", values}}, {{"format", "pt"}});
  boost::json::object cfg{{"peft_type", "PROMPT_TUNING"},
                          {"task_type", task_type},
                          {"num_virtual_tokens", length()},
                          {"token_dim", dim()},
                          {"num_transformer_submodules", 1},
                          {"num_attention_heads", num_heads},
                          {"num_layers", num_layers},
                          {"prompt_tuning_init", "RANDOM"},
                          {"prompt_tuning_init_text", nullptr},
                          {"tokenizer_name_or_path", nullptr},
                          {"base_model_name_or_path", base_model},
                          {"inference_mode", true},
                          {"revision", nullptr}};
  io::write_file_atomic((fs::path(dir) / "adapter_config.json").string(), boost::json::serialize(cfg) + "\n");
}

}  // namespace spot
