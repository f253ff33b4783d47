// optimizer.cpp — Adafactor and Adam on host f32 tensors (the prompt is small: [L, d_model]).
// Arithmetic in fp32 in the same order as the PyTorch implementations so goldens match to ~1e-7.
#include "train/optimizer.h"

#include <cmath>
#include <vector>

namespace spot {

namespace {

float rms(const float* x, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * x[i];
  return static_cast<float>(std::sqrt(s / static_cast<double>(n)));
}

class Adafactor final : public Optimizer {
 public:
  explicit Adafactor(const AdafactorOptions& o) : o_(o) {}
  std::string name() const override { return "adafactor"; }
  int64_t steps_taken() const override { return step_; }

  void step(Tensor& p, const Tensor& g, double lr_in) override {
    SPOT_CHECK(p.is_cpu() && g.is_cpu() && p.shape() == g.shape(), "adafactor: param " << p.str() << " vs grad " << g.str());
    const bool factored = p.ndim() >= 2;
    const int64_t n = p.numel();
    const int64_t cols = p.dim(-1), rows = n / cols;
    if (!row_.defined()) {
      if (factored) {
        row_ = Tensor::zeros({rows});
        col_ = Tensor::zeros({cols});
      } else {
        sq_ = Tensor::zeros(p.shape());
      }
      if (o_.beta1 > 0) m_ = Tensor::zeros(p.shape());
      if (!factored) row_ = Tensor::zeros({1});  // marks the state as initialised
    }
    ++step_;
    float lr = static_cast<float>(lr_in);
    if (o_.scale_parameter) lr *= std::max(static_cast<float>(o_.eps2), rms(p.f32(), n));
    const float beta2t = static_cast<float>(1.0 - std::pow(static_cast<double>(step_), o_.decay_rate));
    const float* G = g.f32();
    std::vector<float> upd(n);
    for (int64_t i = 0; i < n; ++i) upd[i] = G[i] * G[i] + static_cast<float>(o_.eps1);
    if (factored) {
      float* R = row_.f32();
      float* C = col_.f32();
      for (int64_t r = 0; r < rows; ++r) {  // mean over the last dim
        double s = 0;
        for (int64_t c = 0; c < cols; ++c) s += upd[r * cols + c];
        R[r] = R[r] * beta2t + static_cast<float>(s / cols) * (1 - beta2t);
      }
      for (int64_t c = 0; c < cols; ++c) {  // mean over the second-to-last dim
        double s = 0;
        for (int64_t r = 0; r < rows; ++r) s += upd[r * cols + c];
        C[c] = C[c] * beta2t + static_cast<float>(s / rows) * (1 - beta2t);
      }
      double rmean = 0;
      for (int64_t r = 0; r < rows; ++r) rmean += R[r];
      const float row_mean = static_cast<float>(rmean / rows);
      for (int64_t r = 0; r < rows; ++r) {
        const float rf = 1.0f / std::sqrt(R[r] / row_mean);
        for (int64_t c = 0; c < cols; ++c) upd[r * cols + c] = rf * (1.0f / std::sqrt(C[c])) * G[r * cols + c];
      }
    } else {
      float* V = sq_.f32();
      for (int64_t i = 0; i < n; ++i) {
        V[i] = V[i] * beta2t + upd[i] * (1 - beta2t);
        upd[i] = (1.0f / std::sqrt(V[i])) * G[i];
      }
    }
    const float denom = std::max(1.0f, rms(upd.data(), n) / static_cast<float>(o_.clip_threshold));
    for (int64_t i = 0; i < n; ++i) upd[i] = upd[i] / denom * lr;
    if (o_.beta1 > 0) {
      float* M = m_.f32();
      const float b1 = static_cast<float>(o_.beta1);
      for (int64_t i = 0; i < n; ++i) upd[i] = M[i] = M[i] * b1 + upd[i] * (1 - b1);
    }
    float* P = p.f32();
    if (o_.weight_decay != 0) {
      const float wd = static_cast<float>(-o_.weight_decay) * lr;
      for (int64_t i = 0; i < n; ++i) P[i] += P[i] * wd;
    }
    for (int64_t i = 0; i < n; ++i) P[i] -= upd[i];
  }

  std::map<std::string, Tensor> state() const override {
    std::map<std::string, Tensor> s;
    s["step"] = Tensor::from_ints({static_cast<int32_t>(step_)}, {1});
    if (col_.defined()) {
      s["exp_avg_sq_row"] = row_.clone();
      s["exp_avg_sq_col"] = col_.clone();
    }
    if (sq_.defined()) s["exp_avg_sq"] = sq_.clone();
    if (m_.defined()) s["exp_avg"] = m_.clone();
    return s;
  }

  void load_state(const std::map<std::string, Tensor>& s) override {
    auto get = [&](const char* k) -> Tensor {
      auto it = s.find(k);
      return it == s.end() ? Tensor() : it->second.clone();
    };
    Tensor st = get("step");
    SPOT_CHECK(st.defined() && st.numel() == 1, "adafactor state: missing 'step'");
    step_ = st.to_dtype(DType::I32).i32()[0];
    row_ = get("exp_avg_sq_row");
    col_ = get("exp_avg_sq_col");
    sq_ = get("exp_avg_sq");
    m_ = get("exp_avg");
    if (sq_.defined()) row_ = Tensor::zeros({1});
    SPOT_CHECK(step_ == 0 || row_.defined(), "adafactor state: step " << step_ << " but no second-moment statistics");
  }

 private:
  AdafactorOptions o_;
  int64_t step_ = 0;
  Tensor row_, col_, sq_, m_;
};

class Adam final : public Optimizer {
 public:
  explicit Adam(const AdamOptions& o) : o_(o) {}
  std::string name() const override { return o_.weight_decay > 0 ? "adamw" : "adam"; }
  int64_t steps_taken() const override { return step_; }

  void step(Tensor& p, const Tensor& g, double lr_in) override {
    SPOT_CHECK(p.is_cpu() && g.is_cpu() && p.shape() == g.shape(), "adam: param " << p.str() << " vs grad " << g.str());
    if (!m_.defined()) {
      m_ = Tensor::zeros(p.shape());
      v_ = Tensor::zeros(p.shape());
    }
    ++step_;
    const float lr = static_cast<float>(lr_in), b1 = static_cast<float>(o_.beta1), b2 = static_cast<float>(o_.beta2);
    // torch.optim.Adam (single-tensor path): bias corrections in float64 then the update in f32.
    const double bc1 = 1.0 - std::pow(o_.beta1, static_cast<double>(step_));
    const double bc2 = 1.0 - std::pow(o_.beta2, static_cast<double>(step_));
    const float step_size = static_cast<float>(lr / bc1);
    const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
    float* P = p.f32();
    const float* G = g.f32();
    float* M = m_.f32();
    float* V = v_.f32();
    if (o_.weight_decay > 0) {
      const float f = 1.0f - lr * static_cast<float>(o_.weight_decay);
      for (int64_t i = 0; i < p.numel(); ++i) P[i] *= f;
    }
    for (int64_t i = 0; i < p.numel(); ++i) {
      M[i] += (G[i] - M[i]) * (1 - b1);  // torch lerp_
      V[i] = V[i] * b2 + G[i] * G[i] * (1 - b2);
      const float denom = std::sqrt(V[i]) / bc2_sqrt + static_cast<float>(o_.eps);
      P[i] -= step_size * (M[i] / denom);
    }
  }

  std::map<std::string, Tensor> state() const override {
    std::map<std::string, Tensor> s;
    s["step"] = Tensor::from_ints({static_cast<int32_t>(step_)}, {1});
    if (m_.defined()) {
      s["exp_avg"] = m_.clone();
      s["exp_avg_sq"] = v_.clone();
    }
    return s;
  }

  void load_state(const std::map<std::string, Tensor>& s) override {
    auto it = s.find("step");
    SPOT_CHECK(it != s.end(), "adam state: missing 'step'");
    step_ = it->second.i32()[0];
    auto m = s.find("exp_avg"), v = s.find("exp_avg_sq");
    if (m != s.end() && v != s.end()) {
      m_ = m->second.clone();
      v_ = v->second.clone();
    }
    SPOT_CHECK(step_ == 0 || m_.defined(), "adam state: step " << step_ << " but no moments");
  }

 private:
  AdamOptions o_;
  int64_t step_ = 0;
  Tensor m_, v_;
};

}  // namespace

std::unique_ptr<Optimizer> make_adafactor(const AdafactorOptions& o) { return std::make_unique<Adafactor>(o); }
std::unique_ptr<Optimizer> make_adam(const AdamOptions& o) { return std::make_unique<Adam>(o); }

std::unique_ptr<Optimizer> make_optimizer(const std::string& name) {
  if (name == "adafactor") return make_adafactor();
  if (name == "adam") return make_adam();
  if (name == "adamw") return make_adam(AdamOptions{0.9, 0.999, 1e-8, 0.01});
  SPOT_FAIL("unknown optimizer '" << name << "' (expected adafactor, adam or adamw)");
}

double Schedule::at(int64_t step) const {
  const double s = static_cast<double>(step);
  if (kind == "constant") return lr;
  const double w = static_cast<double>(warmup_steps);
  if (kind == "warmup_constant") return warmup_steps > 0 && s < w ? lr * (s + 1) / w : lr;
  if (kind == "warmup_linear") {
    if (warmup_steps > 0 && s < w) return lr * (s + 1) / w;
    SPOT_CHECK(total_steps > warmup_steps, "schedule warmup_linear needs total_steps > warmup_steps");
    return lr * std::max(0.0, (static_cast<double>(total_steps) - s) / (static_cast<double>(total_steps) - w));
  }
  if (kind == "warmup_rsqrt") return lr / std::sqrt(std::max(s + 1, std::max(w, 1.0)));
  SPOT_FAIL("unknown schedule '" << kind << "' (expected constant, warmup_constant, warmup_linear, warmup_rsqrt)");
}

}  // namespace spot
