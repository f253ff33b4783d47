// soft_prompt.cpp — prompt initialisation, persistence, and PEFT prompt-tuning import / export
// (the adapter files of huggingface/peft 0.22: PromptTuningConfig, PeftModel.save_pretrained).
#include "prompt/soft_prompt.h"

#include <boost/json.hpp>
#include <cmath>
#include <filesystem>
#include <random>

#include "io/cache.h"
#include "io/safetensors.h"

namespace spot {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// PEFT's file names (peft/utils/constants.py: CONFIG_NAME, SAFETENSORS_WEIGHTS_NAME, WEIGHTS_NAME).
constexpr const char* kPeftConfig = "adapter_config.json";
constexpr const char* kPeftWeights = "adapter_model.safetensors";
constexpr const char* kPeftPickle = "adapter_model.bin";
// The version of PEFT whose save_pretrained the export reproduces (its config's "peft_version").
constexpr const char* kPeftFormatVersion = "0.22.0";
// peft.utils.peft_types.TaskType: a config with another task_type fails PeftConfig.__post_init__.
constexpr const char* kPeftTaskTypes[] = {"SEQ_CLS", "SEQ_2_SEQ_LM", "CAUSAL_LM", "TOKEN_CLS", "QUESTION_ANS",
                                          "FEATURE_EXTRACTION"};
// A bound far above any real prompt that keeps rows * submodules and rows * token_dim in int64.
constexpr int64_t kPeftMaxCount = int64_t(1) << 24;

const char* json_kind(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64: return "an integer";
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "?";
}

// The adapter_config.json fields spot uses; `meta` holds every non-null field as "peft.<field>".
struct PeftPromptConfig {
  int64_t num_virtual_tokens = 0;
  int64_t token_dim = 0;
  int64_t num_transformer_submodules = 1;
  std::map<std::string, std::string> meta;
};

int64_t peft_count(const json::object& o, const char* key, const std::string& path) {
  const json::value* v = o.if_contains(key);
  SPOT_CHECK(v && !v->is_null(), path << ": field '" << key << "' is missing (PEFT's save_pretrained writes it)");
  int64_t n = 0;
  if (v->is_int64())
    n = v->as_int64();
  else if (v->is_uint64())
    n = v->as_uint64() > uint64_t(kPeftMaxCount) ? kPeftMaxCount + 1 : int64_t(v->as_uint64());
  else
    SPOT_FAIL(path << ": field '" << key << "' must be an integer, got " << json_kind(*v) << " " << json::serialize(*v));
  SPOT_CHECK(n > 0 && n <= kPeftMaxCount, path << ": field '" << key << "' is " << n << ", expected 1.." << kPeftMaxCount);
  return n;
}

PeftPromptConfig read_peft_config(const std::string& path) {
  std::error_code fec;
  SPOT_CHECK(fs::is_regular_file(path, fec), path << ": not found; a PEFT adapter directory holds " << kPeftConfig
                                                  << " beside " << kPeftWeights);
  const std::string text = io::read_file(path);
  json::parse_options opts;
  opts.max_depth = 32;
  json::error_code ec;
  const json::value root = json::parse(text, ec, json::storage_ptr(), opts);
  SPOT_CHECK(!ec, path << ": not valid JSON: " << ec.message());
  SPOT_CHECK(root.is_object(), path << ": expected a JSON object at the top level, got " << json_kind(root));
  const json::object& o = root.as_object();

  const json::value* type = o.if_contains("peft_type");
  SPOT_CHECK(type && !type->is_null(), path << ": field 'peft_type' is missing; spot reads PEFT prompt tuning "
                                            << "adapters (peft_type PROMPT_TUNING) only");
  SPOT_CHECK(type->is_string(), path << ": field 'peft_type' must be a string, got " << json_kind(*type));
  const std::string peft_type(type->as_string());
  SPOT_CHECK(peft_type == "PROMPT_TUNING", path << ": field 'peft_type' is '" << peft_type
                                                << "'; spot reads PEFT prompt tuning adapters (PROMPT_TUNING) only");

  PeftPromptConfig c;
  std::string task_type;
  if (const json::value* t = o.if_contains("task_type"); t && !t->is_null()) {
    SPOT_CHECK(t->is_string(), path << ": field 'task_type' must be a string or null, got " << json_kind(*t));
    task_type = std::string(t->as_string());
    bool known = false;
    for (const char* k : kPeftTaskTypes) known = known || task_type == k;
    SPOT_CHECK(known, path << ": field 'task_type' is '" << task_type << "', not one of PEFT's task types "
                           << "(SEQ_CLS, SEQ_2_SEQ_LM, CAUSAL_LM, TOKEN_CLS, QUESTION_ANS, FEATURE_EXTRACTION)");
  }
  c.num_virtual_tokens = peft_count(o, "num_virtual_tokens", path);
  c.token_dim = peft_count(o, "token_dim", path);
  // null: PEFT decides when it builds the model (_setup_prompt_encoder: 2 for SEQ_2_SEQ_LM, else 1).
  const json::value* sub = o.if_contains("num_transformer_submodules");
  c.num_transformer_submodules = sub && !sub->is_null() ? peft_count(o, "num_transformer_submodules", path)
                                                        : task_type == "SEQ_2_SEQ_LM" ? 2 : 1;
  SPOT_CHECK(c.num_transformer_submodules == 1 || c.num_transformer_submodules == 2,
             path << ": field 'num_transformer_submodules' is " << c.num_transformer_submodules << ", expected 1 or 2");
  SPOT_CHECK(c.num_transformer_submodules == 1 || task_type == "SEQ_2_SEQ_LM",
             path << ": field 'num_transformer_submodules' is 2 (an encoder and a decoder prompt) but field "
                  << "'task_type' is '" << (task_type.empty() ? "null" : task_type)
                  << "'; PEFT splits a prompt in two for SEQ_2_SEQ_LM only");
  for (const auto& kv : o) {
    if (kv.value().is_null()) continue;
    c.meta["peft." + std::string(kv.key())] =
        kv.value().is_string() ? std::string(kv.value().as_string()) : json::serialize(kv.value());
  }
  return c;
}

// PEFT's json.dumps(..., indent=2) of a flat object whose keys are already sorted (std::map).
std::string peft_config_text(const std::map<std::string, json::value>& fields) {
  std::string out = "{\n";
  size_t i = 0;
  for (const auto& [key, value] : fields) {
    out += "  " + json::serialize(json::value(key)) + ": " + json::serialize(value);
    out += ++i < fields.size() ? ",\n" : "\n";
  }
  return out + "}";
}

}  // namespace

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
  std::error_code ec;
  if (fs::is_directory(path, ec) && fs::exists(fs::path(path) / kPeftConfig, ec))
    return load((fs::path(path) / kPeftWeights).string(), expected_dim, expected_len, expected_layers);
  io::SafetensorsFile f = io::SafetensorsFile::open(path);
  SoftPrompt p;
  const char* key = f.contains("prompt") ? "prompt" : f.contains("prompt_embeddings") ? "prompt_embeddings" : nullptr;
  SPOT_CHECK(key, path << ": no tensor 'prompt' (spot) or 'prompt_embeddings' (PEFT) in this file");
  if (std::string(key) == "prompt_embeddings" && fs::is_regular_file(fs::path(path).parent_path() / kPeftConfig, ec)) {
    p = import_peft(path, expected_dim);
    SPOT_CHECK(expected_layers <= 0, path << ": a PEFT prompt-tuning adapter is an input-depth prompt [length, d_model]; a "
                                          << "deep prompt of " << expected_layers << " layer blocks was expected");
    SPOT_CHECK(expected_len <= 0 || p.length() == expected_len,
               path << ": PEFT adapter has num_virtual_tokens " << p.length() << ", expected length " << expected_len);
    return p;
  }
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

SoftPrompt SoftPrompt::import_peft(const std::string& path, int64_t expected_dim) {
  std::error_code ec;
  const bool is_dir = fs::is_directory(path, ec);
  const fs::path dir = is_dir ? fs::path(path) : fs::path(path).parent_path();
  const std::string weights = is_dir ? (dir / kPeftWeights).string() : path;
  const std::string config = (dir / kPeftConfig).string();
  if (is_dir && !fs::exists(weights, ec) && fs::exists(dir / kPeftPickle, ec))
    SPOT_FAIL((dir / kPeftPickle).string() << ": PyTorch pickle adapters are not read; save the adapter with "
                                           << "save_pretrained(..., safe_serialization=True) for " << kPeftWeights);
  SPOT_CHECK(fs::exists(weights, ec), weights << ": not found (a PEFT adapter directory holds " << kPeftWeights << ")");
  const PeftPromptConfig c = read_peft_config(config);
  const io::SafetensorsFile f = io::SafetensorsFile::open(weights);
  const char* key = "prompt_embeddings";
  if (!f.contains(key)) {
    std::string names;
    for (const std::string& n : f.names()) names += (names.empty() ? "'" : ", '") + n + "'";
    SPOT_FAIL(weights << ": no tensor 'prompt_embeddings' (the one tensor of a PEFT prompt-tuning adapter); it holds "
                      << (names.empty() ? "no tensors" : names));
  }
  for (const std::string& n : f.names())
    SPOT_CHECK(n == key, weights << ": tensor '" << n << "' beside 'prompt_embeddings': the adapter trains more than the "
                                 << "prompt (modules_to_save?), which spot cannot apply");
  const io::SafetensorsEntry& e = f.entry(key);
  SPOT_CHECK(e.file_dtype == "F32" || e.file_dtype == "F16" || e.file_dtype == "BF16",
             weights << ": tensor 'prompt_embeddings' has dtype " << e.file_dtype << "; F32, F16 or BF16 expected");
  SPOT_CHECK(e.shape.size() == 2, weights << ": tensor 'prompt_embeddings' has shape " << shape_str(e.shape)
                                          << ", expected [num_virtual_tokens * num_transformer_submodules, token_dim]");
  const int64_t rows = c.num_virtual_tokens * c.num_transformer_submodules;
  SPOT_CHECK(e.shape[0] == rows, weights << ": tensor 'prompt_embeddings' has " << e.shape[0] << " rows but " << config
                                         << " says num_virtual_tokens " << c.num_virtual_tokens
                                         << " x num_transformer_submodules " << c.num_transformer_submodules << " = "
                                         << rows);
  SPOT_CHECK(e.shape[1] == c.token_dim, weights << ": tensor 'prompt_embeddings' has " << e.shape[1] << " columns but "
                                                << config << " says token_dim " << c.token_dim);
  SPOT_CHECK(expected_dim <= 0 || c.token_dim == expected_dim,
             config << ": field 'token_dim' is " << c.token_dim << ", the backbone's d_model is " << expected_dim);
  const Tensor all = f.load_f32(key);  // F16 / BF16 widen to f32 exactly
  SoftPrompt p;
  p.values = Tensor::empty({c.num_virtual_tokens, c.token_dim});
  // The first num_virtual_tokens rows: the encoder (or only) prompt.
  std::copy(all.f32(), all.f32() + p.values.numel(), p.values.f32());
  for (int64_t i = 0; i < p.values.numel(); ++i)
    SPOT_CHECK(std::isfinite(p.values.f32()[i]), weights << ": tensor 'prompt_embeddings' holds a non-finite value at row "
                                                         << i / c.token_dim << ", column " << i % c.token_dim);
  p.metadata = c.meta;
  p.metadata["imported_from"] = dir.string();
  return p;
}

void SoftPrompt::export_peft(const std::string& dir, const std::string& base_model, const std::string& task_type,
                             int64_t num_layers, int64_t num_heads) const {
  SPOT_CHECK(values.defined() && (values.ndim() == 2 || values.ndim() == 3), "PEFT export: no prompt values");
  SPOT_CHECK(!deep(), "PEFT export: a deep prompt (" << layers() << " layer blocks) has no PEFT prompt-tuning "
                                                    << "equivalent; only input-depth prompts [length, d_model] export");
  bool known = false;
  for (const char* k : kPeftTaskTypes) known = known || task_type == k;
  SPOT_CHECK(known, "PEFT export: task type '" << task_type << "' is not one of PEFT's (SEQ_CLS, SEQ_2_SEQ_LM, "
                                               << "CAUSAL_LM, TOKEN_CLS, QUESTION_ANS, FEATURE_EXTRACTION)");
  SPOT_CHECK(num_layers > 0 && num_heads > 0,
             "PEFT export: num_layers " << num_layers << " and num_attention_heads " << num_heads << " must be positive");
  fs::create_directories(dir);
  io::save_safetensors((fs::path(dir) / kPeftWeights).string(), {{"prompt_embeddings", values}}, {{"format", "pt"}});
  // PromptTuningConfig's fields as peft 0.22 saves them (PeftConfigMixin.save_pretrained: to_dict, keys
  // sorted, indent 2, no final newline).
  const std::map<std::string, json::value> cfg{{"auto_mapping", nullptr},
                                               {"base_model_name_or_path", json::value(base_model)},
                                               {"inference_mode", true},
                                               {"modules_to_save", nullptr},
                                               {"num_attention_heads", num_heads},
                                               {"num_layers", num_layers},
                                               {"num_transformer_submodules", 1},
                                               {"num_virtual_tokens", length()},
                                               {"peft_type", "PROMPT_TUNING"},
                                               {"peft_version", kPeftFormatVersion},
                                               {"prompt_tuning_init", "RANDOM"},
                                               {"prompt_tuning_init_text", nullptr},
                                               {"revision", nullptr},
                                               {"task_type", json::value(task_type)},
                                               {"token_dim", dim()},
                                               {"tokenizer_kwargs", nullptr},
                                               {"tokenizer_name_or_path", nullptr}};
  io::write_file_atomic((fs::path(dir) / kPeftConfig).string(), peft_config_text(cfg));
}

}  // namespace spot
