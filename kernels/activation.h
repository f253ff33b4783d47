// activation.h — feed-forward nonlinearities: plain (T5 v1.0 ReLU) and gated (T5 v1.1 gated-GELU,
// Llama SwiGLU), forward and input-backward.
#pragma once

#include "base/context.h"

namespace spot {

enum class Activation : uint8_t {
  Relu,
  GeluTanh,  // HF "gelu_new": 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
  Silu,      // x·σ(x)
};
const char* activation_name(Activation a);

// y = act(x); x, y [N, F] (y may alias x for the forward).
void activation_forward(Context& ctx, Activation act, const Tensor& x, Tensor& y);
// dx = dy ⊙ act'(x)
void activation_backward_input(Context& ctx, Activation act, const Tensor& dy, const Tensor& x, Tensor& dx);

// Gated: h = act(gate) ⊙ up; gate, up, h [N, F].
void glu_forward(Context& ctx, Activation act, const Tensor& gate, const Tensor& up, Tensor& h);
// d_gate = dh ⊙ up ⊙ act'(gate), d_up = dh ⊙ act(gate).
void glu_backward_input(Context& ctx, Activation act, const Tensor& dh, const Tensor& gate, const Tensor& up,
                        Tensor& d_gate, Tensor& d_up);

}  // namespace spot
