"""Tutorial: place a model on the roofline of two GPUs (docs/tutorials/roofline.md).

Run:  python docs/examples/roofline_tutorial.py [--small] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import sim


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--small", action="store_true", help="a small model and short sequences (seconds)")
    ap.add_argument("--out", default="out/roofline", help="folder for the charts")
    args = ap.parse_args(argv)
    out = Path(args.out)
    model, prompt = ("gpt2", 32) if args.small else ("llama-2-7b", 1024)

    # 1. Simulate the prefill and one decode step on two devices.
    results = [
        sim.simulate(hw, model, batch=1, prompt=prompt, generate=1) for hw in ("a100-80gb", "h100-sxm")
    ]

    # 2. Where does each op of the decode step sit? (intensity in FLOP/byte, what bounds it)
    r = results[0]
    ceil = r.ceilings()
    print(
        f"{r.hw.name}: {ceil.dtype} peak {ceil.peak_flops_per_s / 1e12:.0f} TFLOP/s, "
        f"ridge point {ceil.ridge():.0f} FLOP/byte against {ceil.levels[-1][0]}"
    )
    for p in [p for p in r.placements if p.phase == "decode" and p.layer in (-1, 0)]:
        print(f"  {p.name:28s} {p.kind:12s} {p.intensity:8.2f} FLOP/B  {p.bound:8s} {p.time_s * 1e6:8.2f} us")

    # 3. Both devices on one chart, ops coloured by kind; then by phase.
    by_kind = sim.plot.roofline(results, out / "roofline-by-kind.png", phase="both")
    by_phase = sim.plot.roofline(results, out / "roofline-by-phase.png", phase="both", color_by="phase")
    bars = sim.plot.breakdown(results, out / "breakdown.png")
    print(f"charts: {by_kind}, {by_phase}, {bars}")
    return {"bound": {p.name: p.bound for p in r.placements}, "charts": [by_kind, by_phase, bars]}


if __name__ == "__main__":
    main()
