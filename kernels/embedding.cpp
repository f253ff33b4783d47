// embedding.cpp — checks and dispatch for embedding.h.
#include "kernels/embedding.h"

#include <algorithm>

#include "kernels/dispatch.h"

namespace spot {

PromptSlots PromptSlots::same(const Tensor& position, int64_t L) {
  const int64_t b = position.dim(0);
  const Device dev = position.device();
  PromptSlots s;
  s.position = position;
  s.source = Tensor::zeros({b}, DType::I32, dev);
  s.length = Tensor::from_ints(std::vector<int32_t>(b, static_cast<int32_t>(L)), {b}).to(dev);
  s.max_len = L;
  return s;
}

PromptSlots PromptSlots::from_host(const std::vector<int32_t>& position, const std::vector<int32_t>& source,
                                   const std::vector<int32_t>& length, Device device) {
  const int64_t b = static_cast<int64_t>(position.size());
  SPOT_CHECK(static_cast<int64_t>(source.size()) == b && static_cast<int64_t>(length.size()) == b,
             "PromptSlots: " << b << " positions, " << source.size() << " sources, " << length.size() << " lengths");
  PromptSlots s;
  s.position = Tensor::from_ints(position, {b}).to(device);
  s.source = Tensor::from_ints(source, {b}).to(device);
  s.length = Tensor::from_ints(length, {b}).to(device);
  for (int32_t l : length) s.max_len = std::max<int64_t>(s.max_len, l);
  return s;
}

namespace {

// Shapes always; values (on the host backends, where they can be read) against a sequence of
// `seq` rows (the slot must fit: pos + len <= seq) and a table of `rows` prompt rows.
void check_slots(const Context& ctx, const char* op, const PromptSlots& s, int64_t b, int64_t seq, int64_t rows) {
  detail::check_on(ctx, op, {&s.position, &s.source, &s.length});
  SPOT_CHECK(s.position.defined() && s.source.defined() && s.length.defined(),
             op << ": prompt slots without position/source/length tensors");
  for (const Tensor* t : {&s.position, &s.source, &s.length}) {
    t->check_dtype(DType::I32);
    check_shape(*t, {b}, op);
  }
  SPOT_CHECK(s.max_len >= 0, op << ": max_len " << s.max_len);
  if (ctx.backend() == Backend::Cuda) return;
  for (int64_t i = 0; i < b; ++i) {
    const int64_t pos = s.position.i32()[i], src = s.source.i32()[i], len = s.length.i32()[i];
    SPOT_CHECK(len >= 0 && len <= s.max_len,
               op << ": prompt length " << len << " of example " << i << " outside [0, " << s.max_len << "]");
    SPOT_CHECK(pos >= 0 && pos + len <= seq, op << ": prompt rows [" << pos << ", " << pos + len << ") of example "
                                                << i << " outside a sequence of " << seq);
    SPOT_CHECK(len == 0 || (src >= 0 && src + len <= rows),
               op << ": prompt table rows [" << src << ", " << src + len << ") of example " << i
                  << " outside a table of " << rows);
  }
}

}  // namespace

void embed_with_prompt(Context& ctx, const Tensor& ids, const Tensor& table, const Tensor& prompts,
                       const PromptSlots& slots, Tensor& out) {
  detail::check_on(ctx, "embed_with_prompt", {&ids, &table, &prompts, &out});
  SPOT_CHECK(ids.ndim() == 2, "embed_with_prompt: ids " << ids.str() << " must be [B, T]");
  ids.check_dtype(DType::I32);
  table.check_dtype(DType::F32);
  SPOT_CHECK(table.ndim() == 2, "embed_with_prompt: table " << table.str() << " must be [V, d]");
  const int64_t b = ids.dim(0), t = ids.dim(1), d = table.dim(1), l = slots.max_len;
  SPOT_CHECK(prompts.defined() || l == 0, "embed_with_prompt: prompt slots of " << l << " rows but no prompt table");
  const int64_t rows = prompts.defined() ? prompts.dim(0) : 0;
  if (prompts.defined()) check_shape(prompts, {rows, d}, "embed_with_prompt prompts");
  // A slot fits when pos <= T (the tokens after it shift right by len, into the reserved rows).
  check_slots(ctx, "embed_with_prompt", slots, b, t + l, rows);
  check_shape(out, {b, t + l, d}, "embed_with_prompt out");
  if (ctx.backend() != Backend::Cuda) {
    const int32_t* id = ids.i32();
    for (int64_t i = 0; i < b * t; ++i)
      SPOT_CHECK(id[i] >= 0 && id[i] < table.dim(0), "embed_with_prompt: token id " << id[i] << " at [" << i / t
                                                          << ", " << i % t << "] outside vocabulary of "
                                                          << table.dim(0));
    for (int64_t i = 0; i < b; ++i)
      SPOT_CHECK(slots.position.i32()[i] <= t, "embed_with_prompt: prompt position " << slots.position.i32()[i]
                                                   << " of example " << i << " outside [0, " << t << "]");
  }
  SPOT_DISPATCH(ctx, embed_with_prompt, ids, table, prompts, slots, out);
}

void prompt_rows_write(Context& ctx, const Tensor& prompts, const PromptSlots& slots, Tensor& x) {
  detail::check_on(ctx, "prompt_rows_write", {&prompts, &x});
  SPOT_CHECK(x.ndim() == 3, "prompt_rows_write: x " << x.str() << " must be [B, S, d]");
  x.check_dtype(DType::F32);
  const int64_t rows = prompts.defined() ? prompts.dim(0) : 0;
  if (prompts.defined()) check_shape(prompts, {rows, x.dim(2)}, "prompt_rows_write prompts");
  // Zeros (no table) need no source rows: check them against an unbounded table.
  check_slots(ctx, "prompt_rows_write", slots, x.dim(0), x.dim(1), prompts.defined() ? rows : INT64_MAX);
  SPOT_DISPATCH(ctx, prompt_rows_write, prompts, slots, x);
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

void prompt_grad_reduce(Context& ctx, const Tensor& d_rows, const PromptSlots& slots, Tensor& d_prompts,
                        bool accumulate) {
  detail::check_on(ctx, "prompt_grad_reduce", {&d_rows, &d_prompts});
  SPOT_CHECK(d_rows.ndim() == 3, "prompt_grad_reduce: d_rows " << d_rows.str() << " must be [B, L, d]");
  SPOT_CHECK(d_prompts.ndim() == 2 && d_prompts.dim(1) == d_rows.dim(2),
             "prompt_grad_reduce: d_prompts " << d_prompts.str() << " must be [R, " << d_rows.dim(2) << "]");
  SPOT_CHECK(d_rows.dim(1) == slots.max_len,
             "prompt_grad_reduce: d_rows " << d_rows.str() << " for prompt slots of " << slots.max_len << " rows");
  // Positions do not matter here: check the slots against a sequence that fits any.
  check_slots(ctx, "prompt_grad_reduce", slots, d_rows.dim(0), INT64_MAX / 2, d_prompts.dim(0));
  SPOT_DISPATCH(ctx, prompt_grad_reduce, d_rows, slots, d_prompts, accumulate);
}

}  // namespace spot
