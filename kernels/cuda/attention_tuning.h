// attention_tuning.h — internal knobs of the CUDA attention kernels, for the kernel lab
// (bench/dev/attention.cu) only: the library picks these itself (kernels/cuda/attention.cu).
#pragma once

#include "kernels/attention.h"

namespace spot::cuda {

struct AttentionTuning {
  int score_rows = 0;          // query rows per block of the score/softmax kernel: 8, 16 or 32 (0 = auto)
  int accum_rows = 0;          // output rows per block of the P·V / dQ / dK / dV kernels: 8, 16 or 32 (0 = auto)
  bool smem_scores = true;     // keep a tile's scores in shared memory when they fit (else in `probs`)
};

void attention_forward_tuned(Context& ctx, const AttentionConfig& cfg, const Tensor& q, const Tensor& k,
                             const Tensor& v, const Tensor& bias, const Tensor& key_mask, Tensor& out, Tensor& probs,
                             const AttentionTuning& tuning);

}  // namespace spot::cuda
