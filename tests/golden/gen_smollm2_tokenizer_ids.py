#!/usr/bin/env python3
"""gen_smollm2_tokenizer_ids.py -- token-id goldens for the SmolLM2 byte-level BPE tokenizer
(tests/test_bpe_tokenizer.cpp reads them).

The reference is Hugging Face transformers' tokenizer built from the same GGUF file
(AutoTokenizer.from_pretrained(dir, gguf_file=...)), with one correction: transformers' GGUF loader
has no pre-tokenizer entry for tokenizer.ggml.pre == "smollm" and falls back to plain GPT-2 ByteLevel,
while SmolLM2's own tokenizer.json (and llama.cpp's LLAMA_VOCAB_PRE_TYPE_SMOLLM) first isolates
every numeric character: pre_tokenizer = Sequence[Digits(individual_digits=True), ByteLevel]. The
script installs that pre-tokenizer and reports how many lines the uncorrected loader would encode
differently.

Writes
  tests/golden/smollm2/tokenizer_ids.jsonl   one object per line: source, text, ids (special tokens
      parsed, HF's default) and, where it differs, ids_plain (special tokens encoded as text, HF's
      split_special_tokens=True)
  tests/golden/smollm2/chat_template.jsonl   messages, add_generation_prompt, text, ids from
      tokenizer.apply_chat_template
  tests/golden/smollm2/sst2_train_ids_digest.json   all 67,349 SST-2 train sentences encoded, as
      one FNV-1a 64-bit digest over every sentence's ids (int32 little-endian) each followed by -1,
      with the sentence and token counts: every sentence checked with a golden of a few bytes

Texts: >= 200 real sentences from ../shared/data (GLUE / SuperGLUE, picked by fixed rules: the first
rows of each task, plus rows with digits, non-ASCII letters, symbols, several spaces, newlines) and a
few synthetic edge cases (marked source "synthetic").

Run from the repository root (needs the GGUF at $SPOT_CACHE or ~/.cache/spot):
  python3 tests/golden/gen_smollm2_tokenizer_ids.py
"""

import json
import os
import re
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.normpath(os.path.join(REPO, "..", "shared", "data"))
OUT = os.path.join(REPO, "tests", "golden", "smollm2")
CACHE = os.environ.get("SPOT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "spot")
GGUF_DIR = os.path.join(CACHE, "models", "smollm2")
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def tsv_rows(rel, header=True):
    with open(os.path.join(DATA, rel), encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    if header:
        lines = lines[1:]
    return [(f"{rel}:{i + (2 if header else 1)}", line.split("\t")) for i, line in enumerate(lines) if line]


def jsonl_rows(rel):
    out = []
    with open(os.path.join(DATA, rel), encoding="utf-8") as f:
        for i, line in enumerate(f):
            if line.strip():
                out.append((f"{rel}:{i + 1}", json.loads(line)))
    return out


NON_ASCII = re.compile(r"[^\x00-\x7f]")
DIGIT = re.compile(r"[0-9]")


def pick(rows, field, first, extra_rules):
    """The first `first` rows' field, then up to n rows matching each (regex, n) rule."""
    picked, seen = [], set()

    def add(src, text):
        if text and text not in seen:
            seen.add(text)
            picked.append((src, text))

    for src, r in rows[:first]:
        add(src, field(r))
    for rule, n in extra_rules:
        k = 0
        for src, r in rows:
            if k >= n:
                break
            t = field(r)
            if t and rule.search(t) and t not in seen:
                add(src, t)
                k += 1
    return picked


def collect_texts():
    texts = []
    col = lambda i: (lambda r: r[i] if len(r) > i else "")
    texts += pick(tsv_rows("glue/SST-2/train.tsv"), col(0), 40, [(NON_ASCII, 10), (DIGIT, 5)])
    texts += pick(tsv_rows("glue/CoLA/train.tsv", header=False), col(3), 15, [(NON_ASCII, 5)])
    texts += pick(tsv_rows("glue/MRPC/train.tsv"), col(3), 10, [(DIGIT, 5), (NON_ASCII, 5), (re.compile("  "), 3)])
    texts += pick(tsv_rows("glue/QQP/train.tsv"), col(3), 10, [(NON_ASCII, 5), (re.compile("  "), 3)])
    texts += pick(tsv_rows("glue/QQP/dev.1k-subset.tsv"), col(3), 0, [(re.compile(r"[\u4e00-\u9fff]"), 3)])
    texts += pick(tsv_rows("glue/QNLI/train.tsv"), col(2), 10, [(NON_ASCII, 10)])
    texts += pick(tsv_rows("glue/QNLI/dev.tsv"), col(2), 0, [(re.compile(r"[\u0400-\u04ff]"), 3)])
    texts += pick(tsv_rows("glue/RTE/train.tsv"), col(1), 8, [(re.compile("  "), 4), (NON_ASCII, 4)])
    texts += pick(tsv_rows("glue/RTE/test.tsv"), col(1), 0, [(re.compile("\u00a0"), 3), (re.compile("[\u00b2\u00b3\u00bc\u00bd]"), 3)])
    texts += pick(tsv_rows("glue/STS-B/train.tsv"), col(7), 8, [(NON_ASCII, 4)])
    texts += pick(tsv_rows("glue/MNLI/train.tsv"), col(8), 8, [(re.compile("  "), 4), (NON_ASCII, 4)])
    boolq = jsonl_rows("superglue/BoolQ/val.jsonl")
    texts += pick(boolq, lambda o: o["question"], 5, [])
    texts += pick(boolq, lambda o: o["passage"], 4, [(NON_ASCII, 3)])
    texts += pick(jsonl_rows("superglue/BoolQ/test.jsonl"), lambda o: o["passage"], 0,
                  [(re.compile("[\u2600-\u27bf\U0001F000-\U0001FAFF]"), 2)])
    texts += pick(jsonl_rows("superglue/CB/train.jsonl"), lambda o: o["premise"], 6, [(re.compile("  "), 2)])
    texts += pick(jsonl_rows("superglue/COPA/train.jsonl"), lambda o: o["premise"] + " " + o["choice1"], 6, [])
    texts += pick(jsonl_rows("superglue/WiC/train.jsonl"), lambda o: o["sentence1"], 6, [])
    texts += pick(jsonl_rows("superglue/WSC/train.jsonl"), lambda o: o["text"], 5, [])
    wsc_newline = [(src, o["target"]["span1_text"]) for src, o in jsonl_rows("superglue/WSC/train.jsonl")
                   if "\n" in o["target"]["span1_text"]]
    texts += wsc_newline[:2]
    multirc = jsonl_rows("superglue/MultiRC/val.jsonl")
    texts += [(src, o["passage"]["text"][:1200]) for src, o in multirc[:3]]
    real = len(texts)
    synthetic = [
        "Hello world",
        "  leading and trailing spaces  ",
        "multiple   spaces\tand\ttabs\n\nand blank lines\n",
        "line one\r\nline two\n   indented",
        "Numbers: 1 22 333 4444 3.14159 1,000,000 2024-01-15 $5.99 50% 0x1F",
        "I'm sure they'll say it's fine, we've done what we'd planned; you're right. DON'T SHOUT'S",
        "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00fcber Stra\u00dfe \u00e5ngstr\u00f6m",
        "emoji: \U0001F600\U0001F389 \U0001F44D\U0001F3FD thumbs, flags \U0001F1EB\U0001F1F7, zwj \U0001F469\u200d\U0001F4BB",
        "\u4e2d\u6587\u5b57\u7b26 \u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 \ud55c\uad6d\uc5b4 \u0420\u0443\u0441\u0441\u043a\u0438\u0439 \u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u05e2\u05d1\u05e8\u05d9\u05ea",
        "numeric chars: x\u00b2 + y\u00b3 = \u00bd, \u0663\u0664\u0665 and \u2167 and \u2460",
        "spaces: nbsp\u00a0here, ideographic\u3000space, nel\u0085next, thin\u2009space, line\u2028sep",
        "combining: e\u0301 a\u0308 n\u0303 and zero\u200bwidth",
        "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
        "text<|endoftext|>more<|im_end|>",
        "<|im_start|><|im_start|>nested <repo_name>x<file_sep>",
        "partial <|im_start and <|im_end|",
        "punctuation!!! ??? ... --- (parens) [brackets] {braces} \"quotes\" 'single' `tick` @#%^&*_+=|\\/<>~",
        "http://example.com/path?q=1&r=2#frag user@example.org",
        "def f(x):\n    return x ** 2  # comment\n",
        "a",
        " ",
        "\n",
        "?",
        "'s",
        "x" * 300,
    ]
    texts += [("synthetic", s) for s in synthetic]
    return texts, real


def main():
    from tokenizers import pre_tokenizers
    from transformers import AutoTokenizer

    path = os.path.join(GGUF_DIR, GGUF_FILE)
    if not os.path.exists(path):
        sys.exit(f"missing {path}: fetch it first (spot model fetch smollm2)")
    tok = AutoTokenizer.from_pretrained(GGUF_DIR, gguf_file=GGUF_FILE)
    plain = AutoTokenizer.from_pretrained(GGUF_DIR, gguf_file=GGUF_FILE)  # transformers' loader as is
    tok.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])

    texts, real = collect_texts()
    os.makedirs(OUT, exist_ok=True)
    n_diff_loader = 0
    n_plain = 0
    with open(os.path.join(OUT, "tokenizer_ids.jsonl"), "w", encoding="utf-8") as f:
        for src, text in texts:
            ids = tok.encode(text, add_special_tokens=False)
            ids_plain = tok.encode(text, add_special_tokens=False, split_special_tokens=True)
            assert tok.decode(ids) == text or "\u0085" in text or "\r" in text, (src, text)
            if plain.encode(text, add_special_tokens=False) != ids:
                n_diff_loader += 1
            rec = {"source": src, "text": text, "ids": ids}
            if ids_plain != ids:
                rec["ids_plain"] = ids_plain
                n_plain += 1
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")

    conversations = [
        ([{"role": "user", "content": "What is the capital of France?"}], True),
        ([{"role": "user", "content": "Hi"}], False),
        ([{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Count: 1 2 3"}], True),
        ([{"role": "user", "content": "Translate \u201ccaf\u00e9\u201d"},
          {"role": "assistant", "content": "coffee"},
          {"role": "user", "content": "And \u00fcber?\n\nThanks \U0001F600"}], True),
    ]
    with open(os.path.join(OUT, "chat_template.jsonl"), "w", encoding="utf-8") as f:
        for messages, gen in conversations:
            text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen)
            ids = tok.encode(text, add_special_tokens=False)
            f.write(json.dumps({"messages": messages, "add_generation_prompt": gen, "text": text, "ids": ids},
                               ensure_ascii=False) + "\n")

    sentences = [row[0] for _, row in tsv_rows("glue/SST-2/train.tsv")]
    digest, n_tokens = 0xCBF29CE484222325, 0
    for ids in tok.backend_tokenizer.encode_batch(sentences, add_special_tokens=False):
        n_tokens += len(ids.ids)
        for b in np.asarray(list(ids.ids) + [-1], dtype="<i4").tobytes():
            digest = ((digest ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    with open(os.path.join(OUT, "sst2_train_ids_digest.json"), "w") as f:
        json.dump({"file": "glue/SST-2/train.tsv", "column": "sentence", "sentences": len(sentences),
                   "tokens": n_tokens, "fnv1a64": f"{digest:016x}"}, f, indent=1)
        f.write("\n")

    print(f"{len(texts)} lines ({real} real, {len(texts) - real} synthetic), {n_plain} with special tokens; "
          f"transformers' uncorrected GGUF loader differs on {n_diff_loader} of them")


if __name__ == "__main__":
    main()
