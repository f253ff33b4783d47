// t5_weights.cpp — loading a T5's frozen weights by their Hugging Face names.
#include <string>

#include "model/t5/t5_model.h"

namespace spot {

namespace {

struct Loader {
  const TensorSource& src;
  Device device;
  double bytes = 0;
  Tensor operator()(const std::string& name, const Shape& shape) {
    Tensor t = src.load_f32(name, shape);
    check_shape(t, shape, (src.describe() + ": tensor '" + name + "'").c_str());
    bytes += static_cast<double>(t.nbytes());
    return device == Device::CPU ? t : t.to(device);
  }
};

T5AttentionWeights load_attention(Loader& ld, const std::string& p, const T5Config& c) {
  const int64_t d = c.d_model, inner = c.inner_dim();
  return {ld(p + ".q.weight", {inner, d}), ld(p + ".k.weight", {inner, d}), ld(p + ".v.weight", {inner, d}),
          ld(p + ".o.weight", {d, inner})};
}

T5FeedForwardWeights load_ffn(Loader& ld, const std::string& p, const T5Config& c) {
  T5FeedForwardWeights w;
  if (c.gated) {
    w.wi_0 = ld(p + ".wi_0.weight", {c.d_ff, c.d_model});
    w.wi_1 = ld(p + ".wi_1.weight", {c.d_ff, c.d_model});
  } else {
    w.wi = ld(p + ".wi.weight", {c.d_ff, c.d_model});
  }
  w.wo = ld(p + ".wo.weight", {c.d_model, c.d_ff});
  return w;
}

}  // namespace

T5Weights T5Weights::load(const T5Config& c, const TensorSource& src, Device device) {
  c.validate(src.describe());
  Loader ld{src, device};
  T5Weights w;
  w.config = c;
  w.shared_host = src.load_f32("shared.weight", {c.vocab_size, c.d_model});
  check_shape(w.shared_host, {c.vocab_size, c.d_model}, (src.describe() + ": tensor 'shared.weight'").c_str());
  w.shared = device == Device::CPU ? w.shared_host : w.shared_host.to(device);
  // As HF decides tying from the checkpoint: a separate lm_head.weight is used when present
  // (transformers 5 forces tie_word_embeddings=true in configs even for untied v1.1 checkpoints).
  if (src.contains("lm_head.weight")) {
    w.lm_head = ld("lm_head.weight", {c.vocab_size, c.d_model});
  } else {
    SPOT_CHECK(c.tie_word_embeddings, src.describe() << ": config says tie_word_embeddings=false but tensor "
                                                     << "'lm_head.weight' is missing");
    w.lm_head = w.shared;
  }
  const int64_t nb = c.relative_attention_num_buckets, h = c.num_heads;
  w.enc_rel_bias = ld("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", {nb, h});
  w.dec_rel_bias = ld("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", {nb, h});
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = "encoder.block." + std::to_string(i) + ".layer.";
    T5EncoderLayerWeights l;
    l.ln_attn = ld(p + "0.layer_norm.weight", {c.d_model});
    l.attn = load_attention(ld, p + "0.SelfAttention", c);
    l.ln_ffn = ld(p + "1.layer_norm.weight", {c.d_model});
    l.ffn = load_ffn(ld, p + "1.DenseReluDense", c);
    w.encoder.push_back(std::move(l));
  }
  for (int64_t i = 0; i < c.num_decoder_layers; ++i) {
    const std::string p = "decoder.block." + std::to_string(i) + ".layer.";
    T5DecoderLayerWeights l;
    l.ln_self = ld(p + "0.layer_norm.weight", {c.d_model});
    l.self = load_attention(ld, p + "0.SelfAttention", c);
    l.ln_cross = ld(p + "1.layer_norm.weight", {c.d_model});
    l.cross = load_attention(ld, p + "1.EncDecAttention", c);
    l.ln_ffn = ld(p + "2.layer_norm.weight", {c.d_model});
    l.ffn = load_ffn(ld, p + "2.DenseReluDense", c);
    w.decoder.push_back(std::move(l));
  }
  w.enc_final_ln = ld("encoder.final_layer_norm.weight", {c.d_model});
  w.dec_final_ln = ld("decoder.final_layer_norm.weight", {c.d_model});
  return w;
}

void T5Weights::convert_linears(DType dtype) {
  const auto cv = [dtype](Tensor& t) {
    if (t.defined() && t.dtype() != dtype) t = t.to_dtype(dtype);
  };
  const auto attn = [&](T5AttentionWeights& a) {
    for (Tensor* t : {&a.q, &a.k, &a.v, &a.o}) cv(*t);
  };
  const auto ffn = [&](T5FeedForwardWeights& f) {
    for (Tensor* t : {&f.wi, &f.wi_0, &f.wi_1, &f.wo}) cv(*t);
  };
  for (auto& l : encoder) attn(l.attn), ffn(l.ffn);
  for (auto& l : decoder) attn(l.self), attn(l.cross), ffn(l.ffn);
  cv(lm_head);
}

double T5Weights::bytes() const {
  double b = static_cast<double>(shared.nbytes());
  if (lm_head.raw() != shared.raw()) b += static_cast<double>(lm_head.nbytes());
  b += static_cast<double>(enc_rel_bias.nbytes() + dec_rel_bias.nbytes() + enc_final_ln.nbytes() + dec_final_ln.nbytes());
  auto attn = [](const T5AttentionWeights& a) { return static_cast<double>(a.q.nbytes() + a.k.nbytes() + a.v.nbytes() + a.o.nbytes()); };
  auto ffn = [](const T5FeedForwardWeights& f) {
    return static_cast<double>((f.wi.defined() ? f.wi.nbytes() : 0) + (f.wi_0.defined() ? f.wi_0.nbytes() : 0) +
                               (f.wi_1.defined() ? f.wi_1.nbytes() : 0) + f.wo.nbytes());
  };
  for (const auto& l : encoder) b += attn(l.attn) + ffn(l.ffn) + 2.0 * static_cast<double>(l.ln_attn.nbytes());
  for (const auto& l : decoder) b += attn(l.self) + attn(l.cross) + ffn(l.ffn) + 3.0 * static_cast<double>(l.ln_self.nbytes());
  return b;
}

}  // namespace spot
