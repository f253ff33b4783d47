#!/usr/bin/env bash
# fuzz.sh — builds and runs the libFuzzer harnesses (libFuzzer + ASan + UBSan), one after another.
#   tools/fuzz.sh [SECONDS] [HARNESS...]   (default 600 seconds each, all harnesses; niced, one job)
# Harnesses: fuzz_safetensors, fuzz_user_task, fuzz_dataset_readers, fuzz_experiment_config.
# Each harness's corpus grows in fuzz/corpus/<harness>/ (git-ignored), seeded from its seeds and
# regressions (inputs that once failed, kept so that every run replays them first):
#   fuzz_safetensors  tests/golden/safetensors/*.safetensors; fuzz/regressions/* (its older flat
#                     layout) and fuzz/regressions/fuzz_safetensors/
#   others            fuzz/seeds/<harness>/ and fuzz/regressions/<harness>/
# with the dictionary fuzz/<name>.dict (fuzz_user_task -> user_task.dict). Crash inputs and each
# harness's log (<harness>.log) land in fuzz/corpus_crashes/<harness>/. Prints per harness the
# executions, the corpus size and the crashes; exits non-zero when any harness found something.
# FUZZ_TMPDIR (default /dev/shm) is where the harnesses write their temp files.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_TO_RUN="${1:-600}"
shift || true
ALL=(fuzz_safetensors fuzz_user_task fuzz_dataset_readers fuzz_experiment_config)
HARNESSES=("$@")
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=("${ALL[@]}")
"$ROOT/fuzz/build.sh" "$ROOT/build-fuzz" "${HARNESSES[@]}" || exit 1

# Stacks for UBSan reports too (ASan prints them anyway).
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
overall=0
summary=()
for h in "${HARNESSES[@]}"; do
  CORPUS="$ROOT/fuzz/corpus/$h"
  CRASHES="$ROOT/fuzz/corpus_crashes/$h"
  REGRESSIONS="$ROOT/fuzz/regressions/$h"
  mkdir -p "$CORPUS" "$CRASHES"
  dirs=("$CORPUS")
  if [ "$h" = fuzz_safetensors ]; then
    # Every committed safetensors file that fits -max_len, and the regressions of the flat layout.
    find "$ROOT/tests/golden/safetensors" -type f -size -4097c -name '*.safetensors' -exec cp -n {} "$CORPUS/" \;
    find "$ROOT/fuzz/regressions" -maxdepth 1 -type f -exec cp -n {} "$CORPUS/" \;
    dict="$ROOT/fuzz/safetensors.dict"
  else
    [ -d "$ROOT/fuzz/seeds/$h" ] && dirs+=("$ROOT/fuzz/seeds/$h")
    dict="$ROOT/fuzz/${h#fuzz_}.dict"
  fi
  [ -d "$REGRESSIONS" ] && dirs+=("$REGRESSIONS")
  before="$(find "$CRASHES" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)"
  log="$CRASHES/$h.log"
  start=$(date +%s)
  # The first directory receives the new inputs; the others (seeds, regressions) are only read.
  (cd "$CRASHES" && nice -n 19 "$ROOT/build-fuzz/$h" "${dirs[@]}" -dict="$dict" -max_len=4096 -timeout=10 \
     -rss_limit_mb=2048 -max_total_time="$SECONDS_TO_RUN" -print_final_stats=1 -artifact_prefix="$CRASHES/") > "$log" 2>&1
  status=$?
  wall=$(( $(date +%s) - start ))
  after="$(find "$CRASHES" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)"
  execs="$(grep -aE '^stat::number_of_executed_units:' "$log" | awk '{print $2}' | tail -n 1)"
  # libFuzzer's corpus at the end (the inputs that add coverage), and the files kept on disk.
  corpus="$(grep -aoE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -n 1 | sed 's/corp: //')"
  corpus_files="$(find "$CORPUS" -type f | wc -l)"
  echo "== $h"
  grep -aE "^#[0-9]+\s+(INITED|DONE)|ERROR|SUMMARY|Test unit written|^$h:|^fuzz_[a-z_]+: " "$log" | tail -n 20
  line="$h: executions ${execs:-?}, ${wall}s, corpus ${corpus:-?} (units/bytes; $corpus_files files in $CORPUS), crashes $((after - before)), exit status $status"
  echo "$line; log $log"
  summary+=("$line")
  [ "$status" -ne 0 ] && overall=1
done
echo "== summary"
printf '%s\n' "${summary[@]}"
exit "$overall"
