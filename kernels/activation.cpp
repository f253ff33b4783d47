// activation.cpp — checks and dispatch for activation.h.
#include "kernels/activation.h"

#include "kernels/dispatch.h"

namespace spot {

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::Relu: return "relu";
    case Activation::GeluTanh: return "gelu_tanh";
    case Activation::Silu: return "silu";
  }
  return "?";
}

void activation_forward(Context& ctx, Activation act, const Tensor& x, Tensor& y) {
  detail::check_on(ctx, "activation_forward", {&x, &y});
  check_shape(y, x.shape(), "activation_forward y");
  x.check_dtype(DType::F32);
  SPOT_DISPATCH(ctx, activation_forward, act, x, y);
}

void activation_backward_input(Context& ctx, Activation act, const Tensor& dy, const Tensor& x, Tensor& dx) {
  detail::check_on(ctx, "activation_backward_input", {&dy, &x, &dx});
  check_shape(dy, x.shape(), "activation_backward_input dy");
  check_shape(dx, x.shape(), "activation_backward_input dx");
  SPOT_DISPATCH(ctx, activation_backward_input, act, dy, x, dx);
}

void glu_forward(Context& ctx, Activation act, const Tensor& gate, const Tensor& up, Tensor& h) {
  detail::check_on(ctx, "glu_forward", {&gate, &up, &h});
  check_shape(up, gate.shape(), "glu_forward up");
  check_shape(h, gate.shape(), "glu_forward h");
  gate.check_dtype(DType::F32);
  SPOT_DISPATCH(ctx, glu_forward, act, gate, up, h);
}

void glu_backward_input(Context& ctx, Activation act, const Tensor& dh, const Tensor& gate, const Tensor& up,
                        Tensor& d_gate, Tensor& d_up) {
  detail::check_on(ctx, "glu_backward_input", {&dh, &gate, &up, &d_gate, &d_up});
  check_shape(dh, gate.shape(), "glu_backward_input dh");
  check_shape(up, gate.shape(), "glu_backward_input up");
  check_shape(d_gate, gate.shape(), "glu_backward_input d_gate");
  check_shape(d_up, gate.shape(), "glu_backward_input d_up");
  SPOT_DISPATCH(ctx, glu_backward_input, act, dh, gate, up, d_gate, d_up);
}

}  // namespace spot
