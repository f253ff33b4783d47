// embedding.h — token embedding gather with the soft prompt inserted, and the reductions that turn
// input-embedding gradients into the prompt gradient (Lester et al. 2021; SPoT, Vu et al. 2022 §2).
//
// Placement is a parameter of this op, not an assumption spread through the model: example b's
// sequence is  tokens[0:pos_b] ++ prompt[0:L] ++ tokens[pos_b:T]  with pos_b = positions[b].
// positions all 0 is the paper's prefix; pos_b = len_b gives a suffix, a fixed k an infix.
#pragma once

#include "base/context.h"

namespace spot {

// ids [B, T] i32, table [V, d], prompt [L, d] (L may be 0), positions [B] i32 -> out [B, T+L, d].
// Ids must lie in [0, V): checked on the CPU backends; callers validate before CUDA.
void embed_with_prompt(Context& ctx, const Tensor& ids, const Tensor& table, const Tensor& prompt,
                       const Tensor& positions, Tensor& out);

// x [B, S, d] -> out [B, L, d]: the rows holding the prompt in each example.
void prompt_rows_gather(Context& ctx, const Tensor& x, const Tensor& positions, int64_t prompt_len, Tensor& out);

// d_rows [B, L, d] -> d_prompt [L, d] = Σ_b d_rows[b], summed in example order (deterministic).
void prompt_grad_reduce(Context& ctx, const Tensor& d_rows, Tensor& d_prompt, bool accumulate = false);

}  // namespace spot
