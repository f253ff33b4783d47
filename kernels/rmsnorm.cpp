// rmsnorm.cpp — checks and dispatch for rmsnorm.h.
#include "kernels/rmsnorm.h"

#include "kernels/dispatch.h"

namespace spot {

void rms_norm_forward(Context& ctx, const Tensor& x, const Tensor& w, float eps, Tensor& y, Tensor& inv_rms) {
  detail::check_on(ctx, "rms_norm_forward", {&x, &w, &y, &inv_rms});
  SPOT_CHECK(x.ndim() == 2, "rms_norm_forward: x " << x.str() << " must be [N, d]");
  check_shape(w, {x.dim(1)}, "rms_norm_forward w");
  check_shape(y, x.shape(), "rms_norm_forward y");
  check_shape(inv_rms, {x.dim(0)}, "rms_norm_forward inv_rms");
  x.check_dtype(DType::F32); w.check_dtype(DType::F32); y.check_dtype(DType::F32); inv_rms.check_dtype(DType::F32);
  SPOT_DISPATCH(ctx, rms_norm_forward, x, w, eps, y, inv_rms);
}

void rms_norm_backward_input(Context& ctx, const Tensor& dy, const Tensor& x, const Tensor& w, const Tensor& inv_rms,
                             Tensor& dx, bool accumulate) {
  detail::check_on(ctx, "rms_norm_backward_input", {&dy, &x, &w, &inv_rms, &dx});
  SPOT_CHECK(x.ndim() == 2, "rms_norm_backward_input: x " << x.str() << " must be [N, d]");
  check_shape(dy, x.shape(), "rms_norm_backward_input dy");
  check_shape(dx, x.shape(), "rms_norm_backward_input dx");
  check_shape(w, {x.dim(1)}, "rms_norm_backward_input w");
  check_shape(inv_rms, {x.dim(0)}, "rms_norm_backward_input inv_rms");
  SPOT_DISPATCH(ctx, rms_norm_backward_input, dy, x, w, inv_rms, dx, accumulate);
}

}  // namespace spot
