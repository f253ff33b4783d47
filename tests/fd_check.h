// fd_check.h — the finite-difference check of dLoss/dPrompt that the backbone tests share: central
// differences of a backbone's loss with respect to sampled elements of every prompt of a prompt set,
// against the gradient the backward returned.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "model/backbone.h"

namespace spot::test {

struct FdReport {
  double worst = 0;  // max |analytic − fd| / max |grad| over the sampled elements
  double gmax = 0;   // max |grad| over the set
  int checked = 0;
};

// Runs the backward once, then perturbs `samples` elements of each prompt with rows by ±h (on a
// copy of the set) and compares. tol: allowed |analytic − fd| as a fraction of max|grad| (plus the
// same fraction of |fd|). A prompt no example uses must get an exactly zero gradient.
inline FdReport check_prompt_set_fd(FrozenBackbone& model, const PromptBatch& batch, PromptSet set, int samples,
                                    float h = 2e-3f, double tol = 2e-2, uint64_t seed = 3) {
  FdReport rep;
  const RunResult r = model.run(batch, set, RunOptions{});
  EXPECT_TRUE(std::isfinite(r.loss));
  EXPECT_EQ(r.prompt_grads.size(), set.prompts.size());
  if (r.prompt_grads.size() != set.prompts.size()) return rep;
  for (size_t k = 0; k < set.prompts.size(); ++k) {
    EXPECT_EQ(r.prompt_grads[k].shape(), set.prompts[k].shape()) << "prompt " << k;
    const Tensor& g = r.prompt_grads[k];
    for (int64_t i = 0; i < g.numel(); ++i) rep.gmax = std::max(rep.gmax, std::fabs(double(g.f32()[i])));
  }
  EXPECT_GT(rep.gmax, 1e-4) << "prompt gradient is (nearly) zero: the check would test nothing";
  RunOptions fwd;
  fwd.backward = false;
  std::mt19937_64 rng(seed);
  for (size_t k = 0; k < set.prompts.size(); ++k) {
    bool used = false;
    for (size_t b = 0; b < batch.size(); ++b) used |= set.prompt_of(b) == static_cast<int32_t>(k);
    Tensor& p = set.prompts[k];
    p = p.clone();  // the caller's tensors stay as they were
    if (!used) {
      for (int64_t i = 0; i < r.prompt_grads[k].numel(); ++i)
        EXPECT_EQ(r.prompt_grads[k].f32()[i], 0.0f) << "unused prompt " << k << " element " << i;
      continue;
    }
    if (p.numel() == 0) continue;
    std::uniform_int_distribution<int64_t> pick(0, p.numel() - 1);
    for (int s = 0; s < samples; ++s) {
      const int64_t i = pick(rng);
      const float x0 = p.f32()[i];
      p.f32()[i] = x0 + h;
      const double lp = model.run(batch, set, fwd).loss;
      p.f32()[i] = x0 - h;
      const double lm = model.run(batch, set, fwd).loss;
      p.f32()[i] = x0;
      const double fd = (lp - lm) / (2.0 * static_cast<double>(h));
      const double an = r.prompt_grads[k].f32()[i];
      rep.worst = std::max(rep.worst, std::fabs(an - fd) / rep.gmax);
      ++rep.checked;
      EXPECT_NEAR(an, fd, tol * rep.gmax + tol * std::fabs(fd)) << "prompt " << k << " element " << i;
    }
  }
  return rep;
}

}  // namespace spot::test
