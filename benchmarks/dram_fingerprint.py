"""Fingerprints of DRAM engine results, to prove that a kernel change is bit-identical.

Runs a fixed set of traces (saturating random and streaming reads, strides, row conflicts, mixed
70/30 read-write with arrivals, low load, duplicate addresses) through every controller profile on
DDR4, HBM2 and GDDR6 specs (several controller settings) and hashes everything a run produces:
accept and done cycles per request, the command log, per-rank command counts, active and refresh
cycles, row-buffer outcomes and the counters in ``extra`` (kernel work counters excluded).

    PYTHONPATH=. python benchmarks/dram_fingerprint.py --save /tmp/before.json
    ... change the kernels ...
    PYTHONPATH=. python benchmarks/dram_fingerprint.py --compare /tmp/before.json

``--compare`` exits 1 and names every case whose fingerprint changed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from dram_specs import ddr4_2400, ddr4_2400_ramulator, gddr6_dramsim3, hbm2_dramsim3, hbm2_ramulator  # noqa: E402

from sim.dram.engine import simulate  # noqa: E402
from sim.dram.mapping import build_mapping, encode  # noqa: E402
from sim.dram.spec import DramSpec  # noqa: E402

#: Work counters that may change when the kernels get faster without changing any result.
_WORK_COUNTERS = ("kernel_iterations", "unit_ticks")


def specs() -> dict[str, Callable[[], DramSpec]]:
    """The specs every trace runs on (name -> factory)."""
    def perbank() -> DramSpec:
        s = ddr4_2400("default", refresh="perbank")
        return replace(s, timing=replace(s.timing, tREFIpb=585, tRFCpb=120))

    return {
        "default-ddr4": lambda: ddr4_2400("default"),
        "default-ddr4-closed": lambda: ddr4_2400("default", page_policy="closed"),
        "default-ddr4-timeout": lambda: ddr4_2400("default", page_policy="timeout", page_timeout=50),
        "default-ddr4-fcfs": lambda: ddr4_2400("default", scheduler="fcfs"),
        "default-ddr4-allbank": lambda: ddr4_2400("default", refresh="allbank"),
        "default-ddr4-perbank": perbank,
        "default-hbm2": lambda: hbm2_dramsim3(compat="default"),
        "default-gddr6": lambda: gddr6_dramsim3(compat="default"),
        "dramsim3-ddr4": lambda: ddr4_2400("dramsim3"),
        "dramsim3-ddr4-closed": lambda: ddr4_2400("dramsim3", page_policy="closed"),
        "dramsim3-ddr4-allbank": lambda: ddr4_2400("dramsim3", refresh="allbank"),
        "dramsim3-hbm2": hbm2_dramsim3,
        "dramsim3-gddr6": gddr6_dramsim3,
        "ramulator2-ddr4": ddr4_2400_ramulator,
        "ramulator2-hbm2": hbm2_ramulator,
        "ramulator2-hbm2-cw256": lambda: hbm2_ramulator(channel_width=256),
        "ramulator2-ddr4-smallq": lambda: ddr4_2400_ramulator(read_queue=4, write_queue=4),
        "default-ddr4-smallq": lambda: ddr4_2400("default", read_queue=4, write_queue=4),
        "dramsim3-ddr4-smallq": lambda: ddr4_2400("dramsim3", read_queue=4, write_queue=12),
    }


def traces(spec: DramSpec, n: int) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Named traces (arrive cycles, byte addresses, is_write) for one spec."""
    m = build_mapping(spec)
    cap = m.capacity_bytes
    rng = np.random.default_rng(11)
    zeros = np.zeros(n, np.int64)
    reads = np.zeros(n, bool)
    rand = rng.integers(0, cap >> 6, n).astype(np.uint64) << np.uint64(6)
    stream = (np.arange(n, dtype=np.uint64) * np.uint64(64)) % np.uint64(cap)
    strided = (np.arange(n, dtype=np.uint64) * np.uint64(8192 + 64)) % np.uint64(cap)
    rows = [encode(m, row=1 + (i % 7), column=i % 3) for i in range(64)]
    conflict = np.array([rows[i % 64] for i in range(n)], dtype=np.uint64)
    mixed_w = rng.random(n) < 0.3
    mixed_a = np.cumsum(rng.integers(0, 4, n)).astype(np.int64)
    local = (rng.integers(0, 1 << 22, n).astype(np.uint64) << np.uint64(6)) % np.uint64(cap)
    dup = (rng.integers(0, 256, n).astype(np.uint64) << np.uint64(6))
    n_low = max(50, n // 10)
    return {
        "random": (zeros, rand, reads),
        "stream": (zeros, stream, reads),
        "strided": (zeros, strided, reads),
        "conflict": (zeros, conflict, reads),
        "mixed": (mixed_a, local, mixed_w),
        "mixed-sat": (zeros, rand, mixed_w),
        "lowload": (np.arange(n_low, dtype=np.int64) * 700, rand[:n_low], mixed_w[:n_low]),
        "dup": (np.cumsum(rng.integers(0, 3, n)).astype(np.int64), dup, rng.random(n) < 0.4),
    }


def fingerprint(run) -> str:
    """sha256 over every result of a run (work counters excluded)."""
    h = hashlib.sha256()
    for arr in (run.accept_cycles, run.done_cycles, run.read_latencies, run.cmd_counts,
                run.rank_active_cycles, run.rank_refresh_cycles):
        h.update(np.ascontiguousarray(arr, dtype=np.int64).tobytes())
    if run.command_log is not None:
        h.update(run.command_log.tobytes())
    scal = {k: v for k, v in run.summary().items() if k != "sim_wall_s"}
    scal["extra"] = {k: v for k, v in run.extra.items() if k not in _WORK_COUNTERS}
    h.update(json.dumps(scal, sort_keys=True, default=str).encode())
    return h.hexdigest()


def collect(n: int, only: str | None = None) -> dict[str, str]:
    """Fingerprint of every (spec, trace) case."""
    out: dict[str, str] = {}
    for name, make in specs().items():
        if only and only not in name:
            continue
        spec = make()
        for tname, (a, ad, w) in traces(spec, n).items():
            run = simulate(spec, a, ad, w, log_commands=True)
            out[f"{name}/{tname}"] = fingerprint(run)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--only", default=None, help="only spec names containing this text")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--save", type=Path)
    g.add_argument("--compare", type=Path)
    args = ap.parse_args(argv)
    fp = collect(args.requests, args.only)
    if args.save:
        args.save.write_text(json.dumps({"requests": args.requests, "cases": fp}, indent=1))
        print(f"saved {len(fp)} fingerprints to {args.save}")
        return 0
    ref = json.loads(args.compare.read_text())
    if ref["requests"] != args.requests:
        print(f"reference was taken with --requests {ref['requests']}")
        return 2
    bad = [k for k, v in fp.items() if ref["cases"].get(k) != v]
    for k in bad:
        print(f"CHANGED {k}")
    print(f"{len(fp) - len(bad)}/{len(fp)} identical")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
