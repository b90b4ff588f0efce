"""PIM timing constraints as data: the (preceding, following, scope, delay) rows of :mod:`sim.dram.timing`,
extended with the PIM command codes (>= 16) of :mod:`sim.pim.commands`.

The plain DRAM rows (ACT, PRE, PREA, RD, WR, REF) come from :func:`sim.dram.timing.build_default` on the
memory's DRAM timing; the PIM rows are added here from the spec's :class:`~sim.pim.spec.PimTiming`.
Scopes are the same bit masks (1 same bank, 2 other banks of the bank group, 4 banks of the other bank
groups of the rank, 8 banks of the other ranks). A command that reaches several banks (ACT16, MAC_ABK,
PIM_RD, WR_GB, REF, ...) relates to a bank by every scope bit that holds for *some* bank it reaches, and
the largest delay applies; channel-level commands (WR_GB, RD_MAC, mode changes) reach every bank, so a
``UNIT`` row (15) between them acts on the whole channel.

PIM rows, by family (cycles of tCK; ``occ`` is the PU occupancy of one MAC command, the PU clock period
in DRAM cycles times ceil(elements per access / lanes)):

=============================================  ==========  =================================================
rule                                           scope       delay
=============================================  ==========  =================================================
activate -> MAC (MAC_SBK, MAC_ABK, PIM_RD)      bank        tRCD_MAC
activate -> AF / EWMUL, EWADD / COPY_BKGB /     bank        tRCD_AF / tRCD_EW / tRCD_RDCP / tRCD_WRCP /
COPY_GBBK / RD / WR, PIM_WR                                 tRCD_RD / tRCD_WR
activate -> PRE, PRE4, PREA / REF               bank        tRAS / max(tRC, tRAS + tRP)
PRE, PRE4, PREA -> activate / REF               bank        tRP
REF -> activate / REF                           bank        tRFC
activate -> activate                            bank        max(tRC, tRAS + tRP)
                                                bank group  tRRD_L (other banks), tRRD_S other bank groups
multi-bank activate <-> activate                unit        tRRD_AB
MAC_ABK -> MAC_ABK, PIM_RD/WR -> PIM_RD/WR      unit        max(tCCDAB, tCCD_MAC, occ)
MAC_SBK -> MAC_SBK                              bank / bg   max(tCCD_MAC, occ) / tCCD_L, other bg tCCD_S
column <-> column (bank I/O)                    bg / unit   tCCD_L (all-bank commands: whole unit), tCCD_S
column read -> precharge                        bank        tRTP
column write -> precharge                       bank        CWL + tBL + tWR
MAC -> RD_MAC, PIM_WR / AF -> RD_AF             unit        tMAC_RD
RD_MAC -> MAC                                   unit        tRD_MAC
WR_GB -> MAC, COPY_GBBK / WR_GRF, WR_SRF ->     unit        CWL_GB + tBL (the data has landed)
PIM_RD, PIM_WR / WR_BIAS -> MAC
bus in -> bus in, bus out -> bus out            unit        max(tBL, tCCD_S) (tCCD_L for register reads)
bus out x -> bus in y                           unit        RL_x + tBL + tRTW - WL_y
bus in x -> bus out y                           unit        WL_x + tBL + tWTR_S
mode change -> anything / PIM op -> PIM_TO_AB   unit        tMODE / tMAC_RD
=============================================  ==========  =================================================

Activate windows: the DRAM's tFAW / t32AW count activate *commands* (an ACT16 counts once, as in
aim_simulator's and PIMSimulator's command-level rules), and ``AAW_banks`` per ``tAAW`` counts *bank*
activations (an ACT16 counts 16): the multi-bank power window.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from sim.config.dram_terms import PIM_DTYPE_BYTES
from sim.dram.commands import ACT, PRE, PREA, RD, REFAB, WR
from sim.dram.timing import BANK, BANKGROUP, BG_OTHER, OTHER_RANKS, RANK_OTHER_BG, UNIT, build_default
from sim.pim import commands as C
from sim.pim.spec import PimSpec

SCOPE_BITS = (BANK, BG_OTHER, RANK_OTHER_BG, OTHER_RANKS)

ACTS = (ACT, C.ACT4, C.ACT16, C.ACT_AB)
MULTI_ACTS = (C.ACT4, C.ACT16, C.ACT_AB)
PRES = (PRE, C.PRE4, PREA)
MACS = (C.MAC_SBK, C.MAC_ABK, C.PIM_RD)
ALL_BANK_COLS = (C.MAC_ABK, C.AF, C.EWMUL, C.EWADD, C.PIM_RD, C.PIM_WR)
COL_READS = (RD, C.MAC_SBK, C.MAC_ABK, C.PIM_RD, C.AF, C.EWMUL, C.EWADD, C.COPY_BKGB)
COL_WRITES = (WR, C.COPY_GBBK, C.PIM_WR, C.EWMUL, C.EWADD)
COLS = tuple(dict.fromkeys(COL_READS + COL_WRITES))
BUF_WRITES = (C.WR_GB, C.WR_GRF, C.WR_CRF, C.WR_SRF)
MODES = (C.SB_TO_AB, C.AB_TO_PIM, C.PIM_TO_AB, C.AB_TO_SB)


@dataclass(frozen=True)
class PimTimingTable:
    """Constraint rows and their dense form for the kernel.

    ``rows`` int64 (n, 4): preceding, following, scope mask, delay. ``windows`` int64 (m, 3): count,
    length (cycles), weighted (1: counts banks, 0: counts commands). ``dly`` int64 [NC, 16, NC]: the
    largest delay per (preceding, relation, following), where the relation (0-15) is the set of scope
    bits that relate a bank to the issuing command's banks; ``fol_start`` / ``fol_list``: for each
    preceding command the followers with any non-zero delay. ``done_lat`` int64 [NC]: cycles from issue
    to a command's completion (data returned / written, result ready, bank precharged, refresh done).
    """

    rows: np.ndarray
    windows: np.ndarray
    dly: np.ndarray
    fol_start: np.ndarray
    fol_list: np.ndarray
    done_lat: np.ndarray
    mac_occupancy: int

    def delay(self, preceding: int, following: int, scope_bit: int) -> int:
        """The delay ``preceding`` imposes on ``following`` for one scope bit (cycles), 0 if none."""
        return int(self.dly[preceding, scope_bit, following])

    def describe(self) -> list[str]:
        """One readable line per row (PIM and plain DRAM)."""
        from sim.pim.commands import NAMES as PIM_NAMES

        names = {**C.NAMES, **PIM_NAMES}
        out = [f"{names.get(int(p), int(p)):>9} -> {names.get(int(f), int(f)):<9} scope {int(s):>2}  {int(d)}"
               for p, f, s, d in self.rows]
        for cnt, d, w in self.windows:
            what = "bank activations" if w else "activate commands"
            out.append(f"  window: at most {int(cnt)} {what} per {int(d)} cycles per rank")
        return out


class _Rows:
    def __init__(self) -> None:
        self.rows: list[tuple[int, int, int, int]] = []

    def add(self, pre: tuple[int, ...] | int, fol: tuple[int, ...] | int, scope: int, delay: int) -> None:
        if delay <= 0:
            return
        for p in (pre if isinstance(pre, tuple) else (pre,)):
            for f in (fol if isinstance(fol, tuple) else (fol,)):
                self.rows.append((p, f, scope, int(delay)))


def _rl(t_dram, t_pim, code: int) -> int:
    return t_dram.RL if code == RD else t_pim.CL_REG


def _wl(t_dram, t_pim, code: int) -> int:
    if code == WR:
        return t_dram.WL
    if code == C.WR_BIAS:
        return t_pim.CWL_REG
    return t_pim.CWL_GB


def pim_rows(spec: PimSpec, occupancy: int) -> list[tuple[int, int, int, int]]:
    """The PIM rows (see the module table) for ``spec`` with a MAC occupancy of ``occupancy`` cycles."""
    t, p = spec.dram.timing, spec.pim.timing
    bl = t.tBL
    rc = max(t.tRC, t.tRAS + t.tRP)
    b = _Rows()
    # activate -> column commands
    b.add(ACTS, MACS, BANK, p.tRCD_MAC)
    b.add(ACTS, C.AF, BANK, p.tRCD_AF)
    b.add(ACTS, (C.EWMUL, C.EWADD), BANK, p.tRCD_EW)
    b.add(ACTS, C.COPY_BKGB, BANK, p.tRCD_RDCP)
    b.add(ACTS, C.COPY_GBBK, BANK, p.tRCD_WRCP)
    b.add(MULTI_ACTS, RD, BANK, t.tRCD_RD)
    b.add(MULTI_ACTS, (WR, C.PIM_WR), BANK, t.tRCD_WR)
    b.add(ACT, C.PIM_WR, BANK, t.tRCD_WR)
    # row cycle
    b.add(ACTS, PRES, BANK, t.tRAS)
    b.add(ACTS, REFAB, BANK, rc)
    b.add(PRES, ACTS + (REFAB,), BANK, t.tRP)
    b.add(REFAB, ACTS + (REFAB,), BANK, t.tRFC)
    b.add(ACTS, ACTS, BANK, rc)
    b.add(ACTS, ACTS, BG_OTHER, t.tRRD_L if spec.dram.org.bankgroups > 1 else t.tRRD_S)
    b.add(ACTS, ACTS, RANK_OTHER_BG, t.tRRD_S)
    b.add(MULTI_ACTS, ACTS, UNIT, p.tRRD_AB)
    b.add(ACTS, MULTI_ACTS, UNIT, p.tRRD_AB)
    # column cadence
    ccd_l = t.tCCD_L if spec.dram.org.bankgroups > 1 else t.tCCD_S
    for x in COLS:
        for y in COLS:
            if x in ALL_BANK_COLS or y in ALL_BANK_COLS:
                b.add(x, y, UNIT, ccd_l)
            else:
                b.add(x, y, BANKGROUP, ccd_l)
                b.add(x, y, RANK_OTHER_BG, t.tCCD_S)
    b.add(C.MAC_ABK, C.MAC_ABK, UNIT, max(p.tCCDAB, p.tCCD_MAC, occupancy))
    b.add((C.PIM_RD, C.PIM_WR), (C.PIM_RD, C.PIM_WR), UNIT, max(p.tCCDAB, p.tCCD_MAC, occupancy))
    b.add(C.MAC_SBK, C.MAC_SBK, BANK, max(p.tCCD_MAC, occupancy))
    b.add((C.MAC_SBK, C.MAC_ABK), (C.MAC_SBK, C.MAC_ABK), UNIT, p.tCCD_MAC)
    # column -> precharge
    b.add(tuple(c for c in COL_READS if c not in COL_WRITES), PRES, BANK, t.AL + t.tRTP)
    b.add(COL_WRITES, PRES, BANK, t.WL + bl + t.tWR)
    # PU results
    b.add(MACS, (C.RD_MAC, C.PIM_WR), UNIT, p.tMAC_RD)
    b.add(C.AF, C.RD_AF, UNIT, p.tMAC_RD)
    b.add(C.RD_MAC, MACS, UNIT, p.tRD_MAC)
    b.add((C.PIM_RD, C.PIM_WR), C.PIM_TO_AB, UNIT, p.tMAC_RD)
    # buffers: the data must have landed before the PUs use it
    b.add(C.WR_GB, (C.MAC_SBK, C.MAC_ABK, C.COPY_GBBK), UNIT, p.CWL_GB + bl)
    b.add((C.WR_GRF, C.WR_SRF), (C.PIM_RD, C.PIM_WR), UNIT, p.CWL_GB + bl)
    b.add(C.WR_CRF, (C.AB_TO_PIM, C.PIM_RD, C.PIM_WR), UNIT, p.CWL_GB + bl)
    b.add(C.WR_BIAS, (C.MAC_SBK, C.MAC_ABK), UNIT, p.CWL_REG + bl)
    # the external data bus
    bus_in = BUF_WRITES + (C.WR_BIAS, WR)
    bus_out = (C.RD_MAC, C.RD_AF, RD)
    b.add(bus_in, bus_in, UNIT, max(bl, t.tCCD_S))
    b.add(bus_out, bus_out, UNIT, max(bl, t.tCCD_S))
    b.add((C.RD_MAC, C.RD_AF), (C.RD_MAC, C.RD_AF), UNIT, max(bl, ccd_l))
    for x in bus_out:
        for y in bus_in:
            b.add(x, y, UNIT, _rl(t, p, x) + bl + p.tRTW - _wl(t, p, y))
    for x in bus_in:
        for y in bus_out:
            b.add(x, y, UNIT, _wl(t, p, x) + bl + t.tWTR_S)
    # HBM-PIM mode changes
    every = tuple(C.INFO)
    b.add(MODES, every, UNIT, p.tMODE)
    return b.rows


def _occupancy(spec: PimSpec, dtype: str) -> int:
    lanes = spec.pim.lanes_for(dtype) or 1
    elems = max(1, spec.access_bytes // PIM_DTYPE_BYTES.get(dtype, 2))
    return spec.pu_cycles * -(-elems // lanes)


@lru_cache(maxsize=64)
def build_pim_table(spec: PimSpec, dtype: str = "bf16") -> PimTimingTable:
    """The constraint table of ``spec`` for MACs on ``dtype`` operands (plain DRAM rows + PIM rows)."""
    o, t = spec.dram.org, spec.dram.timing
    plain = build_default(t, o.standard, o.bankgroups, o.banks_per_group)
    occ = _occupancy(spec, dtype)
    rows = [tuple(int(x) for x in r) for r in plain.rows] + pim_rows(spec, occ)
    arr = np.array(sorted(rows), dtype=np.int64).reshape(-1, 4)
    nc = C.NC
    per_bit = np.zeros((nc, 4, nc), dtype=np.int64)
    for p_, f, s, d in arr:
        for i, bit in enumerate(SCOPE_BITS):
            if s & bit and d > per_bit[p_, i, f]:
                per_bit[p_, i, f] = d
    dly = np.zeros((nc, 16, nc), dtype=np.int64)
    for rel in range(16):
        for i in range(4):
            if rel >> i & 1:
                dly[:, rel, :] = np.maximum(dly[:, rel, :], per_bit[:, i, :])
    fol_start = np.zeros(nc + 1, dtype=np.int64)
    fol: list[int] = []
    for p_ in range(nc):
        fs = [f for f in range(nc) if dly[p_, :, f].any()]
        fol += fs
        fol_start[p_ + 1] = len(fol)
    wins = [(int(c), int(d), 0) for c, d in plain.windows]
    pt = spec.pim.timing
    if pt.AAW_banks and pt.tAAW:
        wins.append((pt.AAW_banks, pt.tAAW, 1))
    done = np.zeros(nc, dtype=np.int64)
    done[RD] = t.RL + t.tBL
    done[WR] = t.WL + t.tBL
    done[C.PIM_WR] = t.WL + t.tBL
    for c in (C.RD_MAC, C.RD_AF):
        done[c] = pt.CL_REG + t.tBL
    for c in BUF_WRITES:
        done[c] = pt.CWL_GB + t.tBL
    done[C.WR_BIAS] = pt.CWL_REG + t.tBL
    for c in MACS + (C.AF, C.EWMUL, C.EWADD):
        done[c] = pt.tMAC_RD
    done[C.COPY_BKGB] = done[C.COPY_GBBK] = t.tCCD_L
    for c in PRES:
        done[c] = t.tRP
    done[REFAB] = t.tRFC
    for c in MODES:
        done[c] = pt.tMODE
    return PimTimingTable(rows=arr, windows=np.array(wins, dtype=np.int64).reshape(-1, 3), dly=dly,
                          fol_start=fol_start, fol_list=np.array(fol, dtype=np.int64), done_lat=done,
                          mac_occupancy=occ)


__all__ = ["PimTimingTable", "SCOPE_BITS", "build_pim_table", "pim_rows"]
