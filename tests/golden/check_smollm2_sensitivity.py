#!/usr/bin/env python3
"""check_smollm2_sensitivity.py -- how far plausible implementation mistakes move SmolLM2-135M's logits.

Backs the tolerance of tests/test_smollm2_real.cpp (3e-4 absolute on last-position logits): each
mistake below is applied to HF transformers' model (loaded from the same GGUF as the golden) and the
max abs change of the last-position logits over the first four golden sentences is printed. Writes
nothing; the numbers are quoted in tests/golden/README.md.

  python3 tests/golden/check_smollm2_sensitivity.py
"""
import copy
import json
import os

import torch
from transformers import AutoModelForCausalLM

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.environ.get("SPOT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "spot")
GGUF_DIR = os.path.join(CACHE, "models", "smollm2")
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def main():
    torch.set_num_threads(1)
    golden = json.load(open(os.path.join(REPO, "tests", "golden", "smollm2", "logits.json")))
    sentences = [s["ids"] for s in golden["sentences"][:4]]
    base = AutoModelForCausalLM.from_pretrained(GGUF_DIR, gguf_file=GGUF_FILE, dtype=torch.float32).eval()

    def last_logits(m):
        with torch.no_grad():
            return [m(torch.tensor([s])).logits[0, -1] for s in sentences]

    ref = last_logits(base)

    def report(name, m):
        print(f"{max(float((a - b).abs().max()) for a, b in zip(last_logits(m), ref)):10.3g}  {name}")

    def with_config(**kw):
        cfg = copy.deepcopy(base.config)
        for k, v in kw.items():
            if k == "rope_theta":
                cfg.rope_parameters = {"rope_theta": v, "rope_type": "default"}
            else:
                setattr(cfg, k, v)
        m = type(base)(cfg).eval()
        m.load_state_dict(base.state_dict())
        return m

    report("RoPE theta 1e4 instead of 1e5", with_config(rope_theta=10000.0))
    report("RMSNorm eps 1e-6 instead of 1e-5", with_config(rms_norm_eps=1e-6))
    report("RMSNorm eps 10% off (1.1e-5)", with_config(rms_norm_eps=1.1e-5))

    head_dim = base.config.head_dim

    def gguf_order(w, heads):  # llama.cpp's Q/K row order: pairs (2i, 2i+1) instead of (i, i + Dh/2)
        return w.view(heads, 2, head_dim // 2, -1).transpose(1, 2).reshape(heads * head_dim, -1)

    m = copy.deepcopy(base)
    with torch.no_grad():
        for layer in m.model.layers:
            layer.self_attn.q_proj.weight.copy_(gguf_order(layer.self_attn.q_proj.weight.clone(), base.config.num_attention_heads))
            layer.self_attn.k_proj.weight.copy_(gguf_order(layer.self_attn.k_proj.weight.clone(), base.config.num_key_value_heads))
    report("Q/K rows left in GGUF order", m)
    m = copy.deepcopy(base)
    m.model.layers = m.model.layers[:-1]
    m.config.num_hidden_layers -= 1
    report("last layer dropped", m)
    m = copy.deepcopy(base)
    with torch.no_grad():
        m.model.layers[15].mlp.down_proj.weight[:, :32] *= 1 + 2 ** -10
    report("layer 15 down_proj: one 32-wide Q4_1 block column scaled by 1 + 2^-10 (one f16 ulp of the scale)", m)


if __name__ == "__main__":
    main()
