// test_data.h — where the tests find the shared data (../shared/data beside the repository: real
// GLUE, SuperGLUE and SPoT source tasks, the T5 SentencePiece model; never copied into the
// repository), and the loud skip when a piece of it is absent.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace spot::test {

// <source>/../shared/data, normalised.
inline std::string shared_data_dir() {
  return (std::filesystem::path(SPOT_SOURCE_DIR) / ".." / "shared" / "data").lexically_normal().string();
}

// A path below the shared data directory.
inline std::string shared_data(const std::string& rel) { return shared_data_dir() + "/" + rel; }

inline bool have_shared_data(const std::string& rel = "") {
  std::error_code ec;
  return std::filesystem::exists(rel.empty() ? shared_data_dir() : shared_data(rel), ec);
}

}  // namespace spot::test

// Skips the test, saying it was not verified, when `rel` (below the shared data) is absent.
#define SPOT_REQUIRE_SHARED_DATA(rel)                                                                      \
  if (!::spot::test::have_shared_data(rel))                                                                \
  GTEST_SKIP() << "SKIPPED (not verified): " << ::spot::test::shared_data(rel) << " is absent (../shared/data)"
