// fuzz_safetensors.cpp — libFuzzer harness for io/safetensors.
// Every input is read twice, from memory (SafetensorsFile::from_bytes) and from a file through
// mmap (SafetensorsFile::open); both must agree. When it opens, every tensor is loaded through
// each of load / load_f32 / load_i32 (each either succeeds or throws spot::Error), and what loads
// is written back with safetensors_bytes and read again, which must give the same tensors and
// metadata. Anything else — a crash, a sanitizer report, a leak, another exception type, or a
// disagreement — aborts and is a finding. Build: fuzz/build.sh; run: tools/fuzz.sh.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "io/safetensors.h"

namespace {

using spot::Error;
using spot::Tensor;
using spot::io::SafetensorsFile;

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "fuzz_safetensors: %s\n", what.c_str());
  std::abort();
}

// The error text without the leading "<label>: ", for comparing the two readers' errors.
std::string strip_label(const std::string& msg, const std::string& label) {
  const std::string prefix = label + ": ";
  if (msg.compare(0, prefix.size(), prefix) != 0) finding("error does not start with the file name: " + msg);
  return msg.substr(prefix.size());
}

const std::string& temp_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("FUZZ_TMPDIR");
    return std::string(dir ? dir : "/dev/shm") + "/fuzz_safetensors." + std::to_string(::getpid());
  }();
  return path;
}

void write_file(const std::string& path, const uint8_t* data, size_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) finding("cannot create " + path);
  size_t done = 0;
  while (done < size) {
    const ssize_t w = ::write(fd, data + done, size - done);
    if (w <= 0) finding("cannot write " + path);
    done += static_cast<size_t>(w);
  }
  ::close(fd);
}

bool same(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string label = "fuzz-input";
  std::string mem_error, file_error;
  SafetensorsFile mem, file;
  bool mem_ok = false, file_ok = false;
  try {
    mem = SafetensorsFile::from_bytes(std::string(reinterpret_cast<const char*>(data), size), label);
    mem_ok = true;
  } catch (const Error& e) {
    mem_error = strip_label(e.what(), label);
  }
  const std::string& path = temp_path();
  write_file(path, data, size);
  try {
    file = SafetensorsFile::open(path);
    file_ok = true;
  } catch (const Error& e) {
    file_error = strip_label(e.what(), path);
  }
  ::unlink(path.c_str());
  if (mem_ok != file_ok || mem_error != file_error)
    finding("memory and file readers disagree: '" + mem_error + "' vs '" + file_error + "'");
  if (!mem_ok) return 0;
  if (mem.names() != file.names() || mem.metadata() != file.metadata()) finding("memory and file readers disagree on names");

  // Load everything; keep what loads to write it back.
  std::vector<std::pair<std::string, Tensor>> loaded;
  for (const spot::io::SafetensorsEntry& e : mem.entries()) {
    Tensor native, f32, i32;
    try {
      native = mem.load(e.name);
    } catch (const Error&) {
    }
    try {
      f32 = mem.load_f32(e.name);
    } catch (const Error&) {
    }
    try {
      i32 = mem.load_i32(e.name);
    } catch (const Error&) {
    }
    // Every tensor loads one way or another: F64 through load_f32, the rest through load.
    if (!native.defined() && !f32.defined()) finding("tensor '" + e.name + "' loads neither natively nor as f32");
    if (native.defined() && !same(native, file.load(e.name))) finding("mmap and memory loads differ for '" + e.name + "'");
    loaded.emplace_back(e.name, native.defined() ? native : f32);
  }

  const std::string again = spot::io::safetensors_bytes(loaded, mem.metadata());
  const SafetensorsFile back = SafetensorsFile::from_bytes(again, "round-trip");
  if (back.metadata() != mem.metadata()) finding("metadata changed in a round trip");
  for (const auto& [name, t] : loaded)
    if (!same(back.load(name), t)) finding("tensor '" + name + "' changed in a round trip");
  return 0;
}
