// loss.cpp — checks and dispatch for loss.h.
#include "kernels/loss.h"

#include "kernels/dispatch.h"

namespace spot {

void cross_entropy_forward_backward(Context& ctx, const Tensor& logits, const Tensor& labels, float grad_scale,
                                    Tensor& row_loss, Tensor* dlogits) {
  detail::check_on(ctx, "cross_entropy", {&logits, &labels, &row_loss, dlogits});
  SPOT_CHECK(logits.ndim() == 2, "cross_entropy: logits " << logits.str() << " must be [N, V]");
  logits.check_dtype(DType::F32);
  labels.check_dtype(DType::I32);
  check_shape(labels, {logits.dim(0)}, "cross_entropy labels");
  check_shape(row_loss, {logits.dim(0)}, "cross_entropy row_loss");
  if (dlogits && dlogits->defined()) check_shape(*dlogits, logits.shape(), "cross_entropy dlogits");
  else dlogits = nullptr;
  if (ctx.backend() != Backend::Cuda)
    for (int64_t i = 0; i < labels.numel(); ++i) {
      const int32_t y = labels.i32()[i];
      SPOT_CHECK(y == kIgnoreIndex || (y >= 0 && y < logits.dim(1)),
                 "cross_entropy: label " << y << " of row " << i << " outside vocabulary of " << logits.dim(1));
    }
  SPOT_DISPATCH(ctx, cross_entropy_forward_backward, logits, labels, grad_scale, row_loss, dlogits);
}

}  // namespace spot
