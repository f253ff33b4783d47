// test_golden_t5_buckets.cpp — t5_relative_position_buckets (kernels/attention.h) against HF's
// T5Attention._relative_position_bucket, tabulated in tests/golden/t5/relative_buckets.safetensors by
// tests/golden/gen_t5_goldens.py for relative positions -300..300, the tiny golden configs (8 buckets, max
// distance 20) and the real T5 configs (32, 128), both directions.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "kernels/attention.h"

namespace spot {
namespace {

// The int64 tensors of a small safetensors file (8-byte little-endian header length, JSON header, data).
std::map<std::string, std::vector<int64_t>> read_i64_tensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  SPOT_CHECK(in.good(), "cannot open " << path);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  SPOT_CHECK(bytes.size() >= 8, path << ": too short for a safetensors file");
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  SPOT_CHECK(header_len <= bytes.size() - 8, path << ": header length " << header_len << " past the end");
  const auto header = boost::json::parse(std::string_view(bytes).substr(8, header_len)).as_object();
  const size_t data = 8 + header_len;
  std::map<std::string, std::vector<int64_t>> out;
  for (const auto& [name, info] : header) {
    if (name == "__metadata__" || info.at("dtype").as_string() != "I64") continue;
    const auto& off = info.at("data_offsets").as_array();
    const auto begin = static_cast<size_t>(off[0].to_number<int64_t>());
    const auto end = static_cast<size_t>(off[1].to_number<int64_t>());
    SPOT_CHECK(begin <= end && data + end <= bytes.size() && (end - begin) % 8 == 0, path << ": bad offsets for " << name);
    std::vector<int64_t> values((end - begin) / 8);
    std::memcpy(values.data(), bytes.data() + data + begin, end - begin);
    out[std::string(name)] = std::move(values);
  }
  return out;
}

TEST(GoldenT5, RelativePositionBucketsMatchHf) {
  const auto golden = read_i64_tensors(std::string(SPOT_SOURCE_DIR) + "/tests/golden/t5/relative_buckets.safetensors");
  const auto& rel = golden.at("relative_position");
  ASSERT_EQ(rel.size(), 601u);
  ASSERT_EQ(rel.front(), -300);
  const int64_t n = 301;  // queries 0..300 against keys 0..300 cover j - i = -300..300
  int tables = 0;
  for (const bool bidirectional : {true, false}) {
    for (const auto& [buckets, max_distance] : {std::pair<int64_t, int64_t>{8, 20}, {32, 128}}) {
      const std::string name = std::string(bidirectional ? "bidirectional" : "unidirectional") + "_" +
                               std::to_string(buckets) + "_" + std::to_string(max_distance);
      const auto& expected = golden.at(name);
      const Tensor got = t5_relative_position_buckets(n, n, bidirectional, buckets, max_distance);
      int wrong = 0;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j) {
          const int64_t want = expected[static_cast<size_t>(j - i + 300)];
          if (got.i32()[i * n + j] != want && ++wrong <= 5)
            ADD_FAILURE() << name << ": relative position " << j - i << " gives bucket " << got.i32()[i * n + j]
                          << ", HF " << want;
        }
      EXPECT_EQ(wrong, 0) << name;
      ++tables;
    }
  }
  EXPECT_EQ(tables, 4);
}

}  // namespace
}  // namespace spot
