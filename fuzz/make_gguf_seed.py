#!/usr/bin/env python3
"""make_gguf_seed.py -- writes fuzz/seeds/smollm2_tiny.gguf, a seed for fuzz/fuzz_gguf.cpp: a
one-layer Llama GGUF (d_model 32, 2 heads, 1 KV head; F32 / Q4_1 / Q8_0 / Q4_0 / F16 / BF16 tensors)
carrying SmolLM2's tokenizer cut down to its first 320 tokens and the merges among them, its
pre-tokenizer name and chat template. Needs the real GGUF (see tests/golden/gen_smollm2_tokenizer_ids.py).
"""
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.environ.get("SPOT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "spot")
SRC = os.path.join(CACHE, "models", "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
VOCAB = 320


def main():
    r = gguf.GGUFReader(SRC)
    tokens = r.fields["tokenizer.ggml.tokens"].contents()[:VOCAB]
    types = r.fields["tokenizer.ggml.token_type"].contents()[:VOCAB]
    known = set(tokens)
    merges = [m for m in r.fields["tokenizer.ggml.merges"].contents()
              if all(p in known for p in m.split(" ")) and m.replace(" ", "") in known]
    rng = np.random.default_rng(7)
    d, ff, heads, kv = 32, 64, 2, 1
    hd = d // heads

    w = gguf.GGUFWriter(os.path.join(HERE, "seeds", "smollm2_tiny.gguf"), arch="llama")
    w.add_block_count(1)
    w.add_context_length(64)
    w.add_embedding_length(d)
    w.add_feed_forward_length(ff)
    w.add_head_count(heads)
    w.add_head_count_kv(kv)
    w.add_rope_freq_base(100000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(VOCAB)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_chat_template(r.fields["tokenizer.chat_template"].contents())

    def add(name, shape, qtype):
        x = rng.normal(0, 0.5, size=shape).astype(np.float32)
        if qtype == Q.F32:
            w.add_tensor(name, x)
        elif qtype == Q.F16:
            w.add_tensor(name, x.astype(np.float16))
        else:
            w.add_tensor(name, gguf.quants.quantize(x, qtype), raw_dtype=qtype)

    add("token_embd.weight", (VOCAB, d), Q.Q8_0)
    add("output_norm.weight", (d,), Q.F32)
    add("blk.0.attn_norm.weight", (d,), Q.F32)
    add("blk.0.ffn_norm.weight", (d,), Q.F16)
    add("blk.0.attn_q.weight", (heads * hd, d), Q.Q4_1)
    add("blk.0.attn_k.weight", (kv * hd, d), Q.Q4_0)
    add("blk.0.attn_v.weight", (kv * hd, d), Q.BF16)
    add("blk.0.attn_output.weight", (d, heads * hd), Q.Q4_1)
    add("blk.0.ffn_gate.weight", (ff, d), Q.Q4_1)
    add("blk.0.ffn_up.weight", (ff, d), Q.Q8_0)
    add("blk.0.ffn_down.weight", (d, ff), Q.Q4_1)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(len(tokens), "tokens,", len(merges), "merges")


if __name__ == "__main__":
    main()
