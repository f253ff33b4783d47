// llama_config.cpp — LlamaConfig from plain values or from a HF config.json (Boost.JSON).
#include "model/llama/llama_config.h"

#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <sstream>

#include "base/check.h"
#include "kernels/rope.h"
#include "io/cache.h"

namespace spot {

namespace json = boost::json;

LlamaConfig::LlamaConfig(int64_t vocab_size_, int64_t hidden_size_, int64_t intermediate_size_,
                         int64_t num_hidden_layers_, int64_t num_attention_heads_, int64_t num_key_value_heads_,
                         int64_t head_dim_, float rms_norm_eps_, float rope_theta_, bool tie_word_embeddings_,
                         int32_t bos_token_id_, int32_t eos_token_id_, int64_t max_position_embeddings_)
    : vocab_size(vocab_size_),
      hidden_size(hidden_size_),
      intermediate_size(intermediate_size_),
      num_hidden_layers(num_hidden_layers_),
      num_attention_heads(num_attention_heads_),
      num_key_value_heads(num_key_value_heads_),
      head_dim(head_dim_ ? head_dim_ : (num_attention_heads_ > 0 ? hidden_size_ / num_attention_heads_ : 0)),
      rms_norm_eps(rms_norm_eps_),
      rope_theta(rope_theta_),
      tie_word_embeddings(tie_word_embeddings_),
      bos_token_id(bos_token_id_),
      eos_token_id(eos_token_id_),
      max_position_embeddings(max_position_embeddings_) {}

LlamaConfig LlamaConfig::smollm2_135m() { return LlamaConfig{}; }

std::string LlamaConfig::describe() const {
  std::ostringstream os;
  os << "llama(d_model=" << hidden_size << ", layers=" << num_hidden_layers << ", heads=" << num_attention_heads
     << "/" << num_key_value_heads << "kv, head_dim=" << head_dim << ", d_ff=" << intermediate_size
     << ", vocab=" << vocab_size << ", rope_theta=" << rope_theta << (tie_word_embeddings ? ", tied" : ", untied")
     << ")";
  return os.str();
}

void LlamaConfig::validate(const std::string& where) const {
  auto pos = [&](int64_t v, const char* key) {
    SPOT_CHECK(v > 0, where << ": key '" << key << "' must be positive, got " << v);
  };
  pos(vocab_size, "vocab_size");
  pos(hidden_size, "hidden_size");
  pos(intermediate_size, "intermediate_size");
  pos(num_hidden_layers, "num_hidden_layers");
  pos(num_attention_heads, "num_attention_heads");
  pos(num_key_value_heads, "num_key_value_heads");
  pos(head_dim, "head_dim");
  pos(max_position_embeddings, "max_position_embeddings");
  SPOT_CHECK(num_attention_heads % num_key_value_heads == 0,
             where << ": key 'num_attention_heads' (" << num_attention_heads
                   << ") must be a multiple of 'num_key_value_heads' (" << num_key_value_heads << ")");
  SPOT_CHECK(head_dim % 2 == 0 && head_dim <= kRopeMaxHeadDim,
             where << ": key 'head_dim' (" << head_dim << ") must be even and at most " << kRopeMaxHeadDim
                   << " for rotary embeddings");
  SPOT_CHECK(rms_norm_eps > 0 && std::isfinite(rms_norm_eps), where << ": key 'rms_norm_eps' must be positive");
  SPOT_CHECK(rope_theta > 0 && std::isfinite(rope_theta), where << ": key 'rope_theta' must be positive");
  SPOT_CHECK(bos_token_id >= -1 && bos_token_id < vocab_size,
             where << ": key 'bos_token_id' (" << bos_token_id << ") outside the vocabulary of " << vocab_size);
  SPOT_CHECK(eos_token_id >= -1 && eos_token_id < vocab_size,
             where << ": key 'eos_token_id' (" << eos_token_id << ") outside the vocabulary of " << vocab_size);
}

namespace {

const json::value* find(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v && !v->is_null() ? v : nullptr;
}

int64_t get_int(const json::object& o, const char* key, const std::string& where, const int64_t* fallback) {
  const json::value* v = find(o, key);
  if (!v) {
    SPOT_CHECK(fallback, where << ": missing required key '" << key << "'");
    return *fallback;
  }
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  if (v->is_double() && v->as_double() == std::floor(v->as_double())) return static_cast<int64_t>(v->as_double());
  SPOT_FAIL(where << ": key '" << key << "': expected an integer, got " << json::serialize(*v));
}

double get_number(const json::value& v, const std::string& key, const std::string& where) {
  SPOT_CHECK(v.is_number(), where << ": key '" << key << "': expected a number, got " << json::serialize(v));
  return v.to_number<double>();
}

// A token id given as an integer, null (none: -1) or a list (HF allows several eos ids: the first).
int32_t get_token_id(const json::object& o, const char* key, const std::string& where, int32_t fallback) {
  const json::value* v = o.if_contains(key);
  if (!v) return fallback;
  if (v->is_null()) return -1;
  if (v->is_array()) {
    const json::array& a = v->as_array();
    if (a.empty()) return -1;
    SPOT_CHECK(a[0].is_int64() || a[0].is_uint64(),
               where << ": key '" << key << "': expected integer token ids, got " << json::serialize(*v));
    return static_cast<int32_t>(a[0].to_number<int64_t>());
  }
  SPOT_CHECK(v->is_int64() || v->is_uint64(),
             where << ": key '" << key << "': expected an integer token id, got " << json::serialize(*v));
  return static_cast<int32_t>(v->to_number<int64_t>());
}

// RoPE parameters: only the default (unscaled) rotation is implemented.
void check_rope_type(const json::object& rp, const std::string& key, const std::string& where) {
  for (const char* type_key : {"rope_type", "type"}) {
    const json::value* t = find(rp, type_key);
    if (!t) continue;
    SPOT_CHECK(t->is_string(), where << ": key '" << key << "." << type_key << "': expected a string");
    const std::string type(t->as_string());
    SPOT_CHECK(type == "default", where << ": key '" << key << "." << type_key << "' is '" << type
                                        << "': only the default (unscaled) rotary embedding is supported");
  }
}

}  // namespace

LlamaConfig llama_config_from_json_text(const std::string& text, const std::string& where) {
  json::value root;
  try {
    root = json::parse(text);
  } catch (const std::exception& e) {
    SPOT_FAIL(where << ": not valid JSON: " << e.what());
  }
  SPOT_CHECK(root.is_object(), where << ": expected a JSON object at the top level");
  const json::object& o = root.as_object();
  if (const json::value* mt = find(o, "model_type")) {
    SPOT_CHECK(mt->is_string(), where << ": key 'model_type': expected a string");
    const std::string t(mt->as_string());
    SPOT_CHECK(t == "llama", where << ": key 'model_type' is '" << t << "', not a Llama model");
  }
  LlamaConfig c;
  c.vocab_size = get_int(o, "vocab_size", where, nullptr);
  c.hidden_size = get_int(o, "hidden_size", where, nullptr);
  c.intermediate_size = get_int(o, "intermediate_size", where, nullptr);
  c.num_hidden_layers = get_int(o, "num_hidden_layers", where, nullptr);
  c.num_attention_heads = get_int(o, "num_attention_heads", where, nullptr);
  c.num_key_value_heads = get_int(o, "num_key_value_heads", where, &c.num_attention_heads);
  SPOT_CHECK(c.num_attention_heads > 0, where << ": key 'num_attention_heads' must be positive");
  const int64_t default_head_dim = c.hidden_size / c.num_attention_heads;
  c.head_dim = get_int(o, "head_dim", where, &default_head_dim);
  const int64_t default_max_pos = 2048;
  c.max_position_embeddings = get_int(o, "max_position_embeddings", where, &default_max_pos);
  if (const json::value* v = find(o, "rms_norm_eps")) c.rms_norm_eps = static_cast<float>(get_number(*v, "rms_norm_eps", where));
  c.rope_theta = 10000.0f;  // HF LlamaConfig's default
  if (const json::value* v = find(o, "rope_theta")) c.rope_theta = static_cast<float>(get_number(*v, "rope_theta", where));
  if (const json::value* rp = find(o, "rope_parameters")) {
    SPOT_CHECK(rp->is_object(), where << ": key 'rope_parameters': expected an object");
    check_rope_type(rp->as_object(), "rope_parameters", where);
    if (const json::value* v = find(rp->as_object(), "rope_theta"))
      c.rope_theta = static_cast<float>(get_number(*v, "rope_parameters.rope_theta", where));
  }
  if (const json::value* rs = find(o, "rope_scaling")) {
    SPOT_CHECK(rs->is_object(), where << ": key 'rope_scaling': expected an object or null");
    check_rope_type(rs->as_object(), "rope_scaling", where);
  }
  if (const json::value* v = find(o, "tie_word_embeddings")) {
    SPOT_CHECK(v->is_bool(), where << ": key 'tie_word_embeddings': expected true/false, got " << json::serialize(*v));
    c.tie_word_embeddings = v->as_bool();
  } else {
    c.tie_word_embeddings = false;  // HF PretrainedConfig's default for LlamaConfig
  }
  for (const char* key : {"attention_bias", "mlp_bias"})
    if (const json::value* v = find(o, key))
      SPOT_CHECK(v->is_bool() && !v->as_bool(), where << ": key '" << key << "' is " << json::serialize(*v)
                                                      << ": projection biases are not supported");
  if (const json::value* v = find(o, "hidden_act")) {
    SPOT_CHECK(v->is_string() && v->as_string() == "silu",
               where << ": key 'hidden_act' is " << json::serialize(*v) << ": only silu (SwiGLU) is supported");
  }
  c.bos_token_id = get_token_id(o, "bos_token_id", where, c.bos_token_id);
  c.eos_token_id = get_token_id(o, "eos_token_id", where, c.eos_token_id);
  c.validate(where);
  return c;
}

LlamaConfig llama_config_from_json(const std::string& path) {
  return llama_config_from_json_text(io::read_file(path), path);
}

}  // namespace spot
