// ggml_quants.h — dequantisation of ggml tensor rows to f32, bit-exact with ggml's reference
// dequantize_row_* (ggml-quants.c) and the numpy dequantisers of the gguf python package.
//
// Block layouts (little-endian, packed; d and m are IEEE half floats):
//   Q4_0 (18 B / 32 values): f16 d, u8 qs[16]    x[j] = ((qs[j] & 15) - 8) * d, x[j+16] = ((qs[j] >> 4) - 8) * d
//   Q4_1 (20 B / 32 values): f16 d, f16 m, qs[16] x[j] = (qs[j] & 15) * d + m,   x[j+16] = (qs[j] >> 4) * d + m
//   Q8_0 (34 B / 32 values): f16 d, i8 qs[32]    x[j] = qs[j] * d
// The products are exact in f32 (at most 8 + 11 significant bits), so a fused multiply-add gives
// the same bits as a separate multiply and add.
#pragma once

#include <cstdint>

#include "io/gguf.h"

namespace spot::io {

// Dequantise n values of `type` (n a multiple of the type's block size) from src to dst.
// Throws for types that are not ggml_type_dequantisable.
void dequantize_row(GgmlType type, const uint8_t* src, float* dst, int64_t n);

}  // namespace spot::io
