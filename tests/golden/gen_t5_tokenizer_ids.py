#!/usr/bin/env python3
"""gen_t5_tokenizer_ids.py — reference token ids for the T5 SentencePiece vocabulary, from HF transformers.

Writes tests/golden/tokenizer/t5_ids.jsonl: one JSON object per line,
  {"source": where the text came from, "text": ..., "ids": [...], "decoded": ...}
where ids = T5Tokenizer(text).input_ids (</s>=1 appended) and decoded = decode(ids, skip_special_tokens=True),
with HF's default T5 tokenizer class built from ../shared/data/tokenizers/t5/spiece.model (see README.md for
the class and settings). tests/test_tokenizer_t5.cpp must reproduce every line.

The texts are real GLUE / SuperGLUE sentences (a seeded sample per task, plus the first lines of the data that
have digits, punctuation, quotes, non-ASCII, double spaces, leading/trailing spaces, and the sentences where HF
and plain SentencePiece disagree), followed by a few synthetic lines that pin down HF's handling of special
tokens and whitespace. Deterministic; run from anywhere:  python3 tests/golden/gen_t5_tokenizer_ids.py
"""

import json
import random
import sys
from pathlib import Path

import sentencepiece
import transformers
from transformers import T5Tokenizer

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DATA = REPO.parent / "shared" / "data"
MODEL_DIR = DATA / "tokenizers" / "t5"
OUT = HERE / "tokenizer" / "t5_ids.jsonl"
SEED = 5


def tsv_fields(rel, columns, skip_header=True):
    """(source, text) for the named 0-based columns of a GLUE TSV (raw tab split: no CSV quoting)."""
    out = []
    with open(DATA / rel, encoding="utf-8") as f:
        for n, line in enumerate(f):
            if n == 0 and skip_header:
                continue
            cells = line.rstrip("\n").split("\t")
            for c in columns:
                if c < len(cells) and cells[c]:
                    out.append((f"{rel}:{n + 1}:{c}", cells[c]))
    return out


def jsonl_fields(rel, keys):
    out = []
    with open(DATA / rel, encoding="utf-8") as f:
        for n, line in enumerate(f):
            if not line.strip():
                continue
            row = json.loads(line)
            for k in keys:
                v = row.get(k)
                if isinstance(v, dict):  # BoolQ-style nesting is not used here; MultiRC has passage.text
                    v = v.get("text")
                if isinstance(v, str) and v:
                    out.append((f"{rel}:{n + 1}:{k}", v))
    return out


# (pool, how many to sample at random)
POOLS = [
    (tsv_fields("glue/SST-2/dev.tsv", [0]), 30),
    (tsv_fields("glue/CoLA/dev.tsv", [3], skip_header=False), 20),
    (tsv_fields("glue/MRPC/dev.tsv", [3, 4]), 20),
    (tsv_fields("glue/RTE/dev.tsv", [1, 2]), 15),
    (tsv_fields("glue/QNLI/dev.tsv", [1, 2]), 10),
    (tsv_fields("glue/STS-B/dev.tsv", [7, 8]), 10),
    (tsv_fields("glue/QQP/dev.1k-subset.tsv", [3, 4]), 10),
    (jsonl_fields("superglue/BoolQ/val.jsonl", ["question", "passage"]), 15),
    (jsonl_fields("superglue/CB/val.jsonl", ["premise", "hypothesis"]), 12),
    (jsonl_fields("superglue/COPA/val.jsonl", ["premise", "choice1", "choice2"]), 12),
    (jsonl_fields("superglue/WiC/val.jsonl", ["word", "sentence1", "sentence2"]), 12),
    (jsonl_fields("superglue/RTE/val.jsonl", ["premise", "hypothesis"]), 8),
    (jsonl_fields("superglue/WSC/val.jsonl", ["text"]), 6),
    (jsonl_fields("superglue/MultiRC/val.jsonl", ["passage"]), 2),
]

# First lines (in a fixed file order) that have each property, so the categories the brief names are present
# whatever the random sample drew.
CATEGORIES = [
    ("digits", lambda t: any(c.isdigit() for c in t), 8),
    ("quotes", lambda t: any(q in t for q in "\"'`“”‘’"), 8),
    ("punctuation", lambda t: sum(c in ".,;:!?()-[]/&%$" for c in t) >= 4, 6),
    ("non-ascii", lambda t: any(ord(c) > 127 for c in t), 16),
    ("double-space", lambda t: "  " in t, 6),
    ("leading-space", lambda t: t[:1].isspace(), 4),
    ("trailing-space", lambda t: t[-1:].isspace(), 4),
]
CATEGORY_FILES = [
    tsv_fields("glue/MRPC/train.tsv", [3, 4]), tsv_fields("glue/RTE/train.tsv", [1, 2]),
    tsv_fields("glue/SST-2/train.tsv", [0]), tsv_fields("glue/QNLI/train.tsv", [1, 2]),
    jsonl_fields("superglue/BoolQ/val.jsonl", ["passage"]), jsonl_fields("superglue/MultiRC/train.jsonl", ["passage"]),
    jsonl_fields("superglue/WiC/train.jsonl", ["sentence1", "sentence2"]),
]

# Real sentences where HF's ids differ from plain SentencePiece (found by comparing all GLUE/SuperGLUE text):
# equal-score segmentations that float32 and float64 Viterbi break differently, and U+0085 (NEL), which HF's
# whitespace split treats as a space. Chosen by content so the list does not depend on the sampling above.
DISAGREEMENTS = [
    ("glue/SST-2/train.tsv", [0], "xxx"),
    ("glue/MNLI/dev_mismatched.1k-subset.tsv", [8, 9], "Hmmm"),
    ("superglue/RTE/test.jsonl", ["premise", "hypothesis"], "\x85"),
]

# Synthetic lines: HF's special-token splitting, whitespace handling, NFKC, unknown characters.
SYNTHETIC = [
    "", " ", "   \t\n ", "Hello world", " Hello  world ", "tab\tand\nnewline\r\nend",
    "a <extra_id_0> b", "x<extra_id_0>y", "<extra_id_99><extra_id_1>", "<extra_id_100> <extra_id_01>",
    "summarize: </s> text <pad> with <unk> specials", "<EXTRA_ID_0> is not special",
    "＜/s＞ ＜extra_id_0＞ fullwidth", "ﬁne ½ ① ｶﾀｶﾅ Å", "日本語のテキスト", "emoji 👍🏽 and 🇫🇷",
    "a\u00a0b\u2003c\u3000d", "zero\u200bwidth", "▁already▁escaped ▁▁x", "NEL\u0085here",
    "xxx 40666c Hmmm", "1,000,000.50 $3.99 20% (approx.) -- e-mail: a.b@c.de",
]


def pick_disagreements():
    out = []
    for rel, cols, needle in DISAGREEMENTS:
        rows = tsv_fields(rel, cols) if rel.endswith(".tsv") else jsonl_fields(rel, cols)
        out += [r for r in rows if needle in r[1]][:2]
    return out


def main():
    rng = random.Random(SEED)
    picked = []
    for pool, k in POOLS:
        picked += rng.sample(pool, k)
    seen = {t for _, t in picked}
    for name, pred, k in CATEGORIES:  # round robin over the files, so no single task dominates
        matches = [iter([(src, t) for src, t in pool if pred(t)]) for pool in CATEGORY_FILES]
        got = 0
        while got < k and matches:
            for it in list(matches):
                row = next((r for r in it if r[1] not in seen), None)
                if row is None:
                    matches.remove(it)
                elif got < k:
                    picked.append(row)
                    seen.add(row[1])
                    got += 1
        assert got == k, f"only {got} texts with {name}"
    for src, t in pick_disagreements():
        if t not in seen:
            picked.append((src, t))
            seen.add(t)
    picked += [("synthetic", t) for t in SYNTHETIC]

    tok = T5Tokenizer.from_pretrained(str(MODEL_DIR))
    sp = sentencepiece.SentencePieceProcessor(model_file=str(MODEL_DIR / "spiece.model"))
    assert len(tok) == 32100 and tok.pad_token_id == 0 and tok.eos_token_id == 1 and tok.unk_token_id == 2
    print(f"transformers {transformers.__version__}: {type(tok).__module__}.{type(tok).__name__} "
          f"(backend {tok.init_kwargs.get('backend')}), len {len(tok)}, "
          f"clean_up_tokenization_spaces={tok.clean_up_tokenization_spaces}, "
          f"normalizer {type(tok.backend_tokenizer.normalizer).__name__}, "
          f"pre_tokenizer {tok.backend_tokenizer.pre_tokenizer}")

    OUT.parent.mkdir(parents=True, exist_ok=True)
    differ = 0
    with open(OUT, "w", encoding="utf-8") as f:
        for src, text in picked:
            ids = tok(text).input_ids
            decoded = tok.decode(ids, skip_special_tokens=True)
            differ += ids != sp.encode(text) + [1]
            f.write(json.dumps({"source": src, "text": text, "ids": ids, "decoded": decoded}, ensure_ascii=False))
            f.write("\n")
    real = sum(src != "synthetic" for src, _ in picked)
    print(f"wrote {OUT.relative_to(REPO)}: {len(picked)} lines ({real} real, {len(picked) - real} synthetic); "
          f"{differ} differ from plain SentencePiece ids + [</s>]")
    assert real >= 200


if __name__ == "__main__":
    sys.exit(main())
