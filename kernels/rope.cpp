// rope.cpp — checks and dispatch for rope.h, and HF's float32 inverse frequencies.
#include "kernels/rope.h"

#include <cmath>

#include "kernels/dispatch.h"

namespace spot {

std::vector<float> rope_inv_freq(int64_t d_head, float theta) {
  SPOT_CHECK(d_head > 0 && d_head % 2 == 0 && d_head <= kRopeMaxHeadDim,
             "rope: head dim " << d_head << " must be even and in (0, " << kRopeMaxHeadDim << "]");
  SPOT_CHECK(theta > 0 && std::isfinite(theta), "rope: theta " << theta << " must be positive and finite");
  // HF: 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim)), every step in float32.
  std::vector<float> f(d_head / 2);
  for (int64_t j = 0; j < d_head / 2; ++j)
    f[j] = 1.0f / std::pow(theta, static_cast<float>(2 * j) / static_cast<float>(d_head));
  return f;
}

static void check_rope(Context& ctx, const char* op, const Tensor& in, int64_t pos_offset, float theta,
                       const Tensor& out) {
  detail::check_on(ctx, op, {&in, &out});
  SPOT_CHECK(in.ndim() == 4, op << ": input " << in.str() << " must be [B, T, H, Dh]");
  in.check_dtype(DType::F32);
  out.check_dtype(DType::F32);
  check_shape(out, in.shape(), op);
  rope_inv_freq(in.dim(3), theta);  // validates Dh and theta
  SPOT_CHECK(pos_offset >= 0 && pos_offset + in.dim(1) <= (int64_t{1} << 24),
             op << ": positions [" << pos_offset << ", " << pos_offset + in.dim(1)
                << ") outside [0, 2^24) (float32 positions stop being exact)");
}

void rope_forward(Context& ctx, const Tensor& x, int64_t pos_offset, float theta, Tensor& y) {
  check_rope(ctx, "rope_forward", x, pos_offset, theta, y);
  SPOT_DISPATCH(ctx, rope_forward, x, pos_offset, theta, y);
}

void rope_backward_input(Context& ctx, const Tensor& dy, int64_t pos_offset, float theta, Tensor& dx) {
  check_rope(ctx, "rope_backward_input", dy, pos_offset, theta, dx);
  SPOT_DISPATCH(ctx, rope_backward_input, dy, pos_offset, theta, dx);
}

}  // namespace spot
