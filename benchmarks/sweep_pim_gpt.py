"""Benchmark: a 100-point sweep of PIM-GPT variants on the system engine, end to end.

The system ``pim-gpt`` (GDDR6-PIM chips + ASIC) swept over its device keys:

    pim.channels           8, 16                      (PIM channels; a power of two)
    pim.banks_per_channel  16, 32                     (>= 128 banks in all: 4 GB, GPT-2 XL's 3.1 GB of BF16
                                                       weights and its KV cache fit)
    pim.mac_lanes          4, 8, 12, 16, 24           (BF16 MAC lanes per bank)
    asic.clock             0.5, 1, 1.5, 2, 3 GHz      (the ASIC's clock)

for GPT-2 XL, batch 1, a 64-token prompt and 256 generated tokens; every point is the system engine's
replay of the whole generation (``pimsim run --hw pim-gpt --set ...``), on local worker processes.
Prints its figures, then one line of JSON (the last line). ``--dask`` runs the same sweep a second time
on a Dask LocalCluster and checks that the two tables are identical.

    python benchmarks/sweep_pim_gpt.py --workers 2
    python benchmarks/sweep_pim_gpt.py --workers 2 --dask
    python benchmarks/sweep_pim_gpt.py --quick        # 4 points of gpt2, 16 + 16 tokens (smoke test)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

GRID = {
    "pim.channels": "8,16",
    "pim.banks_per_channel": "16,32",
    "pim.mac_lanes": "4,8,12,16,24",
    "asic.clock": "0.5GHz,1GHz,1.5GHz,2GHz,3GHz",
}
QUICK_GRID = {"pim.channels": "8,16", "asic.clock": "1GHz,2GHz"}
#: Columns that differ between two runs of the same sweep (timings, process names, file times).
VOLATILE = ("elapsed_s", "worker", "finished_at")


def _run(spec, executor_name: str, workers: int, out: Path) -> tuple[float, object, object]:
    from sim.sweep import EXECUTORS, execute, load_results, plan_sweep

    t0 = time.perf_counter()
    plan = plan_sweep(spec)
    executor = EXECUTORS[executor_name](workers)
    summary = execute(plan, out, executor)
    wall = time.perf_counter() - t0
    return wall, summary, load_results(out)


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process and of its finished children (the local workers, once
    their pool has shut down)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--dask", action="store_true", help="run it again on a Dask LocalCluster and compare")
    ap.add_argument("--quick", action="store_true", help="4 points of gpt2 with 16 + 16 tokens")
    ap.add_argument("--out", help="results folder (default: a temporary folder)")
    args = ap.parse_args(argv)

    from sim.sweep.spec import SweepSpec
    from sim.sweep.values import expand_values

    grid = QUICK_GRID if args.quick else GRID
    workload = {"model": "gpt2", "prompt": 16, "generate": 16} if args.quick else {
        "model": "gpt2-xl", "prompt": 64, "generate": 256}
    spec = SweepSpec(hw="pim-gpt", workload=workload, grid={k: expand_values(v, k) for k, v in grid.items()})
    root = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="pimsim-pim-gpt-sweep-"))
    load0 = os.getloadavg()
    cpu0 = _cpu_s()
    wall, summary, df = _run(spec, "local", args.workers, root / "local")
    cpu = _cpu_s() - cpu0
    load1 = os.getloadavg()
    ok = df[df["status"] == "ok"]
    fig: dict = {
        "benchmark": "sweep_pim_gpt",
        "system": "pim-gpt",
        "grid": grid,
        "points": summary.total,
        "ok": summary.ok,
        "failed": summary.failed,
        "workers": args.workers,
        "cores": os.cpu_count(),
        **{f"workload.{k}": v for k, v in workload.items()},
        "wall_s": round(wall, 2),
        "target_s": 600.0,
        "cpu_s": round(cpu, 1),
        "cpu_s_per_worker": round(cpu / max(1, args.workers), 1),
        "mean_point_s": round(float(ok["elapsed_s"].mean()), 3) if len(ok) else None,
        "max_point_s": round(float(ok["elapsed_s"].max()), 3) if len(ok) else None,
        "loadavg_1min_before_after": [round(load0[0], 2), round(load1[0], 2)],
        "latency_s_range": [float(ok["latency_s"].min()), float(ok["latency_s"].max())] if len(ok) else None,
        "results": str(root / "local" / "results.parquet"),
    }
    print(f"{fig['points']} PIM-GPT points ({fig['ok']} ok, {fig['failed']} failed), "
          f"{workload['model']} {workload['prompt']} + {workload['generate']} tokens, "
          f"local x{args.workers}: {wall:.1f} s wall (target <= 600 s)")
    print(f"per point {fig['mean_point_s']} s mean, {fig['max_point_s']} s max (one worker's time); "
          f"load average (1 min) {load0[0]:.2f} before, {load1[0]:.2f} after")
    print(f"CPU time {cpu:.0f} s in all, {fig['cpu_s_per_worker']} s per worker: the wall time on "
          f"{args.workers} otherwise idle cores")
    if args.dask:
        dwall, dsummary, ddf = _run(spec, "dask-local", args.workers, root / "dask")
        a = df.drop(columns=list(VOLATILE)).sort_values("run_id").reset_index(drop=True)
        b = ddf.drop(columns=list(VOLATILE)).sort_values("run_id").reset_index(drop=True)
        same = a.equals(b)
        fig.update(dask_wall_s=round(dwall, 2), dask_ok=dsummary.ok, dask_identical=bool(same))
        print(f"Dask LocalCluster x{args.workers}: {dwall:.1f} s wall; table identical to local: {same}")
    print(json.dumps(fig))
    return fig


if __name__ == "__main__":
    main()
