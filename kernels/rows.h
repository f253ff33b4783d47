// rows.h — moving rows for the decoder-only backbone: gathering the rows that feed the LM head and
// scattering their gradient back, and the broadcast-concat that puts a shared prefix (the soft
// prompt's keys/values, computed once per batch) before every example's own rows.
#pragma once

#include "base/context.h"

namespace spot {

// x [N, R], index [M] i32 (each in [0, N)) -> out [M, R], out[m] = x[index[m]].
// Indices are checked on the CPU backends; callers validate them before CUDA.
void rows_gather(Context& ctx, const Tensor& x, const Tensor& index, Tensor& out);

// The backward of rows_gather for distinct indices: src [M, R], index [M] -> out [N, R] with
// out[index[m]] = src[m] and every other row zero. Distinctness (each row written once, no
// reduction order to fix) is checked on the CPU backends.
void rows_scatter(Context& ctx, const Tensor& src, const Tensor& index, Tensor& out);

// prefix [L, R], x [B, T, R] -> out [B, L+T, R]: out[b] = prefix ++ x[b]. L or T may be 0.
// Its backward needs no op of its own: d_x is prompt_rows_gather(d_out, positions = L, T) and
// d_prefix = Σ_b d_out[b, :L] is prompt_rows_gather(d_out, positions = 0, L) + prompt_grad_reduce
// (kernels/embedding.h), summed in example order.
void prefix_concat(Context& ctx, const Tensor& prefix, const Tensor& x, Tensor& out);

}  // namespace spot
