#!/usr/bin/env python3
"""gen_t5_goldens.py — golden files for the frozen T5 backbone, written by HF transformers (the reference).

For two tiny random T5 variants (v1_0: ReLU FFN + tied embeddings with the d_model**-0.5 LM-head scale;
v1_1: gated-GELU FFN + separate lm_head, no scale) this script writes, under tests/golden/t5/<variant>/:

  config.json, model.safetensors (v1_0) or model-0000k-of-0000n.safetensors + model.safetensors.index.json
  (v1_1, sharded) — exactly as `save_pretrained` writes them;
  golden_prefix.safetensors, golden_infix.safetensors — a soft prompt [L, d_model] inserted at the start
  (prefix) or inside the real tokens (infix) of a padded batch, and HF's encoder output, logits, loss and
  d loss / d prompt for it (see README.md for the tensor list and the semantics the C++ code must follow).

and tests/golden/t5/relative_buckets.safetensors: HF's relative-position bucket for every relative
position in [-300, 300], for the tiny configs and for the real T5 configs (32 buckets, max distance 128).

Prompt sets (model/prompt_set.h), on the same checkpoints:
  golden_mixed.safetensors — a mixed-task batch: three prompts of lengths 5, 2 and 7 over five examples
  (each example its own prompt and insertion offset), d loss / d prompt for each of the three;
  golden_deep.safetensors — a deep prompt [num_layers, 5, d_model]: block 0 inserted with the embeddings,
  block l written over the prompt rows at the input of encoder block l by a forward pre-hook (VPT-deep).

`--only mixed,deep` writes just those, from the committed checkpoints (reloaded, not rebuilt), leaving
every other file as it is.

Everything is computed on the model *reloaded* from the files written (from_pretrained), in float32 with the
eager attention; the same computation in float64 gives the float32 noise floor, printed and stored in each
golden's __metadata__. A short independent re-implementation of T5 (reference_t5 below, written from the
README checklist) must agree with HF to 1e-9 in float64, so the checklist is checked, not just read.

Deterministic: fixed seeds, one CPU thread. Run from anywhere:  python3 tests/golden/gen_t5_goldens.py
"""

import copy
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import torch
import transformers
from safetensors import safe_open
from transformers import T5Config, T5ForConditionalGeneration
from transformers.models.t5 import modeling_t5

HERE = Path(__file__).resolve().parent
OUT = HERE / "t5"

BASE_CONFIG = dict(
    vocab_size=301, d_model=48, d_kv=12, num_heads=4, d_ff=72, num_layers=2, num_decoder_layers=3,
    relative_attention_num_buckets=8, relative_attention_max_distance=20, dropout_rate=0.0,
    layer_norm_epsilon=1e-6, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
)
VARIANTS = {
    "v1_0": dict(feed_forward_proj="relu", tie_word_embeddings=True),
    "v1_1": dict(feed_forward_proj="gated-gelu", tie_word_embeddings=False),
}
SEEDS = {"v1_0": 1000, "v1_1": 1100}
# v1_1 is saved sharded: its ~620 KB of weights in 250 KB shards gives 3 files.
SHARD_SIZE = {"v1_0": "50GB", "v1_1": "250KB"}

# The batch (shared by both variants and placements).
PROMPT_LEN = 5
INPUT_LENGTHS = [7, 5, 9]   # real tokens per example, the last one is </s>=1; padded with 0 to T = 9
TARGET_LENGTHS = [4, 2, 3]  # real label tokens, the last one is </s>=1; padded with -100 to Tt = 4
INFIX_POSITIONS = [2, 1, 3]  # prompt inserted before token index p: tokens[0:p] ++ prompt ++ tokens[p:T]
DATA_SEED = 7
PROMPT_STD = 0.5


def randomise_weights(model: T5ForConditionalGeneration, untied: bool, seed: int) -> None:
    """HF's init keeps activations O(1) (embeddings ~N(0,1), q ~N(0,(d_model*d_kv)^-1/2), ...), but leaves every
    layer norm at 1 and the relative attention bias tiny (std d_model^-1/2): bugs there would go unseen. Make them
    clearly non-trivial, and give v1_1 its own lm_head, scaled so the unscaled logits stay O(1)."""
    g = torch.Generator().manual_seed(seed + 1)
    d = model.config.d_model
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layer_norm.weight"):
                p.copy_(torch.empty_like(p).uniform_(0.5, 1.5, generator=g))
            elif name.endswith("relative_attention_bias.weight"):
                p.copy_(torch.randn(p.shape, generator=g))
        if untied:
            lm_head = torch.randn(model.config.vocab_size, d, generator=g) * d**-0.5
            model.lm_head.weight = torch.nn.Parameter(lm_head)  # a new tensor: no longer tied to `shared`


def build_and_save(variant: str) -> T5ForConditionalGeneration:
    seed = SEEDS[variant]
    torch.manual_seed(seed)
    config = T5Config(**BASE_CONFIG, **VARIANTS[variant])
    model = T5ForConditionalGeneration(config)
    untied = not VARIANTS[variant]["tie_word_embeddings"]
    randomise_weights(model, untied, seed)
    assert (model.lm_head.weight is model.shared.weight) == (not untied)

    out_dir = OUT / variant
    if out_dir.exists():
        shutil.rmtree(out_dir)
    # transformers 5 always writes safetensors (the old safe_serialization flag is gone).
    model.save_pretrained(out_dir, max_shard_size=SHARD_SIZE[variant])
    gen_cfg = out_dir / "generation_config.json"
    if gen_cfg.exists():
        gen_cfg.unlink()  # generation defaults: not part of the model, nothing in spot reads it

    reloaded = T5ForConditionalGeneration.from_pretrained(out_dir, attn_implementation="eager", dtype=torch.float32)
    reloaded.eval()
    # The reload must be bit-identical to what was built (including the untied lm_head for v1_1).
    for (n1, p1), (n2, p2) in zip(model.state_dict().items(), reloaded.state_dict().items()):
        assert n1 == n2 and torch.equal(p1, p2), f"{variant}: {n1} changed on reload"
    assert (reloaded.lm_head.weight is reloaded.shared.weight) == (not untied)
    assert reloaded.config.scale_decoder_outputs == (not untied)
    return reloaded


def make_batch():
    g = torch.Generator().manual_seed(DATA_SEED)
    B, T, Tt = len(INPUT_LENGTHS), max(INPUT_LENGTHS), max(TARGET_LENGTHS)
    vocab, d = BASE_CONFIG["vocab_size"], BASE_CONFIG["d_model"]
    input_ids = torch.zeros(B, T, dtype=torch.int64)
    attention_mask = torch.zeros(B, T, dtype=torch.int64)
    labels = torch.full((B, Tt), -100, dtype=torch.int64)
    for b, (n, m) in enumerate(zip(INPUT_LENGTHS, TARGET_LENGTHS)):
        input_ids[b, : n - 1] = torch.randint(3, vocab, (n - 1,), generator=g)  # ordinary tokens: not pad/eos/unk
        input_ids[b, n - 1] = 1
        attention_mask[b, :n] = 1
        labels[b, : m - 1] = torch.randint(3, vocab, (m - 1,), generator=g)
        labels[b, m - 1] = 1
    prompt = torch.randn(PROMPT_LEN, d, generator=g) * PROMPT_STD
    for b, p in enumerate(INFIX_POSITIONS):
        assert 0 < p < INPUT_LENGTHS[b], "infix positions must fall inside the real tokens"
    return input_ids, attention_mask, labels, prompt


def insert_prompt(embeds, attention_mask, prompt, positions):
    """[B,T,d] token embeddings -> [B,T+L,d]: tokens[0:p] ++ prompt ++ tokens[p:T] per example; mask likewise."""
    rows, masks = [], []
    ones = torch.ones(prompt.shape[0], dtype=attention_mask.dtype)
    for b, p in enumerate(positions.tolist()):
        rows.append(torch.cat([embeds[b, :p], prompt, embeds[b, p:]], dim=0))
        masks.append(torch.cat([attention_mask[b, :p], ones, attention_mask[b, p:]], dim=0))
    return torch.stack(rows), torch.stack(masks)


def true_f64_layer_norm(self, hidden_states):
    """T5LayerNorm.forward without its float32 variance (modeling_t5.py:66): for the float64 noise-floor run."""
    variance = hidden_states.pow(2).mean(-1, keepdim=True)
    return self.weight * (hidden_states * torch.rsqrt(variance + self.variance_epsilon))


def run_hf(model, dtype, input_ids, attention_mask, labels, prompt_values, positions, pure_f64=False):
    """HF forward + backward with the prompt inserted. pure_f64 swaps in true_f64_layer_norm for the call."""
    if pure_f64:
        saved = modeling_t5.T5LayerNorm.forward
        modeling_t5.T5LayerNorm.forward = true_f64_layer_norm
        try:
            return run_hf(model, dtype, input_ids, attention_mask, labels, prompt_values, positions)
        finally:
            modeling_t5.T5LayerNorm.forward = saved
    model = copy.deepcopy(model).to(dtype)
    model.eval()
    prompt = prompt_values.to(dtype).clone().requires_grad_(True)  # the only leaf that needs a gradient
    embeds = model.get_input_embeddings()(input_ids)  # T5 does not scale input embeddings
    inputs_embeds, enc_mask = insert_prompt(embeds, attention_mask, prompt, positions)
    out = model(inputs_embeds=inputs_embeds, attention_mask=enc_mask, labels=labels)
    out.loss.backward()
    return {
        "encoder_output": out.encoder_last_hidden_state.detach(),
        "logits": out.logits.detach(),
        "loss": out.loss.detach(),
        "prompt_grad": prompt.grad.detach(),
    }, enc_mask


# ---------------------------------------------------------------- independent re-implementation (float64)
def relative_bucket(rel, bidirectional, num_buckets, max_distance):
    """Same arithmetic as HF (float32 log, truncation toward zero) — see README item 4."""
    buckets = torch.zeros_like(rel)
    if bidirectional:
        num_buckets //= 2
        buckets += (rel > 0).long() * num_buckets
        n = rel.abs()
    else:
        n = (-rel).clamp(min=0)
    max_exact = num_buckets // 2
    large = max_exact + (torch.log(n.float() / max_exact) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).long()
    large = large.clamp(max=num_buckets - 1)
    return buckets + torch.where(n < max_exact, n, large)


def reference_t5(sd, cfg, inputs_embeds, enc_mask, labels):
    """T5 from the README checklist, on a float64 state dict. Returns encoder output, logits, loss."""
    H, dk, eps = cfg.num_heads, cfg.d_kv, cfg.layer_norm_epsilon
    neg = torch.finfo(inputs_embeds.dtype).min

    def rms(x, w):  # variance in float32, as HF does even for float64 inputs
        return w * (x * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + eps))

    def attn(x, kv, pre, bias, mask):
        B, Tq, _ = x.shape
        q = (x @ sd[pre + "q.weight"].T).view(B, Tq, H, dk).transpose(1, 2)
        k = (kv @ sd[pre + "k.weight"].T).view(B, -1, H, dk).transpose(1, 2)
        v = (kv @ sd[pre + "v.weight"].T).view(B, -1, H, dk).transpose(1, 2)
        s = q @ k.transpose(-1, -2) + bias  # no 1/sqrt(d_kv)
        s = s.masked_fill(~mask, neg)
        o = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, Tq, H * dk)
        return o @ sd[pre + "o.weight"].T

    def ffn(x, pre):
        if cfg.is_gated_act:
            a = x @ sd[pre + "wi_0.weight"].T
            gelu = 0.5 * a * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (a + 0.044715 * a.pow(3))))
            h = gelu * (x @ sd[pre + "wi_1.weight"].T)
        else:
            h = torch.relu(x @ sd[pre + "wi.weight"].T)
        return h @ sd[pre + "wo.weight"].T

    def bias_for(stack, Tq, Tk, bidirectional):
        rel = torch.arange(Tk)[None, :] - torch.arange(Tq)[:, None]  # memory - query
        bk = relative_bucket(rel, bidirectional, cfg.relative_attention_num_buckets,
                             cfg.relative_attention_max_distance)
        table = sd[f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]  # [buckets, H]
        return table[bk].permute(2, 0, 1).unsqueeze(0)  # [1, H, Tq, Tk]

    # Encoder: one bias (from layer 0) shared by every layer; mask hides padded keys only.
    x = inputs_embeds
    S = x.shape[1]
    enc_bias = bias_for("encoder", S, S, True)
    key_mask = enc_mask.bool()[:, None, None, :]
    for i in range(cfg.num_layers):
        p = f"encoder.block.{i}.layer."
        x = x + attn(rms(x, sd[p + "0.layer_norm.weight"]), rms(x, sd[p + "0.layer_norm.weight"]),
                     p + "0.SelfAttention.", enc_bias, key_mask)
        x = x + ffn(rms(x, sd[p + "1.layer_norm.weight"]), p + "1.DenseReluDense.")
    enc = rms(x, sd["encoder.final_layer_norm.weight"])

    # Decoder input: labels shifted right, decoder_start_token_id first, -100 -> pad. Causal mask only.
    dec_ids = torch.cat([torch.full_like(labels[:, :1], cfg.decoder_start_token_id), labels[:, :-1]], 1)
    dec_ids = dec_ids.masked_fill(dec_ids == -100, cfg.pad_token_id)
    y = sd["shared.weight"][dec_ids]
    Tt = y.shape[1]
    dec_bias = bias_for("decoder", Tt, Tt, False)
    causal = torch.tril(torch.ones(Tt, Tt, dtype=torch.bool))[None, None]
    for i in range(cfg.num_decoder_layers):
        p = f"decoder.block.{i}.layer."
        h = rms(y, sd[p + "0.layer_norm.weight"])
        y = y + attn(h, h, p + "0.SelfAttention.", dec_bias, causal)
        h = rms(y, sd[p + "1.layer_norm.weight"])
        y = y + attn(h, enc, p + "1.EncDecAttention.", 0.0, key_mask)  # cross-attention: no position bias
        y = y + ffn(rms(y, sd[p + "2.layer_norm.weight"]), p + "2.DenseReluDense.")
    y = rms(y, sd["decoder.final_layer_norm.weight"])
    if cfg.scale_decoder_outputs:
        y = y * cfg.d_model**-0.5
    logits = y @ sd["lm_head.weight"].T
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                                             ignore_index=-100)
    return enc, logits, loss


ST_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}


def save_file(tensors, path, metadata):
    """safetensors writer with sorted header keys: safetensors' own save_file orders __metadata__ at random,
    which would make every regeneration a spurious diff. Same format (8-byte little-endian header length,
    JSON header padded with spaces to 8 bytes, raw little-endian data); read back with safe_open to check."""
    header, blobs, offset = {"__metadata__": dict(sorted(metadata.items()))}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        data = t.numpy().tobytes()
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    with safe_open(path, "pt") as f:
        assert f.metadata() == metadata
        for name, t in tensors.items():
            assert torch.equal(f.get_tensor(name), t), f"{path}: {name} did not read back"


def max_abs(a, b):
    return (a.double() - b.double()).abs().max().item()


def main():
    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()  # v1_1 reload warns that lm_head and shared differ: intended
    torch.use_deterministic_algorithms(True)
    print(f"transformers {transformers.__version__}, torch {torch.__version__}")
    only = None
    if len(sys.argv) == 3 and sys.argv[1] == "--only":
        only = set(sys.argv[2].split(","))
        assert only <= {"mixed", "deep"}, f"--only takes mixed and/or deep, not {only}"
    if only:
        for variant in VARIANTS:
            write_prompt_set_goldens(variant, only)
        return

    input_ids, attention_mask, labels, prompt = make_batch()
    B = input_ids.shape[0]
    placements = {"prefix": torch.zeros(B, dtype=torch.int64),
                  "infix": torch.tensor(INFIX_POSITIONS, dtype=torch.int64)}
    for variant in VARIANTS:
        model = build_and_save(variant)
        sd64 = {k: v.double() for k, v in model.state_dict().items()}
        if "lm_head.weight" not in sd64:
            sd64["lm_head.weight"] = sd64["shared.weight"]
        for placement, positions in placements.items():
            r32, enc_mask = run_hf(model, torch.float32, input_ids, attention_mask, labels, prompt, positions)
            # HF as it is in float64 (its layer norm still takes the variance in float32): checks reference_t5.
            r64_hf, _ = run_hf(model, torch.float64, input_ids, attention_mask, labels, prompt, positions)
            # Float64 throughout: the noise floor of the float32 goldens.
            r64, _ = run_hf(model, torch.float64, input_ids, attention_mask, labels, prompt, positions, pure_f64=True)
            sdpa = T5ForConditionalGeneration.from_pretrained(OUT / variant, attn_implementation="sdpa")
            rs, _ = run_hf(sdpa, torch.float32, input_ids, attention_mask, labels, prompt, positions)

            # The checklist re-implementation must reproduce HF (float64, same embeddings and prompt).
            emb = sd64["shared.weight"][input_ids]
            x, m = insert_prompt(emb, attention_mask, prompt.double(), positions)
            enc, logits, loss = reference_t5(sd64, model.config, x, m, labels)
            ref_err = max(max_abs(enc, r64_hf["encoder_output"]), max_abs(logits, r64_hf["logits"]),
                          max_abs(loss, r64_hf["loss"]))
            assert ref_err < 1e-9, f"{variant}/{placement}: checklist re-implementation differs by {ref_err}"

            meta = {
                "variant": variant, "placement": placement,
                "transformers": transformers.__version__, "torch": torch.__version__.split("+")[0],
                "attn_implementation": "eager", "model_seed": str(SEEDS[variant]), "data_seed": str(DATA_SEED),
                "loss_f32": repr(r32["loss"].item()), "loss_f64": repr(r64["loss"].item()),
                "prompt_grad_norm": repr(r32["prompt_grad"].norm().item()),
                "checklist_reimplementation_max_abs_diff_f64": f"{ref_err:.3e}",
            }
            print(f"{variant}/{placement}: loss f32 {r32['loss'].item():.7f} f64 {r64['loss'].item():.7f}  "
                  f"|prompt_grad| {r32['prompt_grad'].norm().item():.4f}  "
                  f"max|logit| {r32['logits'].abs().max().item():.2f}  re-impl err {ref_err:.1e}")
            for name in r32:
                d = max_abs(r32[name], r64[name])
                scale = r64[name].abs().max().item()
                meta[f"f32_vs_f64_max_abs_{name}"] = f"{d:.3e}"
                meta[f"f32_vs_f64_max_rel_{name}"] = f"{d / scale:.3e}"
                meta[f"sdpa_vs_eager_f32_max_abs_{name}"] = f"{max_abs(rs[name], r32[name]):.3e}"
                print(f"    {name:15s} f32-f64 max abs {d:.3e} (max |x| {scale:.3e}, rel {d / scale:.1e});"
                      f" sdpa-eager f32 {max_abs(rs[name], r32[name]):.1e}")
            tensors = {
                "input_ids": input_ids, "attention_mask": attention_mask, "labels": labels,
                "prompt": prompt.float(), "positions": positions, "encoder_attention_mask": enc_mask,
                "encoder_output": r32["encoder_output"].float(), "logits": r32["logits"].float(),
                "loss": r32["loss"].float().reshape(()), "prompt_grad": r32["prompt_grad"].float(),
            }
            save_file(tensors, str(OUT / variant / f"golden_{placement}.safetensors"), meta)
        write_prompt_set_goldens(variant, {"mixed", "deep"})

    write_bucket_table()
    print(subprocess.run(["du", "-ab", str(OUT)], capture_output=True, text=True).stdout)
    total = int(subprocess.run(["du", "-sb", str(OUT)], capture_output=True, text=True).stdout.split()[0])
    assert total < 2_000_000, f"goldens take {total} bytes, over the 2 MB budget"


# ---------------------------------------------------------------- prompt sets: mixed-task and deep
MIXED_INPUT_LENGTHS = [7, 5, 9, 4, 8]
MIXED_TARGET_LENGTHS = [4, 2, 3, 1, 3]
MIXED_PROMPT_LENGTHS = [5, 2, 7]
MIXED_EXAMPLE_PROMPT = [0, 2, 1, 0, 2]
MIXED_POSITIONS = [0, 1, 3, 0, 2]  # a prefix for some examples, an infix for others
MIXED_SEED = 17
DEEP_SEED = 19


def make_mixed_batch():
    g = torch.Generator().manual_seed(MIXED_SEED)
    B, T, Tt = len(MIXED_INPUT_LENGTHS), max(MIXED_INPUT_LENGTHS), max(MIXED_TARGET_LENGTHS)
    vocab, d = BASE_CONFIG["vocab_size"], BASE_CONFIG["d_model"]
    input_ids = torch.zeros(B, T, dtype=torch.int64)
    attention_mask = torch.zeros(B, T, dtype=torch.int64)
    labels = torch.full((B, Tt), -100, dtype=torch.int64)
    for b, (n, m) in enumerate(zip(MIXED_INPUT_LENGTHS, MIXED_TARGET_LENGTHS)):
        input_ids[b, : n - 1] = torch.randint(3, vocab, (n - 1,), generator=g)
        input_ids[b, n - 1] = 1
        attention_mask[b, :n] = 1
        labels[b, : m - 1] = torch.randint(3, vocab, (m - 1,), generator=g)
        labels[b, m - 1] = 1
    prompts = [torch.randn(L, d, generator=g) * PROMPT_STD for L in MIXED_PROMPT_LENGTHS]
    for b, p in enumerate(MIXED_POSITIONS):
        assert 0 <= p <= MIXED_INPUT_LENGTHS[b]
    return input_ids, attention_mask, labels, prompts


def insert_prompts(embeds, attention_mask, prompts, example_prompt, positions):
    """spot's layout (kernels/embedding.h): tokens[0:p] ++ prompt_k ++ tokens[p:T] ++ zero rows to T + Lmax,
    mask 1 on the real tokens and the prompt rows. The real rows sit where an unpadded sequence has them."""
    B, T, d = embeds.shape
    lmax = max(prompts[k].shape[0] for k in example_prompt)
    rows, masks = [], []
    for b in range(B):
        pr, p = prompts[example_prompt[b]], positions[b]
        L = pr.shape[0]
        pad = torch.zeros(lmax - L, d, dtype=embeds.dtype)
        rows.append(torch.cat([embeds[b, :p], pr, embeds[b, p:], pad], dim=0))
        masks.append(torch.cat([attention_mask[b, :p], torch.ones(L, dtype=attention_mask.dtype), attention_mask[b, p:],
                                torch.zeros(lmax - L, dtype=attention_mask.dtype)]))
    return torch.stack(rows), torch.stack(masks)


def run_hf_mixed(model, dtype, input_ids, attention_mask, labels, prompts, pure_f64=False):
    if pure_f64:
        saved = modeling_t5.T5LayerNorm.forward
        modeling_t5.T5LayerNorm.forward = true_f64_layer_norm
        try:
            return run_hf_mixed(model, dtype, input_ids, attention_mask, labels, prompts)
        finally:
            modeling_t5.T5LayerNorm.forward = saved
    model = copy.deepcopy(model).to(dtype)
    model.eval()
    leaves = [p.to(dtype).clone().requires_grad_(True) for p in prompts]
    embeds = model.get_input_embeddings()(input_ids)
    inputs_embeds, enc_mask = insert_prompts(embeds, attention_mask, leaves, MIXED_EXAMPLE_PROMPT, MIXED_POSITIONS)
    out = model(inputs_embeds=inputs_embeds, attention_mask=enc_mask, labels=labels)
    out.loss.backward()
    res = {"encoder_output": out.encoder_last_hidden_state.detach(), "logits": out.logits.detach(),
           "loss": out.loss.detach()}
    for k, leaf in enumerate(leaves):
        res[f"prompt_grad_{k}"] = leaf.grad.detach()
    return res, enc_mask


def run_hf_deep(model, dtype, input_ids, attention_mask, labels, prompt, positions, pure_f64=False):
    """prompt [num_layers, L, d]: block 0 inserted with the embeddings; a forward pre-hook on encoder block l >= 1
    writes block l over the prompt rows of its input hidden states."""
    if pure_f64:
        saved = modeling_t5.T5LayerNorm.forward
        modeling_t5.T5LayerNorm.forward = true_f64_layer_norm
        try:
            return run_hf_deep(model, dtype, input_ids, attention_mask, labels, prompt, positions)
        finally:
            modeling_t5.T5LayerNorm.forward = saved
    model = copy.deepcopy(model).to(dtype)
    model.eval()
    leaf = prompt.to(dtype).clone().requires_grad_(True)
    L = leaf.shape[1]

    def overwrite(block):
        def hook(module, args):
            h = args[0]
            rows = [torch.cat([h[b, :p], leaf[block], h[b, p + L:]], dim=0) for b, p in enumerate(positions.tolist())]
            return (torch.stack(rows),) + tuple(args[1:])
        return hook

    handles = [model.encoder.block[l].register_forward_pre_hook(overwrite(l)) for l in range(1, leaf.shape[0])]
    try:
        embeds = model.get_input_embeddings()(input_ids)
        inputs_embeds, enc_mask = insert_prompt(embeds, attention_mask, leaf[0], positions)
        out = model(inputs_embeds=inputs_embeds, attention_mask=enc_mask, labels=labels)
        out.loss.backward()
    finally:
        for h in handles:
            h.remove()
    return {"encoder_output": out.encoder_last_hidden_state.detach(), "logits": out.logits.detach(),
            "loss": out.loss.detach(), "prompt_grad": leaf.grad.detach()}, enc_mask


def noise_meta(r32, r64):
    meta = {}
    for name in r32:
        d = max_abs(r32[name], r64[name])
        scale = r64[name].abs().max().item()
        meta[f"f32_vs_f64_max_abs_{name}"] = f"{d:.3e}"
        meta[f"f32_vs_f64_max_rel_{name}"] = f"{d / scale:.3e}"
        print(f"    {name:15s} f32-f64 max abs {d:.3e} (max |x| {scale:.3e}, rel {d / scale:.1e})")
    return meta


def write_prompt_set_goldens(variant, which):
    model = T5ForConditionalGeneration.from_pretrained(OUT / variant, attn_implementation="eager", dtype=torch.float32)
    model.eval()
    base = {"variant": variant, "transformers": transformers.__version__, "torch": torch.__version__.split("+")[0],
            "attn_implementation": "eager", "model_seed": str(SEEDS[variant])}
    if "mixed" in which:
        input_ids, attention_mask, labels, prompts = make_mixed_batch()
        r32, enc_mask = run_hf_mixed(model, torch.float32, input_ids, attention_mask, labels, prompts)
        r64, _ = run_hf_mixed(model, torch.float64, input_ids, attention_mask, labels, prompts, pure_f64=True)
        print(f"{variant}/mixed: loss f32 {r32['loss'].item():.7f}  |grads| "
              + " ".join(f"{r32[f'prompt_grad_{k}'].norm().item():.4f}" for k in range(len(prompts))))
        meta = dict(base, placement="mixed", data_seed=str(MIXED_SEED), loss_f32=repr(r32["loss"].item()),
                    loss_f64=repr(r64["loss"].item()), **noise_meta(r32, r64))
        tensors = {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels,
                   "example_prompt": torch.tensor(MIXED_EXAMPLE_PROMPT, dtype=torch.int64),
                   "positions": torch.tensor(MIXED_POSITIONS, dtype=torch.int64), "encoder_attention_mask": enc_mask,
                   "encoder_output": r32["encoder_output"].float(), "logits": r32["logits"].float(),
                   "loss": r32["loss"].float().reshape(())}
        for k, pr in enumerate(prompts):
            tensors[f"prompt_{k}"] = pr.float()
            tensors[f"prompt_grad_{k}"] = r32[f"prompt_grad_{k}"].float()
        save_file(tensors, str(OUT / variant / "golden_mixed.safetensors"), meta)
    if "deep" in which:
        input_ids, attention_mask, labels, _ = make_batch()
        g = torch.Generator().manual_seed(DEEP_SEED)
        prompt = torch.randn(BASE_CONFIG["num_layers"], PROMPT_LEN, BASE_CONFIG["d_model"], generator=g) * PROMPT_STD
        positions = torch.tensor(INFIX_POSITIONS, dtype=torch.int64)
        r32, enc_mask = run_hf_deep(model, torch.float32, input_ids, attention_mask, labels, prompt, positions)
        r64, _ = run_hf_deep(model, torch.float64, input_ids, attention_mask, labels, prompt, positions, pure_f64=True)
        # Every block must matter, or the check of its gradient would test nothing.
        for l in range(prompt.shape[0]):
            assert r32["prompt_grad"][l].abs().max() > 1e-3, f"deep block {l} has no gradient"
        print(f"{variant}/deep: loss f32 {r32['loss'].item():.7f}  |grad| per block "
              + " ".join(f"{r32['prompt_grad'][l].norm().item():.4f}" for l in range(prompt.shape[0])))
        meta = dict(base, placement="deep", data_seed=str(DATA_SEED), deep_seed=str(DEEP_SEED),
                    loss_f32=repr(r32["loss"].item()), loss_f64=repr(r64["loss"].item()), **noise_meta(r32, r64))
        tensors = {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels, "prompt": prompt.float(),
                   "positions": positions, "encoder_attention_mask": enc_mask,
                   "encoder_output": r32["encoder_output"].float(), "logits": r32["logits"].float(),
                   "loss": r32["loss"].float().reshape(()), "prompt_grad": r32["prompt_grad"].float()}
        save_file(tensors, str(OUT / variant / "golden_deep.safetensors"), meta)


def write_bucket_table():
    """HF's bucket for relative positions -300..300 (memory - query), computed by HF's own static method."""
    from transformers.models.t5.modeling_t5 import T5Attention
    rel = torch.arange(-300, 301, dtype=torch.int64)
    tensors = {"relative_position": rel}
    for nb, md in [(8, 20), (32, 128)]:
        for bidir in (True, False):
            hf = T5Attention._relative_position_bucket(rel, bidirectional=bidir, num_buckets=nb, max_distance=md)
            assert torch.equal(hf, relative_bucket(rel, bidir, nb, md))
            # Where float64 arithmetic would pick another bucket than HF's float32 log, C++ must copy float32.
            def exact(r):
                half = nb // 2 if bidir else nb
                n = abs(r) if bidir else max(-r, 0)
                me = half // 2
                b = n if n < me else min(half - 1, me + int(math.log(n / me) / math.log(md / me) * (half - me)))
                return b + (half if bidir and r > 0 else 0)
            diff = [r for r, h in zip(rel.tolist(), hf.tolist()) if exact(r) != h]
            note = f"; float64 log would differ at rel {diff}" if diff else "; float64 log gives the same buckets"
            print(f"buckets {'bi ' if bidir else 'uni'} {nb}/{md}: max bucket {hf.max().item()}{note}")
            tensors[f"{'bidirectional' if bidir else 'unidirectional'}_{nb}_{md}"] = hf
    save_file(tensors, str(OUT / "relative_buckets.safetensors"),
              {"transformers": transformers.__version__,
               "note": "bucket[i] for relative_position[i] = memory_position - query_position"})


if __name__ == "__main__":
    sys.exit(main())
