#!/usr/bin/env bash
# build.sh — builds the libFuzzer harnesses with clang (ASan + UBSan + libFuzzer).
#   fuzz/build.sh [OUT_DIR]        (default: build-fuzz; CXX_FUZZ overrides the compiler)
# Only the sources the harness needs are compiled, so no CUDA, OpenMP or BLAS is involved.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/build-fuzz}"
CXX_FUZZ="${CXX_FUZZ:-$(command -v clang++-14 || command -v clang++ || true)}"
if [ -z "$CXX_FUZZ" ]; then
  echo "fuzz/build.sh: clang++ not found (set CXX_FUZZ)" >&2
  exit 1
fi
mkdir -p "$OUT/obj"
FLAGS=(-std=c++20 -g -O1 -mavx2 -mfma -mf16c -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
       -fno-sanitize-recover=all -Wno-unknown-pragmas -I"$ROOT" -DSPOT_WITH_CUDA=0
       -DSPOT_SOURCE_DIR="\"$ROOT\"" -DBOOST_JSON_NO_LIB -DBOOST_CONTAINER_NO_LIB)
SOURCES=(fuzz/fuzz_safetensors.cpp fuzz/boost_json_src.cpp model/io/safetensors.cpp
         kernels/tensor.cpp kernels/dtype.cpp kernels/check.cpp)
OBJS=()
for s in "${SOURCES[@]}"; do
  o="$OUT/obj/$(echo "$s" | tr / _).o"
  # Rebuild an object when its source or any header of the module is newer.
  if [ ! -f "$o" ] || [ -n "$(find "$ROOT/$s" "$ROOT/model/io" "$ROOT/kernels" "$ROOT/fuzz" -newer "$o" -name '*.h' -o -newer "$o" -name "$(basename "$s")" | head -1)" ]; then
    echo "  CXX $s"
    "$CXX_FUZZ" "${FLAGS[@]}" -c "$ROOT/$s" -o "$o"
  fi
  OBJS+=("$o")
done
"$CXX_FUZZ" -fsanitize=fuzzer,address,undefined "${OBJS[@]}" -o "$OUT/fuzz_safetensors"
echo "built $OUT/fuzz_safetensors"
