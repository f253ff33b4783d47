#!/bin/bash
# tools/cuda_emu/run.sh — runs the CUDA parity cases against a CPU emulation of kernels/cuda/*.cu,
# for machines without a GPU. Each .cu is compiled as C++ against the fake CUDA/cuBLAS headers in
# fake/ (transform.py rewrites `kernel<<<...>>>(args)` launches and `extern __shared__`): blocks run
# one after another, the threads of a block are ucontext fibers with real barrier semantics
# (__syncthreads, warp shuffles; a mismatched barrier aborts with "deadlock"), dynamic shared memory
# starts as NaN garbage, launches are checked (grid > 0, <= 1024 threads, shared memory within the
# kernel's opt-in), and the cuBLASLt stub checks its layouts and computes the GEMM in fp64.
# It verifies indexing, masking, tiling and launch logic; it does not model warp-synchronous timing,
# memory-ordering races beyond two thread orders, real cuBLASLt heuristics or performance.
#
#   tools/cuda_emu/run.sh [gtest filter]          (default: 'Cuda*')
#   EMU_REVERSE=1 tools/cuda_emu/run.sh           (threads scheduled in reverse order)
#   SAN="-fsanitize=address" tools/cuda_emu/run.sh (out-of-bounds reads in the kernels)
#
# Needs a configured and built CUDA tree (build-cuda: `cmake -B build-cuda -DSPOT_CUDA=ON` and
# `ninja -C build-cuda spot_tests`) for the host objects compiled with SPOT_WITH_CUDA=1.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
B=${BUILD_CUDA:-$REPO/build-cuda}
E=$(dirname "$(readlink -f "$0")")
OUT=${EMU_OUT:-$B/cuda_emu}
SAN=${SAN:-}
mkdir -p "$OUT/gen" "$OUT/obj"
for f in "$REPO"/kernels/cuda/*.cu; do
  n=$(basename "$f" .cu)
  python3 "$E/transform.py" "$f" "$OUT/gen/$n.cpp"
  g++ -std=c++20 -O1 -g $SAN -w -I"$E/fake" -I"$REPO" -DSPOT_WITH_CUDA=1 -DSPOT_SOURCE_DIR=\""$REPO"\" \
    -c "$OUT/gen/$n.cpp" -o "$OUT/obj/$n.o"
done
g++ $SAN -fopenmp -o "$OUT/spot_tests_emu" "$B/tests/CMakeFiles/spot_tests.dir/test_parity.cpp.o" \
  "$B/tests/libspot_parity.a" $(find "$B/CMakeFiles/spot_core.dir" -name "*.cpp.o") "$OUT"/obj/*.o \
  -lgtest_main -lgtest -L/usr/lib/x86_64-linux-gnu/openblas-openmp -lopenblas \
  -lboost_json -lboost_container -lsqlite3 -lcurl -lsentencepiece -lpcre2-8 -lpthread -ldl \
  -Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-openmp
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_stack_use_after_return=0:detect_leaks=0} \
  "$OUT/spot_tests_emu" --gtest_filter="${1:-Cuda*}"
