// safetensors.h — reading and writing the safetensors format (https://github.com/huggingface/safetensors)
// and Hugging Face checkpoints made of one or several (sharded) safetensors files.
//
// Layout of a file: 8-byte little-endian header size N, N bytes of UTF-8 JSON
//   {"<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"<key>": "<value>", ...}}
// then the data section; offsets are relative to its start. As the reference implementation
// requires, the tensors' byte ranges tile the data section exactly (no holes, no overlaps, nothing
// after the last tensor). Every rule is checked by open(); a file that opens can be loaded.
//
// Reading maps the file (mmap) and copies or converts one tensor at a time in load*().
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/tensor.h"

namespace spot::io {

struct SafetensorsEntry {
  std::string name;
  // The dtype load() returns: F32, BF16, F16, I32, I64, U8 (BOOL reads as U8). F64 tensors have
  // dtype F32 here because they load only through load_f32(); `file_dtype` tells them apart.
  DType dtype = DType::F32;
  Shape shape;
  uint64_t begin = 0, end = 0;  // byte offsets into the data section
  std::string file_dtype;       // as written in the header: "F32", "BF16", "BOOL", "F64", ...
};

// Header sizes above this are refused (the reference implementation's limit).
constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

class SafetensorsFile {
 public:
  // Maps `path` and parses and validates its header. Throws spot::Error naming the file and the
  // offending tensor or field.
  static SafetensorsFile open(const std::string& path);
  // The same on bytes already in memory (a blob from the prompt library, the fuzzer's input).
  // `label` stands for the file name in error messages.
  static SafetensorsFile from_bytes(std::string bytes, const std::string& label);

  const std::string& path() const { return path_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }  // "__metadata__"
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  const SafetensorsEntry& entry(const std::string& name) const;  // error names file + tensor
  std::vector<std::string> names() const;                        // in header order
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }  // in header order
  uint64_t data_bytes() const { return data_size_; }

  Tensor load(const std::string& name) const;      // native dtype on CPU (F32, BF16, F16, I32, I64, U8; BOOL as U8)
  Tensor load_f32(const std::string& name) const;  // F32/BF16/F16/F64 -> f32 (F64 may be read only this way)
  Tensor load_i32(const std::string& name) const;  // I64/I32 -> i32, values outside int32 are an error

 private:
  struct Source;  // the mapped file or owned bytes; shared by copies of this object
  static SafetensorsFile parse(std::shared_ptr<const Source> source, const std::string& path);
  const unsigned char* bytes_of(const SafetensorsEntry& e) const;

  std::string path_;
  std::shared_ptr<const Source> source_;
  uint64_t data_start_ = 0;  // 8 + header size
  uint64_t data_size_ = 0;
  std::map<std::string, std::string> metadata_;
  std::vector<SafetensorsEntry> entries_;  // header order
  std::map<std::string, size_t> index_;    // name -> entries_ index
};

// A Hugging Face checkpoint: a directory holding model.safetensors, or model.safetensors.index.json
// with shards (weight_map), or a path to a single .safetensors file or to an .index.json file.
// A directory holding both uses model.safetensors, as transformers does.
// Every shard is opened (and its header validated) up front; every tensor the index lists must be
// in the shard it names.
class SafetensorsCheckpoint {
 public:
  static SafetensorsCheckpoint open(const std::string& path_or_dir);

  const std::string& path() const { return path_; }  // the file or index the checkpoint was read from
  bool contains(const std::string& name) const { return where_.count(name) != 0; }
  std::vector<std::string> names() const { return names_; }  // index order (file order when single)
  const SafetensorsEntry& entry(const std::string& name) const;
  // F32/BF16/F16/F64 -> f32, after checking the shape:
  //   "<file>: tensor '<name>' has shape [..], expected [..]" / "<path>: missing tensor '<name>'"
  Tensor load_f32(const std::string& name, const Shape& expected) const;
  std::string file_of(const std::string& name) const;
  const std::vector<SafetensorsFile>& files() const { return files_; }

 private:
  size_t file_index(const std::string& name) const;

  std::string path_;
  std::vector<SafetensorsFile> files_;
  std::map<std::string, size_t> where_;  // tensor name -> files_ index
  std::vector<std::string> names_;
};

// Atomic write: a temporary file in the same directory, fsync, rename over `path`, fsync of the
// directory. A writer killed at any point leaves either the old file or the complete new one at
// `path`; on an error the temporary file is removed and the old file is untouched.
// Tensors must be defined and on the CPU (F32, BF16, F16, I32, I64, U8); names unique and not
// "__metadata__". Data are laid out by dtype size, largest first (stable), so every tensor is
// aligned to its element size as in the reference writer; the header is space-padded to 8 bytes.
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});
// The same file as bytes in memory.
std::string safetensors_bytes(const std::vector<std::pair<std::string, Tensor>>& tensors,
                              const std::map<std::string, std::string>& metadata = {});

}  // namespace spot::io
