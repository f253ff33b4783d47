// run_common.cpp — the loss tail shared by the backbones (run_common.h).
#include "model/run_common.h"

#include "kernels/loss.h"

namespace spot::detail {

Tensor loss_tail(Context& ctx, const Tensor& logits, const std::vector<int32_t>& labels,
                 const std::vector<int32_t>& row_example, int64_t batch, const RunOptions& options, RunResult& res) {
  const bool backward = options.backward;
  const int64_t M = logits.dim(0), V = logits.dim(1);
  SPOT_CHECK(static_cast<int64_t>(labels.size()) == M && static_cast<int64_t>(row_example.size()) == M,
             "loss_tail: " << M << " logit rows, " << labels.size() << " labels, " << row_example.size()
                           << " row examples");
  int64_t count = 0;
  for (int32_t y : labels) count += y != kIgnoreIndex;
  SPOT_CHECK(count > 0, "loss_tail: no target token in the batch");
  SPOT_CHECK(options.loss_tokens == 0 || options.loss_tokens >= count,
             "loss_tail: loss_tokens " << options.loss_tokens << " is fewer than this batch's " << count
                                       << " target tokens (it counts the whole global batch's)");
  // The mean's denominator: this batch's target tokens, or the global batch's when this batch is one
  // rank's shard of it (then the ranks' losses and gradients add up to the global batch's).
  const int64_t denominator = options.loss_tokens > 0 ? options.loss_tokens : count;
  Tensor labels_d = Tensor::from_ints(labels, {M}).to(ctx.device());
  Tensor row_loss = ctx.empty({M});
  Tensor dlogits = backward ? ctx.empty({M, V}) : Tensor();
  cross_entropy_forward_backward(ctx, logits, labels_d, 1.0f / static_cast<float>(denominator), row_loss,
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
  res.loss = total / static_cast<double>(denominator);
  return dlogits;
}

}  // namespace spot::detail
