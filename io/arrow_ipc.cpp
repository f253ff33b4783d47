// arrow_ipc.cpp — the Arrow IPC stream reader of arrow_ipc.h: encapsulated messages, a bounds-checked
// flatbuffer walker for the Message / Schema / RecordBatch tables, and utf8 column decoding.
#include "io/arrow_ipc.h"

#include "io/cache.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include "base/check.h"

namespace spot::io {
namespace {

// Arrow's flatbuffer enums (format/Message.fbs, format/Schema.fbs).
enum MessageHeader : uint8_t { kSchema = 1, kDictionaryBatch = 2, kRecordBatch = 3, kTensor = 4, kSparseTensor = 5 };
enum TypeId : uint8_t {
  kNull = 1, kInt = 2, kFloatingPoint = 3, kBinary = 4, kUtf8 = 5, kBool = 6, kDecimal = 7, kDate = 8, kTime = 9,
  kTimestamp = 10, kInterval = 11, kList = 12, kStruct = 13, kUnion = 14, kFixedSizeBinary = 15,
  kFixedSizeList = 16, kMap = 17, kDuration = 18, kLargeBinary = 19, kLargeUtf8 = 20, kLargeList = 21,
  kRunEndEncoded = 22, kBinaryView = 23, kUtf8View = 24, kListView = 25, kLargeListView = 26,
};
constexpr int16_t kMetadataV4 = 3;  // MetadataVersion: V1 = 0 ... V4 = 3, V5 = 4
constexpr int kMaxFieldDepth = 64;

const char* type_name(uint8_t t) {
  static const char* names[] = {"none", "null", "int", "floating_point", "binary", "utf8", "bool", "decimal",
                                "date", "time", "timestamp", "interval", "list", "struct", "union",
                                "fixed_size_binary", "fixed_size_list", "map", "duration", "large_binary",
                                "large_utf8", "large_list", "run_end_encoded", "binary_view", "utf8_view",
                                "list_view", "large_list_view"};
  return t < sizeof(names) / sizeof(names[0]) ? names[t] : "unknown";
}

template <typename T>
T load_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // the format is little-endian, as is every host spot builds for
  return v;
}

// One flatbuffer (a message's metadata), read with a check before every access. Positions are
// byte offsets from the start of the flatbuffer.
class Flatbuffer {
 public:
  struct Table {
    size_t pos = 0;      // where the table starts (its soffset to the vtable)
    size_t vtable = 0;   // where its vtable starts
    uint16_t vt_size = 0;
  };

  Flatbuffer(const uint8_t* data, size_t size, std::string where) : data_(data), size_(size), where_(std::move(where)) {}

  Table root() const { return table_at(u32(0), "root table"); }

  // Scalars: the default when the field is absent from the vtable.
  template <typename T>
  T scalar(const Table& t, int field, T def) const {
    const size_t off = field_offset(t, field);
    if (!off) return def;
    need(t.pos + off, sizeof(T), "scalar field");
    return load_le<T>(data_ + t.pos + off);
  }
  // The position of the object an offset field points at; 0 when the field is absent.
  size_t ref(const Table& t, int field, const char* what) const {
    const size_t off = field_offset(t, field);
    if (!off) return 0;
    return follow(t.pos + off, what);
  }
  Table table(const Table& t, int field, const char* what) const {
    const size_t p = ref(t, field, what);
    SPOT_CHECK(p, where_ << ": missing " << what);
    return table_at(p, what);
  }
  bool has(const Table& t, int field) const { return field_offset(t, field) != 0; }
  std::string string_at(size_t pos, const char* what) const {
    const uint32_t n = u32(pos);
    need(pos + 4, static_cast<size_t>(n) + 1, what);  // the bytes and the NUL after them
    return std::string(reinterpret_cast<const char*>(data_ + pos + 4), n);
  }
  // A vector: its element count, elements starting at pos + 4, each `elem` bytes.
  uint32_t vector_length(size_t pos, size_t elem, const char* what) const {
    const uint32_t n = u32(pos);
    need(pos + 4, static_cast<size_t>(n) * elem, what);
    return n;
  }
  // Element i of a vector of tables (each element is an offset relative to itself).
  Table table_in_vector(size_t vec, uint32_t i, const char* what) const {
    return table_at(follow(vec + 4 + 4 * static_cast<size_t>(i), what), what);
  }
  const uint8_t* bytes(size_t pos) const { return data_ + pos; }
  const std::string& where() const { return where_; }

 private:
  void need(size_t pos, size_t n, const char* what) const {
    SPOT_CHECK(pos <= size_ && n <= size_ - pos,
               where_ << ": " << what << " at byte " << pos << " (+" << n << ") runs past the end of the "
                      << size_ << "-byte message metadata");
  }
  uint32_t u32(size_t pos) const {
    need(pos, 4, "offset");
    return load_le<uint32_t>(data_ + pos);
  }
  size_t follow(size_t at, const char* what) const {
    const size_t target = at + u32(at);
    need(target, 4, what);
    return target;
  }
  Table table_at(size_t pos, const char* what) const {
    need(pos, 4, what);
    const int64_t vt = static_cast<int64_t>(pos) - load_le<int32_t>(data_ + pos);
    SPOT_CHECK(vt >= 0 && static_cast<size_t>(vt) + 4 <= size_,
               where_ << ": " << what << " at byte " << pos << " has its vtable outside the message metadata");
    Table t;
    t.pos = pos;
    t.vtable = static_cast<size_t>(vt);
    t.vt_size = load_le<uint16_t>(data_ + t.vtable);
    SPOT_CHECK(t.vt_size >= 4 && t.vt_size % 2 == 0 && t.vtable + t.vt_size <= size_,
               where_ << ": " << what << " has a malformed vtable (size " << t.vt_size << ")");
    return t;
  }
  size_t field_offset(const Table& t, int field) const {
    const size_t e = 4 + 2 * static_cast<size_t>(field);
    if (e + 2 > t.vt_size) return 0;
    return load_le<uint16_t>(data_ + t.vtable + e);
  }

  const uint8_t* data_;
  size_t size_;
  std::string where_;
};

// A schema field flattened depth-first: its type, and where its node and buffers sit in a batch.
struct FlatField {
  std::string name;
  uint8_t type = 0;
  bool top_level = false;
  size_t node = 0;        // index into RecordBatch.nodes
  size_t first_buffer = 0;  // index into RecordBatch.buffers
};

size_t buffer_count(uint8_t type, const std::string& where, const std::string& name) {
  switch (type) {
    case kNull: return 0;
    case kInt: case kFloatingPoint: case kBool: case kDecimal: case kDate: case kTime: case kTimestamp:
    case kInterval: case kDuration: case kFixedSizeBinary: return 2;  // validity, values
    case kBinary: case kUtf8: case kLargeBinary: case kLargeUtf8: return 3;  // validity, offsets, data
    case kList: case kLargeList: case kMap: return 2;  // validity, offsets (+ the child's)
    case kStruct: case kFixedSizeList: return 1;       // validity (+ the children's)
    default:
      SPOT_FAIL(where << ": column '" << name << "' has Arrow type " << type_name(type)
                      << ", which this reader does not support");
  }
}

void flatten_fields(const Flatbuffer& fb, size_t fields_vec, bool top, int depth, std::vector<FlatField>& out,
                    size_t& buffers) {
  SPOT_CHECK(depth <= kMaxFieldDepth, fb.where() << ": schema nests deeper than " << kMaxFieldDepth << " levels");
  const uint32_t n = fb.vector_length(fields_vec, 4, "Schema.fields");
  for (uint32_t i = 0; i < n; ++i) {
    const Flatbuffer::Table f = fb.table_in_vector(fields_vec, i, "Field");
    FlatField ff;
    if (const size_t name = fb.ref(f, 0, "Field.name")) ff.name = fb.string_at(name, "Field.name");
    ff.type = fb.scalar<uint8_t>(f, 2, 0);
    SPOT_CHECK(ff.type != 0, fb.where() << ": field '" << ff.name << "' has no type");
    SPOT_CHECK(!fb.has(f, 4), fb.where() << ": field '" << ff.name
                                         << "' is dictionary-encoded, which this reader does not support");
    ff.top_level = top;
    ff.node = out.size();
    ff.first_buffer = buffers;
    buffers += buffer_count(ff.type, fb.where(), ff.name);
    out.push_back(ff);
    if (const size_t children = fb.ref(f, 5, "Field.children"))
      flatten_fields(fb, children, false, depth + 1, out, buffers);
  }
}

class StreamReader {
 public:
  StreamReader(const std::string& bytes, std::string label) : data_(reinterpret_cast<const uint8_t*>(bytes.data())),
                                                               size_(bytes.size()), label_(std::move(label)) {}

  std::vector<std::vector<std::string>> read(const std::vector<std::string>& columns, ArrowStreamInfo* info) {
    ArrowStreamInfo local;
    ArrowStreamInfo& inf = info ? *info : local;
    inf = ArrowStreamInfo{};
    std::vector<std::vector<std::string>> out(columns.size());
    std::vector<size_t> wanted;  // index into fields_ for each requested column
    bool have_schema = false;
    size_t pos = 0;
    for (int message = 0;; ++message) {
      if (pos == size_) break;  // a stream may end without the EOS marker
      SPOT_CHECK(size_ - pos >= 4, label_ << ": truncated message header at byte " << pos);
      int64_t meta_size = load_le<int32_t>(data_ + pos);
      size_t meta_start = pos + 4;
      if (meta_size == -1) {  // continuation marker (format >= 0.15)
        SPOT_CHECK(size_ - pos >= 8, label_ << ": truncated message header at byte " << pos);
        meta_size = load_le<int32_t>(data_ + pos + 4);
        meta_start = pos + 8;
      }
      if (meta_size == 0) break;  // end-of-stream marker
      SPOT_CHECK(meta_size > 0 && static_cast<size_t>(meta_size) <= size_ - meta_start,
                 label_ << ": message " << message << " at byte " << pos << ": metadata size " << meta_size
                        << " does not fit in the " << size_ << "-byte stream");
      const std::string where = label_ + ": message " + std::to_string(message) + " (byte " + std::to_string(pos) + ")";
      Flatbuffer fb(data_ + meta_start, static_cast<size_t>(meta_size), where);
      const Flatbuffer::Table msg = fb.root();
      const int16_t version = fb.scalar<int16_t>(msg, 0, 0);
      SPOT_CHECK(version >= kMetadataV4, where << ": Arrow metadata version V" << version + 1
                                               << " is older than V4, which this reader needs");
      const uint8_t header_type = fb.scalar<uint8_t>(msg, 1, 0);
      const int64_t body_length = fb.scalar<int64_t>(msg, 3, 0);
      const size_t body_start = meta_start + static_cast<size_t>(meta_size);
      SPOT_CHECK(body_length >= 0 && static_cast<uint64_t>(body_length) <= size_ - body_start,
                 where << ": body of " << body_length << " bytes runs past the end of the stream");
      if (header_type == kSchema) {
        SPOT_CHECK(!have_schema, where << ": a second Schema message");
        read_schema(fb, fb.table(msg, 2, "Message.header (Schema)"), inf);
        have_schema = true;
        for (const std::string& c : columns) {
          size_t k = fields_.size();
          for (size_t i = 0; i < fields_.size(); ++i)
            if (fields_[i].top_level && fields_[i].name == c) k = i;
          SPOT_CHECK(k < fields_.size(), label_ << ": no column '" << c << "' (columns: " << join(inf.field_names) << ")");
          SPOT_CHECK(fields_[k].type == kUtf8 || fields_[k].type == kLargeUtf8,
                     label_ << ": column '" << c << "' has Arrow type " << type_name(fields_[k].type)
                            << ", expected utf8 or large_utf8");
          wanted.push_back(k);
        }
      } else if (header_type == kRecordBatch) {
        SPOT_CHECK(have_schema, where << ": a RecordBatch before the Schema");
        read_batch(fb, fb.table(msg, 2, "Message.header (RecordBatch)"), body_start, static_cast<size_t>(body_length),
                   wanted, columns, inf, out);
      } else if (header_type == kDictionaryBatch) {
        SPOT_FAIL(where << ": dictionary batches are not supported by this reader");
      } else {
        SPOT_FAIL(where << ": unexpected message type " << int(header_type)
                        << (header_type == kTensor || header_type == kSparseTensor ? " (a tensor)" : "")
                        << " in a record-batch stream");
      }
      pos = body_start + static_cast<size_t>(body_length);
    }
    SPOT_CHECK(have_schema, label_ << ": no Schema message (empty or not an Arrow IPC stream)");
    return out;
  }

 private:
  static std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  }

  void read_schema(const Flatbuffer& fb, const Flatbuffer::Table& schema, ArrowStreamInfo& inf) {
    SPOT_CHECK(fb.scalar<int16_t>(schema, 0, 0) == 0, fb.where() << ": big-endian Arrow data is not supported");
    const size_t fields = fb.ref(schema, 1, "Schema.fields");
    SPOT_CHECK(fields, fb.where() << ": Schema has no fields");
    total_buffers_ = 0;
    flatten_fields(fb, fields, true, 0, fields_, total_buffers_);
    for (const FlatField& f : fields_)
      if (f.top_level) {
        inf.field_names.push_back(f.name);
        inf.field_types.push_back(type_name(f.type));
      }
    if (const size_t meta = fb.ref(schema, 2, "Schema.custom_metadata")) {
      const uint32_t n = fb.vector_length(meta, 4, "Schema.custom_metadata");
      for (uint32_t i = 0; i < n; ++i) {
        const Flatbuffer::Table kv = fb.table_in_vector(meta, i, "KeyValue");
        const size_t k = fb.ref(kv, 0, "KeyValue.key"), v = fb.ref(kv, 1, "KeyValue.value");
        if (k && v && fb.string_at(k, "KeyValue.key") == "huggingface")
          inf.schema_metadata_json = fb.string_at(v, "KeyValue.value");
      }
    }
  }

  // Buffer i of a batch as a byte range inside the body.
  std::pair<const uint8_t*, size_t> buffer(const Flatbuffer& fb, size_t buffers_vec, size_t i, size_t body_start,
                                           size_t body_length, const std::string& column) const {
    const uint8_t* b = fb.bytes(buffers_vec + 4 + 16 * i);
    const int64_t off = load_le<int64_t>(b), len = load_le<int64_t>(b + 8);
    SPOT_CHECK(off >= 0 && len >= 0 && static_cast<uint64_t>(off) <= body_length &&
                   static_cast<uint64_t>(len) <= body_length - static_cast<uint64_t>(off),
               fb.where() << ": column '" << column << "': buffer " << i << " [" << off << ", +" << len
                          << ") lies outside the " << body_length << "-byte body");
    return {data_ + body_start + off, static_cast<size_t>(len)};
  }

  void read_batch(const Flatbuffer& fb, const Flatbuffer::Table& batch, size_t body_start, size_t body_length,
                  const std::vector<size_t>& wanted, const std::vector<std::string>& columns, ArrowStreamInfo& inf,
                  std::vector<std::vector<std::string>>& out) {
    const int64_t length = fb.scalar<int64_t>(batch, 0, 0);
    SPOT_CHECK(length >= 0, fb.where() << ": negative RecordBatch length " << length);
    SPOT_CHECK(!fb.has(batch, 3), fb.where() << ": compressed record batches are not supported by this reader");
    const size_t nodes = fb.ref(batch, 1, "RecordBatch.nodes");
    const size_t buffers = fb.ref(batch, 2, "RecordBatch.buffers");
    SPOT_CHECK(nodes && buffers, fb.where() << ": RecordBatch without nodes or buffers");
    const uint32_t n_nodes = fb.vector_length(nodes, 16, "RecordBatch.nodes");
    const uint32_t n_buffers = fb.vector_length(buffers, 16, "RecordBatch.buffers");
    SPOT_CHECK(n_nodes == fields_.size() && n_buffers == total_buffers_,
               fb.where() << ": RecordBatch has " << n_nodes << " field nodes and " << n_buffers
                          << " buffers; the schema needs " << fields_.size() << " and " << total_buffers_);
    for (size_t c = 0; c < wanted.size(); ++c) {
      const FlatField& f = fields_[wanted[c]];
      const uint8_t* node = fb.bytes(nodes + 4 + 16 * f.node);
      const int64_t n = load_le<int64_t>(node), nulls = load_le<int64_t>(node + 8);
      SPOT_CHECK(n == length, fb.where() << ": column '" << f.name << "' has " << n << " values in a batch of "
                                         << length << " rows");
      SPOT_CHECK(nulls >= 0 && nulls <= n, fb.where() << ": column '" << f.name << "': bad null count " << nulls);
      const auto [validity, validity_len] = buffer(fb, buffers, f.first_buffer, body_start, body_length, f.name);
      const auto [offsets, offsets_len] = buffer(fb, buffers, f.first_buffer + 1, body_start, body_length, f.name);
      const auto [chars, chars_len] = buffer(fb, buffers, f.first_buffer + 2, body_start, body_length, f.name);
      const size_t width = f.type == kLargeUtf8 ? 8 : 4;
      if (n == 0) continue;
      SPOT_CHECK(offsets_len / width >= static_cast<uint64_t>(n) + 1,
                 fb.where() << ": column '" << f.name << "': offsets buffer of " << offsets_len << " bytes for " << n
                            << " values");
      if (nulls > 0)
        SPOT_CHECK(validity_len * 8 >= static_cast<uint64_t>(n),
                   fb.where() << ": column '" << f.name << "': validity bitmap of " << validity_len << " bytes for "
                              << n << " values");
      auto offset_at = [&, offsets = offsets](int64_t i) -> int64_t {
        return width == 8 ? load_le<int64_t>(offsets + 8 * i) : load_le<int32_t>(offsets + 4 * i);
      };
      std::vector<std::string>& col = out[c];
      col.reserve(col.size() + static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) {
        const int64_t row = inf.num_rows + i;
        if (nulls > 0 && !((validity[i / 8] >> (i % 8)) & 1))
          SPOT_FAIL(label_ << ": column '" << columns[c] << "' is null at row " << row);
        const int64_t b = offset_at(i), e = offset_at(i + 1);
        SPOT_CHECK(b >= 0 && b <= e && static_cast<uint64_t>(e) <= chars_len,
                   fb.where() << ": column '" << f.name << "': value " << row << " has offsets [" << b << ", " << e
                              << ") outside its " << chars_len << "-byte data buffer");
        col.emplace_back(reinterpret_cast<const char*>(chars + b), static_cast<size_t>(e - b));
      }
    }
    inf.num_rows += length;
    ++inf.num_batches;
  }

  const uint8_t* data_;
  size_t size_;
  std::string label_;
  std::vector<FlatField> fields_;
  size_t total_buffers_ = 0;
};

}  // namespace

std::vector<std::vector<std::string>> read_arrow_stream_strings_from_bytes(const std::string& bytes,
                                                                           const std::string& label,
                                                                           const std::vector<std::string>& columns,
                                                                           ArrowStreamInfo* info) {
  return StreamReader(bytes, label).read(columns, info);
}

std::vector<std::vector<std::string>> read_arrow_stream_strings(const std::string& path,
                                                                const std::vector<std::string>& columns,
                                                                ArrowStreamInfo* info) {
  return read_arrow_stream_strings_from_bytes(read_file(path), path, columns, info);
}

}  // namespace spot::io
