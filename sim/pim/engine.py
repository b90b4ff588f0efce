"""Run PIM command streams: one numba kernel call per *distinct* channel stream, results summed.

Python objects exist only here, at the edges; :mod:`sim.pim.kernel` does the per-command work. A stream
is the in-order command list of one (pseudo-)channel (:class:`ChannelStream`). Channels are independent
(each has its own controller, command bus and banks; PIM-GPT/AiM broadcast the input vector per channel),
so identical streams are simulated once and their results reused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from sim.dram.commands import LOG_DTYPE, REFAB
from sim.pim import commands as C
from sim.pim import kernel as K
from sim.pim.errors import PimCommandError
from sim.pim.spec import PimSpec
from sim.pim.timing import build_pim_table


@dataclass(frozen=True)
class ChannelStream:
    """One channel's in-order command stream (int64 arrays of equal length).

    ``mask`` is a bank bit mask over the channel's flat banks (``rank * banks + bankgroup *
    banks_per_group + bank``); ``col`` the first column (or buffer entry) and ``cnt`` the repeat count
    (consecutive columns / entries)."""

    cmd: np.ndarray
    mask: np.ndarray
    row: np.ndarray
    col: np.ndarray
    cnt: np.ndarray

    @staticmethod
    def from_rows(rows: list[tuple[int, int, int, int, int]]) -> ChannelStream:
        """From ``(cmd, mask, row, col, cnt)`` tuples."""
        a = np.array(rows, dtype=np.int64).reshape(-1, 5)
        return ChannelStream(a[:, 0].copy(), a[:, 1].copy(), a[:, 2].copy(), a[:, 3].copy(), a[:, 4].copy())

    def key(self) -> bytes:
        """Identity of the stream's content (for de-duplication)."""
        return b"".join(x.tobytes() for x in (self.cmd, self.mask, self.row, self.col, self.cnt))

    def __len__(self) -> int:
        return int(self.cmd.shape[0])


@dataclass
class PimRun:
    """The outcome of running one stream per channel. Cycles are DRAM command-clock cycles (tCK)."""

    cycles: int                       #: completion of the slowest channel
    channel_cycles: np.ndarray        #: int64 per channel
    counts: np.ndarray                #: int64 [NC] commands issued, all channels
    bank_ops: np.ndarray              #: int64 [NC] banks reached, summed over commands and channels
    row_hits: int
    row_misses: int
    refreshes: int
    active_cycles: np.ndarray         #: int64 per channel: cycles with >= 1 bank open, up to ``cycles``
    tCK_ns: float
    distinct_streams: int = 0
    kernel_s: float = 0.0
    command_log: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        """Simulated time, seconds."""
        return self.cycles * self.tCK_ns * 1e-9

    def commands(self) -> dict[str, int]:
        """Commands issued per name (non-zero only)."""
        return {C.NAMES.get(c, f"cmd{c}"): int(n) for c, n in enumerate(self.counts) if n}


@lru_cache(maxsize=32)
def geometry(spec: PimSpec) -> dict[str, np.ndarray | int]:
    """Per-bank arrays of a channel: rank, bank group, bank, bank-group and rank masks."""
    o = spec.dram.org
    nbk, bpg = o.banks, o.banks_per_group
    nb = o.ranks * nbk
    b = np.arange(nb, dtype=np.int64)
    rank, bg, ba = b // nbk, (b % nbk) // bpg, b % bpg
    bgmask = np.zeros(nb, np.int64)
    rankmask = np.zeros(nb, np.int64)
    for i in range(nb):
        bgmask[i] = sum(1 << j for j in range(nb) if rank[j] == rank[i] and bg[j] == bg[i])
        rankmask[i] = sum(1 << j for j in range(nb) if rank[j] == rank[i])
    return {"rank": rank, "bg": bg, "ba": ba, "bgmask": bgmask, "rankmask": rankmask, "nranks": int(o.ranks),
            "all": int((1 << nb) - 1), "nb": nb}


@lru_cache(maxsize=8)
def _props(command_set: str) -> dict[str, np.ndarray]:
    p = C.property_arrays(command_set)
    is_buf = np.zeros(C.NC, np.int64)
    is_buf[C.WR_GB] = 1
    is_buf[C.WR_GRF] = 1
    p["is_buf"] = is_buf
    p["act_codes"] = np.array(C.ACT_CODES[command_set], np.int64)
    p["pre_codes"] = np.array(C.PRE_CODES[command_set], np.int64)
    return p


@lru_cache(maxsize=64)
def _static(spec: PimSpec, dtype: str) -> tuple[np.ndarray, ...]:
    """The kernel's constant inputs for ``spec`` and ``dtype``: the table arrays, cprop, bprop, par."""
    tb = build_pim_table(spec, dtype)
    g = geometry(spec)
    pr = _props(spec.pim.command_set)
    cprop = np.stack([pr["kind"], pr["reach"], pr["act_reach"], pr["modes"], pr["mode_set"], pr["is_buf"],
                      tb.done_lat], axis=1).astype(np.int64)
    bprop = np.stack([g["rank"], g["bg"], g["ba"], g["bgmask"], g["rankmask"]], axis=1).astype(np.int64)
    t = spec.dram.timing
    tREFI = t.tREFI if spec.dram.controller.refresh != "none" else 0
    par = np.array([*pr["act_codes"], *pr["pre_codes"], REFAB, g["nranks"], g["all"], spec.dram.org.rows,
                    spec.row_columns, spec.buffer_columns, spec.pim.banks_per_pu, tREFI, 0, 0, 0], np.int64)
    return tb.dly, tb.fol_start, tb.fol_list, tb.windows, cprop, bprop, par


def _call(spec: PimSpec, s: ChannelStream, dtype: str, log_cap: int, ref_phase: int, hold: int = 0) -> tuple:
    dly, fol_start, fol_list, win, cprop, bprop, par = _static(spec, dtype)
    par = par.copy()
    par[K.P_PHASE] = ref_phase
    par[K.P_LOG] = 1 if log_cap > 0 else 0
    par[K.P_HOLD] = hold
    log = np.zeros((max(log_cap, 1), 7), np.int64)
    stream = np.ascontiguousarray(np.stack([s.cmd, s.mask, s.row, s.col, s.cnt], axis=1).astype(np.int64))
    return K.run_channel(stream, dly, fol_start, fol_list, win, cprop, bprop, par, log), log


def default_ref_phase(spec: PimSpec) -> int:
    """Cycles from the start of an op to its first refresh: half an interval, so that on average an op of
    T cycles sees T / tREFI refreshes (ops are costed independently of when they start)."""
    return max(1, spec.dram.timing.tREFI // 2)


def run_streams(spec: PimSpec, streams: list[ChannelStream], *, dtype: str = "bf16", log: bool = False,
                ref_phase: int | None = None) -> PimRun:
    """Simulate one stream per channel (``len(streams) == spec.units``; identical streams run once).

    Raises :class:`~sim.pim.errors.PimCommandError` naming the channel and entry for a malformed stream.
    """
    if len(streams) != spec.units:
        raise ValueError(f"expected {spec.units} channel streams, got {len(streams)}")
    phase = default_ref_phase(spec) if ref_phase is None else int(ref_phase)
    nc = C.NC
    keys = [s.key() for s in streams]
    refreshes = _static(spec, dtype)[-1][K.P_TREFI] > 0
    first_ref = phase if refreshes else np.iinfo(np.int64).max
    # A channel stays powered until the op ends on every channel, so one that ends earlier (or has no work)
    # also issues the refreshes that fall due before then: its "hold". Holding can move the end (a refresh in
    # the tail), so repeat until no channel's hold changes (identical (stream, hold) pairs run once).
    hold = [0] * len(streams)
    results: dict[tuple[bytes, int], tuple] = {}
    t0 = time.perf_counter()
    for _ in range(2 * len(streams) + 2):
        for ch, s in enumerate(streams):
            kk = (keys[ch], hold[ch])
            if kk not in results and (len(s) > 0 or hold[ch] > 0):
                results[kk] = _run_stream(spec, s, ch, dtype, log, phase, hold[ch])
        got = [results.get((keys[ch], hold[ch])) for ch in range(len(streams))]
        ends = [int(g[0][K.O_END]) if g is not None else 0 for g in got]
        end = max(ends, default=0)
        changed = False
        for ch, g in enumerate(got):
            nxt = int(g[0][K.O_NEXTREF]) if g is not None else first_ref
            if ends[ch] < end and nxt < end and hold[ch] != end:
                hold[ch] = end
                changed = True
        if not changed:
            break
    wall = time.perf_counter() - t0
    U = spec.units
    ch_cycles = np.zeros(U, np.int64)
    active = np.zeros(U, np.int64)
    open_end = np.zeros(U, bool)
    counts = np.zeros(nc, np.int64)
    bops = np.zeros(nc, np.int64)
    hits = misses = refs = 0
    logs = []
    for ch, k in enumerate(keys):
        if (k, hold[ch]) not in results:
            continue
        out, c, b, lg = results[(k, hold[ch])]
        ch_cycles[ch] = out[K.O_END]
        active[ch] = out[K.O_ACTIVE]
        open_end[ch] = bool(out[K.O_OPEN_END])
        counts += c
        bops += b
        hits += int(out[K.O_HITS])
        misses += int(out[K.O_MISSES])
        refs += int(out[K.O_REFS])
        if log:
            logs.append(_to_log(lg, ch))
    cycles = int(ch_cycles.max()) if U else 0
    active = active + np.where(open_end, cycles - ch_cycles, 0)
    log_arr = None
    if log:
        log_arr = np.concatenate(logs) if logs else np.zeros(0, LOG_DTYPE)
        log_arr = log_arr[np.argsort(log_arr["cycle"], kind="stable")]
    return PimRun(cycles=cycles, channel_cycles=ch_cycles, counts=counts, bank_ops=bops, row_hits=hits,
                  row_misses=misses, refreshes=refs, active_cycles=np.minimum(active, cycles),
                  tCK_ns=spec.dram.timing.tCK_ns, distinct_streams=len({k for k, _ in results}), kernel_s=wall,
                  command_log=log_arr)


def _run_stream(spec: PimSpec, s: ChannelStream, ch: int, dtype: str, log: bool, phase: int, hold: int) -> tuple:
    """One channel's stream through the kernel (the log grown until it fits); ``(out, counts, bank_ops, log)``.
    Raises :class:`~sim.pim.errors.PimCommandError` for a malformed stream."""
    cap = int(4 * s.cnt.sum() + 4 * len(s) + 256) if log else 0
    out, counts, bops = None, None, None
    for _ in range(8):
        (out, counts, bops), lg = _call(spec, s, dtype, cap, phase, hold)
        if out[K.O_ERR] == K.E_LOG:
            cap = int(out[K.O_NLOG]) + 64
            continue
        break
    if out[K.O_ERR]:
        i = int(out[K.O_ERR_IDX])
        name = C.NAMES.get(int(s.cmd[i]), f"code {int(s.cmd[i])}") if 0 <= i < len(s) else "?"
        reason = f"{name}: {K.ERROR_TEXT.get(int(out[K.O_ERR]), 'error')}"
        exc = PimCommandError(f"{spec.name}: channel {ch} command {i} ({reason})")
        exc.channel, exc.entry, exc.reason = ch, i, reason
        raise exc
    return out, counts, bops, lg[: int(out[K.O_NLOG])] if log else None


def _to_log(lg: np.ndarray, ch: int) -> np.ndarray:
    out = np.zeros(lg.shape[0], LOG_DTYPE)
    out["cycle"] = lg[:, 0]
    out["cmd"] = lg[:, 1]
    out["channel"] = ch
    out["rank"] = lg[:, 2]
    out["bankgroup"] = lg[:, 3]
    out["bank"] = lg[:, 4]
    out["row"] = lg[:, 5]
    out["column"] = lg[:, 6]
    return out


def warm_up(spec: PimSpec) -> float:
    """Compile (or load from the numba cache) the kernel; returns the seconds it took."""
    t0 = time.perf_counter()
    s = ChannelStream.from_rows([(C.ACT_CODES[spec.pim.command_set][0], 1, 0, -1, 1)])
    _call(spec, s, next(iter(dict(spec.pim.lanes))), 8, 1000)
    return time.perf_counter() - t0


__all__ = ["ChannelStream", "PimRun", "default_ref_phase", "geometry", "run_streams", "warm_up"]
