#!/usr/bin/env python3
"""Reference digests of the SPoT source tasks' formatted examples (tests/test_source_tasks.cpp).

An independent Python implementation of what eval/source_tasks.cpp promises: it reads the files in
../shared/data/spot_source with Python's json / csv modules and pyarrow (for WinoGrande's Arrow
stream), formats every example of a split as the T5 verbalizer does, and prints, per (task, split),
the number of examples, the label counts and a sha256 over

    input \x1f target \x1f candidate_1 \x1e candidate_2 ... \n      (one line per example)

which the C++ test recomputes. SQuAD follows t5.data.preprocessors.squad with TensorFlow's RE2
semantics: _pad_punctuation = re.sub(r'(\\W)', r' \\1 ') where \\W is "not ASCII [0-9A-Za-z_]",
per code point, then re.sub(r'\\s+', ' ') with \\s = [\\t\\n\\f\\r ].

Usage: python3 tests/golden/gen_source_task_digests.py [DATA_DIR]   (needs pyarrow)
"""
import csv
import hashlib
import json
import os
import re
import sys

DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")
SRC = os.path.join(DATA, "spot_source")


def pad(s):
    return re.sub(r"[\t\n\f\r ]+", " ", re.sub(r"([^0-9A-Za-z_])", r" \1 ", s))


def collapse(s):
    return re.sub(r"[\t\n\f\r ]+", " ", s)


def digest(rows):
    h = hashlib.sha256()
    for inp, target, cands in rows:
        h.update((inp + "\x1f" + target + "\x1f" + "\x1e".join(cands) + "\n").encode("utf-8"))
    return h.hexdigest()


def report(name, split, rows, labels):
    counts = {}
    for l in labels:
        counts[l] = counts.get(l, 0) + 1
    print(f"{name} {split}: n={len(rows)} labels={dict(sorted(counts.items()))} sha256={digest(rows)}")
    print(f"    first input:  {rows[0][0][:160]!r}")
    print(f"    first target: {rows[0][1]!r}")


def squad():
    d = json.load(open(os.path.join(SRC, "SQuAD", "dev-v1.1.json"), encoding="utf-8"))
    rows, labels = [], []
    for art in d["data"]:
        for p in art["paragraphs"]:
            for qa in p["qas"]:
                inp = collapse("question: " + pad(qa["question"]) + " context: " + pad(p["context"]))
                answers = [pad(a["text"]) for a in qa["answers"]]
                rows.append((inp, answers[0], []))
                labels.append(len(answers))
    report("spot/squad", "validation", rows, labels)


def cosmosqa():
    with open(os.path.join(SRC, "CosmosQA", "valid.csv"), newline="", encoding="utf-8") as f:
        recs = list(csv.reader(f))
    header, rows, labels = recs[0], [], []
    for r in recs[1:]:
        d = dict(zip(header, r))
        opts = [d["answer%d" % k] for k in range(4)]
        inp = "cosmosqa context: %s question: %s answer0: %s answer1: %s answer2: %s answer3: %s" % (
            d["context"], d["question"], *opts)
        rows.append((inp, opts[int(d["label"])], opts))
        labels.append(int(d["label"]))
    report("spot/cosmosqa", "validation", rows, labels)


def race(split):
    rows, labels = [], []
    for level in ("high", "middle"):
        d = os.path.join(SRC, "RACE", split, level)
        for name in sorted(os.listdir(d), key=lambda n: int(n.split(".")[0])):
            o = json.load(open(os.path.join(d, name), encoding="utf-8"))
            for q, opts, a in zip(o["questions"], o["options"], o["answers"]):
                inp = "race question: %s A: %s B: %s C: %s D: %s article: %s" % (q, *opts, o["article"])
                label = "ABCD".index(a)
                rows.append((inp, opts[label], opts))
                labels.append(label)
    report("spot/race", split, rows, labels)


def winogrande_rows(records):
    rows, labels = [], []
    for s, o1, o2, a in records:
        inp = "winogrande sentence: %s option1: %s option2: %s" % (s, o1, o2)
        label = int(a) - 1
        rows.append((inp, [o1, o2][label], [o1, o2]))
        labels.append(label)
    return rows, labels


def winogrande():
    import pyarrow.ipc as ipc
    t = ipc.open_stream(open(os.path.join(SRC, "WinoGrande", "train_xl.hf-datasets.arrow"), "rb")).read_all()
    cols = [t.column(c).to_pylist() for c in ("sentence", "option1", "option2", "answer")]
    rows, labels = winogrande_rows(zip(*cols))
    report("spot/winogrande", "train (arrow)", rows, labels)
    recs = [json.loads(l) for l in open(os.path.join(SRC, "WinoGrande", "dev.jsonl"), encoding="utf-8") if l.strip()]
    rows, labels = winogrande_rows((r["sentence"], r["option1"], r["option2"], r["answer"]) for r in recs)
    report("spot/winogrande", "validation", rows, labels)


def snli(split, file):
    names = ["entailment", "neutral", "contradiction"]
    lines = open(os.path.join(SRC, "SNLI", file), encoding="utf-8", newline="").read().split("\n")
    header = lines[0].rstrip("\r").split("\t")
    rows, labels = [], []
    for line in lines[1:]:
        line = line.rstrip("\r")
        if not line:
            continue
        f = line.split("\t")
        if f[-1] == "-":
            continue
        label = names.index(f[-1])
        inp = "snli hypothesis: %s premise: %s" % (f[header.index("sentence2")], f[header.index("sentence1")])
        rows.append((inp, names[label], names))
        labels.append(label)
    report("spot/snli", split, rows, labels)


def fnv1a64(b):
    h = 14695981039346656037
    for c in b:
        h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def cr():
    sentences = []
    for name, label in (("custrev.neg", 0), ("custrev.pos", 1)):
        for line in open(os.path.join(SRC, "CR", name), encoding="utf-8", newline="").read().split("\n"):
            line = line.rstrip("\r")
            if line.strip():
                sentences.append((line, label))
    names = ["negative", "positive"]
    for split in ("train", "validation", "test"):
        rows, labels = [], []
        for s, label in sentences:
            b = fnv1a64(s.encode("utf-8")) % 10
            if (split == "test") == (b == 0) and (split == "validation") == (b == 1):
                rows.append(("cr sentence: " + s, names[label], names))
                labels.append(label)
        report("spot/cr", split, rows, labels)


if __name__ == "__main__":
    squad()
    cosmosqa()
    race("dev")
    race("train")
    winogrande()
    snli("train", "train.tsv")
    snli("test", "test.1k-subset.tsv")
    cr()
