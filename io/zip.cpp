// zip.cpp — libzip wrapper of zip.h.
#include "io/zip.h"

#include <openssl/evp.h>
#include <unistd.h>
#include <zip.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "base/check.h"

namespace fs = std::filesystem;

namespace spot::io {

namespace {
struct ZipFileCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};
using ZipFilePtr = std::unique_ptr<zip_file_t, ZipFileCloser>;

std::string zip_error_text(int code) {
  zip_error_t err;
  zip_error_init_with_code(&err, code);
  std::string s = zip_error_strerror(&err);
  zip_error_fini(&err);
  return s;
}
}  // namespace

ZipArchive::ZipArchive(const std::string& path) : path_(path) {
  int code = 0;
  zip_ = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  SPOT_CHECK(zip_, "cannot open zip archive " << path << ": " << zip_error_text(code));
  const zip_int64_t n = zip_get_num_entries(zip_, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(zip_, static_cast<zip_uint64_t>(i), 0, &st) != 0) {
      const std::string why = zip_strerror(zip_);
      zip_close(zip_);
      SPOT_FAIL("zip archive " << path << ": cannot read member " << i << ": " << why);
    }
    ZipEntry e;
    e.index = i;
    e.name = (st.valid & ZIP_STAT_NAME) ? st.name : "";
    e.size = (st.valid & ZIP_STAT_SIZE) ? static_cast<int64_t>(st.size) : -1;
    entries_.push_back(std::move(e));
  }
}

ZipArchive::~ZipArchive() {
  if (zip_) zip_discard(zip_);  // read-only: nothing to write back
}

const ZipEntry* ZipArchive::find(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

std::string ZipArchive::read(const ZipEntry& e) const {
  ZipFilePtr f(zip_fopen_index(zip_, static_cast<zip_uint64_t>(e.index), 0));
  SPOT_CHECK(f, "zip archive " << path_ << ": cannot open member " << e.name << ": " << zip_strerror(zip_));
  std::string out(static_cast<size_t>(std::max<int64_t>(e.size, 0)), '\0');
  int64_t got = 0;
  for (;;) {
    if (got == static_cast<int64_t>(out.size())) out.resize(out.size() + 65536);
    const zip_int64_t n = zip_fread(f.get(), out.data() + got, out.size() - got);
    SPOT_CHECK(n >= 0, "zip archive " << path_ << ": member " << e.name << ": " << zip_file_strerror(f.get()));
    if (n == 0) break;
    got += n;
  }
  out.resize(static_cast<size_t>(got));
  SPOT_CHECK(e.size < 0 || got == e.size,
             "zip archive " << path_ << ": member " << e.name << " has " << got << " bytes, header says " << e.size);
  return out;
}

std::string ZipArchive::extract(const ZipEntry& e, const std::string& dest) const {
  const fs::path d(dest);
  if (d.has_parent_path()) fs::create_directories(d.parent_path());
  const std::string part = dest + ".part";
  ZipFilePtr f(zip_fopen_index(zip_, static_cast<zip_uint64_t>(e.index), 0));
  SPOT_CHECK(f, "zip archive " << path_ << ": cannot open member " << e.name << ": " << zip_strerror(zip_));
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> out(std::fopen(part.c_str(), "wb"), &std::fclose);
  SPOT_CHECK(out, "cannot create " << part << ": " << std::strerror(errno));
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> md(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  SPOT_CHECK(md && EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) == 1, "EVP_DigestInit_ex failed");
  std::vector<char> buf(1 << 20);
  int64_t total = 0;
  std::string failure;
  for (;;) {
    const zip_int64_t n = zip_fread(f.get(), buf.data(), buf.size());
    if (n < 0) {  // includes a CRC mismatch at the end of the member
      failure = "zip archive " + path_ + ": member " + e.name + ": " + zip_file_strerror(f.get());
      break;
    }
    if (n == 0) break;
    if (std::fwrite(buf.data(), 1, static_cast<size_t>(n), out.get()) != static_cast<size_t>(n)) {
      failure = "cannot write " + part + ": " + std::strerror(errno);
      break;
    }
    EVP_DigestUpdate(md.get(), buf.data(), static_cast<size_t>(n));
    total += n;
  }
  if (failure.empty() && e.size >= 0 && total != e.size)
    failure = "zip archive " + path_ + ": member " + e.name + " has " + std::to_string(total) + " bytes, header says " +
              std::to_string(e.size);
  if (failure.empty() && (std::fflush(out.get()) != 0 || fsync(fileno(out.get())) != 0))
    failure = "cannot flush " + part + ": " + std::strerror(errno);
  out.reset();
  if (!failure.empty()) {
    fs::remove(part);
    SPOT_FAIL(failure);
  }
  std::error_code ec;
  fs::rename(part, dest, ec);
  SPOT_CHECK(!ec, "cannot rename " << part << " to " << dest << ": " << ec.message());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(md.get(), digest, &len);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < len; ++i) {
    s.push_back(hex[digest[i] >> 4]);
    s.push_back(hex[digest[i] & 15]);
  }
  return s;
}

}  // namespace spot::io
