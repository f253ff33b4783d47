// safetensors_source.h — a Hugging Face safetensors checkpoint as a TensorSource for the models.
#pragma once

#include "io/safetensors.h"
#include "model/tensor_source.h"

namespace spot::io {

class SafetensorsSource : public TensorSource {
 public:
  explicit SafetensorsSource(const std::string& path_or_dir) : ckpt_(SafetensorsCheckpoint::open(path_or_dir)) {}
  std::string describe() const override { return ckpt_.path(); }
  bool contains(const std::string& name) const override { return ckpt_.contains(name); }
  Tensor load_f32(const std::string& name, const Shape& expected) const override { return ckpt_.load_f32(name, expected); }
  const SafetensorsCheckpoint& checkpoint() const { return ckpt_; }

 private:
  SafetensorsCheckpoint ckpt_;
};

}  // namespace spot::io
