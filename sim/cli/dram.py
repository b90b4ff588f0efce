"""``pimsim dram``: run a memory-request trace through the cycle-level DRAM model.

Loads a memory (preset, pimsim YAML, DRAMsim3 ``.ini`` or Ramulator 2.0 YAML), reads a request trace
(neutral CSV, DRAMsim3 or Ramulator format), simulates it under a controller profile, and reports
bandwidth, latency, row-buffer outcomes, command counts and energy; optionally saves the command log
and checks it with the independent protocol checker.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from sim.cli.common import add_json_option, add_set_option, print_json, subparser
from sim.cli.output import print_table

EXAMPLES = """  pimsim dram --mem ddr4-2400 --trace requests.csv
  pimsim dram --mem hbm2 --trace requests.csv --json
  pimsim dram --mem dramsim3-ddr4-2400 --trace stream.trace --trace-format dramsim3
  pimsim dram --mem /path/DDR4_8Gb_x8_2400.ini --trace stream.trace          (DRAMsim3 config)
  pimsim dram --mem ramulator2.yaml --trace loads.txt --trace-format ramulator   (Ramulator 2.0 config)
  pimsim dram --mem ddr4-2400 --compat ramulator2 --trace requests.csv
  pimsim dram --mem ddr4-2400 --set timing.tRCD=20 --set controller.page_policy=closed --trace r.csv
  pimsim dram --mem gddr6 --trace r.csv --command-log cmds.csv --check

trace formats: csv = 'cycle_issued,address,op' (op R/W, address hex or decimal);
dramsim3 = '<hex addr> <READ|WRITE> <cycle>'; ramulator = 'LD|ST <addr>' (one request per cycle).
"""

#: Show phase messages on stderr for traces at least this long (or when a phase takes > 2 s).
_BIG_TRACE = 200_000


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``dram`` subcommand."""
    p = subparser(sub, "dram", "simulate a memory-request trace on a DRAM (cycle level)", EXAMPLES)
    p.add_argument("--mem", required=True, metavar="MEM",
                   help="memory preset name, pimsim memory YAML, DRAMsim3 .ini or Ramulator 2.0 YAML")
    p.add_argument("--trace", required=True, metavar="FILE", help="request trace file (.gz allowed)")
    p.add_argument("--trace-format", choices=("csv", "dramsim3", "ramulator"), default=None,
                   help="trace format (default: sniffed from the first line)")
    p.add_argument("--compat", choices=("default", "dramsim3", "ramulator2"), default=None,
                   help="controller profile (default: the memory's controller.compat)")
    add_set_option(p)
    add_json_option(p)
    p.add_argument("--command-log", metavar="FILE",
                   help="write every issued command as CSV (cycle,command,channel,rank,bankgroup,bank,row,column)")
    p.add_argument("--check", action="store_true",
                   help="verify the command log with the independent protocol checker (exit 1 on violations)")
    p.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    p.set_defaults(func=run)


class _Progress:
    """Phase messages on stderr for long runs (the numba kernel holds the GIL, so no live spinner)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.t0 = time.perf_counter()

    def say(self, text: str) -> None:
        if self.enabled:
            print(f"pimsim dram: {text}", file=sys.stderr, flush=True)

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


def run(args: argparse.Namespace) -> int:
    """Run ``pimsim dram``; returns the exit status."""
    from sim.dram.configs import load_memory
    from sim.dram.energy import average_power_W, dram_energy, energy_modelled
    from sim.dram.traces import check_capacity, read_trace

    progress = _Progress(enabled=not args.quiet)
    spec = load_memory(args.mem, args.overrides, compat=args.compat)
    t_read = time.perf_counter()
    trace = read_trace(args.trace, args.trace_format)
    big = len(trace) >= _BIG_TRACE
    if big or time.perf_counter() - t_read > 2:
        progress.say(f"read {len(trace):,} requests from {args.trace} in {time.perf_counter() - t_read:.1f} s")

    from sim.dram import engine
    from sim.dram.mapping import build_mapping

    check_capacity(trace, build_mapping(spec).capacity_bytes)
    need_log = bool(args.command_log or args.check)
    t_compile = time.perf_counter()
    if big:
        progress.say(f"preparing the {spec.controller.compat} kernel (compiled on first use)...")
    compile_s = engine.warm_up(spec)
    if compile_s > 2 and not big:
        progress.say(f"compiled the {spec.controller.compat} kernel in {time.perf_counter() - t_compile:.1f} s")
    if big:
        progress.say(f"simulating {len(trace):,} requests on {spec.name} ({spec.controller.compat} profile)...")
    result = engine.simulate(spec, trace.arrive, trace.addr, trace.is_write, log_commands=need_log)
    if big or result.sim_wall_s > 2:
        progress.say(f"simulated {result.cycles:,} cycles in {result.sim_wall_s:.1f} s")

    modelled = energy_modelled(spec)
    energy = dram_energy(spec, result)
    power = average_power_W(energy, result)

    violations: list = []
    if args.command_log:
        from sim.dram.checker import write_command_log_csv

        write_command_log_csv(args.command_log, result.command_log)
    if args.check:
        from sim.dram.checker import check_log

        violations = check_log(result.command_log, spec, end_cycle=result.cycles)

    summary = _summary(spec, result, energy if modelled else None, power if modelled else None)
    if args.check:
        summary["protocol_violations"] = len(violations)
    if args.json:
        print_json(summary)
    else:
        _print_tables(spec, result, summary, energy if modelled else None, args)
    if violations:
        from sim.dram.checker import format_violations

        print(f"pimsim dram: protocol checker found {len(violations)} violation(s):", file=sys.stderr)
        print(format_violations(violations, result.command_log), file=sys.stderr)
        return 1
    return 0


def _summary(spec: Any, r: Any, energy: dict[str, float] | None, power: float | None) -> dict[str, Any]:
    peak = spec.peak_bandwidth_Bps / 1e9
    return {
        "memory": spec.name,
        "profile": r.profile,
        "requests": r.requests,
        "reads": r.reads,
        "writes": r.writes,
        "cycles": r.cycles,
        "seconds": r.seconds,
        "bandwidth_GBps": r.bandwidth_GBps,
        "peak_bandwidth_GBps": peak,
        "read_latency_mean_cycles": r.read_latency_mean_cycles,
        "read_latency_p50_cycles": r.read_latency_p50_cycles,
        "read_latency_p99_cycles": r.read_latency_p99_cycles,
        "row_hits": r.row_hits,
        "row_misses": r.row_misses,
        "row_conflicts": r.row_conflicts,
        "commands": dict(r.commands),
        "energy_J": None if energy is None else energy["total"],
        "energy_breakdown_J": None if energy is None else {k: v for k, v in energy.items() if k != "total"},
        "power_W": power,
        "unfinished": r.unfinished,
        "sim_wall_s": r.sim_wall_s,
    }


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "-"


def _print_tables(spec: Any, r: Any, s: dict[str, Any], energy: dict[str, float] | None,
                  args: argparse.Namespace) -> None:
    from sim.config.units import format_quantity

    tck = spec.timing.tCK_ns
    classified = r.row_hits + r.row_misses + r.row_conflicts
    rows = [
        ["memory", f"{spec.name} ({spec.org.standard}, {spec.org.units} unit(s), tCK {tck:g} ns)"],
        ["profile", r.profile],
        ["trace", f"{args.trace} ({r.requests:,} requests: {r.reads:,} reads, {r.writes:,} writes)"],
        ["simulated time", f"{r.cycles:,} cycles = {format_quantity(r.seconds, 'time')}"],
        ["bandwidth", f"{r.bandwidth_GBps:.3f} GB/s ({_pct(r.bandwidth_GBps, s['peak_bandwidth_GBps'])} "
                      f"of {s['peak_bandwidth_GBps']:.2f} GB/s peak)"],
        ["read latency mean", f"{r.read_latency_mean_cycles:.1f} cycles = {r.read_latency_mean_cycles * tck:.1f} ns"],
        ["read latency p50", f"{r.read_latency_p50_cycles:.1f} cycles = {r.read_latency_p50_cycles * tck:.1f} ns"],
        ["read latency p99", f"{r.read_latency_p99_cycles:.1f} cycles = {r.read_latency_p99_cycles * tck:.1f} ns"],
        ["row hits", f"{r.row_hits:,} ({_pct(r.row_hits, classified)})"],
        ["row misses", f"{r.row_misses:,} ({_pct(r.row_misses, classified)})"],
        ["row conflicts", f"{r.row_conflicts:,} ({_pct(r.row_conflicts, classified)})"],
    ]
    if r.unfinished:
        rows.append(["unfinished requests", f"{r.unfinished:,}"])
    rows.append(["host time", f"{r.sim_wall_s:.3f} s in the kernel"])
    if "protocol_violations" in s:
        rows.append(["protocol check", "passed" if not s["protocol_violations"]
                     else f"{s['protocol_violations']} violation(s)"])
    print_table("DRAM simulation", ["metric", "value"], rows)
    cmd_rows = [[k, f"{v:,}"] for k, v in r.commands.items() if v]
    print_table("commands issued", ["command", "count"], cmd_rows, align_right=(1,))
    if energy is None:
        print_table("energy", ["component", "value"],
                    [["all", "not modelled: the memory description has no power parameters"]])
        return
    total = energy["total"]
    e_rows = [[k.replace("_", "/") if k == "activate_precharge" else k, format_quantity(v, "energy"),
               _pct(v, total)] for k, v in energy.items() if k != "total"]
    e_rows.append(["total", format_quantity(total, "energy"), "100 %"])
    e_rows.append(["average power", format_quantity(s["power_W"] or 0.0, "power"), ""])
    print_table("energy", ["component", "energy", "share"], e_rows, align_right=(1, 2))
