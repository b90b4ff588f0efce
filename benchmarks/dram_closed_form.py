"""The DRAM engine against closed-form answers of the timing sheet, per profile (docs/validation/dram.md).

For DDR4-2400 and HBM2 (the speed benchmark's configurations) and each profile: a streaming read's
bandwidth against the data-bus peak less the refresh share, ``peak x (1 - tRFC / tREFI)``; a one-bank
two-row ping-pong's cycles per access against tRC (or tRAS + tRP where longer); an idle-bank read's latency
against tRCD + CL + burst (+ 1 front-end cycle in the DRAMsim3 and Ramulator profiles, as their sources
do). Prints a table; the last line is JSON.

    PYTHONPATH=. python benchmarks/dram_closed_form.py
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.dram_speed import ddr4, hbm2  # noqa: E402
from sim.dram.commands import ACT  # noqa: E402
from sim.dram.engine import simulate  # noqa: E402
from sim.dram.mapping import build_mapping, encode  # noqa: E402


def _bg_stream_spec(spec):
    """The stream interleaves bank groups at the lowest bits so tCCD_S (not tCCD_L) paces it."""
    if spec.org.standard == "HBM2":  # one channel: the peak of one channel's bus
        return replace(spec, org=replace(spec.org, channels=1))
    m = "RoBaRaCoBg" if spec.controller.compat == "ramulator2" else "rochrabacobg"
    return replace(spec, controller=replace(spec.controller, address_mapping=m))


def stream(spec) -> dict:
    spec = _bg_stream_spec(spec)
    n = 20000
    addr = np.arange(n, dtype=np.uint64) * np.uint64(build_mapping(spec).tx_bytes)
    run = simulate(spec, np.zeros(n, np.int64), addr, np.zeros(n, bool))
    t = spec.timing
    # Ramulator 2.0 never refreshes HBM2 (docs/dram.md), so its closed form is the bare bus peak
    unrefreshed = spec.controller.compat == "ramulator2" and spec.org.standard == "HBM2"
    expect = spec.peak_bandwidth_Bps / 1e9 * (1.0 if unrefreshed else 1 - t.tRFC / t.tREFI)
    return {"simulated": run.bandwidth_GBps, "closed_form": expect, "unit": "GB/s"}


def _addr(spec, row: int, col: int = 0) -> int:
    return int(encode(build_mapping(spec), channel=0, rank=0, bankgroup=0, bank=0, row=row, column=col))


def pingpong(spec) -> dict:
    """Alternating rows 0 and 1 of one bank, FCFS, one request every cycle: one ACT per access."""
    spec = replace(spec, controller=replace(spec.controller, scheduler="fcfs", refresh="none"))
    if spec.controller.compat != "default":
        spec = replace(spec, controller=replace(spec.controller, compat="default"))
    n = 400
    addr = np.array([_addr(spec, i % 2) for i in range(n)], dtype=np.uint64)
    run = simulate(spec, np.arange(n, dtype=np.int64), addr, np.zeros(n, bool), log_commands=True)
    acts = run.command_log[run.command_log["cmd"] == ACT]["cycle"]
    t = spec.timing
    return {"simulated": float(np.mean(np.diff(acts))), "closed_form": float(max(t.tRC, t.tRAS + t.tRP)),
            "unit": "cycles per access"}


def idle_read(spec) -> dict:
    spec = replace(spec, controller=replace(spec.controller, refresh="none"))
    run = simulate(spec, np.array([100], np.int64), np.array([_addr(spec, 5)], np.uint64), np.array([False]))
    t = spec.timing
    # DRAMsim3's and Ramulator's front ends take one cycle before the first command (their sources)
    frontend = 0 if spec.controller.compat == "default" else 1
    return {"simulated": run.read_latency_mean_cycles, "closed_form": float(t.tRCD_RD + t.CL + t.tBL + frontend),
            "unit": "cycles"}


def main() -> int:
    rows = []
    for mem, make in (("DDR4-2400", ddr4), ("HBM2", hbm2)):
        for prof in ("default", "dramsim3", "ramulator2"):
            spec = make(prof)
            for case, fn in (("streaming read", stream), ("idle-bank read", idle_read)):
                r = fn(spec)
                rows.append({"memory": mem, "profile": prof, "case": case, **r,
                             "error": r["simulated"] / r["closed_form"] - 1})
        rows.append({"memory": mem, "profile": "default (FCFS)", "case": "two-row ping-pong",
                     **(r := pingpong(make("default"))), "error": r["simulated"] / r["closed_form"] - 1})
    print(f"{'memory':10s} {'profile':15s} {'case':18s} {'simulated':>10s} {'closed form':>11s} {'error':>8s}  unit")
    for r in rows:
        print(f"{r['memory']:10s} {r['profile']:15s} {r['case']:18s} {r['simulated']:10.2f} {r['closed_form']:11.2f} "
              f"{r['error']:+8.2%}  {r['unit']}")
    print(json.dumps({"rows": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
