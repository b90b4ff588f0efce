"""Measure what the framework model of the baselines stands for: Hugging Face GPT-2 greedy decoding at batch 1.

Runs on a machine with an NVIDIA GPU, PyTorch and transformers (not pimsim's dependencies: this script is a
measurement, not part of the simulator). For GPT-2, -medium, -large and -XL (random weights, fp32, eager
attention, prompt 64): the decode time per token, ``(t(96 new tokens) - t(32 new tokens)) / 64`` in seconds,
over ``--rounds`` rounds with the models interleaved (a shared host's noise spreads over all of them), and
per generated token the framework operators (top-level ``aten::`` calls), the kernel launches and the GPU
kernel time (``torch.profiler``, 16 tokens minus 8 tokens, / 8). Prints a table; the last line is JSON.

    python benchmarks/measure_hf_decode.py [--rounds 5] [--attn eager] [--out FILE.json]

docs/pim-gpt.md ("The baselines and their framework") compares the results with the framework model.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

SHAPES = {"gpt2": (12, 768, 12), "gpt2-medium": (24, 1024, 16), "gpt2-large": (36, 1280, 20),
          "gpt2-xl": (48, 1600, 25)}


def main() -> None:
    import torch
    import transformers
    from transformers import GPT2Config, GPT2LMHeadModel

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--attn", default="eager", help="attention implementation (eager, sdpa)")
    ap.add_argument("--out", help="also write the JSON to this file")
    args = ap.parse_args()
    models = {}
    for name, (layers, d, heads) in SHAPES.items():
        cfg = GPT2Config(n_layer=layers, n_embd=d, n_head=heads, vocab_size=50257, n_positions=1024)
        cfg._attn_implementation = args.attn
        with torch.device("cuda"):
            models[name] = GPT2LMHeadModel(cfg).eval()
    ids = torch.randint(0, 50000, (1, 64), device="cuda")
    mask = torch.ones_like(ids)

    def generate(m, n: int) -> None:
        with torch.no_grad():
            m.generate(ids, attention_mask=mask, max_new_tokens=n, min_new_tokens=n, do_sample=False, pad_token_id=0)
        torch.cuda.synchronize()

    def seconds(m, n: int) -> float:
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        generate(m, n)
        return time.perf_counter() - t0

    for m in models.values():
        generate(m, 8)
    per_token = {k: [] for k in models}
    for _ in range(args.rounds):
        for name, m in models.items():
            short = seconds(m, 32)
            per_token[name].append((seconds(m, 96) - short) / 64)
    act = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
    rows = []
    for name, m in models.items():
        counts = {}
        for n in (8, 16):
            with torch.profiler.profile(activities=act) as prof:
                generate(m, n)
            ev = prof.events()
            top = sum(1 for e in ev if e.name.startswith("aten::")
                      and (e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::")))
            launches = sum(1 for e in ev if e.name in ("cudaLaunchKernel", "cudaLaunchKernelExC", "cuLaunchKernel"))
            kernel_us = sum(e.time_range.elapsed_us() for e in ev
                            if getattr(e, "device_type", None) == torch.autograd.DeviceType.CUDA)
            counts[n] = (top, launches, kernel_us)
        top, launches, kernel_us = ((counts[16][i] - counts[8][i]) / 8 for i in range(3))
        rows.append({"model": name, "decode_s_per_token": per_token[name],
                     "decode_s_per_token_median": statistics.median(per_token[name]),
                     "framework_ops_per_token": top, "kernel_launches_per_token": launches,
                     "gpu_kernel_s_per_token": kernel_us * 1e-6})
    print(f"{'model':12} {'ms/token min-median-max':>24} {'ops/token':>9} {'us/op':>6} {'launches':>8} {'GPU ms':>7}")
    for r in rows:
        t = sorted(r["decode_s_per_token"])
        med = r["decode_s_per_token_median"]
        ops = r["framework_ops_per_token"]
        print(f"{r['model']:12} {t[0] * 1e3:7.2f} {med * 1e3:7.2f} {t[-1] * 1e3:7.2f}   {ops:9.0f} "
              f"{med / ops * 1e6:6.1f} {r['kernel_launches_per_token']:8.0f} {r['gpu_kernel_s_per_token'] * 1e3:7.2f}")
    out = {"gpu": torch.cuda.get_device_name(0), "cpu": platform.processor() or platform.machine(),
           "torch": torch.__version__, "transformers": transformers.__version__, "attn": args.attn,
           "rounds": args.rounds, "models": rows}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
