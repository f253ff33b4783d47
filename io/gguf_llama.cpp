// gguf_llama.cpp — Llama GGUF hyper-parameters, the tensor-name table and the Q/K (un)permute.
#include "io/gguf_llama.h"

#include <cstring>

#include "base/check.h"

namespace spot::io {

// ------------------------------------------------------------------ config

namespace {

int64_t positive(const GgufFile& f, const std::string& key) {
  const uint64_t v = f.get_uint(key);
  SPOT_CHECK(v > 0 && v < (uint64_t{1} << 40), f.path() << ": metadata key '" << key << "' = " << v
                                                          << " is not a plausible size");
  return static_cast<int64_t>(v);
}

float float_or(const GgufFile& f, const std::string& key, float fallback) {
  const GgufValue* v = f.find(key);
  if (!v) return fallback;
  if (v->type == GgufType::F64) return static_cast<float>(v->f);
  return f.get_f32(key);
}

}  // namespace

LlamaGgufConfig llama_config_from_gguf(const GgufFile& f) {
  LlamaGgufConfig c;
  c.architecture = f.get_string("general.architecture");
  SPOT_CHECK(c.architecture == "llama", f.path() << ": general.architecture is '" << c.architecture
                                                 << "', expected 'llama' (a Llama-family model)");
  const std::string a = c.architecture + ".";
  c.n_layers = positive(f, a + "block_count");
  c.d_model = positive(f, a + "embedding_length");
  c.d_ff = positive(f, a + "feed_forward_length");
  c.n_heads = positive(f, a + "attention.head_count");
  c.n_kv_heads = f.has(a + "attention.head_count_kv") ? positive(f, a + "attention.head_count_kv") : c.n_heads;
  c.context_length = positive(f, a + "context_length");
  SPOT_CHECK(c.n_heads % c.n_kv_heads == 0, f.path() << ": head_count " << c.n_heads
                                                     << " is not a multiple of head_count_kv " << c.n_kv_heads);
  if (f.has(a + "attention.key_length")) {
    c.head_dim = positive(f, a + "attention.key_length");
  } else {
    SPOT_CHECK(c.d_model % c.n_heads == 0, f.path() << ": embedding_length " << c.d_model
                                                    << " is not a multiple of head_count " << c.n_heads);
    c.head_dim = c.d_model / c.n_heads;
  }
  SPOT_CHECK(c.head_dim % 2 == 0, f.path() << ": head_dim " << c.head_dim << " is odd (RoPE rotates pairs)");
  c.rope_dim = f.has(a + "rope.dimension_count") ? positive(f, a + "rope.dimension_count") : c.head_dim;
  if (f.has(a + "vocab_size")) {
    c.vocab_size = positive(f, a + "vocab_size");
  } else {
    c.vocab_size = static_cast<int64_t>(f.get_array("tokenizer.ggml.tokens").count);
    SPOT_CHECK(c.vocab_size > 0, f.path() << ": tokenizer.ggml.tokens is empty and " << a << "vocab_size is missing");
  }
  c.rope_theta = float_or(f, a + "rope.freq_base", 10000.f);
  c.rms_eps = float_or(f, a + "attention.layer_norm_rms_epsilon", 1e-5f);
  c.tied_embeddings = !f.has_tensor("output.weight");
  return c;
}

// ------------------------------------------------------------------ name table

const std::vector<GgufNameMapping>& llama_gguf_name_table() {
  static const std::vector<GgufNameMapping> table = {
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"blk.{i}.attn_norm.weight", "model.layers.{i}.input_layernorm.weight"},
      {"blk.{i}.attn_q.weight", "model.layers.{i}.self_attn.q_proj.weight"},
      {"blk.{i}.attn_k.weight", "model.layers.{i}.self_attn.k_proj.weight"},
      {"blk.{i}.attn_v.weight", "model.layers.{i}.self_attn.v_proj.weight"},
      {"blk.{i}.attn_output.weight", "model.layers.{i}.self_attn.o_proj.weight"},
      {"blk.{i}.ffn_norm.weight", "model.layers.{i}.post_attention_layernorm.weight"},
      {"blk.{i}.ffn_gate.weight", "model.layers.{i}.mlp.gate_proj.weight"},
      {"blk.{i}.ffn_up.weight", "model.layers.{i}.mlp.up_proj.weight"},
      {"blk.{i}.ffn_down.weight", "model.layers.{i}.mlp.down_proj.weight"},
      {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"},
  };
  return table;
}

namespace {

// Matches `name` against a pattern with at most one "{i}"; on success, fills the layer digits.
bool match_pattern(const std::string& pattern, const std::string& name, std::string& layer) {
  const size_t brace = pattern.find("{i}");
  if (brace == std::string::npos) {
    layer.clear();
    return pattern == name;
  }
  const std::string prefix = pattern.substr(0, brace), suffix = pattern.substr(brace + 3);
  if (name.size() <= prefix.size() + suffix.size()) return false;
  if (name.compare(0, prefix.size(), prefix) != 0) return false;
  if (name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
  layer = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  for (char ch : layer)
    if (ch < '0' || ch > '9') return false;
  return layer.size() == 1 || layer[0] != '0';
}

std::string fill_pattern(const std::string& pattern, const std::string& layer) {
  const size_t brace = pattern.find("{i}");
  if (brace == std::string::npos) return pattern;
  return pattern.substr(0, brace) + layer + pattern.substr(brace + 3);
}

}  // namespace

std::string llama_gguf_to_hf_name(const std::string& gguf_name) {
  std::string layer;
  for (const GgufNameMapping& m : llama_gguf_name_table())
    if (match_pattern(m.gguf, gguf_name, layer)) return fill_pattern(m.hf, layer);
  SPOT_FAIL("tensor '" << gguf_name << "' is not in the Llama GGUF name table");
}

std::string llama_hf_to_gguf_name(const std::string& hf_name) {
  std::string layer;
  for (const GgufNameMapping& m : llama_gguf_name_table())
    if (match_pattern(m.hf, hf_name, layer)) return fill_pattern(m.gguf, layer);
  SPOT_FAIL("tensor '" << hf_name << "' is not in the Llama GGUF name table");
}

void llama_check_tensors(const GgufFile& f, const LlamaGgufConfig& c) {
  const int64_t q_rows = c.n_heads * c.head_dim, kv_rows = c.n_kv_heads * c.head_dim;
  auto expect = [&](const std::string& name, const Shape& shape) {
    SPOT_CHECK(f.has_tensor(name), f.path() << ": tensor '" << name << "' is missing");
    const Shape& got = f.tensor_info(name).shape;
    SPOT_CHECK(got == shape, f.path() << ": tensor '" << name << "' has row-major shape " << shape_str(got)
                                      << ", expected " << shape_str(shape));
  };
  expect("token_embd.weight", {c.vocab_size, c.d_model});
  expect("output_norm.weight", {c.d_model});
  if (!c.tied_embeddings) expect("output.weight", {c.vocab_size, c.d_model});
  for (int64_t i = 0; i < c.n_layers; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    expect(b + "attn_norm.weight", {c.d_model});
    expect(b + "attn_q.weight", {q_rows, c.d_model});
    expect(b + "attn_k.weight", {kv_rows, c.d_model});
    expect(b + "attn_v.weight", {kv_rows, c.d_model});
    expect(b + "attn_output.weight", {c.d_model, q_rows});
    expect(b + "ffn_norm.weight", {c.d_model});
    expect(b + "ffn_gate.weight", {c.d_ff, c.d_model});
    expect(b + "ffn_up.weight", {c.d_ff, c.d_model});
    expect(b + "ffn_down.weight", {c.d_model, c.d_ff});
  }
}

// ------------------------------------------------------------------ Q/K permutation

namespace {

// Row r_hf = h*head_dim + j*half + i of the HF layout sits at row r_gguf = h*head_dim + 2*i + j.
Tensor permute_rows(const Tensor& w, int64_t n_heads, bool to_hf) {
  SPOT_CHECK(w.defined() && w.is_cpu() && w.dtype() == DType::F32 && w.ndim() >= 1,
             "llama Q/K permute needs an f32 CPU tensor, got " << (w.defined() ? w.str() : "undefined"));
  SPOT_CHECK(n_heads > 0 && w.dim(0) % (2 * n_heads) == 0,
             "llama Q/K permute: " << w.dim(0) << " rows are not n_heads (" << n_heads << ") heads of an even head_dim");
  const int64_t head_dim = w.dim(0) / n_heads, half = head_dim / 2;
  const int64_t row = w.dim(0) ? w.numel() / w.dim(0) : 0;
  Tensor out = Tensor::empty(w.shape(), DType::F32);
  const float* src = w.f32();
  float* dst = out.f32();
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t j = 0; j < 2; ++j)
      for (int64_t i = 0; i < half; ++i) {
        const int64_t hf = h * head_dim + j * half + i, gg = h * head_dim + 2 * i + j;
        const int64_t from = to_hf ? gg : hf, to = to_hf ? hf : gg;
        std::memcpy(dst + to * row, src + from * row, static_cast<size_t>(row) * 4);
      }
  return out;
}

}  // namespace

Tensor llama_unpermute_qk(const Tensor& w, int64_t n_heads) { return permute_rows(w, n_heads, true); }
Tensor llama_permute_qk(const Tensor& w, int64_t n_heads) { return permute_rows(w, n_heads, false); }

Tensor llama_load_f32_hf_layout(const GgufFile& f, const LlamaGgufConfig& c, const std::string& name) {
  Tensor w = f.load_f32(name);
  auto ends_with = [&](const char* s) {
    const size_t n = std::strlen(s);
    return name.size() >= n && name.compare(name.size() - n, n, s) == 0;
  };
  if (name.rfind("blk.", 0) == 0 && ends_with(".attn_q.weight")) return llama_unpermute_qk(w, c.n_heads);
  if (name.rfind("blk.", 0) == 0 && ends_with(".attn_k.weight")) return llama_unpermute_qk(w, c.n_kv_heads);
  return w;
}

}  // namespace spot::io
