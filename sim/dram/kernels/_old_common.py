"""Device-state machinery shared by every controller profile (numba, struct of arrays).

Indices are *kernel* indices: ``u`` a scheduling unit (a channel or pseudo-channel), ``r`` a rank
inside the unit, ``b`` a flat bank inside the rank (``bankgroup * banks_per_group + bank``),
``nb = r * NBK + b`` a flat bank inside the unit. All times are cycles of tCK (int64). Counts are
powers of two, so ``nb >> BSH`` is the flat bank group and ``nb >> RSH`` the rank of a bank.

Device state (built by :func:`new_state`, passed as separate arrays to keep numba compiles small):

* ``ready[U, NBT + NBG + R, NC]``: next-allowed cycle per command at three levels: rows
  ``0..NBT-1`` banks, ``OG + g`` bank groups, ``ORK + r`` ranks (``OG = NBT``, ``ORK = NBT + NBG``).
  A bank command is legal when its bank, bank-group and rank rows all allow it
  (:func:`ready_at`); a rank command (PREA, REF) only looks at its rank row.
* ``bk[U, NBT, 2]``: per bank ``[OPEN_ROW]`` (-1 when precharged), ``[COL_HITS]`` (column
  commands since its last ACT)
* ``rk[U, R, 5]``: per rank ``[ACT_CNT]`` ACTs issued, ``[N_OPEN]`` open banks, ``[SINCE]`` cycle the
  rank last became active, ``[ACTIVE]`` accumulated cycles with >= 1 open bank, ``[REF_BUSY]``
  accumulated refresh cycles (tRFC per REF, tRFCpb per REFpb)
* ``act_hist[U, R, WMAX]``: ring of recent ACT cycles per rank (activate windows)
* ``cmd_counts[U, R, N_COMMANDS]``: issued commands

Timing (:class:`sim.dram.timing.TimingTable`, compiled levels): ``lstart``, ``lrows`` (preceding,
following, level, delay), ``twin`` (activate windows: count, cycles).
Log: ``lg`` int64 ``[cap, 7]`` rows ``(cycle, cmd, u, r, b, row, col)``; ``lg_n`` int64[4]: log rows,
main-loop iterations, unit ticks, spare (kernel work counters for the benchmark).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.dram.commands import ACT, N_COMMANDS, N_DRAM_COMMANDS, PRE, PREA, RDA, REFAB, REFPB, WRA

NC = N_DRAM_COMMANDS
WMAX = 32
INF = np.int64(1) << np.int64(62)
OPEN_ROW, COL_HITS = 0, 1
ACT_CNT, N_OPEN, SINCE, ACTIVE, REF_BUSY = 0, 1, 2, 3, 4
LV_BANK, LV_BG, LV_RANK, LV_SIBLING, LV_BG_OTHER_EXACT, LV_RANK_OTHER_BG_EXACT = 0, 1, 2, 3, 4, 5


def new_state(U: int, R: int, NBK: int, BPG: int) -> tuple[np.ndarray, ...]:
    """Fresh device state ``(ready, bk, rk, act_hist, cmd_counts)``: all banks precharged."""
    NBT = R * NBK
    bk = np.zeros((U, NBT, 2), dtype=np.int64)
    bk[:, :, OPEN_ROW] = -1
    return (
        np.zeros((U, NBT + NBT // BPG + R, NC), dtype=np.int64),
        bk,
        np.zeros((U, R, 5), dtype=np.int64),
        np.full((U, R, WMAX), -INF, dtype=np.int64),
        np.zeros((U, R, N_COMMANDS), dtype=np.int64),
    )


def geometry(R: int, NBK: int, BPG: int) -> tuple[int, int, int, int]:
    """``(BSH, RSH, OG, ORK)``: bank-group / rank shifts and level-row offsets of ``ready``."""
    NBT = R * NBK
    return BPG.bit_length() - 1, NBK.bit_length() - 1, NBT, NBT + NBT // BPG


def table_arrays(table) -> tuple[np.ndarray, ...]:
    """``(lstart, lrows, twin)`` int64 arrays of a :class:`~sim.dram.timing.TimingTable`."""
    return (table.level_start.astype(np.int64), table.levels.astype(np.int64),
            table.windows.astype(np.int64))


def new_log(enabled: bool, estimate: int) -> tuple[np.ndarray, np.ndarray]:
    """Command-log buffer (grown by :func:`log_cmd` when full) and its counters."""
    cap = max(16, estimate) if enabled else 1
    return np.zeros((cap, 7), dtype=np.int64), np.zeros(4, dtype=np.int64)


@njit(cache=True)
def ready_at(ready, u, nb, c, BSH, RSH, OG, ORK):
    """Earliest cycle bank ``nb`` of unit ``u`` may receive bank command ``c``."""
    return max(ready[u, nb, c], ready[u, OG + (nb >> BSH), c], ready[u, ORK + (nb >> RSH), c])


@njit(cache=True)
def apply_timing(ready, lstart, lrows, u, r, nb, cmd, clk, R, NBK, BPG, BSH, OG, ORK):
    """Raise next-allowed cycles after ``cmd`` issued at ``clk`` to bank ``nb`` of rank ``r``.

    ``nb`` is -1 for rank commands (PREA, REF), whose rows are rank or sibling level only.
    ``lstart[cmd, level]`` bounds the rows of each level, so no per-row dispatch is needed.
    """
    for k in range(lstart[cmd, LV_BANK], lstart[cmd, LV_BANK + 1]):
        t = clk + lrows[k, 3]
        f = lrows[k, 1]
        if ready[u, nb, f] < t:
            ready[u, nb, f] = t
    if lstart[cmd, LV_BG] < lstart[cmd, LV_BG + 1]:
        g = OG + (nb >> BSH)
        for k in range(lstart[cmd, LV_BG], lstart[cmd, LV_BG + 1]):
            t = clk + lrows[k, 3]
            f = lrows[k, 1]
            if ready[u, g, f] < t:
                ready[u, g, f] = t
    for k in range(lstart[cmd, LV_RANK], lstart[cmd, LV_RANK + 1]):
        t = clk + lrows[k, 3]
        f = lrows[k, 1]
        if ready[u, ORK + r, f] < t:
            ready[u, ORK + r, f] = t
    for k in range(lstart[cmd, LV_SIBLING], lstart[cmd, LV_SIBLING + 1]):
        t = clk + lrows[k, 3]
        f = lrows[k, 1]
        for r2 in range(R):
            if r2 != r and ready[u, ORK + r2, f] < t:
                ready[u, ORK + r2, f] = t
    for k in range(lstart[cmd, LV_BG_OTHER_EXACT], lstart[cmd, LV_BG_OTHER_EXACT + 1]):
        t = clk + lrows[k, 3]
        f = lrows[k, 1]
        lo = (nb >> BSH) << BSH
        for x in range(lo, lo + BPG):
            if x != nb and ready[u, x, f] < t:
                ready[u, x, f] = t
    for k in range(lstart[cmd, LV_RANK_OTHER_BG_EXACT], lstart[cmd, LV_RANK_OTHER_BG_EXACT + 1]):
        t = clk + lrows[k, 3]
        f = lrows[k, 1]
        lo = r * NBK
        g = nb >> BSH
        for x in range(lo, lo + NBK):
            if (x >> BSH) != g and ready[u, x, f] < t:
                ready[u, x, f] = t


@njit(cache=True)
def act_windows(ready, rk, act_hist, twin, u, r, clk, ORK):
    """Record an ACT in rank (u, r) and apply the activate windows (tFAW, t32AW) to the rank."""
    n = rk[u, r, ACT_CNT]
    act_hist[u, r, n % WMAX] = clk
    n += 1
    rk[u, r, ACT_CNT] = n
    for w in range(twin.shape[0]):
        cnt = twin[w, 0]
        if n >= cnt:
            t = act_hist[u, r, (n - cnt) % WMAX] + twin[w, 1]
            if ready[u, ORK + r, ACT] < t:
                ready[u, ORK + r, ACT] = t


@njit(cache=True)
def _close_bank(bk, rk, u, r, nb, clk):
    if bk[u, nb, OPEN_ROW] >= 0:
        bk[u, nb, OPEN_ROW] = -1
        rk[u, r, N_OPEN] -= 1
        if rk[u, r, N_OPEN] == 0:
            rk[u, r, ACTIVE] += clk - rk[u, r, SINCE]


@njit(cache=True)
def log_cmd(lg, lg_n, clk, cmd, u, r, b, row, col):
    """Append one command to the log, doubling the buffer when full; returns the (new) buffer."""
    n = lg_n[0]
    if n >= lg.shape[0]:
        bigger = np.empty((lg.shape[0] * 2, 7), dtype=np.int64)
        for i in range(n):
            for j in range(7):
                bigger[i, j] = lg[i, j]
        lg = bigger
    lg[n, 0] = clk
    lg[n, 1] = cmd
    lg[n, 2] = u
    lg[n, 3] = r
    lg[n, 4] = b
    lg[n, 5] = row
    lg[n, 6] = col
    lg_n[0] = n + 1
    return lg


@njit(cache=True)
def issue(ready, bk, rk, act_hist, cmd_counts, lstart, lrows, twin,
          u, r, nb, row, cmd, clk, R, NBK, BPG, BSH, OG, ORK, tRFC, tRFCpb):
    """Issue ``cmd`` at ``clk`` to bank ``nb`` (-1 for PREA / REF) of rank ``r``: timing, state, counters."""
    apply_timing(ready, lstart, lrows, u, r, nb, cmd, clk, R, NBK, BPG, BSH, OG, ORK)
    cmd_counts[u, r, cmd] += 1
    if cmd == ACT:
        act_windows(ready, rk, act_hist, twin, u, r, clk, ORK)
        if bk[u, nb, OPEN_ROW] < 0:
            if rk[u, r, N_OPEN] == 0:
                rk[u, r, SINCE] = clk
            rk[u, r, N_OPEN] += 1
        bk[u, nb, OPEN_ROW] = row
        bk[u, nb, COL_HITS] = 0
    elif cmd == PRE:
        _close_bank(bk, rk, u, r, nb, clk)
    elif cmd == PREA:
        for x in range(r * NBK, r * NBK + NBK):
            _close_bank(bk, rk, u, r, x, clk)
    elif cmd == REFAB:
        rk[u, r, REF_BUSY] += tRFC
    elif cmd == REFPB:
        rk[u, r, REF_BUSY] += tRFCpb
    else:
        bk[u, nb, COL_HITS] += 1
        if cmd == RDA or cmd == WRA:
            _close_bank(bk, rk, u, r, nb, clk)


@njit(cache=True)
def finish_active(rk, end):
    """Add the still-open intervals up to cycle ``end`` to the ranks' active cycles."""
    for u in range(rk.shape[0]):
        for r in range(rk.shape[1]):
            if rk[u, r, N_OPEN] > 0 and end > rk[u, r, SINCE]:
                rk[u, r, ACTIVE] += end - rk[u, r, SINCE]


# ---- compact queue entries: every queue is an int64 array [U, capacity, EW] of records ----
EW = 8
E_Q, E_NB, E_ROW, E_STAMP, E_W, E_COL, E_KEY, E_RANK = 0, 1, 2, 3, 4, 5, 6, 7


@njit(cache=True)
def entry_put(buf, cnt, u, q, nb, row, stamp, w, col, key, rank):
    """Append a request record to queue ``buf`` of unit ``u``."""
    i = cnt[u]
    buf[u, i, E_Q] = q
    buf[u, i, E_NB] = nb
    buf[u, i, E_ROW] = row
    buf[u, i, E_STAMP] = stamp
    buf[u, i, E_W] = w
    buf[u, i, E_COL] = col
    buf[u, i, E_KEY] = key
    buf[u, i, E_RANK] = rank
    cnt[u] = i + 1


@njit(cache=True)
def entry_move(src, scnt, u, pos, dst, dcnt):
    """Move record ``pos`` of ``src`` to the end of ``dst`` (order of ``src`` kept)."""
    j = dcnt[u]
    for f in range(EW):
        dst[u, j, f] = src[u, pos, f]
    dcnt[u] = j + 1
    entry_remove(src, scnt, u, pos)


@njit(cache=True)
def entry_remove(buf, cnt, u, pos):
    """Delete record ``pos`` of queue ``buf``, keeping the order of the others."""
    n = cnt[u]
    for i in range(pos, n - 1):
        for f in range(EW):
            buf[u, i, f] = buf[u, i + 1, f]
    cnt[u] = n - 1
