"""``pimsim plot KIND``: charts as PNG, SVG or PDF (by the file suffix) from simulations, sweep results
folders and Chrome-trace timelines."""

from __future__ import annotations

import argparse
from typing import Any

from sim.cli.common import add_set_option, subparser
from sim.errors import PimsimError

EXAMPLES = """  pimsim plot roofline --hw a100-80gb --hw h100-sxm --model llama-2-7b --prompt 1024 -o roof.png
  pimsim plot roofline --hw t4 --model gpt2-xl --color-by phase -o roof.svg
  pimsim plot breakdown --hw a100-80gb --hw h100-sxm --model gpt2-xl --prompt 256 --generate 256 -o bd.png
  pimsim plot breakdown --sweep runs/bw --where compute.fp16=312TFLOPS -o bd.pdf
  pimsim plot sweep runs/bw --x memory.2.bandwidth --y latency_s --hue compute.fp16 -o lines.png
  pimsim plot heatmap runs/bw --x memory.2.bandwidth --y compute.fp16 --z energy_J -o heat.png
  pimsim plot pareto runs/bw --x latency_s --y energy_J --color memory.2.bandwidth -o pareto.png
  pimsim plot gantt timeline.json -o gantt.png"""

KINDS = ("roofline", "breakdown", "sweep", "heatmap", "pareto", "gantt")


def _sim_options(p: argparse.ArgumentParser, generate: bool) -> None:
    p.add_argument(
        "--hw",
        action="append",
        default=[],
        metavar="DEVICE",
        help="device preset or YAML (repeatable: several devices on one chart; default a100-80gb)",
    )
    p.add_argument(
        "--model", default="llama-2-7b", help="model preset or HF config.json (default llama-2-7b)"
    )
    p.add_argument("--batch", type=int, default=1, help="sequences per batch (default 1)")
    p.add_argument("--prompt", type=int, default=1024, help="prompt length, tokens (default 1024)")
    if generate:
        p.add_argument("--generate", type=int, default=256, help="generated tokens (default 256)")
    p.add_argument("--dtype", default="fp16", help="datatype of weights, activations and KV (default fp16)")
    p.add_argument("--conventions", default="default", help="accounting conventions (default or llm-viewer)")
    add_set_option(p)


def _table_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="DIR", help="sweep results folder (pimsim sweep --out DIR)")
    p.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="keep only points with KEY=VALUE (repeatable; units allowed: 2TB/s)",
    )


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``pimsim plot``."""
    p = subparser(sub, "plot", "draw charts: roofline, breakdown, sweep, heatmap, pareto, gantt", EXAMPLES)
    kinds = p.add_subparsers(dest="kind", metavar="KIND")
    r = kinds.add_parser("roofline", help="rooflines of one or more devices, ops coloured by kind or phase")
    _sim_options(r, generate=False)
    r.add_argument(
        "--phase",
        choices=("prefill", "decode", "both"),
        default="both",
        help="the prefill, the first decode step, or both (default both)",
    )
    r.add_argument(
        "--color-by", choices=("kind", "phase"), default="kind", help="colour of ops (default kind)"
    )
    b = kinds.add_parser(
        "breakdown", help="latency by phase and energy by component, bars per device or point"
    )
    _sim_options(b, generate=True)
    b.add_argument("--sweep", metavar="DIR", help="bars per point of a sweep results folder instead of --hw")
    b.add_argument(
        "--where", action="append", default=[], metavar="KEY=VALUE", help="with --sweep: filter points"
    )
    b.add_argument(
        "--label", help="with --sweep: the column that labels the bars (default: the varying keys)"
    )
    b.add_argument("--relative", action="store_true", help="shares instead of absolute values")
    s = kinds.add_parser("sweep", help="a figure against a swept key, one line per other varying key")
    _table_options(s)
    s.add_argument("--x", required=True, help="swept key on the x axis")
    s.add_argument("--y", default="latency_s", help="result column on the y axis (default latency_s)")
    s.add_argument("--hue", help="key that makes the lines (default: every other varying key)")
    h = kinds.add_parser("heatmap", help="a figure over two swept keys")
    _table_options(h)
    h.add_argument("--x", required=True, help="swept key on the x axis")
    h.add_argument("--y", required=True, help="swept key on the y axis")
    h.add_argument("--z", default="latency_s", help="result column shown as colour (default latency_s)")
    f = kinds.add_parser("pareto", help="Pareto front of two (or three) objectives")
    _table_options(f)
    f.add_argument("--x", default="latency_s", help="first objective (default latency_s)")
    f.add_argument("--y", default="energy_J", help="second objective (default energy_J)")
    f.add_argument("--color", help="third objective, shown as colour (e.g. a cost such as power.peak)")
    f.add_argument(
        "--maximize",
        action="append",
        default=[],
        metavar="COLUMN",
        help="an objective to maximise instead of minimise (e.g. tokens_per_s)",
    )
    g = kinds.add_parser("gantt", help="Gantt chart of a Chrome-trace JSON timeline")
    g.add_argument("trace", help="Chrome-trace JSON (.json or .json.gz)")
    g.add_argument(
        "--color-by", choices=("cat", "name"), default="cat", help="colour bars by category or name"
    )
    g.add_argument("--max-lanes", type=int, default=40, help="lanes shown, the busiest (default 40)")
    for q in (r, b, s, h, f, g):
        q.add_argument("-o", "--output", help="chart file: .png, .svg or .pdf (default KIND.png)")
        q.add_argument("--title", help="chart title")
        q.set_defaults(func=run)
    p.set_defaults(func=run, _parser=p)


def _simulate_all(args: argparse.Namespace, generate: int) -> list[Any]:
    from sim.api import simulate

    if args.batch < 1 or args.prompt < 1 or generate < 0:
        raise PimsimError("--batch and --prompt must be at least 1 and --generate at least 0")
    return [
        simulate(
            hw,
            args.model,
            batch=args.batch,
            prompt=args.prompt,
            generate=generate,
            dtype=args.dtype,
            conventions=args.conventions,
            overrides=args.overrides,
        )
        for hw in (args.hw or ["a100-80gb"])
    ]


def run(args: argparse.Namespace) -> int:
    """Run ``pimsim plot``."""
    if not getattr(args, "kind", None):
        args._parser.print_help()
        return 0
    from sim.plots.common import check_path

    out = check_path(args.output or f"{args.kind}.png")
    path = draw(args, out)
    print(f"{args.kind} chart written to {path}")
    return 0


def draw(args: argparse.Namespace, out: Any) -> Any:
    """Draw the chart ``args.kind`` into ``out``."""
    from sim.api import plot
    from sim.plots.table import parse_where

    if args.kind == "roofline":
        return plot.roofline(
            _simulate_all(args, 1 if args.phase != "prefill" else 0),
            out,
            phase=args.phase,
            color_by=args.color_by,
            title=args.title,
        )
    if args.kind == "breakdown":
        if args.sweep:
            from sim.api import breakdowns_from_table
            from sim.plots.breakdown import plot_breakdown
            from sim.plots.table import where
            from sim.sweep.store import load_results

            df = where(load_results(args.sweep), parse_where(args.where))
            return plot_breakdown(
                breakdowns_from_table(df, args.label), out, relative=args.relative, title=args.title
            )
        return plot.breakdown(
            _simulate_all(args, args.generate), out, relative=args.relative, title=args.title
        )
    if args.kind == "gantt":
        from sim.plots.gantt import plot_gantt, read_chrome_trace

        return plot_gantt(
            read_chrome_trace(args.trace),
            out,
            color_by=args.color_by,
            max_lanes=args.max_lanes,
            title=args.title,
        )
    from sim.sweep.store import load_results

    df = load_results(args.dir)
    filters = parse_where(args.where)
    if args.kind == "sweep":
        return plot.sweep(df, args.x, args.y, out, hue=args.hue, where=filters, title=args.title)
    if args.kind == "heatmap":
        return plot.heatmap(df, args.x, args.y, args.z, out, where=filters, title=args.title)
    return plot.pareto(
        df, out, x=args.x, y=args.y, color=args.color, maximize=args.maximize, where=filters, title=args.title
    )
