#!/usr/bin/env bash
# bf16_check.sh — the bf16 learning check of issue 10: prompt tuning of frozen SmolLM2 on SST-2 and CB
# at --precision fp32 and bf16 with the same seeds (experiments/bf16_check_{fp32,bf16}.json), then
# the dev scores side by side, PASS when each task's bf16 score is within 1 point of fp32, and the
# learning curves of both precisions in one figure. Resumable: `spot run` skips finished runs and
# resumes a killed one from its checkpoint, so rerunning the script continues where it stopped.
# About 2-3 hours on 2 CPU cores (fp32 ~40 min for SST-2 + ~20 for CB; bf16 less).
#   tools/bf16_check.sh [SPOT_BINARY]      logs in runs/bf16_check/<precision>.log
# Writes runs/bf16_check/{comparison.md,curves.png}; copy both to experiments/results/bf16_check/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SPOT="${1:-$ROOT/build/spot}"
cd "$ROOT"
mkdir -p runs/bf16_check
for p in fp32 bf16; do
  echo "== $p: spot run experiments/bf16_check_$p.json (log runs/bf16_check/$p.log)"
  "$SPOT" run "experiments/bf16_check_$p.json" >> "runs/bf16_check/$p.log" 2>&1
done
python3 - <<'PY'
import json, os
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

root = "runs/bf16_check"
rows, ok = [], True
fig, axes = plt.subplots(2, 2, figsize=(11, 7))
for col, task in enumerate(["sst2", "cb"]):
    scores = {}
    for prec, style in [("fp32", "-"), ("bf16", "--")]:
        ev = json.load(open(f"{root}/{prec}/{task}_prompt_tuned/eval_validation.json"))
        scores[prec] = ev["result"]["score"]
        steps, loss, es, sc = [], [], [], []
        for line in open(f"{root}/{prec}/{task}_prompt_tuning/metrics.jsonl"):
            e = json.loads(line)
            if e.get("event") == "train":
                steps.append(e["step"]); loss.append(e["loss_ema"])
            elif e.get("event") == "eval":
                es.append(e["step"]); sc.append(e["result"]["score"])
        axes[0][col].plot(steps, loss, style, label=prec)
        axes[1][col].plot(es, sc, style, marker="o", label=prec)
    diff = scores["bf16"] - scores["fp32"]
    passed = abs(diff) <= 1.0
    ok &= passed
    rows.append(f"| {task} | {scores['fp32']:.2f} | {scores['bf16']:.2f} | {diff:+.2f} | {'PASS' if passed else 'FAIL'} |")
    axes[0][col].set_title(f"{task}: training loss (EMA)"); axes[1][col].set_title(f"{task}: validation score (200 examples)")
    for a in (axes[0][col], axes[1][col]):
        a.set_xlabel("step"); a.legend()
fig.tight_layout()
fig.savefig(f"{root}/curves.png", dpi=110)
md = ["| task | fp32 dev | bf16 dev | bf16 - fp32 | within 1 point |", "|---|---:|---:|---:|---|", *rows]
open(f"{root}/comparison.md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
print("bf16 learning check:", "PASS" if ok else "FAIL")
PY
