// cpu/activation.cpp — ReLU / GELU(tanh) / SiLU, plain and gated, forward and input-backward.
#include "kernels/cpu/activation_math.h"
#include "kernels/cpu/cpu_ops.h"

namespace spot::cpu {

void activation_forward_ref(Activation act, const Tensor& x, Tensor& y) {
  for (int64_t i = 0, n = x.numel(); i < n; ++i)
    y.f32()[i] = static_cast<float>(act_value<double>(act, x.f32()[i]));
}

void activation_forward_fast(Activation act, const Tensor& x, Tensor& y) {
  const float* X = x.f32();
  float* Y = y.f32();
  const int64_t n = x.numel();
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) Y[i] = act_value<float>(act, X[i]);
}

void activation_backward_input_ref(Activation act, const Tensor& dy, const Tensor& x, Tensor& dx) {
  for (int64_t i = 0, n = x.numel(); i < n; ++i)
    dx.f32()[i] = static_cast<float>(dy.f32()[i] * act_derivative<double>(act, x.f32()[i]));
}

void activation_backward_input_fast(Activation act, const Tensor& dy, const Tensor& x, Tensor& dx) {
  const float* DY = dy.f32();
  const float* X = x.f32();
  float* DX = dx.f32();
  const int64_t n = x.numel();
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) DX[i] = DY[i] * act_derivative<float>(act, X[i]);
}

void glu_forward_ref(Activation act, const Tensor& gate, const Tensor& up, Tensor& h) {
  for (int64_t i = 0, n = gate.numel(); i < n; ++i)
    h.f32()[i] = static_cast<float>(act_value<double>(act, gate.f32()[i]) * up.f32()[i]);
}

void glu_forward_fast(Activation act, const Tensor& gate, const Tensor& up, Tensor& h) {
  const float* G = gate.f32();
  const float* U = up.f32();
  float* H = h.f32();
  const int64_t n = gate.numel();
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) H[i] = act_value<float>(act, G[i]) * U[i];
}

void glu_backward_input_ref(Activation act, const Tensor& dh, const Tensor& gate, const Tensor& up, Tensor& d_gate,
                            Tensor& d_up) {
  for (int64_t i = 0, n = gate.numel(); i < n; ++i) {
    const double g = gate.f32()[i], dhv = dh.f32()[i];
    d_gate.f32()[i] = static_cast<float>(dhv * up.f32()[i] * act_derivative<double>(act, g));
    d_up.f32()[i] = static_cast<float>(dhv * act_value<double>(act, g));
  }
}

void glu_backward_input_fast(Activation act, const Tensor& dh, const Tensor& gate, const Tensor& up, Tensor& d_gate,
                             Tensor& d_up) {
  const float* DH = dh.f32();
  const float* G = gate.f32();
  const float* U = up.f32();
  float* DG = d_gate.f32();
  float* DU = d_up.f32();
  const int64_t n = gate.numel();
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float dhv = DH[i];
    const float g = G[i];
    DG[i] = dhv * U[i] * act_derivative<float>(act, g);
    DU[i] = dhv * act_value<float>(act, g);
  }
}

}  // namespace spot::cpu
