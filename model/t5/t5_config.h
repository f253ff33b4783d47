// t5_config.h — T5 hyper-parameters as read from a Hugging Face config.json (T5 v1.0, v1.1 and the
// LM-adapted v1.1 checkpoints; Raffel et al. 2020, and HF T5Config).
#pragma once

#include <string>

#include "kernels/activation.h"

namespace spot {

struct T5Config {
  int64_t vocab_size = 32128;
  int64_t d_model = 512;
  int64_t d_kv = 64;
  int64_t d_ff = 2048;
  int64_t num_layers = 6;          // encoder blocks
  int64_t num_decoder_layers = 6;
  int64_t num_heads = 8;
  int64_t relative_attention_num_buckets = 32;
  int64_t relative_attention_max_distance = 128;
  bool gated = false;              // v1.1: wi_0 / wi_1 gated feed-forward
  Activation act = Activation::Relu;
  bool tie_word_embeddings = true;  // v1.0: LM head = shared embedding
  // Decoder output scaled by d_model^-0.5 before the LM head (v1.0). transformers 5 writes
  // "scale_decoder_outputs" explicitly; hub-style configs without it scale iff tie_word_embeddings.
  bool scale_decoder_outputs = true;
  float layer_norm_epsilon = 1e-6f;
  int32_t pad_token_id = 0;
  int32_t eos_token_id = 1;
  int32_t decoder_start_token_id = 0;

  int64_t inner_dim() const { return num_heads * d_kv; }
  std::string feed_forward_proj() const;
  std::string describe() const;
  void validate(const std::string& where) const;  // positive sizes, buckets >= 2, ...

  // T5-small shapes (d_model 512, d_kv 64, 8 heads, d_ff 2048, 6+6 layers, vocab 32128), v1.0 style.
  static T5Config t5_small();
};

// Reads config.json; errors name the file and the key ("config.json: key 'd_model': expected an
// integer, got string"). Keys spot does not use are ignored (HF configs carry many).
T5Config t5_config_from_json(const std::string& path);
T5Config t5_config_from_json_text(const std::string& text, const std::string& where);

}  // namespace spot
