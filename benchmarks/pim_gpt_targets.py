"""PIM-GPT's published figures other than the speedups, from the model (docs/pim-gpt.md "Targets"):
row-hit rate, share of time outside GEMV work (GPT3-XL), the cost of a 100 MHz ASIC, channel scaling and
the off-chip I/O reduction. Every number printed comes from a simulation; the last line is JSON.

    python benchmarks/pim_gpt_targets.py [--prompt 64] [--generate 1024]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.engine.replay import run_system  # noqa: E402
from sim.engine.system import load_system  # noqa: E402


def run(model: str, prompt: int, generate: int, *overrides: str) -> dict:
    r = run_system(load_system("pim-gpt", list(overrides)), model, 1, prompt, generate)
    m = r.pim_metrics() or {}
    return {"model": model, "overrides": list(overrides), "latency_s": r.latency_s, "tbt_s": r.tbt_s,
            "energy_J": r.energy_J, "row_hit_rate": m["row_hit_rate"],
            "non_gemv_time_fraction": m["non_gemv_time_fraction"], "asic_time_fraction": m["asic_time_fraction"],
            "kv_write_fraction": r.kinds.get("kv_write", 0.0) / r.latency_s, "gemv_time_s": m["gemv_time_s"],
            "offchip_bytes": m["offchip_bytes"], "offchip_reduction": m["offchip_reduction"]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--prompt", type=int, default=64)
    p.add_argument("--generate", type=int, default=1024)
    a = p.parse_args()
    t0 = time.perf_counter()
    out: dict = {"prompt": a.prompt, "generate": a.generate}
    base = run("gpt3-xl", a.prompt, a.generate)
    slow = run("gpt3-xl", a.prompt, a.generate, "asic.clock=100MHz")
    out["gpt3_xl"] = base
    out["gpt3_xl_asic_100MHz"] = slow
    out["asic_100MHz_slowdown"] = slow["latency_s"] / base["latency_s"] - 1
    print(f"GPT3-XL: row-hit rate {base['row_hit_rate']:.2%}, outside GEMV {base['non_gemv_time_fraction']:.2%} "
          f"(ASIC {base['asic_time_fraction']:.2%}, KV writes {base['kv_write_fraction']:.2%}), off-chip I/O "
          f"{base['offchip_reduction']:.1f}x below plain GDDR6")
    print(f"GPT3-XL with the ASIC at 100 MHz: {out['asic_100MHz_slowdown']:+.1%} latency")
    scaling = {}
    for model, channels in (("gpt2-large", (4, 8, 16)), ("gpt3-xl", (8, 16, 32))):
        rows = [run(model, a.prompt, a.generate, f"pim.channels={c}") for c in channels]
        scaling[model] = {str(c): r for c, r in zip(channels, rows, strict=True)}
        first = rows[0]
        for c, r in zip(channels, rows, strict=True):
            print(f"{model} {c:2d} channels: {r['tbt_s'] * 1e3:.4f} ms/token, speedup "
                  f"{first['latency_s'] / r['latency_s']:.2f}x (ideal {c / channels[0]:.0f}x), GEMV time "
                  f"{first['gemv_time_s'] / r['gemv_time_s']:.2f}x")
    out["channel_scaling"] = scaling
    out["wall_s"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
