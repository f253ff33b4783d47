#!/usr/bin/env bash
# build_gguf.sh — builds the GGUF/tokenizer libFuzzer harness (fuzz/fuzz_gguf.cpp) with clang,
# AddressSanitizer and UndefinedBehaviorSanitizer, standalone (no CMake: the harness needs only the
# GGUF reader, the tokenizer and the Tensor basics), and optionally runs it.
#
#   fuzz/build_gguf.sh                 build to build-fuzz/fuzz_gguf
#   fuzz/build_gguf.sh run [SECONDS]   build, then fuzz for SECONDS (default 600) at low priority on
#                                      fuzz/corpus_gguf (seeded from tests/golden/gguf and fuzz/seeds);
#                                      crashes are written to build-fuzz/crashes/
set -euo pipefail
cd "$(dirname "$0")/.."

CXX=${CXX:-clang++-14}
OUT=build-fuzz
mkdir -p "$OUT/crashes"
srcs=(fuzz/fuzz_gguf.cpp base/check.cpp base/dtype.cpp base/tensor.cpp
      io/gguf.cpp io/ggml_quants.cpp io/gguf_llama.cpp model/tokenizer/bpe.cpp)
nice "$CXX" -std=c++20 -O1 -g -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -mavx2 -mfma -mf16c -I. -DSPOT_WITH_CUDA=0 -DSPOT_SOURCE_DIR="\"$PWD\"" \
  "${srcs[@]}" $(pkg-config --cflags --libs libpcre2-8) -o "$OUT/fuzz_gguf"
echo "built $OUT/fuzz_gguf"

if [ "${1:-}" = "run" ]; then
  seconds=${2:-600}
  corpus=fuzz/corpus_gguf
  mkdir -p "$corpus"
  cp -n tests/golden/gguf/golden.gguf fuzz/seeds/*.gguf "$corpus"/ 2>/dev/null || true
  nice -n 19 "$OUT/fuzz_gguf" "$corpus" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
    -timeout=10 -artifact_prefix="$OUT/crashes/" -print_final_stats=1
fi
