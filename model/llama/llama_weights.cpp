// llama_weights.cpp — loading a Llama's frozen weights by their Hugging Face names.
#include <string>

#include "model/llama/llama_model.h"

namespace spot {

namespace {

struct Loader {
  const TensorSource& src;
  Device device;
  Tensor operator()(const std::string& name, const Shape& shape) {
    SPOT_CHECK(src.contains(name), src.describe() << ": tensor '" << name << "' is missing");
    Tensor t = src.load_f32(name, shape);
    check_shape(t, shape, (src.describe() + ": tensor '" + name + "'").c_str());
    return device == Device::CPU ? t : t.to(device);
  }
};

}  // namespace

LlamaWeights LlamaWeights::load(const LlamaConfig& c, const TensorSource& src, Device device) {
  c.validate(src.describe());
  Loader ld{src, device};
  const int64_t d = c.hidden_size, V = c.vocab_size, F = c.intermediate_size;
  LlamaWeights w;
  w.config = c;
  w.embed_host = ld("model.embed_tokens.weight", {V, d});
  if (device != Device::CPU) w.embed_host = w.embed_host.to(Device::CPU);
  w.embed = device == Device::CPU ? w.embed_host : w.embed_host.to(device);
  if (c.tie_word_embeddings) {
    w.lm_head = w.embed;
  } else {
    SPOT_CHECK(src.contains("lm_head.weight"), src.describe() << ": config says tie_word_embeddings=false but tensor "
                                                              << "'lm_head.weight' is missing");
    w.lm_head = ld("lm_head.weight", {V, d});
  }
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    LlamaLayerWeights l;
    l.input_norm = ld(p + "input_layernorm.weight", {d});
    l.q = ld(p + "self_attn.q_proj.weight", {c.q_dim(), d});
    l.k = ld(p + "self_attn.k_proj.weight", {c.kv_dim(), d});
    l.v = ld(p + "self_attn.v_proj.weight", {c.kv_dim(), d});
    l.o = ld(p + "self_attn.o_proj.weight", {d, c.q_dim()});
    l.post_attention_norm = ld(p + "post_attention_layernorm.weight", {d});
    l.gate = ld(p + "mlp.gate_proj.weight", {F, d});
    l.up = ld(p + "mlp.up_proj.weight", {F, d});
    l.down = ld(p + "mlp.down_proj.weight", {d, F});
    w.layers.push_back(std::move(l));
  }
  w.final_norm = ld("model.norm.weight", {d});
  return w;
}

void LlamaWeights::convert_linears(DType dtype) {
  const auto cv = [dtype](Tensor& t) {
    if (t.defined() && t.dtype() != dtype) t = t.to_dtype(dtype);
  };
  for (LlamaLayerWeights& l : layers)
    for (Tensor* t : {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down}) cv(*t);
  cv(lm_head);
}

double LlamaWeights::bytes() const {
  auto b = [](const Tensor& t) { return t.defined() ? static_cast<double>(t.nbytes()) : 0.0; };
  double total = b(embed) + b(final_norm) + (lm_head.raw() == embed.raw() ? 0.0 : b(lm_head));
  for (const LlamaLayerWeights& l : layers)
    total += b(l.input_norm) + b(l.q) + b(l.k) + b(l.v) + b(l.o) + b(l.post_attention_norm) + b(l.gate) + b(l.up) +
             b(l.down);
  return total;
}

}  // namespace spot
