// gguf.h — reader for GGUF v3 files (the llama.cpp / ggml model format): header, typed metadata
// (all value types, nested arrays), tensor infos and dequantisation of a tensor to row-major f32.
//
// File layout (little-endian; https://github.com/ggml-org/ggml/blob/master/docs/gguf.md):
//   "GGUF" u32 version=3 | u64 tensor_count | u64 kv_count
//   kv_count x  { string key | u32 value_type | value }           string = u64 length + bytes
//   tensor_count x { string name | u32 n_dims | u64 dims[n_dims] | u32 ggml_type | u64 offset }
//   padding to general.alignment (default 32) | data section (tensor offsets are relative to it)
//
// The file is mmap'ed read-only; metadata is parsed eagerly (every count, length and offset is
// checked against the file size, so a corrupt or lying file gives a spot::Error, never a crash),
// tensor data is only touched by tensor_data()/load_f32().
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/tensor.h"

namespace spot::io {

// Metadata value types, numbered as in the GGUF spec (gguf.h: enum gguf_type).
enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7,
  String = 8, Array = 9, U64 = 10, I64 = 11, F64 = 12,
};
const char* gguf_type_name(GgufType t);  // "u32", "string", "array", ...; "unknown" otherwise

// Tensor element types, numbered as in ggml.h (enum ggml_type). Codes in the gaps (4, 5, 31-33,
// 36-38: types ggml removed) and past the end are unknown and rejected when a file is opened.
enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
  I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
  TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39, NVFP4 = 40, Q1_0 = 41,
};

// Storage of one ggml type: `block_size` consecutive values along dims[0] take `type_size` bytes.
struct GgmlTypeTraits {
  const char* name;    // "q4_1"
  int64_t block_size;  // values per block (1 for plain types)
  int64_t type_size;   // bytes per block
};
// nullptr for an unknown code.
const GgmlTypeTraits* ggml_type_traits(uint32_t code);
const char* ggml_type_name(GgmlType t);
// The types load_f32 can dequantise: F32, F16, BF16, Q8_0, Q4_0, Q4_1.
bool ggml_type_dequantisable(GgmlType t);

// One metadata value. Scalars live in u/i/f/str by type; arrays keep their elements compactly:
// fixed-size scalars as raw little-endian bytes, strings as strings, nested arrays as values.
struct GgufValue {
  GgufType type = GgufType::U8;
  uint64_t u = 0;   // U8, U16, U32, U64, Bool (0/1)
  int64_t i = 0;    // I8, I16, I32, I64
  double f = 0;     // F32, F64
  std::string str;  // String

  // Array only.
  GgufType elem_type = GgufType::U8;
  uint64_t count = 0;
  std::vector<uint8_t> raw;          // count * size(elem_type) bytes, for scalar element types
  std::vector<std::string> strings;  // elem_type == String
  std::vector<GgufValue> items;      // elem_type == Array

  bool is_array() const { return type == GgufType::Array; }
  // Element idx of a scalar array, converted: integer types and Bool -> int64 (U64 above INT64_MAX
  // throws), F32/F64 -> double. Throws for out-of-range idx or the wrong element kind.
  int64_t int_at(uint64_t idx) const;
  double float_at(uint64_t idx) const;
  // "u32", "string", "array<string>[49152]", "array<array<u8>>[2]".
  std::string type_str() const;
  // Short printable form: scalars as values, strings quoted (truncated), arrays by their first items.
  std::string str_value(size_t max_items = 8) const;
};

struct GgufTensorInfo {
  std::string name;
  GgmlType type = GgmlType::F32;
  // GGUF (ggml) order: dims[0] is the contiguous, fastest-varying dimension (ggml's ne[0]).
  std::vector<int64_t> dims;
  // The row-major equivalent: dims reversed. A ggml [in, out] matrix is a row-major [out, in]
  // matrix, the layout of a torch nn.Linear weight.
  Shape shape;
  int64_t numel = 0;
  uint64_t offset = 0;  // bytes from the start of the data section (a multiple of the alignment)
  uint64_t nbytes = 0;
};

class GgufFile {
 public:
  // mmap the file and parse header, metadata and tensor infos. Throws spot::Error naming the file
  // and the field on any inconsistency (bad magic, version other than 3, truncation, unknown
  // metadata or ggml types, bad dims, tensor data outside the file, misaligned offsets...).
  static GgufFile open(const std::string& path);
  // The same from bytes in memory (tests, fuzzing); `label` stands for the path in messages.
  static GgufFile from_bytes(std::vector<uint8_t> bytes, const std::string& label = "<memory>");

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // absolute file offset of the data section
  uint64_t file_size() const { return size_; }

  // ---- metadata
  const std::vector<std::string>& keys() const { return key_order_; }  // file order
  bool has(const std::string& key) const { return kv_.count(key) != 0; }
  const GgufValue* find(const std::string& key) const;  // nullptr when absent
  const GgufValue& get(const std::string& key) const;   // throws when absent
  // Typed getters: the value must have exactly this type; errors name the key, the expected and
  // the actual type ("...: metadata key 'llama.block_count' is i32, expected u32").
  std::string get_string(const std::string& key) const;
  uint32_t get_u32(const std::string& key) const;
  int32_t get_i32(const std::string& key) const;
  uint64_t get_u64(const std::string& key) const;
  int64_t get_i64(const std::string& key) const;
  float get_f32(const std::string& key) const;
  double get_f64(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  // Any integer type with a non-negative value (writers differ in the width they pick for counts).
  uint64_t get_uint(const std::string& key) const;
  // Arrays: get_array accepts any element type; the others require it.
  const GgufValue& get_array(const std::string& key) const;
  const std::vector<std::string>& get_string_array(const std::string& key) const;
  std::vector<int32_t> get_i32_array(const std::string& key) const;
  std::vector<float> get_f32_array(const std::string& key) const;
  std::vector<int64_t> get_int_array(const std::string& key) const;  // any integer element type

  // ---- tensors
  std::vector<std::string> tensor_names() const;  // file order
  bool has_tensor(const std::string& name) const { return tensor_index_.count(name) != 0; }
  const GgufTensorInfo& tensor_info(const std::string& name) const;  // throws when absent
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  // The tensor's bytes in the mapped file (tensor_info(name).nbytes of them); valid while any copy
  // of this GgufFile lives.
  const uint8_t* tensor_data(const std::string& name) const;
  // Dequantise to a new row-major f32 CPU tensor of shape tensor_info(name).shape. Supported:
  // F32, F16, BF16, Q8_0, Q4_0, Q4_1 (others throw, naming the tensor and its type).
  Tensor load_f32(const std::string& name) const;

 private:
  struct Bytes;  // the mapping or buffer, shared by copies of this GgufFile
  GgufFile() = default;
  void parse();
  std::string where(const std::string& what) const;  // "<path>: <what>"

  std::shared_ptr<const Bytes> bytes_;
  const uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  std::string path_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::map<std::string, GgufValue> kv_;
  std::vector<std::string> key_order_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

}  // namespace spot::io
