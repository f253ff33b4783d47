// cases_basic.cpp — parity cases for linear, rms norm, embedding/prompt, activations, loss, pointwise.
#include <algorithm>
#include <cmath>

#include "kernels/activation.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/linear.h"
#include "kernels/loss.h"
#include "kernels/rmsnorm.h"
#include "tests/parity/cases.h"

namespace spot::parity {

std::string dims_name(std::initializer_list<std::pair<const char*, int64_t>> dims) {
  std::string s;
  for (const auto& [k, v] : dims) s += (s.empty() ? "" : "_") + std::string(k) + std::to_string(v);
  return s;
}

void register_linear_cases(std::vector<Case>& r) {
  struct S { int64_t n, k, m; };
  for (S s : {S{37, 53, 29}, S{1, 17, 5}, S{1, 577, 1539}, S{131, 96, 257}, S{7, 300, 3}}) {
    for (bool acc : {false, true}) {
      Case c;
      c.op = "linear_forward";
      c.name = dims_name({{"n", s.n}, {"k", s.k}, {"m", s.m}}) + (acc ? "_acc" : "");
      c.make_inputs = [s](Rng& g) { return Inputs{randn(g, {s.n, s.k}), randn(g, {s.m, s.k}, 0.2f)}; };
      c.make_outputs = [s, acc](const Inputs&, Rng& g) {
        return std::vector<Output>{acc ? accumulate_into(randn(g, {s.n, s.m})) : overwrite({s.n, s.m})};
      };
      c.run = [acc](Context& ctx, const Inputs& in, Outputs& out) { linear_forward(ctx, in[0], in[1], out[0], acc); };
      c.flops = 2.0 * s.n * s.k * s.m;
      c.bytes = 4.0 * (s.n * s.k + s.m * s.k + s.n * s.m * (acc ? 2 : 1));
      r.push_back(c);
    }
    Case b;
    b.op = "linear_backward_input";
    b.name = dims_name({{"n", s.n}, {"k", s.k}, {"m", s.m}});
    // inputs: dy [n, m], w [m, k], x [n, k] (x only for the finite-difference objective)
    b.make_inputs = [s](Rng& g) { return Inputs{randn(g, {s.n, s.m}), randn(g, {s.m, s.k}, 0.2f), randn(g, {s.n, s.k})}; };
    b.make_outputs = [s](const Inputs&, Rng&) { return std::vector<Output>{overwrite({s.n, s.k})}; };
    b.run = [](Context& ctx, const Inputs& in, Outputs& out) { linear_backward_input(ctx, in[0], in[1], out[0]); };
    b.flops = 2.0 * s.n * s.k * s.m;
    b.bytes = 4.0 * (s.n * s.m + s.m * s.k + s.n * s.k);
    b.fd_objective = [s](const Inputs& in) {
      Context ref(Backend::CpuReference);
      Tensor y = Tensor::empty({s.n, s.m});
      linear_forward(ref, in[2], in[1], y);
      return sum_product(y, in[0]);
    };
    b.fd_wrt_input = 2;
    b.fd_grad_output = 0;
    r.push_back(b);
  }
}

namespace {

// bf16 linear on any backend. CUDA takes the bf16 tensors as they are; the CPU backends (f32 only)
// get the bf16 inputs widened exactly with Tensor::to_dtype, run the f32 op, and round the result
// to the output dtype, which is what the CUDA path computes (bf16 products, fp32 accumulation).
void linear_any_dtype(Context& ctx, const Tensor& a, const Tensor& w, Tensor& out, bool accumulate, bool backward) {
  auto op = [&](const Tensor& a_, const Tensor& w_, Tensor& o_) {
    if (backward)
      linear_backward_input(ctx, a_, w_, o_, accumulate);
    else
      linear_forward(ctx, a_, w_, o_, accumulate);
  };
  if (ctx.backend() == Backend::Cuda) return op(a, w, out);
  if (out.dtype() == DType::F32) return op(a.to_dtype(DType::F32), w.to_dtype(DType::F32), out);
  Tensor of = accumulate ? out.to_dtype(DType::F32) : Tensor::empty(out.shape());
  op(a.to_dtype(DType::F32), w.to_dtype(DType::F32), of);
  out.copy_from(of.to_dtype(out.dtype()));
}

}  // namespace

// CUDA's bf16 linear (x, w bf16 -> y bf16 or f32), forward and input-backward.
void register_linear_bf16_cases(std::vector<Case>& r) {
  struct S { int64_t n, k, m; };
  struct V { DType out; bool acc; };
  for (S s : {S{37, 53, 29}, S{131, 96, 257}, S{7, 300, 3}})
    for (V v : {V{DType::BF16, false}, V{DType::BF16, true}, V{DType::F32, false}, V{DType::F32, true}}) {
      const std::string suffix = std::string("_bf16_to_") + dtype_name(v.out) + (v.acc ? "_acc" : "");
      for (bool backward : {false, true}) {
        // forward: a = x [n, k], out = y [n, m]; backward: a = dy [n, m], out = dx [n, k]; w [m, k].
        const Shape a_shape = backward ? Shape{s.n, s.m} : Shape{s.n, s.k};
        const Shape o_shape = backward ? Shape{s.n, s.k} : Shape{s.n, s.m};
        Case c;
        c.op = backward ? "linear_backward_input" : "linear_forward";
        c.name = dims_name({{"n", s.n}, {"k", s.k}, {"m", s.m}}) + suffix;
        c.make_inputs = [s, a_shape](Rng& g) {
          return Inputs{randn(g, a_shape).to_dtype(DType::BF16), randn(g, {s.m, s.k}, 0.2f).to_dtype(DType::BF16)};
        };
        c.make_outputs = [v, o_shape](const Inputs&, Rng& g) {
          return std::vector<Output>{v.acc ? accumulate_into(randn(g, o_shape).to_dtype(v.out)) : overwrite(o_shape, v.out)};
        };
        c.run = [v, backward](Context& ctx, const Inputs& in, Outputs& out) {
          linear_any_dtype(ctx, in[0], in[1], out[0], v.acc, backward);
        };
        c.flops = 2.0 * s.n * s.k * s.m;
        c.bytes = 2.0 * (shape_numel(a_shape) + s.m * s.k) +
                  dtype_size(v.out) * shape_numel(o_shape) * (v.acc ? 2.0 : 1.0);
        c.dtypes_cuda = {DType::BF16};
        r.push_back(c);
      }
    }
}

// --precision bf16 on the CPU: bf16 weights, f32 activation (rounded to bf16 for the product), f32
// output; forward and input-backward, overwrite and accumulate, odd shapes and one-row products (a
// decode step). The reference reads the same rounded inputs in fp64, so the f32 tolerance holds. CUDA
// takes bf16 activations: its run rounds x first, which is the same computation.
void register_linear_bf16_weight_cases(std::vector<Case>& r) {
  struct S { int64_t n, k, m; };
  for (S s : {S{37, 53, 29}, S{131, 96, 257}, S{1, 300, 77}, S{64, 512, 384}})
    for (bool acc : {false, true})
      for (bool backward : {false, true}) {
        const Shape a_shape = backward ? Shape{s.n, s.m} : Shape{s.n, s.k};
        const Shape o_shape = backward ? Shape{s.n, s.k} : Shape{s.n, s.m};
        Case c;
        c.op = backward ? "linear_backward_input" : "linear_forward";
        c.name = dims_name({{"n", s.n}, {"k", s.k}, {"m", s.m}}) + "_f32_x_bf16_w" + (acc ? "_acc" : "");
        c.make_inputs = [s, a_shape](Rng& g) {
          return Inputs{randn(g, a_shape), randn(g, {s.m, s.k}, 0.2f).to_dtype(DType::BF16)};
        };
        c.make_outputs = [acc, o_shape](const Inputs&, Rng& g) {
          return std::vector<Output>{acc ? accumulate_into(randn(g, o_shape)) : overwrite(o_shape)};
        };
        c.run = [acc, backward](Context& ctx, const Inputs& in, Outputs& out) {
          const Tensor a = ctx.backend() == Backend::Cuda
                               ? in[0].to(Device::CPU).to_dtype(DType::BF16).to(ctx.device())
                               : in[0];
          if (backward)
            linear_backward_input(ctx, a, in[1], out[0], acc);
          else
            linear_forward(ctx, a, in[1], out[0], acc);
        };
        c.flops = 2.0 * s.n * s.k * s.m;
        c.bytes = 4.0 * shape_numel(a_shape) + 2.0 * s.m * s.k + 4.0 * shape_numel(o_shape) * (acc ? 2.0 : 1.0);
        r.push_back(c);
      }
}

void register_rmsnorm_cases(std::vector<Case>& r) {
  struct S { int64_t n, d; };
  for (S s : {S{23, 48}, S{5, 577}, S{128, 512}}) {
    Case f;
    f.op = "rms_norm_forward";
    f.name = dims_name({{"n", s.n}, {"d", s.d}});
    f.make_inputs = [s](Rng& g) { return Inputs{randn(g, {s.n, s.d}, 2.0f, 0.3f), randu(g, {s.d}, 0.5f, 1.5f)}; };
    f.make_outputs = [s](const Inputs&, Rng&) { return std::vector<Output>{overwrite({s.n, s.d}), overwrite({s.n})}; };
    f.run = [](Context& ctx, const Inputs& in, Outputs& out) { rms_norm_forward(ctx, in[0], in[1], 1e-6f, out[0], out[1]); };
    f.flops = 4.0 * s.n * s.d;
    f.bytes = 4.0 * (2 * s.n * s.d + s.d + s.n);
    r.push_back(f);
    for (bool acc : {false, true}) {
      Case b;
      b.op = "rms_norm_backward_input";
      b.name = dims_name({{"n", s.n}, {"d", s.d}}) + (acc ? "_acc" : "");
      // inputs: dy, x, w, inv_rms (consistent with x)
      b.make_inputs = [s](Rng& g) {
        Tensor x = randn(g, {s.n, s.d}, 2.0f, 0.3f), w = randu(g, {s.d}, 0.5f, 1.5f);
        Tensor y = Tensor::empty({s.n, s.d}), rr = Tensor::empty({s.n});
        Context ref(Backend::CpuReference);
        rms_norm_forward(ref, x, w, 1e-6f, y, rr);
        return Inputs{randn(g, {s.n, s.d}), x, w, rr};
      };
      b.make_outputs = [s, acc](const Inputs&, Rng& g) {
        return std::vector<Output>{acc ? accumulate_into(randn(g, {s.n, s.d})) : overwrite({s.n, s.d})};
      };
      b.run = [acc](Context& ctx, const Inputs& in, Outputs& out) {
        rms_norm_backward_input(ctx, in[0], in[1], in[2], in[3], out[0], acc);
      };
      b.flops = 7.0 * s.n * s.d;
      b.bytes = 4.0 * (3 * s.n * s.d + s.d + s.n);
      if (!acc) {
        b.fd_objective = [s](const Inputs& in) {
          Context ref(Backend::CpuReference);
          Tensor y = Tensor::empty({s.n, s.d}), rr = Tensor::empty({s.n});
          rms_norm_forward(ref, in[1], in[2], 1e-6f, y, rr);
          return sum_product(y, in[0]);
        };
        b.fd_wrt_input = 1;
        b.fd_grad_output = 0;
      }
      r.push_back(b);
    }
  }
}

// Prompt slots (kernels/embedding.h) as three i32 input tensors: positions, sources, lengths.
struct SlotSpec {
  int64_t b, t, v, d;
  std::vector<int64_t> lens;  // the prompts' lengths (packed table rows: their sum)
  bool mixed;                 // example i uses prompt i % P (else every example prompt 0)
  bool infix;                 // slot positions inside the tokens (else 0)
  int64_t rows() const {
    int64_t n = 0;
    for (int64_t l : lens) n += l;
    return n;
  }
  int64_t max_len() const {
    int64_t m = 0;
    for (int64_t i = 0; i < b; ++i) m = std::max(m, len_of(i));
    return m;
  }
  int64_t prompt_of(int64_t i) const { return mixed ? i % static_cast<int64_t>(lens.size()) : 0; }
  int64_t len_of(int64_t i) const { return lens.empty() ? 0 : lens[prompt_of(i)]; }
  Inputs slot_tensors() const {
    Tensor pos = Tensor::empty({b}, DType::I32), src = Tensor::empty({b}, DType::I32), len = Tensor::empty({b}, DType::I32);
    for (int64_t i = 0; i < b; ++i) {
      int64_t off = 0;
      for (int64_t p = 0; p < prompt_of(i); ++p) off += lens[p];
      pos.i32()[i] = infix ? static_cast<int32_t>((3 * i + 2) % (t + 1)) : 0;
      src.i32()[i] = static_cast<int32_t>(off);
      len.i32()[i] = static_cast<int32_t>(len_of(i));
    }
    return {pos, src, len};
  }
  std::string name() const {
    std::string n = dims_name({{"b", b}, {"t", t}, {"v", v}, {"d", d}}) + "_l";
    for (size_t i = 0; i < lens.size(); ++i) n += (i ? "-" : "") + std::to_string(lens[i]);
    return n + (mixed ? "_mixed" : "") + (infix ? "_infix" : "_prefix");
  }
};

PromptSlots slots_from(const Inputs& in, size_t first, int64_t max_len) {
  return PromptSlots{in[first], in[first + 1], in[first + 2], max_len};
}

void register_embedding_cases(std::vector<Case>& r) {
  const std::vector<SlotSpec> specs = {
      {3, 11, 301, 48, {5}, false, false}, {4, 9, 97, 33, {7}, false, true}, {2, 13, 50, 17, {}, false, false},
      // Mixed-task batches: five examples over three prompts of different lengths (one empty).
      {5, 9, 61, 24, {3, 7, 4}, true, false}, {5, 8, 61, 19, {6, 0, 2}, true, true}};
  for (const SlotSpec& s : specs) {
    const int64_t R = s.rows(), L = s.max_len();
    Case f;
    f.op = "embed_with_prompt";
    f.name = s.name();
    f.make_inputs = [s, R](Rng& g) {
      Inputs in{randint(g, {s.b, s.t}, 0, static_cast<int32_t>(s.v)), randn(g, {s.v, s.d}),
                R ? randn(g, {R, s.d}) : Tensor()};
      for (const Tensor& t : s.slot_tensors()) in.push_back(t);
      return in;
    };
    f.make_outputs = [s, L](const Inputs&, Rng&) { return std::vector<Output>{overwrite({s.b, s.t + L, s.d})}; };
    f.run = [L](Context& ctx, const Inputs& in, Outputs& out) {
      embed_with_prompt(ctx, in[0], in[1], in[2], slots_from(in, 3, L), out[0]);
    };
    f.bytes = 4.0 * 2 * s.b * (s.t + L) * s.d;
    r.push_back(f);
    if (L == 0) continue;
    for (bool zeros : {false, true}) {
      Case w;
      w.op = "prompt_rows_write";
      w.name = s.name() + (zeros ? "_zeros" : "");
      w.make_inputs = [s, R, zeros](Rng& g) {
        Inputs in{zeros ? Tensor() : randn(g, {R, s.d})};
        for (const Tensor& t : s.slot_tensors()) in.push_back(t);
        return in;
      };
      // In place: the rows outside the slots keep their values.
      w.make_outputs = [s, L](const Inputs&, Rng& g) {
        return std::vector<Output>{accumulate_into(randn(g, {s.b, s.t + L, s.d}))};
      };
      w.run = [L](Context& ctx, const Inputs& in, Outputs& out) { prompt_rows_write(ctx, in[0], slots_from(in, 1, L), out[0]); };
      w.bytes = 4.0 * 2 * s.b * L * s.d;
      r.push_back(w);
    }
    Case gth;
    gth.op = "prompt_rows_gather";
    gth.name = s.name();
    gth.make_inputs = [s, L](Rng& g) { return Inputs{randn(g, {s.b, s.t + L, s.d}), s.slot_tensors()[0]}; };
    gth.make_outputs = [s, L](const Inputs&, Rng&) { return std::vector<Output>{overwrite({s.b, L, s.d})}; };
    gth.run = [L](Context& ctx, const Inputs& in, Outputs& out) { prompt_rows_gather(ctx, in[0], in[1], L, out[0]); };
    gth.bytes = 4.0 * 2 * s.b * L * s.d;
    r.push_back(gth);
    for (bool acc : {false, true}) {
      Case red;
      red.op = "prompt_grad_reduce";
      red.name = s.name() + (acc ? "_acc" : "");
      red.make_inputs = [s, L](Rng& g) {
        Inputs in{randn(g, {s.b, L, s.d})};
        for (const Tensor& t : s.slot_tensors()) in.push_back(t);
        return in;
      };
      red.make_outputs = [s, R, acc](const Inputs&, Rng& g) {
        return std::vector<Output>{acc ? accumulate_into(randn(g, {R, s.d})) : overwrite({R, s.d})};
      };
      red.run = [L, acc](Context& ctx, const Inputs& in, Outputs& out) {
        prompt_grad_reduce(ctx, in[0], slots_from(in, 1, L), out[0], acc);
      };
      red.flops = 1.0 * s.b * L * s.d;
      red.bytes = 4.0 * (s.b * L + R) * s.d;
      r.push_back(red);
    }
  }
}

void register_activation_cases(std::vector<Case>& r) {
  struct S { int64_t n, f; };
  for (Activation act : {Activation::Relu, Activation::GeluTanh, Activation::Silu})
    for (S s : {S{13, 72}, S{64, 2049}}) {
      const std::string nm = std::string(activation_name(act)) + "_" + dims_name({{"n", s.n}, {"f", s.f}});
      Case f;
      f.op = "activation_forward";
      f.name = nm;
      f.make_inputs = [s](Rng& g) { return Inputs{randn(g, {s.n, s.f}, 2.0f)}; };
      f.make_outputs = [s](const Inputs&, Rng&) { return std::vector<Output>{overwrite({s.n, s.f})}; };
      f.run = [act](Context& ctx, const Inputs& in, Outputs& out) { activation_forward(ctx, act, in[0], out[0]); };
      f.bytes = 8.0 * s.n * s.f;
      r.push_back(f);
      Case b;
      b.op = "activation_backward_input";
      b.name = nm;
      b.make_inputs = [s](Rng& g) { return Inputs{randn(g, {s.n, s.f}), randn(g, {s.n, s.f}, 2.0f)}; };
      b.make_outputs = [s](const Inputs&, Rng&) { return std::vector<Output>{overwrite({s.n, s.f})}; };
      b.run = [act](Context& ctx, const Inputs& in, Outputs& out) {
        activation_backward_input(ctx, act, in[0], in[1], out[0]);
      };
      b.bytes = 12.0 * s.n * s.f;
      if (act != Activation::Relu) {  // ReLU's kink makes central differences meaningless near 0
        b.fd_objective = [s, act](const Inputs& in) {
          Context ref(Backend::CpuReference);
          Tensor y = Tensor::empty({s.n, s.f});
          activation_forward(ref, act, in[1], y);
          return sum_product(y, in[0]);
        };
        b.fd_wrt_input = 1;
        b.fd_grad_output = 0;
      }
      r.push_back(b);
      Case gf;
      gf.op = "glu_forward";
      gf.name = nm;
      gf.make_inputs = [s](Rng& g) { return Inputs{randn(g, {s.n, s.f}, 2.0f), randn(g, {s.n, s.f})}; };
      gf.make_outputs = [s](const Inputs&, Rng&) { return std::vector<Output>{overwrite({s.n, s.f})}; };
      gf.run = [act](Context& ctx, const Inputs& in, Outputs& out) { glu_forward(ctx, act, in[0], in[1], out[0]); };
      gf.bytes = 12.0 * s.n * s.f;
      r.push_back(gf);
      for (int wrt : {1, 2}) {
        Case gb;
        gb.op = "glu_backward_input";
        gb.name = nm + (wrt == 1 ? "_fd_gate" : "_fd_up");
        gb.make_inputs = [s](Rng& g) {
          return Inputs{randn(g, {s.n, s.f}), randn(g, {s.n, s.f}, 2.0f), randn(g, {s.n, s.f})};
        };
        gb.make_outputs = [s](const Inputs&, Rng&) {
          return std::vector<Output>{overwrite({s.n, s.f}), overwrite({s.n, s.f})};
        };
        gb.run = [act](Context& ctx, const Inputs& in, Outputs& out) {
          glu_backward_input(ctx, act, in[0], in[1], in[2], out[0], out[1]);
        };
        gb.bytes = 20.0 * s.n * s.f;
        if (act != Activation::Relu || wrt == 2) {
          gb.fd_objective = [s, act](const Inputs& in) {
            Context ref(Backend::CpuReference);
            Tensor h = Tensor::empty({s.n, s.f});
            glu_forward(ref, act, in[1], in[2], h);
            return sum_product(h, in[0]);
          };
          gb.fd_wrt_input = wrt;
          gb.fd_grad_output = wrt - 1;
        }
        r.push_back(gb);
      }
    }
}

void register_loss_cases(std::vector<Case>& r) {
  // lm: logits shaped like a trained LM's (SmolLM2-135M: std ~3 over a 49k vocabulary, the top ~12
  // above the rest), half the labels on the top entry. A float running sum of exp rounds the tens of
  // thousands of small terms one-sidedly: lse comes out ~5e-5 low, relative errors 1.0e-5 (row loss)
  // and 9.3e-5 (dlogits). With the sum in double: 4.7e-8 and 3.5e-7 (fp32 exp and rounding), so the
  // tolerance 2e-6 separates the two with room on both sides.
  struct S { int64_t n, v; bool lm; };
  for (S s : {S{9, 301, false}, S{67, 32128, false}, S{24, 49152, true}}) {
    Case c;
    c.op = "cross_entropy_forward_backward";
    c.name = dims_name({{"n", s.n}, {"v", s.v}}) + (s.lm ? "_lm" : "");
    c.make_inputs = [s](Rng& g) {
      Tensor labels = randint(g, {s.n}, 0, static_cast<int32_t>(s.v));
      for (int64_t i = 2; i < s.n; i += 4) labels.i32()[i] = kIgnoreIndex;  // padding rows
      Tensor logits = randn(g, {s.n, s.v}, 3.0f);
      if (s.lm) {
        const Tensor peak = randint(g, {s.n}, 0, static_cast<int32_t>(s.v));
        for (int64_t i = 0; i < s.n; ++i) {
          logits.f32()[i * s.v + peak.i32()[i]] += 12.0f;
          if (i % 2 && labels.i32()[i] != kIgnoreIndex) labels.i32()[i] = peak.i32()[i];  // a confident hit
        }
      }
      return Inputs{logits, labels};
    };
    c.make_outputs = [s](const Inputs&, Rng&) { return std::vector<Output>{overwrite({s.n}), overwrite({s.n, s.v})}; };
    c.run = [](Context& ctx, const Inputs& in, Outputs& out) {
      cross_entropy_forward_backward(ctx, in[0], in[1], 0.125f, out[0], &out[1]);
    };
    c.flops = 4.0 * s.n * s.v;
    c.bytes = 8.0 * s.n * s.v;
    if (s.lm) c.tol = 2e-6;
    if (!s.lm) {  // the lm case checks the forward sum; its gradient is the same code
      c.fd_objective = [s](const Inputs& in) {
        Context ref(Backend::CpuReference);
        Tensor l = Tensor::empty({s.n});
        cross_entropy_forward_backward(ref, in[0], in[1], 0.125f, l, nullptr);
        double sum = 0;
        for (int64_t i = 0; i < s.n; ++i) sum += l.f32()[i];
        return 0.125 * sum;
      };
      c.fd_wrt_input = 0;
      c.fd_grad_output = 1;
    }
    r.push_back(c);
  }
}

void register_elementwise_cases(std::vector<Case>& r) {
  const Shape s{37, 51};
  Case a;
  a.op = "axpy";
  a.name = "n37_d51";
  a.make_inputs = [s](Rng& g) { return Inputs{randn(g, s)}; };
  a.make_outputs = [s](const Inputs&, Rng& g) { return std::vector<Output>{accumulate_into(randn(g, s))}; };
  a.run = [](Context& ctx, const Inputs& in, Outputs& out) { axpy(ctx, 0.75f, in[0], out[0]); };
  a.bytes = 12.0 * 37 * 51;
  r.push_back(a);
  Case sc = a;
  sc.op = "scale";
  sc.make_outputs = [s](const Inputs&, Rng&) { return std::vector<Output>{overwrite(s)}; };
  sc.run = [](Context& ctx, const Inputs& in, Outputs& out) { scale(ctx, -1.5f, in[0], out[0]); };
  r.push_back(sc);
  Case ad = sc;
  ad.op = "add";
  ad.make_inputs = [s](Rng& g) { return Inputs{randn(g, s), randn(g, s)}; };
  ad.run = [](Context& ctx, const Inputs& in, Outputs& out) { add(ctx, in[0], in[1], out[0]); };
  r.push_back(ad);
}

}  // namespace spot::parity
