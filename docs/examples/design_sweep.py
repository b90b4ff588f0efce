"""Tutorial: design an accelerator with a sweep of GPU memory bandwidth and compute
(docs/tutorials/design-sweep.md).

Run:  python docs/examples/design_sweep.py [--small] [--out DIR] [--workers N]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import sim


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--small", action="store_true", help="a small model and a 2 x 2 grid (seconds)")
    ap.add_argument("--out", default="out/design-sweep", help="results folder (must not hold a sweep yet)")
    ap.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    args = ap.parse_args(argv)
    out = Path(args.out)

    if args.small:
        model, prompt, generate = "gpt2", 16, 4
        grid = {"memory.hbm.bandwidth": "1TB/s,3TB/s", "compute.fp16": "150TFLOPS,600TFLOPS"}
    else:
        model, prompt, generate = "gpt2-xl", 256, 256
        grid = {
            "memory.hbm.bandwidth": "linspace(1 TB/s, 4 TB/s, 4)",
            "compute.fp16": "geomspace(78 TFLOPS, 624 TFLOPS, 4)",
            "workload.batch": "1,8",
        }

    # 1. Run the sweep: every point is recorded in out/ as it finishes (resume=True finishes a killed one).
    df = sim.sweep(
        "a100-80gb",
        model,
        prompt=prompt,
        generate=generate,
        grid=grid,
        out=out / "results",
        workers=args.workers,
    )
    print(df[["memory.hbm.bandwidth", "compute.fp16", "latency_s", "energy_J"]].to_string(index=False))

    # 2. The fastest design, and the cheapest in energy.
    fastest = df.loc[df["latency_s"].idxmin()]
    frugal = df.loc[df["energy_J"].idxmin()]
    print(
        f"fastest: {fastest['memory.hbm.bandwidth'] / 1e12:.3g} TB/s, "
        f"{fastest['compute.fp16'] / 1e12:.0f} TFLOP/s "
        f"-> {fastest['latency_s'] * 1e3:.3g} ms"
    )
    print(f"least energy: {frugal['memory.hbm.bandwidth'] / 1e12:.3g} TB/s -> {frugal['energy_J']:.3g} J")

    # 3. Charts: latency over the grid, lines against bandwidth, the latency/energy Pareto front.
    where = {"workload.batch": 1} if "workload.batch" in grid else None
    heat = sim.plot.heatmap(
        df, "memory.hbm.bandwidth", "compute.fp16", "latency_s", out / "heatmap.png", where=where
    )
    lines = sim.plot.sweep(
        df, "memory.hbm.bandwidth", "tokens_per_s", out / "lines.png", hue="compute.fp16", where=where
    )
    front = sim.plot.pareto(df, out / "pareto.png", x="latency_s", y="energy_J", color="compute.fp16")
    print(f"charts: {heat}, {lines}, {front}")
    return {"points": len(df), "fastest": fastest.to_dict(), "charts": [heat, lines, front]}


if __name__ == "__main__":
    main()
