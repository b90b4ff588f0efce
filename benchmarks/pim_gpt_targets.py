"""PIM-GPT's published figures other than the speedups, from the model (docs/pim-gpt.md "Targets"):
row-hit rate, share of time outside GEMV work (GPT3-XL) and its parts by op kind, the cost of a 100 MHz
ASIC, channel scaling, the off-chip I/O reduction, and where GEMV time goes beyond the MAC peak (each PIM
row overhead removed in turn, a what-if on GPT3-XL's GEMV shapes that no shipped preset uses). Every number
printed comes from a simulation; the last line is JSON.

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
            "offchip_bytes": m["offchip_bytes"], "offchip_reduction": m["offchip_reduction"],
            "kind_fractions": {k: v / r.latency_s for k, v in sorted(r.kinds.items(), key=lambda kv: -kv[1])}}


#: GPT3-XL's decode GEMVs (rows x cols): QKV, attention output, FC1, FC2, and their count per layer
GPT3_XL_GEMVS = ((6144, 2048), (2048, 2048), (8192, 2048), (2048, 8192))
#: what-ifs: each PIM row overhead removed (timing overrides of the pim-gpt-gddr6 preset)
OVERHEADS = {
    "activate->MAC (tRCD_MAC 28 ns)": ["pim.timing.tRCD_MAC=2"],
    "precharge (tRP 16 ns)": ["timing.tRP=2"],
    "last MAC->precharge (tRTP 6 ns)": ["timing.tRTP=1"],
    "refresh (tRFC 105 ns every 1.67 us)": ["timing.tREFI=1000000000"],
}


def gemv_attribution() -> dict:
    """Time of GPT3-XL's four decode GEMVs as shipped, at the MAC peak, and with each row overhead removed."""
    from sim.pim.api import gemv_cost, load_pim

    def total(ov: list[str]) -> tuple[float, int]:
        spec = load_pim("pim-gpt-gddr6", ov)
        costs = [gemv_cost(spec, r, c) for r, c in GPT3_XL_GEMVS]
        return sum(g.seconds for g in costs), sum(g.macs for g in costs)

    base, macs = total([])
    spec = load_pim("pim-gpt-gddr6")
    peak = spec.units * spec.pus_per_unit * (spec.pim.lanes_for("bf16") or 0) * spec.pim.pu_clock_Hz
    ideal = macs / peak
    out = {"shipped_s": base, "mac_peak_s": ideal, "efficiency": ideal / base, "removed": {}}
    print(f"GPT3-XL decode GEMVs: {base * 1e6:.2f} us per layer, {ideal / base:.1%} of the MAC peak "
          f"({ideal * 1e6:.2f} us); overhead {(base - ideal) * 1e6:.2f} us, of which:")
    allov: list[str] = []
    for name, ov in OVERHEADS.items():
        t, _ = total(ov)
        allov += ov
        out["removed"][name] = base - t
        print(f"  {name:38s} {(base - t) * 1e6:6.2f} us  ({(base - t) / (base - ideal):.0%} of the overhead)")
    t_all, _ = total(allov)
    out["all_removed_s"] = t_all
    print(f"  all four removed: {t_all * 1e6:.2f} us ({ideal / t_all:.1%} of peak; the rest: buffer loads, "
          f"result read-outs, the channels' last row)")
    return out


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
    print("GPT3-XL time by op kind: " + ", ".join(f"{k} {v:.2%}" for k, v in base["kind_fractions"].items()))
    out["gemv_attribution"] = gemv_attribution()
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
