"""The DRAM engine facade: validate a request trace, decode addresses, run a profile kernel.

Python objects exist only here, at the edges; the per-cycle work runs in the numba kernels of
:mod:`sim.dram.kernels`. Public entry point: :func:`simulate`.

Trace semantics (a neutral request trace): ``arrive[i]`` is the earliest memory-clock cycle at which
request ``i`` may be offered. The frontend offers at most one request per cycle, in trace order,
and stalls while the target controller cannot accept it (its queue is full). How the offer cycle
turns into the controller's acceptance cycle depends on the profile (docs/dram.md): ``default``
accepts in the offer cycle and may issue the first command in that same cycle; ``dramsim3`` and
``ramulator2`` reproduce their simulators' one-cycle frontend-to-controller step.
"""

from __future__ import annotations

import time

import numpy as np

from sim.dram import mapping as mp
from sim.dram.commands import LOG_DTYPE, N_COMMANDS, NAMES
from sim.dram.kernels import common
from sim.dram.result import DramRun
from sim.dram.spec import DramSpec
from sim.dram.timing import PROFILES, TimingTable, build_table
from sim.errors import ConfigError, TraceError

_WARM: set[tuple] = set()


def _validate(arrive: np.ndarray, addr: np.ndarray, is_write: np.ndarray) -> tuple[np.ndarray, ...]:
    a = np.asarray(arrive)
    if a.dtype.kind not in "iu":
        raise TraceError(f"arrival cycles must be integers, got dtype {a.dtype}")
    a = a.astype(np.int64)
    ad = mp.as_uint64(addr)
    w = np.asarray(is_write).astype(np.bool_)
    if not (a.ndim == ad.ndim == w.ndim == 1) or not (a.shape == ad.shape == w.shape):
        raise TraceError("arrive, addr and is_write must be 1-D arrays of equal length "
                         f"(got {a.shape}, {ad.shape}, {w.shape})")
    if a.size:
        if a.min() < 0:
            raise TraceError(f"negative arrival cycle {int(a.min())} (request {int(np.argmin(a))})")
        d = np.diff(a)
        if d.size and d.min() < 0:
            i = int(np.argmax(d < 0)) + 1
            raise TraceError(f"requests must be in non-decreasing arrival order: request {i} arrives at "
                             f"cycle {int(a[i])}, before request {i - 1} at cycle {int(a[i - 1])}")
    return a, ad, w


def _geometry(spec: DramSpec, profile: str) -> tuple[int, int, int, int]:
    """Kernel (units, ranks per unit, banks per rank, banks per group) for a profile."""
    o = spec.org
    if profile == "ramulator2":
        return o.channels, o.pseudo_channels * o.ranks, o.banks, o.banks_per_group
    return o.units, o.ranks, o.banks, o.banks_per_group


def _kernel_coords(spec: DramSpec, profile: str, dec: mp.DecodedAddresses) -> tuple[np.ndarray, ...]:
    o = spec.org
    kbank = dec.bankgroup * o.banks_per_group + dec.bank
    if profile == "ramulator2":
        return dec.channel, dec.pseudo_channel * o.ranks + dec.rank, kbank
    return dec.channel * o.pseudo_channels + dec.pseudo_channel, dec.rank, kbank


def _to_external(spec: DramSpec, profile: str, arr: np.ndarray) -> np.ndarray:
    """(kernel unit, kernel rank, ...) array -> (flat unit, rank, ...)."""
    o = spec.org
    if profile == "ramulator2":
        return arr.reshape((o.units, o.ranks) + arr.shape[2:])
    return arr


def _refresh_interval(spec: DramSpec, profile: str) -> tuple[int, int]:
    """(mode, interval cycles) of the refresh manager for a profile; mode 0 = none."""
    c, t, o = spec.controller, spec.timing, spec.org
    if c.refresh == "none" or t.tREFI <= 0 and c.refresh != "perbank":
        return 0, 0
    if profile == "ramulator2":
        # Ramulator's AllBank manager loops over the "rank" level, which HBM and GDDR6 lack.
        std = o.standard.upper()
        if std.startswith("HBM") or std.startswith("GDDR"):
            return 0, 0
        return 1, t.tREFI
    if c.refresh == "allbank":
        return 1, t.tREFI
    if c.refresh == "staggered":
        return 2, max(1, t.tREFI // o.ranks)
    if c.refresh == "perbank":
        if t.tREFIpb <= 0 or t.tRFCpb <= 0:
            raise ConfigError("per-bank refresh needs tREFIpb and tRFCpb", key="timing.tREFIpb",
                              value=t.tREFIpb, expected="> 0 cycles")
        return 3, t.tREFIpb
    raise ConfigError("unknown refresh policy", key="controller.refresh", value=c.refresh,
                      expected="allbank, perbank, staggered or none")


def _addr_keys(values: np.ndarray) -> np.ndarray:
    """Dense integer id per distinct value (int64), numbered in order of first appearance.

    The kernels only compare ids, so any numbering gives the same results; first-appearance order
    makes the kernels' per-address tables fill sequentially (a new address touches the entry after
    the last new one, in cache) instead of at random, which saves a cache miss per request.
    """
    if values.size == 0:
        return np.zeros(0, dtype=np.int64)
    _, first, inv = np.unique(values, return_index=True, return_inverse=True)
    is_first = np.zeros(values.size, dtype=np.int64)
    is_first[first] = 1
    return (np.cumsum(is_first) - 1)[first][inv.reshape(-1)]


def _run_kernel(spec: DramSpec, profile: str, arrive: np.ndarray, coords: tuple, row: np.ndarray,
                col: np.ndarray, isw: np.ndarray, akey: np.ndarray, table: TimingTable,
                log_on: bool, idle_skip: bool = True) -> tuple:
    """Run the profile's kernel; returns the device state ``(rd, bk, rk)``, the per-request arrays
    ``(stamp, done, cls)``, the log and its counters, the end cycle, unfinished requests and extras."""
    cap = 4 * arrive.size + 1024
    while True:
        out = _run_once(spec, profile, arrive, coords, row, col, isw, akey, table, log_on, idle_skip, cap)
        lg_n = out[5]
        if not log_on or lg_n[3] == 0:
            return out
        cap = int(lg_n[0]) + 1024          # the log overflowed: run again with room for every command


def _run_once(spec: DramSpec, profile: str, arrive: np.ndarray, coords: tuple, row: np.ndarray,
              col: np.ndarray, isw: np.ndarray, akey: np.ndarray, table: TimingTable, log_on: bool,
              idle_skip: bool, log_cap: int) -> tuple:
    U, R, NBK, BPG = _geometry(spec, profile)
    n = arrive.size
    t, c = spec.timing, spec.controller
    kunit, krank, kbank = coords
    knb = krank * NBK + kbank
    mode, interval = _refresh_interval(spec, profile)
    lg, lg_n = common.new_log(log_on, log_cap)
    stamp = np.full(n, -1, dtype=np.int64)
    done = np.full(n, -1, dtype=np.int64)
    cls = np.full(n, -1, dtype=np.int64)
    nkeys = int(akey.max()) + 1 if n else 1
    dev, (gm, rd, bk, rk) = common.device(U, R, NBK, BPG, table, t.tRFC, t.tRFCpb if profile == "default" else 0)
    state = (dev, gm, rd, bk, rk)
    std = spec.org.standard.upper()
    dual = bool(c.hbm_dual_cmd) and std.startswith("HBM")
    args = (arrive, kunit, knb, row, col, isw, akey, stamp, done, cls)
    if profile == "dramsim3":
        from sim.dram.kernels import dramsim3 as k
        pr = np.array([c.read_queue, c.write_queue, c.cmd_queue_size, t.RL + t.tBL, mode, interval, int(dual),
                       int(c.page_policy == "closed"), int(log_on), int(idle_skip)], dtype=np.int64)
        ws = k.workspace(n, nkeys, U, R * NBK, int(c.read_queue), int(c.write_queue), int(c.cmd_queue_size))
        merged, undrained, fwd = k.run(*args, *ws, *state, pr, lg, lg_n)
        extra = {"merged": int(merged), "forwarded": int(fwd), "writes_undrained": int(undrained)}
    elif profile == "ramulator2":
        from sim.dram.kernels import ramulator2 as k
        qa = 32
        hi = float(c.write_high * c.write_queue)    # "more than hi" / "fewer than lo" writes, as integers
        lo = float(c.write_low * c.write_queue)
        pr = np.array([c.read_queue, c.write_queue, qa, int(np.floor(hi)), int(np.ceil(lo)), t.CL + t.tBL,
                       interval if mode else 0, int(log_on), int(idle_skip)], dtype=np.int64)
        ws = k.workspace(nkeys, U, int(c.read_queue), int(c.write_queue), qa)
        fwd = k.run(*args, *ws, *state, pr, lg, lg_n)
        extra = {"forwarded": int(fwd)}
    else:
        from sim.dram.kernels import default as k
        hi = max(1, int(np.ceil(c.write_high * c.write_queue)))
        lo = int(np.floor(c.write_low * c.write_queue))
        pol = {"open": 0, "closed": 1, "timeout": 2}[c.page_policy]
        sched = {"frfcfs": 0, "fcfs": 1}[c.scheduler]
        pr = np.array([c.read_queue, c.write_queue, hi, lo, sched, pol, c.page_timeout, t.RL + t.tBL, mode, interval,
                       int(dual), int(log_on), int(idle_skip)], dtype=np.int64)
        ws = k.workspace(nkeys, U, R, R * NBK, int(c.read_queue), int(c.write_queue))
        merged, fwd = k.run(*args, *ws, *state, pr, lg, lg_n)
        extra = {"merged": int(merged), "forwarded": int(fwd)}
    end = max(int(done.max()), 0) if n else 0
    unfinished = int(np.sum(done < 0))
    return (rd, bk, rk), stamp, done, cls, lg, lg_n, end, unfinished, extra


def _check_profile(spec: DramSpec) -> str:
    c = spec.controller
    prof = c.compat
    if prof not in PROFILES:
        raise ConfigError("unknown DRAM controller profile", key="controller.compat", value=prof,
                          expected=" / ".join(PROFILES))
    if c.page_policy not in ("open", "closed", "timeout"):
        raise ConfigError("unknown page policy", key="controller.page_policy", value=c.page_policy,
                          expected="open, closed or timeout")
    if c.scheduler not in ("frfcfs", "fcfs"):
        raise ConfigError("unknown scheduler", key="controller.scheduler", value=c.scheduler,
                          expected="frfcfs or fcfs")
    if prof == "ramulator2" and c.page_policy != "open":
        raise ConfigError("the ramulator2 profile reproduces OpenRowPolicy only",
                          key="controller.page_policy", value=c.page_policy, expected="open")
    if prof == "dramsim3" and c.page_policy == "timeout":
        raise ConfigError("the dramsim3 profile has OPEN_PAGE and CLOSE_PAGE only",
                          key="controller.page_policy", value=c.page_policy, expected="open or closed")
    if prof == "ramulator2" and c.refresh == "perbank":
        raise ConfigError("the ramulator2 profile reproduces the AllBank refresh manager only",
                          key="controller.refresh", value=c.refresh, expected="allbank or none")
    if prof == "dramsim3" and c.refresh == "perbank":
        raise ConfigError("the dramsim3 profile reproduces rank-level refresh only", key="controller.refresh",
                          value=c.refresh, expected="staggered, allbank or none")
    if not 0.0 <= c.write_low < c.write_high <= 1.0:
        raise ConfigError("write watermarks must satisfy 0 <= write_low < write_high <= 1",
                          key="controller.write_low", value=(c.write_low, c.write_high))
    if c.read_queue < 1 or c.write_queue < 1:
        raise ConfigError("queue sizes must be >= 1", key="controller.read_queue", value=c.read_queue)
    return prof


def warm_up(spec: DramSpec) -> float:
    """Compile (or load from cache) the kernel ``spec`` uses; returns the seconds it took."""
    prof = _check_profile(spec)
    key = (prof,)
    if key in _WARM:
        return 0.0
    t0 = time.perf_counter()
    _simulate(spec, np.zeros(2, dtype=np.int64), np.zeros(2, dtype=np.uint64),
              np.array([False, True]), log_commands=True, timed=False)
    _WARM.add(key)
    return time.perf_counter() - t0


def simulate(spec: DramSpec, arrive: np.ndarray, addr: np.ndarray, is_write: np.ndarray, *,
             log_commands: bool = False, idle_skip: bool = True) -> DramRun:
    """Simulate a request trace on ``spec`` with the controller profile ``spec.controller.compat``.

    ``arrive``: earliest offer cycle of each request (memory clocks, non-decreasing);
    ``addr``: byte addresses (uint64 or non-negative int64); ``is_write``: bool per request.
    ``idle_skip=False`` evaluates the controller every cycle instead of jumping over cycles in which
    nothing can happen; results are identical (a check of the skipping), only slower.
    Raises :class:`~sim.errors.TraceError` for unsorted arrivals or addresses beyond capacity and
    :class:`~sim.errors.ConfigError` for unusable controller settings.
    """
    warm_up(spec)
    return _simulate(spec, arrive, addr, is_write, log_commands=log_commands, timed=True, idle_skip=idle_skip)


def _simulate(spec: DramSpec, arrive: np.ndarray, addr: np.ndarray, is_write: np.ndarray, *,
              log_commands: bool, timed: bool, idle_skip: bool = True) -> DramRun:
    profile = _check_profile(spec)
    a, ad, w = _validate(arrive, addr, is_write)
    mapping = mp.build_mapping(spec)
    dec = mp.decode(mapping, ad)
    table = build_table(spec, profile)
    coords = _kernel_coords(spec, profile, dec)
    akey = _addr_keys(ad >> np.uint64(mapping.shift) if profile == "default" else ad)
    isw = w.astype(np.int64)
    t0 = time.perf_counter()
    st, stamp, done, cls, lg, lg_n, end, unfinished, extra = _run_kernel(
        spec, profile, a, coords, dec.row, dec.column, isw, akey, table, log_commands, idle_skip)
    wall = time.perf_counter() - t0
    U, R = _geometry(spec, profile)[:2]
    common.finish_active(st[2], end)
    n = a.size
    reads = int(n - w.sum())
    rmask = (~w) & (done >= 0)
    lat = (done[rmask] - stamp[rmask]).astype(np.int64)
    cmd_counts = _to_external(spec, profile, common.counts(st[2], U, R))
    commands = {NAMES[c]: int(cmd_counts[..., c].sum()) for c in NAMES}
    log = None
    if log_commands:
        log = _build_log(spec, profile, lg[: int(lg_n[0])])
    return DramRun(
        spec_name=spec.name, profile=profile, requests=n, reads=reads, writes=n - reads, cycles=int(end),
        tCK_ns=spec.timing.tCK_ns, tx_bytes=mapping.tx_bytes, read_latencies=lat,
        row_hits=int(np.sum(cls == 0)), row_misses=int(np.sum(cls == 1)), row_conflicts=int(np.sum(cls == 2)),
        commands=commands, cmd_counts=cmd_counts,
        rank_active_cycles=_to_external(spec, profile, common.rank_column(st[2], common.ACTIVE, U, R)),
        rank_refresh_cycles=_to_external(spec, profile, common.rank_column(st[2], common.REF_BUSY, U, R)),
        accept_cycles=stamp, done_cycles=done, unfinished=int(unfinished),
        forwarded_reads=int(extra.pop("forwarded", 0)), merged_requests=int(extra.pop("merged", 0)),
        command_log=log, sim_wall_s=wall if timed else 0.0,
        extra={**extra, "kernel_iterations": int(lg_n[1]), "unit_ticks": int(lg_n[2]),
               "last_accept_cycle": int(stamp.max()) if n else 0},
    )


def _build_log(spec: DramSpec, profile: str, lg: np.ndarray) -> np.ndarray:
    o = spec.org
    out = np.zeros(lg.shape[0], dtype=LOG_DTYPE)
    out["cycle"] = lg[:, 0]
    out["cmd"] = lg[:, 1]
    u, r, b = lg[:, 2], lg[:, 3], lg[:, 4]
    if profile == "ramulator2":
        out["channel"] = u * o.pseudo_channels + r // o.ranks
        out["rank"] = r % o.ranks
    else:
        out["channel"] = u
        out["rank"] = r
    out["bankgroup"] = np.where(b >= 0, b // o.banks_per_group, -1)
    out["bank"] = np.where(b >= 0, b % o.banks_per_group, -1)
    out["row"] = lg[:, 5]
    out["column"] = lg[:, 6]
    return out


__all__ = ["simulate", "warm_up", "DramRun", "N_COMMANDS"]
