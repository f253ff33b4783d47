// linear.h — y = x · Wᵀ with the PyTorch/HF weight layout W[out, in], and its input gradient.
// Frozen weights: there is no weight-gradient function, by design (gradients only reach the prompt).
#pragma once

#include "base/context.h"

namespace spot {

// x [N, K], w [M, K] -> y [N, M].  accumulate: y += x·Wᵀ (fused residual add).
// CPU: all f32, or w bf16 (--precision bf16) with x f32 (rounded to bf16 for the product) or bf16 and
// y f32 (bf16 products, fp32 accumulation). CUDA: x, w, y all f32 (fp32 FMA, no TF32), or x and w
// bf16 with y bf16 or f32 (bf16 tensor-core products, fp32 accumulation). The same rule holds for the
// backward's dy, w, dx.
void linear_forward(Context& ctx, const Tensor& x, const Tensor& w, Tensor& y, bool accumulate = false);

// dy [N, M], w [M, K] -> dx [N, K] = dy · W.  accumulate: dx += dy·W.
void linear_backward_input(Context& ctx, const Tensor& dy, const Tensor& w, Tensor& dx, bool accumulate = false);

}  // namespace spot
