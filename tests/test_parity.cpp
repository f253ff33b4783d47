// test_parity.cpp — every registered op case: CPU fast path and CUDA against the CPU reference,
// and the finite-difference gradient mode. CUDA cases skip loudly when no GPU is present and a
// summary line counts the skips, so a skip never reads as a pass.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <cstdio>

#include "kernels/ops.h"
#include "tests/parity/parity.h"

namespace spot::parity {
namespace {

std::atomic<int> g_cuda_skipped{0};
std::atomic<int> g_cuda_ran{0};

struct ParityParam {
  size_t index;
  Backend backend;
};

// What ctest's listing shows for a case (else gtest prints the struct's bytes).
void PrintTo(const ParityParam& p, std::ostream* os) {
  *os << all_cases()[p.index].id() << " on " << backend_name(p.backend);
}

std::string param_name(const testing::TestParamInfo<ParityParam>& info) {
  std::string s = std::string(backend_name(info.param.backend)) + "_" + all_cases()[info.param.index].id();
  for (char& ch : s)
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

std::vector<ParityParam> params_for(Backend b) {
  std::vector<ParityParam> p;
  for (size_t i = 0; i < all_cases().size(); ++i) p.push_back({i, b});
  return p;
}

class Parity : public testing::TestWithParam<ParityParam> {};

TEST_P(Parity, MatchesReference) {
  const Case& c = all_cases()[GetParam().index];
  const Result r = check_case(c, GetParam().backend);
  if (r.skipped) {
    ++g_cuda_skipped;
    GTEST_SKIP() << "SKIPPED (not verified): " << c.id() << " on " << backend_name(GetParam().backend) << ": "
                 << r.message;
  }
  if (GetParam().backend == Backend::Cuda) ++g_cuda_ran;
  EXPECT_TRUE(r.ok) << c.id() << " on " << backend_name(GetParam().backend) << ": " << r.message;
  RecordProperty("rel_err", std::to_string(r.rel_err));
}

INSTANTIATE_TEST_SUITE_P(Cpu, Parity, testing::ValuesIn(params_for(Backend::CpuFast)), param_name);
INSTANTIATE_TEST_SUITE_P(Cuda, Parity, testing::ValuesIn(params_for(Backend::Cuda)), param_name);

class FiniteDifference : public testing::TestWithParam<ParityParam> {};

TEST_P(FiniteDifference, GradientMatches) {
  const Case& c = all_cases()[GetParam().index];
  const Result r = check_case_fd(c);
  ASSERT_TRUE(r.ok) << c.id() << ": " << r.message;
}

std::vector<ParityParam> fd_params() {
  std::vector<ParityParam> p;
  for (size_t i = 0; i < all_cases().size(); ++i)
    if (all_cases()[i].fd_objective) p.push_back({i, Backend::CpuReference});
  return p;
}

INSTANTIATE_TEST_SUITE_P(Ref, FiniteDifference, testing::ValuesIn(fd_params()), param_name);

TEST(ParityRegistry, EveryOpHasCases) {
  std::set<std::string> ops, listed(kOpNames.begin(), kOpNames.end());  // the one op list, kernels/ops.inc
  for (const Case& c : all_cases()) ops.insert(c.op);
  for (const char* op : kOpNames) EXPECT_TRUE(ops.count(op)) << "op without parity cases: " << op;
  for (const std::string& op : ops) EXPECT_TRUE(listed.count(op)) << "parity cases for '" << op << "', not in kernels/ops.inc";
}

// Prints the loud summary at the end of the run.
class SkipSummary : public testing::EmptyTestEventListener {
  void OnTestProgramEnd(const testing::UnitTest&) override {
    if (g_cuda_skipped > 0)
      std::printf("\n*** PARITY SUMMARY: %d CUDA cases SKIPPED (not verified: %s); %d CUDA cases ran ***\n\n",
                  g_cuda_skipped.load(), SPOT_WITH_CUDA ? "no CUDA device present" : "built without CUDA",
                  g_cuda_ran.load());
    else
      std::printf("\n*** PARITY SUMMARY: %d CUDA cases ran, none skipped ***\n\n", g_cuda_ran.load());
  }
};

const bool g_listener = [] {
  testing::UnitTest::GetInstance()->listeners().Append(new SkipSummary);
  return true;
}();

}  // namespace
}  // namespace spot::parity
