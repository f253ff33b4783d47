// safetensors_bench.cpp — load and save speed of io/safetensors on a checkpoint shaped like
// t5-small (HF tensor names, 60.5M parameters: 242 MB in F32, 121 MB in BF16), against the time
// to read() the same file into memory. Warm runs read from the page cache; cold runs evict the
// file first (posix_fadvise DONTNEED, this file only).
//   spot_safetensors_bench [DIR]   (default: the system temp directory)
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "io/safetensors.h"

namespace {

using namespace spot;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// t5-small: d_model 512, d_ff 2048, 8 heads x 64, 6 encoder + 6 decoder layers, vocab 32128.
std::vector<std::pair<std::string, Shape>> t5_small_tensors() {
  const int64_t d = 512, ff = 2048, inner = 512, vocab = 32128, buckets = 32;
  std::vector<std::pair<std::string, Shape>> t = {{"shared.weight", {vocab, d}}};
  for (const std::string stack : {"encoder", "decoder"}) {
    for (int i = 0; i < 6; ++i) {
      const std::string b = stack + ".block." + std::to_string(i) + ".layer.";
      for (const char* m : {"q", "k", "v"}) t.push_back({b + "0.SelfAttention." + m + ".weight", {inner, d}});
      t.push_back({b + "0.SelfAttention.o.weight", {d, inner}});
      if (i == 0) t.push_back({b + "0.SelfAttention.relative_attention_bias.weight", {buckets, 8}});
      t.push_back({b + "0.layer_norm.weight", {d}});
      int l = 1;
      if (stack == "decoder") {
        for (const char* m : {"q", "k", "v"}) t.push_back({b + "1.EncDecAttention." + m + ".weight", {inner, d}});
        t.push_back({b + "1.EncDecAttention.o.weight", {d, inner}});
        t.push_back({b + "1.layer_norm.weight", {d}});
        l = 2;
      }
      t.push_back({b + std::to_string(l) + ".DenseReluDense.wi.weight", {ff, d}});
      t.push_back({b + std::to_string(l) + ".DenseReluDense.wo.weight", {d, ff}});
      t.push_back({b + std::to_string(l) + ".layer_norm.weight", {d}});
    }
    t.push_back({stack + ".final_layer_norm.weight", {d}});
  }
  t.push_back({"lm_head.weight", {vocab, d}});
  return t;
}

void evict(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

// The baseline: read() the file into freshly allocated memory (as any loader must fill new
// tensors, the page faults of the destination are part of the cost).
double read_whole(const std::string& path, size_t size) {
  const auto t0 = Clock::now();
  Tensor buf = Tensor::empty({static_cast<int64_t>(size)}, DType::U8);
  auto* p = static_cast<char*>(buf.raw());
  const int fd = ::open(path.c_str(), O_RDONLY);
  size_t got = 0;
  for (ssize_t r; (r = ::read(fd, p + got, size - got)) > 0;) got += static_cast<size_t>(r);
  ::close(fd);
  return seconds_since(t0);
}

double load_all(const std::string& path, const std::vector<std::pair<std::string, Shape>>& tensors) {
  const auto t0 = Clock::now();
  const io::SafetensorsCheckpoint c = io::SafetensorsCheckpoint::open(path);
  double checksum = 0;
  for (const auto& [name, shape] : tensors) checksum += c.load_f32(name, shape).f32()[0];
  const double s = seconds_since(t0);
  if (checksum == 12345.678) std::printf("(checksum)\n");
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const std::filesystem::path dir = argc > 1 ? argv[1] : std::filesystem::temp_directory_path();
  const auto spec = t5_small_tensors();
  for (DType dtype : {DType::F32, DType::BF16}) {
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (const auto& [name, shape] : spec) {
      Tensor t = Tensor::empty(shape, DType::F32);
      float* p = t.f32();
      for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
      tensors.emplace_back(name, dtype == DType::F32 ? t : t.to_dtype(DType::BF16));
    }
    const std::string path = (dir / (std::string("spot_bench_t5_small_") + dtype_name(dtype) + ".safetensors")).string();
    auto t0 = Clock::now();
    io::save_safetensors(path, tensors);
    const double save_s = seconds_since(t0);
    tensors.clear();
    const double mb = static_cast<double>(std::filesystem::file_size(path)) / 1e6;
    std::printf("%s checkpoint: %zu tensors, %.1f MB; save (incl. fsync) %.3f s = %.0f MB/s\n", dtype_name(dtype),
                spec.size(), mb, save_s, mb / save_s);
    for (const char* mode : {"cold", "warm"}) {
      double best_read = 1e9, best_load = 1e9;
      for (int rep = 0; rep < 5; ++rep) {
        if (mode[0] == 'c') evict(path);
        best_read = std::min(best_read, read_whole(path, std::filesystem::file_size(path)));
        if (mode[0] == 'c') evict(path);
        best_load = std::min(best_load, load_all(path, spec));
      }
      std::printf("  %s: read() whole file %.3f s (%.0f MB/s); open + load_f32 of every tensor %.3f s (%.0f MB/s), "
                  "ratio %.2f\n",
                  mode, best_read, mb / best_read, best_load, mb / best_load, best_load / best_read);
    }
    std::filesystem::remove(path);
  }
  return 0;
}
