// ggml_quants.cpp — per-type dequantisers (reference semantics: ggml-quants.c dequantize_row_*).
#include "io/ggml_quants.h"

#include <cstring>

#include "base/check.h"
#include "base/dtype.h"

namespace spot::io {
namespace {

uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

void dequant_f32(const uint8_t* src, float* dst, int64_t n) { std::memcpy(dst, src, static_cast<size_t>(n) * 4); }

void dequant_f16(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t j = 0; j < n; ++j) dst[j] = f16_to_f32(load_u16(src + 2 * j));
}

void dequant_bf16(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t j = 0; j < n; ++j) dst[j] = bf16_to_f32(load_u16(src + 2 * j));
}

constexpr int64_t kQK = 32;  // values per block of the *_0 / *_1 types

void dequant_q8_0(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, src += 34, dst += kQK) {
    const float d = f16_to_f32(load_u16(src));
    const int8_t* qs = reinterpret_cast<const int8_t*>(src + 2);
    for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(qs[j]) * d;
  }
}

void dequant_q4_0(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, src += 18, dst += kQK) {
    const float d = f16_to_f32(load_u16(src));
    const uint8_t* qs = src + 2;
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = static_cast<float>((qs[j] & 0x0F) - 8) * d;
      dst[j + kQK / 2] = static_cast<float>((qs[j] >> 4) - 8) * d;
    }
  }
}

void dequant_q4_1(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, src += 20, dst += kQK) {
    const float d = f16_to_f32(load_u16(src));
    const float m = f16_to_f32(load_u16(src + 2));
    const uint8_t* qs = src + 4;
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = static_cast<float>(qs[j] & 0x0F) * d + m;
      dst[j + kQK / 2] = static_cast<float>(qs[j] >> 4) * d + m;
    }
  }
}

}  // namespace

void dequantize_row(GgmlType type, const uint8_t* src, float* dst, int64_t n) {
  const GgmlTypeTraits* tr = ggml_type_traits(static_cast<uint32_t>(type));
  SPOT_CHECK(tr, "dequantize_row: unknown ggml type " << static_cast<uint32_t>(type));
  SPOT_CHECK(n >= 0 && n % tr->block_size == 0,
             "dequantize_row: " << n << " values is not a whole number of " << tr->name << " blocks of "
                                << tr->block_size);
  switch (type) {
    case GgmlType::F32: return dequant_f32(src, dst, n);
    case GgmlType::F16: return dequant_f16(src, dst, n);
    case GgmlType::BF16: return dequant_bf16(src, dst, n);
    case GgmlType::Q8_0: return dequant_q8_0(src, dst, n);
    case GgmlType::Q4_0: return dequant_q4_0(src, dst, n);
    case GgmlType::Q4_1: return dequant_q4_1(src, dst, n);
    default: break;
  }
  SPOT_FAIL("dequantize_row: ggml type " << tr->name << " is not supported (supported: f32, f16, bf16, q8_0, q4_0, q4_1)");
}

}  // namespace spot::io
