"""``pimsim run``: simulate a generation (prefill + decode) and report latency, energy and a roofline chart."""

from __future__ import annotations

import argparse

from sim.cli.common import (
    add_json_option,
    add_set_option,
    add_workload_options,
    check_positive,
    print_json,
    subparser,
    workload_dtypes,
)
from sim.cli.output import print_table
from sim.cli.progress import progress_bar
from sim.cli.roofline import load_device
from sim.engine.analytic import run_generation
from sim.results.roofline import ceilings
from sim.workload.conventions import get_conventions
from sim.workload.models import load_model

DEFAULT_HW = "a100-80gb"
DEFAULTS = {"model": "llama-2-7b", "batch": 1, "prompt": 1024, "generate": 256}

EXAMPLES = f"""  pimsim run                  {DEFAULTS['model']} on {DEFAULT_HW}, batch 1, prompt 1024, 256 tokens
  pimsim run --hw h100-sxm --model llama-3-8b --batch 8 --prompt 512 --generate 128
  pimsim run --hw t4 --model gpt2-xl --prompt 64 --generate 1024 --json
  pimsim run --hw a100-80gb --set memory.2.bandwidth='3 TB/s'     # what if HBM were faster?
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``pimsim run``."""
    p = subparser(sub, "run", "simulate a generation: per-phase latency and energy, and a roofline chart", EXAMPLES)
    p.add_argument("--hw", default=DEFAULT_HW, help=f"device preset or YAML (default {DEFAULT_HW})")
    add_workload_options(p, defaults=DEFAULTS)
    p.add_argument("--chart", default="roofline.png",
                   help="roofline chart of the prefill and first decode step (default roofline.png)")
    p.add_argument("--no-chart", action="store_true", help="do not write the chart")
    add_set_option(p)
    add_json_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``pimsim run``."""
    check_positive(args, "batch", "prompt", "generate")
    device = load_device(args.hw, args.overrides)
    model = load_model(args.model)
    conv = get_conventions(args.conventions)
    with progress_bar(f"simulating {model.name} on {device.name}", args.generate + 1) as advance:
        result = run_generation(model, device, args.batch, args.prompt, args.generate,
                                dtypes=workload_dtypes(args), conventions=conv, routing=args.routing,
                                seed=args.seed, progress=lambda step: advance(step + 1))
    chart = None
    if not args.no_chart and result.first_steps:
        from sim.plots.roofline import plot_roofline

        ceil = ceilings(device, result.first_steps[0].compute_dtype, conv)
        chart = plot_roofline(result.first_steps, ceil, args.chart,
                              title=f"{model.name} on {device.name}: prefill ({args.prompt} tokens) "
                                    f"and first decode step, batch {args.batch}")
    if args.json:
        out = result.to_dict()
        out["chart"] = str(chart) if chart else None
        print_json(out)
        return 0
    print(f"{model.name} on {device.name}: batch {args.batch}, prompt {args.prompt} tokens, "
          f"{args.generate} generated tokens, conventions {conv.name}")
    rows = []
    for name, ph in result.phases.items():
        per = ph.time_s / ph.steps if ph.steps else 0.0
        rows.append([name, ph.steps, f"{ph.time_s * 1e3:.4g}", f"{per * 1e3:.4g}", f"{ph.flops / 1e12:.4g}",
                     f"{ph.bytes / 1e9:.4g}", f"{ph.energy_total_J:.4g}"])
    rows.append(["total", sum(p.steps for p in result.phases.values()), f"{result.latency_s * 1e3:.4g}", "",
                 f"{sum(p.flops for p in result.phases.values()) / 1e12:.4g}",
                 f"{sum(p.bytes for p in result.phases.values()) / 1e9:.4g}", f"{result.energy_J:.4g}"])
    print_table("latency and energy by phase",
                ["phase", "steps", "time (ms)", "per step (ms)", "TFLOP", "DRAM GB", "energy (J)"], rows,
                align_right=(1, 2, 3, 4, 5, 6))
    bd = result.breakdown()
    total = result.energy_J
    print_table("energy by component", ["component", "energy (J)", "share"],
                [[k, f"{v:.4g}", f"{v / total:.1%}" if total else "-"] for k, v in bd.items()], align_right=(1, 2))
    print(f"time to first token {result.ttft_s * 1e3:.4g} ms, time between tokens {result.tbt_s * 1e3:.4g} ms")
    if chart:
        print(f"roofline chart written to {chart}")
    return 0
