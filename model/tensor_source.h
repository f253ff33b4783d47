// tensor_source.h — where frozen weights come from (a safetensors checkpoint, a GGUF file, or
// random initialisation for benchmarks), so that model code does not depend on a file format.
#pragma once

#include <functional>
#include <set>
#include <string>

#include "base/tensor.h"

namespace spot {

class TensorSource {
 public:
  virtual ~TensorSource() = default;
  virtual std::string describe() const = 0;  // e.g. the checkpoint path, for error messages
  virtual bool contains(const std::string& name) const = 0;
  // f32 host tensor; throws naming the source and the tensor when missing or of another shape.
  virtual Tensor load_f32(const std::string& name, const Shape& expected) const = 0;
};

// Deterministic random weights N(0, stddev) for benchmarks and tests (any name, any shape).
// Names ending in "layer_norm.weight" / "norm.weight" get values near 1.
// `absent` names are reported missing (e.g. "lm_head.weight" for a model with tied embeddings).
class RandomTensorSource : public TensorSource {
 public:
  explicit RandomTensorSource(uint64_t seed, float stddev = 0.05f, std::set<std::string> absent = {})
      : seed_(seed), stddev_(stddev), absent_(std::move(absent)) {}
  std::string describe() const override { return "random weights (seed " + std::to_string(seed_) + ")"; }
  bool contains(const std::string& name) const override { return absent_.count(name) == 0; }
  Tensor load_f32(const std::string& name, const Shape& expected) const override;

 private:
  uint64_t seed_;
  float stddev_;
  std::set<std::string> absent_;
};

}  // namespace spot
