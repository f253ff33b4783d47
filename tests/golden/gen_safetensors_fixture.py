#!/usr/bin/env python3
"""gen_safetensors_fixture.py — writes the safetensors goldens read by tests/test_safetensors.cpp.

Files (in tests/golden/safetensors/):
  fixture.safetensors  — one tensor per dtype spot reads, written by the reference `safetensors`
                         package (safetensors.torch.save_file). Values follow closed formulas that the
                         C++ test recomputes (see the comment at each tensor), chosen to be exact in
                         the tensor's dtype.
  t5_sharded/          — a tiny random T5 saved by HF transformers' save_pretrained with a small
                         max_shard_size: several shards + model.safetensors.index.json, real HF tensor
                         names. expected.json lists every tensor's shape, first values and sum (fp64).

Run from the repository root:  python3 tests/golden/gen_safetensors_fixture.py
"""
import json
import os
import shutil

import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "safetensors")


def fixture():
    t = {}
    # f32 [2, 3]: i * 0.5 - 1.25
    t["f32"] = (torch.arange(6, dtype=torch.float64) * 0.5 - 1.25).float().reshape(2, 3)
    # bf16 [3, 5]: i * 0.25 - 1
    t["bf16"] = (torch.arange(15, dtype=torch.float64) * 0.25 - 1).to(torch.bfloat16).reshape(3, 5)
    # f16 [2, 2, 2]: i * 0.125 - 0.5
    t["f16"] = (torch.arange(8, dtype=torch.float64) * 0.125 - 0.5).half().reshape(2, 2, 2)
    # f16 specials: +inf, -inf, smallest subnormal 2^-24, largest finite 65504
    t["f16_special"] = torch.tensor([float("inf"), float("-inf"), 2.0 ** -24, 65504.0], dtype=torch.float16)
    # f64 [5]: i / 3 (not exact in f32: the reader must round like a C++ double -> float cast)
    t["f64"] = torch.arange(5, dtype=torch.float64) / 3
    # i64 [4]: the int32 extremes and neighbours, all fit in int32
    t["i64"] = torch.tensor([0, -1, 2**31 - 1, -2**31], dtype=torch.int64)
    # i64 out of int32 range: load_i32 must refuse
    t["i64_big"] = torch.tensor([5, 2**31], dtype=torch.int64)
    # i32 [2, 2]
    t["i32"] = torch.tensor([[-7, 0], [7, 123456789]], dtype=torch.int32)
    # u8 [3]
    t["u8"] = torch.tensor([0, 128, 255], dtype=torch.uint8)
    # bool [4]
    t["bool"] = torch.tensor([True, False, True, True])
    # f32 scalar (shape []) 42
    t["scalar"] = torch.tensor(42.0, dtype=torch.float32)
    # f32 [0, 3]: no data
    t["empty"] = torch.zeros(0, 3, dtype=torch.float32)
    save_file(t, os.path.join(OUT, "fixture.safetensors"),
              metadata={"format": "pt", "source": "gen_safetensors_fixture.py"})


def t5_sharded():
    from transformers import T5Config, T5ForConditionalGeneration

    torch.manual_seed(0)
    # d_kv * num_heads = 6 != d_model = 8 so that q/k/v/o shapes are not square.
    cfg = T5Config(vocab_size=32, d_model=8, d_kv=3, d_ff=16, num_layers=1, num_decoder_layers=1,
                   num_heads=2, relative_attention_num_buckets=8, decoder_start_token_id=0,
                   pad_token_id=0, eos_token_id=1)
    model = T5ForConditionalGeneration(cfg)
    d = os.path.join(OUT, "t5_sharded")
    shutil.rmtree(d, ignore_errors=True)
    model.save_pretrained(d, max_shard_size="2KB")
    for extra in ("generation_config.json",):
        p = os.path.join(d, extra)
        if os.path.exists(p):
            os.remove(p)
    with open(os.path.join(d, "model.safetensors.index.json")) as f:
        names = list(json.load(f)["weight_map"])
    sd = model.state_dict()
    expected = {}
    for n in names:
        v = sd[n].detach().double()
        expected[n] = {"shape": list(v.shape), "first": [float(x) for x in v.flatten()[:4]],
                       "sum": float(v.sum())}
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    fixture()
    t5_sharded()
    print("wrote", OUT)
