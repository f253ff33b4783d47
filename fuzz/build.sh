#!/usr/bin/env bash
# build.sh — builds the libFuzzer harnesses with clang (ASan + UBSan + libFuzzer).
#   fuzz/build.sh [OUT_DIR] [HARNESS...]   (default: build-fuzz, all harnesses; CXX_FUZZ overrides
#                                           the compiler; compiles run niced, one at a time)
# Harnesses: fuzz_safetensors, fuzz_gguf, fuzz_user_task, fuzz_dataset_readers, fuzz_experiment_config,
# fuzz_prompt_file, fuzz_peft_adapter.
# Each is linked from only the sources it needs, compiled instrumented (Boost.JSON too, from its
# sources: fuzz/boost_json_src.cpp). The eval/ readers need ICU. The experiment reader calls into
# train/, model/ and eval/ for validation only; its objects are compiled with -ffunction-sections
# and linked with --gc-sections, so the training / inference code that app/experiment.cpp also
# holds (run_experiment) is dropped with everything only it refers to, instead of compiling and
# linking the whole library (kernels, OpenMP, BLAS, CUDA, downloads). If a change makes the config
# reader itself call into that code, the link fails naming the symbol: add its source below.
# Objects are shared between harnesses (builds into one OUT_DIR take turns) and rebuilt when their source or any header they include
# (clang's dependency file) is newer; a harness is relinked when one of its objects is newer.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/build-fuzz}"
shift || true
ALL=(fuzz_safetensors fuzz_gguf fuzz_user_task fuzz_dataset_readers fuzz_experiment_config fuzz_prompt_file
     fuzz_peft_adapter)
HARNESSES=("$@")
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=("${ALL[@]}")
CXX_FUZZ="${CXX_FUZZ:-$(command -v clang++-14 || command -v clang++ || true)}"
if [ -z "$CXX_FUZZ" ]; then
  echo "fuzz/build.sh: clang++ not found (set CXX_FUZZ)" >&2
  exit 1
fi
mkdir -p "$OUT/obj"
# One build at a time per OUT_DIR (CMake builds the harnesses as separate targets, maybe in parallel).
exec 9>"$OUT/.build.lock"
flock 9
FLAGS=(-std=c++20 -g -O1 -mavx2 -mfma -mf16c -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
       -fno-sanitize-recover=all -Wno-unknown-pragmas -ffunction-sections -fdata-sections -I"$ROOT"
       -DSPOT_WITH_CUDA=0 -DSPOT_SOURCE_DIR="\"$ROOT\"" -DBOOST_JSON_NO_LIB -DBOOST_CONTAINER_NO_LIB)
LINK=(-fsanitize=fuzzer,address,undefined -fuse-ld=lld -Wl,--gc-sections -Wl,-z,start-stop-gc)

# The eval/ task readers (GLUE, SuperGLUE, SPoT source tasks, user tasks) and what they call.
EVAL_SOURCES=(eval/tasks.cpp eval/task_def.cpp eval/glue_tasks.cpp eval/superglue_tasks.cpp eval/source_tasks.cpp
              eval/user_tasks.cpp eval/registry.cpp eval/t5_postprocess.cpp eval/task_io.cpp eval/csv.cpp eval/text.cpp
              eval/metrics.cpp io/arrow_ipc.cpp io/cache.cpp io/data_dir.cpp base/paths.cpp base/check.cpp
              fuzz/boost_json_src.cpp)
sources_of() {
  case "$1" in
    fuzz_safetensors)
      echo fuzz/fuzz_safetensors.cpp fuzz/boost_json_src.cpp io/safetensors.cpp base/tensor.cpp \
           base/dtype.cpp base/check.cpp ;;
    fuzz_gguf)
      echo fuzz/fuzz_gguf.cpp base/check.cpp base/dtype.cpp base/tensor.cpp io/gguf.cpp io/ggml_quants.cpp \
           io/gguf_llama.cpp model/tokenizer/bpe.cpp ;;
    fuzz_prompt_file | fuzz_peft_adapter)
      echo "fuzz/$1.cpp" prompt/soft_prompt.cpp io/safetensors.cpp io/cache.cpp base/tensor.cpp base/dtype.cpp \
           base/check.cpp fuzz/boost_json_src.cpp ;;
    fuzz_user_task) echo fuzz/fuzz_user_task.cpp "${EVAL_SOURCES[@]}" ;;
    fuzz_dataset_readers) echo fuzz/fuzz_dataset_readers.cpp "${EVAL_SOURCES[@]}" ;;
    fuzz_experiment_config)
      # parse_experiment: backbone spec check (registry, cache), prompt placement (backbone),
      # task names (eval), trainer_config_json (trainer), eval mode (evaluate).
      echo fuzz/fuzz_experiment_config.cpp app/experiment.cpp app/experiment_fields.cpp app/transfer.cpp retrieval/task_embedding.cpp \
           train/trainer.cpp train/trainer_config.cpp io/json_fields.cpp model/prompt_set.cpp model/registry.cpp \
           io/cache.cpp model/backbone.cpp eval/evaluate.cpp io/fetch_model.cpp io/gguf_llama.cpp \
           io/gguf.cpp io/ggml_quants.cpp io/data_dir.cpp base/tensor.cpp base/dtype.cpp base/paths.cpp \
           "${EVAL_SOURCES[@]}" ;;
    *) echo "fuzz/build.sh: unknown harness '$1' (harnesses: ${ALL[*]})" >&2; return 1 ;;
  esac
}
libs_of() {
  case "$1" in
    fuzz_safetensors | fuzz_prompt_file | fuzz_peft_adapter) ;;
    fuzz_gguf) pkg-config --libs libpcre2-8 ;;
    *) echo -licuuc ;;
  esac
}

# Whether $1 (an object) is missing, or older than its source or a header its dependency file lists.
stale() {
  local o="$1" d="${1%.o}.d"
  [ -f "$o" ] && [ -f "$d" ] || return 0
  local deps
  deps="$(sed -e 's/^[^:]*://' -e 's/\\$//' "$d" | tr ' ' '\n' | grep -v '^$' || true)"
  while IFS= read -r f; do
    [ -e "$f" ] || return 0  # a header that went away
    [ "$f" -nt "$o" ] && return 0
  done <<< "$deps"
  return 1
}

for h in "${HARNESSES[@]}"; do
  # Each source once (the lists share files), in order.
  srcs="$(sources_of "$h" | tr ' ' '\n' | grep -v '^$' | awk '!seen[$0]++')"
  OBJS=()
  for s in $srcs; do
    o="$OUT/obj/$(echo "$s" | tr / _).o"
    if stale "$o"; then
      echo "  CXX $s"
      nice -n 19 "$CXX_FUZZ" "${FLAGS[@]}" -MMD -MF "${o%.o}.d" -c "$ROOT/$s" -o "$o"
    fi
    OBJS+=("$o")
  done
  bin="$OUT/$h"
  relink=0
  [ -f "$bin" ] || relink=1
  for o in "${OBJS[@]}"; do [ "$o" -nt "$bin" ] && relink=1; done
  if [ "$relink" = 1 ]; then
    echo "  LINK $h"
    # shellcheck disable=SC2046
    nice -n 19 "$CXX_FUZZ" "${LINK[@]}" "${OBJS[@]}" $(libs_of "$h") -o "$bin"
  else
    touch "$bin"  # up to date: newer than the inputs that made the build system call this script
  fi
  echo "built $bin"
done
