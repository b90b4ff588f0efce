"""The expert-parallel all-to-all share of MoE-layer time, against Speculative MoE's 59 % (docs/interconnect.md).

Runs Qwen3-30B-A3B with expert parallelism 8 on the ASTRA-sim validated HGX-H100 network (8 GPUs on one
400 GB/s, 936.25 ns switch), on an HGX H800 (hgx-h800: 200 GB/s each way) and with A100-class GPUs, in several
configurations (sim/validation/ep_share.py) and prints, for each, the
all-to-all transfer share and the share a profiler books (time inside the synchronous all-to-all calls,
waiting for the slowest rank included). Nothing is fitted. The last line printed is JSON.

    python benchmarks/validate_ep_share.py [--layers 48]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.validation.ep_share import measure  # noqa: E402

A100 = "devices.gpu.preset=a100-80gb"
H800 = {"system": "hgx-h800"}  #: 8 x H800: H100 compute, NVLink 400 GB/s bidirectional = 200 GB/s each way
#: (label, keyword arguments of measure)
CONFIGS: list[tuple[str, dict]] = [
    ("prefill 8 x 512, attention DP, balanced", {"tp": 1, "batch": 8, "prompt": 512}),
    ("prefill 8 x 2048, attention DP, balanced", {"tp": 1, "batch": 8, "prompt": 2048}),
    ("prefill 8 x 512, attention TP 8 (DeepSpeed EP+TP), balanced", {"tp": 8, "batch": 8, "prompt": 512}),
    ("prefill 8 x 512, attention DP, real routing", {"tp": 1, "batch": 8, "prompt": 512, "routing": "synthetic"}),
    ("prefill 8 x 2048, attention DP, real routing", {"tp": 1, "batch": 8, "prompt": 2048, "routing": "synthetic"}),
    ("decode batch 64, attention DP, balanced", {"tp": 1, "batch": 64, "prompt": 16, "generate": 1}),
    ("decode batch 64, attention DP, real routing",
     {"tp": 1, "batch": 64, "prompt": 16, "generate": 1, "routing": "synthetic"}),
    # the H800 reading of "400 GB/s links": NVIDIA's bidirectional total of the H800's NVLink (hgx-h800)
    ("H800: prefill 8 x 512, attention DP, balanced", {**H800, "tp": 1, "batch": 8, "prompt": 512}),
    ("H800: prefill 8 x 2048, attention DP, balanced", {**H800, "tp": 1, "batch": 8, "prompt": 2048}),
    ("H800: prefill 8 x 512, attention TP 8, balanced", {**H800, "tp": 8, "batch": 8, "prompt": 512}),
    ("H800: prefill 8 x 512, attention DP, real routing",
     {**H800, "tp": 1, "batch": 8, "prompt": 512, "routing": "synthetic"}),
    ("H800: prefill 8 x 2048, attention DP, real routing",
     {**H800, "tp": 1, "batch": 8, "prompt": 2048, "routing": "synthetic"}),
    ("H800: decode batch 64, attention DP, balanced", {**H800, "tp": 1, "batch": 64, "prompt": 16, "generate": 1}),
    # A100-class GPUs: at 400 GB/s each way, and as an A800 (A100 compute, 400 GB/s NVLink bidirectional)
    ("A100 GPUs: 8 x 512, DP, balanced", {"tp": 1, "overrides": (A100,)}),
    ("A100 GPUs: 8 x 512, DP, real routing", {"tp": 1, "routing": "synthetic", "overrides": (A100,)}),
    ("A800 reading: 8 x 512, DP, balanced", {**H800, "tp": 1, "overrides": (A100,)}),
    ("A800 reading: 8 x 512, DP, real routing", {**H800, "tp": 1, "routing": "synthetic", "overrides": (A100,)}),
]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--layers", type=int, default=48, help="layers of the model simulated (default: all 48)")
    args = p.parse_args()
    out = {}
    print(f"{'configuration':62s} {'transfer %':>10s} {'profiled %':>10s} {'MoE layer us':>12s} "
          f"{'a2a us':>7s} {'imbalance':>9s}")
    for label, kw in CONFIGS:
        t0 = time.perf_counter()
        s = measure(layers=args.layers, **kw)
        out[label] = {
            "transfer_pct": round(100 * s.transfer, 1),
            "profiled_pct": round(100 * s.profiled, 1),
            "moe_layer_us": round(s.moe_layer_s * 1e6, 1),
            "a2a_call_us": round(s.a2a_call_s * 1e6, 1),
            "imbalance": round(s.imbalance, 2),
        }
        print(f"{label:62s} {100 * s.transfer:10.1f} {100 * s.profiled:10.1f} {s.moe_layer_s * 1e6:12.1f} "
              f"{s.a2a_call_s * 1e6:7.1f} {s.imbalance:9.2f}   ({time.perf_counter() - t0:.0f} s)")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
