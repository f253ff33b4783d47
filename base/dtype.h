// dtype.h — element types and the bf16/fp16 <-> fp32 conversions used by loaders and the CPU backend.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace spot {

enum class DType : uint8_t { F32, BF16, F16, I32, I64, U8 };

size_t dtype_size(DType t);
const char* dtype_name(DType t);

inline float bf16_to_f32(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Round to nearest even, NaN preserved (as torch does).
inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

// The precision of the frozen weights' products (--precision, one flag for every command and config,
// shared by the CPU and GPU paths): fp32, or bf16 weights with bf16 products and fp32 accumulation.
// The prompt, its gradient, the optimiser state, norm statistics, softmax and the loss stay fp32.
enum class Precision : uint8_t { Fp32, Bf16 };
const char* precision_name(Precision p);               // "fp32", "bf16"
Precision parse_precision(const std::string& s);       // throws naming the value and the choices

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

}  // namespace spot
