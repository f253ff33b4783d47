// download.h — HTTP(S) downloads with libcurl: resumable file downloads into `dest.part` that are
// checked (size, sha256, git blob id) before an atomic rename to `dest`, small GETs for JSON APIs,
// and sha256 of files (OpenSSL libcrypto EVP).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/check.h"

namespace spot::io {

// An HTTP response with status >= 400. `what()` names the URL, the status and the start of the
// body the server sent (APIs such as the Hugging Face Hub explain the failure there).
class HttpError : public Error {
 public:
  HttpError(const std::string& url, long status, const std::string& body_start);
  long status() const { return status_; }
  const std::string& url() const { return url_; }
  const std::string& body() const { return body_; }  // whitespace collapsed; "" for HTML pages

 private:
  std::string url_;
  long status_;
  std::string body_;
};

struct DownloadOptions {
  int64_t expected_size = -1;         // bytes; -1 = unknown (then Content-Length is trusted)
  std::string expected_sha256;        // lowercase hex; empty = not checked
  std::string expected_git_blob_sha1; // git's blob id, sha1("blob <size>\0" + bytes); empty = not checked
  bool resume = true;                 // continue an existing dest.part with an HTTP Range request
  bool progress = true;               // progress on stderr (a bar on a terminal, else a line every few s)
  int retries = 3;                    // extra attempts after a transient failure (drop, timeout, 5xx, 429)
  long timeout_s = 60;                // connect timeout, and abort an attempt that stalls this long
  long retry_delay_ms = 1000;         // first back-off; doubles per attempt
  std::vector<std::string> headers;   // extra request headers, e.g. "Authorization: Bearer ..."
  std::string label;                  // name shown in progress lines; default: the file name of dest
};

struct DownloadResult {
  int64_t size = 0;               // bytes of the final file
  std::string sha256;             // of the final file, lowercase hex
  int64_t bytes_received = 0;     // body bytes received over the network, all attempts together
  int64_t resumed_from = -1;      // offset of the first successful Range resume; -1 = none
  int attempts = 0;               // HTTP requests made
};

// Downloads `url` to `dest` through `dest + ".part"`; on success the .part is fsync'ed and renamed
// onto `dest` (atomic within one file system), so `dest` either does not exist or is complete and
// verified. A .part left by an interrupted run is resumed with `Range: bytes=<n>-`: a 206 reply
// appends, a 200 reply (a server that ignores Range) restarts the file from byte 0. A size or
// sha256 mismatch deletes the .part (after one fresh retry when the bytes came from a resume) and
// throws; HTTP 4xx other than 429 throws HttpError at once. Parent directories are created.
DownloadResult download_file(const std::string& url, const std::string& dest, const DownloadOptions& options = {});

// GET `url` into memory (for small API answers); redirects followed; HTTP >= 400 → HttpError.
// Transient failures (connection errors, 5xx, 429) are retried like download_file.
std::string http_get(const std::string& url, const std::vector<std::string>& headers = {}, long timeout_s = 30,
                     int retries = 3);

std::string sha256_file(const std::string& path);  // lowercase hex; throws when unreadable
std::string sha256_hex(const void* data, size_t bytes);
std::string git_blob_sha1_file(const std::string& path);  // sha1 of "blob <size>\0" + bytes, lowercase hex

// Percent-encodes everything except RFC 3986 unreserved characters (and '/' when keep_slash).
std::string url_escape(const std::string& s, bool keep_slash);

// "93.8 MB", "1.2 GB", "512 B": decimal units, as download sizes are usually quoted.
std::string format_bytes(int64_t bytes);

}  // namespace spot::io
