// fuzz_gguf.cpp — libFuzzer harness for the GGUF reader and everything built on its metadata: the
// input is taken as a GGUF file; parsing, every metadata getter, dequantisation of every tensor, the
// Llama config and tensor checks, and the BPE tokenizer (construction, encode, decode, chat
// template) run on it. spot::Error is the expected outcome for bad input; any other exception,
// crash, leak or sanitizer report is a bug. Build and run: fuzz/build_gguf.sh.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/check.h"
#include "io/gguf.h"
#include "io/gguf_llama.h"
#include "model/tokenizer/bpe.h"

namespace {

using namespace spot;

template <class F>
void expect_ok_or_error(F&& f) {
  try {
    f();
  } catch (const Error&) {
  }
}

void exercise_metadata(const io::GgufFile& f) {
  for (const std::string& key : f.keys()) {
    const io::GgufValue& v = f.get(key);
    (void)v.type_str();
    (void)v.str_value(4);
    expect_ok_or_error([&] { f.get_string(key); });
    expect_ok_or_error([&] { f.get_u32(key); });
    expect_ok_or_error([&] { f.get_f32(key); });
    expect_ok_or_error([&] { f.get_bool(key); });
    expect_ok_or_error([&] { f.get_uint(key); });
    expect_ok_or_error([&] { f.get_string_array(key); });
    expect_ok_or_error([&] { f.get_i32_array(key); });
    expect_ok_or_error([&] { f.get_f32_array(key); });
    expect_ok_or_error([&] { f.get_int_array(key); });
  }
}

void exercise_tensors(const io::GgufFile& f) {
  for (const io::GgufTensorInfo& t : f.tensors()) {
    expect_ok_or_error([&] {
      const Tensor x = f.load_f32(t.name);
      volatile float sink = x.numel() ? x.f32()[x.numel() - 1] : 0.f;
      (void)sink;
    });
  }
  expect_ok_or_error([&] {
    const io::LlamaGgufConfig c = io::llama_config_from_gguf(f);
    io::llama_check_tensors(f, c);
    for (const io::GgufTensorInfo& t : f.tensors()) io::llama_load_f32_hf_layout(f, c, t.name);
  });
}

void exercise_tokenizer(const io::GgufFile& f) {
  expect_ok_or_error([&] {
    const tokenizer::BpeTokenizer tok = tokenizer::BpeTokenizer::from_gguf(f);
    for (const char* text : {"Hello world, it's 2024! \xc3\xa9\xe4\xb8\xad  \n\n<|im_start|>user\n\xf0\x9f\x98\x80",
                             "", " ", "<think>a</think>"}) {
      for (bool special : {false, true}) {
        const std::vector<int32_t> ids = tok.encode(text, false, special);
        (void)tok.decode(ids, special);
      }
    }
    for (int32_t id = 0; id < tok.vocab_size() && id < 64; ++id) {
      (void)tok.token_to_id(tok.id_to_token(id));
      (void)tok.token_bytes(id);
    }
    expect_ok_or_error([&] { (void)tok.encode_chat({{"user", "hi 1 2"}, {"assistant", "ok"}}, true); });
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const io::GgufFile f = io::GgufFile::from_bytes(std::vector<uint8_t>(data, data + size), "fuzz.gguf");
    exercise_metadata(f);
    exercise_tensors(f);
    exercise_tokenizer(f);
  } catch (const Error&) {
  }
  return 0;
}
