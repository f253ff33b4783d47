// embedding.h — token embedding gather with soft prompts inserted, prompt rows overwritten inside a
// sequence (deep prompts), and the reductions that turn the gradient at the prompt rows into one
// gradient per prompt (Lester et al. 2021; SPoT, Vu et al. 2022 §2; VPT-deep, Jia et al. 2022).
//
// Placement and the choice of prompt are parameters of these ops, not assumptions spread through the
// models. The prompts of a batch live in one packed table [R, d] (prompt p is rows
// offset_p .. offset_p + L_p); PromptSlots says, per example, which rows fill its prompt slot and
// where that slot sits in its sequence:
//
//   example b:  tokens[0:pos_b] ++ table[src_b : src_b + len_b] ++ tokens[pos_b:T] ++ zero rows
//
// padded with zero rows to T + max_len. pos_b = 0 is the paper's prefix, pos_b = len(tokens) a
// suffix, a fixed k an infix; len_b differs between examples in a mixed-task batch (the patent's
// ¶224/¶228: one batch, several tasks' prompts). The real rows of every example are contiguous from
// row 0, so relative position biases and RoPE positions are those of the unpadded sequence.
#pragma once

#include <vector>

#include "base/context.h"

namespace spot {

struct PromptSlots {
  Tensor position;      // [B] i32, in [0, T]: first row of the slot in the sequence
  Tensor source;        // [B] i32: first row of the example's prompt in the packed table
  Tensor length;        // [B] i32, in [0, max_len]: rows of the example's prompt
  int64_t max_len = 0;  // rows every sequence reserves for its prompt

  int64_t batch() const { return position.defined() ? position.dim(0) : 0; }
  // Every example reads table rows 0..L-1, at `position` (its device is the slots' device).
  static PromptSlots same(const Tensor& position, int64_t L);
  // From host vectors (one entry per example), on `device`; max_len = max(length).
  static PromptSlots from_host(const std::vector<int32_t>& position, const std::vector<int32_t>& source,
                               const std::vector<int32_t>& length, Device device);
};

// ids [B, T] i32, table [V, d], prompts [R, d] (undefined when max_len is 0) -> out [B, T+max_len, d]
// laid out as above. Ids and slots are checked on the CPU backends; callers validate before CUDA.
void embed_with_prompt(Context& ctx, const Tensor& ids, const Tensor& table, const Tensor& prompts,
                       const PromptSlots& slots, Tensor& out);

// x [B, S, d]: rows pos_b .. pos_b + len_b − 1 of example b are overwritten with prompts[src_b ..]
// (zeros when prompts is undefined). The deep placement: a prompt block replacing the prompt rows
// at the input of a layer; with zeros, the backward of that replacement (no gradient flows past it).
void prompt_rows_write(Context& ctx, const Tensor& prompts, const PromptSlots& slots, Tensor& x);

// x [B, S, d] -> out [B, L, d]: rows positions[b] .. positions[b] + L − 1 of each example.
void prompt_rows_gather(Context& ctx, const Tensor& x, const Tensor& positions, int64_t prompt_len, Tensor& out);

// d_rows [B, max_len, d] (row r of example b: the gradient at its prompt row r) -> d_prompts [R, d]:
// d_prompts[o] (+)= Σ_b d_rows[b, o − src_b] over the examples with src_b <= o < src_b + len_b,
// summed in example order for every element (deterministic). Rows no example reads are zero (or
// left as they are when accumulating).
void prompt_grad_reduce(Context& ctx, const Tensor& d_rows, const PromptSlots& slots, Tensor& d_prompts,
                        bool accumulate = false);

}  // namespace spot
