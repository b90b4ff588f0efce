"""``pimsim sweep``: run a design-space sweep (grid, zipped or random points) on local worker processes
or a Dask cluster; every finished point is recorded at once in ``--out DIR``."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sim.cli.common import print_json, subparser
from sim.cli.output import print_table
from sim.errors import PimsimError

EXAMPLES = """  pimsim sweep --hw a100-80gb --model gpt2-xl --prompt 256 --generate 256 \\
      --grid memory.2.bandwidth=1TB/s,2TB/s,3TB/s --grid compute.fp16=156TFLOPS,312TFLOPS --out runs/bw
  pimsim sweep --hw a100-80gb --model gpt2 --grid workload.batch='range(1,9)' --out runs/batch --workers 2
  pimsim sweep --hw h100-sxm --model llama-2-7b \\
      --zip memory.hbm.bandwidth=2TB/s,3.35TB/s power.peak=400W,700W --out runs/zip
  pimsim sweep --hw a100-80gb --model gpt2 --sample 20 --sample-seed 1 \\
      --random memory.2.bandwidth='loguniform(0.5 TB/s, 4 TB/s)' \\
      --random workload.batch='randint(1,16)' --out runs/rnd
  pimsim sweep sweeps/bw.yaml --out runs/bw --resume         # finish an interrupted sweep
  pimsim sweep sweeps/bw.yaml --out runs/bw --scheduler tcp://10.0.0.5:8786   # on a Dask cluster
  pimsim sweep sweeps/bw.yaml --out runs/bw --dask-local --workers 4
  pimsim sweep sweeps/bw.yaml --out runs/bw --dry-run        # list the points, run nothing

Keys are the dotted keys of `pimsim hw show NAME --json` (list items by index or name: memory.2.bandwidth,
memory.hbm.bandwidth), workload.KEY (model, batch, prompt, generate, dtype, weight_dtype, act_dtype,
kv_dtype, conventions, routing, seed) or hw (the preset). Values: V1,V2,..., range(a,b[,step]),
linspace(a,b,n), geomspace(a,b,n), with units where the key has one (1TB/s, 1.4GHz).
Exit status: 0 all points ok, 1 some point failed, 2 bad input (nothing ran), 130 interrupted.
Results: DIR/results.parquet (load with sim.sweep.load_results(DIR)), DIR/configs/RUN_ID.yaml."""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``pimsim sweep``."""
    p = subparser(
        sub, "sweep", "run a design-space sweep over config and workload keys (local or Dask)", EXAMPLES
    )
    p.add_argument("file", nargs="?", help="YAML sweep file (flags below add to or override it)")
    p.add_argument("--hw", help="hardware preset or YAML of the base design (default a100-80gb)")
    p.add_argument("--model", help="model preset or HF config.json (default llama-2-7b)")
    p.add_argument("--batch", type=int, help="sequences per batch (default 1)")
    p.add_argument("--prompt", type=int, help="prompt length, tokens (default 1024)")
    p.add_argument("--generate", type=int, help="tokens generated after the prompt (default 256)")
    p.add_argument("--dtype", help="datatype of weights, activations and KV (default fp16)")
    p.add_argument("--weight-dtype", help="weight datatype (overrides --dtype)")
    p.add_argument("--act-dtype", help="activation datatype (overrides --dtype)")
    p.add_argument("--kv-dtype", help="KV-cache datatype (overrides --dtype)")
    p.add_argument("--conventions", help="accounting conventions: default or llm-viewer")
    p.add_argument("--routing", help="MoE routing source (default uniform)")
    p.add_argument("--seed", type=int, help="seed of sampled MoE routing (default 0)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="fixed override of the base hardware (repeatable)",
    )
    p.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2,...",
        help="a grid axis; axes combine as a Cartesian product (repeatable)",
    )
    p.add_argument(
        "--zip",
        action="append",
        nargs="+",
        default=[],
        metavar="KEY=V1,V2,...",
        help="keys whose values move together (one group per --zip; same number of values)",
    )
    p.add_argument("--sample", type=int, metavar="N", help="random points to draw from the --random keys")
    p.add_argument(
        "--random",
        action="append",
        default=[],
        metavar="KEY=DIST",
        help="a random key: uniform(a,b), loguniform(a,b), randint(a,b) or choice(v1,v2,...)",
    )
    p.add_argument("--sample-seed", type=int, help="seed of the random points (default 0)")
    p.add_argument("--out", required=True, metavar="DIR", help="results folder")
    p.add_argument("--resume", action="store_true", help="run only the points missing from DIR")
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="local worker processes (default: one per core; 0: in this process); "
        "with --dask-local, the cluster's workers",
    )
    p.add_argument("--scheduler", metavar="ADDR", help="run on the Dask cluster at tcp://HOST:PORT")
    p.add_argument("--dask-local", action="store_true", help="start a Dask LocalCluster for the sweep")
    p.add_argument(
        "--connect-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds to wait for the Dask scheduler (default 10)",
    )
    p.add_argument("--csv", action="store_true", help="also write DIR/results.csv")
    p.add_argument("--dry-run", action="store_true", help="resolve and list the points; run nothing")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def build_spec(args: argparse.Namespace) -> Any:
    """The sweep spec from the sweep file (if any) and the command-line flags."""
    from sim.sweep.spec import RandomSpec, SweepSpec, parse_assignment
    from sim.sweep.values import expand_values

    spec = SweepSpec.from_yaml(args.file) if args.file else SweepSpec()
    if args.hw:
        spec.hw = args.hw
    for name in (
        "model",
        "batch",
        "prompt",
        "generate",
        "dtype",
        "weight_dtype",
        "act_dtype",
        "kv_dtype",
        "conventions",
        "routing",
        "seed",
    ):
        value = getattr(args, name)
        if value is not None:
            spec.workload[name] = value
    spec.overrides += args.overrides
    for text in args.grid:
        key, values = parse_assignment(text, "--grid")
        spec.grid[key] = expand_values(values, key)
    for group in args.zip:
        zipped: dict[str, list[Any]] = {}
        for text in group:
            key, values = parse_assignment(text, "--zip")
            zipped[key] = expand_values(values, key)
        spec.zips.append(zipped)
    if args.sample is not None or args.random:
        rnd = spec.random or RandomSpec(samples=0)
        if args.sample is not None:
            rnd.samples = args.sample
        if args.sample_seed is not None:
            rnd.seed = args.sample_seed
        for text in args.random:
            key, dist = parse_assignment(text, "--random")
            rnd.keys[key] = dist
        spec.random = rnd
    return spec


@contextmanager
def _progress(total_hint: int) -> Iterator[Callable[[Any], None]]:
    """A rich progress bar on stderr (points done, failures, ETA); silent when stderr is not a terminal."""
    if not sys.stderr.isatty():

        def quiet(ev: Any) -> None:
            if ev.kind == "point" and ev.row and ev.row.get("status") != "ok":
                print(
                    f"point {ev.row['point']} ({ev.row['run_id']}) failed: {ev.row.get('error')}",
                    file=sys.stderr,
                )

        yield quiet
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    with Progress(
        TextColumn("sweep"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as prog:
        task = prog.add_task("sweep", total=total_hint, failed="")

        def update(ev: Any) -> None:
            failed = f"[red]{ev.failed} failed[/red]" if ev.failed else ""
            if ev.kind == "start":  # reset: points already done (resume) must not count towards the speed
                prog.reset(task, total=ev.total, completed=ev.done, failed=failed)
            else:
                prog.update(task, completed=ev.done, failed=failed)
            if ev.kind == "point" and ev.row and ev.row.get("status") != "ok":
                prog.console.print(
                    f"[red]point {ev.row['point']} ({ev.row['run_id']}) failed:[/red] {ev.row.get('error')}"
                )

        yield update


def _sigterm_to_interrupt() -> Any:
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        return None


def run(args: argparse.Namespace) -> int:
    """Run ``pimsim sweep``."""
    from sim.sweep.executors import DaskExecutor, LocalExecutor, SerialExecutor
    from sim.sweep.plan import plan_sweep
    from sim.sweep.runner import check_out, execute

    if args.scheduler and args.dask_local:
        raise PimsimError("choose one of --scheduler and --dask-local")
    if args.workers is not None and args.workers < 0:
        raise PimsimError(f"--workers must be 0 (this process) or more (got {args.workers})")
    spec = build_spec(args)
    plan = plan_sweep(spec)
    if plan.duplicates:
        print(
            f"note: {len(plan.duplicates)} points resolve to the config of an earlier point and run once",
            file=sys.stderr,
        )
    if args.dry_run:
        return _print_plan(plan, args)
    check_out(args.out, args.resume)
    if args.scheduler:
        executor: Any = DaskExecutor(args.scheduler, timeout_s=args.connect_timeout)
    elif args.dask_local:
        executor = DaskExecutor.local(args.workers)
    elif args.workers == 0:
        executor = SerialExecutor()
    else:
        executor = LocalExecutor(max(1, min(args.workers or os.cpu_count() or 1, len(plan.points))))
    previous = _sigterm_to_interrupt()
    try:
        with _progress(len(plan.points)) as on_event:
            summary = execute(plan, args.out, executor, resume=args.resume, on_event=on_event, csv=args.csv)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    result = {
        "out": str(summary.out),
        "points": summary.total,
        "already_done": summary.skipped,
        "ok": summary.ok,
        "failed": summary.failed,
        "failed_total": summary.failed_total,
        "missing": summary.missing,
        "interrupted": summary.interrupted,
        "executor": executor.name,
        "results": str(summary.out / "results.parquet"),
    }
    if args.json:
        print_json(result)
    else:
        _print_summary(summary, plan, executor.name)
    return summary.exit_status


def _print_plan(plan: Any, args: argparse.Namespace) -> int:
    points = [{"point": p.index, "run_id": p.run_id, **p.values} for p in plan.points]
    if args.json:
        print_json({"points": points, "keys": plan.keys, "duplicates": len(plan.duplicates)})
        return 0
    rows = [[p["point"], p["run_id"], *[p.get(k, "") for k in plan.keys]] for p in points]
    print_table(f"{len(points)} points (nothing run: --dry-run)", ["point", "run id", *plan.keys], rows)
    return 0


def _print_summary(summary: Any, plan: Any, executor: str) -> None:
    if summary.interrupted:
        print(
            f"interrupted: {summary.total - summary.missing} of {summary.total} points are recorded in "
            f"{summary.out}; run the same command with --resume to finish",
            file=sys.stderr,
        )
        return
    from sim.sweep.store import load_results

    df = load_results(summary.out)
    df = df[df["run_id"].isin(plan.run_ids)]
    if len(df) <= 30:
        cols = [k for k in plan.keys if k in df.columns]
        rows = []
        for _, r in df.iterrows():
            figs = (
                [f"{r['latency_s'] * 1e3:.4g}", f"{r['energy_J']:.4g}", f"{r['tokens_per_s']:.4g}"]
                if r["status"] == "ok"
                else ["failed", "", ""]
            )
            rows.append([r["point"], *[_fmt(r[c]) for c in cols], *figs])
        print_table(
            "sweep results",
            ["point", *cols, "latency (ms)", "energy (J)", "tokens/s"],
            rows,
            align_right=tuple(range(1 + len(cols), 4 + len(cols))),
        )
    skipped = f", {summary.skipped} already done" if summary.skipped else ""
    print(
        f"{summary.total} points on {executor}: {summary.ok} ran ok, {summary.failed} failed{skipped}; "
        f"{summary.failed_total} failed in all"
    )
    print(f"results: {summary.out / 'results.parquet'} (sim.sweep.load_results('{summary.out}'))")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
