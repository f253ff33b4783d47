// download.cpp — libcurl downloads with Range resume, retries, progress and verification; sha256
// and git blob ids with OpenSSL EVP. See download.h for the contract.
#include "io/download.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <thread>

namespace fs = std::filesystem;

namespace spot::io {

namespace {

using Clock = std::chrono::steady_clock;

void curl_global() {
  // curl_global_init is not thread-safe; a function-local static runs it exactly once.
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  SPOT_CHECK(rc == CURLE_OK, "curl_global_init failed: " << curl_easy_strerror(rc));
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

struct EvpDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

std::string to_hex(const unsigned char* d, unsigned n) {
  static const char* digits = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (unsigned i = 0; i < n; ++i) {
    s[2 * i] = digits[d[i] >> 4];
    s[2 * i + 1] = digits[d[i] & 15];
  }
  return s;
}

// Streams a file through an EVP digest, optionally after a prefix (git's "blob <size>\0").
std::string digest_file(const std::string& path, const EVP_MD* md, const std::string& prefix) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  SPOT_CHECK(f, "cannot open " << path << " to hash it: " << std::strerror(errno));
  std::unique_ptr<EVP_MD_CTX, EvpDeleter> ctx(EVP_MD_CTX_new());
  SPOT_CHECK(ctx && EVP_DigestInit_ex(ctx.get(), md, nullptr) == 1, "EVP_DigestInit_ex failed");
  if (!prefix.empty()) EVP_DigestUpdate(ctx.get(), prefix.data(), prefix.size());
  std::vector<unsigned char> buf(1 << 20);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) EVP_DigestUpdate(ctx.get(), buf.data(), n);
  SPOT_CHECK(!std::ferror(f.get()), "read error while hashing " << path);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx.get(), out, &len);
  return to_hex(out, len);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "--:--";
  const long t = std::lround(s);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

// Progress on stderr: a redrawn bar when stderr is a terminal, otherwise a plain line every
// kLineEvery seconds (logs and CI), and one summary line at the end either way.
class Progress {
 public:
  static constexpr double kLineEvery = 5.0;

  Progress(std::string label, bool enabled) : label_(std::move(label)), enabled_(enabled) {
    tty_ = enabled_ && isatty(STDERR_FILENO);
    start_ = last_ = Clock::now();
  }

  // `done`: bytes now in the file; `total`: final size (-1 unknown). Bytes that were already in
  // the file when this run began (a resumed .part) are excluded from the rate.
  void update(int64_t done, int64_t total) {
    if (!enabled_) return;
    if (first_done_ < 0) first_done_ = done;
    if (done < first_done_) first_done_ = done;  // a restart from 0
    const auto now = Clock::now();
    const double since = std::chrono::duration<double>(now - last_).count();
    if (since < (tty_ ? 0.1 : kLineEvery)) return;
    last_ = now;
    draw(done, total);
  }

  void finish(int64_t done) {
    if (!enabled_) return;
    const double secs = std::chrono::duration<double>(Clock::now() - start_).count();
    const int64_t moved = first_done_ < 0 ? 0 : done - first_done_;
    if (tty_) std::fprintf(stderr, "\r\033[K");
    std::fprintf(stderr, "%s: %s in %.1f s (%s/s)\n", label_.c_str(), format_bytes(done).c_str(), secs,
                 format_bytes(secs > 0 ? static_cast<int64_t>(moved / secs) : moved).c_str());
    std::fflush(stderr);
  }

  // A message (retry, restart) that must not be overdrawn by the bar.
  void note(const std::string& msg) {
    if (tty_) std::fprintf(stderr, "\r\033[K");
    std::fprintf(stderr, "%s: %s\n", label_.c_str(), msg.c_str());
    std::fflush(stderr);
  }

 private:
  void draw(int64_t done, int64_t total) {
    const double secs = std::chrono::duration<double>(Clock::now() - start_).count();
    const double rate = secs > 0 ? (done - std::max<int64_t>(first_done_, 0)) / secs : 0;
    const double eta = (total > 0 && rate > 0) ? (total - done) / rate : NAN;
    const std::string rate_s = format_bytes(static_cast<int64_t>(rate)) + "/s";
    if (tty_) {
      std::string bar;
      if (total > 0) {
        const int width = 24, fill = static_cast<int>(width * std::min(1.0, double(done) / total));
        bar.reserve(width + 3);
        bar.push_back('[');
        bar.append(static_cast<size_t>(fill), '#');
        bar.append(static_cast<size_t>(width - fill), '.');
        bar.append("] ");
      }
      std::fprintf(stderr, "\r\033[K%s %s%s / %s  %s  ETA %s", label_.c_str(), bar.c_str(),
                   format_bytes(done).c_str(), total > 0 ? format_bytes(total).c_str() : "?", rate_s.c_str(),
                   format_duration(eta).c_str());
    } else if (total > 0) {
      std::fprintf(stderr, "%s: %s / %s (%.0f%%), %s, ETA %s\n", label_.c_str(), format_bytes(done).c_str(),
                   format_bytes(total).c_str(), 100.0 * done / total, rate_s.c_str(), format_duration(eta).c_str());
    } else {
      std::fprintf(stderr, "%s: %s, %s\n", label_.c_str(), format_bytes(done).c_str(), rate_s.c_str());
    }
    std::fflush(stderr);
  }

  std::string label_;
  bool enabled_, tty_ = false;
  Clock::time_point start_, last_;
  int64_t first_done_ = -1;
};

bool transient_curl_error(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
      return true;
    default:
      return false;  // e.g. DNS failure, bad URL, TLS verification: retrying will not help
  }
}

bool transient_status(long status) { return status == 429 || status >= 500; }

// One HTTP transfer into the .part file. The status line is known only once the body starts, so
// the write callback decides there whether the body appends (206 at our offset), restarts the
// file (200: the server ignored Range), or is an error page kept in memory for the message.
struct Transfer {
  CURL* curl = nullptr;
  std::string part;
  std::FILE* file = nullptr;
  int64_t offset = 0;           // bytes already in the .part that were asked for with Range
  bool decided = false;
  long status = 0;
  int64_t range_start = -1;     // from Content-Range of the final response
  int64_t range_total = -1;
  int64_t content_length = -1;  // of the final response
  bool restarted = false;       // a 200 answered our Range request
  std::string error_body;       // first bytes of a >= 400 body
  std::string failure;          // a local failure that aborted the transfer (disk full, bad 206)
  int64_t received = 0;         // body bytes of this transfer written to the file
  int64_t expected_size = -1;
  Progress* progress = nullptr;

  void decide() {
    if (decided) return;
    decided = true;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 400) return;
    if (status == 206) {
      if (range_start != offset) {
        failure = "server answered Range bytes=" + std::to_string(offset) + "- with Content-Range start " +
                  std::to_string(range_start);
      }
      return;
    }
    if (offset > 0) {
      // Any other success status is a whole-body answer: drop what the .part held.
      restarted = true;
      offset = 0;
      if (std::fflush(file) != 0 || ftruncate(fileno(file), 0) != 0 || std::fseek(file, 0, SEEK_SET) != 0)
        failure = "cannot truncate " + part + ": " + std::strerror(errno);
    }
  }

  int64_t total() const {
    if (expected_size >= 0) return expected_size;
    if (range_total >= 0) return range_total;
    if (content_length >= 0) return offset + content_length;
    return -1;
  }
};

size_t header_cb(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string line(data, size * n);
  const std::string l = lower(line);
  if (l.rfind("http/", 0) == 0) {  // a new response (redirects, 100-continue): forget the last one
    t->range_start = t->range_total = t->content_length = -1;
  } else if (l.rfind("content-range:", 0) == 0) {
    long long a = -1, b = -1, total = -1;
    if (std::sscanf(l.c_str() + 14, " bytes %lld-%lld/%lld", &a, &b, &total) >= 2) {
      t->range_start = a;
      t->range_total = total;
    }
  } else if (l.rfind("content-length:", 0) == 0) {
    t->content_length = std::strtoll(l.c_str() + 15, nullptr, 10);
  }
  return size * n;
}

size_t write_cb(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * n;
  t->decide();
  if (!t->failure.empty()) return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  if (t->status >= 400) {
    if (t->error_body.size() < 400) t->error_body.append(data, std::min<size_t>(bytes, 400 - t->error_body.size()));
    return bytes;
  }
  if (std::fwrite(data, 1, bytes, t->file) != bytes) {
    t->failure = "cannot write " + t->part + ": " + std::strerror(errno);
    return 0;
  }
  t->received += static_cast<int64_t>(bytes);
  return bytes;
}

int xferinfo_cb(void* user, curl_off_t, curl_off_t dlnow, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->decided && t->status < 400 && t->progress) t->progress->update(t->offset + dlnow, t->total());
  return 0;
}

void set_common(CURL* c, const std::string& url, curl_slist* headers, long timeout_s) {
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "spot/0.1 libcurl");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout_s);
  // A stall (under 1 byte/s for timeout_s) aborts the attempt; a total timeout would cut large files.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, timeout_s);
}

SlistPtr make_headers(const std::vector<std::string>& headers) {
  curl_slist* list = nullptr;
  for (const auto& h : headers) {
    curl_slist* next = curl_slist_append(list, h.c_str());
    SPOT_CHECK(next, "curl_slist_append failed");
    list = next;
  }
  return SlistPtr(list);
}

void sleep_backoff(long first_ms, int failures) {
  const long ms = std::min<long>(30000, first_ms << std::min(failures - 1, 10));
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

int64_t file_size_or(const std::string& path, int64_t fallback) {
  std::error_code ec;
  const auto s = fs::file_size(path, ec);
  return ec ? fallback : static_cast<int64_t>(s);
}

}  // namespace

namespace {
// The part of an error body worth quoting: JSON or text, whitespace runs collapsed, at most 200
// bytes; HTML error pages say no more than the status, so they are left out.
std::string quotable_body(const std::string& body) {
  std::string out;
  for (char c : body) {
    const bool ws = c == ' ' || c == '\n' || c == '\r' || c == '\t';
    if (ws && (out.empty() || out.back() == ' ')) continue;
    out.push_back(ws ? ' ' : c);
    if (out.size() >= 200) break;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (!out.empty() && out[0] == '<') return "";
  return out;
}
}  // namespace

HttpError::HttpError(const std::string& url, long status, const std::string& body_start)
    : Error("HTTP " + std::to_string(status) + " for " + url +
            (quotable_body(body_start).empty() ? "" : ": " + quotable_body(body_start))),
      url_(url),
      status_(status),
      body_(quotable_body(body_start)) {}

std::string sha256_hex(const void* data, size_t bytes) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  SPOT_CHECK(EVP_Digest(data, bytes, out, &len, EVP_sha256(), nullptr) == 1, "EVP_Digest(sha256) failed");
  return to_hex(out, len);
}

std::string sha256_file(const std::string& path) { return digest_file(path, EVP_sha256(), ""); }

std::string git_blob_sha1_file(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  SPOT_CHECK(!ec, "cannot stat " << path << ": " << ec.message());
  std::string prefix = "blob " + std::to_string(size);
  prefix.push_back('\0');
  return digest_file(path, EVP_sha1(), prefix);
}

std::string url_escape(const std::string& s, bool keep_slash) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string format_bytes(int64_t bytes) {
  char buf[32];
  const double b = static_cast<double>(bytes);
  if (bytes < 1000) std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  else if (b < 1e6) std::snprintf(buf, sizeof buf, "%.1f kB", b / 1e3);
  else if (b < 1e9) std::snprintf(buf, sizeof buf, "%.1f MB", b / 1e6);
  else std::snprintf(buf, sizeof buf, "%.2f GB", b / 1e9);
  return buf;
}

DownloadResult download_file(const std::string& url, const std::string& dest, const DownloadOptions& opt) {
  curl_global();
  SPOT_CHECK(!dest.empty(), "download_file: empty destination for " << url);
  const fs::path dest_path(dest);
  if (dest_path.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(dest_path.parent_path(), ec);
    SPOT_CHECK(!ec, "cannot create directory " << dest_path.parent_path().string() << ": " << ec.message());
  }
  const std::string part = dest + ".part";
  const std::string label = opt.label.empty() ? dest_path.filename().string() : opt.label;
  Progress progress(label, opt.progress);
  SlistPtr headers = make_headers(opt.headers);
  DownloadResult result;

  if (!opt.resume) fs::remove(part);
  int failures = 0;          // transient failures so far (bounded by opt.retries)
  bool fresh_retry_used = false;

  for (;;) {
    // What is already in the .part decides the request: nothing, a Range resume, or (when the
    // .part already has the expected size) no request at all, only the checks below.
    int64_t have = opt.resume ? file_size_or(part, 0) : 0;
    if (opt.expected_size >= 0 && have > opt.expected_size) {
      progress.note(".part is larger than the expected " + std::to_string(opt.expected_size) + " bytes; starting over");
      fs::remove(part);
      have = 0;
    }
    const bool complete_part = opt.expected_size >= 0 && have == opt.expected_size && have > 0;
    int64_t resumed_at = -1;

    if (!complete_part) {
      CurlPtr curl(curl_easy_init());
      SPOT_CHECK(curl, "curl_easy_init failed");
      Transfer t;
      t.curl = curl.get();
      t.part = part;
      t.offset = have;
      t.expected_size = opt.expected_size;
      t.progress = &progress;
      t.file = std::fopen(part.c_str(), have > 0 ? "ab" : "wb");
      SPOT_CHECK(t.file, "cannot open " << part << " for writing: " << std::strerror(errno));
      std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_guard(t.file, &std::fclose);

      set_common(curl.get(), url, headers.get(), opt.timeout_s);
      const std::string range = std::to_string(have) + "-";
      if (have > 0) curl_easy_setopt(curl.get(), CURLOPT_RANGE, range.c_str());
      curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, write_cb);
      curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &t);
      curl_easy_setopt(curl.get(), CURLOPT_HEADERFUNCTION, header_cb);
      curl_easy_setopt(curl.get(), CURLOPT_HEADERDATA, &t);
      curl_easy_setopt(curl.get(), CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
      curl_easy_setopt(curl.get(), CURLOPT_XFERINFODATA, &t);
      curl_easy_setopt(curl.get(), CURLOPT_NOPROGRESS, 0L);
      char errbuf[CURL_ERROR_SIZE] = {0};
      curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, errbuf);

      const CURLcode rc = curl_easy_perform(curl.get());
      ++result.attempts;
      if (rc == CURLE_OK) t.decide();  // an empty body never reached write_cb
      if (t.status == 0) curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &t.status);
      result.bytes_received += t.received;
      const bool flushed = std::fflush(t.file) == 0 && fsync(fileno(t.file)) == 0;
      file_guard.reset();

      if (!t.failure.empty()) {
        // A wrong Content-Range is the server's fault: start over once; a local write error is final.
        if (t.failure.rfind("server answered", 0) == 0 && !fresh_retry_used) {
          fresh_retry_used = true;
          progress.note(t.failure + "; starting over");
          fs::remove(part);
          continue;
        }
        fs::remove(part);
        SPOT_FAIL("download of " << url << " failed: " << t.failure);
      }
      if (t.status >= 400) {
        if (t.status == 416 && have > 0) {  // the .part is not a prefix of this file (or is all of it)
          SPOT_CHECK(!fresh_retry_used, "download of " << url << " failed: HTTP 416 after a fresh restart");
          fresh_retry_used = true;
          progress.note("server refused Range bytes=" + range + " (HTTP 416); starting over");
          fs::remove(part);
          continue;
        }
        if (transient_status(t.status) && failures < opt.retries) {
          ++failures;
          progress.note("HTTP " + std::to_string(t.status) + "; retrying (" + std::to_string(failures) + " of " +
                        std::to_string(opt.retries) + ")");
          sleep_backoff(opt.retry_delay_ms, failures);
          continue;
        }
        if (file_size_or(part, 0) == 0) fs::remove(part);
        throw HttpError(url, t.status, t.error_body);
      }
      if (rc != CURLE_OK) {
        const std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
        if (transient_curl_error(rc) && failures < opt.retries) {
          ++failures;
          const int64_t at = file_size_or(part, 0);
          progress.note((at > 0 ? "transfer interrupted at " + format_bytes(at) + " (" + why + ")" : why) +
                        "; retrying (" + std::to_string(failures) + " of " + std::to_string(opt.retries) + ")" +
                        (opt.resume && at > 0 ? " from there" : ""));
          if (!opt.resume) fs::remove(part);
          sleep_backoff(opt.retry_delay_ms, failures);
          continue;
        }
        const bool kept = opt.resume && file_size_or(part, 0) > 0;
        if (!kept) fs::remove(part);
        SPOT_FAIL("download of " << url << " failed" << (failures ? " after " + std::to_string(failures + 1) + " attempts" : "")
                                 << ": " << why << " (curl error " << static_cast<int>(rc) << ")"
                                 << (kept ? "; the partial file " + part + " is kept for a resume" : ""));
      }
      SPOT_CHECK(flushed, "cannot flush " << part << ": " << std::strerror(errno));
      if (t.restarted) progress.note("server ignored the Range request (HTTP 200); downloaded from the start");
      if (!t.restarted && have > 0) resumed_at = have;
    } else {
      resumed_at = have;
    }

    // Verification of the whole .part: size, then sha256, then git blob id.
    const int64_t size = file_size_or(part, -1);
    std::string problem;
    std::string sha;
    if (opt.expected_size >= 0 && size != opt.expected_size) {
      problem = "size mismatch: got " + std::to_string(size) + " bytes, expected " + std::to_string(opt.expected_size);
    } else {
      sha = sha256_file(part);
      if (!opt.expected_sha256.empty() && sha != lower(opt.expected_sha256))
        problem = "sha256 mismatch: got " + sha + ", expected " + lower(opt.expected_sha256);
      else if (!opt.expected_git_blob_sha1.empty()) {
        const std::string blob = git_blob_sha1_file(part);
        if (blob != lower(opt.expected_git_blob_sha1))
          problem = "git blob id mismatch: got " + blob + ", expected " + lower(opt.expected_git_blob_sha1);
      }
    }
    if (!problem.empty()) {
      fs::remove(part);
      if (resumed_at >= 0 && !fresh_retry_used) {
        // The old .part may come from another version of the file: one clean download decides.
        fresh_retry_used = true;
        progress.note(problem + " after resuming at byte " + std::to_string(resumed_at) + "; downloading again from the start");
        continue;
      }
      SPOT_FAIL("download of " << url << " failed: " << problem << " (nothing was written to " << dest << ")");
    }

    std::error_code ec;
    fs::rename(part, dest, ec);
    SPOT_CHECK(!ec, "cannot rename " << part << " to " << dest << ": " << ec.message());
    progress.finish(size);
    result.size = size;
    result.sha256 = sha;
    if (result.resumed_from < 0) result.resumed_from = resumed_at;
    return result;
  }
}

std::string http_get(const std::string& url, const std::vector<std::string>& headers, long timeout_s, int retries) {
  curl_global();
  SlistPtr hdrs = make_headers(headers);
  for (int failures = 0;; ) {
    CurlPtr curl(curl_easy_init());
    SPOT_CHECK(curl, "curl_easy_init failed");
    std::string body;
    set_common(curl.get(), url, hdrs.get(), timeout_s);
    curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, 4 * timeout_s);  // API answers are small
    curl_easy_setopt(curl.get(), CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, +[](char* d, size_t s, size_t n, void* u) {
      static_cast<std::string*>(u)->append(d, s * n);
      return s * n;
    });
    curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, errbuf);
    const CURLcode rc = curl_easy_perform(curl.get());
    long status = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
    const bool transient = rc != CURLE_OK ? transient_curl_error(rc) : transient_status(status);
    if ((rc != CURLE_OK || status >= 400) && transient && failures < retries) {
      ++failures;
      std::fprintf(stderr, "spot: GET %s: %s; retrying (%d of %d)\n", url.c_str(),
                   rc != CURLE_OK ? (errbuf[0] ? errbuf : curl_easy_strerror(rc)) : ("HTTP " + std::to_string(status)).c_str(),
                   failures, retries);
      sleep_backoff(1000, failures);
      continue;
    }
    SPOT_CHECK(rc == CURLE_OK, "GET " << url << " failed: " << (errbuf[0] ? errbuf : curl_easy_strerror(rc))
                                      << " (curl error " << static_cast<int>(rc) << ")");
    if (status >= 400) throw HttpError(url, status, body);
    return body;
  }
}

}  // namespace spot::io
