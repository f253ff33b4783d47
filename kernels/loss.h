// loss.h — softmax cross-entropy over the vocabulary with label masking, fused with its gradient.
#pragma once

#include "base/context.h"

namespace spot {

inline constexpr int32_t kIgnoreIndex = -100;  // HF/PyTorch convention for padded labels

// logits [N, V], labels [N] i32 (kIgnoreIndex rows are skipped) ->
//   row_loss [N] = −log softmax(logits)[label] (0 for ignored rows),
//   dlogits [N, V] = grad_scale·(softmax − onehot) (0 for ignored rows), when dlogits is defined.
// The mean loss over non-ignored tokens is Σ row_loss / count with grad_scale = 1/count.
void cross_entropy_forward_backward(Context& ctx, const Tensor& logits, const Tensor& labels, float grad_scale,
                                    Tensor& row_loss, Tensor* dlogits);

}  // namespace spot
