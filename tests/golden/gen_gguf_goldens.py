#!/usr/bin/env python3
"""gen_gguf_goldens.py -- writes the GGUF reader goldens (tests/test_gguf.cpp reads them):

  tests/golden/gguf/golden.gguf           a tiny GGUF v3 file written by the `gguf` python package:
                                           metadata of every value type (nested arrays included),
                                           alignment 64, and tensors of every type spot dequantises
                                           (f32, f16, bf16, q8_0, q4_0, q4_1) in 1-D, 2-D and 3-D.
  tests/golden/gguf/golden_expected.json  what a reader must find: the metadata values, each tensor's
                                           ggml type / GGUF dims and its values dequantised by
                                           gguf.quants.dequantize (numpy, the reference), as f32 bit
                                           patterns; and the Q/K un-permute of one tensor computed by
                                           transformers' LlamaTensorProcessor (HF's GGUF loader).

Run from the repository root: python3 tests/golden/gen_gguf_goldens.py
Deterministic (fixed seed); re-running rewrites the same bytes.
"""

import json
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q, GGUFValueType as V

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gguf")
GGUF_PATH = os.path.join(OUT_DIR, "golden.gguf")
JSON_PATH = os.path.join(OUT_DIR, "golden_expected.json")

rng = np.random.default_rng(1234)


def f32_bits(a):
    return np.ascontiguousarray(a, dtype=np.float32).reshape(-1).view(np.uint32).tolist()


def sample(shape, kind):
    """Values that exercise a quantiser: normal data with a zero block, a constant block and outliers."""
    x = rng.normal(0.0, 1.0, size=shape).astype(np.float32)
    flat = x.reshape(-1)
    if kind == "quant" and flat.size >= 96:
        flat[0:32] = 0.0           # d == 0 block
        flat[32:64] = 0.75         # constant block (q4_1: min == max)
        flat[64] = 40.0            # outlier
        flat[65] = -3e-3
    if kind == "float":
        specials = [np.inf, -np.inf, -0.0, 6.0e-8, 1.0e-40, 65504.0, 3.0e38, np.nan, -1.5, 0.1]
        flat[: len(specials)] = specials
    return x


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    w = gguf.GGUFWriter(GGUF_PATH, arch="spot-golden")
    w.add_custom_alignment(64)
    meta = []  # (key, gguf type name, value) as the C++ test checks them

    def kv(key, value, vtype, sub=None, type_name=None):
        w.add_key_value(key, value, vtype, sub_type=sub)
        meta.append({"key": key, "type": type_name, "value": value})

    kv("test.u8", 200, V.UINT8, type_name="u8")
    kv("test.i8", -100, V.INT8, type_name="i8")
    kv("test.u16", 60000, V.UINT16, type_name="u16")
    kv("test.i16", -30000, V.INT16, type_name="i16")
    kv("test.u32", 4000000000, V.UINT32, type_name="u32")
    kv("test.i32", -2000000000, V.INT32, type_name="i32")
    kv("test.u64", 2**63 + 5, V.UINT64, type_name="u64")
    kv("test.i64", -(2**62) - 7, V.INT64, type_name="i64")
    kv("test.f32", 1.5, V.FLOAT32, type_name="f32")
    kv("test.f64", -2.25e300, V.FLOAT64, type_name="f64")
    kv("test.bool", True, V.BOOL, type_name="bool")
    kv("test.string", "h\u00e9llo\nworld \U0001F600", V.STRING, type_name="string")
    kv("test.empty_string", "", V.STRING, type_name="string")
    kv("test.arr_u8", [0, 1, 255], V.ARRAY, V.UINT8, "array<u8>[3]")
    kv("test.arr_i16", [-32768, 0, 32767], V.ARRAY, V.INT16, "array<i16>[3]")
    kv("test.arr_i32", [-5, 7, 2147483647], V.ARRAY, V.INT32, "array<i32>[3]")
    kv("test.arr_u64", [0, 2**40], V.ARRAY, V.UINT64, "array<u64>[2]")
    kv("test.arr_f32", [0.5, -1.25, 3.0], V.ARRAY, V.FLOAT32, "array<f32>[3]")
    kv("test.arr_f64", [1e-300, 2.5], V.ARRAY, V.FLOAT64, "array<f64>[2]")
    kv("test.arr_bool", [True, False, True], V.ARRAY, V.BOOL, "array<bool>[3]")
    kv("test.arr_str", ["a", "", "\u00fc\u00df", "<|im_start|>"], V.ARRAY, V.STRING, "array<string>[4]")
    kv("test.nested_i32", [[1, 2, 3], [4]], V.ARRAY, None, "array<array<i32>>[2]")
    kv("test.nested_str", [["x", "yz"], ["w"]], V.ARRAY, None, "array<array<string>>[2]")
    kv("test.nested3", [[[1]], [[2, 3], [4]]], V.ARRAY, None, "array<array<array<i32>>>[2]")

    tensors = []
    # numpy (row-major) shapes; GGUF dims are these reversed. The last dim is a multiple of 32 so
    # every quantised type can hold it.
    shapes = {"vector": (96,), "matrix": (3, 64), "cube": (2, 2, 32)}
    for qtype in (Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1):
        for label, shape in shapes.items():
            name = f"{qtype.name.lower()}.{label}"
            x = sample(shape, "float" if qtype in (Q.F32, Q.F16, Q.BF16) else "quant")
            if qtype == Q.F32:
                data, raw = x, None
            elif qtype == Q.F16:
                with np.errstate(over="ignore"):  # 3e38 -> inf is one of the intended specials
                    data, raw = x.astype(np.float16), None
            else:
                data, raw = gguf.quants.quantize(x, qtype), qtype
            w.add_tensor(name, data, raw_dtype=raw)
            expected = gguf.quants.dequantize(data, qtype).astype(np.float32)
            assert expected.shape == shape, (name, expected.shape, shape)
            tensors.append({
                "name": name,
                "ggml_type": qtype.name.lower(),
                "type_code": int(qtype),
                "dims": list(reversed(shape)),
                "shape": list(shape),
                "values_f32_bits": f32_bits(expected),
            })

    # Q/K un-permute golden: a [n_heads * head_dim, d_in] projection as llama.cpp stores it, and
    # the rows HF's GGUF loader (transformers LlamaTensorProcessor) turns it into.
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor

    n_heads, n_kv_heads, head_dim, d_in = 3, 1, 8, 5
    q_gguf = np.arange(n_heads * head_dim * d_in, dtype=np.float32).reshape(n_heads * head_dim, d_in)
    k_gguf = -np.arange(n_kv_heads * head_dim * d_in, dtype=np.float32).reshape(n_kv_heads * head_dim, d_in)
    w.add_tensor("blk.0.attn_q.weight", q_gguf)
    w.add_tensor("blk.0.attn_k.weight", k_gguf)
    proc = LlamaTensorProcessor(config={"num_attention_heads": n_heads, "num_key_value_heads": n_kv_heads})
    q_hf = proc.process(q_gguf, "blk.0.attn_q.weight").weights
    k_hf = proc.process(k_gguf, "blk.0.attn_k.weight").weights

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    doc = {
        "generator": "tests/golden/gen_gguf_goldens.py (gguf %s, numpy %s)" % (
            getattr(gguf, "__version__", "0.19.0"), np.__version__),
        "alignment": 64,
        "architecture": "spot-golden",
        "metadata": meta,
        "tensors": tensors,
        "unpermute": {
            "n_heads": n_heads,
            "n_kv_heads": n_kv_heads,
            "q_name": "blk.0.attn_q.weight",
            "k_name": "blk.0.attn_k.weight",
            "shape_q": list(q_hf.shape),
            "shape_k": list(k_hf.shape),
            "q_hf_f32_bits": f32_bits(q_hf),
            "k_hf_f32_bits": f32_bits(k_hf),
        },
    }
    with open(JSON_PATH, "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=True)
        f.write("\n")
    print("wrote", GGUF_PATH, os.path.getsize(GGUF_PATH), "bytes and", JSON_PATH, os.path.getsize(JSON_PATH), "bytes")


if __name__ == "__main__":
    main()
