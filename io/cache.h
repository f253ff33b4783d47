// cache.h — where fetched models live on disk, and the small file helpers the fetchers share
// (atomic writes, path safety for names that come from archives and servers, integrity checks).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace boost::json {
class value;
}

namespace spot::io {

// $SPOT_CACHE if set and non-empty, else $XDG_CACHE_HOME/spot, else $HOME/.cache/spot.
std::string default_cache_dir();

// <cache>/models/<name>; `name` may have '/'-separated parts (hf/<owner>/<repo>), each checked
// with is_safe_relative_path.
std::string model_cache_dir(const std::string& cache_dir, const std::string& name);

// True for a non-empty relative path with no empty, "." or ".." component, no backslash and no
// NUL: such a name from a zip member or an API answer cannot escape the directory it is joined to.
bool is_safe_relative_path(const std::string& path);

// Writes `path + ".part"`, fsyncs it and renames it onto `path`; creates parent directories.
void write_file_atomic(const std::string& path, const std::string& contents);
std::string read_file(const std::string& path);  // throws spot::Error naming the file

// An exclusive lock on a run directory (flock on <dir>/.lock) for as long as the object lives; the
// kernel drops it when the process dies, however it dies. A second holder fails at once with an error
// naming the directory, instead of two runs interleaving checkpoints in one place.
class DirLock {
 public:
  explicit DirLock(const std::string& dir);
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

// Removes the temporaries an atomic writer leaves in `dir` when it is killed between creating and
// renaming them: "<name>.part" (write_file_atomic) and ".<name>.tmp.<pid>.<n>" (save_safetensors).
// Call it only while holding the directory's DirLock. Returns the names removed.
std::vector<std::string> remove_stale_temporaries(const std::string& dir);

// Indented JSON (two spaces, one member per line) for the manifests people read; ends with '\n'.
std::string json_pretty(const boost::json::value& v);

// True when `path` is a regular file of `size` bytes (size < 0: any) whose sha256 equals `sha256`
// (empty: not checked). Reads the whole file when a sha256 is given.
bool file_intact(const std::string& path, int64_t size, const std::string& sha256);

}  // namespace spot::io
