#!/usr/bin/env bash
# ctest.sh — runs CTest in a build tree and prints the summary `make test` shows.
#   tools/ctest.sh BUILD_DIR [JOBS] [CTEST ARGS...]
# In a sanitizer build (SPOT_SANITIZE in its CMakeCache) it sets the sanitizers' options: every
# report is fatal and exits with 86 (never 1, which is spot's own error status, so a `spot` run the
# test expects to fail cannot hide a report), and the suppressions committed in tools/sanitizers/
# are read. tests/CMakeLists.txt also fails any test whose output holds a report.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$1"; shift
JOBS="${1:-$(nproc)}"; [ $# -gt 0 ] && shift
cd "$BUILD" || exit 1
SAN="$(sed -n 's/^SPOT_SANITIZE:STRING=//p' CMakeCache.txt 2>/dev/null)"
SUPP="$ROOT/tools/sanitizers"
case "$SAN" in
  address,undefined)
    export ASAN_OPTIONS="halt_on_error=1:exitcode=86:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1:detect_invalid_pointer_pairs=0"
    export UBSAN_OPTIONS="halt_on_error=1:exitcode=86:print_stacktrace=1:suppressions=$SUPP/ubsan.supp"
    export LSAN_OPTIONS="suppressions=$SUPP/lsan.supp:print_suppressions=0"
    ;;
  thread)
    # ignore_noninstrumented_modules: what Archer asks for, so that accesses inside the (uninstrumented)
    # OpenMP runtime and OpenBLAS are not reported; every access of spot's own code still is.
    export TSAN_OPTIONS="halt_on_error=1:exitcode=86:second_deadlock_stack=1:ignore_noninstrumented_modules=1:suppressions=$SUPP/tsan.supp"
    # Archer: LLVM's OpenMP tool that tells TSan about the runtime's barriers, locks and tasks.
    export OMP_TOOL_LIBRARIES="${OMP_TOOL_LIBRARIES:-/usr/lib/llvm-14/lib/libarcher.so}"
    export ARCHER_OPTIONS="${ARCHER_OPTIONS:-verbose=0}"
    ;;
esac
# ctest runs two test processes at once on shared 2-core machines: passive OpenMP waiting keeps
# their threads from spinning against each other.
OMP_WAIT_POLICY=PASSIVE ctest --output-on-failure --no-tests=error -j "$JOBS" "$@" > ctest.log 2>&1
rc=$?
grep -E "(Failed|Exception|Timeout)[ )]" ctest.log | grep -v "tests failed" | head -n 40
if grep -q '^SPOT_CUDA:STRING=EMU' CMakeCache.txt 2>/dev/null; then
  passed=$(grep -cE 'Test +#.*Passed' ctest.log)
  skipped=$(grep -c '(Skipped)' ctest.log)
  echo "CUDA emulator (the kernels as C++ on the CPU, not a GPU): $passed CUDA tests passed, $skipped skipped"
  # On the emulator a skip means the emulated device did not come up: nothing was verified.
  if [ "$passed" -eq 0 ] || [ "$skipped" -ne 0 ]; then echo "cuda_emu: CUDA tests skipped on the emulator: failing"; rc=1; fi
else
  echo "SKIPPED (not verified): $(grep -ci 'cuda.*(Skipped)' ctest.log) CUDA tests (no GPU here)," \
       "$(grep '(Skipped)' ctest.log | grep -vic cuda) other tests (see $BUILD/ctest.log)"
fi
grep -E "tests passed|tests failed|Total Test time" ctest.log
if [ -n "$SAN" ]; then
  echo "sanitizers ($SAN): any report fails the test that printed it;" \
       "planted bugs caught: $(grep -cE 'SanitizerCanary\.[a-z-]+ .*Passed' ctest.log) (SanitizerCanary.*)"
fi
if [ $rc -ne 0 ]; then
  echo "--- output of the failed tests (full log: $BUILD/ctest.log) ---"
  awk '/^ *[0-9]+\/[0-9]+ Test +#/ {show = /\*\*\*Failed|\*\*\*Exception|\*\*\*Timeout/} show' ctest.log | tail -n 200
fi
exit $rc
