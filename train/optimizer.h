// optimizer.h — optimisers for the soft prompt (the only trainable tensor): Adafactor with the
// T5 / prompt-tuning settings (Shazeer & Stern 2018; Lester et al. 2021 §3: lr 0.3, no relative step,
// no parameter scaling, β2 decay −0.8, update clipping 1.0) and Adam. Semantics follow
// transformers.optimization.Adafactor and torch.optim.Adam(W) exactly (golden-tested).
// State is a set of named host tensors so checkpoints can save and restore it bit-exactly.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "base/tensor.h"

namespace spot {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;
  // param -= update(grad) with learning rate lr (the schedule's value for this step).
  virtual void step(Tensor& param, const Tensor& grad, double lr) = 0;
  virtual int64_t steps_taken() const = 0;
  virtual std::map<std::string, Tensor> state() const = 0;
  virtual void load_state(const std::map<std::string, Tensor>& state) = 0;
};

struct AdafactorOptions {
  double eps1 = 1e-30;            // added to grad² (HF eps[0])
  double eps2 = 1e-3;             // floor of the parameter RMS when scale_parameter (HF eps[1])
  double clip_threshold = 1.0;
  double decay_rate = -0.8;       // β2_t = 1 − t^decay_rate
  double beta1 = 0.0;             // 0 = no first moment (the paper's setting)
  double weight_decay = 1e-5;     // Lester et al. 2021 use 1e-5
  bool scale_parameter = false;
};

struct AdamOptions {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0.0;      // decoupled (AdamW) when > 0
};

std::unique_ptr<Optimizer> make_adafactor(const AdafactorOptions& o = {});
std::unique_ptr<Optimizer> make_adam(const AdamOptions& o = {});
std::unique_ptr<Optimizer> make_optimizer(const std::string& name);  // "adafactor" | "adam" (defaults)

// Learning-rate schedules: constant (the paper's), linear warm-up then constant, linear warm-up then
// linear decay to 0, and warm-up then inverse square root (T5 pre-training).
struct Schedule {
  std::string kind = "constant";  // constant | warmup_constant | warmup_linear | warmup_rsqrt
  double lr = 0.3;
  int64_t warmup_steps = 0;
  int64_t total_steps = 0;        // for warmup_linear
  double at(int64_t step) const;  // step counts from 0
};

}  // namespace spot
