"""Tutorial: design a PIM accelerator with a sweep of PIM-GPT's device keys
(docs/tutorials/design-sweep.md, "Sweep a whole system").

Run:  python docs/examples/pim_gpt_sweep.py [--small] [--out DIR] [--workers N] [--results DIR]

``--results DIR`` skips the sweep and charts a finished one (e.g. the benchmark's,
``benchmarks/sweep_pim_gpt.py --out DIR`` writes ``DIR/local``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import sim

#: The 100 PIM-GPT variants of benchmarks/sweep_pim_gpt.py (every one holds GPT-2 XL: >= 128 banks of 32 MB).
GRID = {
    "pim.channels": "8,16",
    "pim.banks_per_channel": "16,32",
    "pim.mac_lanes": "4,8,12,16,24",
    "asic.clock": "0.5GHz,1GHz,1.5GHz,2GHz,3GHz",
}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--small", action="store_true", help="gpt2, 16 + 4 tokens, a 2 x 2 grid (seconds)")
    ap.add_argument("--out", default="out/pim-gpt-sweep", help="results and charts folder")
    ap.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    ap.add_argument("--results", help="chart this finished sweep instead of running one")
    args = ap.parse_args(argv)
    out = Path(args.out)

    if args.results:
        df = sim.sweep.load_results(args.results)
    else:
        if args.small:
            model, prompt, generate = "gpt2", 16, 4
            grid = {"pim.mac_lanes": "8,16", "asic.clock": "1GHz,2GHz"}
        else:
            model, prompt, generate = "gpt2-xl", 64, 256
            grid = GRID
        # 1. Device keys of a system are addressed by their entry name in the system file (pim, asic).
        df = sim.sweep("pim-gpt", model, prompt=prompt, generate=generate, grid=grid, out=out / "results",
                       workers=args.workers)
    df = df[df["status"] == "ok"]
    print(df[[k for k in GRID if k in df] + ["latency_s", "energy_J"]].to_string(index=False))

    # 2. The fastest design and the one that uses the least energy.
    fastest = df.loc[df["latency_s"].idxmin()]
    frugal = df.loc[df["energy_J"].idxmin()]
    swept = [k for k in GRID if k in df]
    print("fastest:", ", ".join(f"{k}={fastest[k]:g}" for k in swept), f"-> {fastest['latency_s'] * 1e3:.4g} ms")
    print("least energy:", ", ".join(f"{k}={frugal[k]:g}" for k in swept), f"-> {frugal['energy_J']:.4g} J")

    # 3. Charts: latency against the MAC lanes per bank, one line per ASIC clock; the Pareto front.
    where = {k: df[k].iloc[0] for k in ("pim.channels", "pim.banks_per_channel") if k in df}
    lines = sim.plot.sweep(df, "pim.mac_lanes", "latency_s", out / "pim-gpt-lanes.png", hue="asic.clock",
                           where=where or None)
    front = sim.plot.pareto(df, out / "pim-gpt-pareto.png", x="latency_s", y="energy_J", color="pim.mac_lanes")
    print(f"charts: {lines}, {front}")
    return {"points": len(df), "fastest": fastest.to_dict(), "charts": [lines, front]}


if __name__ == "__main__":
    main()
