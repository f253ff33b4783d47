// rope.h — rotary position embeddings (Su et al. 2021, RoFormer) in the Hugging Face Llama
// "rotate_half" convention, forward and input-backward.
//
// x [B, T, H, Dh] (Dh even), row t at position p = pos_offset + t. With half = Dh/2 and j < half:
//   inv_freq[j] = 1 / theta^(2j/Dh)             (float32, as HF LlamaRotaryEmbedding computes it)
//   a = float(p) · inv_freq[j]                  (a float32 product, as HF's float32 matmul)
//   y[j]        = x[j]·cos a − x[j+half]·sin a
//   y[j+half]   = x[j+half]·cos a + x[j]·sin a
// The map is a rotation of each (j, j+half) pair, so the backward is the inverse rotation:
//   dx[j] = dy[j]·cos a + dy[j+half]·sin a,  dx[j+half] = dy[j+half]·cos a − dy[j]·sin a.
#pragma once

#include <vector>

#include "base/context.h"

namespace spot {

inline constexpr int64_t kRopeMaxHeadDim = 512;  // inv_freq travels in a kernel parameter block

// HF's inv_freq in float32: 1.0f / powf(theta, float(2j) / float(Dh)), j < Dh/2.
std::vector<float> rope_inv_freq(int64_t d_head, float theta);

// y may alias x (each rotation pair is read and written by the same iteration).
void rope_forward(Context& ctx, const Tensor& x, int64_t pos_offset, float theta, Tensor& y);
// dx may alias dy.
void rope_backward_input(Context& ctx, const Tensor& dy, int64_t pos_offset, float theta, Tensor& dx);

}  // namespace spot
