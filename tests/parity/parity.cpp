// parity.cpp — the parity harness: run a case on a backend, compare with the CPU reference.
#include "tests/parity/parity.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/parity/cases.h"

namespace spot::parity {

Tensor randn(Rng& rng, const Shape& shape, float stddev, float mean) {
  Tensor t = Tensor::empty(shape, DType::F32);
  std::normal_distribution<float> dist(mean, stddev);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = dist(rng);
  return t;
}

Tensor randu(Rng& rng, const Shape& shape, float lo, float hi) {
  Tensor t = Tensor::empty(shape, DType::F32);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = dist(rng);
  return t;
}

Tensor randint(Rng& rng, const Shape& shape, int32_t lo, int32_t hi) {
  Tensor t = Tensor::empty(shape, DType::I32);
  std::uniform_int_distribution<int32_t> dist(lo, hi - 1);
  for (int64_t i = 0; i < t.numel(); ++i) t.i32()[i] = dist(rng);
  return t;
}

double tolerance_for(DType t) {
  switch (t) {
    case DType::F32: return 1e-5;
    case DType::F16: return 2e-3;
    case DType::BF16: return 1.5e-2;
    default: return 0;  // integer outputs must match exactly
  }
}

std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}

const std::vector<Case>& all_cases() {
  static bool done = false;
  if (!done) {
    done = true;
    register_all_cases(registry());
  }
  return registry();
}

namespace {

constexpr int64_t kGuard = 17;        // guard elements after every output
constexpr float kSentinel = -7.25e7f;  // an f32 no op writes by accident
constexpr int32_t kSentinelI = 0x5eed5eed;

void fill_guard(Tensor& full) {
  // `full` views the whole storage including the guard.
  if (full.dtype() == DType::F32) {
    for (int64_t i = full.numel() - kGuard; i < full.numel(); ++i) full.f32()[i] = kSentinel;
  } else if (full.dtype() == DType::BF16 || full.dtype() == DType::F16) {
    for (int64_t i = full.numel() - kGuard; i < full.numel(); ++i) full.data<uint16_t>()[i] = 0x7bad;
  } else {
    for (int64_t i = full.numel() - kGuard; i < full.numel(); ++i) full.data<int32_t>()[i] = kSentinelI;
  }
}

bool guard_intact(const Tensor& full) {
  for (int64_t i = full.numel() - kGuard; i < full.numel(); ++i) {
    if (full.dtype() == DType::F32 && full.f32()[i] != kSentinel) return false;
    if ((full.dtype() == DType::BF16 || full.dtype() == DType::F16) && full.data<uint16_t>()[i] != 0x7bad) return false;
    if (full.dtype() == DType::I32 && full.data<int32_t>()[i] != kSentinelI) return false;
  }
  return true;
}

// A host tensor (shape + guard) with poison or initial values, then copied to `device`.
struct GuardedOutput {
  Tensor host_full;  // host, numel + kGuard elements
  Tensor dev_full;   // on the backend's device
  Tensor view;       // the output proper, on the device
};

GuardedOutput make_guarded(const Output& o, Device device) {
  const Tensor& init = o.init;
  const int64_t n = init.numel();
  GuardedOutput g;
  g.host_full = Tensor::empty({n + kGuard}, init.dtype());
  if (o.overwrite) {
    if (init.dtype() == DType::F32)
      for (int64_t i = 0; i < n; ++i) g.host_full.f32()[i] = std::nanf("");
    else if (init.dtype() == DType::BF16 || init.dtype() == DType::F16)
      for (int64_t i = 0; i < n; ++i) g.host_full.data<uint16_t>()[i] = 0x7fc1;  // NaN in both
    else
      for (int64_t i = 0; i < n; ++i) g.host_full.data<int32_t>()[i] = kSentinelI;
  } else {
    std::memcpy(g.host_full.raw(), init.raw(), init.nbytes());
  }
  fill_guard(g.host_full);
  g.dev_full = device == Device::CPU ? g.host_full.clone() : g.host_full.to(device);
  g.view = g.dev_full.rows(0, n).reshape(init.shape());
  return g;
}

std::vector<double> as_doubles(const Tensor& t) {
  std::vector<double> out(t.numel());
  if (t.dtype() == DType::I32) {
    for (int64_t i = 0; i < t.numel(); ++i) out[i] = t.i32()[i];
    return out;
  }
  const std::vector<float> f = t.to_floats();
  for (size_t i = 0; i < f.size(); ++i) out[i] = f[i];
  return out;
}

void dump(const std::string& dir, const Case& c, Backend backend, const std::vector<Tensor>& ref,
          const std::vector<Tensor>& got) {
  std::filesystem::create_directories(dir);
  std::string fname = c.op + "_" + c.name + "_" + backend_name(backend) + ".txt";
  std::ofstream f(std::filesystem::path(dir) / fname);
  for (size_t k = 0; k < ref.size(); ++k) {
    f << "# output " << k << " ref " << ref[k].str() << "\n";
    const auto r = as_doubles(ref[k]);
    const auto g = as_doubles(got[k]);
    for (size_t i = 0; i < r.size(); ++i) f << i << " " << r[i] << " " << g[i] << "\n";
  }
}

// Runs the case on a fresh context of `backend`; returns the outputs (host copies).
struct RunOut {
  std::vector<Tensor> outputs;
  std::string guard_error;
};

RunOut run_on(const Case& c, Backend backend, const Inputs& host_in, const std::vector<Output>& outs) {
  Context ctx(backend);
  const Device dev = ctx.device();
  Inputs in;
  for (const Tensor& t : host_in) in.push_back(t.defined() ? t.to(dev) : Tensor());
  std::vector<GuardedOutput> g;
  Outputs views;
  for (const Output& o : outs) {
    g.push_back(make_guarded(o, dev));
    views.push_back(g.back().view);
  }
  c.run(ctx, in, views);
  ctx.synchronize();
  RunOut r;
  for (size_t k = 0; k < g.size(); ++k) {
    Tensor full = g[k].dev_full.to(Device::CPU);
    if (!guard_intact(full) && r.guard_error.empty())
      r.guard_error = "output " + std::to_string(k) + ": write past the end (guard sentinel overwritten)";
    r.outputs.push_back(full.rows(0, outs[k].init.numel()).reshape(outs[k].init.shape()));
  }
  return r;
}

}  // namespace

Result check_case(const Case& c, Backend backend, uint64_t seed, const std::string& dump_dir) {
  Result res;
  if (backend == Backend::Cuda && !cuda_available()) {
    res.skipped = true;
    res.message = SPOT_WITH_CUDA ? "no CUDA device present" : "built without CUDA";
    return res;
  }
  Rng rng(seed);
  const Inputs in = c.make_inputs(rng);
  const std::vector<Output> outs = c.make_outputs(in, rng);
  RunOut ref, got;
  try {
    ref = run_on(c, Backend::CpuReference, in, outs);
    got = run_on(c, backend, in, outs);
  } catch (const std::exception& e) {
    res.ok = false;
    res.message = std::string("threw: ") + e.what();
    return res;
  }
  std::ostringstream msg;
  if (!ref.guard_error.empty()) msg << "reference " << ref.guard_error << "; ";
  if (!got.guard_error.empty()) msg << backend_name(backend) << " " << got.guard_error << "; ";
  for (size_t k = 0; k < outs.size(); ++k) {
    const auto r = as_doubles(ref.outputs[k]);
    const auto g = as_doubles(got.outputs[k]);
    // Reference rounded to the output dtype before comparing.
    std::vector<double> rr = r;
    if (outs[k].init.dtype() == DType::BF16)
      for (double& x : rr) x = bf16_to_f32(f32_to_bf16(static_cast<float>(x)));
    if (outs[k].init.dtype() == DType::F16)
      for (double& x : rr) x = f16_to_f32(f32_to_f16(static_cast<float>(x)));
    double num = 0, den = 0;
    int64_t unwritten = 0;
    for (size_t i = 0; i < rr.size(); ++i) {
      if (std::isnan(g[i])) ++unwritten;
      if (std::isnan(rr[i])) {
        msg << "output " << k << ": reference has NaN at " << i << "; ";
        break;
      }
      num += (g[i] - rr[i]) * (g[i] - rr[i]);
      den += rr[i] * rr[i];
    }
    if (unwritten) msg << "output " << k << ": " << unwritten << " elements NaN or never written; ";
    if (den == 0 && !rr.empty()) msg << "output " << k << ": reference norm is zero (the case tests nothing); ";
    const double err = den > 0 ? std::sqrt(num / den) : (num > 0 ? INFINITY : 0);
    const double tol = c.tol > 0 ? c.tol : tolerance_for(outs[k].init.dtype());
    res.rel_err = std::max(res.rel_err, err);
    if (!(err <= tol)) msg << "output " << k << ": relative error " << err << " > tolerance " << tol << "; ";
  }
  res.message = msg.str();
  res.ok = res.message.empty();
  if (!res.ok) dump(dump_dir, c, backend, ref.outputs, got.outputs);
  return res;
}

Result check_case_fd(const Case& c, uint64_t seed, int samples) {
  Result res;
  if (!c.fd_objective) {
    res.skipped = true;
    res.message = "case declares no finite-difference objective";
    return res;
  }
  Rng rng(seed);
  Inputs in = c.make_inputs(rng);
  const std::vector<Output> outs = c.make_outputs(in, rng);
  RunOut ref = run_on(c, Backend::CpuReference, in, outs);
  const Tensor& grad = ref.outputs.at(c.fd_grad_output);
  Tensor& x = in.at(c.fd_wrt_input);
  std::uniform_int_distribution<int64_t> pick(0, x.numel() - 1);
  std::ostringstream msg;
  double gnorm = 0;
  for (int64_t i = 0; i < grad.numel(); ++i) gnorm = std::max(gnorm, std::fabs(static_cast<double>(grad.f32()[i])));
  if (gnorm == 0) msg << "analytic gradient is identically zero; ";
  for (int s = 0; s < samples; ++s) {
    const int64_t i = pick(rng);
    const float x0 = x.f32()[i];
    const float h = 1e-2f * std::max(1.0f, std::fabs(x0));
    x.f32()[i] = x0 + h;
    const double fp = c.fd_objective(in);
    x.f32()[i] = x0 - h;
    const double fm = c.fd_objective(in);
    x.f32()[i] = x0;
    const double fd = (fp - fm) / (2.0 * h);
    const double an = grad.f32()[i];
    const double err = std::fabs(fd - an) / std::max(1e-2 * gnorm, std::fabs(an) + 1e-6);
    res.rel_err = std::max(res.rel_err, err);
    if (err > 2e-2) msg << "element " << i << ": analytic " << an << " vs finite difference " << fd << "; ";
  }
  res.message = msg.str();
  res.ok = res.message.empty();
  return res;
}

}  // namespace spot::parity
