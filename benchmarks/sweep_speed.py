"""Benchmark: a 100-point GPU design sweep, end to end (planning, workers, part files, table).

a100-80gb HBM bandwidth (5 values) x FP16 peak (5) x batch (4) for gpt2-xl, 256-token prompt and 256
generated tokens, on local worker processes (default: one per core). Prints figures, then one line of
JSON (the last line).

    python benchmarks/sweep_speed.py                       # the 100-point sweep
    python benchmarks/sweep_speed.py --quick               # 8 points of gpt2, for a smoke test
    python benchmarks/sweep_speed.py --executor dask-local --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="worker processes (default: cores)"
    )
    ap.add_argument("--executor", choices=("local", "dask-local", "serial"), default="local")
    ap.add_argument("--model", default="gpt2-xl")
    ap.add_argument("--prompt", type=int, default=256)
    ap.add_argument("--generate", type=int, default=256)
    ap.add_argument("--quick", action="store_true", help="8 points of gpt2 with 32 + 32 tokens")
    ap.add_argument("--out", help="results folder (default: a temporary folder)")
    args = ap.parse_args(argv)

    from sim.sweep import EXECUTORS, execute, load_results, plan_sweep
    from sim.sweep.spec import SweepSpec

    grid = {
        "memory.hbm.bandwidth": "linspace(1 TB/s, 3 TB/s, 5)",
        "compute.fp16": "linspace(100 TFLOPS, 500 TFLOPS, 5)",
        "workload.batch": "1,2,4,8",
    }
    workload = {"model": args.model, "prompt": args.prompt, "generate": args.generate}
    if args.quick:
        grid = {
            "memory.hbm.bandwidth": "1TB/s,3TB/s",
            "compute.fp16": "100TFLOPS,500TFLOPS",
            "workload.batch": "1,8",
        }
        workload = {"model": "gpt2", "prompt": 32, "generate": 32}
    from sim.sweep.values import expand_values

    spec = SweepSpec(
        hw="a100-80gb", workload=workload, grid={k: expand_values(v, k) for k, v in grid.items()}
    )
    t0 = time.perf_counter()
    plan = plan_sweep(spec)
    t_plan = time.perf_counter() - t0
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="pimsim-sweep-bench-"))
    t1 = time.perf_counter()
    executor = EXECUTORS[args.executor](args.workers)
    t_start = time.perf_counter() - t1
    summary = execute(plan, out, executor)
    wall = time.perf_counter() - t0
    df = load_results(out)
    ok = df[df["status"] == "ok"]
    fig = {
        "benchmark": "sweep_speed",
        "points": summary.total,
        "ok": summary.ok,
        "failed": summary.failed,
        "executor": args.executor,
        "workers": args.workers,
        "model": workload["model"],
        "prompt": workload["prompt"],
        "generate": workload["generate"],
        "wall_s": round(wall, 3),
        "plan_s": round(t_plan, 3),
        "executor_start_s": round(t_start, 3),
        "points_per_s": round(summary.total / wall, 4),
        "mean_point_s": round(float(ok["elapsed_s"].mean()), 4) if len(ok) else None,
        "max_point_s": round(float(ok["elapsed_s"].max()), 4) if len(ok) else None,
        "overhead_s": round(wall - float(ok["elapsed_s"].sum()) / max(1, args.workers), 3)
        if len(ok)
        else None,
        "results": str(out / "results.parquet"),
    }
    print(
        f"{fig['points']} points ({fig['ok']} ok, {fig['failed']} failed) "
        f"on {args.executor} x{args.workers}: "
        f"{wall:.1f} s wall, {fig['points_per_s']:.3g} points/s"
    )
    print(
        f"planning {t_plan:.2f} s, executor start {t_start:.2f} s, per point {fig['mean_point_s']} s mean, "
        f"{fig['max_point_s']} s max; overhead beyond the points' own time {fig['overhead_s']} s"
    )
    print(json.dumps(fig))
    return fig


if __name__ == "__main__":
    main()
