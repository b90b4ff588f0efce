"""DRAM timing constraints encoded as data: a table the numba kernels apply generically.

Every constraint is one row ``(preceding, following, scope, delay)``: when command ``preceding`` is
issued at cycle ``t`` to bank ``b`` of rank ``r``, every bank selected by ``scope`` may not receive
``following`` before cycle ``t + delay`` (cycles of tCK). The kernels keep a *next-allowed cycle*
per (bank, command) and per (rank, rank-level command) and raise it with ``max``; they contain no
per-standard if-statements.

Scopes are bit masks relative to the issuing bank, so inclusive levels are unions:

=================  =====  =====================================================================
name               bits   banks affected
=================  =====  =====================================================================
``BANK``           1      the issuing bank
``BG_OTHER``       2      the other banks of the issuing bank group
``RANK_OTHER_BG``  4      the banks of the other bank groups of the issuing rank
``OTHER_RANKS``    8      every bank of the other ranks of the same scheduling unit (channel)
``BANKGROUP``      3      the whole bank group (BANK | BG_OTHER)
``RANK``           7      the whole rank (used by rank-level commands such as PREA and REF)
``UNIT``           15     the whole channel / scheduling unit
=================  =====  =====================================================================

Rank-level *following* commands (PREA, REF all-bank) are checked against a per-rank next-allowed
cycle: a row whose following command is rank-level raises that rank value for every rank the
scope touches. Rank-level *preceding* commands must use ``RANK``, ``OTHER_RANKS`` or ``UNIT``.

Activate windows (tFAW: at most 4 ACTs per window, GDDR t32AW: at most 32) are a second small
table ``(count, delay)``: after each ACT, the ACT ``count`` activates ago (this one included)
plus ``delay`` bounds the next ACT of the rank.

Three constraint sets are built from one :class:`~sim.dram.spec.DramTiming`:

* ``default``: JEDEC-style constraints for all standards (see docs/dram.md).
* ``dramsim3``: exactly the lists DRAMsim3's ``timing.cc`` builds (five scopes, tRC = tRAS + tRP,
  tRCDRD/tRCDWR for HBM and GDDR, tPPD for GDDR/LPDDR, bank groups off -> the ``_S`` values).
* ``ramulator2``: the ``populate_timingcons`` sets of Ramulator 2.0's DDR4 and HBM2 models (DDR5,
  LPDDR5 and GDDR6 use the DDR4 set, HBM3 the HBM2 set). In this profile one HBM channel is one
  scheduling unit and its pseudo-channels play the role of ranks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.dram.commands import (
    ACT,
    N_DRAM_COMMANDS,
    NAMES,
    PRE,
    PREA,
    RD,
    RDA,
    REFAB,
    REFPB,
    WR,
    WRA,
)
from sim.dram.spec import DramSpec, DramTiming
from sim.errors import ConfigError

BANK = 1
BG_OTHER = 2
RANK_OTHER_BG = 4
OTHER_RANKS = 8
BANKGROUP = BANK | BG_OTHER
RANK = BANK | BG_OTHER | RANK_OTHER_BG
UNIT = RANK | OTHER_RANKS

SCOPE_NAMES = {BANK: "bank", BG_OTHER: "bankgroup-other-bank", RANK_OTHER_BG: "rank-other-bankgroup",
               OTHER_RANKS: "other-rank", BANKGROUP: "bankgroup", RANK: "rank", UNIT: "unit"}

#: Commands checked against the per-rank next-allowed cycle rather than a bank's.
RANK_COMMANDS = (PREA, REFAB)

PROFILES = ("default", "dramsim3", "ramulator2")

_READS = (RD, RDA)
_WRITES = (WR, WRA)
_COLUMN = (RD, RDA, WR, WRA)


#: Following commands whose legality the kernels read from another command's entry (same constraints).
FOLDED = {RDA: RD, WRA: WR}

#: Levels of the compiled table (what the kernels store next-allowed cycles for).
LV_BANK, LV_BG, LV_RANK, LV_SIBLING, LV_BG_OTHER_EXACT, LV_RANK_OTHER_BG_EXACT = range(6)


@dataclass(frozen=True)
class TimingTable:
    """A constraint set ready for the kernels.

    ``rows`` is an int64 array of shape (n, 4): preceding, following, scope mask, delay (cycles),
    sorted by preceding command; ``start[c]:start[c + 1]`` indexes the rows of preceding command
    ``c``. ``windows`` is int64 (m, 2): activate count and window length (cycles).
    ``is_rank_cmd`` marks commands checked at rank level.

    ``levels`` / ``level_start`` are the same constraints compiled for the kernels (see
    :func:`compile_levels`): rows (preceding, following, level, delay) where the level is one of
    bank, bank group, rank (inclusive), sibling ranks, or an exact per-bank fallback, sorted by
    preceding command and level; ``level_start[c, l]:level_start[c, l + 1]`` are the rows of
    command c at level l.
    """

    rows: np.ndarray
    start: np.ndarray
    windows: np.ndarray
    is_rank_cmd: np.ndarray
    profile: str
    levels: np.ndarray
    level_start: np.ndarray

    def describe(self) -> list[str]:
        """Human-readable lines, one per constraint (for docs and debugging)."""
        out = []
        for p, f, s, d in self.rows:
            scope = SCOPE_NAMES.get(int(s), str(s))
            out.append(f"{NAMES[int(p)]:>5} -> {NAMES[int(f)]:<5} {scope:<22} {int(d)}")
        for cnt, d in self.windows:
            out.append(f"  ACT window: at most {int(cnt)} ACT per {int(d)} cycles per rank")
        return out

    def delay(self, preceding: int, following: int, scope_bit: int) -> int:
        """Largest delay (cycles) that ``preceding`` imposes on ``following`` for one scope bit, or 0."""
        best = 0
        for p, f, s, d in self.rows:
            if p == preceding and f == following and (s & scope_bit):
                best = max(best, int(d))
        return best


class _Builder:
    """Accumulates rows; drops non-positive delays (they never constrain anything)."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, int, int, int]] = []
        self.windows: list[tuple[int, int]] = []

    def add(self, preceding: tuple[int, ...] | int, following: tuple[int, ...] | int, scope: int,
            delay: int) -> None:
        pre = preceding if isinstance(preceding, tuple) else (preceding,)
        fol = following if isinstance(following, tuple) else (following,)
        if delay <= 0:
            return
        for p in pre:
            if p in RANK_COMMANDS and scope not in (RANK, OTHER_RANKS, UNIT):
                raise ValueError(f"rank-level command {NAMES[p]} needs a rank-wide scope")
            for f in fol:
                self.rows.append((p, f, scope, int(delay)))

    def window(self, count: int, delay: int) -> None:
        if count > 0 and delay > 0:
            self.windows.append((count, int(delay)))

    def build(self, profile: str, bankgroups: int, banks_per_group: int) -> TimingTable:
        rows = sorted(self.rows, key=lambda r: (r[0], r[2], r[1]))
        arr = np.array(rows, dtype=np.int64).reshape(-1, 4)
        start = _starts(arr)
        win = np.array(self.windows, dtype=np.int64).reshape(-1, 2)
        is_rank = np.zeros(N_DRAM_COMMANDS, dtype=np.bool_)
        for c in RANK_COMMANDS:
            is_rank[c] = True
        lv = compile_levels(arr, bankgroups, banks_per_group)
        return TimingTable(rows=arr, start=start, windows=win, is_rank_cmd=is_rank, profile=profile,
                           levels=lv, level_start=_level_bounds(lv))


def _level_bounds(lv: np.ndarray) -> np.ndarray:
    """``b[c, l]:b[c, l + 1]`` are the compiled rows of preceding command c at level l (rows are
    sorted by preceding command, then level)."""
    b = np.zeros((N_DRAM_COMMANDS, 7), dtype=np.int64)
    k = 0
    for c in range(N_DRAM_COMMANDS):
        for lev in range(6):
            b[c, lev] = k
            while k < len(lv) and lv[k, 0] == c and lv[k, 2] == lev:
                k += 1
        b[c, 6] = k
    if k != len(lv):
        raise AssertionError("compiled timing rows are not sorted by command and level")
    return b


def _starts(arr: np.ndarray) -> np.ndarray:
    start = np.zeros(N_DRAM_COMMANDS + 1, dtype=np.int64)
    for c in range(N_DRAM_COMMANDS):
        start[c + 1] = start[c] + (int(np.sum(arr[:, 0] == c)) if len(arr) else 0)
    return start


def compile_levels(rows: np.ndarray, bankgroups: int, banks_per_group: int) -> np.ndarray:
    """Turn scope-mask rows into level rows the kernels apply in O(1) per row.

    The kernels keep next-allowed cycles per bank, per bank group and per rank; a bank command is
    ready when all three allow it. For each (preceding, following) pair the largest delay of each
    scope bit is taken; the bank-group level then holds the other-banks delay and the rank level
    the other-bank-groups delay, which is exact when the delays shrink outwards (own bank >= bank
    group >= rank), as JEDEC constraints do. Where they do not (e.g. DRAMsim3's REFb rules), the
    outer delay is applied bank by bank (exact fallback levels). Other ranks are updated at their
    rank level (sibling level). Scope bits that select no bank (one bank group, or one bank per
    group) are dropped.
    """
    out: list[tuple[int, int, int, int]] = []
    pairs: dict[tuple[int, int], list[int]] = {}
    for p, f, m, d in rows:
        v = pairs.setdefault((int(p), int(f)), [0, 0, 0, 0])
        for i, bit in enumerate((BANK, BG_OTHER, RANK_OTHER_BG, OTHER_RANKS)):
            if int(m) & bit:
                v[i] = max(v[i], int(d))
    # RDA / WRA are legal exactly when RD / WR are (checked here): the kernels look up RD / WR
    for (p, f), v in list(pairs.items()):
        if f in FOLDED:
            if pairs.get((p, FOLDED[f]), [0, 0, 0, 0]) != v:
                raise ValueError(f"{NAMES[p]} -> {NAMES[f]} differs from {NAMES[p]} -> {NAMES[FOLDED[f]]}")
            del pairs[(p, f)]
    for (p, f), (d_bank, d_bgo, d_rog, d_oth) in sorted(pairs.items()):
        if banks_per_group == 1:
            d_bgo = 0
        if bankgroups == 1:
            d_rog = 0
        if f in RANK_COMMANDS or p in RANK_COMMANDS:
            own = max(d_bank, d_bgo, d_rog)
            if own:
                out.append((p, f, LV_RANK, own))
            if d_oth:
                out.append((p, f, LV_SIBLING, d_oth))
            continue
        if d_bank:
            out.append((p, f, LV_BANK, d_bank))
        if d_bgo:
            out.append((p, f, LV_BG if d_bgo <= d_bank else LV_BG_OTHER_EXACT, d_bgo))
        if d_rog:
            exact = d_rog <= d_bank and (banks_per_group == 1 or d_rog <= d_bgo)
            out.append((p, f, LV_RANK if exact else LV_RANK_OTHER_BG_EXACT, d_rog))
        if d_oth:
            out.append((p, f, LV_SIBLING, d_oth))
    out.sort(key=lambda r: (r[0], r[2], r[1]))
    return np.array(out, dtype=np.int64).reshape(-1, 4)


def _is_hbm(standard: str) -> bool:
    return standard.upper().startswith("HBM")


def _is_gddr(standard: str) -> bool:
    return standard.upper().startswith("GDDR")


def _is_lpddr(standard: str) -> bool:
    return standard.upper().startswith("LPDDR")


def build_default(t: DramTiming, standard: str, bankgroups: int, banks_per_group: int) -> TimingTable:
    """JEDEC-style constraint set of the ``default`` profile (all standards)."""
    b = _Builder()
    bl, rl, wl = t.tBL, t.RL, t.WL
    ccd_l = t.tCCD_L if bankgroups > 1 else t.tCCD_S
    rrd_l = t.tRRD_L if bankgroups > 1 else t.tRRD_S
    wtr_l = t.tWTR_L if bankgroups > 1 else t.tWTR_S
    # column to column: data-bus occupancy and tCCD
    b.add(_READS, _READS, BANKGROUP, max(bl, ccd_l))
    b.add(_READS, _READS, RANK_OTHER_BG, max(bl, t.tCCD_S))
    b.add(_READS, _READS, OTHER_RANKS, bl + t.tRTRS)
    b.add(_WRITES, _WRITES, BANKGROUP, max(bl, ccd_l))
    b.add(_WRITES, _WRITES, RANK_OTHER_BG, max(bl, t.tCCD_S))
    b.add(_WRITES, _WRITES, OTHER_RANKS, bl + t.tRTRS)
    # read-to-write turnaround: RL + BL/2 - WL + 2 (1 tCK write preamble), tRTRS if larger (rank switch)
    b.add(_READS, _WRITES, UNIT, rl + bl + max(2, t.tRTRS) - wl)
    b.add(_WRITES, _READS, BANKGROUP, wl + bl + wtr_l)
    b.add(_WRITES, _READS, RANK_OTHER_BG, wl + bl + t.tWTR_S)
    b.add(_WRITES, _READS, OTHER_RANKS, wl + bl + t.tRTRS - rl)
    # column to precharge
    b.add(RD, PRE, BANK, t.AL + t.tRTP)
    b.add(WR, PRE, BANK, wl + bl + t.tWR)
    b.add(RD, PREA, RANK, t.AL + t.tRTP)
    b.add(WR, PREA, RANK, wl + bl + t.tWR)
    b.add(RDA, (ACT, REFPB), BANK, t.AL + t.tRTP + t.tRP)
    b.add(WRA, (ACT, REFPB), BANK, wl + bl + t.tWR + t.tRP)
    b.add(RDA, REFAB, RANK, t.AL + t.tRTP + t.tRP)
    b.add(WRA, REFAB, RANK, wl + bl + t.tWR + t.tRP)
    # activate
    b.add(ACT, ACT, BANK, max(t.tRC, t.tRAS + t.tRP))
    b.add(ACT, _READS, BANK, t.tRCD_RD - t.AL)
    b.add(ACT, _WRITES, BANK, t.tRCD_WR - t.AL)
    b.add(ACT, PRE, BANK, t.tRAS)
    b.add(ACT, PREA, RANK, t.tRAS)
    b.add(ACT, ACT, BG_OTHER, rrd_l)
    b.add(ACT, ACT, RANK_OTHER_BG, t.tRRD_S)
    b.add(ACT, REFPB, BG_OTHER | RANK_OTHER_BG, t.tRRD_S)
    b.add(ACT, REFPB, BANK, max(t.tRC, t.tRAS + t.tRP))
    b.add(ACT, REFAB, RANK, max(t.tRC, t.tRAS + t.tRP))
    b.window(4, t.tFAW)
    b.window(32, t.t32AW)
    # precharge
    b.add(PRE, (ACT, REFPB), BANK, t.tRP)
    b.add(PRE, REFAB, RANK, t.tRP)
    b.add(PRE, (PRE, PREA), RANK, t.tPPD)
    b.add(PREA, (ACT, REFPB), RANK, t.tRP)
    b.add(PREA, REFAB, RANK, t.tRP)
    # refresh
    b.add(REFAB, (ACT, REFPB), RANK, t.tRFC)
    b.add(REFAB, REFAB, RANK, t.tRFC)
    if t.tRFCpb > 0:
        b.add(REFPB, (ACT, REFPB), BANK, t.tRFCpb)
        b.add(REFPB, REFAB, RANK, t.tRFCpb)
        b.add(REFPB, (ACT, REFPB), BG_OTHER | RANK_OTHER_BG, t.tRRD_S)
    return b.build("default", bankgroups, banks_per_group)


def build_dramsim3(t: DramTiming, standard: str, bankgroups: int, banks_per_group: int) -> TimingTable:
    """DRAMsim3's constraint lists (``timing.cc``), as rows of the table."""
    b = _Builder()
    burst = t.tBL
    rl, wl = t.AL + t.CL, t.AL + t.CWL
    read_delay, write_delay = rl + burst, wl + burst
    hbm_or_gddr = _is_hbm(standard) or _is_gddr(standard)
    rr_l, rr_s = max(burst, t.tCCD_L), max(burst, t.tCCD_S)
    rr_o = burst + t.tRTRS
    r2w = rl + burst - wl + t.tRTRS
    r2w_o = read_delay + burst + t.tRTRS - write_delay
    r2p = t.AL + t.tRTP
    rp2a = t.AL + burst + t.tRTP + t.tRP
    w2r_l, w2r_s = write_delay + t.tWTR_L, write_delay + t.tWTR_S
    w2r_o = write_delay + burst + t.tRTRS - read_delay
    ww_l, ww_s, ww_o = max(burst, t.tCCD_L), max(burst, t.tCCD_S), burst
    w2p = wl + burst + t.tWR
    r2a = r2p + t.tRP
    w2a = w2p + t.tRP
    trc = t.tRAS + t.tRP                      # DRAMsim3 recomputes tRC
    rrd_l = t.tRRD_L
    if bankgroups == 1:                       # bank groups off: the _S values
        rr_l, w2r_l, ww_l, rrd_l = rr_s, w2r_s, ww_s, t.tRRD_S
    if hbm_or_gddr:
        a2r, a2w = t.tRCD_RD, t.tRCD_WR
    else:
        a2r, a2w = t.tRCD_RD - t.AL, t.tRCD_WR - t.AL
    # READ and READ_PRECHARGE towards other banks behave alike
    for c in _READS:
        b.add(c, _READS, BG_OTHER, rr_l)
        b.add(c, _WRITES, BG_OTHER, r2w)
        b.add(c, _READS, RANK_OTHER_BG, rr_s)
        b.add(c, _WRITES, RANK_OTHER_BG, r2w)
        b.add(c, _READS, OTHER_RANKS, rr_o)
        b.add(c, _WRITES, OTHER_RANKS, r2w_o)
    b.add(RD, _READS, BANK, rr_l)
    b.add(RD, _WRITES, BANK, r2w)
    b.add(RD, PRE, BANK, r2p)
    b.add(RDA, ACT, BANK, rp2a)
    b.add(RDA, (REFAB, REFPB), BANK, r2a)
    for c in _WRITES:
        b.add(c, _READS, BG_OTHER, w2r_l)
        b.add(c, _WRITES, BG_OTHER, ww_l)
        b.add(c, _READS, RANK_OTHER_BG, w2r_s)
        b.add(c, _WRITES, RANK_OTHER_BG, ww_s)
        b.add(c, _READS, OTHER_RANKS, w2r_o)
        b.add(c, _WRITES, OTHER_RANKS, ww_o)
    b.add(WR, _READS, BANK, w2r_l)
    b.add(WR, _WRITES, BANK, ww_l)
    b.add(WR, PRE, BANK, w2p)
    b.add(WRA, ACT, BANK, w2a)
    b.add(WRA, (REFAB, REFPB), BANK, w2a)
    b.add(ACT, ACT, BANK, trc)
    b.add(ACT, _READS, BANK, a2r)
    b.add(ACT, _WRITES, BANK, a2w)
    b.add(ACT, PRE, BANK, t.tRAS)
    b.add(ACT, ACT, BG_OTHER, rrd_l)
    b.add(ACT, REFPB, BG_OTHER, trc)
    b.add(ACT, ACT, RANK_OTHER_BG, t.tRRD_S)
    b.add(ACT, REFPB, RANK_OTHER_BG, trc)
    b.window(4, t.tFAW)
    if _is_gddr(standard):
        b.window(32, t.t32AW)
    b.add(PRE, ACT, BANK, t.tRP)
    b.add(PRE, REFPB, BANK, t.tRP)
    b.add(PRE, REFAB, BANK, t.tRP)       # REFRESH waits for every bank's tRP: a rank-level maximum
    if _is_gddr(standard) or _is_lpddr(standard):
        b.add(PRE, PRE, BG_OTHER | RANK_OTHER_BG, t.tPPD)
    # REFRESH_BANK in DRAMsim3 constrains only the *other* banks (ACT by tRFC, REFb by tREFI)
    b.add(REFPB, ACT, BG_OTHER | RANK_OTHER_BG, t.tRFC)
    b.add(REFPB, REFPB, BG_OTHER | RANK_OTHER_BG, t.tREFI)
    b.add(REFAB, (ACT, REFAB), RANK, t.tRFC)
    return b.build("dramsim3", bankgroups, banks_per_group)


def build_ramulator2(t: DramTiming, standard: str, bankgroups: int, banks_per_group: int) -> TimingTable:
    """Ramulator 2.0's ``populate_timingcons`` sets (DDR4 for DDR-like standards, HBM2 for HBM).

    ``tRTRS`` carries Ramulator's nCS (rank switch), ``tRTP`` its nRTP (nRTPL/nRTPS for HBM).
    """
    b = _Builder()
    bl, cl, cwl = t.tBL, t.CL, t.CWL
    if _is_hbm(standard):
        # channel level (both pseudo-channels): the 2-cycle ACT command
        b.add(ACT, (ACT, PRE, PREA, REFAB, REFPB), UNIT, 2)
        # pseudo-channel level (the "rank" of this profile)
        b.add(ACT, ACT, RANK, t.tRRD_S)
        b.window(4, t.tFAW)
        b.add(_READS, _READS, RANK, max(bl, t.tCCD_S))
        b.add(_WRITES, _WRITES, RANK, max(bl, t.tCCD_S))
        b.add(_READS, _WRITES, RANK, cl + bl + 2 - cwl)
        b.add(_WRITES, _READS, RANK, cwl + bl + t.tWTR_S)
        b.add(RD, PREA, RANK, t.tRTP)
        b.add(WR, PREA, RANK, cwl + bl + t.tWR)
        b.add(ACT, PREA, RANK, t.tRAS)
        b.add(PREA, ACT, RANK, t.tRP)
        b.add(ACT, REFAB, RANK, t.tRC)
        b.add((PRE, PREA), REFAB, RANK, t.tRP)
        b.add(RDA, REFAB, RANK, t.tRP + t.tRTP)
        b.add(WRA, REFAB, RANK, cwl + bl + t.tWR + t.tRP)
        b.add(REFAB, (ACT, REFPB), RANK, t.tRFC)
        # bank group
        b.add(_READS, _READS, BANKGROUP, t.tCCD_L)
        b.add(_WRITES, _WRITES, BANKGROUP, t.tCCD_L)
        b.add(_WRITES, _READS, BANKGROUP, cwl + bl + t.tWTR_L)
        b.add(ACT, ACT, BANKGROUP, t.tRRD_L)
        # bank
        b.add(RD, PRE, BANK, t.tRTP)
        b.add(ACT, ACT, BANK, t.tRC)
        b.add(ACT, _READS, BANK, t.tRCD_RD)
        b.add(ACT, _WRITES, BANK, t.tRCD_WR)
        b.add(ACT, PRE, BANK, t.tRAS)
        b.add(PRE, ACT, BANK, t.tRP)
        b.add(WR, PRE, BANK, cwl + bl + t.tWR)
        b.add(RDA, (ACT, REFPB), BANK, t.tRTP + t.tRP)
        b.add(WRA, (ACT, REFPB), BANK, cwl + bl + t.tWR + t.tRP)
        return b.build("ramulator2", bankgroups, banks_per_group)
    # DDR4 set (also used for DDR5, LPDDR5, GDDR6). With bank groups off Ramulator keeps all banks in
    # one bank-group node, so the _L values apply between them.
    ccd_l, rrd_l, wtr_l = t.tCCD_L, t.tRRD_L, t.tWTR_L
    b.add(_READS, _READS, UNIT, bl)
    b.add(_WRITES, _WRITES, UNIT, bl)
    b.add(_READS, _READS, RANK, t.tCCD_S)
    b.add(_WRITES, _WRITES, RANK, t.tCCD_S)
    b.add(_READS, _WRITES, RANK, cl + bl + 2 - cwl)
    b.add(_WRITES, _READS, RANK, cwl + bl + t.tWTR_S)
    b.add(_READS, _COLUMN, OTHER_RANKS, bl + t.tRTRS)
    b.add(_WRITES, _READS, OTHER_RANKS, cl + bl + t.tRTRS - cwl)
    b.add(RD, PREA, RANK, t.tRTP)
    b.add(WR, PREA, RANK, cwl + bl + t.tWR)
    b.add(ACT, ACT, RANK, t.tRRD_S)
    b.window(4, t.tFAW)
    b.add(ACT, PREA, RANK, t.tRAS)
    b.add(PREA, ACT, RANK, t.tRP)
    b.add(ACT, REFAB, RANK, t.tRC)
    b.add((PRE, PREA), REFAB, RANK, t.tRP)
    b.add(RDA, REFAB, RANK, t.tRP + t.tRTP)
    b.add(WRA, REFAB, RANK, cwl + bl + t.tWR + t.tRP)
    b.add(REFAB, ACT, RANK, t.tRFC)
    b.add(_READS, _READS, BANKGROUP, ccd_l)
    b.add(_WRITES, _WRITES, BANKGROUP, ccd_l)
    b.add(_WRITES, _READS, BANKGROUP, cwl + bl + wtr_l)
    b.add(ACT, ACT, BANKGROUP, rrd_l)
    b.add(ACT, ACT, BANK, t.tRC)
    b.add(ACT, _COLUMN, BANK, t.tRCD_RD)
    b.add(ACT, PRE, BANK, t.tRAS)
    b.add(PRE, ACT, BANK, t.tRP)
    b.add(RD, PRE, BANK, t.tRTP)
    b.add(WR, PRE, BANK, cwl + bl + t.tWR)
    b.add(RDA, ACT, BANK, t.tRTP + t.tRP)
    b.add(WRA, ACT, BANK, cwl + bl + t.tWR + t.tRP)
    if _is_gddr(standard):
        b.window(32, t.t32AW)
    return b.build("ramulator2", bankgroups, banks_per_group)


_BUILDERS = {"default": build_default, "dramsim3": build_dramsim3, "ramulator2": build_ramulator2}


def build_table(spec: DramSpec, profile: str | None = None) -> TimingTable:
    """The constraint table of ``spec`` for ``profile`` (default: ``spec.controller.compat``)."""
    prof = profile or spec.controller.compat
    if prof not in _BUILDERS:
        raise ConfigError("unknown DRAM controller profile", key="controller.compat", value=prof,
                          expected=" / ".join(PROFILES))
    t = spec.timing
    for name in ("CL", "CWL", "tRCD_RD", "tRCD_WR", "tRP", "tRAS", "tBL"):
        if getattr(t, name) <= 0:
            raise ConfigError("DRAM timing must be a positive number of cycles", key=f"timing.{name}",
                              value=getattr(t, name), expected="an integer >= 1")
    return _BUILDERS[prof](t, spec.org.standard, spec.org.bankgroups, spec.org.banks_per_group)
