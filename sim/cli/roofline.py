"""``pimsim roofline``: each op of a prefill or decode step placed on a device's roofline."""

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
from sim.config import load_hw
from sim.config.hardware import DeviceConfig
from sim.errors import ConfigError
from sim.results.roofline import ceilings, place_all, totals
from sim.workload.conventions import get_conventions
from sim.workload.generator import step_ops
from sim.workload.models import load_model

EXAMPLES = """  pimsim roofline --hw a100-40gb --model llama-2-7b --batch 1 --prompt 1024 --phase decode
  pimsim roofline --hw h100-sxm --model mixtral-8x7b --batch 8 --prompt 512 --phase both -o mixtral.png
  pimsim roofline --hw a100-40gb --model llama-2-7b --prompt 1024 --conventions llm-viewer --json
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``pimsim roofline``."""
    p = subparser(sub, "roofline", "place each op of a step on a device's roofline (table, chart, JSON)", EXAMPLES)
    p.add_argument("--hw", default="a100-40gb", help="device preset or YAML (default a100-40gb)")
    add_workload_options(p, generate=False)
    p.add_argument("--phase", choices=("prefill", "decode", "both"), default="decode",
                   help="prefill (the prompt), decode (one step after the prompt), or both (default decode)")
    p.add_argument("-o", "--output", default="roofline.png", help="chart file, .png/.svg/.pdf (default roofline.png)")
    p.add_argument("--no-chart", action="store_true", help="do not write the chart")
    p.add_argument("--top", type=int, default=15, help="rows of the table: the slowest ops (default 15)")
    add_set_option(p)
    add_json_option(p)
    p.set_defaults(func=run)


def load_device(ref: str, overrides: list[str]) -> DeviceConfig:
    """Load ``ref`` and insist that it is a compute device."""
    dev = load_hw(ref, overrides)
    if not isinstance(dev, DeviceConfig):
        raise ConfigError(f"{ref!r} is a {dev.kind}, not a device", key="--hw", value=ref,
                          expected="a device preset such as a100-40gb")
    return dev


def run(args: argparse.Namespace) -> int:
    """Run ``pimsim roofline``."""
    check_positive(args, "batch", "prompt")
    device = load_device(args.hw, args.overrides)
    model = load_model(args.model)
    conv = get_conventions(args.conventions)
    dtypes = workload_dtypes(args)
    phases = ("prefill", "decode") if args.phase == "both" else (args.phase,)
    result: dict = {"device": device.name, "model": model.name, "batch": args.batch, "prompt": args.prompt,
                    "conventions": conv.name, "phases": {}}
    placed_all = []
    ceil = None
    for phase in phases:
        ops = step_ops(model, phase, args.batch, args.prompt, dtypes=dtypes, conventions=conv,
                       routing=args.routing, seed=args.seed)
        placed = place_all(ops, device, conv)
        placed_all += placed
        ceil = ceilings(device, placed[0].compute_dtype if placed else dtypes.act, conv)
        result["phases"][phase] = {"ops": [p.to_dict() for p in placed], "total": totals(placed)}
    assert ceil is not None
    chart = None
    if not args.no_chart:
        from sim.plots.roofline import plot_roofline

        chart = plot_roofline(placed_all, ceil, args.output,
                              title=f"{model.name} on {device.name}, batch {args.batch}, "
                                    f"prompt {args.prompt} ({args.phase})")
    if args.json:
        print_json(result)
        return 0
    print(f"{model.name} on {device.name}: batch {args.batch}, prompt {args.prompt}, "
          f"conventions {conv.name}; peak {ceil.peak_flops_per_s / 1e12:.4g} TFLOP/s ({ceil.dtype}); "
          + ", ".join(f"{n} {bw / 1e12:.4g} TB/s (ridge {ceil.peak_flops_per_s / bw:.1f})" for n, bw in ceil.levels))
    for phase, data in result["phases"].items():
        ops = sorted(data["ops"], key=lambda o: -o["time_s"])[: args.top]
        rows = [[o["name"], o["kind"], f"{o['flops'] / 1e9:.4g}", f"{o['bytes'] / 1e6:.4g}",
                 f"{o['intensity']:.3g}", f"{o['attained_flops_per_s'] / 1e12:.4g}", o["bound"],
                 f"{o['time_s'] * 1e6:.4g}"] for o in ops]
        print_table(f"{phase}: the {len(rows)} slowest of {len(data['ops'])} ops",
                    ["op", "kind", "GFLOP", "MB", "FLOP/B", "TFLOP/s", "bound", "time (us)"], rows,
                    align_right=(2, 3, 4, 5, 7))
        t = data["total"]
        print(f"{phase} total: {t['flops'] / 1e12:.4g} TFLOP, {t['bytes'] / 1e9:.4g} GB, "
              f"{t['time_s'] * 1e3:.4g} ms\n")
    if chart:
        print(f"chart written to {chart}")
    return 0
