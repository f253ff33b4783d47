// cases_topk.cpp — parity cases for topk_rows (kernels/topk.h): the ranking step of retrieval.
// Every backend must return the same columns in the same order (the order of topk.h is total), so
// the tolerance is exactness; the tie cases draw scores from a handful of values.
#include "kernels/topk.h"
#include "tests/parity/cases.h"

namespace spot::parity {

void register_topk_cases(std::vector<Case>& r) {
  struct S { int64_t q, n, k; bool ties; };
  for (S s : {S{2, 5, 5, false}, S{3, 50, 7, false}, S{1, 100000, 10, false}, S{64, 3000, 10, false},
              S{5, 777, 128, false}, S{4, 1000, 33, true}, S{2, 64, 64, true}, S{300, 40, 5, true}}) {
    Case c;
    c.op = "topk_rows";
    c.name = dims_name({{"q", s.q}, {"n", s.n}, {"k", s.k}}) + (s.ties ? "_ties" : "");
    c.make_inputs = [s](Rng& rng) {
      if (!s.ties) return Inputs{randn(rng, {s.q, s.n})};
      Tensor t = randint(rng, {s.q, s.n}, -3, 4);
      Tensor f = Tensor::empty({s.q, s.n});
      for (int64_t i = 0; i < t.numel(); ++i) f.f32()[i] = static_cast<float>(t.i32()[i]) * 0.5f;
      return Inputs{f};
    };
    c.make_outputs = [s](const Inputs&, Rng&) {
      return std::vector<Output>{overwrite({s.q, s.k}), overwrite({s.q, s.k}, DType::I32)};
    };
    c.run = [s](Context& ctx, const Inputs& in, Outputs& out) { topk_rows(ctx, in[0], s.k, out[0], out[1]); };
    c.bytes = 4.0 * s.q * s.n + 8.0 * s.q * s.k;
    c.tol = 1e-30;  // exact
    r.push_back(c);
  }
}

}  // namespace spot::parity
