"""Validate tensor-parallel inference on DGX-A100 / DGX-H100 against SplitwiseSim's measured latencies.

Fits the collective and serving-framework parameters of the DGX presets on the A100 rows (the H100 rows
are held out), checks that ``hwconfigs/systems/_splitwise-vllm.yaml`` holds the fitted values, prints the
errors by phase and the H100/A100 ratios, and writes the chart of docs/validation.md. The last line
printed is JSON. See sim/validation/multigpu.py for the model and the fit.

    python benchmarks/validate_multigpu.py [--plot docs/validation/multigpu.png] [--yaml]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.validation import multigpu  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--plot", default=None, help="write the predicted-vs-measured chart here")
    p.add_argument("--yaml", action="store_true", help="print the fitted preset block")
    p.add_argument("--rows", action="store_true", help="print every point")
    args = p.parse_args()
    t0 = time.perf_counter()
    res = multigpu.evaluate()
    f = res["fit"]
    print(f"fitted on {sum(1 for r in res['rows'] if r['calibration']) // 2} A100 points "
          f"({time.perf_counter() - t0:.1f} s); preset holds the fitted values: {res['preset_matches_fit']}")
    if args.yaml:
        print(multigpu.yaml_block(f))
    print(f"{'hardware/phase':22s} {'n':>3s} {'median %':>9s} {'max %':>7s} {'mean %':>7s}")
    for k, v in res["summary"].items():
        tag = "calibration" if k.startswith("a100") else "held out"
        print(f"{k:22s} {v['n']:3d} {v['median_pct']:9.1f} {v['max_pct']:7.1f} {v['mean_pct']:7.1f}   {tag}")
    for k, v in res["ratios"].items():
        print(f"H100/A100 {k}: simulated {v['predicted']:.2f}, measured {v['measured']:.2f} (median of {v['n']})")
    for w in res["workload_ratios"]:
        print(f"H100/A100 {w['model']} tp{w['tp']}, one {w['workload']} request ({w['prompt']} prompt tokens): "
              f"ttft {w['ttft']:.2f} ({w['h100_ttft_s'] * 1e3:.1f} / {w['a100_ttft_s'] * 1e3:.1f} ms), "
              f"tbt {w['tbt']:.2f} ({w['h100_tbt_s'] * 1e3:.1f} / {w['a100_tbt_s'] * 1e3:.1f} ms)")
    if args.rows:
        for r in res["rows"]:
            print(f"{r['model']:11s} {r['hardware']:10s} tp{r['tp']} b{r['batch']:<3d} p{r['prompt']:<5d} "
                  f"{r['phase']:8s} measured {r['measured_s'] * 1e3:9.1f} ms  "
                  f"simulated {r['predicted_s'] * 1e3:9.1f} ms  {r['error'] * 100:+6.1f} %")
    if args.plot:
        print(f"chart written to {multigpu.plot(res['rows'], args.plot)}")
    out = {"preset_matches_fit": res["preset_matches_fit"], "fit": f.preset(), "summary": res["summary"],
           "ratios": res["ratios"], "workload_ratios": res["workload_ratios"]}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
