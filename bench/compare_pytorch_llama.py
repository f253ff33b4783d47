#!/usr/bin/env python3
"""compare_pytorch_llama.py -- spot vs HF transformers (+ PEFT) on the real SmolLM2-135M-Instruct, one run.

Both sides use the same GGUF (~/.cache/spot/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf, `spot model
fetch smollm2`) dequantised to fp32, on the same number of CPU threads. Repetitions are interleaved
(spot, then PyTorch, per repetition) so that load from other processes hits both alike; the tables
give medians over repetitions, and the load average is printed before and after.

(a) generation: a 64-token chat prompt ("Summarize briefly: ..." in SmolLM2's ChatML template, default
    system prompt included), 64 new tokens, greedy, end-of-turn ignored so both make exactly 64.
    spot: `spot bench generate --chat --max-new 64 --json TEXT` (KV cache, LlamaModel::generate);
    HF: model.generate(max_new_tokens=64, do_sample=False, eos_token_id=None), KV cache. Prefill = up
    to the first new token (its forward over the 64 prompt tokens); decode = the 63 forwards after it.
    The two greedy sequences are compared token for token.
(b) prompt-tuning step: batch 8 x 64 tokens (56 input + 8 target, random ids, seed fixed), prompt 20,
    forward + backward to the prompt. spot: `spot bench step --model smollm2 --prompt-path
    shared|replicated --json`; HF: PEFT PromptTuning (task CAUSAL_LM, 20 virtual tokens), labels -100 on
    the 56 input tokens, loss.backward(). GFLOP/s for both = spot's count of the step
    (LlamaModel::count_flops, shared path) / time: the same useful work, whatever each side computes.

  python3 bench/compare_pytorch_llama.py --spot build/spot --threads 2 --reps 5
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CACHE = os.environ.get("SPOT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "spot")
GGUF_DIR = os.path.join(CACHE, "models", "smollm2")
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CHAT_TEXT = ("Summarize briefly: Yet, we now are discovering that antibiotics are losing their effectiveness against "
             "illness. Disease-causing bacteria are mutating faster than we can keep up.")  # 64 tokens in ChatML


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def spot_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def load_hf(threads):
    import torch
    from tokenizers import pre_tokenizers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(threads)
    tok = AutoTokenizer.from_pretrained(GGUF_DIR, gguf_file=GGUF_FILE)
    # SmolLM2 splits digits individually (tests/golden/gen_smollm2_tokenizer_ids.py); no digits here anyway.
    tok.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)])
    model = AutoModelForCausalLM.from_pretrained(GGUF_DIR, gguf_file=GGUF_FILE, dtype=torch.float32).eval()
    return tok, model


class Stamps:
    """A generate() streamer: put() gets the prompt first, then each new token right after it is chosen."""

    def __init__(self):
        self.t0 = time.perf_counter()
        self.times = []
        self.calls = 0

    def put(self, value):
        self.calls += 1
        if self.calls > 1:
            self.times.append(time.perf_counter() - self.t0)

    def end(self):
        pass


def hf_generate(model, ids, max_new):
    import torch
    x = torch.tensor([ids])
    s = Stamps()
    with torch.no_grad():
        out = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=max_new, min_new_tokens=0,
                             do_sample=False, eos_token_id=None, pad_token_id=2, streamer=s)
    new = out[0, len(ids):].tolist()
    assert len(s.times) == len(new) == max_new, (len(s.times), len(new))
    return new, s.times[0], s.times[-1] - s.times[0]


def hf_step_fn(model, args):
    import torch
    from peft import PromptTuningConfig, TaskType, get_peft_model

    torch.manual_seed(0)
    peft_model = get_peft_model(model, PromptTuningConfig(task_type=TaskType.CAUSAL_LM,
                                                          num_virtual_tokens=args.prompt_len))
    trainable = [p for p in peft_model.parameters() if p.requires_grad]
    V = model.config.vocab_size
    ids = torch.randint(3, V, (args.batch, args.input_len + args.target_len))
    labels = ids.clone()
    labels[:, :args.input_len] = -100
    mask = torch.ones_like(ids)

    def step():
        t0 = time.perf_counter()
        out = peft_model(input_ids=ids, attention_mask=mask, labels=labels)
        out.loss.backward()
        for p in trainable:
            p.grad = None
        return time.perf_counter() - t0

    return step, sum(p.numel() for p in trainable)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spot", default="build/spot")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5, help="interleaved repetitions")
    ap.add_argument("--steps", type=int, default=3, help="timed prompt-tuning steps per repetition (after 1 warm-up)")
    ap.add_argument("--max-new", type=int, default=64)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--input-len", type=int, default=56)
    ap.add_argument("--target-len", type=int, default=8)
    ap.add_argument("--prompt-len", type=int, default=20)
    ap.add_argument("--only", choices=["generate", "step"], default=None)
    args = ap.parse_args()
    if not os.path.exists(os.path.join(GGUF_DIR, GGUF_FILE)):
        sys.exit(f"missing {os.path.join(GGUF_DIR, GGUF_FILE)}: run `spot model fetch smollm2`")

    import torch
    import transformers
    print(f"load average before: {loadavg()}  ({os.cpu_count()} CPUs; torch {torch.__version__}, "
          f"transformers {transformers.__version__}; {args.threads} threads each; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')})", flush=True)
    tok, model = load_hf(args.threads)
    th = ["--threads", str(args.threads)]

    if args.only in (None, "generate"):
        chat = tok.apply_chat_template([{"role": "user", "content": CHAT_TEXT}], tokenize=False, add_generation_prompt=True)
        ids = tok.encode(chat, add_special_tokens=False)
        print(f"\n(a) greedy generation: {len(ids)}-token chat prompt, {args.max_new} new tokens", flush=True)
        hf_generate(model, ids, args.max_new)  # warm-up
        sp_pre, sp_dec, hf_pre, hf_dec = [], [], [], []
        sp_ids = hf_ids = None
        for r in range(args.reps):
            s = spot_json([args.spot, "bench", "generate", "--chat", "--max-new", str(args.max_new), "--warmup", "1",
                           "--repeat", "1", "--json", *th, CHAT_TEXT])
            assert s["input_tokens"] == len(ids), f"spot encodes the prompt to {s['input_tokens']} tokens, HF {len(ids)}"
            sp_pre.append(s["prefill_ms"])
            sp_dec.append(s["decode_ms"])
            sp_ids = s["ids"]
            hf_ids, p, d = hf_generate(model, ids, args.max_new)
            hf_pre.append(p * 1e3)
            hf_dec.append(d * 1e3)
            print(f"  rep {r}: spot prefill {sp_pre[-1]:.1f} ms decode {sp_dec[-1]:.1f} ms | "
                  f"HF prefill {hf_pre[-1]:.1f} ms decode {hf_dec[-1]:.1f} ms | load {loadavg()}", flush=True)
        same = next((i for i, (a, b) in enumerate(zip(sp_ids, hf_ids)) if a != b), None)
        n, steps = len(ids), args.max_new - 1
        rows = [("spot", statistics.median(sp_pre), statistics.median(sp_dec)),
                (f"HF transformers {transformers.__version__}", statistics.median(hf_pre), statistics.median(hf_dec))]
        print(f"\n| {'':28} | prefill ms | prefill tok/s | decode ms ({steps} steps) | decode tok/s |")
        print("|---|---:|---:|---:|---:|")
        for name, p, d in rows:
            print(f"| {name:28} | {p:10.1f} | {n / (p / 1e3):13.1f} | {d:21.1f} | {steps / (d / 1e3):12.1f} |")
        print(f"ratio HF/spot time: prefill {rows[1][1] / rows[0][1]:.2f}x, decode {rows[1][2] / rows[0][2]:.2f}x")
        print("greedy tokens: " + (f"identical ({len(sp_ids)} of {len(sp_ids)})" if same is None else
                                   f"first difference at new token {same} (spot {sp_ids[same]}, HF {hf_ids[same]})"))
        print("spot text: " + repr(tok.decode(sp_ids)), flush=True)

    if args.only in (None, "step"):
        print(f"\n(b) prompt-tuning step: batch {args.batch} x ({args.input_len} input + {args.target_len} target) "
              f"tokens, prompt {args.prompt_len}, forward + backward to the prompt", flush=True)
        step, n_trainable = hf_step_fn(model, args)
        step()  # warm-up
        shape = ["--batch", str(args.batch), "--input-len", str(args.input_len), "--target-len", str(args.target_len),
                 "--prompt-len", str(args.prompt_len), "--steps", str(args.steps), "--warmup", "1", "--no-peak", "--json"]
        res = {"shared": [], "replicated": [], "hf": []}
        flops = {}
        for r in range(args.reps):
            for path in ("shared", "replicated"):
                s = spot_json([args.spot, "bench", "step", "--model", "smollm2", "--prompt-path", path, *shape, *th])
                res[path].append(s["ms_per_step"])
                flops[path] = s["gflop_per_step"]
            res["hf"].append(statistics.median([step() for _ in range(args.steps)]) * 1e3)
            print(f"  rep {r}: spot shared {res['shared'][-1]:.0f} ms, replicated {res['replicated'][-1]:.0f} ms, "
                  f"HF+PEFT {res['hf'][-1]:.0f} ms | load {loadavg()}", flush=True)
        tokens = args.batch * (args.input_len + args.prompt_len + args.target_len)
        useful = flops["shared"]
        print(f"\n| {'':32} | ms/step | tokens/s | GFLOP/step (own count) | GFLOP/s (shared-path count) | HF/this |")
        print("|---|---:|---:|---:|---:|---:|")
        hf_ms = statistics.median(res["hf"])
        for key, name, own in (("shared", "spot, shared-prefix path", flops["shared"]),
                               ("replicated", "spot, replicated path", flops["replicated"]),
                               ("hf", f"HF {transformers.__version__} + PEFT", None)):
            ms = statistics.median(res[key])
            print(f"| {name:32} | {ms:7.0f} | {tokens / (ms / 1e3):8.0f} | {('%.1f' % own) if own else '-':>22} | "
                  f"{useful / (ms / 1e3):27.1f} | {hf_ms / ms:6.2f}x |")
        print(f"tokens/s counts batch x (input + prompt + target) = {tokens} per step; PEFT trainable parameters "
              f"{n_trainable}")
    print(f"\nload average after: {loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
