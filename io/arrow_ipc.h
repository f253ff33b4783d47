// arrow_ipc.h — a minimal reader of the Apache Arrow IPC *stream* format, for string columns.
//
// Why it exists: shared/data holds WinoGrande's 40,398-row train_xl split (the size SPoT trained on,
// Vu et al. 2022 Table 2) only as a Hugging Face `datasets` save_to_disk file, which is an Arrow IPC
// stream; Debian ships no libarrow-dev. The subset of the format read here is what such files use:
//
//   stream   := message* [EOS]
//   message  := 0xFFFFFFFF, int32 metadata_size, Message flatbuffer (metadata_size bytes, 8-aligned),
//               body (Message.bodyLength bytes)      (pre-0.15 streams: no 0xFFFFFFFF prefix)
//   EOS      := 0xFFFFFFFF 0x00000000 (or 0x00000000)
//   Message  := {version: short, header_type: ubyte, header: Schema | RecordBatch, bodyLength: long}
//   Schema   := {endianness: short, fields: [Field]};  Field := {name, nullable, type_type, type, dictionary, children}
//   RecordBatch := {length: long, nodes: [FieldNode{length, null_count}], buffers: [Buffer{offset, length}],
//                   compression: BodyCompression}
//
// (format/Message.fbs and format/Schema.fbs of the Arrow specification, metadata versions V4/V5.)
// Fields are flattened depth-first: each has one FieldNode and a type-dependent number of buffers
// (utf8 / large_utf8: validity bitmap, int32 / int64 offsets, UTF-8 data). Only utf8 and
// large_utf8 columns can be returned; other plain types are walked over. Dictionary-encoded
// fields, compressed bodies, big-endian data, unions and view types are refused with an error.
// Every flatbuffer offset, vector length, buffer range and string offset is bounds-checked: a
// malformed file throws spot::Error naming the file and what is wrong, it never reads out of range.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace spot::io {

struct ArrowStreamInfo {
  std::vector<std::string> field_names;  // top-level schema fields, in order
  std::vector<std::string> field_types;  // "utf8", "large_utf8", "int", "bool", "list", ... per field
  std::string schema_metadata_json;      // the schema's "huggingface" custom metadata ("" when absent)
  int64_t num_rows = 0;
  int64_t num_batches = 0;
};

// Reads the top-level string columns `columns` (in that order) of the Arrow IPC stream at `path`:
// result[c][row]. A column that is missing, not utf8 / large_utf8, or that holds a null is an error
// naming the file, the column and the row. `info`, when given, receives the schema and counts.
std::vector<std::vector<std::string>> read_arrow_stream_strings(const std::string& path,
                                                                const std::vector<std::string>& columns,
                                                                ArrowStreamInfo* info = nullptr);

// The same on bytes in memory; `label` stands for the file name in messages (tests, fuzzing).
std::vector<std::vector<std::string>> read_arrow_stream_strings_from_bytes(const std::string& bytes,
                                                                           const std::string& label,
                                                                           const std::vector<std::string>& columns,
                                                                           ArrowStreamInfo* info = nullptr);

}  // namespace spot::io
