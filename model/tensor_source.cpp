// tensor_source.cpp — deterministic random weights.
#include "model/tensor_source.h"

#include <random>

namespace spot {

Tensor RandomTensorSource::load_f32(const std::string& name, const Shape& expected) const {
  SPOT_CHECK(contains(name), describe() << ": missing tensor '" << name << "'");
  // Seed from the tensor name so that weights do not depend on load order.
  uint64_t h = seed_ ^ 0x9e3779b97f4a7c15ull;
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  std::mt19937_64 rng(h);
  Tensor t = Tensor::empty(expected);
  const bool is_norm = name.size() >= 11 && name.rfind("norm.weight") == name.size() - 11;
  std::normal_distribution<float> dist(is_norm ? 1.0f : 0.0f, is_norm ? 0.1f : stddev_);
  float* p = t.f32();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = dist(rng);
  return t;
}

}  // namespace spot
