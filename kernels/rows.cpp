// rows.cpp — checks and dispatch for rows.h.
#include "kernels/rows.h"

#include <vector>

#include "kernels/dispatch.h"

namespace spot {

static void check_index(Context& ctx, const char* op, const Tensor& index, int64_t n, bool distinct) {
  SPOT_CHECK(index.ndim() == 1, op << ": index " << index.str() << " must be [M]");
  index.check_dtype(DType::I32);
  if (ctx.backend() == Backend::Cuda) return;
  std::vector<bool> seen(distinct ? n : 0, false);
  for (int64_t m = 0; m < index.dim(0); ++m) {
    const int32_t i = index.i32()[m];
    SPOT_CHECK(i >= 0 && i < n, op << ": index[" << m << "] = " << i << " outside [0, " << n << ")");
    if (distinct) {
      SPOT_CHECK(!seen[i], op << ": index[" << m << "] = " << i << " repeats an earlier index (indices must be distinct)");
      seen[i] = true;
    }
  }
}

void rows_gather(Context& ctx, const Tensor& x, const Tensor& index, Tensor& out) {
  detail::check_on(ctx, "rows_gather", {&x, &index, &out});
  SPOT_CHECK(x.ndim() == 2, "rows_gather: x " << x.str() << " must be [N, R]");
  x.check_dtype(DType::F32);
  out.check_dtype(DType::F32);
  check_index(ctx, "rows_gather", index, x.dim(0), false);
  check_shape(out, {index.dim(0), x.dim(1)}, "rows_gather out");
  SPOT_DISPATCH(ctx, rows_gather, x, index, out);
}

void rows_scatter(Context& ctx, const Tensor& src, const Tensor& index, Tensor& out) {
  detail::check_on(ctx, "rows_scatter", {&src, &index, &out});
  SPOT_CHECK(out.ndim() == 2, "rows_scatter: out " << out.str() << " must be [N, R]");
  src.check_dtype(DType::F32);
  out.check_dtype(DType::F32);
  check_index(ctx, "rows_scatter", index, out.dim(0), true);
  check_shape(src, {index.dim(0), out.dim(1)}, "rows_scatter src");
  SPOT_DISPATCH(ctx, rows_scatter, src, index, out);
}

void prefix_concat(Context& ctx, const Tensor& prefix, const Tensor& x, Tensor& out) {
  detail::check_on(ctx, "prefix_concat", {&prefix, &x, &out});
  SPOT_CHECK(x.ndim() == 3, "prefix_concat: x " << x.str() << " must be [B, T, R]");
  SPOT_CHECK(prefix.ndim() == 2, "prefix_concat: prefix " << prefix.str() << " must be [L, R]");
  prefix.check_dtype(DType::F32);
  x.check_dtype(DType::F32);
  out.check_dtype(DType::F32);
  check_shape(prefix, {prefix.dim(0), x.dim(2)}, "prefix_concat prefix");
  check_shape(out, {x.dim(0), prefix.dim(0) + x.dim(1), x.dim(2)}, "prefix_concat out");
  SPOT_DISPATCH(ctx, prefix_concat, prefix, x, out);
}

}  // namespace spot
