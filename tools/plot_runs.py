#!/usr/bin/env python3
"""plot_runs.py DIR — learning curves of every run under DIR (DIR/<run>/metrics.jsonl written by
spot's trainer): training loss (EMA) and validation score against the step, one line per run.
Writes DIR/learning_curves.png. Needs matplotlib (Debian: python3-matplotlib)."""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read(path):
    train, evals = [], {}
    with open(path) as f:
        for line in f:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("event") == "train":
                train.append((e["step"], e["loss_ema"]))
            elif e.get("event") == "eval":
                r = e["result"]
                evals.setdefault(r["task"], []).append((e["step"], r["score"]))
    return train, evals


def main():
    d = sys.argv[1]
    fig, (ax_loss, ax_eval) = plt.subplots(1, 2, figsize=(12, 4.5))
    n = 0
    for run in sorted(os.listdir(d)):
        log = os.path.join(d, run, "metrics.jsonl")
        if not os.path.exists(log):
            continue
        train, evals = read(log)
        if train:
            xs, ys = zip(*train)
            ax_loss.plot(xs, ys, label=run)
            n += 1
        for task, pts in evals.items():
            xs, ys = zip(*pts)
            ax_eval.plot(xs, ys, marker="o", label=f"{run} ({task})")
    # Evaluations without a prompt (zero-shot) as dashed reference lines.
    for run in sorted(os.listdir(d)):
        rdir = os.path.join(d, run)
        if not os.path.isdir(rdir):
            continue
        for f in sorted(os.listdir(rdir)):
            if f.startswith("eval_") and f.endswith(".json"):
                e = json.load(open(os.path.join(rdir, f)))
                if not e.get("prompt"):
                    r = e["result"]
                    ax_eval.axhline(r["score"], linestyle="--", color="gray",
                                    label=f"{run}: no prompt ({r['task']}, {r['split']})")
    if n == 0:
        print("no runs with metrics.jsonl under", d)
        return 1
    ax_loss.set(xlabel="step", ylabel="training loss (EMA)", title="prompt tuning: loss")
    ax_eval.set(xlabel="step", ylabel="validation score", title="prompt tuning: validation")
    for ax in (ax_loss, ax_eval):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    out = os.path.join(d, "learning_curves.png")
    fig.savefig(out, dpi=120)
    print("wrote", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
