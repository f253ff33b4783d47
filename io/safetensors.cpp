// safetensors.cpp — safetensors header validation, mmap-backed tensor loading with dtype conversion,
// sharded Hugging Face checkpoints, and the atomic writer. The validation rules follow the
// reference implementation (safetensors/src/tensor.rs: Metadata::validate, read_metadata).
#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

#include <immintrin.h>

#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>

namespace spot::io {

static_assert(std::endian::native == std::endian::little, "safetensors data are little-endian; spot reads them in place");

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// ------------------------------------------------------------------ dtypes

// Every dtype string of the reference implementation, with its size in bits, and the spot dtype
// it loads as (only for the ones spot reads).
struct FileDType {
  const char* name;
  unsigned bits;
  bool supported;
  DType dtype;  // the dtype of load(), or of load_f32() for F64
};
constexpr FileDType kFileDTypes[] = {
    {"F32", 32, true, DType::F32},   {"BF16", 16, true, DType::BF16}, {"F16", 16, true, DType::F16},
    {"I32", 32, true, DType::I32},   {"I64", 64, true, DType::I64},   {"U8", 8, true, DType::U8},
    {"BOOL", 8, true, DType::U8},    {"F64", 64, true, DType::F32},   {"I8", 8, false, DType::U8},
    {"I16", 16, false, DType::U8},   {"U16", 16, false, DType::U8},   {"U32", 32, false, DType::U8},
    {"U64", 64, false, DType::U8},   {"F8_E4M3", 8, false, DType::U8}, {"F8_E5M2", 8, false, DType::U8},
    {"F8_E8M0", 8, false, DType::U8}, {"F4", 4, false, DType::U8},    {"F6_E2M3", 6, false, DType::U8},
    {"F6_E3M2", 6, false, DType::U8}, {"C64", 64, false, DType::U8},
};
constexpr const char* kSupportedList = "F32, BF16, F16, F64, I64, I32, U8, BOOL";

const FileDType* find_file_dtype(std::string_view s) {
  for (const FileDType& d : kFileDTypes)
    if (s == d.name) return &d;
  return nullptr;
}

const char* file_dtype_of(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::BF16: return "BF16";
    case DType::F16: return "F16";
    case DType::I32: return "I32";
    case DType::I64: return "I64";
    case DType::U8: return "U8";
  }
  SPOT_FAIL("safetensors: no file dtype for " << dtype_name(t));
}

// ------------------------------------------------------------------ JSON helpers

// A SAX pass over the header that finds the first duplicate key: Boost.JSON's DOM keeps the last
// of duplicate keys silently, and a checkpoint naming a tensor twice is ambiguous.
struct DuplicateKeyFinder {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  struct Level {
    bool is_object;
    std::set<std::string> keys;
    std::string last_key;
  };
  std::vector<Level> stack;
  std::string key;
  bool found = false;
  size_t depth = 0;        // object nesting of the duplicate: 1 = top level
  std::string duplicate;   // the repeated key
  std::string parent_key;  // the key holding the object it repeats in (depth >= 2)

  using ec_t = json::error_code;
  using sv = json::string_view;
  bool on_document_begin(ec_t&) { return true; }
  bool on_document_end(ec_t&) { return true; }
  bool on_object_begin(ec_t&) {
    stack.push_back({true, {}, {}});
    return true;
  }
  bool on_object_end(std::size_t, ec_t&) {
    stack.pop_back();
    return true;
  }
  bool on_array_begin(ec_t&) {
    stack.push_back({false, {}, {}});
    return true;
  }
  bool on_array_end(std::size_t, ec_t&) {
    stack.pop_back();
    return true;
  }
  bool on_key_part(sv s, std::size_t, ec_t&) {
    key.append(s.data(), s.size());
    return true;
  }
  bool on_key(sv s, std::size_t, ec_t&) {
    key.append(s.data(), s.size());
    Level& top = stack.back();
    if (!top.keys.insert(key).second && !found) {
      found = true;
      duplicate = key;
      depth = 0;
      for (const Level& l : stack) depth += l.is_object;
      if (stack.size() >= 2) parent_key = stack[stack.size() - 2].last_key;
    }
    top.last_key = std::move(key);
    key.clear();
    return true;
  }
  bool on_string_part(sv, std::size_t, ec_t&) { return true; }
  bool on_string(sv, std::size_t, ec_t&) { return true; }
  bool on_number_part(sv, ec_t&) { return true; }
  bool on_int64(int64_t, sv, ec_t&) { return true; }
  bool on_uint64(uint64_t, sv, ec_t&) { return true; }
  bool on_double(double, sv, ec_t&) { return true; }
  bool on_bool(bool, ec_t&) { return true; }
  bool on_null(ec_t&) { return true; }
  bool on_comment_part(sv, ec_t&) { return true; }
  bool on_comment(sv, ec_t&) { return true; }
};

const char* json_kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64: return "an integer";
    case json::kind::double_: return "a non-integer number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "?";
}

// A non-negative JSON integer (int64 or uint64 kind); `what` names it in the error.
uint64_t json_u64(const json::value& v, const std::string& where, const std::string& what) {
  if (v.is_uint64()) return v.get_uint64();
  SPOT_CHECK(v.is_int64(), where << ": " << what << " must be a non-negative integer, got " << json_kind_name(v)
                                 << " " << json::serialize(v));
  SPOT_CHECK(v.get_int64() >= 0, where << ": " << what << " must be a non-negative integer, got " << v.get_int64());
  return static_cast<uint64_t>(v.get_int64());
}

std::string errno_str() { return std::strerror(errno); }

}  // namespace

// ------------------------------------------------------------------ the bytes of a file

struct SafetensorsFile::Source {
  const unsigned char* data = nullptr;
  size_t size = 0;
  void* map = nullptr;  // mmap'd region (size bytes) or null when `owned` holds the bytes
  std::string owned;

  Source() = default;
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;
  ~Source() {
    if (map) ::munmap(map, size);
  }
};

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  SPOT_CHECK(fd >= 0, path << ": cannot open safetensors file: " << errno_str());
  struct stat st{};
  if (::fstat(fd, &st) != 0) {
    const std::string err = errno_str();
    ::close(fd);
    SPOT_FAIL(path << ": cannot stat: " << err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    SPOT_FAIL(path << ": not a regular file");
  }
  auto src = std::make_shared<Source>();
  src->size = static_cast<size_t>(st.st_size);
  if (src->size > 0) {
    // The map stays valid after close(). Pages are read on first touch, so open() reads only the
    // header and load() reads only the tensor it is asked for.
    void* p = ::mmap(nullptr, src->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const std::string err = errno_str();
      ::close(fd);
      SPOT_FAIL(path << ": cannot map " << src->size << " bytes: " << err);
    }
    src->map = p;
    src->data = static_cast<const unsigned char*>(p);
  }
  ::close(fd);
  return parse(std::move(src), path);
}

SafetensorsFile SafetensorsFile::from_bytes(std::string bytes, const std::string& label) {
  auto src = std::make_shared<Source>();
  src->owned = std::move(bytes);
  src->data = reinterpret_cast<const unsigned char*>(src->owned.data());
  src->size = src->owned.size();
  return parse(std::move(src), label);
}

// ------------------------------------------------------------------ header validation

SafetensorsFile SafetensorsFile::parse(std::shared_ptr<const Source> source, const std::string& path) {
  SafetensorsFile f;
  f.path_ = path;
  f.source_ = std::move(source);
  const unsigned char* data = f.source_->data;
  const uint64_t size = f.source_->size;

  SPOT_CHECK(size >= 8, path << ": file is " << size << " bytes, shorter than the 8-byte header size");
  uint64_t header_size = 0;
  std::memcpy(&header_size, data, 8);  // little-endian (static_assert above)
  SPOT_CHECK(header_size <= kSafetensorsMaxHeaderBytes,
             path << ": header size " << header_size << " is absurd (limit " << kSafetensorsMaxHeaderBytes << " bytes)");
  SPOT_CHECK(header_size <= size - 8, path << ": header size " << header_size << " is larger than the file ("
                                           << size << " bytes, " << size - 8 << " after the size field)");
  f.data_start_ = 8 + header_size;
  f.data_size_ = size - f.data_start_;

  const json::string_view text(reinterpret_cast<const char*>(data + 8), header_size);
  json::parse_options opts;
  opts.max_depth = 16;  // the format needs 3 levels; deeper nesting is garbage
  json::error_code ec;
  const json::value root = json::parse(text, ec, json::storage_ptr(), opts);
  SPOT_CHECK(!ec, path << ": header is not valid JSON: " << ec.message());
  SPOT_CHECK(root.is_object(), path << ": header must be a JSON object, got " << json_kind_name(root));

  {
    json::basic_parser<DuplicateKeyFinder> sax(opts);
    sax.write_some(false, text.data(), text.size(), ec);
    SPOT_CHECK(!ec, path << ": header is not valid JSON: " << ec.message());
    const DuplicateKeyFinder& dup = sax.handler();
    if (dup.found) {
      if (dup.depth == 1) SPOT_FAIL(path << ": duplicate tensor name '" << dup.duplicate << "' in the header");
      if (dup.depth == 2 && dup.parent_key == "__metadata__")
        SPOT_FAIL(path << ": __metadata__: duplicate key '" << dup.duplicate << "'");
      SPOT_FAIL(path << ": tensor '" << dup.parent_key << "': duplicate field '" << dup.duplicate << "'");
    }
  }

  for (const auto& kv : root.as_object()) {
    const std::string name(kv.key());
    const json::value& v = kv.value();
    if (name == "__metadata__") {
      if (v.is_null()) continue;
      SPOT_CHECK(v.is_object(), path << ": field '__metadata__' must be an object, got " << json_kind_name(v));
      for (const auto& m : v.as_object()) {
        SPOT_CHECK(m.value().is_string(), path << ": __metadata__ '" << std::string(m.key())
                                               << "' must be a string, got " << json_kind_name(m.value()));
        f.metadata_.emplace(std::string(m.key()), std::string(m.value().as_string()));
      }
      continue;
    }
    const std::string where = path + ": tensor '" + name + "'";
    SPOT_CHECK(v.is_object(), where << ": entry must be an object, got " << json_kind_name(v));
    const json::object& o = v.as_object();
    SafetensorsEntry e;
    e.name = name;

    const json::value* dt = o.if_contains("dtype");
    SPOT_CHECK(dt, where << ": field 'dtype' is missing");
    SPOT_CHECK(dt->is_string(), where << ": field 'dtype' must be a string, got " << json_kind_name(*dt));
    e.file_dtype = std::string(dt->as_string());
    const FileDType* fd = find_file_dtype(e.file_dtype);
    SPOT_CHECK(fd, where << ": unknown dtype '" << e.file_dtype << "'");
    SPOT_CHECK(fd->supported, where << ": unsupported dtype '" << e.file_dtype << "' (spot reads " << kSupportedList << ")");
    e.dtype = fd->dtype;

    const json::value* sh = o.if_contains("shape");
    SPOT_CHECK(sh, where << ": field 'shape' is missing");
    SPOT_CHECK(sh->is_array(), where << ": field 'shape' must be an array, got " << json_kind_name(*sh));
    // numel and byte size with overflow checks: a crafted header must not wrap around and pass the
    // size check below.
    uint64_t numel = 1;
    bool overflow = false;
    for (size_t i = 0; i < sh->as_array().size(); ++i) {
      const uint64_t d = json_u64(sh->as_array()[i], where, "shape[" + std::to_string(i) + "]");
      SPOT_CHECK(d <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
                 where << ": shape[" << i << "] = " << d << " is too large");
      e.shape.push_back(static_cast<int64_t>(d));
      // Every partial product must fit in int64: Tensor computes numel left to right in int64.
      overflow = overflow || __builtin_mul_overflow(numel, d, &numel) ||
                 numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    }
    uint64_t bits = 0;
    overflow = overflow || __builtin_mul_overflow(numel, static_cast<uint64_t>(fd->bits), &bits);
    // A product that overflows is not a tensor of any file (a zero dimension makes the true product 0,
    // but an overflowing intermediate is still refused, as the reference implementation does).
    SPOT_CHECK(!overflow, where << ": shape " << shape_str(e.shape) << " overflows the element count");

    const json::value* off = o.if_contains("data_offsets");
    SPOT_CHECK(off, where << ": field 'data_offsets' is missing");
    SPOT_CHECK(off->is_array(), where << ": field 'data_offsets' must be an array, got " << json_kind_name(*off));
    SPOT_CHECK(off->as_array().size() == 2,
               where << ": field 'data_offsets' must hold 2 integers [begin, end], got " << off->as_array().size());
    e.begin = json_u64(off->as_array()[0], where, "data_offsets[0]");
    e.end = json_u64(off->as_array()[1], where, "data_offsets[1]");
    SPOT_CHECK(e.begin <= e.end, where << ": data_offsets begin " << e.begin << " > end " << e.end);
    SPOT_CHECK(e.end <= f.data_size_, where << ": data_offsets end " << e.end << " is beyond the data section ("
                                            << f.data_size_ << " bytes)");
    SPOT_CHECK(bits % 8 == 0, where << ": " << numel << " elements of " << e.file_dtype << " are not a whole number of bytes");
    SPOT_CHECK(e.end - e.begin == bits / 8, where << ": data_offsets [" << e.begin << ", " << e.end << ") hold "
                                                  << e.end - e.begin << " bytes, but shape " << shape_str(e.shape)
                                                  << " of " << e.file_dtype << " needs " << bits / 8);
    f.index_.emplace(name, f.entries_.size());
    f.entries_.push_back(std::move(e));
  }

  // The byte ranges must tile the data section: sorted by (begin, end), each starts where the
  // previous one ended and the last ends at the end of the file.
  std::vector<size_t> order(f.entries_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const SafetensorsEntry& x = f.entries_[a];
    const SafetensorsEntry& y = f.entries_[b];
    return x.begin != y.begin ? x.begin < y.begin : x.end < y.end;
  });
  uint64_t covered = 0;
  const SafetensorsEntry* prev = nullptr;
  for (size_t i : order) {
    const SafetensorsEntry& e = f.entries_[i];
    SPOT_CHECK(e.begin <= covered, path << ": tensor '" << e.name << "': hole of " << e.begin - covered
                                        << " bytes before its data_offsets [" << e.begin << ", " << e.end << ") ("
                                        << (prev ? "after tensor '" + prev->name + "'" : std::string("at the start"))
                                        << ")");
    SPOT_CHECK(e.begin == covered, path << ": tensor '" << e.name << "': data_offsets [" << e.begin << ", " << e.end
                                        << ") overlap tensor '" << prev->name << "' [" << prev->begin << ", "
                                        << prev->end << ")");
    covered = e.end;
    prev = &e;
  }
  SPOT_CHECK(covered == f.data_size_, path << ": " << f.data_size_ - covered << " bytes after the last tensor"
                                           << (prev ? " '" + prev->name + "'" : std::string()) << " are not covered by any tensor ("
                                           << "data section " << f.data_size_ << " bytes)");
  return f;
}

// ------------------------------------------------------------------ loading

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
  auto it = index_.find(name);
  SPOT_CHECK(it != index_.end(), path_ << ": no tensor named '" << name << "'");
  return entries_[it->second];
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const SafetensorsEntry& e : entries_) out.push_back(e.name);
  return out;
}

const unsigned char* SafetensorsFile::bytes_of(const SafetensorsEntry& e) const {
  const unsigned char* p = source_->data + data_start_ + e.begin;
  if (source_->map && e.end > e.begin) {
    // Ask the kernel to read the whole range ahead instead of faulting page by page.
    const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uintptr_t a = reinterpret_cast<uintptr_t>(p) & ~(page - 1);
    ::madvise(reinterpret_cast<void*>(a), reinterpret_cast<uintptr_t>(p) + (e.end - e.begin) - a, MADV_WILLNEED);
  }
  return p;
}

Tensor SafetensorsFile::load(const std::string& name) const {
  const SafetensorsEntry& e = entry(name);
  SPOT_CHECK(e.file_dtype != "F64", path_ << ": tensor '" << name << "' is F64, which only load_f32 reads");
  Tensor t = Tensor::empty(e.shape, e.dtype, Device::CPU);
  std::memcpy(t.raw(), bytes_of(e), e.end - e.begin);
  return t;
}

namespace {

// Conversions to f32 from possibly unaligned little-endian source bytes (the data section need
// not be aligned: only the reference writer pads the header). memcpy keeps the loads well-defined
// and compiles to plain vector loads.
void bf16_run_to_f32(const unsigned char* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    const uint32_t u = static_cast<uint32_t>(h) << 16;
    std::memcpy(dst + i, &u, 4);
  }
}

void f16_run_to_f32(const unsigned char* src, float* dst, int64_t n) {
  int64_t i = 0;
#if defined(__F16C__) && defined(__AVX__)
  // F16C converts exactly (IEEE half -> single is lossless), 8 at a time.
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i))));
#endif
  for (; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    dst[i] = f16_to_f32(h);
  }
}

// Out-of-range doubles become +-inf (IEEE conversion, as torch's .float() does).
void f64_run_to_f32(const unsigned char* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    double d;
    std::memcpy(&d, src + 8 * i, 8);
    dst[i] = static_cast<float>(d);
  }
}

// Runs `run(src, dst, count)` over chunks of 64K elements, on several threads for large tensors.
template <class Run>
void convert(const unsigned char* src, size_t src_elem, float* dst, int64_t n, Run run) {
  constexpr int64_t kChunk = 1 << 16;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (chunks > 16)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t b = c * kChunk;
    run(src + b * static_cast<int64_t>(src_elem), dst + b, std::min(kChunk, n - b));
  }
}

}  // namespace

Tensor SafetensorsFile::load_f32(const std::string& name) const {
  const SafetensorsEntry& e = entry(name);
  Tensor t = Tensor::empty(e.shape, DType::F32, Device::CPU);
  const unsigned char* src = bytes_of(e);
  const int64_t n = t.numel();
  float* dst = t.data<float>();
  if (e.file_dtype == "F32") {
    std::memcpy(dst, src, e.end - e.begin);
  } else if (e.file_dtype == "BF16") {
    convert(src, 2, dst, n, bf16_run_to_f32);
  } else if (e.file_dtype == "F16") {
    convert(src, 2, dst, n, f16_run_to_f32);
  } else if (e.file_dtype == "F64") {
    convert(src, 8, dst, n, f64_run_to_f32);
  } else {
    SPOT_FAIL(path_ << ": tensor '" << name << "' has dtype " << e.file_dtype << "; load_f32 reads F32, BF16, F16, F64");
  }
  return t;
}

Tensor SafetensorsFile::load_i32(const std::string& name) const {
  const SafetensorsEntry& e = entry(name);
  Tensor t = Tensor::empty(e.shape, DType::I32, Device::CPU);
  const unsigned char* src = bytes_of(e);
  const int64_t n = t.numel();
  int32_t* dst = t.data<int32_t>();
  if (e.file_dtype == "I32") {
    std::memcpy(dst, src, e.end - e.begin);
  } else if (e.file_dtype == "I64") {
    for (int64_t i = 0; i < n; ++i) {
      int64_t v;
      std::memcpy(&v, src + i * 8, 8);
      SPOT_CHECK(v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max(),
                 path_ << ": tensor '" << name << "': element " << i << " = " << v << " does not fit in int32");
      dst[i] = static_cast<int32_t>(v);
    }
  } else {
    SPOT_FAIL(path_ << ": tensor '" << name << "' has dtype " << e.file_dtype << "; load_i32 reads I32, I64");
  }
  return t;
}

// ------------------------------------------------------------------ checkpoints

namespace {

std::string read_small_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  SPOT_CHECK(fd >= 0, path << ": cannot open: " << errno_str());
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      const std::string err = errno_str();
      ::close(fd);
      SPOT_FAIL(path << ": read failed: " << err);
    }
    if (r == 0) break;
    out.append(buf, static_cast<size_t>(r));
    if (out.size() > kSafetensorsMaxHeaderBytes) {
      ::close(fd);
      SPOT_FAIL(path << ": index file larger than " << kSafetensorsMaxHeaderBytes << " bytes");
    }
  }
  ::close(fd);
  return out;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

SafetensorsCheckpoint SafetensorsCheckpoint::open(const std::string& path_or_dir) {
  SafetensorsCheckpoint c;
  std::error_code fec;
  std::string index_path;
  if (fs::is_directory(path_or_dir, fec)) {
    // The single file wins over an index, as in transformers' from_pretrained.
    const fs::path dir(path_or_dir);
    if (fs::exists(dir / "model.safetensors", fec)) {
      c.path_ = (dir / "model.safetensors").string();
    } else if (fs::exists(dir / "model.safetensors.index.json", fec)) {
      index_path = (dir / "model.safetensors.index.json").string();
    } else {
      SPOT_FAIL(path_or_dir << ": no model.safetensors or model.safetensors.index.json in this directory");
    }
  } else if (ends_with(path_or_dir, ".json")) {
    index_path = path_or_dir;
  } else {
    c.path_ = path_or_dir;
  }

  if (index_path.empty()) {
    c.files_.push_back(SafetensorsFile::open(c.path_));
    for (const SafetensorsEntry& e : c.files_[0].entries()) {
      c.where_.emplace(e.name, 0);
      c.names_.push_back(e.name);
    }
    return c;
  }

  // Sharded: {"metadata": {...}, "weight_map": {"<tensor>": "<shard file>", ...}}; shard names are
  // relative to the index's directory.
  c.path_ = index_path;
  const std::string text = read_small_file(index_path);
  json::error_code ec;
  const json::value root = json::parse(text, ec);
  SPOT_CHECK(!ec, index_path << ": not valid JSON: " << ec.message());
  SPOT_CHECK(root.is_object(), index_path << ": must be a JSON object, got " << json_kind_name(root));
  const json::value* wm = root.as_object().if_contains("weight_map");
  SPOT_CHECK(wm, index_path << ": field 'weight_map' is missing");
  SPOT_CHECK(wm->is_object(), index_path << ": field 'weight_map' must be an object, got " << json_kind_name(*wm));
  SPOT_CHECK(!wm->as_object().empty(), index_path << ": field 'weight_map' is empty");
  {
    json::basic_parser<DuplicateKeyFinder> sax(json::parse_options{});
    sax.write_some(false, text.data(), text.size(), ec);
    const DuplicateKeyFinder& dup = sax.handler();
    SPOT_CHECK(!(dup.found && dup.depth == 2 && dup.parent_key == "weight_map"),
               index_path << ": weight_map lists tensor '" << dup.duplicate << "' twice");
  }
  const fs::path dir = fs::path(index_path).parent_path();
  std::map<std::string, size_t> shard_index;
  for (const auto& kv : wm->as_object()) {
    const std::string name(kv.key());
    SPOT_CHECK(kv.value().is_string(), index_path << ": weight_map['" << name << "'] must be a file name, got "
                                                  << json_kind_name(kv.value()));
    const std::string shard(kv.value().as_string());
    const fs::path rel(shard);
    // Shards sit beside the index; an absolute path or ".." would read files elsewhere.
    bool escapes = shard.empty() || rel.is_absolute();
    for (const auto& part : rel) escapes = escapes || part == "..";
    SPOT_CHECK(!escapes, index_path << ": weight_map['" << name << "'] = '" << shard
                                    << "' is not a file name beside the index");
    auto it = shard_index.find(shard);
    if (it == shard_index.end()) {
      const std::string shard_path = (dir / rel).string();
      SPOT_CHECK(fs::is_regular_file(shard_path, fec),
                 index_path << ": shard '" << shard << "' (of tensor '" << name << "') not found at " << shard_path);
      it = shard_index.emplace(shard, c.files_.size()).first;
      c.files_.push_back(SafetensorsFile::open(shard_path));
    }
    const SafetensorsFile& f = c.files_[it->second];
    SPOT_CHECK(f.contains(name), index_path << ": tensor '" << name << "' is listed in weight_map but absent from its shard "
                                            << f.path());
    c.where_.emplace(name, it->second);
    c.names_.push_back(name);
  }
  return c;
}

size_t SafetensorsCheckpoint::file_index(const std::string& name) const {
  auto it = where_.find(name);
  SPOT_CHECK(it != where_.end(), path_ << ": missing tensor '" << name << "'");
  return it->second;
}

const SafetensorsEntry& SafetensorsCheckpoint::entry(const std::string& name) const {
  return files_[file_index(name)].entry(name);
}

std::string SafetensorsCheckpoint::file_of(const std::string& name) const { return files_[file_index(name)].path(); }

Tensor SafetensorsCheckpoint::load_f32(const std::string& name, const Shape& expected) const {
  const SafetensorsFile& f = files_[file_index(name)];
  const SafetensorsEntry& e = f.entry(name);
  SPOT_CHECK(e.shape == expected, f.path() << ": tensor '" << name << "' has shape " << shape_str(e.shape)
                                           << ", expected " << shape_str(expected));
  return f.load_f32(name);
}

// ------------------------------------------------------------------ writing

namespace {

// The header and the data order of a file about to be written.
struct WritePlan {
  std::string header;         // JSON, space-padded to a multiple of 8 bytes
  std::vector<size_t> order;  // indices into the tensor list, in data order
};

WritePlan plan_write(const std::string& label, const std::vector<std::pair<std::string, Tensor>>& tensors,
                     const std::map<std::string, std::string>& metadata) {
  std::set<std::string> seen;
  for (const auto& [name, t] : tensors) {
    const std::string where = label + ": tensor '" + name + "'";
    SPOT_CHECK(!name.empty(), label << ": a tensor has an empty name");
    SPOT_CHECK(name != "__metadata__", where << ": the name is reserved for metadata");
    SPOT_CHECK(seen.insert(name).second, where << " is given twice");
    SPOT_CHECK(t.defined(), where << " is undefined");
    SPOT_CHECK(t.is_cpu(), where << " is on " << device_name(t.device()) << "; copy it to the CPU before saving");
    (void)file_dtype_of(t.dtype());
  }
  WritePlan plan;
  plan.order.resize(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) plan.order[i] = i;
  // Largest element size first, as the reference writer does, so every tensor starts at a multiple
  // of its element size (the header is padded to 8).
  std::stable_sort(plan.order.begin(), plan.order.end(), [&](size_t a, size_t b) {
    return dtype_size(tensors[a].second.dtype()) > dtype_size(tensors[b].second.dtype());
  });

  json::object root;
  if (!metadata.empty()) {
    json::object m;
    for (const auto& [k, v] : metadata) m[k] = v;
    root["__metadata__"] = std::move(m);
  }
  uint64_t offset = 0;
  for (size_t i : plan.order) {
    const Tensor& t = tensors[i].second;
    json::array shape;
    for (int64_t d : t.shape()) shape.push_back(d);
    const uint64_t end = offset + t.nbytes();
    root[tensors[i].first] = json::object{
        {"dtype", file_dtype_of(t.dtype())}, {"shape", std::move(shape)}, {"data_offsets", json::array{offset, end}}};
    offset = end;
  }
  plan.header = json::serialize(root);
  plan.header.append((8 - plan.header.size() % 8) % 8, ' ');
  return plan;
}

void write_all(int fd, const void* data, size_t n, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const size_t chunk = std::min<size_t>(n, size_t(1) << 30);
    const ssize_t w = ::write(fd, p, chunk);
    if (w < 0 && errno == EINTR) continue;
    SPOT_CHECK(w > 0, path << ": write failed: " << (w < 0 ? errno_str() : std::string("wrote 0 bytes")));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

std::atomic<uint64_t> g_tmp_counter{0};

}  // namespace

std::string safetensors_bytes(const std::vector<std::pair<std::string, Tensor>>& tensors,
                              const std::map<std::string, std::string>& metadata) {
  const WritePlan plan = plan_write("safetensors_bytes", tensors, metadata);
  std::string out;
  const uint64_t n = plan.header.size();
  out.append(reinterpret_cast<const char*>(&n), 8);
  out += plan.header;
  for (size_t i : plan.order) {
    const Tensor& t = tensors[i].second;
    out.append(static_cast<const char*>(t.raw()), t.nbytes());
  }
  return out;
}

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  const WritePlan plan = plan_write(path, tensors, metadata);
  const fs::path target(path);
  SPOT_CHECK(!target.filename().empty(), path << ": not a file path");
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  // A hidden name in the same directory, so the final rename is atomic (same filesystem).
  std::string tmp_name = ".";
  tmp_name += target.filename().string();
  tmp_name += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(g_tmp_counter.fetch_add(1));
  const fs::path tmp = dir / tmp_name;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  SPOT_CHECK(fd >= 0, path << ": cannot create temporary file " << tmp.string() << ": " << errno_str());
  try {
    const uint64_t n = plan.header.size();
    write_all(fd, &n, 8, path);
    write_all(fd, plan.header.data(), plan.header.size(), path);
    for (size_t i : plan.order) {
      const Tensor& t = tensors[i].second;
      write_all(fd, t.raw(), t.nbytes(), path);
    }
    SPOT_CHECK(::fsync(fd) == 0, path << ": fsync failed: " << errno_str());
    const int rc = ::close(fd);
    fd = -1;
    SPOT_CHECK(rc == 0, path << ": close failed: " << errno_str());
    SPOT_CHECK(::rename(tmp.c_str(), path.c_str()) == 0,
               path << ": cannot rename " << tmp.string() << " into place: " << errno_str());
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  // Make the rename itself durable. Some filesystems refuse fsync on directories (EINVAL); the
  // file is in place either way.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  SPOT_CHECK(dfd >= 0, path << ": cannot open directory " << dir.string() << " to fsync it: " << errno_str());
  const int rc = ::fsync(dfd);
  const int err = errno;
  ::close(dfd);
  SPOT_CHECK(rc == 0 || err == EINVAL, path << ": fsync of directory " << dir.string() << " failed: " << std::strerror(err));
}

}  // namespace spot::io
