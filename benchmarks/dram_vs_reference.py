"""pimsim's DRAM engine against DRAMsim3 on the same traces and the same machine, interleaved.

The speed target of the DRAM engine is relative (at least 10x DRAMsim3's requests per second under
saturating traffic), and a shared machine's speed moves by tens of percent between minutes, so the two
simulators are timed in alternation: every round runs each trace through DRAMsim3 and through pimsim's
``dramsim3`` profile (which reproduces DRAMsim3's controller), one right after the other, order swapped
every round. DRAMsim3 runs through our driver ``benchmarks/reference/dramsim3_time_trace.cc`` (build it
against your DRAMsim3 checkout: benchmarks/reference/README.md); both report the wall seconds of the
simulation loop alone (pimsim: ``sim_wall_s``, compile cached). The traces are those of
``benchmarks/dram_speed.py`` (1 M random and streaming reads, all offered at cycle 0; one read every 100
cycles at low load) on DRAMsim3's own DDR4-2400 and HBM2 .ini files. The simulated cycle counts of the two
are printed side by side (equal when the profile reproduces DRAMsim3 exactly).

    PYTHONPATH=. python benchmarks/dram_vs_reference.py --dramsim3 PATH/dramsim3_time_trace [--requests N]
        [--rounds 3] [--ddr4-ini F] [--hbm2-ini F]

Prints a table (per row: fastest round of each, ratio of those, range of the per-round ratios); the last
line is JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.dram_speed import traces  # noqa: E402
from sim.dram.configs import load_memory  # noqa: E402
from sim.dram.engine import simulate, warm_up  # noqa: E402
from sim.dram.traces import write_dramsim3  # noqa: E402

_CONFIGS = Path(__file__).resolve().parents[2] / "shared" / "data" / "dram_configs"


def _dramsim3(binary: str, ini: Path, trace: Path, out: Path) -> tuple[int, float]:
    """(simulated cycles, loop wall seconds) of one DRAMsim3 run through the timing driver."""
    res = subprocess.run([binary, str(ini), str(trace), str(out)], capture_output=True, text=True, check=True)
    words = res.stdout.split()
    return int(words[words.index("cycles") + 1]), float(words[words.index("seconds") + 1])


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dramsim3", required=True, help="the timing driver built against DRAMsim3")
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ddr4-ini", type=Path, default=_CONFIGS / "dramsim3_DDR4_8Gb_x8_2400.ini")
    ap.add_argument("--hbm2-ini", type=Path, default=_CONFIGS / "dramsim3_HBM2_8Gb_x128.ini")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for ini in (args.ddr4_ini, args.hbm2_ini):
            spec = load_memory(ini, compat="dramsim3")
            warm_up(spec)
            for name, (arr, addr, w) in traces(spec, args.requests).items():
                path = d / f"{ini.stem}_{name}.trace"
                write_dramsim3(path, arr, addr, w)
                rows.append({"memory": ini.stem, "ini": ini, "trace": name, "requests": int(arr.size), "path": path,
                             "arrays": (arr, addr, w), "spec": spec, "ref_s": [], "sim_s": []})
        for k in range(args.rounds):
            for row in rows:
                for who in (("ref", "sim") if k % 2 == 0 else ("sim", "ref")):
                    if who == "ref":
                        cyc, s = _dramsim3(args.dramsim3, row["ini"], row["path"], d)
                        row["ref_cycles"] = cyc
                        row["ref_s"].append(s)
                    else:
                        run = simulate(row["spec"], *row["arrays"])
                        row["sim_cycles"] = int(run.cycles)
                        row["sim_s"].append(run.sim_wall_s)
            print(f"round {k + 1}/{args.rounds} done", file=sys.stderr)
    out: dict = {"requests": args.requests, "rounds": args.rounds, "results": []}
    print(f"{'memory':<28} {'trace':<8} {'DRAMsim3 cycles':>15} {'pimsim cycles':>13} {'DRAMsim3 /s':>11} "
          f"{'pimsim /s':>10} {'speedup':>7} {'per-round range':>16}")
    for row in rows:
        per_round = [r / s for r, s in zip(row["ref_s"], row["sim_s"], strict=True)]
        unit = row["requests"] if row["trace"] != "lowload" else None
        ref_rate = (unit or row["ref_cycles"]) / min(row["ref_s"])
        sim_rate = (unit or row["sim_cycles"]) / min(row["sim_s"])
        r = {"memory": row["memory"], "trace": row["trace"], "requests": row["requests"],
             "unit": "requests/s" if unit else "cycles/s", "dramsim3_cycles": row["ref_cycles"],
             "pimsim_cycles": row["sim_cycles"], "dramsim3_rate": round(ref_rate), "pimsim_rate": round(sim_rate),
             "speedup": round(min(row["ref_s"]) / min(row["sim_s"]), 2),
             "speedup_per_round": [round(x, 2) for x in per_round]}
        out["results"].append(r)
        print(f"{r['memory']:<28} {r['trace']:<8} {r['dramsim3_cycles']:>15} {r['pimsim_cycles']:>13} "
              f"{ref_rate:>11.3g} {sim_rate:>10.3g} {r['speedup']:>6.1f}x "
              f"{min(per_round):>7.1f}-{max(per_round):<7.1f}")
    sat = [r for r in out["results"] if r["trace"] != "lowload"]
    out["min_speedup_saturated"] = min(r["speedup"] for r in sat)
    print("rates: requests/s (saturated rows), simulated cycles/s (lowload); speedup = DRAMsim3 time / pimsim time")
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
