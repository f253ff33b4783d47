// gguf.cpp — GGUF v3 parsing with every count, length and offset checked against the file size,
// typed metadata access and tensor dequantisation (see gguf.h for the layout).
#include "io/gguf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <limits>
#include <sstream>

#include "base/check.h"
#include "io/ggml_quants.h"

namespace spot::io {

// ------------------------------------------------------------------ type tables

const char* gguf_type_name(GgufType t) {
  switch (t) {
    case GgufType::U8: return "u8";
    case GgufType::I8: return "i8";
    case GgufType::U16: return "u16";
    case GgufType::I16: return "i16";
    case GgufType::U32: return "u32";
    case GgufType::I32: return "i32";
    case GgufType::F32: return "f32";
    case GgufType::Bool: return "bool";
    case GgufType::String: return "string";
    case GgufType::Array: return "array";
    case GgufType::U64: return "u64";
    case GgufType::I64: return "i64";
    case GgufType::F64: return "f64";
  }
  return "unknown";
}

namespace {

// Bytes of a fixed-size scalar metadata type; 0 for String and Array.
size_t gguf_scalar_size(GgufType t) {
  switch (t) {
    case GgufType::U8: case GgufType::I8: case GgufType::Bool: return 1;
    case GgufType::U16: case GgufType::I16: return 2;
    case GgufType::U32: case GgufType::I32: case GgufType::F32: return 4;
    case GgufType::U64: case GgufType::I64: case GgufType::F64: return 8;
    default: return 0;
  }
}

bool gguf_type_known(uint32_t code) { return code <= static_cast<uint32_t>(GgufType::F64); }

bool gguf_is_int(GgufType t) {
  switch (t) {
    case GgufType::U8: case GgufType::I8: case GgufType::U16: case GgufType::I16:
    case GgufType::U32: case GgufType::I32: case GgufType::U64: case GgufType::I64: return true;
    default: return false;
  }
}

bool gguf_is_signed(GgufType t) {
  return t == GgufType::I8 || t == GgufType::I16 || t == GgufType::I32 || t == GgufType::I64;
}

// Index = ggml type code. Block sizes and byte sizes as in ggml.c's type_traits (QK_K = 256).
struct TypeRow {
  uint32_t code;
  GgmlTypeTraits traits;
};
constexpr TypeRow kGgmlTypes[] = {
    {0, {"f32", 1, 4}},         {1, {"f16", 1, 2}},          {2, {"q4_0", 32, 18}},      {3, {"q4_1", 32, 20}},
    {6, {"q5_0", 32, 22}},      {7, {"q5_1", 32, 24}},       {8, {"q8_0", 32, 34}},      {9, {"q8_1", 32, 36}},
    {10, {"q2_K", 256, 84}},    {11, {"q3_K", 256, 110}},    {12, {"q4_K", 256, 144}},   {13, {"q5_K", 256, 176}},
    {14, {"q6_K", 256, 210}},   {15, {"q8_K", 256, 292}},    {16, {"iq2_xxs", 256, 66}}, {17, {"iq2_xs", 256, 74}},
    {18, {"iq3_xxs", 256, 98}}, {19, {"iq1_s", 256, 50}},    {20, {"iq4_nl", 32, 18}},   {21, {"iq3_s", 256, 110}},
    {22, {"iq2_s", 256, 82}},   {23, {"iq4_xs", 256, 136}},  {24, {"i8", 1, 1}},         {25, {"i16", 1, 2}},
    {26, {"i32", 1, 4}},        {27, {"i64", 1, 8}},         {28, {"f64", 1, 8}},        {29, {"iq1_m", 256, 56}},
    {30, {"bf16", 1, 2}},       {34, {"tq1_0", 256, 54}},    {35, {"tq2_0", 256, 66}},   {39, {"mxfp4", 32, 17}},
    {40, {"nvfp4", 64, 36}},    {41, {"q1_0", 128, 18}},
};

}  // namespace

const GgmlTypeTraits* ggml_type_traits(uint32_t code) {
  for (const TypeRow& r : kGgmlTypes)
    if (r.code == code) return &r.traits;
  return nullptr;
}

const char* ggml_type_name(GgmlType t) {
  const GgmlTypeTraits* tr = ggml_type_traits(static_cast<uint32_t>(t));
  return tr ? tr->name : "unknown";
}

bool ggml_type_dequantisable(GgmlType t) {
  switch (t) {
    case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16:
    case GgmlType::Q8_0: case GgmlType::Q4_0: case GgmlType::Q4_1: return true;
    default: return false;
  }
}

// ------------------------------------------------------------------ GgufValue

int64_t GgufValue::int_at(uint64_t idx) const {
  SPOT_CHECK(type == GgufType::Array, "int_at on a non-array " << type_str());
  SPOT_CHECK(idx < count, "array index " << idx << " out of range for " << type_str());
  SPOT_CHECK(gguf_is_int(elem_type) || elem_type == GgufType::Bool, "int_at on " << type_str());
  const size_t sz = gguf_scalar_size(elem_type);
  const uint8_t* p = raw.data() + idx * sz;
  switch (elem_type) {
    case GgufType::U8: case GgufType::Bool: return *p;
    case GgufType::I8: return static_cast<int8_t>(*p);
    case GgufType::U16: { uint16_t v; std::memcpy(&v, p, 2); return v; }
    case GgufType::I16: { int16_t v; std::memcpy(&v, p, 2); return v; }
    case GgufType::U32: { uint32_t v; std::memcpy(&v, p, 4); return v; }
    case GgufType::I32: { int32_t v; std::memcpy(&v, p, 4); return v; }
    case GgufType::I64: { int64_t v; std::memcpy(&v, p, 8); return v; }
    case GgufType::U64: {
      uint64_t v;
      std::memcpy(&v, p, 8);
      SPOT_CHECK(v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
                 "array element " << idx << " = " << v << " does not fit in int64");
      return static_cast<int64_t>(v);
    }
    default: break;
  }
  SPOT_FAIL("int_at on " << type_str());
}

double GgufValue::float_at(uint64_t idx) const {
  SPOT_CHECK(type == GgufType::Array, "float_at on a non-array " << type_str());
  SPOT_CHECK(idx < count, "array index " << idx << " out of range for " << type_str());
  if (elem_type == GgufType::F32) {
    float v;
    std::memcpy(&v, raw.data() + idx * 4, 4);
    return v;
  }
  if (elem_type == GgufType::F64) {
    double v;
    std::memcpy(&v, raw.data() + idx * 8, 8);
    return v;
  }
  SPOT_FAIL("float_at on " << type_str());
}

std::string GgufValue::type_str() const {
  if (type != GgufType::Array) return gguf_type_name(type);
  std::string inner = gguf_type_name(elem_type);
  if (elem_type == GgufType::Array) {
    // Nested arrays may differ in their element types; name the first one's.
    inner = items.empty() ? "array" : items.front().type_str();
    const size_t bracket = inner.rfind('[');
    if (bracket != std::string::npos) inner.resize(bracket);
  }
  return "array<" + inner + ">[" + std::to_string(count) + "]";
}

std::string GgufValue::str_value(size_t max_items) const {
  std::ostringstream os;
  auto quoted = [&](const std::string& s) {
    os << '"';
    for (size_t k = 0; k < s.size() && k < 80; ++k) {
      const char c = s[k];
      if (c == '\n') os << "\\n";
      else if (c == '"') os << "\\\"";
      else os << c;
    }
    if (s.size() > 80) os << "...(" << s.size() << " bytes)";
    os << '"';
  };
  switch (type) {
    case GgufType::U8: case GgufType::U16: case GgufType::U32: case GgufType::U64: os << u; break;
    case GgufType::I8: case GgufType::I16: case GgufType::I32: case GgufType::I64: os << i; break;
    case GgufType::F32: case GgufType::F64: os << f; break;
    case GgufType::Bool: os << (u ? "true" : "false"); break;
    case GgufType::String: quoted(str); break;
    case GgufType::Array: {
      os << "[";
      const uint64_t n = std::min<uint64_t>(count, max_items);
      for (uint64_t k = 0; k < n; ++k) {
        if (k) os << ", ";
        if (elem_type == GgufType::String) quoted(strings[k]);
        else if (elem_type == GgufType::Array) os << items[k].str_value(max_items);
        else if (elem_type == GgufType::F32 || elem_type == GgufType::F64) os << float_at(k);
        else os << int_at(k);
      }
      if (count > n) os << ", ... (" << count << " items)";
      os << "]";
      break;
    }
  }
  return os.str();
}

// ------------------------------------------------------------------ the bytes behind a file

struct GgufFile::Bytes {
  void* map = nullptr;  // mmap'ed file, or
  size_t map_size = 0;
  std::vector<uint8_t> buffer;  // bytes handed to from_bytes
  ~Bytes() {
    if (map) munmap(map, map_size);
  }
};

GgufFile GgufFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  SPOT_CHECK(fd >= 0, path << ": cannot open GGUF file: " << std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    SPOT_FAIL(path << ": cannot stat GGUF file: " << std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    SPOT_FAIL(path << ": not a regular file");
  }
  auto bytes = std::make_shared<Bytes>();
  const size_t size = static_cast<size_t>(st.st_size);
  if (size > 0) {
    void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int err = errno;
    ::close(fd);
    SPOT_CHECK(p != MAP_FAILED, path << ": cannot mmap GGUF file (" << size << " bytes): " << std::strerror(err));
    bytes->map = p;
    bytes->map_size = size;
  } else {
    ::close(fd);
  }
  GgufFile f;
  f.path_ = path;
  f.base_ = static_cast<const uint8_t*>(bytes->map);
  f.size_ = size;
  f.bytes_ = std::move(bytes);
  f.parse();
  return f;
}

GgufFile GgufFile::from_bytes(std::vector<uint8_t> data, const std::string& label) {
  auto bytes = std::make_shared<Bytes>();
  bytes->buffer = std::move(data);
  GgufFile f;
  f.path_ = label;
  f.base_ = bytes->buffer.data();
  f.size_ = bytes->buffer.size();
  f.bytes_ = std::move(bytes);
  f.parse();
  return f;
}

std::string GgufFile::where(const std::string& what) const { return path_ + ": " + what; }

// ------------------------------------------------------------------ parsing

namespace {

constexpr uint32_t kMagic = 0x46554747u;  // "GGUF" read as a little-endian u32
constexpr int kMaxArrayDepth = 64;        // nested arrays deeper than this are rejected (stack safety)
constexpr uint32_t kMaxDims = 4;          // GGML_MAX_DIMS

// Bounds-checked little-endian reader over the mapped bytes.
class Cursor {
 public:
  Cursor(const uint8_t* base, uint64_t size, const std::string& path) : base_(base), size_(size), path_(path) {}
  uint64_t pos() const { return pos_; }
  uint64_t left() const { return size_ - pos_; }

  // `what` names the field for the error message.
  void need(uint64_t n, const std::string& what) const {
    SPOT_CHECK(n <= left(), path_ << ": truncated file: " << what << " needs " << n << " bytes at offset " << pos_
                                  << " but only " << left() << " remain (file size " << size_ << ")");
  }
  template <class T>
  T read(const std::string& what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, base_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string read_string(const std::string& what) {
    const uint64_t len = read<uint64_t>(what + " (string length)");
    need(len, what + " (string of " + std::to_string(len) + " bytes)");
    std::string s(reinterpret_cast<const char*>(base_ + pos_), static_cast<size_t>(len));
    pos_ += len;
    return s;
  }
  void read_bytes(std::vector<uint8_t>& out, uint64_t n, const std::string& what) {
    need(n, what);
    out.assign(base_ + pos_, base_ + pos_ + n);
    pos_ += n;
  }

 private:
  const uint8_t* base_;
  uint64_t size_;
  uint64_t pos_ = 0;
  const std::string& path_;
};

void read_value(Cursor& c, GgufType type, GgufValue& v, const std::string& what, int depth, const std::string& path);

void read_array(Cursor& c, GgufValue& v, const std::string& what, int depth, const std::string& path) {
  SPOT_CHECK(depth < kMaxArrayDepth, path << ": " << what << ": arrays nested deeper than " << kMaxArrayDepth);
  const uint32_t et = c.read<uint32_t>(what + " (array element type)");
  SPOT_CHECK(gguf_type_known(et), path << ": " << what << ": unknown array element type " << et
                                       << " (known: 0..12, u8 to f64)");
  v.elem_type = static_cast<GgufType>(et);
  v.count = c.read<uint64_t>(what + " (array length)");
  const size_t sz = gguf_scalar_size(v.elem_type);
  if (sz > 0) {
    // Checked before multiplying: count * sz must not overflow and must fit in what is left.
    SPOT_CHECK(v.count <= c.left() / sz, path << ": " << what << ": array of " << v.count << " "
                                              << gguf_type_name(v.elem_type) << " needs more bytes than the "
                                              << c.left() << " left in the file");
    c.read_bytes(v.raw, v.count * sz, what + " (array data)");
    if (v.elem_type == GgufType::Bool)
      for (uint64_t k = 0; k < v.count; ++k)
        SPOT_CHECK(v.raw[k] <= 1, path << ": " << what << ": bool array element " << k << " is " << int(v.raw[k]));
    return;
  }
  // Strings take at least 8 bytes each, nested arrays at least 12: a lying count fails here
  // before anything is reserved.
  const uint64_t min_item = v.elem_type == GgufType::String ? 8 : 12;
  SPOT_CHECK(v.count <= c.left() / min_item, path << ": " << what << ": array of " << v.count << " "
                                                  << gguf_type_name(v.elem_type) << " cannot fit in the "
                                                  << c.left() << " bytes left in the file");
  if (v.elem_type == GgufType::String) {
    v.strings.reserve(v.count);
    for (uint64_t k = 0; k < v.count; ++k) v.strings.push_back(c.read_string(what + "[" + std::to_string(k) + "]"));
  } else {
    v.items.resize(v.count);
    for (uint64_t k = 0; k < v.count; ++k)
      read_value(c, GgufType::Array, v.items[k], what + "[" + std::to_string(k) + "]", depth + 1, path);
  }
}

void read_value(Cursor& c, GgufType type, GgufValue& v, const std::string& what, int depth, const std::string& path) {
  v.type = type;
  switch (type) {
    case GgufType::U8: v.u = c.read<uint8_t>(what); break;
    case GgufType::I8: v.i = c.read<int8_t>(what); break;
    case GgufType::U16: v.u = c.read<uint16_t>(what); break;
    case GgufType::I16: v.i = c.read<int16_t>(what); break;
    case GgufType::U32: v.u = c.read<uint32_t>(what); break;
    case GgufType::I32: v.i = c.read<int32_t>(what); break;
    case GgufType::U64: v.u = c.read<uint64_t>(what); break;
    case GgufType::I64: v.i = c.read<int64_t>(what); break;
    case GgufType::F32: v.f = c.read<float>(what); break;
    case GgufType::F64: v.f = c.read<double>(what); break;
    case GgufType::Bool: {
      const uint8_t b = c.read<uint8_t>(what);
      SPOT_CHECK(b <= 1, path << ": " << what << ": bool value " << int(b) << " (expected 0 or 1)");
      v.u = b;
      break;
    }
    case GgufType::String: v.str = c.read_string(what); break;
    case GgufType::Array: read_array(c, v, what, depth, path); break;
  }
}

}  // namespace

void GgufFile::parse() {
  Cursor c(base_, size_, path_);
  SPOT_CHECK(size_ >= 4, where("not a GGUF file: " + std::to_string(size_) + " bytes, too short for the magic"));
  const uint32_t magic = c.read<uint32_t>("magic");
  if (magic != kMagic) {
    char m[5] = {};
    std::memcpy(m, base_, 4);
    for (char& ch : m)
      if (ch && (ch < 32 || ch > 126)) ch = '?';
    SPOT_FAIL(where("not a GGUF file: magic is '" + std::string(m, 4) + "', expected 'GGUF'"));
  }
  version_ = c.read<uint32_t>("version");
  if (version_ != 3) {
    if (version_ == 1 || version_ == 2)
      SPOT_FAIL(where("GGUF version " + std::to_string(version_) +
                      " is not supported: only version 3 is read (convert the file with a current llama.cpp)"));
    if ((version_ & 0xFFFFu) == 0 && (version_ >> 16) != 0)
      SPOT_FAIL(where("GGUF version field " + std::to_string(version_) +
                      " looks byte-swapped: big-endian GGUF files are not supported"));
    SPOT_FAIL(where("unsupported GGUF version " + std::to_string(version_) + " (expected 3)"));
  }
  const uint64_t n_tensors = c.read<uint64_t>("tensor_count");
  const uint64_t n_kv = c.read<uint64_t>("metadata_kv_count");
  // Each key/value takes at least 13 bytes (8 key length + 4 type + 1), each tensor info 32.
  SPOT_CHECK(n_kv <= c.left() / 13, where("metadata_kv_count " + std::to_string(n_kv) +
                                          " cannot fit in the " + std::to_string(c.left()) + " bytes of the file"));
  SPOT_CHECK(n_tensors <= c.left() / 32, where("tensor_count " + std::to_string(n_tensors) +
                                               " cannot fit in the " + std::to_string(c.left()) +
                                               " bytes of the file"));

  for (uint64_t k = 0; k < n_kv; ++k) {
    const std::string label = "metadata key #" + std::to_string(k);
    std::string key = c.read_string(label);
    const std::string what = label + " '" + key + "'";
    const uint32_t t = c.read<uint32_t>(what + " (value type)");
    SPOT_CHECK(gguf_type_known(t), where(what + ": unknown metadata value type " + std::to_string(t) +
                                         " (known: 0..12, u8 to f64)"));
    SPOT_CHECK(!kv_.count(key), where("duplicate metadata key '" + key + "'"));
    GgufValue v;
    read_value(c, static_cast<GgufType>(t), v, what, 0, path_);
    key_order_.push_back(key);
    kv_.emplace(std::move(key), std::move(v));
  }

  if (const GgufValue* a = find("general.alignment")) {
    SPOT_CHECK(a->type == GgufType::U32, where("general.alignment is " + a->type_str() + ", expected u32"));
    SPOT_CHECK(a->u != 0 && (a->u & (a->u - 1)) == 0,
               where("general.alignment " + std::to_string(a->u) + " is not a power of two"));
    alignment_ = a->u;
  }

  tensors_.reserve(n_tensors);
  for (uint64_t k = 0; k < n_tensors; ++k) {
    GgufTensorInfo ti;
    ti.name = c.read_string("tensor info #" + std::to_string(k) + " (name)");
    const std::string what = "tensor #" + std::to_string(k) + " '" + ti.name + "'";
    SPOT_CHECK(!tensor_index_.count(ti.name), where("duplicate tensor name '" + ti.name + "'"));
    const uint32_t n_dims = c.read<uint32_t>(what + " (n_dims)");
    SPOT_CHECK(n_dims >= 1 && n_dims <= kMaxDims,
               where(what + ": n_dims " + std::to_string(n_dims) + " (expected 1 to 4)"));
    int64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t dim = c.read<uint64_t>(what + " (dims[" + std::to_string(d) + "])");
      SPOT_CHECK(dim <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
                 where(what + ": dims[" + std::to_string(d) + "] = " + std::to_string(dim) + " overflows int64"));
      ti.dims.push_back(static_cast<int64_t>(dim));
      SPOT_CHECK(!__builtin_mul_overflow(numel, static_cast<int64_t>(dim), &numel),
                 where(what + ": element count of dims " + shape_str(ti.dims) + "... overflows int64"));
    }
    ti.numel = numel;
    ti.shape.assign(ti.dims.rbegin(), ti.dims.rend());
    const uint32_t type = c.read<uint32_t>(what + " (ggml type)");
    const GgmlTypeTraits* tr = ggml_type_traits(type);
    SPOT_CHECK(tr, where(what + ": unknown ggml type " + std::to_string(type)));
    ti.type = static_cast<GgmlType>(type);
    SPOT_CHECK(ti.dims[0] % tr->block_size == 0,
               where(what + ": dims[0] = " + std::to_string(ti.dims[0]) + " is not a multiple of the " + tr->name +
                     " block size " + std::to_string(tr->block_size)));
    // numel / block_size * type_size, checked: a huge declared tensor must not wrap around.
    uint64_t nbytes = 0;
    SPOT_CHECK(!__builtin_mul_overflow(static_cast<uint64_t>(numel / tr->block_size),
                                       static_cast<uint64_t>(tr->type_size), &nbytes),
               where(what + ": byte size of " + std::to_string(numel) + " " + tr->name + " values overflows"));
    ti.nbytes = nbytes;
    ti.offset = c.read<uint64_t>(what + " (data offset)");
    SPOT_CHECK(ti.offset % alignment_ == 0,
               where(what + ": data offset " + std::to_string(ti.offset) + " is not a multiple of the alignment " +
                     std::to_string(alignment_)));
    tensor_index_.emplace(ti.name, tensors_.size());
    tensors_.push_back(std::move(ti));
  }

  // The data section starts at the next multiple of the alignment after the tensor infos.
  const uint64_t end_of_infos = c.pos();
  data_offset_ = end_of_infos + (alignment_ - end_of_infos % alignment_) % alignment_;
  const uint64_t data_size = data_offset_ <= size_ ? size_ - data_offset_ : 0;
  for (const GgufTensorInfo& ti : tensors_) {
    if (ti.nbytes == 0) continue;
    SPOT_CHECK(data_offset_ <= size_, where("truncated file: the data section would start at offset " +
                                            std::to_string(data_offset_) + ", past the end (file size " +
                                            std::to_string(size_) + ")"));
    SPOT_CHECK(ti.offset <= data_size && ti.nbytes <= data_size - ti.offset,
               where("tensor '" + ti.name + "': data [" + std::to_string(ti.offset) + ", +" +
                     std::to_string(ti.nbytes) + ") lies outside the data section of " + std::to_string(data_size) +
                     " bytes (truncated or corrupt file)"));
  }
}

// ------------------------------------------------------------------ metadata getters

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

const GgufValue& GgufFile::get(const std::string& key) const {
  const GgufValue* v = find(key);
  SPOT_CHECK(v, where("metadata key '" + key + "' is missing"));
  return *v;
}

namespace {
[[noreturn]] void type_error(const std::string& path, const std::string& key, const GgufValue& v, const char* expected) {
  SPOT_FAIL(path << ": metadata key '" << key << "' is " << v.type_str() << ", expected " << expected);
}
}  // namespace

#define SPOT_GGUF_SCALAR_GETTER(ret, name, gtype, field)                        \
  ret GgufFile::name(const std::string& key) const {                          \
    const GgufValue& v = get(key);                                            \
    if (v.type != GgufType::gtype) type_error(path_, key, v, gguf_type_name(GgufType::gtype)); \
    return static_cast<ret>(v.field);                                         \
  }
SPOT_GGUF_SCALAR_GETTER(uint32_t, get_u32, U32, u)
SPOT_GGUF_SCALAR_GETTER(int32_t, get_i32, I32, i)
SPOT_GGUF_SCALAR_GETTER(uint64_t, get_u64, U64, u)
SPOT_GGUF_SCALAR_GETTER(int64_t, get_i64, I64, i)
SPOT_GGUF_SCALAR_GETTER(float, get_f32, F32, f)
SPOT_GGUF_SCALAR_GETTER(double, get_f64, F64, f)
SPOT_GGUF_SCALAR_GETTER(bool, get_bool, Bool, u)
SPOT_GGUF_SCALAR_GETTER(std::string, get_string, String, str)
#undef SPOT_GGUF_SCALAR_GETTER

uint64_t GgufFile::get_uint(const std::string& key) const {
  const GgufValue& v = get(key);
  if (!gguf_is_int(v.type)) type_error(path_, key, v, "an integer");
  if (gguf_is_signed(v.type)) {
    SPOT_CHECK(v.i >= 0, where("metadata key '" + key + "' is negative (" + std::to_string(v.i) + ")"));
    return static_cast<uint64_t>(v.i);
  }
  return v.u;
}

const GgufValue& GgufFile::get_array(const std::string& key) const {
  const GgufValue& v = get(key);
  if (v.type != GgufType::Array) type_error(path_, key, v, "an array");
  return v;
}

const std::vector<std::string>& GgufFile::get_string_array(const std::string& key) const {
  const GgufValue& v = get_array(key);
  if (v.elem_type != GgufType::String) type_error(path_, key, v, "array<string>");
  return v.strings;
}

std::vector<int32_t> GgufFile::get_i32_array(const std::string& key) const {
  const GgufValue& v = get_array(key);
  if (v.elem_type != GgufType::I32) type_error(path_, key, v, "array<i32>");
  std::vector<int32_t> out(v.count);
  if (v.count) std::memcpy(out.data(), v.raw.data(), v.count * 4);
  return out;
}

std::vector<float> GgufFile::get_f32_array(const std::string& key) const {
  const GgufValue& v = get_array(key);
  if (v.elem_type != GgufType::F32) type_error(path_, key, v, "array<f32>");
  std::vector<float> out(v.count);
  if (v.count) std::memcpy(out.data(), v.raw.data(), v.count * 4);
  return out;
}

std::vector<int64_t> GgufFile::get_int_array(const std::string& key) const {
  const GgufValue& v = get_array(key);
  if (!gguf_is_int(v.elem_type)) type_error(path_, key, v, "an array of integers");
  std::vector<int64_t> out(v.count);
  for (uint64_t k = 0; k < v.count; ++k) out[k] = v.int_at(k);
  return out;
}

// ------------------------------------------------------------------ tensors

std::vector<std::string> GgufFile::tensor_names() const {
  std::vector<std::string> names;
  names.reserve(tensors_.size());
  for (const GgufTensorInfo& t : tensors_) names.push_back(t.name);
  return names;
}

const GgufTensorInfo& GgufFile::tensor_info(const std::string& name) const {
  auto it = tensor_index_.find(name);
  SPOT_CHECK(it != tensor_index_.end(), where("no tensor named '" + name + "' (the file has " +
                                              std::to_string(tensors_.size()) + " tensors)"));
  return tensors_[it->second];
}

const uint8_t* GgufFile::tensor_data(const std::string& name) const {
  const GgufTensorInfo& ti = tensor_info(name);
  return base_ + data_offset_ + ti.offset;
}

Tensor GgufFile::load_f32(const std::string& name) const {
  const GgufTensorInfo& ti = tensor_info(name);
  SPOT_CHECK(ggml_type_dequantisable(ti.type),
             where("tensor '" + name + "' has ggml type " + ggml_type_name(ti.type) +
                   ", which cannot be dequantised (supported: f32, f16, bf16, q8_0, q4_0, q4_1)"));
  Tensor out = Tensor::empty(ti.shape, DType::F32);
  if (ti.numel == 0) return out;
  const uint8_t* src = tensor_data(name);
  float* dst = out.f32();
  // Rows run along dims[0]; each is a whole number of blocks, so rows dequantise independently.
  const int64_t row = ti.dims[0];
  const int64_t n_rows = ti.numel / row;
  const int64_t row_bytes = static_cast<int64_t>(ti.nbytes) / n_rows;
  // Serial on purpose: dequantising the whole SmolLM2 (538 MB of f32) takes ~0.15 s on one core,
  // and an OpenMP loop measured slower (0.26-2.7 s) on a shared, loaded machine.
  for (int64_t r = 0; r < n_rows; ++r) dequantize_row(ti.type, src + r * row_bytes, dst + r * row, row);
  return out;
}

}  // namespace spot::io
