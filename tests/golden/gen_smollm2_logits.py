#!/usr/bin/env python3
"""gen_smollm2_logits.py -- real-weights goldens for SmolLM2-135M-Instruct (tests/test_smollm2_real.cpp).

The reference is Hugging Face transformers' LlamaForCausalLM loaded from the SAME GGUF file spot reads
(AutoModelForCausalLM.from_pretrained(dir, gguf_file=..., dtype=float32)): transformers dequantises
the Q4_1 (linears) and Q8_0 (token embedding = tied LM head) blocks with the `gguf` package and
un-permutes Q/K, so both sides compute with identical fp32 weights and differ only in fp32 summation
order. The tokenizer comes from the same GGUF with the
correction gen_smollm2_tokenizer_ids.py applies (transformers' GGUF loader falls back to plain GPT-2
ByteLevel splitting for tokenizer.ggml.pre == "smollm"; SmolLM2 / llama.cpp isolate every digit
first): pre_tokenizer = Sequence[Digits(individual_digits=True), ByteLevel]. The script records how
many of the sentences the uncorrected loader would encode differently.

Writes tests/golden/smollm2/logits.json:
  vocab_size, probe_ids            400 fixed pseudo-random vocabulary ids (numpy default_rng(20240601))
  sentences[]: source, text, ids   (no special tokens: SmolLM2 adds no BOS)
      last: top_ids, top_logits     the 100 largest last-position logits (descending) and their ids
            probe_logits            the logits at probe_ids
            logsumexp               over the full vocabulary (f64 of the f32 logits)
      mean_loglik                  mean log p(ids[t] | ids[<t]) over t = 1..n-1 (teacher-forced)
      mean_loglik_f64              the same from the float64 model
  noise_floor: HF float32 vs the same model cast to float64 (identical dequantised weights), max over
      sentences: last-position logits max abs (full vocabulary), logits at every position max abs,
      logsumexp abs, mean_loglik abs; and sdpa vs eager attention in float32 (the same kind of
      summation-order difference spot has against HF)
  generation: the chat prompt (messages, ids from apply_chat_template with add_generation_prompt)
      and HF's greedy generate(): new_ids (max_new_tokens 24, do_sample False, eos <|im_end|>), and
      for each step the top-1 minus top-2 logit margin (how close a near-tie is)

Sentences: real rows of ../shared/data picked by fixed rules (the first row of each listed split
whose field encodes to a token count in the given range), 5 to ~100 tokens, two with digits.

Run from the repository root (needs the GGUF at $SPOT_CACHE or ~/.cache/spot; ~1 min, one thread):
  python3 tests/golden/gen_smollm2_logits.py
"""

import json
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.normpath(os.path.join(REPO, "..", "shared", "data"))
OUT = os.path.join(REPO, "tests", "golden", "smollm2", "logits.json")
CACHE = os.environ.get("SPOT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "spot")
GGUF_DIR = os.path.join(CACHE, "models", "smollm2")
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
TOP_K = 100
N_PROBES = 400
GEN_NEW = 24
CHAT = [{"role": "user", "content": "Explain in a few sentences why the sky is blue."}]

# (file, header?, field, (min_tokens, max_tokens), must_have_digit)
RULES = [
    ("glue/SST-2/dev.tsv", True, lambda r: r[0], (4, 8), False),
    ("glue/CoLA/dev.tsv", False, lambda r: r[3], (9, 14), False),
    ("glue/STS-B/dev.tsv", True, lambda r: r[7], (15, 22), False),
    ("glue/MRPC/dev.tsv", True, lambda r: r[3], (23, 35), True),
    ("glue/QNLI/dev.tsv", True, lambda r: r[2], (30, 40), False),
    ("glue/RTE/dev.tsv", True, lambda r: r[1], (40, 50), True),
    ("glue/MNLI/dev_matched.1k-subset.tsv", True, lambda r: r[8], (50, 60), False),
    ("superglue/CB/val.jsonl", None, lambda o: o["premise"], (60, 75), False),
    ("superglue/BoolQ/val.jsonl", None, lambda o: o["passage"], (75, 90), False),
    ("glue/RTE/train.tsv", True, lambda r: r[1], (90, 105), False),
]


def rows(rel, header):
    path = os.path.join(DATA, rel)
    if header is None:
        with open(path, encoding="utf-8") as f:
            return [(f"{rel}:{i + 1}", json.loads(l)) for i, l in enumerate(f) if l.strip()]
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    start = 1 if header else 0
    return [(f"{rel}:{i + 1}", l.split("\t")) for i, l in enumerate(lines) if i >= start and l]


def pick_sentences(tok):
    out = []
    for rel, header, field, (lo, hi), digit in RULES:
        for src, r in rows(rel, header):
            try:
                text = field(r)
            except (IndexError, KeyError):
                continue
            if not text or (digit and not any(c.isdigit() for c in text)):
                continue
            ids = tok.encode(text, add_special_tokens=False)
            if lo <= len(ids) <= hi:
                out.append((src, text, ids))
                break
        else:
            sys.exit(f"no row of {rel} matches its rule")
    return out


def main():
    import torch
    from tokenizers import pre_tokenizers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(1)
    path = os.path.join(GGUF_DIR, GGUF_FILE)
    if not os.path.exists(path):
        sys.exit(f"missing {path}: fetch it first (spot model fetch smollm2)")
    tok = AutoTokenizer.from_pretrained(GGUF_DIR, gguf_file=GGUF_FILE)
    plain = AutoTokenizer.from_pretrained(GGUF_DIR, gguf_file=GGUF_FILE)
    tok.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])
    m32 = AutoModelForCausalLM.from_pretrained(GGUF_DIR, gguf_file=GGUF_FILE, dtype=torch.float32).eval()
    m64 = AutoModelForCausalLM.from_pretrained(GGUF_DIR, gguf_file=GGUF_FILE, dtype=torch.float32).eval().double()
    eager = AutoModelForCausalLM.from_pretrained(GGUF_DIR, gguf_file=GGUF_FILE, dtype=torch.float32,
                                                 attn_implementation="eager").eval()
    V = m32.config.vocab_size
    probes = np.sort(np.random.default_rng(20240601).choice(V, N_PROBES, replace=False))

    sentences = pick_sentences(tok)
    n_loader_diff = sum(plain.encode(t, add_special_tokens=False) != ids for _, t, ids in sentences)
    floor = {"last_logits_max_abs": 0.0, "all_logits_max_abs": 0.0, "logsumexp_abs": 0.0, "mean_loglik_abs": 0.0,
             "sdpa_vs_eager_last_logits_max_abs": 0.0, "sdpa_vs_eager_all_logits_max_abs": 0.0,
             "max_abs_logit": 0.0}
    recs = []
    with torch.no_grad():
        for src, text, ids in sentences:
            x = torch.tensor([ids])
            l32 = m32(x).logits[0]                   # [n, V] f32
            l64 = m64(x).logits[0]                   # [n, V] f64
            le = eager(x).logits[0]

            def mean_ll(logits):
                lp = torch.log_softmax(logits.double(), -1)
                return float(lp[:-1].gather(1, x[0, 1:, None]).mean())

            last = l32[-1]
            top = torch.topk(last, TOP_K)
            lse = float(torch.logsumexp(last.double(), 0))
            floor["last_logits_max_abs"] = max(floor["last_logits_max_abs"], float((l32[-1].double() - l64[-1]).abs().max()))
            floor["all_logits_max_abs"] = max(floor["all_logits_max_abs"], float((l32.double() - l64).abs().max()))
            floor["logsumexp_abs"] = max(floor["logsumexp_abs"], abs(lse - float(torch.logsumexp(l64[-1], 0))))
            floor["mean_loglik_abs"] = max(floor["mean_loglik_abs"], abs(mean_ll(l32) - mean_ll(l64)))
            floor["sdpa_vs_eager_last_logits_max_abs"] = max(floor["sdpa_vs_eager_last_logits_max_abs"],
                                                             float((l32[-1] - le[-1]).abs().max()))
            floor["sdpa_vs_eager_all_logits_max_abs"] = max(floor["sdpa_vs_eager_all_logits_max_abs"],
                                                            float((l32 - le).abs().max()))
            floor["max_abs_logit"] = max(floor["max_abs_logit"], float(l32.abs().max()))
            recs.append({
                "source": src, "text": text, "ids": ids,
                "last": {"top_ids": top.indices.tolist(), "top_logits": [float(v) for v in top.values],
                         "probe_logits": [float(v) for v in last[torch.from_numpy(probes)]], "logsumexp": lse},
                "mean_loglik": mean_ll(l32), "mean_loglik_f64": mean_ll(l64),
            })
            print(f"{src}: {len(ids)} tokens, mean loglik {recs[-1]['mean_loglik']:.5f}, top-1 id {recs[-1]['last']['top_ids'][0]}")

        text = tok.apply_chat_template(CHAT, tokenize=False, add_generation_prompt=True)
        chat_ids = tok.encode(text, add_special_tokens=False)
        im_end = tok.convert_tokens_to_ids("<|im_end|>")
        out = m32.generate(torch.tensor([chat_ids]), attention_mask=torch.ones(1, len(chat_ids), dtype=torch.long),
                           max_new_tokens=GEN_NEW, do_sample=False, eos_token_id=im_end, pad_token_id=im_end,
                           output_scores=True, return_dict_in_generate=True)
        new_ids = out.sequences[0, len(chat_ids):].tolist()
        margins = []
        for s in out.scores:
            t2 = torch.topk(s[0], 2).values
            margins.append(float(t2[0] - t2[1]))
        # The same continuation by full recomputation (no KV cache), as a check on HF itself.
        seq = list(chat_ids)
        for _ in range(len(new_ids)):
            nxt = int(m32(torch.tensor([seq])).logits[0, -1].argmax())
            if nxt == im_end:
                break
            seq.append(nxt)
        assert seq[len(chat_ids):] == [i for i in new_ids if i != im_end], "HF cached vs uncached greedy differ"

    gen = {"messages": CHAT, "add_generation_prompt": True, "text": text, "ids": chat_ids, "stop_id": im_end,
           "max_new_tokens": GEN_NEW, "new_ids": new_ids, "new_text": tok.decode(new_ids),
           "top1_top2_margin": margins}
    doc = {
        "generator": "tests/golden/gen_smollm2_logits.py",
        "gguf": GGUF_FILE,
        "versions": {"torch": torch.__version__, "transformers": __import__("transformers").__version__},
        "tokenizer_patch": "pre_tokenizer = Sequence[Digits(individual_digits=True), ByteLevel] (SmolLM2 / llama.cpp "
                           "smollm pre-tokenizer); the uncorrected GGUF loader differs on "
                           f"{n_loader_diff} of {len(sentences)} sentences",
        "vocab_size": V, "top_k": TOP_K, "probe_ids": probes.tolist(),
        "noise_floor": floor, "sentences": recs, "generation": gen,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")
    print("noise floor:", json.dumps(floor))
    print("generation:", repr(gen["new_text"]), "min margin", min(margins))


if __name__ == "__main__":
    main()
