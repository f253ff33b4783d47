#!/usr/bin/env python3
"""make_prompt_seeds.py -- writes the seeds of fuzz/fuzz_prompt_file.cpp and fuzz/fuzz_peft_adapter.cpp
(standard library only; deterministic; run from anywhere after tests/golden/gen_peft_goldens.py).

fuzz/seeds/fuzz_prompt_file/: small prompt files as spot's SoftPrompt::save writes them (input depth
[3, 4] and deep [2, 2, 3]) and PEFT tensor files in F16 / BF16 (tools/fuzz.sh adds the goldens' own).
fuzz/seeds/fuzz_peft_adapter/: <2-byte little-endian config length><adapter_config.json><adapter_model.safetensors>
for each adapter in tests/golden/peft that fits in 4096 bytes, and a minimal one (1 virtual token, token_dim 2).
"""
import json
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fuzz" / "seeds"


def safetensors(tensors, metadata):
    """tensors: name -> (dtype, shape, raw bytes), written in name order with the header padded to 8 bytes."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        dtype, shape, raw = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + b"".join(blobs)


def f32(values):
    return struct.pack("<%df" % len(values), *values)


def main():
    pf = SEEDS / "fuzz_prompt_file"
    pf.mkdir(parents=True, exist_ok=True)
    vals = [(i % 7 - 3) / 8 for i in range(12)]
    (pf / "spot_input.safetensors").write_bytes(safetensors(
        {"prompt": ("F32", [3, 4], f32(vals))},
        {"format": "spot.soft_prompt.v1", "length": "3", "d_model": "4", "depth": "input", "init": "vocab"}))
    (pf / "spot_deep.safetensors").write_bytes(safetensors(
        {"prompt": ("F32", [2, 2, 3], f32(vals))},
        {"format": "spot.soft_prompt.v1", "length": "2", "d_model": "3", "depth": "deep", "layers": "2"}))
    # 1.0, -2.0, 0.5, 65504 (f16 max), 2^-24 (f16 smallest subnormal), 0.0
    (pf / "peft_f16.safetensors").write_bytes(safetensors(
        {"prompt_embeddings": ("F16", [2, 3], struct.pack("<6H", 0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x0000))},
        {"format": "pt"}))
    (pf / "peft_bf16.safetensors").write_bytes(safetensors(
        {"prompt_embeddings": ("BF16", [3, 2], struct.pack("<6H", 0x3F80, 0xC000, 0x3F00, 0x7F7F, 0x0001, 0x8000))},
        {"format": "pt"}))

    pa = SEEDS / "fuzz_peft_adapter"
    pa.mkdir(parents=True, exist_ok=True)
    for case in sorted((ROOT / "tests" / "golden" / "peft").iterdir()):
        cfg, st = case / "adapter_config.json", case / "adapter_model.safetensors"
        if not (cfg.exists() and st.exists()):
            continue
        blob = len(cfg.read_bytes()).to_bytes(2, "little") + cfg.read_bytes() + st.read_bytes()
        if len(blob) <= 4096:
            (pa / case.name).write_bytes(blob)
    cfg = json.dumps({"peft_type": "PROMPT_TUNING", "task_type": "CAUSAL_LM", "num_virtual_tokens": 1,
                      "token_dim": 2, "num_transformer_submodules": 1}).encode()
    st = safetensors({"prompt_embeddings": ("F32", [1, 2], f32([0.25, -1.5]))}, {"format": "pt"})
    (pa / "minimal").write_bytes(len(cfg).to_bytes(2, "little") + cfg + st)


if __name__ == "__main__":
    main()
