"""Speed of PIM-GPT at command level: GPT-2 XL, batch 1, prompt 64, 1024 generated tokens on the pim-gpt
system (every GEMV, attention GEMV and KV write compiled to PIM commands and run through the PIM controller
kernel; identical ops simulated once), the target being at most 60 s on one core. With ``--compare``, the
eight-model comparison against the T4 and the Xeon Gold 6154 instead (target: at most 5 minutes).

The kernel's compile (or numba-cache load) is timed separately: a small GEMV is costed first, then the PIM
cost memo is cleared so that the timed run simulates every distinct op itself. The last line is JSON.

    python benchmarks/pim_gpt_speed.py [--model gpt2-xl] [--prompt 64] [--generate 1024]
    python benchmarks/pim_gpt_speed.py --compare [--jobs N]   (default: one worker per CPU core)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.engine.replay import run_system  # noqa: E402
from sim.engine.system import load_system  # noqa: E402
from sim.pim import api  # noqa: E402

MODELS = "gpt2,gpt2-medium,gpt2-large,gpt2-xl,gpt3-small,gpt3-medium,gpt3-large,gpt3-xl"


def _cpu_s() -> float:
    """CPU seconds used so far by this process and its finished worker processes."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def compile_kernels() -> float:
    """Seconds to compile (or load from the numba cache) the PIM kernel; then forget every memoised cost."""
    t0 = time.perf_counter()
    spec = api.load_pim("pim-gpt-gddr6")
    api.gemv_cost(spec, 64, 64)
    api.attention_cost(spec, 2, 64, 8, kind="score")
    api.kv_write_cost(spec, 2, 64, 1)
    s = time.perf_counter() - t0
    api.clear_cache()
    return s


def one_run(args: argparse.Namespace, compile_s: float) -> dict:
    t0 = time.perf_counter()
    system = load_system(args.hw)
    r = run_system(system, args.model, 1, args.prompt, args.generate)
    wall = time.perf_counter() - t0
    d = r.to_dict()
    ops = sum(p["ops"] for p in d["phases"].values())
    print(f"{args.model} on {args.hw}: batch 1, prompt {args.prompt}, {args.generate} generated tokens, {ops} ops")
    print(f"kernel compile / cache load {compile_s:8.2f} s")
    print(f"simulation                  {wall:8.2f} s   ({ops / wall:,.0f} ops/s; target <= 60 s on one core)")
    print(f"simulated: latency {r.latency_s:.4f} s, per token {d['per_token_latency_s'] * 1e3:.4f} ms, "
          f"energy {r.energy_J:.3f} J, row-hit rate {d['row_hit_rate']:.2%}, off-chip "
          f"{d['offchip_bytes'] / 1e9:.3f} GB, outside GEMV {d['non_gemv_time_fraction']:.2%}")
    return {"hw": args.hw, "model": args.model, "prompt": args.prompt, "generate": args.generate, "ops": ops,
            "compile_s": round(compile_s, 3), "simulation_s": round(wall, 3), "target_s": 60.0,
            "within_target": wall <= 60.0, "latency_s": r.latency_s,
            "per_token_latency_s": d["per_token_latency_s"], "energy_J": r.energy_J,
            "row_hit_rate": d["row_hit_rate"], "offchip_bytes": d["offchip_bytes"],
            "non_gemv_time_fraction": d["non_gemv_time_fraction"]}


def comparison(args: argparse.Namespace, compile_s: float) -> dict:
    from sim.engine.compare import compare

    t0 = time.perf_counter()
    cpu0 = _cpu_s()
    res = compare(args.hw, ["t4", "xeon-gold-6154"], MODELS.split(","), prompt=args.prompt,
                  generate=args.generate, jobs=args.jobs)
    wall = time.perf_counter() - t0
    cpu = _cpu_s() - cpu0
    recs = [r for c in res for r in c.records()]
    for base in ("t4", "xeon-gold-6154"):
        sel = [r for r in recs if r["baseline"] == base]
        print(f"vs {base}: speedup {min(r['speedup'] for r in sel):.3g}-{max(r['speedup'] for r in sel):.3g}x "
              f"(hardware only {min(r['speedup_hardware_only'] for r in sel):.3g}-"
              f"{max(r['speedup_hardware_only'] for r in sel):.3g}x), energy efficiency "
              f"{min(r['energy_efficiency'] for r in sel):.3g}-{max(r['energy_efficiency'] for r in sel):.3g}x")
    print(f"kernel compile / cache load {compile_s:8.2f} s")
    print(f"eight-model comparison      {wall:8.2f} s   (jobs {args.jobs}; target <= 300 s)")
    print(f"  CPU time, all processes   {cpu:8.2f} s   (wall time on {args.jobs} free cores ~ CPU time / {args.jobs})")
    return {"benchmark": "compare", "models": MODELS.split(","), "prompt": args.prompt, "generate": args.generate,
            "jobs": args.jobs, "compile_s": round(compile_s, 3), "compare_s": round(wall, 3),
            "compare_cpu_s": round(cpu, 3), "target_s": 300.0,
            "within_target": wall <= 300.0, "records": recs}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hw", default="pim-gpt")
    p.add_argument("--model", default="gpt2-xl")
    p.add_argument("--prompt", type=int, default=64)
    p.add_argument("--generate", type=int, default=1024)
    p.add_argument("--compare", action="store_true", help="time the eight-model comparison instead")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="--compare: worker processes, models in parallel (default: one per CPU core)")
    args = p.parse_args()
    compile_s = compile_kernels()
    out = comparison(args, compile_s) if args.compare else one_run(args, compile_s)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
