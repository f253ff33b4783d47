// cases.h — registration functions of the parity cases, one per op family (tests/parity/cases_*.cpp).
// Adding an op means adding its cases here in the same commit.
#pragma once

#include <string>
#include <vector>

#include "tests/parity/parity.h"

namespace spot::parity {

void register_linear_cases(std::vector<Case>& r);
void register_linear_bf16_cases(std::vector<Case>& r);
void register_linear_bf16_weight_cases(std::vector<Case>& r);
void register_rmsnorm_cases(std::vector<Case>& r);
void register_embedding_cases(std::vector<Case>& r);
void register_activation_cases(std::vector<Case>& r);
void register_loss_cases(std::vector<Case>& r);
void register_elementwise_cases(std::vector<Case>& r);
void register_attention_cases(std::vector<Case>& r);
void register_llama_cases(std::vector<Case>& r);
void register_topk_cases(std::vector<Case>& r);

inline void register_all_cases(std::vector<Case>& r) {
  register_linear_cases(r);
  register_linear_bf16_cases(r);
  register_linear_bf16_weight_cases(r);
  register_rmsnorm_cases(r);
  register_embedding_cases(r);
  register_activation_cases(r);
  register_loss_cases(r);
  register_elementwise_cases(r);
  register_attention_cases(r);
  register_llama_cases(r);
  register_topk_cases(r);
}

// Helpers for case definitions.
inline Output overwrite(const Shape& s, DType t = DType::F32) { return {Tensor::empty(s, t), true}; }
inline Output accumulate_into(Tensor init) { return {std::move(init), false}; }
inline double sum_product(const Tensor& a, const Tensor& b) {  // Σ a ⊙ b in fp64 (host, f32)
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += static_cast<double>(a.f32()[i]) * b.f32()[i];
  return s;
}
std::string dims_name(std::initializer_list<std::pair<const char*, int64_t>> dims);

}  // namespace spot::parity
