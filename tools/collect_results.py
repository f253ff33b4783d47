#!/usr/bin/env python3
"""collect_results.py RUNS_DIR OUT_DIR — copies what an experiment produced that is worth keeping in
git (report.md, metrics.jsonl, evaluation JSON, learning curves; no prompts or checkpoints) from
RUNS_DIR/<task>/ to OUT_DIR/<task>/ and writes OUT_DIR/README.md with one row per task.
  python3 tools/collect_results.py runs/smollm2 experiments/results/smollm2"""
import json
import os
import shutil
import sys


def main():
    runs, out = sys.argv[1], sys.argv[2]
    rows = []
    for task in sorted(os.listdir(runs)):
        src = os.path.join(runs, task)
        if not os.path.isdir(src):
            continue
        dst = os.path.join(out, task)
        os.makedirs(dst, exist_ok=True)
        for f in ("report.md", "learning_curves.png", "experiment.json"):
            if os.path.exists(os.path.join(src, f)):
                shutil.copy(os.path.join(src, f), os.path.join(dst, f))
        row = {"task": task}
        for run in sorted(os.listdir(src)):
            rdir = os.path.join(src, run)
            if not os.path.isdir(rdir):
                continue
            os.makedirs(os.path.join(dst, run), exist_ok=True)
            for f in os.listdir(rdir):
                if f in ("metrics.jsonl", "config.json") or (f.startswith("eval_") and f.endswith(".json")):
                    shutil.copy(os.path.join(rdir, f), os.path.join(dst, run, f))
            ev = os.path.join(rdir, "eval_validation.json")
            if os.path.exists(ev):
                e = json.load(open(ev))
                row[run] = e["result"]
                row[run + "_s"] = e["seconds"]
            log = os.path.join(rdir, "metrics.jsonl")
            if os.path.exists(log):
                best, steps, elapsed = None, 0, 0
                for line in open(log):
                    try:
                        e = json.loads(line)
                    except ValueError:
                        continue
                    if e.get("event") == "train":
                        steps, elapsed = e["step"], e["elapsed_s"]
                    if e.get("event") == "eval" and (best is None or e["result"]["score"] > best[1]):
                        best = (e["step"], e["result"]["score"])
                row["train"] = {"steps": steps, "elapsed_s": elapsed, "best": best}
        rows.append(row)

    def metrics(r):
        return ", ".join(f"{k} {v:.2f}" for k, v in r["metrics"].items())

    lines = ["| task | dev examples | zero-shot | prompt-tuned | steps (best) | train wall time |", "|---|---:|---|---|---|---:|"]
    for r in rows:
        z, t, tr = r.get("zero_shot"), r.get("prompt_tuned"), r.get("train", {})
        best = tr.get("best")
        lines.append(f"| {z['task'] if z else r['task']} | {z['num_examples'] if z else ''} | "
                     f"{metrics(z) if z else 'n/a'} | {metrics(t) if t else 'n/a'} | "
                     f"{tr.get('steps', '')} ({best[0] if best else ''}) | {tr.get('elapsed_s', 0) / 60:.0f} min |")
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
