// fuzz_peft_adapter.cpp — libFuzzer harness for the PEFT prompt-tuning adapter import,
// SoftPrompt::import_peft (prompt/). The input is split in two: its first two bytes (little endian) give
// the length n of the adapter_config.json text that follows (clamped to what there is), the rest is
// adapter_model.safetensors; both are written to a per-process temp directory ($FUZZ_TMPDIR, default
// /dev/shm). The adapter is imported from the directory, from the tensor file, and through
// SoftPrompt::load of the tensor file (which must agree with import_peft). What imports must be a finite
// [num_virtual_tokens, token_dim] prompt as peft.num_virtual_tokens / peft.token_dim say, and exporting it
// with export_peft and importing that again must give the same bits. Importing either succeeds or throws
// spot::Error; anything else — another exception type, a crash, a sanitizer report, a leak or a broken
// invariant — aborts and is a finding. Build: fuzz/build.sh; run: tools/fuzz.sh (seeds:
// fuzz/seeds/fuzz_peft_adapter/, written by fuzz/make_prompt_seeds.py from tests/golden/peft).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>

#include "base/check.h"
#include "fuzz/fuzz_util.h"
#include "prompt/soft_prompt.h"

namespace {

constexpr const char* kHarness = "fuzz_peft_adapter";

using spot::SoftPrompt;
using spot::fuzz::finding;

bool same_bits(const SoftPrompt& a, const SoftPrompt& b) {
  return a.values.shape() == b.values.shape() && std::memcmp(a.values.f32(), b.values.f32(), a.values.nbytes()) == 0;
}

void check_imported(const SoftPrompt& p, const std::string& dir) {
  if (p.values.ndim() != 2) finding(kHarness, "imported a prompt that is not [L, d]");
  if (std::to_string(p.length()) != p.metadata.at("peft.num_virtual_tokens") ||
      std::to_string(p.dim()) != p.metadata.at("peft.token_dim"))
    finding(kHarness, "imported shape disagrees with num_virtual_tokens / token_dim");
  for (int64_t i = 0; i < p.values.numel(); ++i)
    if (!std::isfinite(p.values.f32()[i])) finding(kHarness, "imported a non-finite value");
  const std::string out = dir + "/export";
  p.export_peft(out, "fuzz", "CAUSAL_LM", 1, 1);
  if (!same_bits(SoftPrompt::import_peft(out, p.dim()), p)) finding(kHarness, "export -> import changed the prompt");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& root = spot::fuzz::temp_dir(kHarness);
  const std::string dir = root + "/adapter";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  size_t n = size >= 2 ? size_t(data[0]) | size_t(data[1]) << 8 : 0;
  const size_t rest = size >= 2 ? size - 2 : 0;
  if (n > rest) n = rest;
  const char* bytes = reinterpret_cast<const char*>(data) + (size >= 2 ? 2 : size);
  spot::fuzz::write_file(kHarness, dir + "/adapter_config.json", std::string_view(bytes, n));
  spot::fuzz::write_file(kHarness, dir + "/adapter_model.safetensors", std::string_view(bytes + n, rest - n));

  SoftPrompt from_dir;
  bool ok = false;
  spot::fuzz::only_spot_errors(kHarness, [&] {
    from_dir = SoftPrompt::import_peft(dir);
    ok = true;
    check_imported(from_dir, root);
  });
  // The tensor file's path and load() reach the same adapter: same outcome, same bits.
  spot::fuzz::only_spot_errors(kHarness, [&] {
    try {
      const SoftPrompt p = SoftPrompt::import_peft(dir + "/adapter_model.safetensors");
      if (!ok || !same_bits(p, from_dir)) finding(kHarness, "import of the directory and of the file disagree");
    } catch (const spot::Error&) {
      if (ok) finding(kHarness, "the directory imports, the file does not");
    }
  });
  spot::fuzz::only_spot_errors(kHarness, [&] {
    const SoftPrompt p = SoftPrompt::load(dir + "/adapter_model.safetensors");
    // load() takes a file without 'prompt_embeddings' (spot's own "prompt") by itself; with it, the import.
    if (ok && !same_bits(p, from_dir)) finding(kHarness, "load() and import_peft disagree");
  });
  return 0;
}
