// registry.cpp — backbone specs to loaded models.
#include "model/registry.h"

#include <boost/json.hpp>

#include <cstring>
#include <cstdlib>
#include <filesystem>

#include "io/data_dir.h"
#include "model/codecs.h"
#include "io/cache.h"
#include "io/fetch_model.h"
#include "io/gguf.h"
#include "io/gguf_llama.h"
#include "model/llama/llama_model.h"
#include "model/t5/t5_model.h"

namespace spot {

namespace fs = std::filesystem;
namespace json = boost::json;

std::string smollm2_gguf_path(const std::string& cache_dir) {
  const std::string cache = cache_dir.empty() ? io::default_cache_dir() : cache_dir;
  return (fs::path(cache) / "models" / "smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf").string();
}

namespace {

// GGUF tensors under their Hugging Face names, dequantised, with the Q/K rows put back in HF's
// order (io/gguf_llama.h).
class GgufLlamaSource : public TensorSource {
 public:
  GgufLlamaSource(const io::GgufFile& f, const io::LlamaGgufConfig& c) : f_(f), c_(c) {}
  std::string describe() const override { return f_.path(); }
  bool contains(const std::string& name) const override {
    const std::string g = io::llama_hf_to_gguf_name(name);
    return !g.empty() && f_.has_tensor(g);
  }
  Tensor load_f32(const std::string& name, const Shape& expected) const override {
    const std::string g = io::llama_hf_to_gguf_name(name);
    SPOT_CHECK(!g.empty() && f_.has_tensor(g), f_.path() << ": missing tensor '" << name << "' (GGUF '" << g << "')");
    Tensor t = io::llama_load_f32_hf_layout(f_, c_, g);
    check_shape(t, expected, (f_.path() + ": tensor '" + g + "'").c_str());
    return t;
  }

 private:
  const io::GgufFile& f_;
  const io::LlamaGgufConfig& c_;
};

LoadedBackbone load_gguf(Context& ctx, const std::string& path, const BackboneOptions& o) {
  SPOT_CHECK(fs::exists(path), path << ": no such GGUF file");
  const io::GgufFile f = io::GgufFile::open(path);
  const io::LlamaGgufConfig g = io::llama_config_from_gguf(f);
  io::llama_check_tensors(f, g);
  auto tok = tokenizer::BpeTokenizer::from_gguf(f);
  LlamaConfig c(g.vocab_size, g.d_model, g.d_ff, g.n_layers, g.n_heads, g.n_kv_heads, g.head_dim, g.rms_eps,
                g.rope_theta, g.tied_embeddings, tok.bos_id(), tok.eos_id(), g.context_length);
  c.validate(path);
  SPOT_CHECK(o.llama_prompt_path == "auto" || o.llama_prompt_path == "shared" || o.llama_prompt_path == "replicated",
             "llama prompt path '" << o.llama_prompt_path << "' (expected auto, shared or replicated)");
  // auto: the shared prefix on CPU (1.30x faster step, bench/README.md), the replicated prompt on
  // CUDA, where the prompt stream's extra small launches cost more than its FLOPs save (H100: 21.1
  // vs 28.3 ms per SmolLM2-shaped step, bench/results/h100/llama_step.log).
  const bool shared = o.llama_prompt_path == "shared" || (o.llama_prompt_path == "auto" && ctx.backend() != Backend::Cuda);
  const LlamaPromptPath pp = shared ? LlamaPromptPath::SharedPrefix : LlamaPromptPath::Replicated;
  LoadedBackbone lb;
  lb.model = std::make_unique<LlamaModel>(ctx, LlamaWeights::load(c, GgufLlamaSource(f, g), ctx.device()), pp,
                                          o.precision);
  lb.codec = std::make_unique<LlamaCodec>(std::move(tok), o.chat);
  lb.path = path;
  return lb;
}

LoadedBackbone load_t5(Context& ctx, const std::string& dir, const BackboneOptions& o) {
  LoadedBackbone lb;
  lb.model = T5Model::from_pretrained(ctx, dir, o.precision);
  std::string sp = o.tokenizer;
  if (!sp.empty()) {
    SPOT_CHECK(fs::exists(sp), "--tokenizer " << sp << ": no such file");
  } else if (sp = (fs::path(dir) / "spiece.model").string(); !fs::exists(sp)) {
    // The data directory's copy (../shared/data/tokenizers/t5/spiece.model here). A bad --data or
    // $SPOT_DATA says so itself; with neither, the message says what was looked for.
    std::string data;
    try {
      data = io::resolve_data_dir(o.data_dir);
    } catch (const Error&) {
      if (o.data_dir || std::getenv("SPOT_DATA")) throw;
      SPOT_FAIL(dir << ": no spiece.model beside the checkpoint, no --tokenizer, and no data directory to take "
                       "tokenizers/t5/spiece.model from (--data DIR or $SPOT_DATA)");
    }
    sp = (fs::path(data) / "tokenizers" / "t5" / "spiece.model").string();
  }
  lb.codec = std::make_unique<T5Codec>(sp);
  SPOT_CHECK(lb.codec->vocab_size() <= lb.model->vocab_size(),
             sp << ": tokenizer has " << lb.codec->vocab_size() << " ids, the model's vocabulary "
                << lb.model->vocab_size());
  lb.path = dir;
  return lb;
}

}  // namespace

std::string hf_model_dir(const std::string& repo_id, const std::string& cache_dir) {
  SPOT_CHECK(io::is_valid_hf_repo_id(repo_id), "hf:" << repo_id << ": not a Hugging Face repo id (expected owner/name)");
  return io::model_cache_dir(cache_dir.empty() ? io::default_cache_dir() : cache_dir, "hf/" + repo_id);
}

void check_backbone_spec(const std::string& spec) {
  if (spec == "smollm2") return;
  for (const char* prefix : {"gguf:", "t5:"})
    if (spec.rfind(prefix, 0) == 0) {
      SPOT_CHECK(spec.size() > std::strlen(prefix), "backbone '" << spec << "': empty path after '" << prefix << "'");
      return;
    }
  if (spec.rfind("hf:", 0) == 0) {
    SPOT_CHECK(io::is_valid_hf_repo_id(spec.substr(3)),
               "backbone '" << spec << "': not a Hugging Face repo id after 'hf:' (expected owner/name)");
    return;
  }
  SPOT_FAIL("unknown backbone '" << spec << "' (expected smollm2, gguf:<file>, t5:<dir> or hf:<owner/name>)");
}

LoadedBackbone load_backbone(Context& ctx, const std::string& spec, const BackboneOptions& o) {
  LoadedBackbone lb;
  if (spec == "smollm2") {
    const std::string path = smollm2_gguf_path(o.cache_dir);
    SPOT_CHECK(fs::exists(path), "SmolLM2 is not in the cache (" << path << "): run `spot model fetch smollm2`");
    lb = load_gguf(ctx, path, o);
  } else if (spec.rfind("gguf:", 0) == 0) {
    lb = load_gguf(ctx, spec.substr(5), o);
  } else if (spec.rfind("t5:", 0) == 0) {
    lb = load_t5(ctx, spec.substr(3), o);
  } else if (spec.rfind("hf:", 0) == 0) {
    const std::string repo = spec.substr(3);
    const std::string dir = hf_model_dir(repo, o.cache_dir);
    const fs::path config = fs::path(dir) / "config.json";
    SPOT_CHECK(fs::is_regular_file(config),
               spec << " is not in the cache (" << dir << "): run `spot model fetch " << spec << "`");
    json::error_code ec;
    const json::value c = json::parse(io::read_file(config.string()), ec);
    SPOT_CHECK(!ec && c.is_object(), config.string() << ": invalid JSON");
    const json::value* type = c.as_object().if_contains("model_type");
    const std::string model_type = type && type->is_string() ? std::string(type->as_string()) : "";
    SPOT_CHECK(model_type == "t5", spec << ": config.json model_type '" << model_type
                                        << "' is not supported through hf: (T5 checkpoints only; Llama-family models "
                                           "load from GGUF with gguf:<file>)");
    lb = load_t5(ctx, dir, o);
  } else {
    check_backbone_spec(spec);  // throws naming the forms
  }
  lb.spec = spec;
  return lb;
}

}  // namespace spot
