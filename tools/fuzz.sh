#!/usr/bin/env bash
# fuzz.sh — builds and runs the safetensors fuzzer (libFuzzer + ASan + UBSan).
#   tools/fuzz.sh [SECONDS]      (default 600; niced, one job)
# The corpus grows in fuzz/corpus/ (git-ignored), seeded from the committed goldens and from
# fuzz/regressions/ (inputs that once failed, kept so that every run replays them first). Crash
# inputs and the job's log (fuzz-0.log) land in fuzz/corpus_crashes/.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_TO_RUN="${1:-600}"
"$ROOT/fuzz/build.sh" "$ROOT/build-fuzz" || exit 1
CORPUS="$ROOT/fuzz/corpus"
CRASHES="$ROOT/fuzz/corpus_crashes"
mkdir -p "$CORPUS" "$CRASHES"
# Seeds: every committed safetensors file that fits -max_len, and the regressions.
find "$ROOT/tests/golden/safetensors" "$ROOT/fuzz/regressions" -type f -size -4097c \
     \( -name '*.safetensors' -o -path '*/regressions/*' \) -exec cp -n {} "$CORPUS/" \;
# With -jobs the fuzzing runs in a child process that logs to fuzz-0.log in the working directory.
cd "$CRASHES"
nice -n 10 "$ROOT/build-fuzz/fuzz_safetensors" "$CORPUS" \
  -dict="$ROOT/fuzz/safetensors.dict" -max_len=4096 -jobs=1 -workers=1 -max_total_time="$SECONDS_TO_RUN" \
  -print_final_stats=1 -artifact_prefix="$CRASHES/" > "$CRASHES/driver.log" 2>&1
status=$?
grep -E "^#[0-9]+\s+(INITED|DONE|pulse)|^stat::|ERROR|SUMMARY|Test unit written|fuzz_safetensors:" "$CRASHES/fuzz-0.log" | tail -n 25
echo "fuzz.sh: exit status $status; full log $CRASHES/fuzz-0.log"
exit "$status"
