"""``pimsim compare``: speedup and energy efficiency of a system over baselines, per model."""

from __future__ import annotations

import argparse
import sys

from sim.cli.common import add_json_option, print_json, subparser
from sim.cli.output import print_table

DEFAULT_MODELS = "gpt2,gpt2-medium,gpt2-large,gpt2-xl,gpt3-small,gpt3-medium,gpt3-large,gpt3-xl"

EXAMPLES = """  pimsim compare                     # PIM-GPT vs T4 and Xeon Gold 6154, 8 GPT models, 64 + 1024 tokens
  pimsim compare --models gpt2,gpt2-xl --prompt 32 --generate 128 --json
  pimsim compare --set asic.clock=100MHz                     # a key of the target system
  pimsim compare --set t4.framework.op_overhead=10us          # a key of a baseline: prefix its name
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``pimsim compare``."""
    p = subparser(sub, "compare", "speedup and energy efficiency of a system over baselines, per model",
                  EXAMPLES)
    p.add_argument("--hw", default="pim-gpt", help="the system compared (default pim-gpt)")
    p.add_argument("--baselines", default="t4,xeon-gold-6154",
                   help="comma-separated baseline device presets (default t4,xeon-gold-6154)")
    p.add_argument("--models", default=DEFAULT_MODELS, help=f"comma-separated models (default {DEFAULT_MODELS})")
    p.add_argument("--prompt", type=int, default=64, help="prompt tokens (default 64)")
    p.add_argument("--generate", type=int, default=1024, help="generated tokens (default 1024)")
    p.add_argument("--dtype", default="bf16", help="datatype on the compared system (default bf16)")
    p.add_argument("--baseline-dtype", default="fp32",
                   help="datatype of the baselines (default fp32: a framework's default load precision)")
    p.add_argument("--conventions", default="default",
                   help="accounting conventions of the compared system (baselines use their framework's)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key of the compared system (pim.channels=4) or of a baseline, prefixed "
                        "with its name (t4.framework.op_overhead=10us); repeatable")
    p.add_argument("--jobs", type=int, default=0,
                   help="worker processes simulating models in parallel (default 0: one per CPU core)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    add_json_option(p)
    p.set_defaults(func=run)


def _jobs(requested: int, models: int) -> int:
    import os

    n = requested if requested > 0 else (os.cpu_count() or 1)
    return max(1, min(n, models))


def run(args: argparse.Namespace) -> int:
    """Run ``pimsim compare``."""
    from sim.cli.common import check_positive
    from sim.engine.compare import compare
    from sim.workload.dtypes import get_dtype

    check_positive(args, "prompt")
    if args.generate < 1:
        from sim.errors import ConfigError

        raise ConfigError("bad value", key="--generate", value=args.generate, expected="an integer >= 1")
    get_dtype(args.dtype, key="--dtype")
    get_dtype(args.baseline_dtype, key="--baseline-dtype")
    baselines = [b.strip() for b in args.baselines.split(",") if b.strip()]
    models = [m.strip() for m in args.models.split(",") if m.strip()]

    def progress(msg: str) -> None:
        if not args.quiet and not args.json:
            print(f"  simulating {msg}", file=sys.stderr, flush=True)

    results = compare(args.hw, baselines, models, prompt=args.prompt, generate=args.generate, dtype=args.dtype,
                      baseline_dtype=args.baseline_dtype, conventions=args.conventions,
                      overrides=args.overrides, progress=progress, jobs=_jobs(args.jobs, len(models)))
    records = [r for c in results for r in c.records()]
    if args.json:
        print_json(records)
        return 0
    print(f"{args.hw} vs {', '.join(baselines)}: batch 1, prompt {args.prompt} + {args.generate} generated tokens; "
          f"{args.hw} in {args.dtype}, baselines in {args.baseline_dtype}")
    rows = []
    for r in records:
        rows.append([
            r["model"], r["baseline"],
            f"{r['target_per_token_latency_s'] * 1e3:.4g}", f"{r['baseline_per_token_latency_s'] * 1e3:.4g}",
            f"{r['speedup']:.4g}", f"{r['speedup_hardware_only']:.4g}",
            f"{r['energy_efficiency']:.4g}", f"{r['energy_efficiency_hardware_only']:.4g}",
            f"{r['framework_time_fraction']:.0%}",
        ])
    print_table("speedup and energy efficiency (baseline / target, whole generation)",
                ["model", "baseline", "target ms/token", "baseline ms/token", "speedup", "speedup (hw only)",
                 "energy eff.", "energy eff. (hw only)", "framework-bound time"],
                rows, align_right=(2, 3, 4, 5, 6, 7, 8))
    for base in baselines:
        sel = [r for r in records if r["baseline"] == base]
        if sel:
            lo = min(r["speedup"] for r in sel)
            hi = max(r["speedup"] for r in sel)
            elo = min(r["energy_efficiency"] for r in sel)
            ehi = max(r["energy_efficiency"] for r in sel)
            print(f"vs {base}: speedup {lo:.3g}-{hi:.3g}x, energy efficiency {elo:.3g}-{ehi:.3g}x "
                  f"(with the baseline's framework overheads)")
    return 0
