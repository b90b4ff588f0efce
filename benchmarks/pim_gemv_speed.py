"""Speed of the PIM cost model: distinct GEMV simulations per second, and the PIM part of a GPT-2 XL decode.

Every GEMV here is simulated (the memo is cleared between repetitions), cycle-accurately, through the
mapping compiler and the in-order PIM controller kernel. Compile time is reported separately: a cold
compile of the numba kernel in a subprocess with an empty numba cache, and the time to load the cached
kernel in this process. Prints a table; the last line is JSON.

    PYTHONPATH=. python benchmarks/pim_gemv_speed.py [--repeat 5] [--no-cold-compile]

The GPT-2 XL set is what the system level asks for when generating 1024 tokens after a 64-token prompt:
the 4 weight GEMVs of a layer (QKV 4800x1600, out-proj 1600x1600, FC1 6400x1600, FC2 1600x6400; the 48
layers share them, so each is simulated once), a KV write, and the score and context GEMVs for every
kv_len from 65 to 1088 (25 heads x 64): 2048 distinct attention GEMVs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.pim import api  # noqa: E402
from sim.pim.engine import warm_up  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CASES = [
    ("pim-gpt-gddr6", (), 4800, 1600, "bf16"),
    ("pim-gpt-gddr6", (), 1600, 6400, "bf16"),
    ("gddr6-aim", (), 4096, 8192, "bf16"),
    ("hbm2-pim", ("org.channels=32",), 4096, 4096, "fp16"),
    ("hbm3-pim", (), 8192, 8192, "fp16"),
]


def cold_compile_seconds() -> float:
    """Compile the PIM kernel in a fresh process with an empty numba cache."""
    code = ("import time,sys; sys.path.insert(0,'.'); from sim.pim.api import load_pim; "
            "from sim.pim.engine import warm_up; s=load_pim('gddr6-aim'); t=time.perf_counter(); warm_up(s); "
            "print(time.perf_counter()-t)")
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, NUMBA_CACHE_DIR=d, PYTHONPATH=str(ROOT))
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT,
                             check=True)
    return float(out.stdout.strip().splitlines()[-1])


def gpt2_xl_decode(spec: api.PimSpec) -> dict:
    """Cost every distinct PIM op of a GPT-2 XL decode of 1024 tokens (64-token prompt) once."""
    api.clear_cache()
    t0 = time.perf_counter()
    n = 0
    for rows, cols in ((4800, 1600), (1600, 1600), (6400, 1600), (1600, 6400)):
        api.gemv_cost(spec, rows, cols)
        n += 1
    api.kv_write_cost(spec, 25, 64)
    n += 1
    hits = misses = 0
    for kv_len in range(65, 65 + 1024):
        for kind in ("score", "context"):
            c = api.attention_cost(spec, 25, 64, kv_len, kind=kind)
            hits, misses, n = hits + c.row_hits, misses + c.row_misses, n + 1
    wall = time.perf_counter() - t0
    return {"ops": n, "seconds": round(wall, 3), "ops_per_s": round(n / wall, 1),
            "attention_row_hit_rate": round(hits / (hits + misses), 4)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="simulations per GEMV case")
    ap.add_argument("--no-cold-compile", action="store_true", help="skip the cold-compile measurement")
    args = ap.parse_args(argv)
    out: dict = {"results": []}
    if not args.no_cold_compile:
        out["compile_cold_s"] = round(cold_compile_seconds(), 2)
    t0 = time.perf_counter()
    warm_up(api.load_pim("gddr6-aim"))
    out["load_cached_s"] = round(time.perf_counter() - t0, 3)
    print(f"{'memory':<14} {'GEMV':>11} {'dtype':<5} {'cycles':>9} {'us':>8} {'TFLOPS':>7} {'hit %':>6} "
          f"{'GEMV/s':>8} {'Mcyc/s':>8} {'ms/GEMV':>8}")
    for name, sets, rows, cols, dt in CASES:
        spec = api.load_pim(name, sets)
        api.gemv_cost(spec, rows, cols, dtype=dt)        # tables, geometry
        walls = []
        for _ in range(args.repeat):
            api.clear_cache()
            t1 = time.perf_counter()
            c = api.gemv_cost(spec, rows, cols, dtype=dt)
            walls.append(time.perf_counter() - t1)
        wall = min(walls)
        row = {"memory": name, "rows": rows, "cols": cols, "dtype": dt, "cycles": c.cycles,
               "us": round(c.seconds * 1e6, 2), "TFLOPS": round(2 * c.macs_per_s / 1e12, 3),
               "row_hit_rate": round(c.row_hit_rate, 4), "gemv_per_s": round(1 / wall, 1),
               "Mcycles_per_s": round(c.cycles / wall / 1e6, 2), "ms_per_gemv": round(wall * 1e3, 2),
               "energy_uJ": round(c.energy_J["total"] * 1e6, 2)}
        out["results"].append(row)
        print(f"{name:<14} {rows:>5}x{cols:<5} {dt:<5} {c.cycles:>9} {row['us']:>8.2f} {row['TFLOPS']:>7.3f} "
              f"{100 * row['row_hit_rate']:>6.2f} {row['gemv_per_s']:>8.1f} {row['Mcycles_per_s']:>8.2f} "
              f"{row['ms_per_gemv']:>8.2f}")
    out["gpt2_xl_decode"] = gpt2_xl_decode(api.load_pim("pim-gpt-gddr6"))
    g = out["gpt2_xl_decode"]
    print(f"GPT-2 XL decode, 1024 tokens: {g['ops']} distinct PIM ops in {g['seconds']} s ({g['ops_per_s']} ops/s); "
          f"attention row-hit rate {100 * g['attention_row_hit_rate']:.2f} %")
    if "compile_cold_s" in out:
        print(f"cold compile of the PIM kernel: {out['compile_cold_s']} s; cached load {out['load_cached_s']} s")
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
