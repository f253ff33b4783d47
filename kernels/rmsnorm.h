// rmsnorm.h — T5 LayerNorm / Llama RMSNorm: y = w ⊙ x / sqrt(mean(x²) + eps), no mean subtraction,
// no bias (HF T5LayerNorm, LlamaRMSNorm). The scale w is frozen: only the input gradient exists.
#pragma once

#include "base/context.h"

namespace spot {

// x [N, d], w [d] -> y [N, d]; inv_rms [N] = 1/sqrt(mean(x²)+eps) is saved for the backward.
void rms_norm_forward(Context& ctx, const Tensor& x, const Tensor& w, float eps, Tensor& y, Tensor& inv_rms);

// dx = r·(w⊙dy) − x·r³·mean(w⊙dy⊙x), r = inv_rms.  accumulate: dx += (the residual's gradient).
void rms_norm_backward_input(Context& ctx, const Tensor& dy, const Tensor& x, const Tensor& w,
                             const Tensor& inv_rms, Tensor& dx, bool accumulate = false);

}  // namespace spot
