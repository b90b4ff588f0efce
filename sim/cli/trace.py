"""``pimsim trace``: write a model's operator trace (JSON Lines, .gz accepted) or summarise one."""

from __future__ import annotations

import argparse

from sim.cli.common import add_workload_options, check_positive, subparser, workload_dtypes
from sim.cli.output import print_table
from sim.cli.progress import progress_bar
from sim.workload.conventions import get_conventions
from sim.workload.generator import generate_trace, trace_meta
from sim.workload.models import load_model
from sim.workload.trace import phase_totals, read_trace, write_trace

EXAMPLES = """  pimsim trace --model gpt2-xl --batch 1 --prompt 128 --generate 1024 -o t.jsonl
  pimsim trace --model mixtral-8x7b --batch 4 --prompt 512 --generate 16 -o mixtral.jsonl.gz
  pimsim trace --read t.jsonl                  # check a trace file and print its per-phase totals
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``pimsim trace``."""
    p = subparser(sub, "trace", "write a model's operator trace as JSON Lines, or check one", EXAMPLES)
    add_workload_options(p, defaults={"model": "gpt2-xl", "prompt": 128, "generate": 1024})
    p.add_argument("-o", "--output", help="trace file to write (.jsonl or .jsonl.gz)")
    p.add_argument("--read", metavar="FILE", help="read and validate FILE instead; print its totals")
    p.set_defaults(func=run)


def _summary(ops) -> None:
    totals = phase_totals(ops)
    rows = [[ph, t.get("ops", ""), f"{t['flops'] / 1e12:.4g}", f"{t['bytes'] / 1e9:.4g}"] for ph, t in totals.items()]
    print_table("trace totals", ["phase", "ops", "TFLOP", "DRAM GB"], rows, align_right=(1, 2, 3))


def run(args: argparse.Namespace) -> int:
    """Run ``pimsim trace``."""
    if args.read:
        _summary(read_trace(args.read))
        return 0
    check_positive(args, "batch", "prompt", "generate")
    model = load_model(args.model)
    dtypes = workload_dtypes(args)
    conv = get_conventions(args.conventions)
    ops = generate_trace(model, args.batch, args.prompt, args.generate, dtypes=dtypes, conventions=conv,
                         routing=args.routing, seed=args.seed)
    if not args.output:
        _summary(ops)
        return 0
    meta = trace_meta(model, args.batch, args.prompt, args.generate, dtypes=dtypes, conventions=conv,
                      routing=args.routing, seed=args.seed)
    with progress_bar(f"writing {args.output}", args.generate + 1) as advance:
        def tracked():
            for op in ops:
                advance(op.step)
                yield op
        n = write_trace(args.output, tracked(), meta=meta)
    print(f"wrote {n} ops to {args.output}")
    return 0
