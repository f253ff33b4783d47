#!/usr/bin/env bash
# gpu_check.sh — the whole GPU session in one script (run on the GPU machine from the repo root):
# CUDA parity cases and T5 goldens on the GPU, the attention kernel lab, op benchmarks, and the
# prompt-tuning step against PyTorch + HF transformers + PEFT on the same GPU. Full logs go to $OUT
# (or ./gpu_out); a short table is printed last.
#   tools/gpu_pack.sh build-cuda90   # here: pack the sm_90 binaries into .gpurun/pack.tar.xz
#   tools/gpu_check.sh               # there
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$root/gpu_out}
mkdir -p "$out"
run=/tmp/spot_gpurun
rm -rf "$run" && mkdir -p "$run" && tar -C "$run" -xJf "$root/.gpurun/pack.tar.xz"
# The binaries read goldens under the source path they were built from (SPOT_SOURCE_DIR).
src=${SPOT_BUILD_SOURCE_DIR:-/work/main}
if [ ! -e "$src" ]; then mkdir -p "$(dirname "$src")" && ln -s "$root" "$src"; fi
cuda_libs=$(python3 - <<'PY' 2>/dev/null
import glob, os, site
dirs = set()
for sp in site.getsitepackages():
    for pat in ("nvidia/*/lib", "nvidia/cu13/lib", "nvidia/*/lib64"):
        dirs.update(glob.glob(os.path.join(sp, pat)))
print(":".join(sorted(dirs)))
PY
)
# Our libstdc++ needs glibc 2.36 (Debian 12); on an older system, use the system's own C++ runtime.
glibc=$(ldd --version 2>/dev/null | head -1 | grep -oE '[0-9]+\.[0-9]+$')
if [ -n "$glibc" ] && [ "$(printf '%s\n2.36\n' "$glibc" | sort -V | head -1)" != "2.36" ]; then
  rm -f "$run/lib/libstdc++.so.6" "$run/lib/libgcc_s.so.1"
fi
export LD_LIBRARY_PATH="$run/lib:/usr/local/cuda/lib64:${cuda_libs}:${LD_LIBRARY_PATH:-}"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-8}
{
  echo "== $(date -u)"; nvidia-smi -L; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,power.limit --format=csv
  for b in "$run"/bin/*; do echo "-- ldd $(basename "$b")"; ldd "$b" | grep -E "not found|cuda|cublas" ; done
} 2>&1 | tee "$out/env.log"

step() {  # step NAME TIMEOUT CMD...  (SPOT_GPU_STEPS="a b" runs only those)
  local name=$1 t=$2; shift 2
  if [ -n "${SPOT_GPU_STEPS:-}" ] && ! [[ " $SPOT_GPU_STEPS " == *" $name "* ]]; then return 0; fi
  echo "== $name: $*" | tee -a "$out/steps.log"
  local t0=$(date +%s%N)
  timeout "$t" "$@" > "$out/$name.log" 2>&1
  local rc=$?
  local t1=$(date +%s%N)
  echo "$name rc=$rc $(( (t1 - t0) / 1000000 )) ms" | tee -a "$out/steps.log"
  tail -n 5 "$out/$name.log"
  return 0
}

step parity 300 "$run/bin/spot_gpu_tests" --gtest_filter='Cuda*:*T5Golden*cuda*:*LlamaGolden*cuda*' --gtest_brief=1 \
  --gtest_output=xml:"$out/parity.xml"
step lab 60 "$run/bin/spot_dev_attention"
step ops 90 "$run/bin/spot_ops_bench" --benchmark_filter='^cuda/(linear_forward|attention|cross|rms_norm_forward)' \
  --benchmark_min_time=0.05 --benchmark_out="$out/ops_bench.json" --benchmark_out_format=json
step step_b8 100 python3 "$root/bench/compare_pytorch.py" --device cuda --spot "$run/bin/spot_bench" --steps 20 --warmup 3
step step_b32 100 python3 "$root/bench/compare_pytorch.py" --device cuda --spot "$run/bin/spot_bench" --steps 10 \
  --warmup 2 --batch 32

step llama_step 150 env SPOT_BENCH_BACKEND=cuda "$run/bin/spot_llama_step_bench" --benchmark_min_time=0.5

echo
echo "================ GPU check summary ($(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)) ================"
[ -f "$out/parity.log" ] && grep -E "PASSED|FAILED|SKIPPED" "$out/parity.log" | grep -E "^\[ *(PASSED|FAILED|SKIPPED) *\] [0-9]+ tests?" | head -3
grep -c "^\[  FAILED  \]" "$out/parity.log" | sed 's/^/failed cases: /'
grep -E "^\[  FAILED  \]" "$out/parity.log" | head -12
grep -E "^\[golden\]|\[golden " "$out/parity.log"
grep -E "PARITY SUMMARY" "$out/parity.log"
echo "-- attention lab (best per shape)"; grep -iE "best|winner" "$out/lab.log" | head -6
echo "-- prompt-tuning step, T5-small shapes, spot vs PyTorch+PEFT on this GPU"
for f in step_b8 step_b32; do grep -vE "^spot:" "$out/$f.log" | sed -n '1,6p'; done
echo "-- Llama step at SmolLM2-135M shapes (random weights), shared-prefix vs replicated prompt path"
grep -E "^(BM_|llama|shared|replicated)" "$out/llama_step.log" | head -8
cat "$out/steps.log" | grep rc=
