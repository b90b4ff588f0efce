"""Speed of the system replay engine: Llama-2-7B, batch 1, prompt 1024, 256 generated tokens on one A100
(analytic memories), the issue's target being at most 10 s on one core.

Prints the wall time of trace generation alone and of the whole simulation (generation included), the
simulated ops per second and the result figures; the last line is JSON.

    python benchmarks/engine_speed.py [--hw a100-80gb] [--model llama-2-7b] [--repeat 1]
    python benchmarks/engine_speed.py --hw pim-gpt --model gpt2-xl --prompt 64 --generate 256 [--event]

``--event`` replays every step on the event queue (no serial fast path), for comparison; the figures are
the same bit for bit. ``cpu_s`` is the process CPU time of the best run (a figure less sensitive than the
wall time to other work on the machine).
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
from sim.workload.generator import generate_trace  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hw", default="a100-80gb")
    p.add_argument("--model", default="llama-2-7b")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--prompt", type=int, default=1024)
    p.add_argument("--generate", type=int, default=256)
    p.add_argument("--repeat", type=int, default=1, help="runs; the best time is reported")
    p.add_argument("--event", action="store_true", help="no serial fast path: every step on the event queue")
    args = p.parse_args()
    t0 = time.perf_counter()
    n_ops = sum(1 for _ in generate_trace(args.model, args.batch, args.prompt, args.generate))
    gen_s = time.perf_counter() - t0
    best = cpu = float("inf")
    result = None
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        system = load_system(args.hw)
        result = run_system(system, args.model, args.batch, args.prompt, args.generate, serial=not args.event)
        if time.perf_counter() - t0 < best:
            best, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert result is not None
    print(
        f"{args.model} on {args.hw}: batch {args.batch}, prompt {args.prompt}, {args.generate} tokens, "
        f"{n_ops} ops"
    )
    print(f"trace generation alone   {gen_s:8.2f} s")
    print(f"simulation (incl. trace) {best:8.2f} s   ({n_ops / best:,.0f} ops/s), {cpu:.2f} s CPU, "
          f"{'event engine only' if args.event else 'serial fast path where valid'}")
    print(
        f"simulated: TTFT {result.ttft_s * 1e3:.2f} ms, TBT {result.tbt_s * 1e3:.3f} ms, "
        f"latency {result.latency_s:.3f} s, energy {result.energy_J:.1f} J"
    )
    print(
        json.dumps(
            {
                "hw": args.hw,
                "model": args.model,
                "ops": n_ops,
                "generation_s": round(gen_s, 3),
                "simulation_s": round(best, 3),
                "cpu_s": round(cpu, 3),
                "engine": "event" if args.event else "serial fast path",
                "ops_per_s": round(n_ops / best),
                "target_s": 10.0,
                "within_target": best <= 10.0,
                "ttft_s": result.ttft_s,
                "tbt_s": result.tbt_s,
                "latency_s": result.latency_s,
                "energy_J": result.energy_J,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
