// fuzz_prompt_file.cpp — libFuzzer harness for the prompt-file reader, SoftPrompt::load (prompt/).
// The input is the bytes of a prompt file (spot's "prompt" tensor or a PEFT "prompt_embeddings"
// tensor file), written to prompt.safetensors in a per-process temp directory ($FUZZ_TMPDIR, default
// /dev/shm) that holds nothing else, so the PEFT config path of load() is not taken (fuzz_peft_adapter
// covers it). It is loaded with no expectations and with those of an input-depth prompt; what loads
// must be a finite [L, d] or [layers, L, d] tensor, and saving it with SoftPrompt::save and loading
// that again must give the same bits. Loading either succeeds or throws spot::Error; anything else —
// another exception type, a crash, a sanitizer report, a leak or a broken round trip — aborts and is
// a finding. Build: fuzz/build.sh; run: tools/fuzz.sh (seeds: fuzz/seeds/fuzz_prompt_file/, written by
// fuzz/make_prompt_seeds.py, and tests/golden/peft/*/adapter_model.safetensors).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz/fuzz_util.h"
#include "prompt/soft_prompt.h"

namespace {

constexpr const char* kHarness = "fuzz_prompt_file";

using spot::SoftPrompt;
using spot::fuzz::finding;

void check_loaded(const SoftPrompt& p, const std::string& dir) {
  if (!(p.values.ndim() == 2 || p.values.ndim() == 3)) finding(kHarness, "loaded a prompt that is neither 2-D nor 3-D");
  for (int64_t i = 0; i < p.values.numel(); ++i)
    if (!std::isfinite(p.values.f32()[i])) finding(kHarness, "loaded a non-finite value");
  const std::string again = dir + "/again.safetensors";
  p.save(again);
  const SoftPrompt back = SoftPrompt::load(again, p.dim(), p.length(), p.layers());
  if (back.values.shape() != p.values.shape() ||
      std::memcmp(back.values.f32(), p.values.f32(), p.values.nbytes()) != 0)
    finding(kHarness, "save -> load changed the prompt");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& dir = spot::fuzz::temp_dir(kHarness);
  const std::string path = dir + "/prompt.safetensors";
  spot::fuzz::write_file(kHarness, path, std::string_view(reinterpret_cast<const char*>(data), size));
  spot::fuzz::only_spot_errors(kHarness, [&] { check_loaded(SoftPrompt::load(path), dir); });
  spot::fuzz::only_spot_errors(kHarness, [&] { check_loaded(SoftPrompt::load(path, 0, 0, /*expected_layers=*/0), dir); });
  return 0;
}
