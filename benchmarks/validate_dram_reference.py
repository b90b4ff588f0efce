"""pimsim's ``dramsim3`` / ``ramulator2`` profiles against DRAMsim3 / Ramulator 2.0, command by command.

Generates request traces from fixed seeds (in a temporary directory) for each shared configuration of a
reference simulator, runs the reference through our driver (built against your own checkout:
benchmarks/reference/README.md) and pimsim in-process (``sim.dram.engine.simulate(..., log_commands=True)``
under the matching ``--compat`` profile), and compares

* the command logs, command by command (cycle, command, channel, rank or pseudo-channel, bank group, bank,
  row, column; a field one side does not log counts as equal),
* the command counts per type (the reference's own counters against pimsim's ``commands``),
* the mean read latency (acceptance to data return), the cycles to the last completion (read data
  return, WR issue; DRAMsim3's write acknowledgement), and the bandwidth (completed requests x transaction
  bytes / time; writes DRAMsim3 still buffers at the end do not count, as in pimsim; the Ramulator
  driver prints no tCK, so pimsim's is used for its time).

Traces (``--requests N`` each): stream (consecutive transactions), random, stride4k (4 KiB stride),
rowconflict (two rows of one bank alternating, walking the columns), mixed (random, 30 % writes), lowload
(one random read every 100 cycles), and the stress traces hot (64 hot lines, 30 % writes: duplicate
addresses, read-after-write, write merging/forwarding), raw (each write followed by a read of the same
line in the next cycle, 70 % of the time) and bursty (bursts of 256 requests every 20000 cycles, 20 %
writes: idle gaps across refreshes). raw offers one request per cycle, lowload and bursty as said, all
others offer every request at cycle 0 (saturating: the frontend accepts at most one per cycle).

Configurations (``--configs DIR``, default ``../shared/data/dram_configs`` beside the repository):
DRAMsim3 DDR4 / HBM2 / GDDR6 .ini; Ramulator DDR4, HBM2 and HBM2 channel-width-256 YAML. The Ramulator
HBM2 runs pass ``-p MemorySystem.DRAM.org.density=8192`` to the driver: some Ramulator 2.0 versions
preset HBM2_8Gb with density 6144, which fails Ramulator's own density check for this organisation
(2 pseudo-channels x 16 banks x 32768 rows x 64 columns x 128 bit = 8192 Mb); the override changes
nothing else (the density only selects nRFC, and Ramulator never refreshes HBM2).

    PYTHONPATH=. python benchmarks/validate_dram_reference.py [--dramsim3 PATH/dramsim3_run_trace]
        [--ramulator2 PATH/ramulator2_run_trace] [--requests 20000] [--configs DIR] [--traces a,b,...]

Prints a table (relative errors are (pimsim - reference) / reference) and, last, one line of JSON;
progress goes to stderr. Exits with status 1 when any run differs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.dram.commands import NAMES  # noqa: E402
from sim.dram.configs import load_memory  # noqa: E402
from sim.dram.engine import simulate  # noqa: E402
from sim.dram.mapping import build_mapping, encode  # noqa: E402
from sim.dram.spec import DramSpec  # noqa: E402
from sim.dram.traces import write_csv, write_dramsim3  # noqa: E402

_CONFIGS = Path(__file__).resolve().parents[2] / "shared" / "data" / "dram_configs"

#: name -> (.ini file)
DRAMSIM3_CONFIGS = {
    "ddr4": "dramsim3_DDR4_8Gb_x8_2400.ini",
    "hbm2": "dramsim3_HBM2_8Gb_x128.ini",
    "gddr6": "dramsim3_GDDR6_8Gb_x16.ini",
}
_DENSITY = ("MemorySystem.DRAM.org.density=8192",)
#: name -> (YAML file, Ramulator -p overrides)
RAMULATOR2_CONFIGS = {
    "ddr4": ("ramulator2_DDR4_8Gb_x8_2400U_1ch2ra.yaml", ()),
    "hbm2": ("ramulator2_HBM2_8Gb_2Gbps_8ch.yaml", _DENSITY),
    "hbm2cw256": ("ramulator2_HBM2_8Gb_2Gbps_8ch_cw256.yaml", _DENSITY),
}
TRACES = ("stream", "random", "stride4k", "rowconflict", "mixed", "lowload", "hot", "raw", "bursty")
SEED = 20240601

#: command names of each side -> pimsim's names
_DRAMSIM3_NAMES = {"activate": "ACT", "precharge": "PRE", "read": "RD", "read_p": "RDA", "write": "WR",
                   "write_p": "WRA", "refresh": "REF", "refresh_bank": "REFpb"}
_RAMULATOR2_NAMES = {"REFab": "REF", "REFsb": "REFpb", "REFpb": "REFpb"}
#: counted command groups (the references count RDA with RD, WRA with WR; PREA is a PRE)
_GROUP = {"RDA": "RD", "WRA": "WR", "PREA": "PRE"}

#: one normalised command: (cycle, command, channel, rank or pseudo-channel, bankgroup, bank, row, column);
#: -1 in a field = not logged / not applicable (equal to anything)
Command = tuple[int, str, int, int, int, int, int, int]


# --- traces ---------------------------------------------------------------------------------------------
def make_traces(spec: DramSpec, n: int, seed: int = SEED,
                names: Sequence[str] = TRACES) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The validation traces for ``spec`` (its profile's address mapping): name -> (arrive, addr, is_write).

    Addresses are aligned to the transaction size and below the mapping's capacity; every trace is a
    function of (spec, n, seed, name) only.
    """
    m = build_mapping(spec)
    tx, cap = m.tx_bytes, m.capacity_bytes
    lines = cap // tx
    out = {}
    for k, name in enumerate(TRACES):
        if name not in names:
            continue
        rng = np.random.default_rng([seed, k])
        i = np.arange(n, dtype=np.int64)
        arrive = np.zeros(n, dtype=np.int64)
        w = np.zeros(n, dtype=bool)
        if name == "stream":
            addr = (i % lines) * tx
        elif name == "random":
            addr = rng.integers(0, lines, n) * tx
        elif name == "stride4k":
            addr = (i * 4096) % cap
        elif name == "rowconflict":
            ncol = 1 << m.widths.get("co", 0)  # rows 0 and 1 of bank 0, columns walking the row
            table = np.array([[encode(m, row=r, column=c) for c in range(ncol)] for r in (0, 1)], dtype=np.int64)
            addr = table[i % 2, (i // 2) % ncol]
        elif name == "mixed":
            addr = rng.integers(0, lines, n) * tx
            w = rng.random(n) < 0.3
        elif name == "lowload":
            addr = rng.integers(0, lines, n) * tx
            arrive = 100 * i
        elif name == "hot":
            hot = rng.integers(0, lines, 64) * tx
            addr = hot[rng.integers(0, 64, n)]
            w = rng.random(n) < 0.3
        elif name == "raw":
            other = rng.integers(0, lines, n) * tx
            first = rng.integers(0, lines, n) * tx
            same = rng.random(n) < 0.7
            addr = np.where(i % 2 == 0, first, np.where(same, np.roll(first, 1), other))
            w = i % 2 == 0
            arrive = i
        elif name == "bursty":
            addr = rng.integers(0, lines, n) * tx
            w = rng.random(n) < 0.2
            arrive = (i // 256) * 20000
        else:  # pragma: no cover - TRACES lists every name
            raise ValueError(name)
        out[name] = (arrive.astype(np.int64), addr.astype(np.uint64), w)
    return out


# --- command logs ---------------------------------------------------------------------------------------
def parse_dramsim3_log(lines: Iterable[str], channel: int) -> list[Command]:
    """One DRAMsim3 CMD_TRACE file (``clk command ch rank bg bank 0xrow 0xcol``), in file order.

    The file name gives the channel (``dramsim3ch_<N>cmd.trace``); REF carries no bank, row or column.
    """
    out: list[Command] = []
    for line in lines:
        p = line.split()
        if len(p) < 8:
            continue
        name = _DRAMSIM3_NAMES.get(p[1], p[1])
        if name == "REF":
            out.append((int(p[0]), name, channel, int(p[3]), -1, -1, -1, -1))
        else:
            out.append((int(p[0]), name, channel, int(p[3]), int(p[4]), int(p[5]), int(p[6], 16), int(p[7], 16)))
    return out


def read_dramsim3_logs(out_dir: Path) -> list[Command]:
    """All channels' command traces of one DRAMsim3 run, sorted by (cycle, channel), issue order kept."""
    log: list[Command] = []
    for f in out_dir.glob("dramsim3ch_*cmd.trace"):
        ch = int(f.name[len("dramsim3ch_"):-len("cmd.trace")])
        with f.open() as fh:
            log.extend(parse_dramsim3_log(fh, ch))
    return sort_log(log)


def parse_ramulator2_log(lines: Iterable[str]) -> list[Command]:
    """The driver's command log (``clk,COMMAND,addr_vec...``, addr_vec = channel, rank or pseudo-channel,
    bankgroup, bank, row, column for DDR4 and HBM2), in file order."""
    out: list[Command] = []
    for line in lines:
        p = line.strip().split(",")
        if len(p) < 2 or not p[0].lstrip("-").isdigit():
            continue
        v = [int(x) for x in p[2:8]] + [-1] * (8 - len(p))
        out.append((int(p[0]), _RAMULATOR2_NAMES.get(p[1], p[1]), *v))  # type: ignore[arg-type]
    return out


def pimsim_log(log: np.ndarray, pseudo_channels: int = 1) -> list[Command]:
    """pimsim's command log array; with pseudo-channels the flat channel becomes (channel, pseudo-channel)
    as Ramulator's address vector has it (pimsim's rank is 0 there)."""
    pc = max(pseudo_channels, 1)
    ch = log["channel"].astype(np.int64)
    sub = ch % pc if pc > 1 else log["rank"].astype(np.int64)
    cols = [log["cycle"].tolist(), [NAMES.get(int(c), f"cmd{c}") for c in log["cmd"]], (ch // pc).tolist(),
            sub.tolist(), log["bankgroup"].tolist(), log["bank"].tolist(), log["row"].tolist(),
            log["column"].tolist()]
    return sort_log(list(zip(*cols, strict=True)))


def sort_log(log: list[Command]) -> list[Command]:
    """Sorted by (cycle, channel); the order within one channel and cycle (issue order) is kept."""
    return sorted(log, key=lambda c: (c[0], c[2]))


def same_command(a: Command, b: Command) -> bool:
    """Equal cycle and command, and equal fields where both sides give one (-1 = not given)."""
    if a == b:
        return True
    if a[0] != b[0] or a[1] != b[1]:
        return False
    return all(x == y or x == -1 or y == -1 for x, y in zip(a[2:], b[2:], strict=True))


def first_divergence(ref: Sequence[Command], sim: Sequence[Command]) -> int | None:
    """Index of the first differing command of two sorted logs; None when they are the same."""
    n = min(len(ref), len(sim))
    for k in range(n):
        if not same_command(ref[k], sim[k]):
            return k
    return None if len(ref) == len(sim) else n


def group_counts(counts: dict[str, int]) -> dict[str, int]:
    """Command counts by type, RDA counted as RD, WRA as WR and PREA as PRE; zero counts dropped."""
    out: Counter[str] = Counter()
    for name, v in counts.items():
        out[_GROUP.get(name, name)] += int(v)
    return {k: v for k, v in sorted(out.items()) if v}


def rel(sim: float, ref: float) -> float:
    """(sim - ref) / ref; 0 when both are 0, inf when only ref is."""
    if ref == 0:
        return 0.0 if sim == 0 else float("inf")
    return (sim - ref) / ref


def max_count_error(ref: dict[str, int], sim: dict[str, int]) -> float:
    """Largest relative count error over the command types either side counts."""
    return max((abs(rel(sim.get(k, 0), ref.get(k, 0))) for k in set(ref) | set(sim)), default=0.0)


# --- runs -----------------------------------------------------------------------------------------------
def _run_dramsim3(binary: str, ini: Path, trace: Path, out_dir: Path) -> tuple[dict, list[Command]]:
    out_dir.mkdir(parents=True, exist_ok=True)
    res = subprocess.run([binary, str(ini), str(trace), str(out_dir)], capture_output=True, text=True, check=True)
    line = next(x for x in res.stdout.splitlines() if x.startswith("RESULT "))
    r = json.loads(line[len("RESULT "):])
    log = read_dramsim3_logs(out_dir)
    if not log and r["num_act_cmds"] + r["num_read_cmds"] + r["num_write_cmds"]:
        raise RuntimeError(f"{binary}: no dramsim3ch_*cmd.trace written -- was DRAMsim3 built with -DCMD_TRACE?")
    last_wr = max((c[0] for c in log if c[1] in ("WR", "WRA")), default=0)
    # pimsim's definition of the end: last read data return, last WR issue, or last write acknowledgement
    cycles = max(r["last_read_callback_cycle"], last_wr, r["last_callback_cycle"] if r["writes"] else 0)
    counts = {"ACT": r["num_act_cmds"], "PRE": r["num_pre_cmds"], "RD": r["num_read_cmds"],
              "WR": r["num_write_cmds"], "REF": r["num_ref_cmds"], "REFpb": r["num_refb_cmds"]}
    # DRAMsim3 acknowledges a write at acceptance; pimsim counts a write still buffered at the end (DRAMsim3
    # does not drain fewer than its write-drain threshold) as unfinished, so those are not completed here
    completed = r["reads_done"] + r["writes_done"] - r["writes_undrained"]
    return {"cycles": cycles, "latency": r["mean_read_latency_driver"], "completed": completed,
            "tCK_ns": r["tCK"], "counts": group_counts(counts), "native_latency": r["average_read_latency"],
            "native_bandwidth_GBps": r["average_bandwidth_sum_GBps"], "deadlock": r["deadlock"]}, log


def _run_ramulator2(binary: str, yaml: Path, overrides: Sequence[str], trace: Path,
                    log_path: Path) -> tuple[dict, list[Command]]:
    args = [binary, "-f", str(yaml), "-t", str(trace), "-l", str(log_path)]
    for p in overrides:
        args += ["-p", p]
    res = subprocess.run(args, capture_output=True, text=True)
    lines = [x for x in res.stdout.splitlines() if x.startswith("{")]
    if res.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(args)} failed (status {res.returncode}): {res.stderr[-2000:]}")
    r = json.loads(lines[-1])
    with log_path.open() as f:
        log = sort_log(parse_ramulator2_log(f))
    counts = {_RAMULATOR2_NAMES.get(k, k): v for k, v in r["commands"].items()}
    return {"cycles": r["cycles"], "latency": r["read_latency_mean_callback"], "completed": r["completed"],
            "tCK_ns": None, "counts": group_counts(counts), "native_latency": r["read_latency_mean_depart"],
            "last_accept_cycle": r["last_accept_cycle"]}, log


def _compare(cfg: str, trace: str, ref: dict, ref_log: list[Command], run, sim_log: list[Command]) -> dict:
    tck_ref = ref["tCK_ns"] or run.tCK_ns
    bw_ref = ref["completed"] * run.tx_bytes / (ref["cycles"] * tck_ref) if ref["cycles"] else 0.0
    sim_counts = group_counts(run.commands)
    lat_sim = run.read_latency_mean_cycles
    if abs(lat_sim - ref["latency"]) < 1e-6:  # drivers print the mean with 6 decimals (or more)
        lat_sim = ref["latency"]
    div = first_divergence(ref_log, sim_log)
    row = {"config": cfg, "trace": trace, "requests": run.requests, "commands_ref": len(ref_log),
           "commands_sim": len(sim_log), "first_divergence": div,
           "latency_ref": ref["latency"], "latency_sim": run.read_latency_mean_cycles,
           "cycles_ref": ref["cycles"], "cycles_sim": run.cycles,
           "bandwidth_ref_GBps": bw_ref, "bandwidth_sim_GBps": run.bandwidth_GBps,
           "counts_ref": ref["counts"], "counts_sim": sim_counts,
           "latency_rel": rel(lat_sim, ref["latency"]),
           "cycles_rel": rel(run.cycles, ref["cycles"]),
           "bandwidth_rel": rel(run.bandwidth_GBps, bw_ref),
           "counts_rel": max_count_error(ref["counts"], sim_counts),
           "unfinished_sim": run.unfinished, "completed_ref": ref["completed"],
           "reference_native": {k: ref[k] for k in ("native_latency", "native_bandwidth_GBps", "last_accept_cycle",
                                                    "deadlock") if k in ref}}
    if div is not None:
        lo = max(0, div - 3)
        row["context_ref"] = [list(c) for c in ref_log[lo:div + 3]]
        row["context_sim"] = [list(c) for c in sim_log[lo:div + 3]]
    row["identical"] = (div is None and row["counts_rel"] == 0 and row["latency_rel"] == 0
                        and row["cycles_rel"] == 0 and abs(row["bandwidth_rel"]) < 1e-9)
    return row


def validate(simulator: str, binary: str, configs: Path, n: int, names: Sequence[str], tmp: Path) -> list[dict]:
    """Every (config, trace) of one reference simulator; one result row each."""
    table = DRAMSIM3_CONFIGS if simulator == "dramsim3" else RAMULATOR2_CONFIGS
    rows = []
    for k, (cfg, entry) in enumerate(table.items()):
        file, overrides = (entry, ()) if simulator == "dramsim3" else entry
        path = configs / file
        spec = load_memory(path, compat=simulator)
        for trace, (arr, addr, w) in make_traces(spec, n, seed=SEED + k, names=names).items():
            t0 = time.perf_counter()
            stem = tmp / f"{simulator}_{cfg}_{trace}"
            if simulator == "dramsim3":
                write_dramsim3(stem.with_suffix(".trace"), arr, addr, w)
                ref, ref_log = _run_dramsim3(binary, path, stem.with_suffix(".trace"), stem)
            else:
                write_csv(stem.with_suffix(".csv"), arr, addr, w, header=False)
                ref, ref_log = _run_ramulator2(binary, path, overrides, stem.with_suffix(".csv"),
                                               stem.with_suffix(".log"))
            t1 = time.perf_counter()
            run = simulate(spec, arr, addr, w, log_commands=True)
            sim_log = pimsim_log(run.command_log, spec.org.pseudo_channels if simulator == "ramulator2" else 1)
            row = _compare(cfg, trace, ref, ref_log, run, sim_log)
            row["simulator"] = simulator
            rows.append(row)
            print(f"{simulator} {cfg} {trace}: {len(ref_log)} commands, first divergence "
                  f"{row['first_divergence']}, reference {t1 - t0:.1f} s, pimsim {time.perf_counter() - t1:.1f} s",
                  file=sys.stderr, flush=True)
            if row["first_divergence"] is not None:
                for a, b in zip(row["context_ref"], row["context_sim"], strict=False):
                    print(f"    ref {a}    pimsim {b}", file=sys.stderr)
    return rows


def _fmt_rel(x: float) -> str:
    return "0" if abs(x) < 1e-12 else f"{x:+.2e}"  # below 1e-12: rounding of equal quantities


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dramsim3", help="benchmarks/reference/dramsim3_run_trace built against DRAMsim3 (-DCMD_TRACE)")
    ap.add_argument("--ramulator2", help="benchmarks/reference/ramulator2_run_trace built against Ramulator 2.0")
    ap.add_argument("--requests", type=int, default=20000, help="requests per trace")
    ap.add_argument("--configs", type=Path, default=_CONFIGS, help="directory of the shared .ini / YAML files")
    ap.add_argument("--traces", default=",".join(TRACES), help="comma-separated subset of " + ",".join(TRACES))
    args = ap.parse_args(argv)
    if not (args.dramsim3 or args.ramulator2):
        ap.error("give --dramsim3 and/or --ramulator2")
    names = [t for t in args.traces.split(",") if t]
    unknown = sorted(set(names) - set(TRACES))
    if unknown:
        ap.error(f"unknown traces {unknown}")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for simulator, binary in (("dramsim3", args.dramsim3), ("ramulator2", args.ramulator2)):
            if binary:
                rows += validate(simulator, binary, args.configs, args.requests, names, Path(tmp))
    hdr = (f"{'simulator':<10} {'config':<10} {'trace':<11} {'requests':>8} {'commands ref/pimsim':>19} "
           f"{'first div':>9} {'latency':>9} {'cycles':>9} {'bandwidth':>9} {'counts':>9}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        div = "none" if r["first_divergence"] is None else str(r["first_divergence"])
        cmds = f"{r['commands_ref']}/{r['commands_sim']}"
        print(f"{r['simulator']:<10} {r['config']:<10} {r['trace']:<11} {r['requests']:>8} {cmds:>19} {div:>9} "
              f"{_fmt_rel(r['latency_rel']):>9} {_fmt_rel(r['cycles_rel']):>9} {_fmt_rel(r['bandwidth_rel']):>9} "
              f"{_fmt_rel(r['counts_rel']):>9}")
    differing = [f"{r['simulator']}:{r['config']}:{r['trace']}" for r in rows if not r["identical"]]
    print(f"{len(rows) - len(differing)} of {len(rows)} runs identical (relative errors: (pimsim - reference) / "
          f"reference; latency = mean read latency, counts = largest per-type command count error)")
    summary = {"requests": args.requests, "runs": len(rows), "identical": len(rows) - len(differing),
               "differing": differing,
               "results": [{k: v for k, v in r.items() if not k.startswith("context")} for r in rows]}
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    sys.exit(1 if main()["differing"] else 0)
