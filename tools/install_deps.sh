#!/usr/bin/env bash
# install_deps.sh — installs what spot needs to build and test, when it is missing.
# Debian packages through apt-get (as root, or with sudo when available); nothing is installed
# when everything is already there. Used by `make test`, `make demo` and CI.
set -euo pipefail

pkgs=(cmake ninja-build g++ pkg-config libgtest-dev libgmock-dev libbenchmark-dev
      libboost-json1.81-dev libsentencepiece-dev libdnnl-dev libopenblas-openmp-dev libpcre2-dev
      libcurl4-openssl-dev libsqlite3-dev libicu-dev python3-matplotlib
      libssl-dev libzip-dev libmicrohttpd-dev libcli11-dev
      libfaiss-dev libopenmpi-dev openmpi-bin)
# libdnnl-dev: the CPU GEMMs (kernels/gemm.h). libopenblas-openmp-dev: FAISS's BLAS.
# libopenmpi-dev, openmpi-bin: data-parallel training (`mpirun -np N spot train`) and its test.
# libfaiss-dev: the baseline of bench/retrieval_bench.cpp (optional: the benchmark builds without it).
# It depends on libblas.so/liblapack.so, which libopenblas-openmp-dev provides, so it pulls in no
# other BLAS; bench/CMakeLists.txt links it to OpenBLAS's OpenMP build directly.
# `install_deps.sh tsan`: also what the ThreadSanitizer build needs (make test-tsan): clang, its
# sanitizer runtimes, and LLVM's OpenMP runtime with the Archer tool (libarcher.so).
if [ "${1:-}" = "tsan" ]; then
  pkgs+=(clang-14 libclang-rt-14-dev libomp-14-dev)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "spot: installing missing Debian packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "spot: not root and no sudo: install these packages first: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
