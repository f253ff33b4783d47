#!/usr/bin/env python3
"""gen_smollm2_gguf_goldens.py -- what the real SmolLM2-135M-Instruct Q4_1 GGUF holds, for
tests/test_gguf.cpp (the tests skip when the 93 MB file is absent).

Writes tests/golden/smollm2/gguf_summary.json:
  file_size, version, alignment, data_offset (gguf.GGUFReader)
  metadata:   every key with its type ("u32", "array<string>[49152]") and, for scalars, its value;
              for arrays the first items
  tensors:    every tensor's name, ggml type and GGUF dims, in file order
  dequant:    for a few tensors, values dequantised by gguf.quants.dequantize: the first 16 as f32
              bits, the float64 sum, and a row-weighted checksum sum_r (r + 1) * sum(row r)
  hf_layout:  q_proj / k_proj of layers 0 and 29 as transformers' GGUF loader returns them
              (AutoModelForCausalLM.from_pretrained(dir, gguf_file=...): dequantised and
              un-permuted): selected rows' first 8 values as f32 bits and the row-weighted checksum

Run from the repository root: python3 tests/golden/gen_smollm2_gguf_goldens.py
"""

import json
import os
import sys

import numpy as np
import gguf

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.environ.get("SPOT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "spot")
GGUF_DIR = os.path.join(CACHE, "models", "smollm2")
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
OUT = os.path.join(REPO, "tests", "golden", "smollm2", "gguf_summary.json")

TYPE_NAMES = {
    gguf.GGUFValueType.UINT8: "u8", gguf.GGUFValueType.INT8: "i8", gguf.GGUFValueType.UINT16: "u16",
    gguf.GGUFValueType.INT16: "i16", gguf.GGUFValueType.UINT32: "u32", gguf.GGUFValueType.INT32: "i32",
    gguf.GGUFValueType.FLOAT32: "f32", gguf.GGUFValueType.BOOL: "bool", gguf.GGUFValueType.STRING: "string",
    gguf.GGUFValueType.UINT64: "u64", gguf.GGUFValueType.INT64: "i64", gguf.GGUFValueType.FLOAT64: "f64",
}


def bits(a):
    return np.ascontiguousarray(a, dtype=np.float32).reshape(-1).view(np.uint32).tolist()


def row_checksum(a):
    """sum_r (r + 1) * sum(row r) in float64 over the row-major [rows, cols] view: catches row order."""
    a = np.asarray(a, dtype=np.float64)
    a = a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(-1, 1)
    return float(np.dot(np.arange(1, a.shape[0] + 1, dtype=np.float64), a.sum(axis=1)))


def main():
    path = os.path.join(GGUF_DIR, GGUF_FILE)
    if not os.path.exists(path):
        sys.exit(f"missing {path}: fetch it first (spot model fetch smollm2)")
    r = gguf.GGUFReader(path)

    metadata = []
    for key, field in r.fields.items():
        if key.startswith("GGUF."):
            continue
        t = field.types
        if t[0] == gguf.GGUFValueType.ARRAY:
            items = field.contents()
            entry = {"key": key, "type": f"array<{TYPE_NAMES[t[-1]]}>[{len(field.data)}]", "first": items[:5]}
        else:
            entry = {"key": key, "type": TYPE_NAMES[t[0]], "value": field.contents()}
        metadata.append(entry)

    tensors = [{"name": t.name, "ggml_type": t.tensor_type.name.lower(), "dims": [int(d) for d in t.shape]}
               for t in r.tensors]
    by_name = {t.name: t for t in r.tensors}

    dequant = []
    for name in ["token_embd.weight", "output_norm.weight", "blk.0.attn_norm.weight", "blk.0.attn_q.weight",
                 "blk.0.ffn_down.weight", "blk.17.attn_v.weight", "blk.29.ffn_gate.weight"]:
        t = by_name[name]
        x = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        dequant.append({"name": name, "shape": list(x.shape), "first16_f32_bits": bits(x.reshape(-1)[:16]),
                        "sum": float(x.astype(np.float64).sum()), "row_checksum": row_checksum(x)})

    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(GGUF_DIR, gguf_file=GGUF_FILE, dtype=torch.float32)
    sd = model.state_dict()
    cfg = model.config
    hf_layout = []
    rows = [0, 1, 2, 31, 32, 33, 63, 64, 65, 127, 128, 191]
    for layer in (0, 29):
        for proj, gname in (("q_proj", "attn_q"), ("k_proj", "attn_k")):
            w = sd[f"model.layers.{layer}.self_attn.{proj}.weight"].numpy()
            hf_layout.append({
                "gguf_name": f"blk.{layer}.{gname}.weight",
                "hf_name": f"model.layers.{layer}.self_attn.{proj}.weight",
                "shape": list(w.shape),
                "rows": rows,
                "rows_first8_f32_bits": [bits(w[i, :8]) for i in rows],
                "row_checksum": row_checksum(w),
            })

    doc = {
        "generator": "tests/golden/gen_smollm2_gguf_goldens.py",
        "file": GGUF_FILE,
        "file_size": os.path.getsize(path),
        "version": 3,
        "alignment": int(r.alignment),
        "data_offset": int(r.data_offset),
        "hf_config": {"num_hidden_layers": cfg.num_hidden_layers, "hidden_size": cfg.hidden_size,
                      "intermediate_size": cfg.intermediate_size,
                      "num_attention_heads": cfg.num_attention_heads,
                      "num_key_value_heads": cfg.num_key_value_heads,
                      "rope_theta": float(getattr(cfg, "rope_theta", None) or cfg.rope_parameters["rope_theta"]),
                      "rms_norm_eps": cfg.rms_norm_eps, "max_position_embeddings": cfg.max_position_embeddings,
                      "vocab_size": cfg.vocab_size, "tie_word_embeddings": bool(cfg.tie_word_embeddings)},
        "metadata": metadata,
        "tensors": tensors,
        "dequant": dequant,
        "hf_layout": hf_layout,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=True)
        f.write("\n")
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
