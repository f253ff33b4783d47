// run_common.cpp — the loss tail shared by the backbones (run_common.h).
#include "model/run_common.h"

#include "kernels/loss.h"

namespace spot::detail {

Tensor loss_tail(Context& ctx, const Tensor& logits, const std::vector<int32_t>& labels,
                 const std::vector<int32_t>& row_example, int64_t batch, bool backward, RunResult& res) {
  const int64_t M = logits.dim(0), V = logits.dim(1);
  SPOT_CHECK(static_cast<int64_t>(labels.size()) == M && static_cast<int64_t>(row_example.size()) == M,
             "loss_tail: " << M << " logit rows, " << labels.size() << " labels, " << row_example.size()
                           << " row examples");
  int64_t count = 0;
  for (int32_t y : labels) count += y != kIgnoreIndex;
  SPOT_CHECK(count > 0, "loss_tail: no target token in the batch");
  Tensor labels_d = Tensor::from_ints(labels, {M}).to(ctx.device());
  Tensor row_loss = ctx.empty({M});
  Tensor dlogits = backward ? ctx.empty({M, V}) : Tensor();
  cross_entropy_forward_backward(ctx, logits, labels_d, 1.0f / static_cast<float>(count), row_loss,
                                 backward ? &dlogits : nullptr);
  const std::vector<float> rl = row_loss.to_floats();
  res.target_tokens = count;
  res.example_logprob.assign(batch, 0.0);
  res.example_tokens.assign(batch, 0);
  double total = 0;
  for (int64_t m = 0; m < M; ++m) {
    if (labels[m] == kIgnoreIndex) continue;
    res.example_logprob[row_example[m]] -= rl[m];
    res.example_tokens[row_example[m]] += 1;
    total += rl[m];
  }
  res.loss = total / static_cast<double>(count);
  return dlogits;
}

}  // namespace spot::detail
