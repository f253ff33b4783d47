#!/usr/bin/env bash
# build_gguf.sh — builds the GGUF/tokenizer libFuzzer harness (fuzz/fuzz_gguf.cpp: the GGUF reader,
# the tokenizer and the Tensor basics, with ASan + UBSan) through fuzz/build.sh, and optionally runs it
# on its own corpus. tools/fuzz.sh runs it with the other harnesses (corpus fuzz/corpus/fuzz_gguf).
#
#   fuzz/build_gguf.sh                 build to build-fuzz/fuzz_gguf
#   fuzz/build_gguf.sh run [SECONDS]   build, then fuzz for SECONDS (default 600) at low priority on
#                                      fuzz/corpus_gguf (seeded from tests/golden/gguf and fuzz/seeds);
#                                      crashes are written to build-fuzz/crashes/
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=build-fuzz
mkdir -p "$OUT/crashes"
# The harness's sources and flags live in fuzz/build.sh with the other harnesses'.
fuzz/build.sh "$OUT" fuzz_gguf

if [ "${1:-}" = "run" ]; then
  seconds=${2:-600}
  corpus=fuzz/corpus_gguf
  mkdir -p "$corpus"
  cp -n tests/golden/gguf/golden.gguf fuzz/seeds/*.gguf "$corpus"/ 2>/dev/null || true
  nice -n 19 "$OUT/fuzz_gguf" "$corpus" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
    -timeout=10 -artifact_prefix="$OUT/crashes/" -print_final_stats=1
fi
