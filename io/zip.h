// zip.h — reading zip archives (wheels, GLUE/SuperGLUE archives) with libzip: list members, read a
// small member into memory, or stream a member to disk (CRC-checked by libzip, atomic rename).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

typedef struct zip zip_t;

namespace spot::io {

struct ZipEntry {
  int64_t index = 0;
  std::string name;  // as stored: '/'-separated, directories end with '/'
  int64_t size = 0;  // uncompressed bytes
  bool is_dir() const { return !name.empty() && name.back() == '/'; }
};

class ZipArchive {
 public:
  explicit ZipArchive(const std::string& path);  // read-only; throws naming the file on a bad archive
  ~ZipArchive();
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(const std::string& name) const;  // exact member name, or nullptr

  std::string read(const ZipEntry& e) const;  // whole member in memory
  // Streams the member to `dest + ".part"`, checks its size (libzip checks the CRC), fsyncs and
  // renames it onto `dest`. Returns the sha256 of the bytes written.
  std::string extract(const ZipEntry& e, const std::string& dest) const;

 private:
  std::string path_;
  zip_t* zip_ = nullptr;
  std::vector<ZipEntry> entries_;
};

}  // namespace spot::io
