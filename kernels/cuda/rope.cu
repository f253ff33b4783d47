// cuda/rope.cu — rotary position embeddings (rope.h): one thread per (b, t, h, j) rotation pair in a
// grid-stride loop; memory-bound (8 bytes read and written per element). The float32 inverse
// frequencies are computed on the host by rope_inv_freq (the same bits as the CPU paths) and travel
// in the kernel's parameter block; the angle float(pos)·inv_freq[j] is the same float32 product.
#include <cmath>
#include <vector>

#include "base/cuda/cuda_common.cuh"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/rope.h"

namespace spot::cuda {

namespace {

constexpr int kThreads = 256;

struct RopeParams {
  const float* in;  // [B, T, H, Dh]
  float* out;       // [B, T, H, Dh]; may alias `in`
  int64_t pairs;    // B·T·H·half
  int64_t t_len, heads, half;
  int64_t pos_offset;
  float sign;  // +1 forward rotation, −1 its inverse (the backward)
  float inv_freq[kRopeMaxHeadDim / 2];
};

// No __restrict__: out may alias in (each pair is read, then written, by one thread).
__global__ void rope_kernel(const RopeParams p) {
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < p.pairs;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t j = k % p.half, row = k / p.half;  // row = (b·T + t)·H + h
    const int64_t t = (row / p.heads) % p.t_len;
    const float a = static_cast<float>(p.pos_offset + t) * p.inv_freq[j];
    float s, c;
    sincosf(a, &s, &c);  // full-precision (no fast-math): within 2 ulp of the CPU's
    s *= p.sign;
    const int64_t i1 = row * 2 * p.half + j, i2 = i1 + p.half;
    const float x1 = p.in[i1], x2 = p.in[i2];
    p.out[i1] = x1 * c - x2 * s;
    p.out[i2] = x2 * c + x1 * s;
  }
}

void launch_rope(Context& ctx, const Tensor& in, int64_t pos_offset, float theta, Tensor& out, float sign) {
  const int64_t B = in.dim(0), T = in.dim(1), H = in.dim(2), Dh = in.dim(3);
  RopeParams p{};
  p.in = in.f32();
  p.out = out.f32();
  p.half = Dh / 2;
  p.pairs = B * T * H * p.half;
  p.t_len = T;
  p.heads = H;
  p.pos_offset = pos_offset;
  p.sign = sign;
  if (p.pairs == 0) return;
  const std::vector<float> inv = rope_inv_freq(Dh, theta);
  for (int64_t j = 0; j < p.half; ++j) p.inv_freq[j] = inv[j];
  CudaState& s = state_of(ctx);
  rope_kernel<<<grid_stride_blocks(p.pairs, kThreads), kThreads, 0, s.stream>>>(p);
  SPOT_LAUNCH_CHECK(s.stream);
}

}  // namespace

void rope_forward(Context& ctx, const Tensor& x, int64_t pos_offset, float theta, Tensor& y) {
  launch_rope(ctx, x, pos_offset, theta, y, 1.0f);
}

void rope_backward_input(Context& ctx, const Tensor& dy, int64_t pos_offset, float theta, Tensor& dx) {
  launch_rope(ctx, dy, pos_offset, theta, dx, -1.0f);
}

}  // namespace spot::cuda
