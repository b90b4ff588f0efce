"""Tutorial: run a sweep on a Dask cluster (docs/tutorials/dask.md).

Run:  python docs/examples/dask_sweep.py [--scheduler tcp://HOST:8786] [--small] [--out DIR]
Without --scheduler a LocalCluster is started for the run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import sim
from sim.sweep import DaskExecutor


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786")
    ap.add_argument(
        "--small", action="store_true", help="a small model and 4 points, on an in-process cluster"
    )
    ap.add_argument("--out", default="out/dask-sweep", help="results folder")
    args = ap.parse_args(argv)

    if args.scheduler:
        executor = DaskExecutor(args.scheduler)  # an existing cluster
    elif args.small:
        executor = DaskExecutor.local(1, processes=False, threads_per_worker=2)  # threads in this process
    else:
        executor = DaskExecutor.local(2)  # two worker processes on this machine
    print(f"Dask scheduler at {executor.address}, {executor.slots} points in flight")

    model, prompt, generate = ("gpt2", 16, 2) if args.small else ("gpt2-xl", 256, 256)
    df = sim.sweep(
        "a100-80gb",
        model,
        prompt=prompt,
        generate=generate,
        out=Path(args.out),
        grid={"memory.hbm.bandwidth": "1TB/s,2TB/s", "workload.batch": "1,4"},
        executor=executor,
    )
    print(df[["memory.hbm.bandwidth", "workload.batch", "latency_s", "worker"]].to_string(index=False))
    return {"points": len(df), "ok": int((df["status"] == "ok").sum())}


if __name__ == "__main__":
    main()
