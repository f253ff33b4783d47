// llama_config.h — hyper-parameters of a Llama-family decoder-only model (HF LlamaConfig; Touvron et
// al. 2023): pre-norm blocks with RMSNorm, grouped-query attention with rotary position embeddings,
// SwiGLU feed-forward. The default values are SmolLM2-135M(-Instruct).
#pragma once

#include <string>

namespace spot {

struct LlamaConfig {
  int64_t vocab_size = 49152;
  int64_t hidden_size = 576;
  int64_t intermediate_size = 1536;
  int64_t num_hidden_layers = 30;
  int64_t num_attention_heads = 9;
  int64_t num_key_value_heads = 3;
  int64_t head_dim = 64;  // HF: hidden_size / num_attention_heads unless given
  float rms_norm_eps = 1e-5f;
  float rope_theta = 100000.0f;
  bool tie_word_embeddings = true;
  int32_t bos_token_id = 1;  // -1: none
  int32_t eos_token_id = 2;  // -1: none; the first one when the config lists several
  int64_t max_position_embeddings = 8192;

  LlamaConfig() = default;
  // From plain values (the GGUF loader fills these from the file's metadata). head_dim 0 means
  // hidden_size / num_attention_heads. Call validate() with the source's name afterwards.
  LlamaConfig(int64_t vocab_size, int64_t hidden_size, int64_t intermediate_size, int64_t num_hidden_layers,
              int64_t num_attention_heads, int64_t num_key_value_heads, int64_t head_dim, float rms_norm_eps,
              float rope_theta, bool tie_word_embeddings, int32_t bos_token_id, int32_t eos_token_id,
              int64_t max_position_embeddings);

  int64_t q_dim() const { return num_attention_heads * head_dim; }    // width of the Q projection
  int64_t kv_dim() const { return num_key_value_heads * head_dim; }   // width of the K and V projections
  std::string describe() const;
  // Positive sizes, heads divisible by KV heads, even head_dim, positive eps/theta, token ids in
  // the vocabulary; errors start with `where` (the config file or model file) and name the key.
  void validate(const std::string& where) const;

  static LlamaConfig smollm2_135m();
};

// Reads a HF config.json (model_type "llama"). rope_theta is read from "rope_theta" (transformers
// 4.x) or "rope_parameters.rope_theta" (5.x); RoPE scaling other than "default", attention or MLP
// biases and activations other than SiLU are rejected with the key named, since the model does not
// implement them. Unused keys are ignored.
LlamaConfig llama_config_from_json(const std::string& path);
LlamaConfig llama_config_from_json_text(const std::string& text, const std::string& where);

}  // namespace spot
