// profile.h — per-op wall-clock profile of a run: set SPOT_PROFILE=1 and every dispatched op is timed
// (CUDA ops synchronise their stream first, so the numbers are exact and the run slower); a table
// of time per op, calls and share is printed to stderr at exit. For Nsight, use the NVTX ranges.
#pragma once

#include <cstdint>

namespace spot {

class Context;

bool profiling_enabled();  // SPOT_PROFILE set to a non-empty value other than "0"

class OpTimer {
 public:
  OpTimer(const Context& ctx, const char* op);
  ~OpTimer();
  OpTimer(const OpTimer&) = delete;
  OpTimer& operator=(const OpTimer&) = delete;

 private:
  const Context* ctx_ = nullptr;
  const char* op_ = nullptr;
  int64_t start_ns_ = 0;
};

}  // namespace spot
