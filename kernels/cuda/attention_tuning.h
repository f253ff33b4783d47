// attention_tuning.h — internal knobs of the CUDA attention kernels, for the kernel lab
// (bench/dev/attention.cu) only: the library picks these itself (kernels/cuda/attention.cu).
#pragma once

#include "kernels/attention.h"

namespace spot::cuda {

struct AttentionTuning {
  int score_rows = 0;          // query rows per block of the score/softmax kernel: 8, 16 or 32 (0 = auto)
  int accum_rows = 0;          // output rows per block of the P·V / dQ / dK / dV kernels: 8, 16 or 32 (0 = auto)
  // Keep a tile's scores in shared memory when they fit (else in `probs`). Off by default: on an H100
  // the lab measured scores-in-`probs` faster on every shape (T5-small encoder B=32 S=356: 1.38 vs
  // 1.54 ms; causal GQA: 0.53 vs 0.57 ms; Tk=2048: 5.1 vs 12.8 ms; bench/results/h100/lab.log).
  bool smem_scores = false;
};

void attention_forward_tuned(Context& ctx, const AttentionConfig& cfg, const Tensor& q, const Tensor& k,
                             const Tensor& v, const Tensor& bias, const Tensor& key_mask, Tensor& out, Tensor& probs,
                             const AttentionTuning& tuning);

}  // namespace spot::cuda
