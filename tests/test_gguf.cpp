// test_gguf.cpp — the GGUF v3 reader: metadata of every type and dequantisation of every supported
// tensor type against goldens written by the gguf python package (tests/golden/gen_gguf_goldens.py),
// the Q/K un-permute against transformers' GGUF loader, broken and lying files (clear errors, no
// crash), and the real SmolLM2 Q4_1 file against tests/golden/gen_smollm2_gguf_goldens.py.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

#include "io/ggml_quants.h"
#include "io/gguf.h"
#include "io/gguf_llama.h"
#include "tests/expect_error.h"
#include "tests/gguf_test_util.h"

namespace spot::io {
namespace {

namespace json = boost::json;
using test::GgufBuilder;

std::string golden_gguf() { return test::golden_dir() + "/gguf/golden.gguf"; }
json::object golden_expected() { return test::read_json(test::golden_dir() + "/gguf/golden_expected.json").as_object(); }

using test::expect_error;

void expect_bad_file(const GgufBuilder& b, const std::string& needle) {
  expect_error([&] { GgufFile::from_bytes(b.bytes, "broken.gguf"); }, needle);
}

// ------------------------------------------------------------------ goldens from the gguf package

TEST(GgufGolden, HeaderAndAlignment) {
  const GgufFile f = GgufFile::open(golden_gguf());
  const json::object want = golden_expected();
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), static_cast<uint64_t>(want.at("alignment").as_int64()));
  EXPECT_EQ(f.data_offset() % f.alignment(), 0u);
  EXPECT_EQ(f.get_string("general.architecture"), json::value_to<std::string>(want.at("architecture")));
  EXPECT_EQ(f.get_u32("general.alignment"), 64u);
}

// Compares one metadata value with the JSON value the generator wrote.
void expect_value(const GgufValue& v, const json::value& want, const std::string& what) {
  switch (v.type) {
    case GgufType::String: EXPECT_EQ(v.str, json::value_to<std::string>(want)) << what; break;
    case GgufType::Bool: EXPECT_EQ(v.u != 0, want.as_bool()) << what; break;
    case GgufType::U8: case GgufType::U16: case GgufType::U32: case GgufType::U64:
      EXPECT_EQ(v.u, want.is_uint64() ? want.as_uint64() : static_cast<uint64_t>(want.as_int64())) << what;
      break;
    case GgufType::I8: case GgufType::I16: case GgufType::I32: case GgufType::I64:
      EXPECT_EQ(v.i, want.as_int64()) << what;
      break;
    case GgufType::F32: EXPECT_EQ(static_cast<float>(v.f), static_cast<float>(json::value_to<double>(want))) << what; break;
    case GgufType::F64: EXPECT_EQ(v.f, json::value_to<double>(want)) << what; break;
    case GgufType::Array: {
      const json::array& items = want.as_array();
      ASSERT_EQ(v.count, items.size()) << what;
      for (size_t k = 0; k < items.size(); ++k) {
        const std::string at = what + "[" + std::to_string(k) + "]";
        if (v.elem_type == GgufType::String) {
          EXPECT_EQ(v.strings[k], json::value_to<std::string>(items[k])) << at;
        } else if (v.elem_type == GgufType::Array) {
          expect_value(v.items[k], items[k], at);
        } else if (v.elem_type == GgufType::F32) {
          EXPECT_EQ(static_cast<float>(v.float_at(k)), static_cast<float>(json::value_to<double>(items[k]))) << at;
        } else if (v.elem_type == GgufType::F64) {
          EXPECT_EQ(v.float_at(k), json::value_to<double>(items[k])) << at;
        } else if (v.elem_type == GgufType::Bool) {
          EXPECT_EQ(v.int_at(k) != 0, items[k].as_bool()) << at;
        } else {
          EXPECT_EQ(v.int_at(k), items[k].to_number<int64_t>()) << at;
        }
      }
      break;
    }
  }
}

TEST(GgufGolden, MetadataOfEveryType) {
  const GgufFile f = GgufFile::open(golden_gguf());
  const json::object want = golden_expected();
  const json::array& meta = want.at("metadata").as_array();
  ASSERT_GE(meta.size(), 20u);
  for (const json::value& e : meta) {
    const std::string key = json::value_to<std::string>(e.at("key"));
    ASSERT_TRUE(f.has(key)) << key;
    const GgufValue& v = f.get(key);
    EXPECT_EQ(v.type_str(), json::value_to<std::string>(e.at("type"))) << key;
    expect_value(v, e.at("value"), key);
  }
  // Keys come back in file order: general.* first (the writer puts them there), then test.*.
  EXPECT_EQ(f.keys().front(), "general.architecture");
  EXPECT_EQ(f.keys().back(), "test.nested3");
}

TEST(GgufGolden, TypedGettersAndErrors) {
  const GgufFile f = GgufFile::open(golden_gguf());
  EXPECT_EQ(f.get_u32("test.u32"), 4000000000u);
  EXPECT_EQ(f.get_i32("test.i32"), -2000000000);
  EXPECT_EQ(f.get_u64("test.u64"), (uint64_t{1} << 63) + 5);
  EXPECT_EQ(f.get_i64("test.i64"), -(int64_t{1} << 62) - 7);
  EXPECT_EQ(f.get_f32("test.f32"), 1.5f);
  EXPECT_EQ(f.get_f64("test.f64"), -2.25e300);
  EXPECT_TRUE(f.get_bool("test.bool"));
  EXPECT_EQ(f.get_uint("test.u8"), 200u);
  EXPECT_EQ(f.get_string_array("test.arr_str").size(), 4u);
  EXPECT_EQ(f.get_i32_array("test.arr_i32"), (std::vector<int32_t>{-5, 7, 2147483647}));
  EXPECT_EQ(f.get_f32_array("test.arr_f32"), (std::vector<float>{0.5f, -1.25f, 3.0f}));
  EXPECT_EQ(f.get_int_array("test.arr_u8"), (std::vector<int64_t>{0, 1, 255}));
  EXPECT_EQ(f.get_array("test.nested_i32").items.at(1).int_at(0), 4);

  expect_error([&] { f.get_u32("test.i32"); }, "metadata key 'test.i32' is i32, expected u32");
  expect_error([&] { f.get_string("test.u8"); }, "'test.u8' is u8, expected string");
  expect_error([&] { f.get_f32("test.f64"); }, "is f64, expected f32");
  expect_error([&] { f.get_string_array("test.arr_i32"); }, "'test.arr_i32' is array<i32>[3], expected array<string>");
  expect_error([&] { f.get_array("test.string"); }, "'test.string' is string, expected an array");
  expect_error([&] { f.get_u32("no.such.key"); }, "metadata key 'no.such.key' is missing");
  expect_error([&] { f.get_uint("test.i8"); }, "'test.i8' is negative");
  expect_error([&] { f.get_uint("test.f32"); }, "expected an integer");
  expect_error([&] { f.tensor_info("nope"); }, "no tensor named 'nope'");
  EXPECT_EQ(f.find("no.such.key"), nullptr);
}

TEST(GgufGolden, DequantisesEveryTypeBitExactly) {
  const GgufFile f = GgufFile::open(golden_gguf());
  const json::object want = golden_expected();
  const json::array& tensors = want.at("tensors").as_array();
  std::map<std::string, int> per_type;
  for (const json::value& tv : tensors) {
    const json::object& t = tv.as_object();
    const std::string name = json::value_to<std::string>(t.at("name"));
    const GgufTensorInfo& ti = f.tensor_info(name);
    EXPECT_EQ(static_cast<int64_t>(ti.type), t.at("type_code").as_int64()) << name;
    EXPECT_EQ(ggml_type_name(ti.type), json::value_to<std::string>(t.at("ggml_type"))) << name;
    EXPECT_EQ(ti.dims, json::value_to<std::vector<int64_t>>(t.at("dims"))) << name;
    EXPECT_EQ(ti.shape, json::value_to<std::vector<int64_t>>(t.at("shape"))) << name;
    const Tensor x = f.load_f32(name);
    ASSERT_EQ(x.shape(), ti.shape) << name;
    const json::array& bits = t.at("values_f32_bits").as_array();
    ASSERT_EQ(static_cast<int64_t>(bits.size()), x.numel()) << name;
    int mismatches = 0;
    double norm = 0;
    for (int64_t k = 0; k < x.numel(); ++k) {
      const uint32_t want = static_cast<uint32_t>(bits[k].to_number<uint64_t>());
      const uint32_t got = test::f32_bits(x.f32()[k]);
      if (want != got && mismatches++ < 5)
        ADD_FAILURE() << name << "[" << k << "]: got " << x.f32()[k] << " (0x" << std::hex << got << "), want "
                      << test::f32_from_bits(want) << " (0x" << want << std::dec << ")";
      if (std::isfinite(x.f32()[k])) norm += x.f32()[k] * double(x.f32()[k]);
    }
    EXPECT_EQ(mismatches, 0) << name;
    EXPECT_GT(norm, 0) << name << " dequantised to all zeros";
    ++per_type[ggml_type_name(ti.type)];
  }
  for (const char* t : {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1"}) EXPECT_EQ(per_type[t], 3) << t;
}

TEST(GgufGolden, UnpermuteMatchesTransformers) {
  const GgufFile f = GgufFile::open(golden_gguf());
  const json::object want = golden_expected();
  const json::object& u = want.at("unpermute").as_object();
  const int64_t n_heads = u.at("n_heads").as_int64(), n_kv = u.at("n_kv_heads").as_int64();
  for (const auto& [name_key, bits_key, heads] : {std::tuple{"q_name", "q_hf_f32_bits", n_heads},
                                                  std::tuple{"k_name", "k_hf_f32_bits", n_kv}}) {
    const std::string name = json::value_to<std::string>(u.at(name_key));
    const Tensor raw = f.load_f32(name);
    const Tensor hf = llama_unpermute_qk(raw, heads);
    const json::array& bits = u.at(bits_key).as_array();
    ASSERT_EQ(static_cast<int64_t>(bits.size()), hf.numel());
    for (int64_t k = 0; k < hf.numel(); ++k)
      ASSERT_EQ(test::f32_bits(hf.f32()[k]), bits[k].to_number<uint64_t>()) << name << "[" << k << "]";
    // The permute is a real reordering, and permute undoes unpermute.
    EXPECT_NE(raw.to_floats(), hf.to_floats()) << name;
    EXPECT_EQ(llama_permute_qk(hf, heads).to_floats(), raw.to_floats()) << name;
  }
  // The hf-layout loader applies the right head count per tensor.
  LlamaGgufConfig cfg;
  cfg.n_heads = n_heads;
  cfg.n_kv_heads = n_kv;
  EXPECT_EQ(llama_load_f32_hf_layout(f, cfg, "blk.0.attn_q.weight").to_floats(),
            llama_unpermute_qk(f.load_f32("blk.0.attn_q.weight"), n_heads).to_floats());
  EXPECT_EQ(llama_load_f32_hf_layout(f, cfg, "blk.0.attn_k.weight").to_floats(),
            llama_unpermute_qk(f.load_f32("blk.0.attn_k.weight"), n_kv).to_floats());
  EXPECT_EQ(llama_load_f32_hf_layout(f, cfg, "q4_1.matrix").to_floats(), f.load_f32("q4_1.matrix").to_floats());
  expect_error([&] { llama_unpermute_qk(f.load_f32("f32.matrix"), 2); }, "not n_heads (2) heads of an even head_dim");
}

TEST(GgufLlama, NameTableRoundTrips) {
  EXPECT_EQ(llama_gguf_to_hf_name("token_embd.weight"), "model.embed_tokens.weight");
  EXPECT_EQ(llama_gguf_to_hf_name("blk.12.attn_q.weight"), "model.layers.12.self_attn.q_proj.weight");
  EXPECT_EQ(llama_gguf_to_hf_name("blk.0.ffn_norm.weight"), "model.layers.0.post_attention_layernorm.weight");
  EXPECT_EQ(llama_gguf_to_hf_name("blk.29.ffn_down.weight"), "model.layers.29.mlp.down_proj.weight");
  EXPECT_EQ(llama_gguf_to_hf_name("output.weight"), "lm_head.weight");
  for (const GgufNameMapping& m : llama_gguf_name_table()) {
    std::string g = m.gguf, h = m.hf;
    if (auto p = g.find("{i}"); p != std::string::npos) g.replace(p, 3, "7");
    if (auto p = h.find("{i}"); p != std::string::npos) h.replace(p, 3, "7");
    EXPECT_EQ(llama_gguf_to_hf_name(g), h);
    EXPECT_EQ(llama_hf_to_gguf_name(h), g);
  }
  expect_error([] { llama_gguf_to_hf_name("blk.x.attn_q.weight"); }, "not in the Llama GGUF name table");
  expect_error([] { llama_gguf_to_hf_name("blk.01.attn_q.weight"); }, "not in the Llama GGUF name table");
  expect_error([] { llama_gguf_to_hf_name("blk.1.attn_qkv.weight"); }, "not in the Llama GGUF name table");
}

TEST(GgufDequant, RejectsUnsupportedTypesAndPartialBlocks) {
  std::vector<uint8_t> src(210, 0);
  std::vector<float> dst(256);
  expect_error([&] { dequantize_row(GgmlType::Q6_K, src.data(), dst.data(), 256); }, "q6_K is not supported");
  expect_error([&] { dequantize_row(GgmlType::Q4_1, src.data(), dst.data(), 31); }, "not a whole number of q4_1 blocks");
  expect_error([&] { dequantize_row(static_cast<GgmlType>(4), src.data(), dst.data(), 32); }, "unknown ggml type 4");
}

// ------------------------------------------------------------------ broken and lying files

// A small valid file: one kv, one f32 tensor [2, 32] at offset 0.
GgufBuilder valid_file() {
  GgufBuilder b;
  b.header(1, 1).kv_string("general.architecture", "llama").tensor("t", {32, 2}, 0, 0).pad().zeros(256);
  return b;
}

TEST(GgufBroken, ValidBaselineOpens) {
  const GgufFile f = GgufFile::from_bytes(valid_file().bytes, "ok.gguf");
  EXPECT_EQ(f.tensor_info("t").shape, (Shape{2, 32}));
  EXPECT_EQ(f.load_f32("t").numel(), 64);
}

TEST(GgufBroken, HeaderErrors) {
  expect_bad_file(GgufBuilder{}, "broken.gguf: not a GGUF file: 0 bytes");
  expect_bad_file(GgufBuilder{}.raw("GGML"), "magic is 'GGML', expected 'GGUF'");
  GgufBuilder pk;
  pk.raw("PK\x03\x04 zip file");
  expect_bad_file(pk, "magic is 'PK?\?', expected 'GGUF'");
  expect_bad_file(GgufBuilder{}.header(0, 0, 1), "GGUF version 1 is not supported: only version 3");
  expect_bad_file(GgufBuilder{}.header(0, 0, 2), "GGUF version 2 is not supported: only version 3");
  expect_bad_file(GgufBuilder{}.header(0, 0, 4), "unsupported GGUF version 4 (expected 3)");
  expect_bad_file(GgufBuilder{}.header(0, 0, 3u << 24), "big-endian GGUF files are not supported");
  expect_bad_file(GgufBuilder{}.raw("GGUF").put<uint32_t>(3).put<uint32_t>(0), "truncated file: tensor_count");
  expect_bad_file(GgufBuilder{}.header(0, uint64_t{1} << 60), "metadata_kv_count 1152921504606846976 cannot fit");
  expect_bad_file(GgufBuilder{}.header(uint64_t{1} << 40, 0), "tensor_count 1099511627776 cannot fit");
  // An empty, valid file: no tensors, no metadata.
  const GgufFile empty = GgufFile::from_bytes(GgufBuilder{}.header(0, 0).bytes);
  EXPECT_TRUE(empty.tensor_names().empty());
  EXPECT_TRUE(empty.keys().empty());
}

TEST(GgufBroken, MetadataErrors) {
  GgufBuilder b;
  b.header(0, 1).put<uint64_t>(1000).raw("short");
  expect_bad_file(b, "metadata key #0 (string of 1000 bytes)");

  b = {};
  b.header(0, 1).str("k").put<uint32_t>(13).put<uint32_t>(0);
  expect_bad_file(b, "metadata key #0 'k': unknown metadata value type 13");

  b = {};
  b.header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(77).put<uint64_t>(0);
  expect_bad_file(b, "'k': unknown array element type 77");

  b = {};
  b.header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(uint64_t{1} << 62);
  expect_bad_file(b, "'k': array of 4611686018427387904 u32 needs more bytes");

  b = {};
  b.header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(uint64_t{1} << 62);
  expect_bad_file(b, "array of 4611686018427387904 string cannot fit");

  b = {};
  b.header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(2).str("ok").put<uint64_t>(99).raw("x");
  expect_bad_file(b, "'k'[1] (string of 99 bytes)");

  b = {};
  b.header(0, 1).str("flag").put<uint32_t>(7).put<uint8_t>(2).zeros(16);
  expect_bad_file(b, "'flag': bool value 2");

  b = {};
  b.header(0, 2).kv_u32("a", 1).kv_u32("a", 2).zeros(16);
  expect_bad_file(b, "duplicate metadata key 'a'");

  b = {};
  b.header(0, 1).str("k").put<uint32_t>(4).put<uint16_t>(1);
  expect_bad_file(b, "truncated file: metadata key #0 'k' needs 4 bytes");

  // Nested arrays 100 deep: rejected before the recursion gets deep.
  b = {};
  b.header(0, 1).str("deep");
  b.put<uint32_t>(9);
  for (int d = 0; d < 100; ++d) b.put<uint32_t>(9).put<uint64_t>(1);
  b.put<uint32_t>(4).put<uint64_t>(0).zeros(64);
  expect_bad_file(b, "arrays nested deeper than 64");
}

TEST(GgufBroken, AlignmentErrors) {
  GgufBuilder b;
  b.header(0, 1).str("general.alignment").put<uint32_t>(5).put<int32_t>(64);
  expect_bad_file(b, "general.alignment is i32, expected u32");
  b = {};
  b.header(0, 1).kv_u32("general.alignment", 48);
  expect_bad_file(b, "general.alignment 48 is not a power of two");
  b = {};
  b.header(0, 1).kv_u32("general.alignment", 0);
  expect_bad_file(b, "general.alignment 0 is not a power of two");
  // A valid custom alignment moves the data section.
  b = {};
  b.header(1, 1).kv_u32("general.alignment", 256).tensor("t", {32}, 0, 0).pad(256).zeros(128);
  const GgufFile f = GgufFile::from_bytes(b.bytes);
  EXPECT_EQ(f.alignment(), 256u);
  EXPECT_EQ(f.data_offset(), 256u);
}

TEST(GgufBroken, TensorInfoErrors) {
  auto one_tensor = [](const std::vector<uint64_t>& dims, uint32_t type, uint64_t offset, size_t data) {
    GgufBuilder b;
    b.header(1, 0).tensor("w", dims, type, offset).pad().zeros(data);
    return b;
  };
  expect_bad_file(one_tensor({1, 1, 1, 1, 1}, 0, 0, 64), "tensor #0 'w': n_dims 5 (expected 1 to 4)");
  expect_bad_file(one_tensor({}, 0, 0, 64), "n_dims 0 (expected 1 to 4)");
  expect_bad_file(one_tensor({uint64_t{1} << 62, uint64_t{1} << 62}, 0, 0, 64), "'w': element count of dims");
  expect_bad_file(one_tensor({~uint64_t{0}}, 0, 0, 64), "dims[0] = 18446744073709551615 overflows int64");
  expect_bad_file(one_tensor({32}, 4, 0, 64), "'w': unknown ggml type 4");
  expect_bad_file(one_tensor({32}, 99, 0, 64), "'w': unknown ggml type 99");
  expect_bad_file(one_tensor({33}, 3, 0, 64), "dims[0] = 33 is not a multiple of the q4_1 block size 32");
  expect_bad_file(one_tensor({32}, 0, 4, 256), "'w': data offset 4 is not a multiple of the alignment 32");
  expect_bad_file(one_tensor({32}, 0, 0, 100), "tensor 'w': data [0, +128) lies outside the data section of 100");
  expect_bad_file(one_tensor({32}, 0, 1024, 256), "tensor 'w': data [1024, +128) lies outside");
  expect_bad_file(one_tensor({32}, 0, uint64_t{1} << 63, 256), "lies outside the data section");
  // Byte size overflow: 2^62 f64 values take 2^65 bytes.
  expect_bad_file(one_tensor({uint64_t{1} << 62}, 28, 0, 64), "'w': byte size of 4611686018427387904 f64 values overflows");
  // Data section start past the end of the file.
  GgufBuilder cut;
  cut.header(1, 0).tensor("w", {32}, 0, 0);
  expect_bad_file(cut, "the data section would start at offset 64, past the end (file size 57)");
  GgufBuilder dup;
  dup.header(2, 0).tensor("w", {32}, 0, 0).tensor("w", {32}, 0, 128).pad().zeros(256);
  expect_bad_file(dup, "duplicate tensor name 'w'");
  // Known but not dequantisable: the file opens, load_f32 names tensor and type.
  GgufBuilder k;
  k.header(1, 0).tensor("w", {256}, 14, 0).pad().zeros(210);
  const GgufFile f = GgufFile::from_bytes(k.bytes, "k.gguf");
  EXPECT_EQ(f.tensor_info("w").nbytes, 210u);
  expect_error([&] { f.load_f32("w"); }, "tensor 'w' has ggml type q6_K, which cannot be dequantised");
  // Zero-sized tensors need no data.
  GgufBuilder z;
  z.header(1, 0).tensor("empty", {32, 0}, 2, 0);
  EXPECT_EQ(GgufFile::from_bytes(z.bytes).load_f32("empty").shape(), (Shape{0, 32}));
}

TEST(GgufBroken, OpenErrorsNameThePath) {
  const std::string dir = std::filesystem::temp_directory_path() / ("spot_gguf_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  expect_error([&] { GgufFile::open(dir + "/missing.gguf"); }, dir + "/missing.gguf: cannot open GGUF file: No such file");
  expect_error([&] { GgufFile::open(dir); }, dir + ": not a regular file");
  const std::string empty = dir + "/empty.gguf";
  std::ofstream(empty).close();
  expect_error([&] { GgufFile::open(empty); }, empty + ": not a GGUF file: 0 bytes");
  const std::string v2 = dir + "/v2.gguf";
  {
    const GgufBuilder b = GgufBuilder{}.header(0, 0, 2);
    std::ofstream(v2, std::ios::binary).write(reinterpret_cast<const char*>(b.bytes.data()), b.bytes.size());
  }
  expect_error([&] { GgufFile::open(v2); }, v2 + ": GGUF version 2 is not supported");
  std::filesystem::remove_all(dir);
}

// Every prefix of the golden file: an error exactly when the cut reaches into tensor data (or
// earlier); never a crash.
TEST(GgufBroken, EveryTruncationOfTheGoldenFile) {
  const std::string text = test::read_text_file(golden_gguf());
  const std::vector<uint8_t> bytes(text.begin(), text.end());
  const GgufFile full = GgufFile::from_bytes(bytes);
  uint64_t needed = full.data_offset();
  for (const GgufTensorInfo& t : full.tensors()) needed = std::max(needed, full.data_offset() + t.offset + t.nbytes);
  ASSERT_LE(needed, bytes.size());
  int errors = 0;
  for (size_t len = 0; len < bytes.size(); ++len) {
    const std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + len);
    bool threw = false;
    try {
      GgufFile::from_bytes(cut);
    } catch (const Error&) {
      threw = true;
    }
    EXPECT_EQ(threw, len < needed) << "prefix of " << len << " bytes (tensor data ends at " << needed << ")";
    errors += threw;
  }
  EXPECT_GT(errors, 1000);
}

// Single-byte corruptions of the header, metadata and tensor infos: each either opens (and then
// every tensor loads) or throws spot::Error. ASan/UBSan runs of the fuzzer cover the rest.
TEST(GgufBroken, ByteCorruptionsNeverCrash) {
  const std::string text = test::read_text_file(golden_gguf());
  const std::vector<uint8_t> bytes(text.begin(), text.end());
  const uint64_t meta_end = GgufFile::from_bytes(bytes).data_offset();
  int opened = 0, rejected = 0;
  for (uint64_t pos = 0; pos < meta_end; ++pos) {
    for (uint8_t v : {uint8_t(0x00), uint8_t(0xFF), uint8_t(0x80), uint8_t(bytes[pos] ^ 0x01)}) {
      if (v == bytes[pos]) continue;
      std::vector<uint8_t> bad = bytes;
      bad[pos] = v;
      try {
        const GgufFile f = GgufFile::from_bytes(std::move(bad));
        for (const GgufTensorInfo& t : f.tensors())
          if (ggml_type_dequantisable(t.type)) f.load_f32(t.name);
        ++opened;
      } catch (const Error&) {
        ++rejected;
      }
    }
  }
  EXPECT_GT(rejected, 0);
  EXPECT_GT(opened, 0);  // flips inside string bytes or values keep the file valid
  std::printf("byte corruptions: %d opened, %d rejected with spot::Error\n", opened, rejected);
}

// ------------------------------------------------------------------ the real SmolLM2 file

json::object smollm2_summary() {
  return test::read_json(test::golden_dir() + "/smollm2/gguf_summary.json").as_object();
}

TEST(GgufSmolLM2, HeaderMetadataAndTensorTable) {
  const std::string path = test::smollm2_gguf_path();
  SPOT_SKIP_WITHOUT_SMOLLM2(path);
  const GgufFile f = GgufFile::open(path);
  const json::object want = smollm2_summary();
  EXPECT_EQ(f.file_size(), want.at("file_size").to_number<uint64_t>());
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), want.at("alignment").to_number<uint64_t>());
  EXPECT_EQ(f.data_offset(), want.at("data_offset").to_number<uint64_t>());

  const json::array& meta = want.at("metadata").as_array();
  EXPECT_EQ(f.keys().size(), meta.size());
  for (const json::value& e : meta) {
    const std::string key = json::value_to<std::string>(e.at("key"));
    ASSERT_TRUE(f.has(key)) << key;
    const GgufValue& v = f.get(key);
    EXPECT_EQ(v.type_str(), json::value_to<std::string>(e.at("type"))) << key;
    if (v.is_array()) {
      const json::array& first = e.at("first").as_array();
      json::array got;
      for (size_t k = 0; k < first.size(); ++k) {
        if (v.elem_type == GgufType::String) got.emplace_back(v.strings[k]);
        else got.emplace_back(v.int_at(k));
      }
      EXPECT_EQ(json::serialize(got), json::serialize(first)) << key;
    } else {
      expect_value(v, e.at("value"), key);
    }
  }

  const json::array& tensors = want.at("tensors").as_array();
  ASSERT_EQ(f.tensors().size(), tensors.size());
  std::map<std::string, int> counts, want_counts;
  for (size_t k = 0; k < tensors.size(); ++k) {
    const GgufTensorInfo& ti = f.tensors()[k];
    const json::object& t = tensors[k].as_object();
    EXPECT_EQ(ti.name, json::value_to<std::string>(t.at("name")));
    EXPECT_EQ(ggml_type_name(ti.type), json::value_to<std::string>(t.at("ggml_type"))) << ti.name;
    EXPECT_EQ(ti.dims, json::value_to<std::vector<int64_t>>(t.at("dims"))) << ti.name;
    ++counts[ggml_type_name(ti.type)];
    ++want_counts[json::value_to<std::string>(t.at("ggml_type"))];
  }
  EXPECT_EQ(counts, want_counts);
  std::printf("SmolLM2 GGUF: %zu tensors:", f.tensors().size());
  for (const auto& [type, n] : counts) std::printf(" %s=%d", type.c_str(), n);
  std::printf("\n");
}

TEST(GgufSmolLM2, LlamaConfigMatchesTransformers) {
  const std::string path = test::smollm2_gguf_path();
  SPOT_SKIP_WITHOUT_SMOLLM2(path);
  const GgufFile f = GgufFile::open(path);
  const LlamaGgufConfig c = llama_config_from_gguf(f);
  const json::object want = smollm2_summary();
  const json::object& hf = want.at("hf_config").as_object();
  EXPECT_EQ(c.architecture, "llama");
  EXPECT_EQ(c.n_layers, hf.at("num_hidden_layers").as_int64());
  EXPECT_EQ(c.d_model, hf.at("hidden_size").as_int64());
  EXPECT_EQ(c.d_ff, hf.at("intermediate_size").as_int64());
  EXPECT_EQ(c.n_heads, hf.at("num_attention_heads").as_int64());
  EXPECT_EQ(c.n_kv_heads, hf.at("num_key_value_heads").as_int64());
  EXPECT_EQ(c.context_length, hf.at("max_position_embeddings").as_int64());
  EXPECT_EQ(c.vocab_size, hf.at("vocab_size").as_int64());
  EXPECT_EQ(c.rope_theta, static_cast<float>(hf.at("rope_theta").as_double()));
  EXPECT_EQ(c.rms_eps, static_cast<float>(hf.at("rms_norm_eps").as_double()));
  EXPECT_EQ(c.tied_embeddings, hf.at("tie_word_embeddings").as_bool());
  EXPECT_EQ(c.head_dim * c.n_heads, c.d_model);
  EXPECT_EQ(c.rope_dim, c.head_dim);
  llama_check_tensors(f, c);
  for (const GgufTensorInfo& t : f.tensors()) EXPECT_NO_THROW(llama_gguf_to_hf_name(t.name)) << t.name;
  std::printf("SmolLM2: arch=%s n_layers=%lld d_model=%lld d_ff=%lld n_heads=%lld n_kv_heads=%lld head_dim=%lld "
              "rope_theta=%g rms_eps=%g context=%lld vocab=%lld tied=%d\n",
              c.architecture.c_str(), (long long)c.n_layers, (long long)c.d_model, (long long)c.d_ff,
              (long long)c.n_heads, (long long)c.n_kv_heads, (long long)c.head_dim, c.rope_theta, c.rms_eps,
              (long long)c.context_length, (long long)c.vocab_size, int(c.tied_embeddings));
}

double row_checksum(const Tensor& t) {
  const int64_t rows = t.dim(0), cols = t.numel() / rows;
  double s = 0;
  for (int64_t r = 0; r < rows; ++r) {
    double row = 0;
    for (int64_t c = 0; c < cols; ++c) row += t.f32()[r * cols + c];
    s += static_cast<double>(r + 1) * row;
  }
  return s;
}

TEST(GgufSmolLM2, DequantMatchesGgufPython) {
  const std::string path = test::smollm2_gguf_path();
  SPOT_SKIP_WITHOUT_SMOLLM2(path);
  const GgufFile f = GgufFile::open(path);
  const json::object want = smollm2_summary();
  for (const json::value& dv : want.at("dequant").as_array()) {
    const json::object& d = dv.as_object();
    const std::string name = json::value_to<std::string>(d.at("name"));
    const Tensor x = f.load_f32(name);
    EXPECT_EQ(x.shape(), json::value_to<std::vector<int64_t>>(d.at("shape"))) << name;
    const json::array& first = d.at("first16_f32_bits").as_array();
    for (size_t k = 0; k < first.size(); ++k)
      EXPECT_EQ(test::f32_bits(x.f32()[k]), first[k].to_number<uint64_t>()) << name << "[" << k << "]";
    double sum = 0;
    for (int64_t k = 0; k < x.numel(); ++k) sum += x.f32()[k];
    EXPECT_NEAR(sum, d.at("sum").as_double(), 1e-9 * (1 + std::abs(d.at("sum").as_double()))) << name;
    const double checksum = d.at("row_checksum").as_double();
    EXPECT_NEAR(row_checksum(x), checksum, 1e-9 * (1 + std::abs(checksum))) << name;
  }
}

TEST(GgufSmolLM2, QkUnpermuteMatchesTransformersLoader) {
  const std::string path = test::smollm2_gguf_path();
  SPOT_SKIP_WITHOUT_SMOLLM2(path);
  const GgufFile f = GgufFile::open(path);
  const LlamaGgufConfig c = llama_config_from_gguf(f);
  const json::object want = smollm2_summary();
  for (const json::value& hv : want.at("hf_layout").as_array()) {
    const json::object& h = hv.as_object();
    const std::string name = json::value_to<std::string>(h.at("gguf_name"));
    EXPECT_EQ(llama_hf_to_gguf_name(json::value_to<std::string>(h.at("hf_name"))), name);
    const Tensor w = llama_load_f32_hf_layout(f, c, name);
    ASSERT_EQ(w.shape(), json::value_to<std::vector<int64_t>>(h.at("shape"))) << name;
    const auto rows = json::value_to<std::vector<int64_t>>(h.at("rows"));
    const json::array& bits = h.at("rows_first8_f32_bits").as_array();
    for (size_t k = 0; k < rows.size(); ++k)
      for (int64_t col = 0; col < 8; ++col)
        EXPECT_EQ(test::f32_bits(w.f32()[rows[k] * w.dim(1) + col]), bits[k].as_array()[col].to_number<uint64_t>())
            << name << " row " << rows[k] << " col " << col;
    const double checksum = h.at("row_checksum").as_double();
    EXPECT_NEAR(row_checksum(w), checksum, 1e-9 * (1 + std::abs(checksum))) << name;
    // Without the un-permute the rows are in a different order.
    EXPECT_GT(std::abs(row_checksum(f.load_f32(name)) - checksum), 1e-3 * (1 + std::abs(checksum))) << name;
  }
}

TEST(GgufSmolLM2, LoadWholeModelToF32) {
  const std::string path = test::smollm2_gguf_path();
  SPOT_SKIP_WITHOUT_SMOLLM2(path);
  const auto t0 = std::chrono::steady_clock::now();
  const GgufFile f = GgufFile::open(path);
  const auto t1 = std::chrono::steady_clock::now();
  int64_t params = 0;
  for (const GgufTensorInfo& t : f.tensors()) {
    const Tensor x = f.load_f32(t.name);
    params += x.numel();
    EXPECT_TRUE(std::isfinite(x.f32()[0]) && std::isfinite(x.f32()[x.numel() - 1])) << t.name;
  }
  const auto t2 = std::chrono::steady_clock::now();
  const double open_s = std::chrono::duration<double>(t1 - t0).count();
  const double load_s = std::chrono::duration<double>(t2 - t1).count();
  EXPECT_GT(params, 130'000'000);
  std::printf("SmolLM2: open %.3f s, dequantise all %zu tensors (%lld params, %.0f MB f32) %.3f s\n", open_s,
              f.tensors().size(), (long long)params, params * 4 / 1e6, load_s);
  RecordProperty("open_s", std::to_string(open_s));
  RecordProperty("load_f32_s", std::to_string(load_s));
}

}  // namespace
}  // namespace spot::io
