// profile.cpp — the SPOT_PROFILE op timer and its exit report.
#include "base/profile.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "base/context.h"

namespace spot {

namespace {

struct Stat {
  double seconds = 0;
  int64_t calls = 0;
};

struct Registry {
  std::mutex mu;
  std::map<std::string, Stat> stats;
  ~Registry() {
    if (stats.empty()) return;
    std::vector<std::pair<std::string, Stat>> v(stats.begin(), stats.end());
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second.seconds > b.second.seconds; });
    double total = 0;
    for (const auto& [k, s] : v) total += s.seconds;
    std::fprintf(stderr, "\nSPOT_PROFILE: time per op (%.3f s in ops)\n%-32s %10s %9s %7s\n", total, "op", "ms", "calls", "share");
    for (const auto& [k, s] : v)
      std::fprintf(stderr, "%-32s %10.2f %9lld %6.1f%%\n", k.c_str(), s.seconds * 1e3, (long long)s.calls,
                   100.0 * s.seconds / std::max(total, 1e-12));
  }
};

Registry& registry() {
  static Registry r;
  return r;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

bool profiling_enabled() {
  static const bool on = [] {
    const char* e = std::getenv("SPOT_PROFILE");
    return e && *e && std::string(e) != "0";
  }();
  return on;
}

OpTimer::OpTimer(const Context& ctx, const char* op) {
  if (!profiling_enabled()) return;
  registry();  // constructed before the first timing so it is destroyed after the last
  ctx.synchronize();
  ctx_ = &ctx;
  op_ = op;
  start_ns_ = now_ns();
}

OpTimer::~OpTimer() {
  if (!ctx_) return;
  ctx_->synchronize();
  const double s = (now_ns() - start_ns_) * 1e-9;
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  Stat& st = r.stats[op_];
  st.seconds += s;
  st.calls += 1;
}

}  // namespace spot
