// topk.cpp — checks and dispatch for topk.h.
#include "kernels/topk.h"

#include "kernels/dispatch.h"

namespace spot {

void topk_rows(Context& ctx, const Tensor& scores, int64_t k, Tensor& values, Tensor& index) {
  detail::check_on(ctx, "topk_rows", {&scores, &values, &index});
  SPOT_CHECK(scores.ndim() == 2, "topk_rows: scores " << scores.str() << " must be [Q, N]");
  scores.check_dtype(DType::F32);
  values.check_dtype(DType::F32);
  index.check_dtype(DType::I32);
  const int64_t q = scores.dim(0), n = scores.dim(1);
  SPOT_CHECK(k >= 1 && k <= n && k <= kTopkMax,
             "topk_rows: k = " << k << " must be in [1, min(N = " << n << ", " << kTopkMax << ")]");
  SPOT_CHECK(n <= INT32_MAX, "topk_rows: N = " << n << " columns do not fit an i32 index");
  check_shape(values, {q, k}, "topk_rows values");
  check_shape(index, {q, k}, "topk_rows index");
  if (q == 0) return;
  SPOT_DISPATCH(ctx, topk_rows, scores, k, values, index);
}

}  // namespace spot
