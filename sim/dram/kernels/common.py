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
Log: ``lg`` int64 ``[cap, 7]`` rows ``(cycle, cmd, u, r, b, row, col)``; ``lg_n`` int64[4]: commands
logged, main-loop iterations, unit ticks (kernel work counters for the benchmark), commands that did
not fit (the engine then runs again with a log large enough).
"""

from __future__ import annotations

import numpy as np
from numba import njit, uintp

from sim.dram.commands import ACT, N_COMMANDS, N_DRAM_COMMANDS, PRE, PREA, RD, RDA, REFAB, REFPB, WRA

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
#: offsets of the regions of the packed device array (see :func:`device`): timing table, next-allowed
#: cycles, bank state, rank state; ``GW`` is the size of the ``gm`` header
G_TB, G_RD, G_BK, G_RK = range(12, 16)
GW = 16
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
    g = np.zeros(GW, dtype=np.int64)
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


def device(U: int, R: int, NBK: int, BPG: int, table, tRFC: int = 0, tRFCpb: int = 0
           ) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """The packed device array ``dev`` = ``gm | tb | rd | bk | rk`` and views ``(gm, rd, bk, rk)`` of it.

    :func:`issue` takes ``dev`` alone: every array a numba function passes to another costs an atomic
    reference-count update per call, so the command path carries one array; the kernels read state
    through the views.
    """
    gm = geometry(U, R, NBK, BPG, tRFC, tRFCpb)
    parts = [gm, pack_table(table), *new_state(U, R, NBK, BPG)]
    offs = np.cumsum([0] + [len(x) for x in parts])
    gm[[G_TB, G_RD, G_BK, G_RK]] = offs[1:5]
    dev = np.concatenate(parts)
    return dev, tuple(dev[offs[i]:offs[i + 1]] for i in (0, 2, 3, 4))


def new_log(enabled: bool, capacity: int) -> tuple[np.ndarray, np.ndarray]:
    """Command-log buffer of ``capacity`` rows (one row when logging is off) and its counters."""
    cap = max(16, capacity) if enabled else 1
    return np.zeros((cap, 7), dtype=np.int64), np.zeros(4, dtype=np.int64)


@njit(cache=True, inline='always')
def ready_at(rd, ub, nb, c, BSH, RSH, OG, ORK):
    """Earliest cycle bank ``nb`` of the unit whose first ``rd`` row is ``ub`` may receive command ``c``."""
    return max(rd[uintp((ub + nb) * NC + c)], rd[uintp((ub + OG + (nb >> BSH)) * NC + c)],
               rd[uintp((ub + ORK + (nb >> RSH)) * NC + c)])


@njit(cache=True, inline='always')
def earliest_ready(slb, snb, sid, row, isw, bk, rd, lo, hi, clk, ubk, ub, BSH, RSH, OG, ORK, refblk, rw, pend, pb,
                   NBK):
    """Earliest cycle after ``clk`` at which a queued request of slots ``lo..hi-1`` can issue (``INF``: none).

    ``slb[j]`` is a lower bound of slot ``j``'s ready cycle, request ``sid[j]`` to bank ``snb[j]`` of the
    unit whose first ``bk`` bank is ``ubk`` and first ``rd`` row ``ub``; every bound above ``clk`` must
    be current (its bank unchanged since it was computed) and no slot ready at ``clk``. The smallest
    late bound is made exact (the request's command from its bank's state) until it stays the same:
    then it is the earliest ready cycle, since bounds never exceed the cycles they bound. With
    ``refblk``, slots of a rank with an all-bank refresh pending (``rw[pend + rank] != 0``) or of the
    bank a per-bank refresh waits for (``rw[pb + rank]``) are left out.
    """
    while True:
        k = -1
        lbk = INF
        for j in range(lo, hi):
            y = slb[uintp(j)]
            if clk < y < lbk:
                if refblk:
                    nb = snb[j]
                    r = nb >> RSH
                    if rw[pend + r] != 0 or rw[pb + r] == nb - r * NBK:
                        continue
                k = j
                lbk = y
        if k < 0:
            return INF
        q = sid[k]
        nb = snb[k]
        o = bk[(ubk + nb) * BKW + OPEN_ROW]
        c = RD + isw[q] if o == row[q] else (PRE if o >= 0 else ACT)
        t = ready_at(rd, ub, nb, c, BSH, RSH, OG, ORK)
        if t == lbk:
            return t
        slb[k] = t


@njit(cache=True, inline='always')
def issue(dev, u, r, nb, row, cmd, clk):
    """Issue ``cmd`` at ``clk`` to bank ``nb`` (-1 for PREA / REF) of rank ``r`` of unit ``u``.

    Raises the next-allowed cycles by the timing table (its header bounds the rows of each level of
    ``cmd``, so no per-row dispatch), records ACTs for the activate windows, updates bank and rank state
    and counts the command. ``dev`` is the packed device array (:func:`device`).
    """
    R = dev[G_R]
    NBK = dev[G_NBK]
    BSH = dev[G_BSH]
    TB = dev[G_TB]
    RDO = dev[G_RD]
    BKO = dev[G_BK]
    ur = dev[G_RK] + (u * R + r) * RKW
    ub = u * dev[G_ROWS]
    ubk = BKO + u * dev[G_NBT] * BKW
    h = TB + cmd * 7
    # (unsigned indices: no wrap-around code in these loops)
    for k in range(TB + dev[h], TB + dev[h + 1], 2):
        i = uintp(RDO + (ub + nb) * NC + dev[uintp(k)])
        dev[i] = max(dev[i], clk + dev[uintp(k + 1)])
    for k in range(TB + dev[h + 1], TB + dev[h + 2], 2):
        i = uintp(RDO + (ub + dev[G_OG] + (nb >> BSH)) * NC + dev[uintp(k)])
        dev[i] = max(dev[i], clk + dev[uintp(k + 1)])
    x = RDO + (ub + dev[G_ORK] + r) * NC
    for k in range(TB + dev[h + 2], TB + dev[h + 3], 2):
        i = uintp(x + dev[uintp(k)])
        dev[i] = max(dev[i], clk + dev[uintp(k + 1)])
    for k in range(TB + dev[h + 3], TB + dev[h + 4], 2):
        for r2 in range(R):
            if r2 != r:
                i = uintp(RDO + (ub + dev[G_ORK] + r2) * NC + dev[uintp(k)])
                dev[i] = max(dev[i], clk + dev[uintp(k + 1)])
    for k in range(TB + dev[h + 4], TB + dev[h + 5], 2):
        lo = (nb >> BSH) << BSH
        for y in range(lo, lo + dev[G_BPG]):
            if y != nb:
                i = uintp(RDO + (ub + y) * NC + dev[uintp(k)])
                dev[i] = max(dev[i], clk + dev[uintp(k + 1)])
    for k in range(TB + dev[h + 5], TB + dev[h + 6], 2):
        for y in range(r * NBK, r * NBK + NBK):
            if (y >> BSH) != (nb >> BSH):
                i = uintp(RDO + (ub + y) * NC + dev[uintp(k)])
                dev[i] = max(dev[i], clk + dev[uintp(k + 1)])
    dev[ur + CNT + cmd] += 1
    if cmd == ACT:
        # activate windows: the ACT `cnt` activates ago (this one included) + window bounds the next
        n = dev[ur + ACT_CNT]
        dev[ur + HIST + n % WMAX] = clk
        n += 1
        dev[ur + ACT_CNT] = n
        wo = TB + dev[TB + TB_WIN]
        for w in range(dev[wo]):
            cnt = dev[wo + 1 + 2 * w]
            if n >= cnt:
                dev[x + ACT] = max(dev[x + ACT], dev[ur + HIST + (n - cnt) % WMAX] + dev[wo + 2 + 2 * w])
        b = ubk + nb * BKW
        if dev[b + OPEN_ROW] < 0:
            if dev[ur + N_OPEN] == 0:
                dev[ur + SINCE] = clk
            dev[ur + N_OPEN] += 1
        dev[b + OPEN_ROW] = row
        dev[b + COL_HITS] = 0
        dev[b + BK_VER] += 1
    elif cmd == REFAB:
        dev[ur + REF_BUSY] += dev[G_TRFC]
    elif cmd == REFPB:
        dev[ur + REF_BUSY] += dev[G_TRFCPB]
    else:
        lo = nb
        hi = nb + 1
        if cmd == PREA:
            lo = r * NBK
            hi = lo + NBK
        elif cmd != PRE:
            dev[ubk + nb * BKW + COL_HITS] += 1
            if cmd != RDA and cmd != WRA:
                hi = lo                        # RD / WR keep the row open
        for y in range(lo, hi):               # close banks: PRE, PREA, RDA, WRA
            b = ubk + y * BKW
            dev[b + BK_VER] += 1
            if dev[b + OPEN_ROW] >= 0:
                dev[b + OPEN_ROW] = -1
                dev[ur + N_OPEN] -= 1
                if dev[ur + N_OPEN] == 0:
                    dev[ur + ACTIVE] += clk - dev[ur + SINCE]


@njit(cache=True, inline='always')
def log_cmd(lg, lg_n, clk, cmd, u, r, b, row, col):
    """Append one command to the log; when it is full, only count (``lg_n[3]``: the engine reruns with a
    larger log). A fixed buffer keeps the kernels free of array variables that change in the loop."""
    n = lg_n[0]
    if n < lg.shape[0]:
        lg[n, 0] = clk
        lg[n, 1] = cmd
        lg[n, 2] = u
        lg[n, 3] = r
        lg[n, 4] = b
        lg[n, 5] = row
        lg[n, 6] = col
    else:
        lg_n[3] += 1
    lg_n[0] = n + 1


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
