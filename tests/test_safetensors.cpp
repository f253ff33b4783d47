// test_safetensors.cpp — io/safetensors: round trips of every dtype, files written by the
// reference `safetensors` package and by HF transformers (tests/golden/safetensors, made by
// tests/golden/gen_safetensors_fixture.py), sharded checkpoints, every malformed-input rule (each
// error must name the file and the tensor or field), and the atomic writer.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <boost/json.hpp>

#include "io/safetensors.h"
#include "tests/expect_error.h"

namespace spot::io {
namespace {

namespace fs = std::filesystem;

const std::string kGolden = std::string(SPOT_SOURCE_DIR) + "/tests/golden/safetensors";

// A fresh directory under the system temp dir, removed with everything in it at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "spot_st_XXXXXX").string();
    EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
  std::vector<std::string> listing() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A raw safetensors file: size field, `header` verbatim, then `data_bytes` bytes of data.
std::string raw_file(const std::string& header, size_t data_bytes) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  out += header;
  out.append(data_bytes, '\x5a');
  return out;
}

// Tensor filled with a byte pattern that differs per tensor (so misplaced data is caught).
Tensor patterned(const Shape& shape, DType dtype, unsigned seed) {
  Tensor t = Tensor::empty(shape, dtype);
  auto* p = static_cast<unsigned char*>(t.raw());
  for (size_t i = 0; i < t.nbytes(); ++i) p[i] = static_cast<unsigned char>((i * 131 + seed * 29 + 7) & 0xff);
  return t;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && a.nbytes() == b.nbytes() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

using test::expect_error;

// ------------------------------------------------------------------ round trips

TEST(Safetensors, RoundTripEveryDtypeWithMetadata) {
  TempDir dir;
  const std::vector<std::pair<std::string, Tensor>> tensors = {
      {"u8", patterned({3}, DType::U8, 1)},  // odd byte count first: the writer must still align the rest
      {"bf16.odd", patterned({3, 5}, DType::BF16, 2)},
      {"f32", patterned({2, 3, 4}, DType::F32, 3)},
      {"f16", patterned({7}, DType::F16, 4)},
      {"i32", patterned({1, 1}, DType::I32, 5)},
      {"i64", patterned({5}, DType::I64, 6)},
      {"scalar", Tensor::from_floats({42.5f}, {})},
      {"empty", Tensor::empty({0, 4}, DType::F32)},
      {"encoder.block.0.layer.0.SelfAttention.q.weight", patterned({6, 8}, DType::F32, 7)},
  };
  const std::map<std::string, std::string> meta = {
      {"format", "pt"}, {"quote\"and\\slash", "line\nbreak \u00e9\u6f22"}, {"empty", ""}};
  const std::string path = dir.file("all.safetensors");
  save_safetensors(path, tensors, meta);

  const SafetensorsFile f = SafetensorsFile::open(path);
  EXPECT_EQ(f.path(), path);
  EXPECT_EQ(f.metadata(), meta);
  EXPECT_EQ(f.names().size(), tensors.size());
  const uint64_t data_start = read_bytes(path).size() - f.data_bytes();
  EXPECT_EQ(data_start % 8, 0u);
  for (const auto& [name, t] : tensors) {
    ASSERT_TRUE(f.contains(name)) << name;
    const SafetensorsEntry& e = f.entry(name);
    EXPECT_EQ(e.shape, t.shape()) << name;
    EXPECT_EQ(e.dtype, t.dtype()) << name;
    // Alignment as in the reference writer: the data section starts at a multiple of 8 and every
    // tensor at a multiple of its element size.
    EXPECT_EQ((data_start + e.begin) % dtype_size(t.dtype()), 0u) << name;
    EXPECT_TRUE(same_bytes(f.load(name), t)) << name;
  }
  EXPECT_FALSE(f.contains("nope"));
  // Writer order: element size descending, stable.
  const std::vector<std::string> expected_order = {
      "i64", "f32", "i32", "scalar", "empty", "encoder.block.0.layer.0.SelfAttention.q.weight", "bf16.odd", "f16", "u8"};
  EXPECT_EQ(f.names(), expected_order);

  // Conversions.
  const Tensor bf = tensors[1].second;
  EXPECT_EQ(f.load_f32("bf16.odd").to_floats(), bf.to_floats());
  EXPECT_EQ(f.load_f32("f16").to_floats().size(), 7u);
  const std::vector<float> h = f.load_f32("f16").to_floats();
  const std::vector<float> h_ref = tensors[3].second.to_floats();
  for (size_t i = 0; i < h.size(); ++i)
    EXPECT_TRUE(h[i] == h_ref[i] || (std::isnan(h[i]) && std::isnan(h_ref[i]))) << i;
  EXPECT_EQ(f.load_f32("scalar").to_floats(), std::vector<float>{42.5f});
  EXPECT_EQ(f.load_f32("empty").shape(), (Shape{0, 4}));
  const Tensor i32 = f.load_i32("i32");
  EXPECT_TRUE(same_bytes(i32, tensors[4].second));

  // The in-memory writer and reader give the same bytes and tensors.
  const std::string bytes = safetensors_bytes(tensors, meta);
  EXPECT_EQ(bytes, read_bytes(path));
  const SafetensorsFile m = SafetensorsFile::from_bytes(bytes, "blob");
  EXPECT_EQ(m.names(), f.names());
  EXPECT_TRUE(same_bytes(m.load("f32"), tensors[2].second));

  // No temporary file is left beside the output.
  EXPECT_EQ(dir.listing(), std::vector<std::string>{"all.safetensors"});
}

TEST(Safetensors, EmptyFileRoundTrip) {
  TempDir dir;
  save_safetensors(dir.file("e.safetensors"), {});
  const SafetensorsFile f = SafetensorsFile::open(dir.file("e.safetensors"));
  EXPECT_TRUE(f.names().empty());
  EXPECT_TRUE(f.metadata().empty());
  EXPECT_EQ(f.data_bytes(), 0u);
}

// ------------------------------------------------------------------ goldens from the reference writers

TEST(Safetensors, ReadsFileWrittenByPythonSafetensors) {
  const std::string path = kGolden + "/fixture.safetensors";
  const SafetensorsFile f = SafetensorsFile::open(path);
  EXPECT_EQ(f.metadata(), (std::map<std::string, std::string>{{"format", "pt"}, {"source", "gen_safetensors_fixture.py"}}));
  EXPECT_EQ(f.names().size(), 12u);

  Tensor t = f.load("f32");
  ASSERT_EQ(t.shape(), (Shape{2, 3}));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t.f32()[i], i * 0.5f - 1.25f) << i;

  t = f.load("bf16");
  EXPECT_EQ(t.dtype(), DType::BF16);
  ASSERT_EQ(t.shape(), (Shape{3, 5}));
  std::vector<float> v = f.load_f32("bf16").to_floats();
  for (int i = 0; i < 15; ++i) EXPECT_EQ(v[i], i * 0.25f - 1.0f) << i;

  EXPECT_EQ(f.load("f16").dtype(), DType::F16);
  v = f.load_f32("f16").to_floats();
  ASSERT_EQ(f.entry("f16").shape, (Shape{2, 2, 2}));
  for (int i = 0; i < 8; ++i) EXPECT_EQ(v[i], i * 0.125f - 0.5f) << i;
  v = f.load_f32("f16_special").to_floats();
  EXPECT_EQ(v, (std::vector<float>{INFINITY, -INFINITY, std::ldexp(1.0f, -24), 65504.0f}));

  EXPECT_EQ(f.entry("f64").file_dtype, "F64");
  expect_error([&] { f.load("f64"); }, {path, "'f64'", "load_f32"});
  v = f.load_f32("f64").to_floats();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(v[i], static_cast<float>(i / 3.0)) << i;

  t = f.load("i64");
  EXPECT_EQ(t.dtype(), DType::I64);
  EXPECT_EQ(t.data<int64_t>()[2], 2147483647);
  t = f.load_i32("i64");
  EXPECT_EQ(std::vector<int32_t>(t.i32(), t.i32() + 4), (std::vector<int32_t>{0, -1, 2147483647, -2147483647 - 1}));
  expect_error([&] { f.load_i32("i64_big"); }, {path, "'i64_big'", "element 1 = 2147483648", "int32"});

  t = f.load_i32("i32");
  EXPECT_EQ(std::vector<int32_t>(t.i32(), t.i32() + 4), (std::vector<int32_t>{-7, 0, 7, 123456789}));
  t = f.load("u8");
  EXPECT_EQ(std::vector<uint8_t>(t.data<uint8_t>(), t.data<uint8_t>() + 3), (std::vector<uint8_t>{0, 128, 255}));
  t = f.load("bool");
  EXPECT_EQ(t.dtype(), DType::U8);
  EXPECT_EQ(f.entry("bool").file_dtype, "BOOL");
  EXPECT_EQ(std::vector<uint8_t>(t.data<uint8_t>(), t.data<uint8_t>() + 4), (std::vector<uint8_t>{1, 0, 1, 1}));

  t = f.load_f32("scalar");
  EXPECT_EQ(t.ndim(), 0);
  EXPECT_EQ(t.f32()[0], 42.0f);
  EXPECT_EQ(f.load("empty").shape(), (Shape{0, 3}));

  expect_error([&] { f.load_f32("i32"); }, {path, "'i32'", "I32"});
  expect_error([&] { f.load_i32("f32"); }, {path, "'f32'", "F32"});
  expect_error([&] { f.entry("missing.weight"); }, {path, "'missing.weight'"});
}

TEST(Safetensors, ReadsShardedCheckpointWrittenByTransformers) {
  const std::string dir = kGolden + "/t5_sharded";
  const SafetensorsCheckpoint c = SafetensorsCheckpoint::open(dir);
  EXPECT_EQ(c.files().size(), 3u);
  std::ifstream ef(dir + "/expected.json");
  std::stringstream es;
  es << ef.rdbuf();
  const boost::json::object expected = boost::json::parse(es.str()).as_object();
  EXPECT_EQ(c.names().size(), expected.size());
  for (const auto& kv : expected) {
    const std::string name(kv.key());
    ASSERT_TRUE(c.contains(name)) << name;
    Shape shape;
    for (const auto& d : kv.value().at("shape").as_array()) shape.push_back(d.as_int64());
    const std::vector<float> v = c.load_f32(name, shape).to_floats();
    const auto& first = kv.value().at("first").as_array();
    for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(v[i], static_cast<float>(first[i].to_number<double>())) << name;
    double sum = 0;
    for (float x : v) sum += x;
    EXPECT_NEAR(sum, kv.value().at("sum").to_number<double>(), 1e-5) << name;
    EXPECT_EQ(fs::path(c.file_of(name)).parent_path(), fs::path(dir));
  }
  const std::string q = "encoder.block.0.layer.0.SelfAttention.q.weight";
  EXPECT_EQ(c.entry(q).shape, (Shape{6, 8}));
  expect_error([&] { c.load_f32(q, {8, 6}); },
               {c.file_of(q) + ": tensor '" + q + "' has shape [6, 8], expected [8, 6]"});
  expect_error([&] { c.load_f32("encoder.block.9.layer.0.SelfAttention.q.weight", {6, 8}); },
               {dir + "/model.safetensors.index.json: missing tensor 'encoder.block.9.layer.0.SelfAttention.q.weight'"});
  // The index file itself opens the same checkpoint.
  EXPECT_EQ(SafetensorsCheckpoint::open(dir + "/model.safetensors.index.json").names(), c.names());
}

// ------------------------------------------------------------------ sharded checkpoints from C++

std::string index_json(const std::vector<std::pair<std::string, std::string>>& weight_map) {
  boost::json::object wm;
  for (const auto& [k, v] : weight_map) wm[k] = v;
  return boost::json::serialize(boost::json::object{{"metadata", {{"total_size", 0}}}, {"weight_map", wm}});
}

TEST(Safetensors, ShardedCheckpoint) {
  TempDir dir;
  const Tensor a = patterned({4, 3}, DType::F32, 1), b = patterned({2}, DType::BF16, 2), c = patterned({5}, DType::F16, 3);
  save_safetensors(dir.file("model-00001-of-00002.safetensors"), {{"shared.weight", a}, {"b", b}});
  save_safetensors(dir.file("model-00002-of-00002.safetensors"), {{"lm_head.weight", c}});
  write_bytes(dir.file("model.safetensors.index.json"),
              index_json({{"shared.weight", "model-00001-of-00002.safetensors"},
                          {"b", "model-00001-of-00002.safetensors"},
                          {"lm_head.weight", "model-00002-of-00002.safetensors"}}));
  const SafetensorsCheckpoint ck = SafetensorsCheckpoint::open(dir.path.string());
  EXPECT_EQ(ck.names(), (std::vector<std::string>{"shared.weight", "b", "lm_head.weight"}));
  EXPECT_TRUE(ck.contains("b"));
  EXPECT_FALSE(ck.contains("c"));
  EXPECT_EQ(ck.file_of("lm_head.weight"), dir.file("model-00002-of-00002.safetensors"));
  EXPECT_EQ(ck.file_of("b"), dir.file("model-00001-of-00002.safetensors"));
  EXPECT_EQ(ck.load_f32("shared.weight", {4, 3}).to_floats(), a.to_floats());
  EXPECT_EQ(ck.load_f32("b", {2}).to_floats(), b.to_floats());
  EXPECT_EQ(ck.load_f32("lm_head.weight", {5}).to_floats(), c.to_floats());
  expect_error([&] { ck.file_of("c"); }, {"model.safetensors.index.json", "missing tensor 'c'"});
  // A model.safetensors beside the index takes precedence (transformers' order).
  save_safetensors(dir.file("model.safetensors"), {{"x", a}});
  EXPECT_EQ(SafetensorsCheckpoint::open(dir.path.string()).names(), std::vector<std::string>{"x"});
  EXPECT_EQ(SafetensorsCheckpoint::open(dir.file("model.safetensors.index.json")).names().size(), 3u);

  // A directory with a single model.safetensors, and a path to that file.
  TempDir single;
  save_safetensors(single.file("model.safetensors"), {{"x", a}});
  EXPECT_EQ(SafetensorsCheckpoint::open(single.path.string()).names(), std::vector<std::string>{"x"});
  const SafetensorsCheckpoint direct = SafetensorsCheckpoint::open(single.file("model.safetensors"));
  EXPECT_EQ(direct.file_of("x"), single.file("model.safetensors"));
  expect_error([&] { direct.load_f32("x", {3, 4}); },
               {single.file("model.safetensors") + ": tensor 'x' has shape [4, 3], expected [3, 4]"});
  expect_error([&] { direct.load_f32("y", {1}); }, {single.file("model.safetensors") + ": missing tensor 'y'"});
}

TEST(Safetensors, ShardedCheckpointBadInputs) {
  TempDir dir;
  save_safetensors(dir.file("s1.safetensors"), {{"a", patterned({2}, DType::F32, 1)}});
  const std::string idx = dir.file("model.safetensors.index.json");
  auto open_with = [&](const std::string& text) {
    write_bytes(idx, text);
    return SafetensorsCheckpoint::open(dir.path.string());
  };
  expect_error([&] { open_with("{\"weight_map\": {\"a\": \"s1.safetensors\""); }, {idx, "not valid JSON"});
  expect_error([&] { open_with("[1]"); }, {idx, "must be a JSON object"});
  expect_error([&] { open_with("{\"metadata\": {}}"); }, {idx, "'weight_map' is missing"});
  expect_error([&] { open_with("{\"weight_map\": [\"a\"]}"); }, {idx, "'weight_map' must be an object"});
  expect_error([&] { open_with("{\"weight_map\": {}}"); }, {idx, "'weight_map' is empty"});
  expect_error([&] { open_with("{\"weight_map\": {\"a\": 3}}"); }, {idx, "weight_map['a']", "file name"});
  expect_error([&] { open_with(index_json({{"a", "s1.safetensors"}, {"b", "s2.safetensors"}})); },
               {idx, "shard 's2.safetensors'", "tensor 'b'", "not found"});
  expect_error([&] { open_with(index_json({{"a", "s1.safetensors"}, {"zz", "s1.safetensors"}})); },
               {idx, "tensor 'zz'", "absent from its shard", "s1.safetensors"});
  expect_error([&] { open_with(index_json({{"a", "../s1.safetensors"}})); }, {idx, "weight_map['a']", "beside the index"});
  expect_error([&] { open_with(index_json({{"a", "/etc/passwd"}})); }, {idx, "weight_map['a']", "beside the index"});
  expect_error([&] { open_with("{\"weight_map\": {\"a\": \"s1.safetensors\", \"a\": \"s1.safetensors\"}}"); },
               {idx, "tensor 'a' twice"});
  // A broken shard reports the shard's own file.
  write_bytes(dir.file("s3.safetensors"), "tiny");
  expect_error([&] { open_with(index_json({{"a", "s3.safetensors"}})); }, {dir.file("s3.safetensors"), "shorter"});

  TempDir empty;
  expect_error([&] { SafetensorsCheckpoint::open(empty.path.string()); },
               {empty.path.string(), "no model.safetensors"});
  expect_error([&] { SafetensorsCheckpoint::open(empty.file("nothing.safetensors")); },
               {empty.file("nothing.safetensors"), "cannot open"});
}

// ------------------------------------------------------------------ malformed files

struct BadCase {
  const char* label;
  std::string bytes;
  std::vector<std::string> parts;  // substrings the error must contain (besides the file path)
};

std::string entry(const std::string& name, const std::string& dtype, const std::string& shape, uint64_t b, uint64_t e) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" +
         std::to_string(b) + "," + std::to_string(e) + "]}";
}

std::vector<BadCase> bad_cases() {
  std::string huge(8, '\0');
  const uint64_t absurd = 200'000'000;
  std::memcpy(huge.data(), &absurd, 8);
  std::string too_big(8, '\0');
  const uint64_t n = 64;
  std::memcpy(too_big.data(), &n, 8);
  too_big += "{}";
  const std::string w = entry("w", "F32", "[2,2]", 0, 16);
  return {
      {"empty file", "", {"shorter than the 8-byte header size"}},
      {"short file", "\x01\x02\x03\x04\x05", {"5 bytes", "shorter"}},
      {"absurd header size", huge, {"header size 200000000", "absurd"}},
      {"header beyond file", too_big, {"header size 64", "larger than the file"}},
      {"invalid json", raw_file("{\"w\": {\"dtype\": ", 0), {"not valid JSON"}},
      {"not utf-8", raw_file("{\"\xff\xfe\":{}}", 0), {"not valid JSON"}},
      {"zero-length header", raw_file("", 0), {"not valid JSON"}},
      {"header array", raw_file("[1,2]", 0), {"must be a JSON object", "an array"}},
      {"entry not object", raw_file("{\"w\": [1]}", 0), {"tensor 'w'", "entry must be an object"}},
      {"missing dtype", raw_file("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), {"tensor 'w'", "'dtype' is missing"}},
      {"missing shape", raw_file("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4), {"tensor 'w'", "'shape' is missing"}},
      {"missing offsets", raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), {"tensor 'w'", "'data_offsets' is missing"}},
      {"dtype not string", raw_file("{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
       {"tensor 'w'", "'dtype' must be a string"}},
      {"shape not array", raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":\"1\",\"data_offsets\":[0,4]}}", 4),
       {"tensor 'w'", "'shape' must be an array"}},
      {"offsets not array", raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{}}}", 4),
       {"tensor 'w'", "'data_offsets' must be an array"}},
      {"offsets of three", raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4),
       {"tensor 'w'", "'data_offsets' must hold 2 integers"}},
      {"offset negative", raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4),
       {"tensor 'w'", "data_offsets[0]", "non-negative"}},
      {"offset not integer", raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.0]}}", 4),
       {"tensor 'w'", "data_offsets[1]", "non-integer"}},
      {"unknown dtype", raw_file("{" + entry("w", "F33", "[2,2]", 0, 16) + "}", 16), {"tensor 'w'", "unknown dtype 'F33'"}},
      {"unsupported dtype", raw_file("{" + entry("w", "I8", "[2,2]", 0, 4) + "}", 4), {"tensor 'w'", "unsupported dtype 'I8'"}},
      {"negative dim", raw_file("{" + entry("w", "F32", "[2,-2]", 0, 16) + "}", 16), {"tensor 'w'", "shape[1]", "non-negative"}},
      {"fractional dim", raw_file("{" + entry("w", "F32", "[2.5,2]", 0, 16) + "}", 16), {"tensor 'w'", "shape[0]", "non-integer"}},
      {"string dim", raw_file("{" + entry("w", "F32", "[\"2\",2]", 0, 16) + "}", 16), {"tensor 'w'", "shape[0]", "a string"}},
      {"huge dim", raw_file("{" + entry("w", "F32", "[18446744073709551615]", 0, 16) + "}", 16), {"tensor 'w'", "shape[0]", "too large"}},
      {"shape overflow", raw_file("{" + entry("w", "F32", "[4294967296,4294967296,2]", 0, 16) + "}", 16),
       {"tensor 'w'", "overflows"}},
      {"partial product beyond int64", raw_file("{" + entry("w", "F32", "[4611686018427387904,2,0]", 0, 0) + "}", 0),
       {"tensor 'w'", "overflows"}},
      {"bytes overflow", raw_file("{" + entry("w", "F64", "[4611686018427387904]", 0, 16) + "}", 16),
       {"tensor 'w'", "overflows"}},
      {"zero dim after overflow", raw_file("{" + entry("w", "F32", "[4294967296,4294967296,4,0]", 0, 0) + "}", 0),
       {"tensor 'w'", "overflows"}},
      {"begin after end", raw_file("{" + entry("w", "F32", "[2,2]", 16, 0) + "}", 16), {"tensor 'w'", "begin 16 > end 0"}},
      {"end beyond data", raw_file("{" + entry("w", "F32", "[2,2]", 0, 16) + "}", 12), {"tensor 'w'", "end 16", "beyond the data section (12 bytes)"}},
      {"size mismatch", raw_file("{" + entry("w", "F32", "[2,3]", 0, 16) + "}", 16), {"tensor 'w'", "hold 16 bytes", "needs 24"}},
      {"overlap", raw_file("{" + w + "," + entry("v", "F32", "[2]", 8, 16) + "," + entry("u", "F32", "[2]", 16, 24) + "}", 24),
       {"tensor 'v'", "overlap tensor 'w'"}},
      {"hole", raw_file("{" + w + "," + entry("v", "F32", "[2]", 20, 28) + "}", 28), {"tensor 'v'", "hole of 4 bytes", "after tensor 'w'"}},
      {"hole at start", raw_file("{" + entry("w", "F32", "[2,2]", 8, 24) + "}", 24), {"tensor 'w'", "hole of 8 bytes", "at the start"}},
      {"trailing bytes", raw_file("{" + w + "}", 20), {"4 bytes after the last tensor 'w'", "not covered"}},
      {"data but no tensors", raw_file("{}", 3), {"3 bytes after the last tensor", "not covered"}},
      {"duplicate tensor", raw_file("{" + w + "," + entry("w", "F32", "[2,2]", 16, 32) + "}", 32), {"duplicate tensor name 'w'"}},
      {"duplicate field", raw_file("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
       {"tensor 'w'", "duplicate field 'dtype'"}},
      {"metadata not object", raw_file("{\"__metadata__\":[1]}", 0), {"'__metadata__' must be an object"}},
      {"metadata value not string", raw_file("{\"__metadata__\":{\"epoch\":3}}", 0), {"__metadata__ 'epoch' must be a string"}},
      {"metadata duplicate key", raw_file("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0), {"__metadata__", "duplicate key 'k'"}},
      {"deep nesting", raw_file("{\"w\":" + std::string(40, '[') + std::string(40, ']') + "}", 0), {"not valid JSON"}},
  };
}

TEST(Safetensors, RejectsMalformedFilesNamingFileAndField) {
  TempDir dir;
  for (const BadCase& c : bad_cases()) {
    SCOPED_TRACE(c.label);
    const std::string path = dir.file("bad.safetensors");
    write_bytes(path, c.bytes);
    std::vector<std::string> parts = c.parts;
    parts.push_back(path + ": ");
    expect_error([&] { SafetensorsFile::open(path); }, parts);
    // The in-memory reader applies the same rules.
    parts.back() = "blob: ";
    expect_error([&] { SafetensorsFile::from_bytes(c.bytes, "blob"); }, parts);
  }
}

TEST(Safetensors, AcceptsWhatTheReferenceAccepts) {
  // Zero-size tensors sharing an offset, an unknown extra field, leading/trailing whitespace, a
  // null __metadata__, and an entry order unlike the data order.
  const std::string header = " {\"__metadata__\":null," + entry("b", "F32", "[1]", 4, 8) + "," +
                             entry("z1", "F32", "[0]", 4, 4) + "," + entry("z2", "BF16", "[3,0]", 4, 4) + "," +
                             "\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4],\"extra\":{\"x\":1}}}   ";
  const SafetensorsFile f = SafetensorsFile::from_bytes(raw_file(header, 8), "ok");
  EXPECT_EQ(f.names(), (std::vector<std::string>{"b", "z1", "z2", "a"}));
  EXPECT_TRUE(f.metadata().empty());
  EXPECT_EQ(f.load("z2").shape(), (Shape{3, 0}));
  EXPECT_EQ(f.load("a").data<uint8_t>()[3], 0x5a);
}

// Inputs that once made the fuzzer (fuzz/) fail: each must now open or throw spot::Error, and
// whatever opens must load.
TEST(Safetensors, FuzzRegressionsOpenOrThrow) {
  const fs::path dir = fs::path(SPOT_SOURCE_DIR) / "fuzz" / "regressions";
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    SCOPED_TRACE(e.path().string());
    ++n;
    SafetensorsFile f;
    try {
      f = SafetensorsFile::open(e.path().string());
    } catch (const Error& err) {
      EXPECT_EQ(std::string(err.what()).rfind(e.path().string() + ": ", 0), 0u) << err.what();
      continue;
    }
    for (const SafetensorsEntry& t : f.entries())
      EXPECT_EQ((t.file_dtype == "F64" ? f.load_f32(t.name) : f.load(t.name)).shape(), t.shape) << t.name;
  }
  EXPECT_GT(n, 0) << "no regression inputs in " << dir;
}

TEST(Safetensors, OpenRejectsNonFiles) {
  TempDir dir;
  expect_error([&] { SafetensorsFile::open(dir.path.string()); }, {dir.path.string(), "not a regular file"});
  expect_error([&] { SafetensorsFile::open(dir.file("absent.safetensors")); },
               {dir.file("absent.safetensors"), "cannot open"});
}

// ------------------------------------------------------------------ writer

TEST(Safetensors, SaveRejectsBadTensorSets) {
  TempDir dir;
  const std::string path = dir.file("p.safetensors");
  const Tensor a = patterned({2}, DType::F32, 1);
  expect_error([&] { save_safetensors(path, {{"a", a}, {"a", a}}); }, {path, "tensor 'a' is given twice"});
  expect_error([&] { save_safetensors(path, {{"__metadata__", a}}); }, {path, "reserved"});
  expect_error([&] { save_safetensors(path, {{"", a}}); }, {path, "empty name"});
  expect_error([&] { save_safetensors(path, {{"a", a}, {"u", Tensor()}}); }, {path, "tensor 'u' is undefined"});
  expect_error([&] { save_safetensors(dir.file("no/such/dir/p.safetensors"), {{"a", a}}); },
               {dir.file("no/such/dir/p.safetensors"), "cannot create temporary file"});
  EXPECT_TRUE(dir.listing().empty());
}

// Old file content after a failed save: intact, and no temporary file left in the directory.
TEST(Safetensors, AtomicSaveKeepsOldFileWhenSaveFails) {
  TempDir dir;
  const std::string path = dir.file("prompt.safetensors");
  const Tensor old_prompt = patterned({100, 16}, DType::F32, 1);
  save_safetensors(path, {{"prompt", old_prompt}}, {{"step", "500"}});
  const std::string old_bytes = read_bytes(path);

  // (1) A tensor set that fails validation partway through: nothing is written.
  expect_error([&] { save_safetensors(path, {{"prompt", patterned({100, 16}, DType::F32, 2)}, {"bad", Tensor()}}); },
               {path, "'bad'"});
  EXPECT_EQ(read_bytes(path), old_bytes);
  EXPECT_EQ(dir.listing(), std::vector<std::string>{"prompt.safetensors"});

  // (2) A write that fails midway through the data (file size limit: write() returns EFBIG once
  // 64 KiB are written, while the new file needs 4 MB).
  struct sigaction ign{}, old_act{};
  ign.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ign, &old_act), 0);
  struct rlimit old_lim{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_lim), 0);
  struct rlimit lim = old_lim;
  lim.rlim_cur = 64 * 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &lim), 0);
  bool threw = false;
  std::string message;
  try {
    save_safetensors(path, {{"prompt", patterned({1000, 1000}, DType::F32, 3)}});
  } catch (const Error& e) {
    threw = true;
    message = e.what();
  }
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_lim), 0);
  ASSERT_EQ(::sigaction(SIGXFSZ, &old_act, nullptr), 0);
  EXPECT_TRUE(threw);
  EXPECT_NE(message.find(path + ": write failed"), std::string::npos) << message;
  EXPECT_EQ(read_bytes(path), old_bytes);
  EXPECT_EQ(dir.listing(), std::vector<std::string>{"prompt.safetensors"});

  // And a normal save replaces it.
  const Tensor new_prompt = patterned({100, 16}, DType::F32, 4);
  save_safetensors(path, {{"prompt", new_prompt}}, {{"step", "1000"}});
  const SafetensorsFile f = SafetensorsFile::open(path);
  EXPECT_TRUE(same_bytes(f.load("prompt"), new_prompt));
  EXPECT_EQ(f.metadata().at("step"), "1000");
  EXPECT_EQ(dir.listing(), std::vector<std::string>{"prompt.safetensors"});
}

// A writer killed (SIGKILL) at a random moment leaves at `path` either the previous complete file
// or the next complete file, never a truncated one.
TEST(Safetensors, AtomicSaveSurvivesKilledWriter) {
  TempDir dir;
  const std::string path = dir.file("ckpt.safetensors");
  const Tensor a = patterned({1 << 20}, DType::F32, 1);  // 4 MB each
  const Tensor b = patterned({1 << 20}, DType::F32, 2);
  save_safetensors(path, {{"w", a}}, {{"which", "a"}});
  std::mt19937 rng(1234);
  for (int round = 0; round < 6; ++round) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Child: rewrite the file forever, alternating the two contents.
      for (int i = 0;; ++i) {
        try {
          save_safetensors(path, {{"w", i % 2 ? a : b}}, {{"which", i % 2 ? "a" : "b"}});
        } catch (...) {
          ::_exit(3);
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 60));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer exited by itself (status " << status << ")";
    const SafetensorsFile f = SafetensorsFile::open(path);
    const Tensor w = f.load("w");
    EXPECT_TRUE(same_bytes(w, f.metadata().at("which") == "a" ? a : b)) << "round " << round;
    // The killed writer may leave its hidden temporary file behind (it cannot clean up after
    // SIGKILL); remove it so the next round starts clean.
    for (const std::string& name : dir.listing())
      if (name != "ckpt.safetensors") fs::remove(dir.path / name);
  }
}

}  // namespace
}  // namespace spot::io
