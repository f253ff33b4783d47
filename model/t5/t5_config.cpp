// t5_config.cpp — parsing HF T5 config.json with Boost.JSON.
#include "model/t5/t5_config.h"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "base/check.h"
#include "io/cache.h"

namespace spot {

namespace json = boost::json;

std::string T5Config::feed_forward_proj() const {
  return std::string(gated ? "gated-" : "") + (act == Activation::GeluTanh ? "gelu" : act == Activation::Silu ? "silu" : "relu");
}

std::string T5Config::describe() const {
  std::ostringstream os;
  os << "t5(d_model=" << d_model << ", d_kv=" << d_kv << ", heads=" << num_heads << ", d_ff=" << d_ff
     << ", layers=" << num_layers << "+" << num_decoder_layers << ", vocab=" << vocab_size << ", "
     << feed_forward_proj() << (tie_word_embeddings ? ", tied" : ", untied")
     << (scale_decoder_outputs ? ", scaled head" : "") << ")";
  return os.str();
}

void T5Config::validate(const std::string& where) const {
  auto pos = [&](int64_t v, const char* key) {
    SPOT_CHECK(v > 0, where << ": key '" << key << "' must be positive, got " << v);
  };
  pos(vocab_size, "vocab_size");
  pos(d_model, "d_model");
  pos(d_kv, "d_kv");
  pos(d_ff, "d_ff");
  pos(num_layers, "num_layers");
  pos(num_decoder_layers, "num_decoder_layers");
  pos(num_heads, "num_heads");
  SPOT_CHECK(relative_attention_num_buckets >= 2, where << ": key 'relative_attention_num_buckets' must be >= 2");
  pos(relative_attention_max_distance, "relative_attention_max_distance");
  SPOT_CHECK(layer_norm_epsilon > 0, where << ": key 'layer_norm_epsilon' must be positive");
  for (int32_t id : {pad_token_id, eos_token_id, decoder_start_token_id})
    SPOT_CHECK(id >= 0 && id < vocab_size, where << ": special token id " << id << " outside vocabulary of " << vocab_size);
}

T5Config T5Config::t5_small() { return T5Config{}; }

namespace {

int64_t get_int(const json::object& o, const char* key, const std::string& where, const int64_t* fallback) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) {
    SPOT_CHECK(fallback, where << ": missing required key '" << key << "'");
    return *fallback;
  }
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  if (v->is_double() && v->as_double() == static_cast<double>(static_cast<int64_t>(v->as_double())))
    return static_cast<int64_t>(v->as_double());
  SPOT_FAIL(where << ": key '" << key << "': expected an integer, got " << json::serialize(*v));
}

}  // namespace

T5Config t5_config_from_json_text(const std::string& text, const std::string& where) {
  json::value root;
  try {
    root = json::parse(text);
  } catch (const std::exception& e) {
    SPOT_FAIL(where << ": not valid JSON: " << e.what());
  }
  SPOT_CHECK(root.is_object(), where << ": expected a JSON object at the top level");
  const json::object& o = root.as_object();
  if (const json::value* mt = o.if_contains("model_type")) {
    SPOT_CHECK(mt->is_string(), where << ": key 'model_type': expected a string");
    const std::string t(mt->as_string());
    SPOT_CHECK(t == "t5" || t == "mt5", where << ": model_type '" << t << "' is not a T5 model");
  }
  T5Config c;
  c.vocab_size = get_int(o, "vocab_size", where, nullptr);
  c.d_model = get_int(o, "d_model", where, nullptr);
  c.d_kv = get_int(o, "d_kv", where, nullptr);
  c.d_ff = get_int(o, "d_ff", where, nullptr);
  c.num_layers = get_int(o, "num_layers", where, nullptr);
  c.num_decoder_layers = get_int(o, "num_decoder_layers", where, &c.num_layers);
  c.num_heads = get_int(o, "num_heads", where, nullptr);
  const int64_t buckets = 32, maxdist = 128, pad = 0, eos = 1;
  c.relative_attention_num_buckets = get_int(o, "relative_attention_num_buckets", where, &buckets);
  c.relative_attention_max_distance = get_int(o, "relative_attention_max_distance", where, &maxdist);
  c.pad_token_id = static_cast<int32_t>(get_int(o, "pad_token_id", where, &pad));
  c.eos_token_id = static_cast<int32_t>(get_int(o, "eos_token_id", where, &eos));
  const int64_t start_default = c.pad_token_id;
  c.decoder_start_token_id = static_cast<int32_t>(get_int(o, "decoder_start_token_id", where, &start_default));
  if (const json::value* v = o.if_contains("layer_norm_epsilon")) {
    SPOT_CHECK(v->is_number(), where << ": key 'layer_norm_epsilon': expected a number, got " << json::serialize(*v));
    c.layer_norm_epsilon = static_cast<float>(v->to_number<double>());
  }
  if (const json::value* v = o.if_contains("tie_word_embeddings")) {
    SPOT_CHECK(v->is_bool(), where << ": key 'tie_word_embeddings': expected true/false, got " << json::serialize(*v));
    c.tie_word_embeddings = v->as_bool();
  }
  c.scale_decoder_outputs = c.tie_word_embeddings;
  if (const json::value* v = o.if_contains("scale_decoder_outputs")) {
    SPOT_CHECK(v->is_bool(), where << ": key 'scale_decoder_outputs': expected true/false, got " << json::serialize(*v));
    c.scale_decoder_outputs = v->as_bool();
  }
  std::string ffp = "relu";
  if (const json::value* v = o.if_contains("feed_forward_proj")) {
    SPOT_CHECK(v->is_string(), where << ": key 'feed_forward_proj': expected a string, got " << json::serialize(*v));
    ffp = std::string(v->as_string());
  }
  // HF T5Config: "gated-gelu" means gated gelu_new (tanh approximation); "relu" plain ReLU.
  if (ffp == "relu") {
    c.gated = false, c.act = Activation::Relu;
  } else if (ffp == "gated-gelu") {
    c.gated = true, c.act = Activation::GeluTanh;
  } else if (ffp == "gated-relu") {
    c.gated = true, c.act = Activation::Relu;
  } else if (ffp == "gated-silu") {
    c.gated = true, c.act = Activation::Silu;
  } else if (ffp == "silu") {
    c.gated = false, c.act = Activation::Silu;
  } else {
    SPOT_FAIL(where << ": key 'feed_forward_proj': unsupported value '" << ffp
                    << "' (spot supports relu, gated-gelu, gated-relu, gated-silu, silu)");
  }
  c.validate(where);
  return c;
}

T5Config t5_config_from_json(const std::string& path) {
  return t5_config_from_json_text(io::read_file(path), path);
}

}  // namespace spot
