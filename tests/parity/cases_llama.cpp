// cases_llama.cpp — parity cases for the decoder-only ops: rotary position embeddings (forward and
// input-backward), the LM-head row gather and its scatter backward, and the shared-prefix
// broadcast-concat with the backward recipe documented in rows.h.
#include <algorithm>

#include "kernels/embedding.h"
#include "kernels/rope.h"
#include "kernels/rows.h"
#include "tests/parity/cases.h"

namespace spot::parity {

namespace {

Tensor rope_ref(const Tensor& x, int64_t off, float theta) {
  Context ref(Backend::CpuReference);
  Tensor y = Tensor::empty(x.shape());
  rope_forward(ref, x, off, theta, y);
  return y;
}

// Distinct indices into [0, n), in a scrambled order.
Tensor distinct_index(Rng& g, int64_t m, int64_t n) {
  std::vector<int32_t> all(n);
  for (int64_t i = 0; i < n; ++i) all[i] = static_cast<int32_t>(i);
  std::shuffle(all.begin(), all.end(), g);
  all.resize(m);
  return Tensor::from_ints(all, {m});
}

Tensor concat_ref(const Tensor& prefix, const Tensor& x) {
  Context ref(Backend::CpuReference);
  Tensor out = Tensor::empty({x.dim(0), prefix.dim(0) + x.dim(1), x.dim(2)});
  prefix_concat(ref, prefix, x, out);
  return out;
}

}  // namespace

void register_llama_cases(std::vector<Case>& r) {
  // ---- RoPE: odd head counts, Dh = 10 (the tiny golden model), 64 (SmolLM2), 128 at a large offset.
  struct S { int64_t b, t, h, dh, off; float theta; };
  for (S s : {S{2, 7, 3, 10, 0, 100000.0f}, S{3, 13, 5, 64, 37, 100000.0f}, S{1, 5, 2, 128, 4000, 10000.0f},
              S{8, 63, 9, 64, 20, 100000.0f}}) {
    const std::string nm = dims_name({{"b", s.b}, {"t", s.t}, {"h", s.h}, {"dh", s.dh}, {"off", s.off}});
    const Shape shape{s.b, s.t, s.h, s.dh};
    Case f;
    f.op = "rope_forward";
    f.name = nm;
    f.make_inputs = [shape](Rng& g) { return Inputs{randn(g, shape)}; };
    f.make_outputs = [shape](const Inputs&, Rng&) { return std::vector<Output>{overwrite(shape)}; };
    f.run = [s](Context& ctx, const Inputs& in, Outputs& out) { rope_forward(ctx, in[0], s.off, s.theta, out[0]); };
    f.flops = 3.0 * s.b * s.t * s.h * s.dh;
    f.bytes = 8.0 * s.b * s.t * s.h * s.dh;
    r.push_back(f);
    // inputs: 0 dy, 1 x (x only for the finite-difference objective Σ rope(x) ⊙ dy)
    Case b;
    b.op = "rope_backward_input";
    b.name = nm;
    b.make_inputs = [shape](Rng& g) { return Inputs{randn(g, shape), randn(g, shape)}; };
    b.make_outputs = [shape](const Inputs&, Rng&) { return std::vector<Output>{overwrite(shape)}; };
    b.run = [s](Context& ctx, const Inputs& in, Outputs& out) {
      rope_backward_input(ctx, in[0], s.off, s.theta, out[0]);
    };
    b.flops = f.flops;
    b.bytes = f.bytes;
    b.fd_objective = [s](const Inputs& in) { return sum_product(rope_ref(in[1], s.off, s.theta), in[0]); };
    b.fd_wrt_input = 1;
    b.fd_grad_output = 0;
    r.push_back(b);
  }
  // In place (y aliases x), as the model runs it: the output starts as the input's values.
  {
    const Shape shape{2, 9, 3, 10};
    Case c;
    c.op = "rope_forward";
    c.name = "in_place_b2_t9_h3_dh10_off4";
    c.make_inputs = [shape](Rng& g) { return Inputs{randn(g, shape)}; };
    c.make_outputs = [](const Inputs& in, Rng&) { return std::vector<Output>{accumulate_into(in[0].clone())}; };
    c.run = [](Context& ctx, const Inputs&, Outputs& out) { rope_forward(ctx, out[0], 4, 100000.0f, out[0]); };
    c.bytes = 8.0 * 2 * 9 * 3 * 10;
    r.push_back(c);
  }

  // ---- rows_gather / rows_scatter (the LM-head rows: M of N, distinct, scrambled)
  struct G { int64_t n, m, r; };
  for (G s : {G{53, 17, 60}, G{8 * 63, 8 * 7, 576}, G{5, 5, 3}}) {
    const std::string nm = dims_name({{"n", s.n}, {"m", s.m}, {"r", s.r}});
    Case g;
    g.op = "rows_gather";
    g.name = nm;
    g.make_inputs = [s](Rng& rng) { return Inputs{randn(rng, {s.n, s.r}), distinct_index(rng, s.m, s.n)}; };
    g.make_outputs = [s](const Inputs&, Rng&) { return std::vector<Output>{overwrite({s.m, s.r})}; };
    g.run = [](Context& ctx, const Inputs& in, Outputs& out) { rows_gather(ctx, in[0], in[1], out[0]); };
    g.bytes = 8.0 * s.m * s.r;
    r.push_back(g);
    // inputs: 0 src [m, r], 1 index, 2 x [n, r] (for the objective Σ gather(x) ⊙ src)
    Case sc;
    sc.op = "rows_scatter";
    sc.name = nm;
    sc.make_inputs = [s](Rng& rng) {
      Tensor src = randn(rng, {s.m, s.r});
      Tensor idx = distinct_index(rng, s.m, s.n);
      return Inputs{src, idx, randn(rng, {s.n, s.r})};
    };
    sc.make_outputs = [s](const Inputs&, Rng&) { return std::vector<Output>{overwrite({s.n, s.r})}; };
    sc.run = [](Context& ctx, const Inputs& in, Outputs& out) { rows_scatter(ctx, in[0], in[1], out[0]); };
    sc.bytes = 4.0 * (2 * s.m * s.r + s.n * s.r);
    sc.fd_objective = [s](const Inputs& in) {
      Context ref(Backend::CpuReference);
      Tensor y = Tensor::empty({s.m, s.r});
      rows_gather(ref, in[2], in[1], y);
      return sum_product(y, in[0]);
    };
    sc.fd_wrt_input = 2;
    sc.fd_grad_output = 0;
    r.push_back(sc);
  }
  // A gather may repeat rows (only the scatter needs distinct indices).
  {
    Case g;
    g.op = "rows_gather";
    g.name = "repeated_n7_m12_r9";
    g.make_inputs = [](Rng& rng) { return Inputs{randn(rng, {7, 9}), randint(rng, {12}, 0, 7)}; };
    g.make_outputs = [](const Inputs&, Rng&) { return std::vector<Output>{overwrite({12, 9})}; };
    g.run = [](Context& ctx, const Inputs& in, Outputs& out) { rows_gather(ctx, in[0], in[1], out[0]); };
    g.bytes = 8.0 * 12 * 9;
    r.push_back(g);
  }

  // ---- prefix_concat and its backward recipe (rows.h): d_prefix = Σ_b d_out[b, :L], d_x = d_out[:, L:].
  struct P { int64_t b, l, t, r; };
  for (P s : {P{3, 5, 11, 20}, P{8, 20, 63, 192}, P{2, 0, 6, 7}, P{4, 3, 0, 5}}) {
    const std::string nm = dims_name({{"b", s.b}, {"l", s.l}, {"t", s.t}, {"r", s.r}});
    Case c;
    c.op = "prefix_concat";
    c.name = nm;
    c.make_inputs = [s](Rng& g) { return Inputs{randn(g, {s.l, s.r}), randn(g, {s.b, s.t, s.r})}; };
    c.make_outputs = [s](const Inputs&, Rng&) { return std::vector<Output>{overwrite({s.b, s.l + s.t, s.r})}; };
    c.run = [](Context& ctx, const Inputs& in, Outputs& out) { prefix_concat(ctx, in[0], in[1], out[0]); };
    c.bytes = 8.0 * s.b * (s.l + s.t) * s.r;
    r.push_back(c);
    if (s.l == 0 || s.t == 0) continue;
    // inputs: 0 d_out [b, l+t, r], 1 prefix, 2 x; outputs: 0 d_prefix [l, r], 1 d_x [b, t, r]
    for (int wrt : {1, 2}) {
      Case bw;
      bw.op = "prefix_concat";
      bw.name = nm + (wrt == 1 ? "_backward_fd_prefix" : "_backward_fd_x");
      bw.make_inputs = [s](Rng& g) {
        return Inputs{randn(g, {s.b, s.l + s.t, s.r}), randn(g, {s.l, s.r}), randn(g, {s.b, s.t, s.r})};
      };
      bw.make_outputs = [s](const Inputs&, Rng&) {
        return std::vector<Output>{overwrite({s.l, s.r}), overwrite({s.b, s.t, s.r})};
      };
      bw.run = [s](Context& ctx, const Inputs& in, Outputs& out) {
        Tensor zero = Tensor::zeros({s.b}, DType::I32).to(ctx.device());
        Tensor at_l = Tensor::from_ints(std::vector<int32_t>(s.b, static_cast<int32_t>(s.l)), {s.b}).to(ctx.device());
        Tensor rows = ctx.empty({s.b, s.l, s.r});
        prompt_rows_gather(ctx, in[0], zero, s.l, rows);
        prompt_grad_reduce(ctx, rows, PromptSlots::same(zero, s.l), out[0]);
        prompt_rows_gather(ctx, in[0], at_l, s.t, out[1]);
      };
      bw.bytes = 4.0 * (2 * s.b * (s.l + s.t) * s.r);
      bw.fd_objective = [](const Inputs& in) { return sum_product(concat_ref(in[1], in[2]), in[0]); };
      bw.fd_wrt_input = wrt;
      bw.fd_grad_output = wrt - 1;
      r.push_back(bw);
    }
  }
}

}  // namespace spot::parity
