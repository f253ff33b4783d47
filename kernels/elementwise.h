// elementwise.h — the few pointwise ops the models need besides the fused ones.
#pragma once

#include "base/context.h"

namespace spot {

// y += alpha·x (same shape)
void axpy(Context& ctx, float alpha, const Tensor& x, Tensor& y);
// y = alpha·x (y may alias x)
void scale(Context& ctx, float alpha, const Tensor& x, Tensor& y);
// y = a + b
void add(Context& ctx, const Tensor& a, const Tensor& b, Tensor& y);

}  // namespace spot
