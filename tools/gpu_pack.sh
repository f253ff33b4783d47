#!/usr/bin/env bash
# gpu_pack.sh — packs the CUDA test and benchmark binaries of a build, with the shared libraries they
# need that a bare GPU machine may lack, into .gpurun/pack.tar.xz (git-ignored) for tools/gpu_check.sh.
# The CUDA driver, runtime and cuBLAS come from the GPU machine itself.
#   tools/gpu_pack.sh build-cuda90
set -euo pipefail
build=${1:-build-cuda}
root=$(cd "$(dirname "$0")/.." && pwd)
stage=$(mktemp -d)
mkdir -p "$stage/bin" "$stage/lib"
bins=("$build/tests/spot_gpu_tests" "$build/bench/spot_bench" "$build/bench/spot_ops_bench" "$build/bench/spot_dev_attention"
      "$build/bench/spot_llama_step_bench")
for b in "${bins[@]}"; do
  [ -x "$b" ] || { echo "gpu_pack: missing $b (build it first)" >&2; exit 1; }
  cp "$b" "$stage/bin/"
done
# Every resolved dependency except glibc's own libraries and the CUDA libraries.
for b in "${bins[@]}"; do ldd "$b"; done | awk '$3 ~ /^\// {print $3}' | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so*|libm.so*|libdl.so*|librt.so*|libpthread.so*|ld-linux*|libresolv.so*) ;;
    libcuda.so*|libcudart.so*|libcublas*|libcudnn*|libnvrtc*|libnvJitLink*) ;;
    *) cp -L "$lib" "$stage/lib/" ;;
  esac
done
mkdir -p "$root/.gpurun"
tar -C "$stage" -cJf "$root/.gpurun/pack.tar.xz" bin lib
rm -rf "$stage"
ls -la "$root/.gpurun/pack.tar.xz"
