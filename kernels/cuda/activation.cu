// cuda/activation.cu — ReLU / GELU(tanh) / SiLU, plain and gated, forward and input-backward
// (activation.h). The formulas are those of kernels/cpu/activation_math.h (shared, host+device),
// instantiated per activation so the switch folds away; grid-stride loops, memory-bound.
#include <type_traits>

#include "kernels/cpu/activation_math.h"
#include "base/cuda/cuda_common.cuh"
#include "kernels/cuda/cuda_ops.h"

namespace spot::cuda {

namespace {

constexpr int kThreads = 256;

#define SPOT_GRID_STRIDE(i, n)                                                              \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

// y may alias x (in-place forward).
template <Activation A>
__global__ void act_forward_kernel(const float* x, float* y, int64_t n) {
  SPOT_GRID_STRIDE(i, n) y[i] = cpu::act_value<float>(A, x[i]);
}

template <Activation A>
__global__ void act_backward_kernel(const float* dy, const float* x, float* dx, int64_t n) {
  SPOT_GRID_STRIDE(i, n) dx[i] = dy[i] * cpu::act_derivative<float>(A, x[i]);
}

// h = act(gate) ⊙ up
template <Activation A>
__global__ void glu_forward_kernel(const float* gate, const float* up, float* h, int64_t n) {
  SPOT_GRID_STRIDE(i, n) h[i] = cpu::act_value<float>(A, gate[i]) * up[i];
}

// d_gate = dh ⊙ up ⊙ act'(gate), d_up = dh ⊙ act(gate); all inputs read before either write, so
// d_gate/d_up may alias gate/up element-wise.
template <Activation A>
__global__ void glu_backward_kernel(const float* dh, const float* gate, const float* up, float* d_gate, float* d_up,
                                    int64_t n) {
  SPOT_GRID_STRIDE(i, n) {
    const float g = gate[i], u = up[i], d = dh[i];
    const float dg = d * u * cpu::act_derivative<float>(A, g);
    const float du = d * cpu::act_value<float>(A, g);
    d_gate[i] = dg;
    d_up[i] = du;
  }
}

#undef SPOT_GRID_STRIDE

// Calls f(std::integral_constant<Activation, A>) for the runtime activation `act`.
template <class F>
void with_activation(Activation act, F&& f) {
  switch (act) {
    case Activation::Relu: f(std::integral_constant<Activation, Activation::Relu>{}); return;
    case Activation::GeluTanh: f(std::integral_constant<Activation, Activation::GeluTanh>{}); return;
    case Activation::Silu: f(std::integral_constant<Activation, Activation::Silu>{}); return;
  }
  SPOT_FAIL("cuda activation: unknown activation " << static_cast<int>(act));
}

}  // namespace

void activation_forward(Context& ctx, Activation act, const Tensor& x, Tensor& y) {
  const int64_t n = x.numel();
  if (n == 0) return;
  CudaState& s = state_of(ctx);
  const float* X = x.f32();
  float* Y = y.f32();
  with_activation(act, [&](auto a) {
    act_forward_kernel<decltype(a)::value><<<grid_stride_blocks(n, kThreads), kThreads, 0, s.stream>>>(X, Y, n);
  });
  SPOT_LAUNCH_CHECK(s.stream);
}

void activation_backward_input(Context& ctx, Activation act, const Tensor& dy, const Tensor& x, Tensor& dx) {
  const int64_t n = x.numel();
  if (n == 0) return;
  CudaState& s = state_of(ctx);
  const float *DY = dy.f32(), *X = x.f32();
  float* DX = dx.f32();
  with_activation(act, [&](auto a) {
    act_backward_kernel<decltype(a)::value><<<grid_stride_blocks(n, kThreads), kThreads, 0, s.stream>>>(DY, X, DX, n);
  });
  SPOT_LAUNCH_CHECK(s.stream);
}

void glu_forward(Context& ctx, Activation act, const Tensor& gate, const Tensor& up, Tensor& h) {
  const int64_t n = gate.numel();
  if (n == 0) return;
  CudaState& s = state_of(ctx);
  const float *G = gate.f32(), *U = up.f32();
  float* H = h.f32();
  with_activation(act, [&](auto a) {
    glu_forward_kernel<decltype(a)::value><<<grid_stride_blocks(n, kThreads), kThreads, 0, s.stream>>>(G, U, H, n);
  });
  SPOT_LAUNCH_CHECK(s.stream);
}

void glu_backward_input(Context& ctx, Activation act, const Tensor& dh, const Tensor& gate, const Tensor& up,
                        Tensor& d_gate, Tensor& d_up) {
  const int64_t n = gate.numel();
  if (n == 0) return;
  CudaState& s = state_of(ctx);
  const float *DH = dh.f32(), *G = gate.f32(), *U = up.f32();
  float *DG = d_gate.f32(), *DU = d_up.f32();
  with_activation(act, [&](auto a) {
    glu_backward_kernel<decltype(a)::value>
        <<<grid_stride_blocks(n, kThreads), kThreads, 0, s.stream>>>(DH, G, U, DG, DU, n);
  });
  SPOT_LAUNCH_CHECK(s.stream);
}

}  // namespace spot::cuda
