"""Validate the A100 and H100 models against measured operator times (docs/validation.md).

Fits each GPU's efficiency curves and launch overheads on the calibration part of the data (Vidur's
Llama-2-7B kernel times at tensor parallelism 2 and 8, every other LLMCompass matmul), checks that the
device presets hold the fitted values, and reports the error on the held-out part (tensor parallelism
1 and 4, the other matmuls): per operator class and per layer. Writes the charts of docs/validation/.
The last line printed is JSON.

    python benchmarks/validate_gpu.py [--plots docs/validation]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.validation import report  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--plots", default=None, help="folder for the charts (default: none)")
    p.add_argument(
        "--splitwise",
        action="store_true",
        help="also print the sanity check against SplitwiseSim's measured Llama-2-70B runs",
    )
    args = p.parse_args()
    results = [report.evaluate(d) for d in ("a100-80gb", "h100-sxm")]
    summary = {}
    for res in results:
        d = res["device"]
        print(
            f"\n{d}: preset holds the fitted values: {res['yaml_matches_fit']}"
            + (
                f"; LLMCompass host-timing overhead (fitted) {res['host_overhead_s'] * 1e6:.3g} us"
                if res["gpu"] == "a100"
                else ""
            )
        )
        print(
            f"{'class':14s} {'n cal':>5s} {'cal mean %':>10s} {'n held':>6s} {'held mean %':>11s} "
            f"{'held max %':>10s}"
        )
        for c, v in res["classes"].items():
            cal, held = v["calibration"], v["held_out"]
            print(
                f"{c:14s} {cal['n']:5d} {cal['mean_pct']:10.1f} {held['n']:6d} {held['mean_pct']:11.1f} "
                f"{held['max_pct']:10.1f}"
            )
        lc, lh = res["layer"]["calibration"], res["layer"]["held_out"]
        print(
            f"{'layer':14s} {lc['n']:5d} {lc['mean_pct']:10.1f} {lh['n']:6d} {lh['mean_pct']:11.1f} "
            f"{lh['max_pct']:10.1f}"
        )
        print("linear layers, tp 1 (held out):")
        for r in res["linear_tp1"]:
            print(
                f"  {r['class']:14s} {r['tokens']:5d} tokens: measured {r['measured_s'] * 1e6:8.1f} us, "
                f"simulated {r['predicted_s'] * 1e6:8.1f} us "
                f"({(r['predicted_s'] / r['measured_s'] - 1) * 100:+.1f} %)"
            )
        summary[d] = {
            "yaml_matches_fit": res["yaml_matches_fit"],
            "held_out_mean_pct": {c: round(v["held_out"]["mean_pct"], 2) for c, v in res["classes"].items()},
            "calibration_mean_pct": {
                c: round(v["calibration"]["mean_pct"], 2) for c, v in res["classes"].items()
            },
            "layer_held_out_mean_pct": round(lh["mean_pct"], 2),
            "layer_held_out_max_pct": round(lh["max_pct"], 2),
        }
    if args.splitwise:
        from sim.validation import splitwise

        for dev in ("a100-80gb", "h100-sxm"):
            print(
                f"\nsanity check (not a target): Llama-2-70B, batch 1, measured on 8 x {dev} "
                f"(tensor parallel), simulated on one {dev} scaled 8x without communication"
            )
            print(
                f"{'prompt':>6s} {'prompt ms meas':>14s} {'sim':>8s} {'ratio to 1024 meas':>18s} {'sim':>6s} "
                f"{'token ms meas':>13s} {'sim':>7s}"
            )
            for x in splitwise.compare(dev, 8):
                print(
                    f"{x['prompt']:6d} {x['measured_prompt_s'] * 1e3:14.1f} "
                    f"{x['simulated_prompt_s'] * 1e3:8.1f} "
                    f"{x['measured_ratio_to_1024']:18.2f} {x['simulated_ratio_to_1024']:6.2f} "
                    f"{x['measured_token_s'] * 1e3:13.1f} {x['simulated_token_s'] * 1e3:7.2f}"
                )
    if args.plots:
        for path in report.plot(results, args.plots):
            print(f"chart written to {path}")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
