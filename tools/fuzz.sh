#!/usr/bin/env bash
# fuzz.sh — builds and runs the libFuzzer harnesses (libFuzzer + ASan + UBSan), one after another.
#   tools/fuzz.sh [SECONDS] [HARNESS...]   (default 600 seconds each, all harnesses; niced, one job)
# Harnesses: fuzz_safetensors, fuzz_gguf, fuzz_user_task, fuzz_dataset_readers, fuzz_experiment_config,
# fuzz_prompt_file, fuzz_peft_adapter.
# Each harness's corpus grows in fuzz/corpus/<harness>/ (git-ignored), seeded from its seeds and
# regressions (inputs that once failed, kept so that every run replays them first):
#   fuzz_safetensors  tests/golden/safetensors/*.safetensors; fuzz/regressions/* (its older flat
#                     layout) and fuzz/regressions/fuzz_safetensors/
#   fuzz_gguf         tests/golden/gguf/golden.gguf, fuzz/seeds/*.gguf (inputs up to 64 KiB)
#   fuzz_prompt_file  tests/golden/peft/*/adapter_model.safetensors (those that fit -max_len) and
#                     fuzz/seeds/fuzz_prompt_file/
#   others            fuzz/seeds/<harness>/ and fuzz/regressions/<harness>/
# with the dictionary fuzz/<name>.dict (fuzz_user_task -> user_task.dict; fuzz_gguf has none). Crash inputs land in fuzz/corpus_crashes/<harness>/, each
# harness's log (<harness>.log) there too or in $FUZZ_LOG_DIR. Prints per harness the executions,
# the corpus size and the crashes; exits non-zero when any harness found something.
# FUZZ_RUNS=N stops each harness after N executions (or SECONDS, whichever comes first; SECONDS 0:
# no time limit). FUZZ_TMPDIR (default /dev/shm) is where the harnesses write their temp files.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_TO_RUN="${1:-600}"
shift || true
ALL=(fuzz_safetensors fuzz_gguf fuzz_user_task fuzz_dataset_readers fuzz_experiment_config fuzz_prompt_file
     fuzz_peft_adapter)
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
  max_len=4096
  dict_args=()
  if [ "$h" = fuzz_safetensors ]; then
    # Every committed safetensors file that fits -max_len, and the regressions of the flat layout.
    find "$ROOT/tests/golden/safetensors" -type f -size -4097c -name '*.safetensors' -exec cp -n {} "$CORPUS/" \;
    find "$ROOT/fuzz/regressions" -maxdepth 1 -type f -exec cp -n {} "$CORPUS/" \;
    dict_args=(-dict="$ROOT/fuzz/safetensors.dict")
  elif [ "$h" = fuzz_gguf ]; then
    cp -n "$ROOT/tests/golden/gguf/golden.gguf" "$ROOT"/fuzz/seeds/*.gguf "$CORPUS/"
    max_len=65536
  else
    [ -d "$ROOT/fuzz/seeds/$h" ] && dirs+=("$ROOT/fuzz/seeds/$h")
    dict_args=(-dict="$ROOT/fuzz/${h#fuzz_}.dict")
    if [ "$h" = fuzz_prompt_file ]; then
      # Every PEFT golden's tensor file (each its own name: they are all adapter_model.safetensors).
      for f in "$ROOT"/tests/golden/peft/*/adapter_model.safetensors; do
        [ -f "$f" ] && [ "$(stat -c %s "$f")" -le 4096 ] && cp -n "$f" "$CORPUS/$(basename "$(dirname "$f")").safetensors"
      done
    fi
  fi
  [ -d "$REGRESSIONS" ] && dirs+=("$REGRESSIONS")
  before="$(find "$CRASHES" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)"
  log="${FUZZ_LOG_DIR:-$CRASHES}/$h.log"
  mkdir -p "$(dirname "$log")"
  runs_args=()
  [ -n "${FUZZ_RUNS:-}" ] && runs_args=(-runs="$FUZZ_RUNS")
  start=$(date +%s)
  # The first directory receives the new inputs; the others (seeds, regressions) are only read.
  (cd "$CRASHES" && nice -n 19 "$ROOT/build-fuzz/$h" "${dirs[@]}" "${dict_args[@]}" -max_len="$max_len" -timeout=10 \
     -rss_limit_mb=2048 -max_total_time="$SECONDS_TO_RUN" "${runs_args[@]}" -print_final_stats=1 -artifact_prefix="$CRASHES/") > "$log" 2>&1
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
