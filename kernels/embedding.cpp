// embedding.cpp — checks and dispatch for embedding.h.
#include "kernels/embedding.h"

#include "kernels/dispatch.h"

namespace spot {

void embed_with_prompt(Context& ctx, const Tensor& ids, const Tensor& table, const Tensor& prompt,
                       const Tensor& positions, Tensor& out) {
  detail::check_on(ctx, "embed_with_prompt", {&ids, &table, &prompt, &positions, &out});
  SPOT_CHECK(ids.ndim() == 2, "embed_with_prompt: ids " << ids.str() << " must be [B, T]");
  ids.check_dtype(DType::I32);
  positions.check_dtype(DType::I32);
  table.check_dtype(DType::F32);
  SPOT_CHECK(table.ndim() == 2, "embed_with_prompt: table " << table.str() << " must be [V, d]");
  const int64_t b = ids.dim(0), t = ids.dim(1), d = table.dim(1);
  const int64_t l = prompt.defined() ? prompt.dim(0) : 0;
  if (prompt.defined()) check_shape(prompt, {l, d}, "embed_with_prompt prompt");
  check_shape(positions, {b}, "embed_with_prompt positions");
  check_shape(out, {b, t + l, d}, "embed_with_prompt out");
  if (ctx.backend() != Backend::Cuda) {
    const int32_t* id = ids.i32();
    const int32_t* pos = positions.i32();
    for (int64_t i = 0; i < b * t; ++i)
      SPOT_CHECK(id[i] >= 0 && id[i] < table.dim(0), "embed_with_prompt: token id " << id[i] << " at [" << i / t
                                                          << ", " << i % t << "] outside vocabulary of "
                                                          << table.dim(0));
    for (int64_t i = 0; i < b; ++i)
      SPOT_CHECK(pos[i] >= 0 && pos[i] <= t, "embed_with_prompt: prompt position " << pos[i] << " of example " << i
                                                  << " outside [0, " << t << "]");
  }
  SPOT_DISPATCH(ctx, embed_with_prompt, ids, table, prompt, positions, out);
}

void prompt_rows_gather(Context& ctx, const Tensor& x, const Tensor& positions, int64_t prompt_len, Tensor& out) {
  detail::check_on(ctx, "prompt_rows_gather", {&x, &positions, &out});
  SPOT_CHECK(x.ndim() == 3, "prompt_rows_gather: x " << x.str() << " must be [B, S, d]");
  check_shape(positions, {x.dim(0)}, "prompt_rows_gather positions");
  check_shape(out, {x.dim(0), prompt_len, x.dim(2)}, "prompt_rows_gather out");
  if (ctx.backend() != Backend::Cuda) {
    const int32_t* pos = positions.i32();
    for (int64_t i = 0; i < x.dim(0); ++i)
      SPOT_CHECK(pos[i] >= 0 && pos[i] + prompt_len <= x.dim(1),
                 "prompt_rows_gather: prompt rows [" << pos[i] << ", " << pos[i] + prompt_len << ") of example " << i
                                                     << " outside a sequence of " << x.dim(1));
  }
  SPOT_DISPATCH(ctx, prompt_rows_gather, x, positions, prompt_len, out);
}

void prompt_grad_reduce(Context& ctx, const Tensor& d_rows, Tensor& d_prompt, bool accumulate) {
  detail::check_on(ctx, "prompt_grad_reduce", {&d_rows, &d_prompt});
  SPOT_CHECK(d_rows.ndim() == 3, "prompt_grad_reduce: d_rows " << d_rows.str() << " must be [B, L, d]");
  check_shape(d_prompt, {d_rows.dim(1), d_rows.dim(2)}, "prompt_grad_reduce d_prompt");
  SPOT_DISPATCH(ctx, prompt_grad_reduce, d_rows, d_prompt, accumulate);
}

}  // namespace spot
