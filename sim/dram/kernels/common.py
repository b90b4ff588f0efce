"""Device-state machinery shared by every controller profile (numba, a few flat arrays).

Indices are *kernel* indices: ``u`` a scheduling unit (a channel or pseudo-channel), ``r`` a rank
inside the unit, ``b`` a flat bank inside the rank (``bankgroup * banks_per_group + bank``),
``nb = r * NBK + b`` a flat bank inside the unit. All times are cycles of tCK (int64). Counts are
powers of two, so ``nb >> BSH`` is the flat bank group and ``nb >> RSH`` the rank of a bank.

The device state is three flat int64 arrays (built by :func:`new_state`). Flat arrays keep the
generated code small: numba checks every index of every dimension for wrap-around and multiplies by
run-time strides, and every array argument of a call expands to about ten machine words.

* ``rd[(u * ROWS + x) * NC + c]``: next-allowed cycle of command ``c`` at three levels, ``ROWS =
  NBT + NBG + R`` rows per unit: rows ``x = 0..NBT-1`` banks, ``OG + g`` bank groups, ``ORK + r``
  ranks. A bank command is legal when its bank, bank-group and rank rows all allow it
  (:func:`ready_at`); a rank command (PREA, REF) only looks at its rank row. Every update is a
  ``max``, so each entry only grows: a value read earlier is a lower bound of the current one.
* ``bk[(u * NBT + nb) * BKW + f]``: per bank ``OPEN_ROW`` (-1 when precharged), ``COL_HITS``
  (column commands since its last ACT) and ``BK_VER``, a version that every ACT and every close
  increments. The command a queued request needs depends only on its bank's state, and
  next-allowed cycles only grow, so a scheduler may keep a request's ready cycle as a lower bound
  for as long as its bank's version is unchanged.
* ``rk[(u * R + r) * RKW + f]``: per rank ``ACT_CNT`` (ACTs issued), ``N_OPEN`` (open banks),
  ``SINCE`` (cycle the rank last became active), ``ACTIVE`` (accumulated cycles with >= 1 open bank),
  ``REF_BUSY`` (accumulated refresh cycles: tRFC per REF, tRFCpb per REFpb), then a ring of the last
  ``WMAX`` ACT cycles (activate windows) from ``HIST`` and the issued-command counters from ``CNT``.

Geometry and refresh constants travel in one int64 array ``gm`` (``G_*`` indices, :func:`geometry`)
and the timing table in one int64 array ``tb`` (:func:`pack_table`).
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
OPEN_ROW, COL_HITS, BK_VER = 0, 1, 2
BKW = 3
ACT_CNT, N_OPEN, SINCE, ACTIVE, REF_BUSY = 0, 1, 2, 3, 4
HIST = 8
CNT = HIST + WMAX
RKW = CNT + N_COMMANDS
LV_BANK, LV_BG, LV_RANK, LV_SIBLING, LV_BG_OTHER_EXACT, LV_RANK_OTHER_BG_EXACT = 0, 1, 2, 3, 4, 5
N_LEVELS = 6
#: ``gm`` indices: ranks per unit, banks per rank, banks per group, banks per unit, ``rd`` rows per unit,
#: bank-group and rank shifts, level-row offsets, tRFC, tRFCpb (cycles), units
G_R, G_NBK, G_BPG, G_NBT, G_ROWS, G_BSH, G_RSH, G_OG, G_ORK, G_TRFC, G_TRFCPB, G_U = range(12)
#: ``tb`` header: per command, N_LEVELS + 1 absolute offsets of its level rows; then the windows offset
TB_WIN = NC * (N_LEVELS + 1)


def new_state(U: int, R: int, NBK: int, BPG: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fresh device state ``(rd, bk, rk)``: all banks precharged, every command allowed at cycle 0."""
    NBT = R * NBK
    bk = np.zeros((U * NBT, BKW), dtype=np.int64)
    bk[:, OPEN_ROW] = -1
    rk = np.zeros((U * R, RKW), dtype=np.int64)
    rk[:, HIST:HIST + WMAX] = -INF
    return np.zeros(U * (NBT + NBT // BPG + R) * NC, dtype=np.int64), bk.ravel(), rk.ravel()


def geometry(U: int, R: int, NBK: int, BPG: int, tRFC: int = 0, tRFCpb: int = 0) -> np.ndarray:
    """The ``gm`` array of a kernel geometry (see ``G_*``)."""
    NBT = R * NBK
    NBG = NBT // BPG
    g = np.zeros(12, dtype=np.int64)
    g[[G_R, G_NBK, G_BPG, G_NBT, G_ROWS, G_BSH, G_RSH, G_OG, G_ORK, G_TRFC, G_TRFCPB, G_U]] = (
        R, NBK, BPG, NBT, NBT + NBG + R, BPG.bit_length() - 1, NBK.bit_length() - 1, NBT, NBT + NBG,
        tRFC, tRFCpb, U)
    return g


def pack_table(table) -> np.ndarray:
    """One int64 array holding a :class:`~sim.dram.timing.TimingTable`'s compiled levels and windows.

    ``tb[c * 7 + l]`` is the offset of the first (following command, delay) pair of command ``c`` at
    level ``l`` (``l = 6``: the end); ``tb[TB_WIN]`` the offset of the windows block: count, then
    (activates, window cycles) pairs.
    """
    lv = np.asarray(table.levels, dtype=np.int64).reshape(-1, 4)
    ls = np.asarray(table.level_start, dtype=np.int64)
    win = np.asarray(table.windows, dtype=np.int64).reshape(-1, 2)
    head = TB_WIN + 1
    wo = head + 2 * len(lv)
    tb = np.zeros(wo + 1 + 2 * len(win), dtype=np.int64)
    tb[:TB_WIN] = (head + 2 * ls[:, :N_LEVELS + 1]).ravel()
    tb[head:wo] = lv[:, [1, 3]].ravel()
    tb[TB_WIN] = wo
    tb[wo] = len(win)
    tb[wo + 1:] = win.ravel()
    return tb


def new_log(enabled: bool, estimate: int) -> tuple[np.ndarray, np.ndarray]:
    """Command-log buffer (grown by :func:`log_cmd` when full) and its counters."""
    cap = max(16, estimate) if enabled else 1
    return np.zeros((cap, 7), dtype=np.int64), np.zeros(4, dtype=np.int64)


@njit(cache=True)
def ready_at(rd, ub, nb, c, BSH, RSH, OG, ORK):
    """Earliest cycle bank ``nb`` of the unit whose first ``rd`` row is ``ub`` may receive command ``c``."""
    return max(rd[(ub + nb) * NC + c], rd[(ub + OG + (nb >> BSH)) * NC + c], rd[(ub + ORK + (nb >> RSH)) * NC + c])


@njit(cache=True)
def _raise(rd, i, t):
    if rd[i] < t:
        rd[i] = t


@njit(cache=True)
def _close(bk, rk, b, ur, clk):
    """Precharge flat bank ``b`` of flat rank ``ur`` at ``clk`` (no-op when already precharged)."""
    bk[b * BKW + BK_VER] += 1
    if bk[b * BKW + OPEN_ROW] >= 0:
        bk[b * BKW + OPEN_ROW] = -1
        n = rk[ur * RKW + N_OPEN] - 1
        rk[ur * RKW + N_OPEN] = n
        if n == 0:
            rk[ur * RKW + ACTIVE] += clk - rk[ur * RKW + SINCE]


@njit(cache=True)
def issue(rd, bk, rk, tb, gm, u, r, nb, row, cmd, clk):
    """Issue ``cmd`` at ``clk`` to bank ``nb`` (-1 for PREA / REF) of rank ``r`` of unit ``u``.

    Raises the next-allowed cycles by the timing table (``tb[cmd * 7 + l]`` bounds the rows of each
    level, so no per-row dispatch), records ACTs for the activate windows, updates bank and rank state
    and counts the command.
    """
    R = gm[G_R]
    NBK = gm[G_NBK]
    BSH = gm[G_BSH]
    ub = u * gm[G_ROWS]
    ur = u * R + r
    ubk = u * gm[G_NBT]
    h = cmd * 7
    for k in range(tb[h], tb[h + 1], 2):
        _raise(rd, (ub + nb) * NC + tb[k], clk + tb[k + 1])
    for k in range(tb[h + 1], tb[h + 2], 2):
        _raise(rd, (ub + gm[G_OG] + (nb >> BSH)) * NC + tb[k], clk + tb[k + 1])
    x = (ub + gm[G_ORK] + r) * NC
    for k in range(tb[h + 2], tb[h + 3], 2):
        _raise(rd, x + tb[k], clk + tb[k + 1])
    for k in range(tb[h + 3], tb[h + 4], 2):
        for r2 in range(R):
            if r2 != r:
                _raise(rd, (ub + gm[G_ORK] + r2) * NC + tb[k], clk + tb[k + 1])
    for k in range(tb[h + 4], tb[h + 5], 2):
        lo = (nb >> BSH) << BSH
        for y in range(lo, lo + gm[G_BPG]):
            if y != nb:
                _raise(rd, (ub + y) * NC + tb[k], clk + tb[k + 1])
    for k in range(tb[h + 5], tb[h + 6], 2):
        for y in range(r * NBK, r * NBK + NBK):
            if (y >> BSH) != (nb >> BSH):
                _raise(rd, (ub + y) * NC + tb[k], clk + tb[k + 1])
    rk[ur * RKW + CNT + cmd] += 1
    if cmd == ACT:
        # activate windows: the ACT `cnt` activates ago (this one included) + window bounds the next
        n = rk[ur * RKW + ACT_CNT]
        rk[ur * RKW + HIST + n % WMAX] = clk
        n += 1
        rk[ur * RKW + ACT_CNT] = n
        wo = tb[TB_WIN]
        for w in range(tb[wo]):
            cnt = tb[wo + 1 + 2 * w]
            if n >= cnt:
                _raise(rd, x + ACT, rk[ur * RKW + HIST + (n - cnt) % WMAX] + tb[wo + 2 + 2 * w])
        if bk[(ubk + nb) * BKW + OPEN_ROW] < 0:
            if rk[ur * RKW + N_OPEN] == 0:
                rk[ur * RKW + SINCE] = clk
            rk[ur * RKW + N_OPEN] += 1
        bk[(ubk + nb) * BKW + OPEN_ROW] = row
        bk[(ubk + nb) * BKW + COL_HITS] = 0
        bk[(ubk + nb) * BKW + BK_VER] += 1
    elif cmd == PRE:
        _close(bk, rk, ubk + nb, ur, clk)
    elif cmd == PREA:
        for y in range(r * NBK, r * NBK + NBK):
            _close(bk, rk, ubk + y, ur, clk)
    elif cmd == REFAB:
        rk[ur * RKW + REF_BUSY] += gm[G_TRFC]
    elif cmd == REFPB:
        rk[ur * RKW + REF_BUSY] += gm[G_TRFCPB]
    else:
        bk[(ubk + nb) * BKW + COL_HITS] += 1
        if cmd == RDA or cmd == WRA:
            _close(bk, rk, ubk + nb, ur, clk)


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


def finish_active(rk: np.ndarray, end: int) -> None:
    """Add the still-open intervals up to cycle ``end`` to the ranks' active cycles (in place)."""
    r2 = rk.reshape(-1, RKW)
    still = (r2[:, N_OPEN] > 0) & (end > r2[:, SINCE])
    r2[still, ACTIVE] += end - r2[still, SINCE]


def counts(rk: np.ndarray, U: int, R: int) -> np.ndarray:
    """Issued commands per (unit, rank, command), int64 ``(U, R, N_COMMANDS)``."""
    return rk.reshape(-1, RKW)[:, CNT:CNT + N_COMMANDS].reshape(U, R, N_COMMANDS).copy()


def rank_column(rk: np.ndarray, col: int, U: int, R: int) -> np.ndarray:
    """One rank-state column as ``(U, R)`` (e.g. ``ACTIVE`` or ``REF_BUSY``)."""
    return rk.reshape(-1, RKW)[:, col].reshape(U, R).copy()
