// test_t5_golden.cpp — the frozen T5 against HF transformers (tests/golden/t5, written by
// tests/golden/gen_t5_goldens.py): v1.0 (ReLU, tied, single file) and v1.1 (gated-GELU, untied,
// sharded), prompt inserted as a prefix and as an infix, a mixed-task batch (three prompts of lengths
// 5, 2, 7 over five examples) and a deep prompt (a block per encoder layer), on every backend (CUDA
// skips loudly without a device). Tolerances (issue #2): encoder output and logits max-abs ≤ 1e-4, prompt-gradient
// relative error ≤ 1e-3; HF's own f32-vs-f64 floor is ~2e-6 (tests/golden/README.md).
// --precision bf16 (CPU backends) against the same fp32 goldens, under the bf16 rows of the tolerance
// policy (tests/golden/README.md): relative L2 of the encoder output and the logits ≤ 2e-2, of the
// prompt gradient ≤ 1e-1 (measured 1.2e-2 to 6.7e-2: the tiny random v1.0 checkpoints are the worst;
// ref and cpu agree to 1e-3 of that, so it is the rounding of the weights, not a kernel), loss within
// 1e-2 relative; and above the fp32 floor (1e-4 relative L2 of
// the logits), which shows that the bf16 weights were used.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "io/cache.h"
#include "io/safetensors.h"
#include "model/t5/t5_model.h"

namespace spot {
namespace {

struct GoldenParam {
  const char* variant;
  const char* placement;
  Backend backend;
  Precision precision = Precision::Fp32;
};

// What ctest's listing shows for a case (else gtest prints the struct's bytes, pointers included).
void PrintTo(const GoldenParam& p, std::ostream* os) {
  *os << p.variant << "/" << p.placement << "/" << backend_name(p.backend) << "/" << precision_name(p.precision);
}

std::string golden_dir(const char* variant) { return std::string(SPOT_SOURCE_DIR) + "/tests/golden/t5/" + variant; }

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::fabs(double(a.f32()[i]) - b.f32()[i]));
  return m;
}

double rel_l2(const Tensor& got, const Tensor& want) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double d = double(got.f32()[i]) - want.f32()[i];
    num += d * d;
    den += double(want.f32()[i]) * want.f32()[i];
  }
  EXPECT_GT(den, 0) << "golden prompt gradient is zero";
  return std::sqrt(num / den);
}

class T5Golden : public testing::TestWithParam<GoldenParam> {};

TEST_P(T5Golden, MatchesTransformers) {
  const GoldenParam p = GetParam();
  if (p.backend == Backend::Cuda && !cuda_available())
    GTEST_SKIP() << "SKIPPED (not verified): T5 golden on cuda: "
                 << (SPOT_WITH_CUDA ? "no CUDA device present" : "built without CUDA");
  Context ctx(p.backend);
  auto model = T5Model::from_pretrained(ctx, golden_dir(p.variant), p.precision);
  ASSERT_EQ(model->precision(), p.precision);
  const io::SafetensorsFile g =
      io::SafetensorsFile::open(golden_dir(p.variant) + "/golden_" + std::string(p.placement) + ".safetensors");
  const Tensor ids = g.load_i32("input_ids"), mask = g.load_i32("attention_mask"), labels = g.load_i32("labels"),
               positions = g.load_i32("positions");
  const int64_t B = ids.dim(0), T = ids.dim(1), Tt = labels.dim(1);
  PromptBatch batch;
  batch.pad_inputs_to = T;
  batch.pad_targets_to = Tt;
  RunOptions opt;
  opt.keep_logits = opt.keep_encoder_output = true;
  PromptSet set;
  set.placement.kind = PromptPlacement::Kind::Explicit;
  for (int64_t b = 0; b < B; ++b) {
    std::vector<int32_t> in, tg;
    for (int64_t t = 0; t < T; ++t)
      if (mask.i32()[b * T + t]) in.push_back(ids.i32()[b * T + t]);
    for (int64_t t = 0; t < Tt; ++t)
      if (labels.i32()[b * Tt + t] != -100) tg.push_back(labels.i32()[b * Tt + t]);
    batch.inputs.push_back(in);
    batch.targets.push_back(tg);
    set.placement.per_example.push_back(positions.i32()[b]);
  }
  // prefix/infix: one prompt [L, d]; deep: one prompt [layers, L, d]; mixed: prompt_k with a
  // per-example index.
  std::vector<std::string> grad_names;
  if (g.contains("example_prompt")) {
    const Tensor idx = g.load_i32("example_prompt");
    for (int64_t b = 0; b < B; ++b) set.example_prompt.push_back(idx.i32()[b]);
    for (int k = 0; g.contains("prompt_" + std::to_string(k)); ++k) {
      set.prompts.push_back(g.load_f32("prompt_" + std::to_string(k)));
      grad_names.push_back("prompt_grad_" + std::to_string(k));
    }
    ASSERT_EQ(set.prompts.size(), 3u);
  } else {
    set.prompts.push_back(g.load_f32("prompt"));
    grad_names.push_back("prompt_grad");
    if (set.prompts[0].ndim() == 3) set.placement.depth = PromptDepth::Deep;
  }
  const RunResult r = model->run(batch, set, opt);
  const double enc_err = max_abs_diff(r.encoder_output, g.load_f32("encoder_output"));
  const double logit_err = max_abs_diff(r.logits, g.load_f32("logits"));
  const double loss_want = g.load_f32("loss").f32()[0];
  ASSERT_EQ(r.prompt_grads.size(), grad_names.size());
  double grad_err = 0;
  for (size_t k = 0; k < grad_names.size(); ++k) {
    const Tensor want = g.load_f32(grad_names[k]);
    ASSERT_EQ(r.prompt_grads[k].shape(), want.shape()) << grad_names[k];
    grad_err = std::max(grad_err, rel_l2(r.prompt_grads[k], want));
  }
  if (p.precision == Precision::Bf16) {
    const double enc_rel = rel_l2(r.encoder_output, g.load_f32("encoder_output"));
    const double logit_rel = rel_l2(r.logits, g.load_f32("logits"));
    EXPECT_LE(enc_rel, 2e-2) << "bf16: encoder output relative L2";
    EXPECT_LE(logit_rel, 2e-2) << "bf16: logits relative L2";
    EXPECT_GT(logit_rel, 1e-4) << "bf16: the logits are at the fp32 floor, so the bf16 weights were not used";
    EXPECT_NEAR(r.loss, loss_want, 1e-2 * std::max(1.0, std::fabs(loss_want)));
    EXPECT_LE(grad_err, 1e-1) << "bf16: prompt gradient relative L2";
    std::printf("[golden] %s %s %s bf16: encoder %.2e logits %.2e (rel L2) loss %.2e grad(rel) %.2e\n", p.variant,
                p.placement, backend_name(p.backend), enc_rel, logit_rel, std::fabs(r.loss - loss_want), grad_err);
    return;
  }
  EXPECT_LE(enc_err, 1e-4) << "encoder output max-abs error";
  EXPECT_LE(logit_err, 1e-4) << "logits max-abs error";
  EXPECT_NEAR(r.loss, loss_want, 1e-5 * std::max(1.0, std::fabs(loss_want)));
  EXPECT_LE(grad_err, 1e-3) << "prompt gradient relative error";
  RecordProperty("encoder_max_abs", std::to_string(enc_err));
  RecordProperty("logits_max_abs", std::to_string(logit_err));
  RecordProperty("grad_rel_l2", std::to_string(grad_err));
  std::printf("[golden] %s %s %s: encoder %.2e logits %.2e loss %.2e grad(rel) %.2e\n", p.variant, p.placement,
              backend_name(p.backend), enc_err, logit_err, std::fabs(r.loss - loss_want), grad_err);
}

std::vector<GoldenParam> golden_params() {
  std::vector<GoldenParam> v;
  for (const char* var : {"v1_0", "v1_1"})
    for (const char* pl : {"prefix", "infix", "mixed", "deep"})
      for (Backend b : {Backend::CpuReference, Backend::CpuFast, Backend::Cuda}) {
        v.push_back({var, pl, b});
        // bf16 on the CPU backends (the CUDA bf16 path is not built yet: its constructor refuses it).
        if (b != Backend::Cuda) v.push_back({var, pl, b, Precision::Bf16});
      }
  return v;
}

INSTANTIATE_TEST_SUITE_P(All, T5Golden, testing::ValuesIn(golden_params()),
                         [](const testing::TestParamInfo<GoldenParam>& i) {
                           return std::string(i.param.variant) + "_" + i.param.placement + "_" +
                                  backend_name(i.param.backend) +
                                  (i.param.precision == Precision::Bf16 ? "_bf16" : "");
                         });

// Bad checkpoints: each error names the file and the tensor or key, and nothing crashes.
TEST(T5Load, MissingDirectoryAndConfigErrors) {
  Context ctx(Backend::CpuFast);
  try {
    T5Model::from_pretrained(ctx, "/nonexistent/ckpt");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/ckpt"), std::string::npos) << e.what();
  }
  EXPECT_THROW(t5_config_from_json_text("{\"d_model\": \"big\"}", "cfg.json"), Error);
  try {
    t5_config_from_json_text(R"({"vocab_size": 10, "d_model": 8, "d_kv": 2, "d_ff": 4, "num_layers": 1,
                                 "num_heads": 4, "feed_forward_proj": "gelu"})", "cfg.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("feed_forward_proj"), std::string::npos) << e.what();
  }
  try {
    t5_config_from_json_text(R"({"vocab_size": 10, "d_model": 8, "d_kv": 2, "d_ff": 4, "num_heads": 4})", "cfg.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("num_layers"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace spot

namespace spot {
namespace {

// A copy of the v1_0 golden checkpoint with one thing broken.
std::string broken_copy(const std::string& name, const std::string& config_from, const std::string& config_to,
                        const std::string& drop_tensor, const std::string& reshape_tensor) {
  namespace fs = std::filesystem;
  const fs::path src = golden_dir("v1_0");
  const fs::path dir = fs::temp_directory_path() / ("spot_t5_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string cfg = io::read_file((src / "config.json").string());
  if (!config_from.empty()) {
    const size_t at = cfg.find(config_from);
    EXPECT_NE(at, std::string::npos) << config_from;
    cfg.replace(at, config_from.size(), config_to);
  }
  io::write_file_atomic((dir / "config.json").string(), cfg);
  const io::SafetensorsFile f = io::SafetensorsFile::open((src / "model.safetensors").string());
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const std::string& n : f.names()) {
    if (n == drop_tensor) continue;
    Tensor t = f.load(n);
    if (n == reshape_tensor) t = t.reshape({-1});
    tensors.push_back({n, t});
  }
  io::save_safetensors((dir / "model.safetensors").string(), tensors, f.metadata());
  return dir.string();
}

std::string load_error(const std::string& dir) {
  Context ctx(Backend::CpuFast);
  try {
    T5Model::from_pretrained(ctx, dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(T5Load, ConfigWeightsMismatchNamesTensor) {
  const std::string e = load_error(broken_copy("dff", "\"d_ff\": 72", "\"d_ff\": 80", "", ""));
  EXPECT_NE(e.find("DenseReluDense.wi.weight"), std::string::npos) << e;
  EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;
}

TEST(T5Load, MissingTensorNamesTensor) {
  const std::string e =
      load_error(broken_copy("missing", "", "", "decoder.block.2.layer.1.EncDecAttention.k.weight", ""));
  EXPECT_NE(e.find("decoder.block.2.layer.1.EncDecAttention.k.weight"), std::string::npos) << e;
}

TEST(T5Load, MisshapedTensorNamesTensor) {
  const std::string e2 = load_error(broken_copy("shape2", "", "", "", "encoder.block.0.layer.0.SelfAttention.q.weight"));
  EXPECT_NE(e2.find("encoder.block.0.layer.0.SelfAttention.q.weight"), std::string::npos) << e2;
}

TEST(T5Load, UntiedConfigWithoutHeadIsAnError) {
  const std::string e = load_error(broken_copy("untied", "\"tie_word_embeddings\": true", "\"tie_word_embeddings\": false", "", ""));
  EXPECT_NE(e.find("lm_head.weight"), std::string::npos) << e;
}

}  // namespace
}  // namespace spot
