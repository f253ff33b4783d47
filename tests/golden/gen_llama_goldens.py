#!/usr/bin/env python3
"""gen_llama_goldens.py — golden files for the frozen Llama backbone (model/llama/), written by HF
transformers' LlamaForCausalLM (float32, eval mode, eager attention).

Writes under tests/golden/llama/tiny/:
  config.json, model.safetensors   a tiny random Llama checkpoint: odd sizes, GQA (6 query heads on
                                   2 KV heads, head_dim 10 != hidden/heads), rope_theta 1e5, tied
                                   embeddings, random RMSNorm weights; weights scaled so activations
                                   are O(1) and the prompt gradient is far from zero.
  golden_<case>.safetensors        inputs and HF outputs of one batch:
    prompt [L, d] f32 ~ N(0, 0.5²) (absent when L = 0), input_ids [B, Tin] i32 and target_ids [B, Tt] i32
    (right-padded with -1), input_lens [B] / target_lens [B] i32,
    logits [B, Tt, V] f32: the logits that predict each target token (zero rows past target_lens),
    loss [1] f32: mean -log p over all target tokens of the batch (HF's shifted CrossEntropyLoss),
    example_logprob [B] f32: sum of log p(target) per example,
    prompt_grad [L, d] f32: d loss / d prompt (when L > 0).
  noise_floor.json                 |f32 - f64| of the same HF computation (the model and inputs in
                                   float64): the precision the C++ comparison cannot beat.

The sequence HF sees is inputs_embeds = cat(prompt, embed(input ++ target)), positions 0.. over the
whole sequence including the prompt, labels = -100 except at the target tokens.

Prompt sets (model/prompt_set.h), on the same checkpoint:
  golden_mixed.safetensors   a mixed-task batch: prompts prompt_0..2 of lengths 5, 2, 7 over five
                             examples, example_prompt [B] i32; prompt_grad_0..2 (each prompt's
                             gradient, summed over the examples that use it).
  golden_deep.safetensors    a deep prompt [3 layers, 5, d]: block 0 prepended, block l written over
                             rows 0..L-1 at the input of decoder layer l by a forward pre-hook.

Run from the repository root:  python3 tests/golden/gen_llama_goldens.py
(`--only mixed,deep` writes just those two from the committed checkpoint, leaving the rest as it is.)
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "llama", "tiny")

CASES = {
    # name: (prompt length, input lengths, target lengths, seed)
    "prompt": (5, [4, 7, 2], [3, 1, 5], 11),
    "noprompt": (0, [6, 3], [2, 4], 12),
    # RoPE at positions up to ~150 (still below max_position_embeddings).
    "long": (7, [120, 96], [4, 9], 13),
}


def make_model():
    cfg = LlamaConfig(
        vocab_size=311, hidden_size=60, intermediate_size=84, num_hidden_layers=3, num_attention_heads=6,
        num_key_value_heads=2, head_dim=10, rms_norm_eps=1e-5, rope_theta=100000.0, tie_word_embeddings=True,
        max_position_embeddings=256, bos_token_id=1, eos_token_id=2, attn_implementation="eager")
    torch.manual_seed(1234)
    model = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.uniform_(0.6, 1.4)  # random norm weights: a transposed or missing scale shows up
            elif "embed_tokens" in name:
                # Tied: the LM head's logits are normed-hidden · embedding, std ≈ 0.3·√60 ≈ 2.3, so
                # the softmax is neither flat nor saturated.
                p.normal_(0.0, 0.3)
            else:
                # 1/sqrt(fan_in) keeps every projection O(1); 0.8 tames residual growth over 3 layers.
                p.normal_(0.0, 0.8 / p.shape[1] ** 0.5)
    return model


def run_case(model, L, in_lens, tgt_lens, seed, dtype):
    g = torch.Generator().manual_seed(seed)
    V, d = model.config.vocab_size, model.config.hidden_size
    B = len(in_lens)
    prompt = 0.5 * torch.randn(L, d, generator=g)
    inputs = [torch.randint(0, V, (n,), generator=g) for n in in_lens]
    targets = [torch.randint(0, V, (m,), generator=g) for m in tgt_lens]
    S = L + max(n + m for n, m in zip(in_lens, tgt_lens))
    ids = torch.zeros(B, S - L, dtype=torch.long)
    labels = torch.full((B, S), -100, dtype=torch.long)
    mask = torch.zeros(B, S, dtype=torch.long)
    for b in range(B):
        n, m = in_lens[b], tgt_lens[b]
        ids[b, :n + m] = torch.cat([inputs[b], targets[b]])
        labels[b, L + n:L + n + m] = targets[b]
        mask[b, :L + n + m] = 1
    m = model.to(dtype)
    p = prompt.to(dtype).requires_grad_(L > 0)
    emb = m.model.embed_tokens(ids)
    embeds = torch.cat([p.unsqueeze(0).expand(B, L, d), emb], dim=1)
    out = m(inputs_embeds=embeds, attention_mask=mask, labels=labels)
    # HF's loss casts the logits to float32 even for a float64 model; the same mean computed in the
    # model's dtype keeps the float64 run free of float32 rounding (the noise-floor reference).
    shift_logp = torch.log_softmax(out.logits[:, :-1], dim=-1)
    shift_labels = labels[:, 1:]
    valid = shift_labels != -100
    loss = -shift_logp[valid].gather(-1, shift_labels[valid].unsqueeze(-1)).mean()
    assert abs(loss.item() - out.loss.item()) <= 1e-5 * max(1.0, abs(loss.item())), (loss.item(), out.loss.item())
    if L > 0:
        loss.backward()
    Tt = max(tgt_lens)
    logits = torch.zeros(B, Tt, V, dtype=dtype)
    logprob = torch.zeros(B, dtype=dtype)
    with torch.no_grad():
        ls = torch.log_softmax(out.logits, dim=-1)
        for b in range(B):
            n = in_lens[b]
            for t in range(tgt_lens[b]):
                pos = L + n + t - 1  # the position whose output predicts target t
                logits[b, t] = out.logits[b, pos]
                logprob[b] += ls[b, pos, targets[b][t]]

    def padded(seqs, width):
        t = torch.full((B, width), -1, dtype=torch.int32)
        for b, s in enumerate(seqs):
            t[b, :len(s)] = s.to(torch.int32)
        return t

    res = {
        "input_ids": padded(inputs, max(in_lens)),
        "target_ids": padded(targets, Tt),
        "input_lens": torch.tensor(in_lens, dtype=torch.int32),
        "target_lens": torch.tensor(tgt_lens, dtype=torch.int32),
        "logits": logits.detach(),
        "loss": loss.detach().reshape(1),
        "example_logprob": logprob,
    }
    if L > 0:
        res["prompt"] = prompt
        res["prompt_grad"] = p.grad.detach()
    return res


MIXED = dict(prompt_lens=[5, 2, 7], example_prompt=[0, 2, 1, 0, 2], in_lens=[4, 7, 2, 5, 3],
             tgt_lens=[3, 1, 5, 2, 4], seed=21)
DEEP = dict(L=5, in_lens=[4, 7, 2], tgt_lens=[3, 1, 5], seed=23)


def run_set(model, prompts, example_prompt, in_lens, tgt_lens, seed, dtype, deep=False):
    """prompts: list of [L_k, d] (or one [layers, L, d] when deep); example b uses prompts[example_prompt[b]].
    Sequence b: cat(its prompt (block 0), embed(input ++ target)), right padded; at depth deep a forward
    pre-hook on layer l >= 1 writes block l over rows 0..L-1."""
    g = torch.Generator().manual_seed(seed)
    V, d = model.config.vocab_size, model.config.hidden_size
    B = len(in_lens)
    inputs = [torch.randint(0, V, (n,), generator=g) for n in in_lens]
    targets = [torch.randint(0, V, (m,), generator=g) for m in tgt_lens]
    m = model.to(dtype)
    leaves = [p.to(dtype).clone().requires_grad_(True) for p in prompts]
    first = [(lf[0] if deep else lf) for lf in leaves]
    lens = [first[example_prompt[b]].shape[0] for b in range(B)]
    S = max(lens[b] + in_lens[b] + tgt_lens[b] for b in range(B))
    rows, labels, mask = [], torch.full((B, S), -100, dtype=torch.long), torch.zeros(B, S, dtype=torch.long)
    for b in range(B):
        L, n, t = lens[b], in_lens[b], tgt_lens[b]
        tok = m.model.embed_tokens(torch.cat([inputs[b], targets[b]]))
        pad = torch.zeros(S - L - n - t, d, dtype=dtype)
        rows.append(torch.cat([first[example_prompt[b]], tok, pad]))
        labels[b, L + n:L + n + t] = targets[b]
        mask[b, :L + n + t] = 1
    embeds = torch.stack(rows)
    handles = []
    if deep:
        L = leaves[0].shape[1]

        def overwrite(layer):
            def hook(module, args, kwargs):
                h = args[0]
                h = torch.cat([leaves[0][layer].unsqueeze(0).expand(B, L, d), h[:, L:]], dim=1)
                return (h,) + tuple(args[1:]), kwargs
            return hook

        handles = [m.model.layers[l].register_forward_pre_hook(overwrite(l), with_kwargs=True)
                   for l in range(1, leaves[0].shape[0])]
    try:
        out = m(inputs_embeds=embeds, attention_mask=mask, labels=labels)
    finally:
        for h in handles:
            h.remove()
    shift_logp = torch.log_softmax(out.logits[:, :-1], dim=-1)
    shift_labels = labels[:, 1:]
    valid = shift_labels != -100
    loss = -shift_logp[valid].gather(-1, shift_labels[valid].unsqueeze(-1)).mean()
    assert abs(loss.item() - out.loss.item()) <= 1e-5 * max(1.0, abs(loss.item())), (loss.item(), out.loss.item())
    loss.backward()
    Tt = max(tgt_lens)
    logits = torch.zeros(B, Tt, V, dtype=dtype)
    logprob = torch.zeros(B, dtype=dtype)
    with torch.no_grad():
        ls = torch.log_softmax(out.logits, dim=-1)
        for b in range(B):
            for t in range(tgt_lens[b]):
                pos = lens[b] + in_lens[b] + t - 1
                logits[b, t] = out.logits[b, pos]
                logprob[b] += ls[b, pos, targets[b][t]]

    def padded(seqs, width):
        t = torch.full((B, width), -1, dtype=torch.int32)
        for b, sq in enumerate(seqs):
            t[b, :len(sq)] = sq.to(torch.int32)
        return t

    res = {"input_ids": padded(inputs, max(in_lens)), "target_ids": padded(targets, Tt),
           "input_lens": torch.tensor(in_lens, dtype=torch.int32), "target_lens": torch.tensor(tgt_lens, dtype=torch.int32),
           "logits": logits.detach(), "loss": loss.detach().reshape(1), "example_logprob": logprob}
    if deep:
        res["prompt"] = prompts[0]
        res["prompt_grad"] = leaves[0].grad.detach()
    else:
        res["example_prompt"] = torch.tensor(example_prompt, dtype=torch.int32)
        for k, (p, lf) in enumerate(zip(prompts, leaves)):
            res[f"prompt_{k}"] = p
            res[f"prompt_grad_{k}"] = lf.grad.detach()
    return res


def write_prompt_set_goldens(model, which, floor):
    d, layers = model.config.hidden_size, model.config.num_hidden_layers
    for name in sorted(which):
        if name == "mixed":
            g = torch.Generator().manual_seed(MIXED["seed"] + 1000)
            prompts = [0.5 * torch.randn(L, d, generator=g) for L in MIXED["prompt_lens"]]
            args = (MIXED["example_prompt"], MIXED["in_lens"], MIXED["tgt_lens"], MIXED["seed"])
            deep = False
        else:
            g = torch.Generator().manual_seed(DEEP["seed"] + 1000)
            prompts = [0.5 * torch.randn(layers, DEEP["L"], d, generator=g)]
            args = ([0] * len(DEEP["in_lens"]), DEEP["in_lens"], DEEP["tgt_lens"], DEEP["seed"])
            deep = True
        r32 = run_set(model, prompts, *args, torch.float32, deep=deep)
        r64 = run_set(model, [p.double() for p in prompts], *args, torch.float64, deep=deep)
        model.to(torch.float32)
        f = {"logits_max_abs": float((r32["logits"].double() - r64["logits"]).abs().max()),
             "logits_max_abs_value": float(r64["logits"].abs().max()),
             "loss_abs": float((r32["loss"].double() - r64["loss"]).abs().max()), "loss": float(r64["loss"][0]),
             "example_logprob_max_abs": float((r32["example_logprob"].double() - r64["example_logprob"]).abs().max())}
        for k in [k for k in r32 if k.startswith("prompt_grad")]:
            g32, g64 = r32[k].double(), r64[k]
            f[f"{k}_rel_l2"] = float((g32 - g64).norm() / g64.norm())
            f[f"{k}_max_abs"] = float(g64.abs().max())
        if deep:
            for l in range(layers):
                assert r32["prompt_grad"][l].abs().max() > 1e-3, f"deep block {l} has no gradient"
        floor[name] = f
        tensors = {k: v.float().contiguous() if v.dtype == torch.float64 else v.contiguous() for k, v in r32.items()}
        save_file(tensors, os.path.join(OUT, f"golden_{name}.safetensors"),
                  metadata={"generator": "tests/golden/gen_llama_goldens.py", "dtype": "float32",
                            "depth": "deep" if deep else "input"})
        print(name, json.dumps(f))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--only":
        which = set(sys.argv[2].split(","))
        assert which <= {"mixed", "deep"}, which
        model = LlamaForCausalLM.from_pretrained(OUT, attn_implementation="eager", dtype=torch.float32).eval()
        with open(os.path.join(OUT, "noise_floor.json")) as fh:
            floor = json.load(fh)
        write_prompt_set_goldens(model, which, floor)
        with open(os.path.join(OUT, "noise_floor.json"), "w") as fh:
            json.dump(floor, fh, indent=2)
            fh.write("\n")
        return
    os.makedirs(OUT, exist_ok=True)
    model = make_model()
    model.save_pretrained(OUT, safe_serialization=True)
    for extra in ("generation_config.json",):
        if os.path.exists(os.path.join(OUT, extra)):
            os.remove(os.path.join(OUT, extra))
    floor = {}
    for name, (L, in_lens, tgt_lens, seed) in CASES.items():
        r32 = run_case(model, L, in_lens, tgt_lens, seed, torch.float32)
        r64 = run_case(model, L, in_lens, tgt_lens, seed, torch.float64)
        model.to(torch.float32)
        f = {
            "logits_max_abs": float((r32["logits"].double() - r64["logits"]).abs().max()),
            "logits_max_abs_value": float(r64["logits"].abs().max()),
            "loss_abs": float((r32["loss"].double() - r64["loss"]).abs().max()),
            "loss": float(r64["loss"][0]),
            "example_logprob_max_abs": float((r32["example_logprob"].double() - r64["example_logprob"]).abs().max()),
        }
        if L > 0:
            g32, g64 = r32["prompt_grad"].double(), r64["prompt_grad"]
            f["prompt_grad_rel_l2"] = float((g32 - g64).norm() / g64.norm())
            f["prompt_grad_max_abs"] = float(g64.abs().max())
        floor[name] = f
        tensors = {k: v.contiguous() for k, v in r32.items()}
        save_file(tensors, os.path.join(OUT, f"golden_{name}.safetensors"),
                  metadata={"generator": "tests/golden/gen_llama_goldens.py", "dtype": "float32",
                            "prompt_len": str(L)})
        print(name, json.dumps(f))
    write_prompt_set_goldens(model, {"mixed", "deep"}, floor)
    with open(os.path.join(OUT, "noise_floor.json"), "w") as fh:
        json.dump(floor, fh, indent=2)
        fh.write("\n")


if __name__ == "__main__":
    main()
