#!/usr/bin/env python3
"""compare_pytorch.py — the framework baseline for `spot bench step`, measured in the same run.

Runs one prompt-tuning step (forward + backward to the prompt) of HF transformers' T5 with PEFT
PromptTuning at the same shapes as `spot bench step` (T5-small: d_model 512, d_kv 64, 8 heads,
d_ff 2048, 6+6 layers, vocab 32128; batch 8, 128 input tokens, prompt 100, 8 target tokens; random
weights, dropout off), on the same number of CPU threads, then runs spot's benchmark and prints
both and the ratio. --precision both (the default on CPU) measures fp32 against fp32 and spot's
--precision bf16 against PyTorch's CPU bf16 autocast, interleaved (spot fp32, PyTorch fp32, spot bf16,
PyTorch bf16) so that outside load hits all alike. Requirements: bench/requirements.txt.

  python3 bench/compare_pytorch.py --spot build/spot --threads 2
"""
import argparse
import json
import resource
import statistics
import subprocess
import sys
import time


def torch_step_times(args, bf16=False):
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
    import contextlib
    autocast = torch.autocast(device_type=dev.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    for step in range(args.warmup + args.steps):
        sync()
        t0 = time.perf_counter()
        with autocast:
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
    ap.add_argument("--precision", choices=["fp32", "bf16", "both"], default=None,
                    help="fp32, bf16 (spot --precision bf16 vs PyTorch bf16 autocast) or both (default: both on CPU, "
                         "fp32 on CUDA)")
    args = ap.parse_args()
    if args.precision is None:
        args.precision = "fp32" if args.device == "cuda" else "both"

    shape = ["--batch", str(args.batch), "--input-len", str(args.input_len), "--prompt-len", str(args.prompt_len),
             "--target-len", str(args.target_len), "--steps", str(args.steps), "--warmup", str(args.warmup),
             "--threads", str(args.threads), "--backend", "cuda" if args.device == "cuda" else "cpu"]
    precisions = ["fp32", "bf16"] if args.precision == "both" else [args.precision]
    rows = []
    for prec in precisions:
        spot = json.loads(subprocess.run([args.spot, "bench", "step", "--json", "--precision", prec, *shape],
                                         check=True, capture_output=True, text=True).stdout)
        print("spot:", json.dumps(spot), flush=True)
        times, rss, n_trainable, version = torch_step_times(args, bf16=(prec == "bf16"))
        rows.append((prec, spot, statistics.median(times) * 1e3, rss, n_trainable, version))
    tokens = args.batch * (args.input_len + args.prompt_len + args.target_len)
    spot0 = rows[0][1]
    print(f"prompt-tuning step, T5-small shapes, batch {args.batch} x ({args.input_len} input + {args.prompt_len} "
          f"prompt) tokens, {args.target_len} target tokens, {args.threads} CPU threads")
    if args.device != "cuda":
        import torch
        print(f"cpu: {spot0.get('cpu', '?')}\nspot gemm: {spot0.get('gemm', '?')}\n"
              f"torch: {torch.__version__}, {torch.backends.cpu.get_cpu_capability()} kernels, oneDNN (mkldnn) "
              f"{'on' if torch.backends.mkldnn.is_available() else 'off'}, MKL {'on' if torch.backends.mkl.is_available() else 'off'}")
    mem_col = "peak GPU MB" if args.device == "cuda" else "peak RSS MB"
    print(f"{'':34}{'ms/step':>10}{'tokens/s':>11}{'GFLOP/s':>10}{'% of peak':>11}{mem_col:>13}")
    for prec, spot, torch_ms, rss, n_trainable, version in rows:
        flops = spot["gflop_per_step"] * 1e9  # same model and shapes: spot's FLOP count
        peak = spot.get("bf16_gemm_peak_gflops", 0) if prec == "bf16" else spot["sgemm_peak_gflops"]
        spot_mem = spot.get("peak_device_mb", spot["peak_rss_mb"]) if args.device == "cuda" else spot["peak_rss_mb"]
        pct = lambda g: f"{100 * g / peak:>10.0f}%" if peak else f"{'-':>11}"
        torch_name = "PyTorch " + version + " + PEFT" + (" autocast" if prec == "bf16" else "")
        print(f"{'spot (' + spot['backend'] + ', ' + prec + ')':34}{spot['ms_per_step']:>10.1f}{spot['tokens_per_s']:>11.0f}"
              f"{spot['gflops']:>10.1f}{pct(spot['gflops'])}{spot_mem:>13.0f}")
        tg = flops / (torch_ms / 1e3) * 1e-9
        print(f"{torch_name + ' (' + prec + ')':34}{torch_ms:>10.1f}{tokens / (torch_ms / 1e3):>11.0f}{tg:>10.1f}"
              f"{pct(tg)}{rss:>13.0f}")
        print(f"  {prec}: ratio PyTorch/spot time {torch_ms / spot['ms_per_step']:.2f}x "
              f"(spot {'faster' if torch_ms > spot['ms_per_step'] else 'slower'}); GEMM peak measured by spot "
              f"({prec}, 2048^3): {peak:.1f} GFLOP/s")
    if len(rows) == 2:
        print(f"spot bf16 / spot fp32 speed: {rows[0][1]['ms_per_step'] / rows[1][1]['ms_per_step']:.2f}x")
    print(f"GFLOP/step (spot's count of the prompt-only backward): {spot0['gflop_per_step']:.1f}; "
          f"trainable params (PEFT): {rows[0][4]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
