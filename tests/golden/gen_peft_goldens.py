#!/usr/bin/env python3
"""gen_peft_goldens.py — PEFT prompt-tuning adapters written by real PEFT, for SoftPrompt::import_peft and
export_peft (tests/test_peft.cpp). Writes, under tests/golden/peft/:

  <case>/adapter_config.json, adapter_model.safetensors   exactly as PeftModel.save_pretrained writes them
  <case>/expected.json        the prompt spot must import, as the float32 bit patterns (hex) straight from
                              torch, its shape, the PEFT fields the test checks, versions
  <case>/logits.safetensors   PEFT's logits (and loss) for a fixed batch run through PeftModel reloaded with
                              PeftModel.from_pretrained (float32, eager attention), and the batch itself

Cases (backbones: the committed tiny checkpoints tests/golden/t5/<variant>/ and tests/golden/llama/tiny/):
  t5_v1_0_f32    T5 v1_0, SEQ_2_SEQ_LM, 5 virtual tokens, RANDOM init (torch seed), float32. PEFT's default
                 num_transformer_submodules for seq2seq is 2: the file holds [10, 48], and PEFT's forward
                 prepends only rows 0..4 to the encoder input (checked here: changing rows 5..9 changes no
                 logit bit), so spot imports those.
  t5_v1_1_bf16   T5 v1_1 (sharded, untied), the same, 7 virtual tokens, the prompt encoder cast to bfloat16
                 before save_pretrained: the file holds BF16; PEFT widens it to float32 on load.
  llama_f16      tiny Llama, CAUSAL_LM (num_transformer_submodules 1), 4 virtual tokens, saved in float16.
  bad_lora, bad_prefix_tuning, bad_p_tuning   real adapters of other PEFT types on T5 v1_0 (each has an
                 adapter_model.safetensors; prefix and p-tuning even hold a 'prompt_embeddings'): refused.

and checks the export direction: tests/golden/peft/spot_export/ (written by spot's export_peft, from
`SPOT_UPDATE_GOLDENS=1 build/tests/spot_tests --gtest_filter=PeftExport.*`) must load with
PeftModel.from_pretrained onto T5 v1_0 and give the logits of HF with the same prompt prepended by hand to the
input embeddings (bit for bit), and PEFT's own save_pretrained of what it loaded must write the same
adapter_config.json byte for byte and the same tensor. Any mismatch raises (non-zero exit).

Deterministic: fixed seeds, one CPU thread; re-running gives the same bytes. Run from anywhere:
    python3 tests/golden/gen_peft_goldens.py            (~15 s; torch, transformers, peft, safetensors)
    python3 tests/golden/gen_peft_goldens.py --check-export   (only the spot_export check, writes nothing)
"""

import json
import shutil
import struct
import sys
import tempfile
from pathlib import Path

import peft
import safetensors
import torch
import transformers
from peft import (LoraConfig, PeftModel, PrefixTuningConfig, PromptEncoderConfig, PromptTuningConfig, TaskType,
                  get_peft_model)
from safetensors import safe_open
from transformers import LlamaForCausalLM, T5ForConditionalGeneration

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = HERE / "peft"
T5_DIR = {v: HERE / "t5" / v for v in ("v1_0", "v1_1")}
LLAMA_DIR = HERE / "llama" / "tiny"
VERSIONS = {"torch": torch.__version__.split("+")[0], "transformers": transformers.__version__,
            "peft": peft.__version__, "safetensors": safetensors.__version__}

# The batch every T5 case runs: input lengths 6 and 4 (each ending in </s> = 1, padded with 0), targets 3 and 2
# (ending in 1, padded with -100), as in gen_t5_goldens.py.
T5_INPUT_LENGTHS, T5_TARGET_LENGTHS, T5_VOCAB = [6, 4], [3, 2], 301
# Llama: two examples of equal lengths (no padding), input 5 then target 3 tokens.
LLAMA_INPUT_LEN, LLAMA_TARGET_LEN, LLAMA_VOCAB = 5, 3, 311
DATA_SEED = 11


def rel(path):
    return str(Path(path).resolve().relative_to(ROOT))


# name_or_path is what get_peft_model writes as base_model_name_or_path: the path from the repository root,
# not this machine's absolute one.
def load_t5(variant):
    m = T5ForConditionalGeneration.from_pretrained(T5_DIR[variant], attn_implementation="eager", dtype=torch.float32)
    m.name_or_path = rel(T5_DIR[variant])
    return m.eval()


def load_llama():
    m = LlamaForCausalLM.from_pretrained(LLAMA_DIR, attn_implementation="eager", dtype=torch.float32)
    m.name_or_path = rel(LLAMA_DIR)
    return m.eval()


ST_DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def save_file(tensors, path, metadata):
    """safetensors with sorted header keys (as gen_t5_goldens.py: safetensors' own writer orders __metadata__ at
    random); read back with safe_open to check."""
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
        for name, t in tensors.items():
            assert torch.equal(f.get_tensor(name), t), f"{path}: {name} did not read back"


def f32_bits(t):
    """The float32 bit patterns of t [rows, cols]: one string per row, 8 hex digits per value, space-separated."""
    rows = t.detach().to(torch.float32).contiguous().tolist()
    return [" ".join("%08x" % struct.unpack("<I", struct.pack("<f", x))[0] for x in row) for row in rows]


def t5_batch():
    g = torch.Generator().manual_seed(DATA_SEED)
    B, T, Tt = len(T5_INPUT_LENGTHS), max(T5_INPUT_LENGTHS), max(T5_TARGET_LENGTHS)
    ids = torch.zeros(B, T, dtype=torch.long)
    mask = torch.zeros(B, T, dtype=torch.long)
    labels = torch.full((B, Tt), -100, dtype=torch.long)
    for b, (n, m) in enumerate(zip(T5_INPUT_LENGTHS, T5_TARGET_LENGTHS)):
        ids[b, :n - 1] = torch.randint(2, T5_VOCAB, (n - 1,), generator=g)
        ids[b, n - 1] = 1
        mask[b, :n] = 1
        labels[b, :m - 1] = torch.randint(2, T5_VOCAB, (m - 1,), generator=g)
        labels[b, m - 1] = 1
    return ids, mask, labels


def llama_batch():
    g = torch.Generator().manual_seed(DATA_SEED + 1)
    B = 2
    inputs = torch.randint(3, LLAMA_VOCAB, (B, LLAMA_INPUT_LEN), generator=g)
    targets = torch.randint(3, LLAMA_VOCAB, (B, LLAMA_TARGET_LEN), generator=g)
    return inputs, targets


def t5_run(model, ids, mask, labels):
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, labels=labels)
    return out.logits, out.loss


def t5_by_hand(base, prompt, ids, mask, labels):
    """HF T5 with the prompt [L, d] prepended to the input embeddings and 1s to the mask, as PEFT documents."""
    B, L = ids.shape[0], prompt.shape[0]
    with torch.no_grad():
        emb = base.get_input_embeddings()(ids)
        emb = torch.cat([prompt.unsqueeze(0).expand(B, -1, -1).to(emb.dtype), emb], dim=1)
        m = torch.cat([torch.ones(B, L, dtype=mask.dtype), mask], dim=1)
        out = base(inputs_embeds=emb, attention_mask=m, labels=labels)
    return out.logits, out.loss


def llama_run(model, inputs, targets, num_virtual_tokens):
    """PeftModelForCausalLM on input ++ target; the logits that predict each target token [B, Tt, V] and HF's
    loss over the target tokens."""
    ids = torch.cat([inputs, targets], dim=1)
    labels = torch.full_like(ids, -100)
    labels[:, inputs.shape[1]:] = targets
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels)
    n, L = inputs.shape[1], num_virtual_tokens
    logits = out.logits[:, L + n - 1:L + n - 1 + targets.shape[1]]
    return logits, out.loss


def write_case(name, peft_model, reload_fn, run_fn, batch, save_dtype=None, notes=""):
    """save_pretrained `peft_model` into OUT/name, reload it onto a fresh base with PeftModel.from_pretrained, and
    write the expected prompt (what PEFT puts in front of the encoder / context, as PEFT itself reads it back)
    and the reloaded model's logits."""
    out_dir = OUT / name
    if out_dir.exists():
        shutil.rmtree(out_dir)
    enc = peft_model.prompt_encoder["default"]
    if save_dtype is not None:
        enc.to(save_dtype)
    peft_model.save_pretrained(out_dir)
    (out_dir / "README.md").unlink()  # PEFT's model card template: not part of the adapter
    cfg = json.loads((out_dir / "adapter_config.json").read_text())
    n = cfg["num_virtual_tokens"]

    reloaded = PeftModel.from_pretrained(reload_fn(), out_dir).eval()
    weight = reloaded.prompt_encoder["default"].embedding.weight
    assert weight.dtype == torch.float32, f"{name}: PEFT loaded the prompt as {weight.dtype}"
    with safe_open(out_dir / "adapter_model.safetensors", "pt") as f:
        stored = f.get_tensor("prompt_embeddings")
    assert torch.equal(stored.to(torch.float32), weight), f"{name}: the loaded prompt is not the stored one widened"
    prompt = weight[:n].detach().clone()

    logits, loss = run_fn(reloaded, *batch)
    if cfg["num_transformer_submodules"] == 2:
        # PEFT's seq2seq prompt tuning reads only rows [0, n): scrambling the rest changes no bit of the output.
        with torch.no_grad():
            weight[n:] = torch.randn_like(weight[n:]) * 10
        logits2, loss2 = run_fn(reloaded, *batch)
        assert torch.equal(logits, logits2) and torch.equal(loss, loss2), f"{name}: rows >= n changed the logits"
    expected = {
        "case": name,
        "notes": notes,
        "file_dtype": {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16"}[stored.dtype],
        "stored_shape": list(stored.shape),
        "shape": list(prompt.shape),
        "prompt_f32_bits": f32_bits(prompt),
        "config": {k: cfg[k] for k in ("peft_type", "task_type", "num_virtual_tokens", "token_dim",
                                       "num_transformer_submodules", "prompt_tuning_init",
                                       "base_model_name_or_path")},
        "versions": VERSIONS,
    }
    (out_dir / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    tensors = {"logits": logits.detach().contiguous(), "loss": loss.detach().reshape(1)}
    if len(batch) == 3:
        tensors.update(input_ids=batch[0], attention_mask=batch[1], labels=batch[2])
    else:
        tensors.update(input_ids=batch[0], target_ids=batch[1])
    save_file(tensors, out_dir / "logits.safetensors", {"case": name, **VERSIONS})
    print(f"{name}: {stored.dtype} {list(stored.shape)} -> prompt {list(prompt.shape)}, logits {list(logits.shape)}, "
          f"loss {loss.item():.6f}")


def write_bad(name, model, config):
    out_dir = OUT / name
    if out_dir.exists():
        shutil.rmtree(out_dir)
    pm = get_peft_model(model, config)
    pm.save_pretrained(out_dir)
    (out_dir / "README.md").unlink()
    with safe_open(out_dir / "adapter_model.safetensors", "pt") as f:
        shapes = {k: list(f.get_slice(k).get_shape()) for k in f.keys()}
    print(f"{name}: {json.loads((out_dir / 'adapter_config.json').read_text())['peft_type']} {shapes}")


def check_export():
    """spot's export must load into PEFT and act as the same prompt prepended by hand; PEFT re-saving it must
    write the same files."""
    exp = OUT / "spot_export"
    if not (exp / "adapter_config.json").exists():
        raise SystemExit(f"{exp} is missing: SPOT_UPDATE_GOLDENS=1 build/tests/spot_tests --gtest_filter=PeftExport.*")
    cfg = json.loads((exp / "adapter_config.json").read_text())
    pm = PeftModel.from_pretrained(load_t5("v1_0"), exp).eval()
    with safe_open(exp / "adapter_model.safetensors", "pt") as f:
        assert f.metadata() == {"format": "pt"}, f"spot_export: metadata {f.metadata()}"
        prompt = f.get_tensor("prompt_embeddings")
    assert list(prompt.shape) == [cfg["num_virtual_tokens"], cfg["token_dim"]], f"spot_export: shape {prompt.shape}"
    ids, mask, labels = t5_batch()
    logits, loss = t5_run(pm, ids, mask, labels)
    want_logits, want_loss = t5_by_hand(load_t5("v1_0"), prompt, ids, mask, labels)
    if not (torch.equal(logits, want_logits) and torch.equal(loss, want_loss)):
        raise SystemExit(f"spot_export: PEFT's logits differ from the prompt prepended by hand: max abs "
                         f"{(logits - want_logits).abs().max().item():.3e}, loss {loss.item()} vs {want_loss.item()}")
    with tempfile.TemporaryDirectory() as tmp:
        pm.save_pretrained(tmp)
        ours, theirs = (exp / "adapter_config.json").read_bytes(), (Path(tmp) / "adapter_config.json").read_bytes()
        if ours != theirs:
            raise SystemExit(f"spot_export: PEFT re-saves a different adapter_config.json:\n--- spot\n{ours.decode()}\n"
                             f"--- peft\n{theirs.decode()}")
        with safe_open(Path(tmp) / "adapter_model.safetensors", "pt") as f:
            assert f.keys() == ["prompt_embeddings"] and torch.equal(f.get_tensor("prompt_embeddings"), prompt), \
                "spot_export: PEFT re-saves a different tensor"
    print(f"spot_export: PEFT loads it; logits equal the prompt prepended by hand (max |logit| "
          f"{logits.abs().max().item():.2f}, loss {loss.item():.6f}); PEFT re-saves the same config and tensor")


def main():
    torch.set_num_threads(1)
    if sys.argv[1:] == ["--check-export"]:
        check_export()
        return
    OUT.mkdir(exist_ok=True)
    t5b = t5_batch()

    torch.manual_seed(2024)
    pm = get_peft_model(load_t5("v1_0"), PromptTuningConfig(task_type=TaskType.SEQ_2_SEQ_LM, num_virtual_tokens=5))
    write_case("t5_v1_0_f32", pm, lambda: load_t5("v1_0"), t5_run, t5b,
               notes="SEQ_2_SEQ_LM, num_transformer_submodules 2 (PEFT's default): rows 0..4 are the encoder prompt")

    torch.manual_seed(2025)
    pm = get_peft_model(load_t5("v1_1"), PromptTuningConfig(task_type=TaskType.SEQ_2_SEQ_LM, num_virtual_tokens=7))
    write_case("t5_v1_1_bf16", pm, lambda: load_t5("v1_1"), t5_run, t5b, save_dtype=torch.bfloat16,
               notes="prompt encoder cast to bfloat16 before save_pretrained; PEFT widens it to float32 on load")

    torch.manual_seed(2026)
    pm = get_peft_model(load_llama(), PromptTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=4))
    write_case("llama_f16", pm, load_llama, lambda m, i, t: llama_run(m, i, t, 4), llama_batch(),
               save_dtype=torch.float16, notes="CAUSAL_LM, saved in float16")

    torch.manual_seed(7)
    write_bad("bad_lora", load_t5("v1_0"), LoraConfig(task_type=TaskType.SEQ_2_SEQ_LM, r=1, target_modules=["q"]))
    write_bad("bad_prefix_tuning", load_t5("v1_0"),
              PrefixTuningConfig(task_type=TaskType.SEQ_2_SEQ_LM, num_virtual_tokens=2))
    write_bad("bad_p_tuning", load_t5("v1_0"),
              PromptEncoderConfig(task_type=TaskType.SEQ_2_SEQ_LM, num_virtual_tokens=2, encoder_hidden_size=4))

    if (OUT / "spot_export" / "adapter_config.json").exists():
        check_export()
    else:
        print("spot_export: not written yet (SPOT_UPDATE_GOLDENS=1 build/tests/spot_tests --gtest_filter=PeftExport.*)")


if __name__ == "__main__":
    main()
