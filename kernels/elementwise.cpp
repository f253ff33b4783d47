// elementwise.cpp — checks and dispatch for elementwise.h.
#include "kernels/elementwise.h"

#include "kernels/dispatch.h"

namespace spot {

void axpy(Context& ctx, float alpha, const Tensor& x, Tensor& y) {
  detail::check_on(ctx, "axpy", {&x, &y});
  check_shape(y, x.shape(), "axpy y");
  x.check_dtype(DType::F32);
  y.check_dtype(DType::F32);
  SPOT_DISPATCH(ctx, axpy, alpha, x, y);
}

void scale(Context& ctx, float alpha, const Tensor& x, Tensor& y) {
  detail::check_on(ctx, "scale", {&x, &y});
  check_shape(y, x.shape(), "scale y");
  x.check_dtype(DType::F32);
  y.check_dtype(DType::F32);
  SPOT_DISPATCH(ctx, scale, alpha, x, y);
}

void add(Context& ctx, const Tensor& a, const Tensor& b, Tensor& y) {
  detail::check_on(ctx, "add", {&a, &b, &y});
  check_shape(b, a.shape(), "add b");
  check_shape(y, a.shape(), "add y");
  a.check_dtype(DType::F32);
  SPOT_DISPATCH(ctx, add, a, b, y);
}

}  // namespace spot
