// fuzz_util.h — pieces the task / config harnesses share (fuzz_user_task, fuzz_dataset_readers,
// fuzz_experiment_config): reporting a finding, a per-process temp directory, writing files, and
// driving every formatting / postprocessing entry point of a Task over the examples it read.
// Header-only; not part of spot.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "eval/tasks.h"
#include "base/check.h"

namespace spot::fuzz {

[[noreturn]] inline void finding(const char* harness, const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", harness, what.c_str());
  std::abort();
}

// Whether $FUZZ_VERBOSE is set: then the spot::Errors that reject inputs are printed (to see what a
// seed or a corpus entry exercises: `FUZZ_VERBOSE=1 build-fuzz/fuzz_user_task fuzz/seeds/fuzz_user_task/*`).
inline bool verbose() {
  static const bool v = std::getenv("FUZZ_VERBOSE") != nullptr;
  return v;
}

// Runs fn(); spot::Error is the expected way to reject bad input, anything else thrown is a finding.
template <class F>
void only_spot_errors(const char* harness, F&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    if (verbose()) std::fprintf(stderr, "%s: spot::Error: %s\n", harness, e.what());
  } catch (const std::exception& e) {
    finding(harness, std::string("exception other than spot::Error: ") + typeid(e).name() + ": " + e.what());
  } catch (...) {
    finding(harness, "exception of a non-std type");
  }
}

// $FUZZ_TMPDIR (default /dev/shm)/<harness>.<pid> as an absolute path, created on first use and
// removed at exit.
inline const std::string& temp_dir(const char* harness) {
  static const std::string dir = [harness] {
    const char* base = std::getenv("FUZZ_TMPDIR");
    std::error_code ec;
    const std::filesystem::path root = std::filesystem::absolute(base && *base ? base : "/dev/shm", ec);
    const std::string d = (root / (std::string(harness) + "." + std::to_string(::getpid()))).lexically_normal().string();
    std::filesystem::remove_all(d, ec);
    if (!std::filesystem::create_directories(d, ec)) finding(harness, "cannot create " + d + ": " + ec.message());
    static std::string to_remove;
    to_remove = d;
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(to_remove, ignored);
    });
    return d;
  }();
  return dir;
}

inline void write_file(const char* harness, const std::string& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) finding(harness, "cannot create " + path);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w <= 0) finding(harness, "cannot write " + path);
    done += static_cast<size_t>(w);
  }
  ::close(fd);
}

// Every example formatted with both verbalizers, and what evaluation does with a formatted example:
// decode its own target, choose the first and last candidate (or regression candidate), the gold
// value, correctness and the training filter. Each call either returns or throws spot::Error
// (format may reject an example the reader accepted, e.g. a COPA question that is neither cause
// nor effect); anything else propagates to the caller's only_spot_errors.
inline void exercise_examples(const eval::Task& task, const std::vector<eval::Example>& examples) {
  auto expected = [](auto&& fn) {
    try {
      fn();
    } catch (const Error&) {
    }
  };
  (void)task.name(), (void)task.kind(), (void)task.label_names(), (void)task.metrics(), (void)task.always_rank();
  (void)task.default_max_new_tokens();
  for (const eval::Example& ex : examples) {
    (void)ex.has_label();
    expected([&] { (void)task.gold_value(ex); });
    for (const eval::Verbalizer v : {eval::Verbalizer::t5, eval::Verbalizer::natural}) {
      eval::Formatted f;
      try {
        f = task.format(ex, v);
      } catch (const Error&) {
        continue;
      }
      (void)task.use_for_training(ex, v);
      expected([&] { (void)task.correct(ex, task.decode(ex, f, f.target, v)); });
      expected([&] { (void)task.decode(ex, f, f.input, v); });
      const size_t n = f.candidates.empty() ? task.regression_candidates(v).size() : f.candidates.size();
      if (n > 0) {
        expected([&] { (void)task.correct(ex, task.choose(ex, f, 0, v)); });
        expected([&] { (void)task.correct(ex, task.choose(ex, f, static_cast<int>(n - 1), v)); });
      }
    }
  }
}

}  // namespace spot::fuzz
