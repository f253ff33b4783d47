#!/usr/bin/env python3
"""Writes the experiment configs that reproduce SPoT's tables (Vu et al., ACL 2022) on real T5
checkpoints, and prints the compute estimates quoted in experiments/README.md.

  experiments/paper_table1_t5_base.json      Table 1: prompt tuning vs SPoT with 5 source mixtures (T5-Base)
  experiments/paper_table3_transfer.json     the 16 source x 10 target transfer study (T5-Base)
  experiments/paper_table4_<size>.json       Table 4: prompt tuning vs SPoT on SuperGLUE, one config per size

Usage: python3 tools/gen_paper_configs.py [--seeds N] [--estimates]
  --seeds N     repeat every run with seeds 0..N-1 (the paper reports 3 seeds; default 1: seed 0;
                seed k > 0 runs are named <run>_s<k> and transfer from the source run of the same seed)
  --estimates   print the compute table (FLOPs counted as T5Model::count_flops counts them)
The JSON files are committed; rerun this after changing the plan, then `spot run --dry-run` each.
"""
import argparse
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "experiments")

SOURCE_STEPS = 2**18  # 262,144 prompt-tuning steps per source task (paper, Section 3)
TARGET_STEPS = 100_000  # "100K prompt tuning steps on each target task" (paper, Section 3)
MIXTURE_CAP = 2**19  # examples-proportional mixing with an artificial dataset size limit K = 2^19
TASK_EMBEDDING_STEP = 10_000  # "a task's embedding = the prompt checkpoint after 10K steps"

GLUE = ["glue/cola", "glue/sst2", "glue/mrpc", "glue/qqp", "glue/stsb", "glue/mnli", "glue/qnli", "glue/rte"]
SUPERGLUE = ["superglue/boolq", "superglue/cb", "superglue/copa", "superglue/multirc", "superglue/record",
             "superglue/rte", "superglue/wic", "superglue/wsc"]
# Every source task spot can read (C4 and CxC have no reader; CR is a Table 3 target).
SPOT_SOURCES_READABLE = ["spot/squad", "spot/drop", "spot/cosmosqa", "spot/race", "spot/winogrande",
                         "spot/hellaswag", "spot/snli", "spot/docnli", "spot/yelp2"]
MIX = GLUE + SUPERGLUE + SPOT_SOURCES_READABLE

# Table 2: the 16 source tasks (by training-set size) and the 10 targets; C4 and CxC come last in the
# run order because spot cannot read them yet, so that `spot run` completes everything else first.
TABLE3_SOURCES = [("docnli", "spot/docnli"), ("yelp2", "spot/yelp2"), ("mnli", "glue/mnli"), ("qqp", "glue/qqp"),
                  ("qnli", "glue/qnli"), ("record", "superglue/record"), ("squad", "spot/squad"),
                  ("drop", "spot/drop"), ("sst2", "glue/sst2"), ("winogrande", "spot/winogrande"),
                  ("hellaswag", "spot/hellaswag"), ("multirc", "superglue/multirc"), ("cosmosqa", "spot/cosmosqa"),
                  ("race", "spot/race")]
TABLE3_SOURCES_NO_READER = [("c4", "spot/c4"), ("cxc", "spot/cxc")]
TABLE3_TARGETS = [("boolq", "superglue/boolq"), ("cola", "glue/cola"), ("stsb", "glue/stsb"), ("wic", "superglue/wic"),
                  ("cr", "spot/cr"), ("mrpc", "glue/mrpc"), ("rte", "glue/rte"), ("wsc", "superglue/wsc"),
                  ("copa", "superglue/copa"), ("cb", "superglue/cb")]

# T5 1.1 LM-adapted sizes (HF config.json of google/t5-<size>-lm-adapt), and the micro-batch that
# keeps one step's activations on one 80 GB GPU (effective batch 32 via gradient accumulation).
SIZES = {
    "small": dict(d_model=512, d_ff=1024, heads=6, layers=8, params="77M", micro_batch=32),
    "base": dict(d_model=768, d_ff=2048, heads=12, layers=12, params="248M", micro_batch=32),
    "large": dict(d_model=1024, d_ff=2816, heads=16, layers=24, params="783M", micro_batch=32),
    "xl": dict(d_model=2048, d_ff=5120, heads=32, layers=24, params="2.85B", micro_batch=16),
    "xxl": dict(d_model=4096, d_ff=10240, heads=64, layers=24, params="11.1B", micro_batch=4),
}


def short(task):
    return task.split("/")[1]


def paper_defaults(micro_batch=32):
    d = {
        "verbalizer": "t5",
        "prompt_length": 100,
        "init": "vocab",
        "init_vocab_size": 5000,
        "optimizer": "adafactor",
        "lr": 0.3,
        "schedule": "constant",
        "batch_size": micro_batch,
        "grad_accum": 32 // micro_batch,
        "max_input_tokens": 512,
        "checkpoint_every": 500,
        "eval_every": 500,
        "eval_mode": "generate",
        "eval_batch": min(micro_batch, 32),
        "task_embedding_step": TASK_EMBEDDING_STEP,
        "log_every": 100,
        "seed": 0,
    }
    return d


def eval_split_for(task):
    return "validation_matched" if task == "glue/mnli" else "validation"


def source_run(name, tasks):
    r = {"name": name}
    if len(tasks) == 1:
        r["task"] = tasks[0]
        if tasks[0] == "glue/mnli":
            r["eval_split"] = "validation_matched"
        r["eval_examples"] = 1000  # per evaluation; see experiments/README.md (evaluation cost)
    else:
        r["tasks"] = tasks
        r["mixture_cap"] = MIXTURE_CAP
        r["eval_examples"] = 250  # per task of the mixture
    r["steps"] = SOURCE_STEPS
    return r


def target_run(name, task, init_from=None):
    r = {"name": name, "task": task}
    if task == "glue/mnli":
        r["eval_split"] = "validation_matched"
    if init_from:
        r["init_from_run"] = init_from
    r["steps"] = TARGET_STEPS
    return r


def with_seeds(runs, seeds):
    """Seed 0 as written; seed k > 0 as a copy named <name>_s<k>, transferring from <source>_s<k>."""
    out = list(runs)
    for k in range(1, seeds):
        for r in runs:
            c = dict(r)
            c["name"] = f"{r['name']}_s{k}"
            if "init_from_run" in c:
                c["init_from_run"] = f"{c['init_from_run']}_s{k}"
            if "prompt_from_run" in c:
                c["prompt_from_run"] = f"{c['prompt_from_run']}_s{k}"
            if c.get("kind", "train") == "train":
                c["seed"] = k
            out.append(c)
    return out


def mnli_mismatched_eval(train_run):
    return {"name": f"{train_run}_mm", "kind": "eval", "task": "glue/mnli", "split": "validation_mismatched",
            "prompt_from_run": train_run}


def table1(seeds):
    sources = [("src_mnli", ["glue/mnli"]), ("src_squad", ["spot/squad"]), ("src_glue", GLUE),
               ("src_superglue", SUPERGLUE), ("src_mix", MIX)]
    targets = GLUE + SUPERGLUE
    runs = [source_run(n, t) for n, t in sources]
    for t in targets:
        name = "pt_" + t.replace("/", "_")
        runs.append(target_run(name, t))
        if t == "glue/mnli":
            runs.append(mnli_mismatched_eval(name))
    for src, _ in sources:
        for t in targets:
            name = src[4:] + "_to_" + t.replace("/", "_")
            runs.append(target_run(name, t, src))
            if t == "glue/mnli":
                runs.append(mnli_mismatched_eval(name))
    return {
        "name": "paper_table1_t5_base",
        "description": (
            "SPoT Table 1 on T5-Base (LM-adapted, frozen): prompt tuning on each GLUE and SuperGLUE task from the "
            "5,000-most-common-token init (pt_*), and SPoT: a source prompt trained for 2^18 steps on MNLI, SQuAD, "
            "the GLUE mixture, the SuperGLUE mixture and MIX (every source task spot reads: GLUE + SuperGLUE + 9 "
            "spot/* tasks; examples-proportional, K = 2^19), then each target initialised from each source's best "
            "prompt and tuned for 100K steps. Prompt length 100, Adafactor lr 0.3, batch 32, checkpoint and "
            "validation every 500 steps, T5 decoding. MNLI targets are selected on matched and also evaluated on "
            "mismatched (*_mm). See experiments/README.md."),
        "backbone": {"model": "hf:google/t5-base-lm-adapt", "backend": "cuda"},
        "output_dir": "runs/paper/table1_t5_base",
        "defaults": paper_defaults(),
        "runs": with_seeds(runs, seeds),
    }


def table3(seeds):
    runs = [source_run("src_" + n, [t]) for n, t in TABLE3_SOURCES]
    runs += [target_run("pt_" + n, t) for n, t in TABLE3_TARGETS]
    for sn, _ in TABLE3_SOURCES:
        runs += [target_run(f"{sn}_to_{tn}", t, "src_" + sn) for tn, t in TABLE3_TARGETS]
    runs += [source_run("src_" + n, [t]) for n, t in TABLE3_SOURCES_NO_READER]
    for sn, _ in TABLE3_SOURCES_NO_READER:
        runs += [target_run(f"{sn}_to_{tn}", t, "src_" + sn) for tn, t in TABLE3_TARGETS]
    return {
        "name": "paper_table3_transfer",
        "description": (
            "SPoT's transferability study (Table 2 tasks, Table 3 baseline and Figure 3 / task-embedding inputs) on "
            "T5-Base (LM-adapted): a prompt on each of the 16 source tasks (2^18 steps, best checkpoint by source "
            "validation), each of the 10 targets tuned from scratch (pt_*) and from each source prompt (100K "
            "steps); every run keeps its prompt after 10K steps as its task embedding. The C4 and CxC runs come "
            "last: spot has no reader for them yet, so `spot run` stops there after everything else is done. "
            "Same hyper-parameters as Table 1. See experiments/README.md."),
        "backbone": {"model": "hf:google/t5-base-lm-adapt", "backend": "cuda"},
        "output_dir": "runs/paper/table3_transfer",
        "defaults": paper_defaults(),
        "runs": with_seeds(runs, seeds),
    }


def table4(size, seeds):
    micro = SIZES[size]["micro_batch"]
    runs = [source_run("src_glue", GLUE)]
    runs += [target_run("pt_" + short(t), t) for t in SUPERGLUE]
    runs += [target_run("spot_" + short(t), t, "src_glue") for t in SUPERGLUE]
    accum = "" if micro == 32 else f" (micro-batches of {micro} x {32 // micro} accumulated)"
    return {
        "name": f"paper_table4_{size}",
        "description": (
            f"SPoT Table 4 at T5-{size.upper()} (LM-adapted, {SIZES[size]['params']} parameters, frozen): prompt "
            "tuning (pt_*) vs SPoT (spot_*) on each SuperGLUE task. SPoT's source is the GLUE mixture, the best "
            "source of Table 1 (Table 4's SPoT BASE row, 73.2, is Table 1's GLUE-mixture SuperGLUE score). 2^18 "
            f"source steps, 100K target steps, prompt length 100, Adafactor lr 0.3, batch 32{accum}. "
            "See experiments/README.md."),
        "backbone": {"model": f"hf:google/t5-{size}-lm-adapt", "backend": "cuda"},
        "output_dir": f"runs/paper/table4_{size}",
        "defaults": paper_defaults(micro),
        "runs": with_seeds(runs, seeds),
    }


def dump(cfg, path):
    """Readable JSON: top-level keys one per line, one run per line."""
    lines = ["{"]
    keys = list(cfg.keys())
    for i, k in enumerate(keys):
        comma = "," if i + 1 < len(keys) else ""
        if k == "runs":
            lines.append('  "runs": [')
            for j, r in enumerate(cfg["runs"]):
                lines.append("    " + json.dumps(r) + ("," if j + 1 < len(cfg["runs"]) else ""))
            lines.append("  ]" + comma)
        else:
            lines.append(f"  {json.dumps(k)}: {json.dumps(cfg[k])}{comma}")
    lines.append("}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


# ---------------------------------------------------------------- compute estimates

def count_flops(c, B, T, L, Tt, backward):
    """T5Model::count_flops (model/t5/t5_model.cpp), line for line: forward GEMMs and attention
    products, and the prompt-only backward (input gradients, minus what layer 0 skips)."""
    d, F, H, dk, V = c["d_model"], c["d_ff"], c["heads"], 64, 32128
    inner = H * dk
    layers = dec_layers = c["layers"]
    S = T + L
    N, M = B * S, B * Tt
    ffn_mats = 3  # gated-GELU (v1.1 / LM-adapted)
    enc_layer = 2 * N * d * inner * 4 + 4 * B * H * S * S * dk + 2 * N * d * F * ffn_mats
    dec_layer = (2 * M * d * inner * 4 + 4 * B * H * Tt * Tt * dk + 2 * M * d * inner * 2 + 2 * N * d * inner * 2
                 + 4 * B * H * Tt * S * dk + 2 * M * d * F * ffn_mats)
    fwd = layers * enc_layer + dec_layers * dec_layer + 2 * M * d * V
    if not backward:
        return fwd
    bwd = fwd
    bwd += layers * 4 * B * H * S * S * dk + dec_layers * (4 * B * H * Tt * Tt * dk + 4 * B * H * Tt * S * dk)
    bwd -= 2 * M * d * inner * 4 + 4 * B * H * Tt * Tt * dk * 2
    bwd -= 2 * M * d * inner + 2 * B * H * Tt * S * dk
    bwd -= 2 * (N - B * L) * d * inner * 3
    bwd -= 3 * 2 * B * H * (S - L) * S * dk
    return fwd + bwd


def estimates():
    B, L, Tt = 32, 100, 8
    print("per optimiser step, batch 32, prompt 100, 8 target tokens (training = forward + prompt-only backward):")
    for size, c in SIZES.items():
        for T in (512, 128):
            f = count_flops(c, B, T, L, Tt, True)
            print(f"  T5-{size:5s} input {T:3d}: {f / 1e12:8.2f} TFLOP/step   (forward only {count_flops(c, B, T, L, Tt, False) / 1e12:7.2f})")
    base = SIZES["base"]
    step512 = count_flops(base, B, 512, L, Tt, True)
    print(f"T5-Base source run (2^18 steps): {SOURCE_STEPS * step512 / 1e18:.1f} EFLOP at 512 tokens; "
          f"target run (100K): {TARGET_STEPS * step512 / 1e18:.2f} EFLOP")
    print(f"tokens per source run: {SOURCE_STEPS} x 32 x 612 = {SOURCE_STEPS * 32 * 612 / 1e9:.2f} G encoder positions")
    print(f"tokens per target run: {TARGET_STEPS} x 32 x 612 = {TARGET_STEPS * 32 * 612 / 1e9:.2f} G encoder positions")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--estimates", action="store_true")
    a = ap.parse_args()
    dump(table1(a.seeds), os.path.join(OUT, "paper_table1_t5_base.json"))
    dump(table3(a.seeds), os.path.join(OUT, "paper_table3_transfer.json"))
    for size in SIZES:
        dump(table4(size, a.seeds), os.path.join(OUT, f"paper_table4_{size}.json"))
    if a.estimates:
        estimates()


if __name__ == "__main__":
    main()
