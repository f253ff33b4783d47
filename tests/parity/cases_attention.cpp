// cases_attention.cpp — parity cases for attention forward/backward (T5 encoder with bias and
// padding mask, causal decoder, cross-attention, GQA), the prompt-rows backward, and T5's
// relative-position bias gather.
#include <cmath>

#include "kernels/attention.h"
#include "tests/parity/cases.h"

namespace spot::parity {

namespace {

struct A {
  const char* kind;
  int64_t b, tq, tk, h, hkv, dh;
  bool bias, mask, causal;
  float scale;
  bool empty_example;  // example 1 has every key masked: its probabilities, outputs and gradients are 0
};

// Inputs: 0 q, 1 k, 2 v, 3 bias (or undefined), 4 key mask (or undefined)
Inputs attention_inputs(const A& a, Rng& g) {
  Tensor mask;
  if (a.mask) {
    mask = Tensor::empty({a.b, a.tk}, DType::I32);
    for (int64_t i = 0; i < a.b; ++i) {
      const int64_t valid = a.tk - (5 * i) % std::max<int64_t>(a.tk - 1, 1);  // ragged lengths, never empty
      for (int64_t j = 0; j < a.tk; ++j) mask.i32()[i * a.tk + j] = j < valid && !(a.empty_example && i == 1) ? 1 : 0;
    }
  }
  return Inputs{randn(g, {a.b, a.tq, a.h, a.dh}, 0.6f), randn(g, {a.b, a.tk, a.hkv, a.dh}, 0.6f),
                randn(g, {a.b, a.tk, a.hkv, a.dh}), a.bias ? randn(g, {a.h, a.tq, a.tk}) : Tensor(), mask};
}

AttentionConfig config_of(const A& a) { return {a.h, a.hkv, a.dh, a.scale, a.causal}; }

std::string name_of(const A& a) {
  return std::string(a.kind) + "_" +
         dims_name({{"b", a.b}, {"tq", a.tq}, {"tk", a.tk}, {"h", a.h}, {"hkv", a.hkv}, {"dh", a.dh}});
}

Tensor forward_ref(const A& a, const Inputs& in, Tensor* probs_out = nullptr) {
  Context ref(Backend::CpuReference);
  Tensor out = Tensor::empty({a.b, a.tq, a.h, a.dh}), probs = Tensor::empty({a.b, a.h, a.tq, a.tk});
  attention_forward(ref, config_of(a), in[0], in[1], in[2], in[3], in[4], out, probs);
  if (probs_out) *probs_out = probs;
  return out;
}

}  // namespace

void register_attention_cases(std::vector<Case>& r) {
  const std::vector<A> shapes = {
      {"t5enc", 3, 19, 19, 4, 4, 12, true, true, false, 1.0f, false},
      {"t5dec", 3, 11, 11, 4, 4, 12, true, false, true, 1.0f, false},
      {"cross", 3, 7, 19, 4, 4, 12, false, true, false, 1.0f, false},
      {"gqa", 2, 13, 13, 6, 2, 10, false, true, true, 1.0f / std::sqrt(10.0f), false},
      {"t5small", 8, 228, 228, 8, 8, 64, true, true, false, 1.0f, false},
      // Several row tiles and key chunks under the causal mask, with GQA, bias and padding.
      {"causal_long", 2, 75, 75, 4, 2, 24, true, true, true, 0.2f, false},
      // Incremental decoding: a few queries against a longer cache (causal offset Tk - Tq), MQA.
      {"decode", 2, 5, 40, 4, 1, 16, false, true, true, 0.25f, false},
      // The widest head the CUDA kernels take (16 rows per block, 16 outputs per thread).
      {"wide_head", 1, 37, 37, 2, 2, 256, true, true, false, 0.0625f, false},
      // Keys too many for a tile of scores in shared memory: the CUDA kernel keeps them in probs.
      {"long_keys", 1, 3, 7400, 2, 1, 8, false, true, false, 0.35f, false},
      // An example whose every key is masked (e.g. an empty sequence in the batch).
      {"empty_example", 3, 9, 9, 2, 2, 12, true, true, false, 1.0f, true},
  };
  for (const A& a : shapes) {
    const double attn_flops = 4.0 * a.b * a.h * a.tq * a.tk * a.dh;
    Case f;
    f.op = "attention_forward";
    f.name = name_of(a);
    f.make_inputs = [a](Rng& g) { return attention_inputs(a, g); };
    f.make_outputs = [a](const Inputs&, Rng&) {
      return std::vector<Output>{overwrite({a.b, a.tq, a.h, a.dh}), overwrite({a.b, a.h, a.tq, a.tk})};
    };
    f.run = [a](Context& ctx, const Inputs& in, Outputs& out) {
      attention_forward(ctx, config_of(a), in[0], in[1], in[2], in[3], in[4], out[0], out[1]);
    };
    f.flops = attn_flops;
    f.bytes = 4.0 * (2 * a.b * a.tq * a.h * a.dh + 2 * a.b * a.tk * a.hkv * a.dh + a.b * a.h * a.tq * a.tk);
    r.push_back(f);

    // Backward inputs: 0 q, 1 k, 2 v, 3 bias, 4 mask, 5 d_out, 6 probs (consistent with q, k, v).
    auto bwd_inputs = [a](Rng& g) {
      Inputs in = attention_inputs(a, g);
      Tensor probs;
      forward_ref(a, in, &probs);
      in.push_back(randn(g, {a.b, a.tq, a.h, a.dh}));
      in.push_back(probs);
      return in;
    };
    for (int wrt = 0; wrt < 3; ++wrt) {
      Case b;
      b.op = "attention_backward";
      b.name = name_of(a) + (wrt == 0 ? "_fd_q" : wrt == 1 ? "_fd_k" : "_fd_v");
      b.make_inputs = bwd_inputs;
      b.make_outputs = [a](const Inputs&, Rng&) {
        return std::vector<Output>{overwrite({a.b, a.tq, a.h, a.dh}), overwrite({a.b, a.tk, a.hkv, a.dh}),
                                   overwrite({a.b, a.tk, a.hkv, a.dh})};
      };
      b.run = [a](Context& ctx, const Inputs& in, Outputs& out) {
        attention_backward(ctx, config_of(a), in[5], in[0], in[1], in[2], in[6], &out[0], &out[1], &out[2]);
      };
      b.flops = 2.0 * attn_flops;
      b.bytes = 4.0 * (3 * a.b * a.tq * a.h * a.dh + 4 * a.b * a.tk * a.hkv * a.dh + a.b * a.h * a.tq * a.tk);
      if (a.b * a.tq * a.tk < 20000) {
        b.fd_objective = [a](const Inputs& in) { return sum_product(forward_ref(a, in), in[5]); };
        b.fd_wrt_input = wrt;
        b.fd_grad_output = wrt;
      } else if (wrt > 0) {
        continue;  // one parity case is enough for the large shape
      }
      r.push_back(b);
    }
    // The first encoder layer's restricted backward: only each example's prompt rows of dq, dk, dv.
    if (a.tq == a.tk && a.tq >= 9) {
      const int64_t L = std::min<int64_t>(5, a.tq - 4);
      Case p;
      p.op = "attention_backward";
      p.name = name_of(a) + "_prompt_rows_l" + std::to_string(L);
      p.make_inputs = [a, bwd_inputs, L](Rng& g) {
        Inputs in = bwd_inputs(g);
        Tensor pos = Tensor::empty({a.b}, DType::I32);
        for (int64_t i = 0; i < a.b; ++i) pos.i32()[i] = static_cast<int32_t>((i * 3) % (a.tq - L + 1));
        in.push_back(pos);
        return in;
      };
      p.make_outputs = [a, L](const Inputs&, Rng&) {
        return std::vector<Output>{overwrite({a.b, L, a.h, a.dh}), overwrite({a.b, L, a.hkv, a.dh}),
                                   overwrite({a.b, L, a.hkv, a.dh})};
      };
      p.run = [a, L](Context& ctx, const Inputs& in, Outputs& out) {
        PromptRows rows{in[7], L};
        attention_backward(ctx, config_of(a), in[5], in[0], in[1], in[2], in[6], &out[0], &out[1], &out[2], &rows);
      };
      p.flops = attn_flops;
      p.bytes = 4.0 * (2 * a.b * a.tq * a.h * a.dh + a.b * a.h * a.tq * a.tk);
      r.push_back(p);
      // dQ alone (the CUDA path then computes dS for the prompt rows only), and dK/dV without dQ.
      Case pq = p;
      pq.name = name_of(a) + "_prompt_rows_dq_only_l" + std::to_string(L);
      pq.make_outputs = [a, L](const Inputs&, Rng&) { return std::vector<Output>{overwrite({a.b, L, a.h, a.dh})}; };
      pq.run = [a, L](Context& ctx, const Inputs& in, Outputs& out) {
        PromptRows rows{in[7], L};
        attention_backward(ctx, config_of(a), in[5], in[0], in[1], in[2], in[6], &out[0], nullptr, nullptr, &rows);
      };
      r.push_back(pq);
      Case pkv = p;
      pkv.name = name_of(a) + "_prompt_rows_dkdv_only_l" + std::to_string(L);
      pkv.make_outputs = [a, L](const Inputs&, Rng&) {
        return std::vector<Output>{overwrite({a.b, L, a.hkv, a.dh}), overwrite({a.b, L, a.hkv, a.dh})};
      };
      pkv.run = [a, L](Context& ctx, const Inputs& in, Outputs& out) {
        PromptRows rows{in[7], L};
        attention_backward(ctx, config_of(a), in[5], in[0], in[1], in[2], in[6], nullptr, &out[0], &out[1], &rows);
      };
      r.push_back(pkv);
    }
  }

  // T5 relative position bias gather.
  for (bool bidir : {true, false}) {
    Case c;
    c.op = "relative_position_bias";
    c.name = bidir ? "bidirectional_s23" : "causal_s23";
    c.make_inputs = [bidir](Rng& g) {
      return Inputs{randn(g, {8, 5}), t5_relative_position_buckets(23, 23, bidir, 8, 20)};
    };
    c.make_outputs = [](const Inputs&, Rng&) { return std::vector<Output>{overwrite({5, 23, 23})}; };
    c.run = [](Context& ctx, const Inputs& in, Outputs& out) { relative_position_bias(ctx, in[0], in[1], out[0]); };
    c.bytes = 8.0 * 5 * 23 * 23;
    r.push_back(c);
  }
}

}  // namespace spot::parity
