#!/usr/bin/env python3
"""compare_pytorch.py — the framework baseline for `spot bench step`, measured in the same run.

Runs one prompt-tuning step (forward + backward to the prompt) of HF transformers' T5 with PEFT
PromptTuning at the same shapes as `spot bench step` (T5-small: d_model 512, d_kv 64, 8 heads,
d_ff 2048, 6+6 layers, vocab 32128; batch 8, 128 input tokens, prompt 100, 8 target tokens; random
weights, dropout off), on the same number of CPU threads, then runs spot's benchmark and prints
both and the ratio.

  python3 bench/compare_pytorch.py --spot build/spot --threads 2
"""
import argparse
import json
import resource
import statistics
import subprocess
import sys
import time


def torch_step_times(args):
    import torch
    from peft import PromptTuningConfig, TaskType, get_peft_model
    from transformers import T5Config, T5ForConditionalGeneration

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    dev = torch.device(args.device)
    cfg = T5Config(vocab_size=32128, d_model=512, d_kv=64, num_heads=8, d_ff=2048, num_layers=6,
                   num_decoder_layers=6, feed_forward_proj="relu", tie_word_embeddings=True, dropout_rate=0.0,
                   pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    model = T5ForConditionalGeneration(cfg).eval().to(dev)
    # num_transformer_submodules=1: the prompt goes to the encoder only, as in spot and the paper
    # (PEFT's seq2seq default of 2 would also prepend prompt vectors to the decoder input).
    model = get_peft_model(model, PromptTuningConfig(task_type=TaskType.SEQ_2_SEQ_LM,
                                                     num_virtual_tokens=args.prompt_len,
                                                     num_transformer_submodules=1))
    trainable = [p for p in model.parameters() if p.requires_grad]
    ids = torch.randint(3, cfg.vocab_size, (args.batch, args.input_len))
    ids[:, -1] = 1
    labels = torch.randint(3, cfg.vocab_size, (args.batch, args.target_len))
    labels[:, -1] = 1
    ids, labels = ids.to(dev), labels.to(dev)
    mask = torch.ones_like(ids)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    times = []
    for step in range(args.warmup + args.steps):
        sync()
        t0 = time.perf_counter()
        out = model(input_ids=ids, attention_mask=mask, labels=labels)
        out.loss.backward()
        for p in trainable:
            p.grad = None
        sync()
        dt = time.perf_counter() - t0
        if step >= args.warmup:
            times.append(dt)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    if dev.type == "cuda":
        rss = torch.cuda.max_memory_allocated() / 1048576.0  # device memory on GPU
    n_trainable = sum(p.numel() for p in trainable)
    return times, rss, n_trainable, torch.__version__


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spot", default="build/spot", help="path to the spot binary")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="cpu, or cuda (then spot runs --backend cuda)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--input-len", type=int, default=128)
    ap.add_argument("--prompt-len", type=int, default=100)
    ap.add_argument("--target-len", type=int, default=8)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args()

    shape = ["--batch", str(args.batch), "--input-len", str(args.input_len), "--prompt-len", str(args.prompt_len),
             "--target-len", str(args.target_len), "--steps", str(args.steps), "--warmup", str(args.warmup),
             "--threads", str(args.threads), "--backend", "cuda" if args.device == "cuda" else "cpu"]
    spot = json.loads(subprocess.run([args.spot, "bench", "step", "--json", *shape], check=True,
                                     capture_output=True, text=True).stdout)
    print("spot:", json.dumps(spot), flush=True)
    times, rss, n_trainable, version = torch_step_times(args)
    torch_ms = statistics.median(times) * 1e3
    tokens = args.batch * (args.input_len + args.prompt_len + args.target_len)
    flops = spot["gflop_per_step"] * 1e9  # same model and shapes: spot's FLOP count
    print(f"prompt-tuning step, T5-small shapes, batch {args.batch} x ({args.input_len} input + {args.prompt_len} "
          f"prompt) tokens, {args.target_len} target tokens, {args.threads} CPU threads")
    mem_col = "peak GPU MB" if args.device == "cuda" else "peak RSS MB"
    print(f"{'':28}{'ms/step':>10}{'tokens/s':>11}{'GFLOP/s':>10}{mem_col:>13}")
    spot_mem = spot.get("peak_device_mb", spot["peak_rss_mb"]) if args.device == "cuda" else spot["peak_rss_mb"]
    print(f"{'spot (' + spot['backend'] + ')':28}{spot['ms_per_step']:>10.1f}{spot['tokens_per_s']:>11.0f}"
          f"{spot['gflops']:>10.1f}{spot_mem:>13.0f}")
    print(f"{'PyTorch ' + version + ' + PEFT':28}{torch_ms:>10.1f}{tokens / (torch_ms / 1e3):>11.0f}"
          f"{flops / (torch_ms / 1e3) * 1e-9:>10.1f}{rss:>13.0f}")
    print(f"ratio PyTorch/spot time: {torch_ms / spot['ms_per_step']:.2f}x  "
          f"(spot {'faster' if torch_ms > spot['ms_per_step'] else 'slower'}); "
          f"sgemm peak measured by spot: {spot['sgemm_peak_gflops']:.1f} GFLOP/s; trainable params (PEFT): {n_trainable}")
    print(f"GFLOP/step (spot's count of the prompt-only backward): {spot['gflop_per_step']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
