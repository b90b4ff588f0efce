"""Cold-compile time of each DRAM kernel: a fresh process with an empty numba cache per profile.

    PYTHONPATH=. python benchmarks/dram_compile.py [--profiles default,dramsim3,ramulator2]

Prints one line per profile (seconds to compile the kernel with an empty cache, then seconds to load
it from the cache in another fresh process) and a last JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_CODE = ("import time,sys; sys.path.insert(0,'.'); from benchmarks.dram_speed import ddr4; "
         "from sim.dram.engine import warm_up; t=time.perf_counter(); warm_up(ddr4({p!r})); "
         "print(time.perf_counter()-t)")


def _timed(profile: str, cache_dir: str) -> float:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", _CODE.format(p=profile)], env=env, capture_output=True,
                         text=True, cwd=ROOT, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def compile_times(profiles: list[str]) -> dict[str, dict[str, float]]:
    """{profile: {"cold_s": ..., "cached_s": ...}}: compile with an empty cache, then load from it."""
    res: dict[str, dict[str, float]] = {}
    for p in profiles:
        with tempfile.TemporaryDirectory() as d:
            cold = _timed(p, d)
            cached = _timed(p, d)
        res[p] = {"cold_s": round(cold, 2), "cached_s": round(cached, 2)}
    return res


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profiles", default="default,dramsim3,ramulator2")
    args = ap.parse_args(argv)
    res = compile_times(args.profiles.split(","))
    for p, r in res.items():
        print(f"{p:<10} cold {r['cold_s']:6.2f} s   cached {r['cached_s']:5.2f} s")
    out = {"compile": res, "cold_total_s": round(sum(r["cold_s"] for r in res.values()), 2)}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
