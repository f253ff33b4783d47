// linear.cpp — shape/dtype checks and backend dispatch for linear.h.
#include "kernels/linear.h"

#include "kernels/dispatch.h"

namespace spot {

static void check_linear_dtypes(const Context& ctx, const Tensor& act, const Tensor& w, const Tensor& out,
                                const char* op) {
  if (ctx.backend() != Backend::Cuda) {
    // CPU (oneDNN, fp32 accumulation): everything f32, or bf16 weights (--precision bf16) with an f32
    // activation (rounded to bf16 for the product) or a bf16 one, into an f32 output.
    const bool all_f32 = act.dtype() == DType::F32 && w.dtype() == DType::F32 && out.dtype() == DType::F32;
    const bool bf16_w = w.dtype() == DType::BF16 && (act.dtype() == DType::F32 || act.dtype() == DType::BF16) &&
                        out.dtype() == DType::F32;
    SPOT_CHECK(all_f32 || bf16_w, op << ": unsupported dtypes " << act.str() << ", " << w.str() << " -> " << out.str()
                                     << " (the CPU backends take f32, f32 -> f32 or f32/bf16, bf16 -> f32)");
    return;
  }
  // CUDA (cuBLASLt, fp32 accumulation): everything f32, or bf16 activations and weights with a
  // bf16 or f32 output.
  const bool all_f32 = act.dtype() == DType::F32 && w.dtype() == DType::F32 && out.dtype() == DType::F32;
  const bool bf16_in = act.dtype() == DType::BF16 && w.dtype() == DType::BF16 &&
                       (out.dtype() == DType::BF16 || out.dtype() == DType::F32);
  SPOT_CHECK(all_f32 || bf16_in, op << ": unsupported dtypes " << act.str() << ", " << w.str() << " -> " << out.str()
                                   << " (cuda takes f32, f32 -> f32 or bf16, bf16 -> bf16/f32)");
}

void linear_forward(Context& ctx, const Tensor& x, const Tensor& w, Tensor& y, bool accumulate) {
  detail::check_on(ctx, "linear_forward", {&x, &w, &y});
  SPOT_CHECK(x.ndim() == 2 && w.ndim() == 2, "linear_forward: x " << x.str() << " and w " << w.str() << " must be 2-D");
  SPOT_CHECK(x.dim(1) == w.dim(1), "shape mismatch: linear_forward x " << x.str() << " vs w " << w.str() << " (in features)");
  check_shape(y, {x.dim(0), w.dim(0)}, "linear_forward y");
  check_linear_dtypes(ctx, x, w, y, "linear_forward");
  SPOT_DISPATCH(ctx, linear_forward, x, w, y, accumulate);
}

void linear_backward_input(Context& ctx, const Tensor& dy, const Tensor& w, Tensor& dx, bool accumulate) {
  detail::check_on(ctx, "linear_backward_input", {&dy, &w, &dx});
  SPOT_CHECK(dy.ndim() == 2 && w.ndim() == 2, "linear_backward_input: dy " << dy.str() << " and w " << w.str() << " must be 2-D");
  SPOT_CHECK(dy.dim(1) == w.dim(0), "shape mismatch: linear_backward_input dy " << dy.str() << " vs w " << w.str() << " (out features)");
  check_shape(dx, {dy.dim(0), w.dim(1)}, "linear_backward_input dx");
  check_linear_dtypes(ctx, dy, w, dx, "linear_backward_input");
  SPOT_DISPATCH(ctx, linear_backward_input, dy, w, dx, accumulate);
}

}  // namespace spot
