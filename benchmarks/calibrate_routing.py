"""Calibrate the synthetic MoE router on the real routing traces (docs/interconnect.md, "Routing").

Targets: per trace (Qwen3-30B-A3B, Gemma-4-26B-A4B, gpt-oss-120b; ../shared/data/moe_route_traces_bigmoeonedge)
the lag-1 overlap, top-8 share and distinct experts per layer of its decode tokens (sim/workload/routing_stats.py),
plus Qwen3's first layer (near-uniform: top-8 share 0.21, 107 distinct) so that popularity sharpens with depth.
The synthetic router generates the same shape (layers, tokens, top-k, 128 experts) for seeds 0-3; the objective is
the largest |log(simulated / real)| of the nine figures (seed means) plus 0.3 x their mean, minimised by
Nelder-Mead from the current defaults. Prints the fitted SyntheticParams and the table; the last line is JSON.

    python benchmarks/calibrate_routing.py [--evals 250] [--check]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.workload.routing_stats import routing_stats  # noqa: E402
from sim.workload.routing_synthetic import SyntheticParams, SyntheticRouting  # noqa: E402
from sim.workload.routing_trace import load_route_trace  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "moe_route_traces_bigmoeonedge"
TRACES = ("qwen", "gemma", "gptoss")
SEEDS = (0, 1, 2, 3)
FREE = ("skew_first", "skew_last", "depth_power", "pool", "pool_boost", "locality", "locality_power", "segment",
        "affinity")


def targets() -> dict[str, dict]:
    out = {}
    for name in TRACES:
        tr = load_route_trace(DATA / f"{name}.route.csv")
        sets = np.transpose(tr.decode, (1, 0, 2))
        st = routing_stats(sets, tr.experts)
        first = routing_stats(sets[:1], tr.experts)
        out[name] = {"shape": (tr.layers, tr.decode.shape[0], tr.top_k, tr.experts), "stats": st.as_dict(),
                     "first": (first.top8_share, first.distinct)}
    return out


def simulate(params: SyntheticParams, tg: dict[str, dict], seeds=SEEDS) -> dict[str, dict]:
    out = {}
    for name, t in tg.items():
        layers, tokens, k, E = t["shape"]
        runs, firsts = [], []
        for sd in seeds:
            sets = SyntheticRouting(sd, params).decode_sets(layers, tokens, E, k, start=30)
            runs.append(routing_stats(sets, E).as_dict())
            f = routing_stats(sets[:1], E)
            firsts.append((f.top8_share, f.distinct))
        out[name] = {"stats": {key: float(np.mean([r[key] for r in runs])) for key in runs[0]},
                     "first": tuple(np.mean(firsts, axis=0))}
    return out


def objective(params: SyntheticParams, tg: dict[str, dict]) -> float:
    sim = simulate(params, tg)
    errs = [abs(np.log(sim[n]["stats"][k] / tg[n]["stats"][k])) for n in tg for k in tg[n]["stats"]]
    q = sim["qwen"]["first"], tg["qwen"]["first"]
    first = np.log(q[0][0] / q[1][0]) ** 2 + np.log(q[0][1] / q[1][1]) ** 2
    return max(errs) + 0.3 * float(np.mean(errs)) + 0.5 * first


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--evals", type=int, default=250, help="objective evaluations (Nelder-Mead)")
    ap.add_argument("--check", action="store_true", help="only print the table for the current defaults")
    args = ap.parse_args()
    tg = targets()
    best = SyntheticParams()
    if not args.check:
        from scipy.optimize import minimize

        x0 = np.array([getattr(best, k) for k in FREE], dtype=float)

        def f(x: np.ndarray) -> float:
            if np.any(x <= 0) or x[FREE.index("pool")] > 1:
                return 1e3
            return objective(dataclasses.replace(best, **dict(zip(FREE, (float(v) for v in x), strict=True))), tg)

        r = minimize(f, x0, method="Nelder-Mead", options={"maxfev": args.evals, "xatol": 1e-3, "fatol": 1e-5})
        best = dataclasses.replace(best, **{k: float(f"{v:.3g}") for k, v in zip(FREE, r.x, strict=True)})
        print("fitted:", best)
    sim = simulate(best, tg)
    rows = {}
    print(f"{'trace':8s} {'figure':14s} {'real':>8s} {'synthetic':>10s} {'error':>7s}")
    for n in TRACES:
        for k, v in tg[n]["stats"].items():
            s = sim[n]["stats"][k]
            rows[f"{n}.{k}"] = (v, s)
            print(f"{n:8s} {k:14s} {v:8.3f} {s:10.3f} {100 * (s / v - 1):+6.1f}%")
    q = sim["qwen"]["first"]
    print(f"qwen layer 0: top-8 share {q[0]:.3f} (real {tg['qwen']['first'][0]:.3f}), distinct {q[1]:.1f} "
          f"(real {tg['qwen']['first'][1]:.0f})")
    print(json.dumps({"params": dataclasses.asdict(best), "rows": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
