// tiny_t5.h — the tiny T5 the command-line tests run `spot` on: the committed golden T5 v1.0
// checkpoint (d_model 48, 2+3 layers) with its vocabulary widened to the T5 SentencePiece model's
// 32128 ids (row i is golden row i mod 301), so that the real tokenizer and every T5 code path run
// in milliseconds.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "io/cache.h"
#include "io/safetensors.h"

namespace spot::test {

// Writes config.json and model.safetensors into `dir` (a `--model t5:<dir>`).
inline void write_tiny_t5(const std::filesystem::path& dir) {
  const std::filesystem::path golden = std::filesystem::path(SPOT_SOURCE_DIR) / "tests/golden/t5/v1_0";
  std::filesystem::create_directories(dir);
  std::string cfg = io::read_file((golden / "config.json").string());
  const std::string key = "\"vocab_size\": 301";
  ASSERT_NE(cfg.find(key), std::string::npos);
  cfg.replace(cfg.find(key), key.size(), "\"vocab_size\": 32128");
  std::ofstream(dir / "config.json", std::ios::binary) << cfg;
  const io::SafetensorsFile f = io::SafetensorsFile::open((golden / "model.safetensors").string());
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const std::string& name : f.names()) {
    Tensor t = f.load_f32(name);
    if (name == "shared.weight") {
      const int64_t V = 32128, d = t.dim(1), v0 = t.dim(0);
      Tensor w = Tensor::empty({V, d});
      for (int64_t i = 0; i < V; ++i)
        std::memcpy(w.f32() + i * d, t.f32() + (i % v0) * d, sizeof(float) * static_cast<size_t>(d));
      t = w;
    }
    tensors.emplace_back(name, t);
  }
  io::save_safetensors((dir / "model.safetensors").string(), tensors, {{"format", "pt"}});
}

}  // namespace spot::test
