// test_peft.cpp — PEFT prompt-tuning interop (prompt/soft_prompt.h: import_peft, export_peft) against
// adapters written by real PEFT (tests/golden/peft, tests/golden/gen_peft_goldens.py): the imported prompt
// equals torch's float32 bits exactly (F32, BF16 and F16 files), spot's T5 and Llama with it give PEFT's
// logits (the golden tolerance of test_t5_golden / test_llama: 1e-4 max abs), export -> import is the
// identity, the committed spot_export/ (which the generator loads into PEFT) is what spot writes today, and
// every bad adapter gets one error naming the file and the field. Truncated files throw, never crash.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/cache.h"
#include "io/safetensors.h"
#include "model/llama/llama_model.h"
#include "model/safetensors_source.h"
#include "model/t5/t5_model.h"
#include "prompt/soft_prompt.h"
#include "tests/expect_error.h"

namespace spot {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using test::expect_error;

const std::string kGolden = std::string(SPOT_SOURCE_DIR) + "/tests/golden";
const std::string kPeft = kGolden + "/peft";

std::string slurp(const std::string& path) { return io::read_file(path); }

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good()) << path;
}

// A fresh directory under the test temp dir, removed by the destructor.
struct TempDir {
  std::string path;
  explicit TempDir(const std::string& name) {
    path = (fs::temp_directory_path() / ("spot_test_peft_" + name + "_" + std::to_string(::getpid()))).string();
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& f) const { return path + "/" + f; }
};

// A copy of a golden adapter whose config text is passed through `edit` (a find/replace).
void copy_adapter(const std::string& from, const TempDir& to) {
  for (const char* f : {"adapter_config.json", "adapter_model.safetensors"}) spit(to / f, slurp(from + "/" + f));
}

void replace_in(const std::string& path, const std::string& find, const std::string& repl) {
  std::string s = slurp(path);
  const size_t at = s.find(find);
  ASSERT_NE(at, std::string::npos) << "'" << find << "' not in " << path;
  s.replace(at, find.size(), repl);
  spit(path, s);
}

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

struct Expected {
  std::vector<int64_t> shape;
  std::vector<uint32_t> bits;
  json::object config;
  std::string file_dtype;
};

Expected read_expected(const std::string& dir) {
  const json::value v = json::parse(slurp(dir + "/expected.json"));
  Expected e;
  for (const auto& d : v.at("shape").as_array()) e.shape.push_back(d.as_int64());
  for (const auto& row : v.at("prompt_f32_bits").as_array()) {
    std::istringstream in(std::string(row.as_string()));
    std::string hex;
    while (in >> hex) e.bits.push_back(static_cast<uint32_t>(std::stoul(hex, nullptr, 16)));
  }
  e.config = v.at("config").as_object();
  e.file_dtype = std::string(v.at("file_dtype").as_string());
  return e;
}

void expect_bits(const SoftPrompt& p, const Expected& e, const std::string& what) {
  ASSERT_EQ(p.values.shape(), Shape(e.shape.begin(), e.shape.end())) << what;
  ASSERT_EQ(static_cast<size_t>(p.values.numel()), e.bits.size()) << what;
  int64_t differ = 0;
  for (int64_t i = 0; i < p.values.numel(); ++i) differ += bits_of(p.values.f32()[i]) != e.bits[i];
  EXPECT_EQ(differ, 0) << what << ": values whose float32 bits differ from torch's";
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double m = 0;
  for (int64_t i = 0; i < std::min(a.numel(), b.numel()); ++i)
    m = std::max(m, std::fabs(static_cast<double>(a.f32()[i]) - b.f32()[i]));
  return m;
}

double max_abs(const Tensor& a) {
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::fabs(static_cast<double>(a.f32()[i])));
  return m;
}

// ---- import: bit for bit -------------------------------------------------------------------------------

class PeftImport : public testing::TestWithParam<const char*> {};

TEST_P(PeftImport, BitForBitWithTorch) {
  const std::string dir = kPeft + "/" + GetParam();
  const Expected e = read_expected(dir);
  const SoftPrompt p = SoftPrompt::import_peft(dir);
  expect_bits(p, e, "import_peft(dir)");
  EXPECT_EQ(io::SafetensorsFile::open(dir + "/adapter_model.safetensors").entry("prompt_embeddings").file_dtype,
            e.file_dtype);
  // The same through the tensor file, and through load() (which sees the config beside it).
  expect_bits(SoftPrompt::import_peft(dir + "/adapter_model.safetensors", e.shape[1]), e, "import_peft(file)");
  expect_bits(SoftPrompt::load(dir + "/adapter_model.safetensors", e.shape[1], e.shape[0], 0), e, "load(file)");
  expect_bits(SoftPrompt::load(dir, e.shape[1]), e, "load(dir)");
  // Every config field that is not null is in the metadata.
  for (const auto& kv : e.config) {
    const std::string key = "peft." + std::string(kv.key());
    ASSERT_TRUE(p.metadata.count(key)) << key;
    EXPECT_EQ(p.metadata.at(key), kv.value().is_string() ? std::string(kv.value().as_string()) : json::serialize(kv.value()))
        << key;
  }
  EXPECT_EQ(p.metadata.at("imported_from"), dir);
  EXPECT_EQ(p.metadata.count("peft.prompt_tuning_init_text"), 0u) << "null fields are left out";
}

INSTANTIATE_TEST_SUITE_P(Goldens, PeftImport, testing::Values("t5_v1_0_f32", "t5_v1_1_bf16", "llama_f16"));

// ---- import: spot's backbones with the imported prompt give PEFT's logits --------------------------------

struct LogitsParam {
  const char* adapter;
  Backend backend;
};

void PrintTo(const LogitsParam& p, std::ostream* os) { *os << p.adapter << "/" << backend_name(p.backend); }

class PeftLogits : public testing::TestWithParam<LogitsParam> {};

TEST_P(PeftLogits, MatchPeftModel) {
  const LogitsParam lp = GetParam();
  const std::string dir = kPeft + "/" + lp.adapter;
  const io::SafetensorsFile g = io::SafetensorsFile::open(dir + "/logits.safetensors");
  const Tensor want = g.load_f32("logits");
  const double want_loss = g.load_f32("loss").f32()[0];
  ASSERT_GT(max_abs(want), 1.0);
  Context ctx(lp.backend);
  PromptBatch batch;
  RunResult r;
  RunOptions opt;
  opt.keep_logits = true;
  opt.backward = false;
  const bool t5 = std::string(lp.adapter).rfind("t5_", 0) == 0;
  if (t5) {
    const std::string variant = std::string(lp.adapter).substr(3, 4);  // v1_0 / v1_1
    auto model = T5Model::from_pretrained(ctx, kGolden + "/t5/" + variant);
    const SoftPrompt p = SoftPrompt::import_peft(dir, model->config().d_model);
    const Tensor ids = g.load_i32("input_ids"), mask = g.load_i32("attention_mask"), labels = g.load_i32("labels");
    const int64_t B = ids.dim(0), T = ids.dim(1), Tt = labels.dim(1);
    batch.pad_inputs_to = T;
    batch.pad_targets_to = Tt;
    for (int64_t b = 0; b < B; ++b) {
      std::vector<int32_t> in, tg;
      for (int64_t t = 0; t < T; ++t)
        if (mask.i32()[b * T + t]) in.push_back(ids.i32()[b * T + t]);
      for (int64_t t = 0; t < Tt; ++t)
        if (labels.i32()[b * Tt + t] != -100) tg.push_back(labels.i32()[b * Tt + t]);
      batch.inputs.push_back(in);
      batch.targets.push_back(tg);
    }
    r = model->run(batch, PromptSet::single(p.values), opt);  // prefix: PEFT prepends the prompt
  } else {
    const std::string tiny = kGolden + "/llama/tiny";
    const LlamaConfig c = llama_config_from_json(tiny + "/config.json");
    LlamaModel model(ctx, LlamaWeights::load(c, io::SafetensorsSource(tiny + "/model.safetensors"), ctx.device()));
    const SoftPrompt p = SoftPrompt::import_peft(dir, c.hidden_size);
    const Tensor in = g.load_i32("input_ids"), tg = g.load_i32("target_ids");
    for (int64_t b = 0; b < in.dim(0); ++b) {
      batch.inputs.emplace_back(in.i32() + b * in.dim(1), in.i32() + (b + 1) * in.dim(1));
      batch.targets.emplace_back(tg.i32() + b * tg.dim(1), tg.i32() + (b + 1) * tg.dim(1));
    }
    r = model.run(batch, PromptSet::single(p.values), opt);
  }
  ASSERT_TRUE(r.logits.defined());
  const double dl = max_abs_diff(r.logits, want);
  EXPECT_LE(dl, 1e-4) << "logits max-abs difference from PeftModel";
  EXPECT_NEAR(r.loss, want_loss, 1e-5 * std::max(1.0, std::fabs(want_loss))) << "loss";
  std::printf("  [peft %s %s] logits max-abs %.3g, loss |diff| %.3g\n", lp.adapter, backend_name(lp.backend), dl,
              std::fabs(r.loss - want_loss));
}

INSTANTIATE_TEST_SUITE_P(Goldens, PeftLogits,
                         testing::Values(LogitsParam{"t5_v1_0_f32", Backend::CpuReference},
                                         LogitsParam{"t5_v1_0_f32", Backend::CpuFast},
                                         LogitsParam{"t5_v1_1_bf16", Backend::CpuFast},
                                         LogitsParam{"llama_f16", Backend::CpuReference},
                                         LogitsParam{"llama_f16", Backend::CpuFast}),
                         [](const testing::TestParamInfo<LogitsParam>& i) {
                           return std::string(i.param.adapter) + "_" + backend_name(i.param.backend);
                         });

// ---- export ---------------------------------------------------------------------------------------------

// A known prompt [6, 48] whose values are exact in float32: (k mod 2001 − 1000) / 1024 for a hash k.
SoftPrompt known_prompt() {
  SoftPrompt p;
  p.values = Tensor::empty({6, 48});
  uint64_t h = 88172645463325252ull;
  for (int64_t i = 0; i < p.values.numel(); ++i) {
    h ^= h << 13, h ^= h >> 7, h ^= h << 17;  // xorshift64
    p.values.f32()[i] = static_cast<float>(static_cast<int64_t>(h % 2001) - 1000) / 1024.0f;
  }
  return p;
}

void export_known(const std::string& dir) {
  known_prompt().export_peft(dir, "tests/golden/t5/v1_0", "SEQ_2_SEQ_LM", /*num_layers=*/2, /*num_heads=*/4);
}

TEST(PeftExport, RoundTripBitForBit) {
  TempDir d("roundtrip");
  const SoftPrompt p = known_prompt();
  p.export_peft(d.path, "some/base", "CAUSAL_LM", 3, 6);
  const SoftPrompt back = SoftPrompt::import_peft(d.path, 48);
  ASSERT_EQ(back.values.shape(), p.values.shape());
  EXPECT_EQ(std::memcmp(back.values.f32(), p.values.f32(), p.values.nbytes()), 0);
  EXPECT_EQ(back.metadata.at("peft.base_model_name_or_path"), "some/base");
  EXPECT_EQ(back.metadata.at("peft.task_type"), "CAUSAL_LM");
  EXPECT_EQ(back.metadata.at("peft.num_layers"), "3");
  EXPECT_EQ(back.metadata.at("peft.num_attention_heads"), "6");
  // Export of an imported seq2seq adapter: the encoder prompt, num_transformer_submodules 1.
  const SoftPrompt imported = SoftPrompt::import_peft(kPeft + "/t5_v1_0_f32");
  TempDir d2("reexport");
  imported.export_peft(d2.path, "tests/golden/t5/v1_0", "SEQ_2_SEQ_LM", 2, 4);
  const SoftPrompt again = SoftPrompt::import_peft(d2.path);
  EXPECT_EQ(std::memcmp(again.values.f32(), imported.values.f32(), imported.values.nbytes()), 0);
  EXPECT_EQ(again.metadata.at("peft.num_transformer_submodules"), "1");
}

// The export writes exactly the fields (and the layout) of a config real PEFT wrote.
TEST(PeftExport, ConfigHasPeftsFieldsAndLayout) {
  TempDir d("fields");
  export_known(d.path);
  const std::string ours = slurp(d / "adapter_config.json");
  const std::string theirs = slurp(kPeft + "/t5_v1_0_f32/adapter_config.json");
  std::vector<std::string> ours_keys, theirs_keys;
  const json::value ours_json = json::parse(ours), theirs_json = json::parse(theirs);
  for (const auto& kv : ours_json.as_object()) ours_keys.emplace_back(kv.key());
  for (const auto& kv : theirs_json.as_object()) theirs_keys.emplace_back(kv.key());
  EXPECT_EQ(ours_keys, theirs_keys) << "spot:\n" << ours << "\nPEFT:\n" << theirs;
  // Same layout: PEFT's json.dumps(indent=2, sorted keys), no final newline. The two differ only in the
  // values of num_virtual_tokens (6 / 5) and num_transformer_submodules (1 / 2) and the init.
  std::string expect = theirs;
  replace_in(d / "adapter_config.json", "\"num_virtual_tokens\": 6", "\"num_virtual_tokens\": 5");
  replace_in(d / "adapter_config.json", "\"num_transformer_submodules\": 1", "\"num_transformer_submodules\": 2");
  EXPECT_EQ(slurp(d / "adapter_config.json"), expect);
  const io::SafetensorsFile f = io::SafetensorsFile::open(d / "adapter_model.safetensors");
  EXPECT_EQ(f.names(), std::vector<std::string>{"prompt_embeddings"});
  EXPECT_EQ(f.metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  EXPECT_EQ(f.entry("prompt_embeddings").file_dtype, "F32");
}

// tests/golden/peft/spot_export/ is what export_peft writes today (the generator checks that PEFT loads it
// and gets the logits of the prompt prepended by hand). SPOT_UPDATE_GOLDENS=1 rewrites it.
TEST(PeftExport, CommittedExportIsCurrent) {
  const std::string golden = kPeft + "/spot_export";
  if (const char* u = std::getenv("SPOT_UPDATE_GOLDENS"); u && std::string(u) == "1") {
    fs::remove_all(golden);
    export_known(golden);
    std::printf("  wrote %s; now run python3 tests/golden/gen_peft_goldens.py --check-export\n", golden.c_str());
  }
  TempDir d("current");
  export_known(d.path);
  for (const char* f : {"adapter_config.json", "adapter_model.safetensors"})
    EXPECT_EQ(slurp(d / f), slurp(golden + "/" + f)) << f << " differs from " << golden
                                                     << " (SPOT_UPDATE_GOLDENS=1 to rewrite, then the generator's "
                                                     << "--check-export)";
}

TEST(PeftExport, RefusesWhatPeftCannotRead) {
  TempDir d("refuse");
  SoftPrompt deep;
  deep.values = Tensor::zeros({2, 3, 8});
  expect_error([&] { deep.export_peft(d.path, "b", "SEQ_2_SEQ_LM", 2, 4); }, {"deep prompt", "input-depth"});
  expect_error([&] { known_prompt().export_peft(d.path, "b", "SEQ2SEQ", 2, 4); }, {"task type 'SEQ2SEQ'", "SEQ_2_SEQ_LM"});
}

// ---- bad adapters ---------------------------------------------------------------------------------------

TEST(PeftImportErrors, OtherPeftTypesByRealPeft) {
  for (const auto& bad : std::vector<std::pair<std::string, std::string>>{
           {"bad_lora", "LORA"}, {"bad_prefix_tuning", "PREFIX_TUNING"}, {"bad_p_tuning", "P_TUNING"}}) {
    const std::string& dir = bad.first;  // not a structured binding: clang 14 cannot capture those
    const std::string& type = bad.second;
    SCOPED_TRACE(dir);
    expect_error([&] { SoftPrompt::import_peft(kPeft + "/" + dir); },
                 {kPeft + "/" + dir + "/adapter_config.json", "field 'peft_type'", "'" + type + "'",
                  "prompt tuning adapters (PROMPT_TUNING) only"});
    // load() of the tensor file goes through the config too: prefix tuning's prompt_embeddings [2, 192] is
    // not a prompt.
    if (dir != "bad_lora")
      expect_error([&] { SoftPrompt::load(kPeft + "/" + dir + "/adapter_model.safetensors"); }, "field 'peft_type'");
  }
}

TEST(PeftImportErrors, ShapesAgainstTheConfig) {
  const std::string src = kPeft + "/t5_v1_0_f32";  // [10, 48]: 5 virtual tokens x 2 submodules
  {
    TempDir d("nvt");
    copy_adapter(src, d);
    replace_in(d / "adapter_config.json", "\"num_virtual_tokens\": 5", "\"num_virtual_tokens\": 6");
    expect_error([&] { SoftPrompt::import_peft(d.path); },
                 {d / "adapter_model.safetensors", "has 10 rows", d / "adapter_config.json", "num_virtual_tokens 6",
                  "num_transformer_submodules 2 = 12"});
  }
  {
    TempDir d("dim");
    copy_adapter(src, d);
    replace_in(d / "adapter_config.json", "\"token_dim\": 48", "\"token_dim\": 32");
    expect_error([&] { SoftPrompt::import_peft(d.path); },
                 {d / "adapter_model.safetensors", "has 48 columns", "token_dim 32"});
  }
  expect_error([&] { SoftPrompt::import_peft(src, 64); },
               {src + "/adapter_config.json", "field 'token_dim' is 48", "d_model is 64"});
  expect_error([&] { SoftPrompt::load(src + "/adapter_model.safetensors", 48, 7); }, {"num_virtual_tokens 5", "7"});
  expect_error([&] { SoftPrompt::load(src + "/adapter_model.safetensors", 48, 0, 2); }, "deep prompt");
  {
    TempDir d("sub3");
    copy_adapter(src, d);
    replace_in(d / "adapter_config.json", "\"num_transformer_submodules\": 2", "\"num_transformer_submodules\": 3");
    expect_error([&] { SoftPrompt::import_peft(d.path); },
                 {d / "adapter_config.json", "field 'num_transformer_submodules' is 3", "1 or 2"});
  }
  {
    TempDir d("sub2causal");
    copy_adapter(src, d);
    replace_in(d / "adapter_config.json", "\"SEQ_2_SEQ_LM\"", "\"CAUSAL_LM\"");
    expect_error([&] { SoftPrompt::import_peft(d.path); },
                 {d / "adapter_config.json", "'num_transformer_submodules' is 2", "'CAUSAL_LM'"});
  }
  {
    // null: PEFT's default for the task type (2 for SEQ_2_SEQ_LM).
    TempDir d("subnull");
    copy_adapter(src, d);
    replace_in(d / "adapter_config.json", "\"num_transformer_submodules\": 2", "\"num_transformer_submodules\": null");
    EXPECT_EQ(SoftPrompt::import_peft(d.path).length(), 5);
  }
}

TEST(PeftImportErrors, ConfigFieldsAndFiles) {
  const std::string src = kPeft + "/t5_v1_0_f32";
  auto with_config = [&](const std::string& name, const std::string& find, const std::string& repl,
                         const std::vector<std::string>& parts) {
    SCOPED_TRACE(name);
    TempDir d(name);
    copy_adapter(src, d);
    replace_in(d / "adapter_config.json", find, repl);
    std::vector<std::string> all{d / "adapter_config.json"};
    all.insert(all.end(), parts.begin(), parts.end());
    expect_error([&] { SoftPrompt::import_peft(d.path); }, all);
  };
  with_config("notype", "\"peft_type\": \"PROMPT_TUNING\",", "", {"field 'peft_type' is missing"});
  with_config("typeint", "\"peft_type\": \"PROMPT_TUNING\"", "\"peft_type\": 3", {"field 'peft_type' must be a string"});
  with_config("nonvt", "\"num_virtual_tokens\": 5,", "", {"field 'num_virtual_tokens' is missing"});
  with_config("nvt0", "\"num_virtual_tokens\": 5", "\"num_virtual_tokens\": 0", {"field 'num_virtual_tokens' is 0"});
  with_config("nvtstr", "\"num_virtual_tokens\": 5", "\"num_virtual_tokens\": \"5\"",
              {"field 'num_virtual_tokens' must be an integer"});
  with_config("nvtbig", "\"num_virtual_tokens\": 5", "\"num_virtual_tokens\": 18446744073709551615",
              {"field 'num_virtual_tokens'"});
  with_config("dimneg", "\"token_dim\": 48", "\"token_dim\": -48", {"field 'token_dim' is -48"});
  with_config("task", "\"SEQ_2_SEQ_LM\"", "\"TRANSLATION\"", {"field 'task_type' is 'TRANSLATION'"});
  with_config("json", "{", "[", {"not valid JSON"});
  {
    TempDir d("noconfig");
    spit(d / "adapter_model.safetensors", slurp(src + "/adapter_model.safetensors"));
    expect_error([&] { SoftPrompt::import_peft(d.path); }, {d / "adapter_config.json", "not found"});
    expect_error([&] { SoftPrompt::import_peft(d / "adapter_model.safetensors"); }, {d / "adapter_config.json", "not found"});
  }
  {
    TempDir d("pickle");
    spit(d / "adapter_config.json", slurp(src + "/adapter_config.json"));
    spit(d / "adapter_model.bin", "not read");
    expect_error([&] { SoftPrompt::import_peft(d.path); }, {d / "adapter_model.bin", "safe_serialization=True"});
  }
  {
    TempDir d("noweights");
    spit(d / "adapter_config.json", slurp(src + "/adapter_config.json"));
    expect_error([&] { SoftPrompt::import_peft(d.path); }, {d / "adapter_model.safetensors", "not found"});
  }
  expect_error([&] { SoftPrompt::import_peft("/nonexistent/adapter"); }, "/nonexistent/adapter");
}

TEST(PeftImportErrors, TensorFile) {
  const std::string cfg = slurp(kPeft + "/t5_v1_0_f32/adapter_config.json");
  const Tensor good = SoftPrompt::import_peft(kPeft + "/t5_v1_0_f32").values;
  Tensor full = Tensor::zeros({10, 48});
  std::memcpy(full.f32(), good.f32(), good.nbytes());
  auto with_tensors = [&](const std::string& name, const std::vector<std::pair<std::string, Tensor>>& tensors,
                          const std::vector<std::string>& parts) {
    SCOPED_TRACE(name);
    TempDir d(name);
    spit(d / "adapter_config.json", cfg);
    io::save_safetensors(d / "adapter_model.safetensors", tensors, {{"format", "pt"}});
    std::vector<std::string> all{d / "adapter_model.safetensors"};
    all.insert(all.end(), parts.begin(), parts.end());
    expect_error([&] { SoftPrompt::import_peft(d.path); }, all);
  };
  Tensor nan = full.clone();
  nan.f32()[2 * 48 + 7] = std::nanf("");
  with_tensors("nan", {{"prompt_embeddings", nan}}, {"non-finite", "row 2, column 7"});
  Tensor inf = full.clone();
  inf.f32()[4 * 48] = INFINITY;
  with_tensors("inf", {{"prompt_embeddings", inf}}, {"non-finite", "row 4, column 0"});
  // A non-finite value in the unused decoder half is not the prompt's: it imports.
  {
    TempDir d("nan_decoder_half");
    spit(d / "adapter_config.json", cfg);
    Tensor t = full.clone();
    t.f32()[9 * 48] = std::nanf("");
    io::save_safetensors(d / "adapter_model.safetensors", {{"prompt_embeddings", t}}, {});
    EXPECT_EQ(SoftPrompt::import_peft(d.path).length(), 5);
  }
  with_tensors("other", {{"prompt", full}}, {"no tensor 'prompt_embeddings'", "'prompt'"});
  with_tensors("extra", {{"prompt_embeddings", full}, {"classifier.weight", Tensor::zeros({2, 48})}},
               {"tensor 'classifier.weight' beside 'prompt_embeddings'"});
  with_tensors("i32", {{"prompt_embeddings", Tensor::zeros({10, 48}, DType::I32)}}, {"dtype I32", "F32, F16 or BF16"});
  with_tensors("3d", {{"prompt_embeddings", Tensor::zeros({2, 5, 48})}}, {"shape [2, 5, 48]"});
}

// Prefixes of a good adapter's files (every length within the safetensors header and the config, every
// 8th in the tensor data) throw spot::Error; single-byte damage to the header throws or imports; nothing
// crashes.
TEST(PeftImportErrors, TruncatedFilesNeverCrash) {
  const std::string src = kPeft + "/t5_v1_1_bf16";
  const std::string cfg = slurp(src + "/adapter_config.json"), st = slurp(src + "/adapter_model.safetensors");
  TempDir d("truncated");
  int errors = 0, ok = 0;
  auto attempt = [&] {
    try {
      (void)SoftPrompt::import_peft(d.path);
      ++ok;
    } catch (const Error&) {
      ++errors;
    }
  };
  spit(d / "adapter_config.json", cfg);
  const uint64_t header = 8 + static_cast<uint8_t>(st[0]) + 256u * static_cast<uint8_t>(st[1]);
  for (size_t n = 0; n < st.size(); n += n < header ? 1 : 8) {
    spit(d / "adapter_model.safetensors", st.substr(0, n));
    attempt();
  }
  EXPECT_EQ(ok, 0) << "a truncated tensor file imported";
  spit(d / "adapter_model.safetensors", st);
  for (size_t n = 0; n < cfg.size(); ++n) {
    spit(d / "adapter_config.json", cfg.substr(0, n));
    attempt();
  }
  EXPECT_EQ(ok, 0) << "a truncated config imported";
  spit(d / "adapter_config.json", cfg);
  for (size_t i = 0; i < header; ++i) {
    std::string damaged = st;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
    spit(d / "adapter_model.safetensors", damaged);
    attempt();
  }
  EXPECT_GT(errors, 0);
  std::printf("  [peft truncated] %d errors, %d imports (damaged header bytes that still parse)\n", errors, ok);
}

}  // namespace
}  // namespace spot
