"""An independent protocol checker for PIM command logs: replays a log and reports every broken rule.

It does not use the kernel's constraint table (:mod:`sim.pim.timing`): the rules are written here as
named constraints between command *classes* at named scopes, from the spec's timing values, and checked
pairwise on the log (the latest earlier command of a class in a scope is the binding one). The plain
DRAM rules (ACT / PRE / PREA / RD / WR / REF) are :func:`sim.dram.checker.build_rules`'s JEDEC set. It
checks, per channel:

* **targets**: the banks a logged command reaches follow from its command and its rank / bank-group /
  bank fields (``-1`` = all): one bank, a bank group (ACT4, PRE4), every bank (ACT16, MAC_ABK, PREA, REF,
  buffer and register transfers, mode changes) or one parity of every bank pair (PIM_RD / PIM_WR);
* **bank state**: activates only to precharged banks; column commands (RD, WR, MACs, AF, EWMUL, COPY,
  PIM_RD / PIM_WR) only to banks holding the addressed row open; REF only with every bank precharged;
* **timing** between every pair of commands by scope (same bank, other bank of the bank group, other
  bank group, other rank, channel): the tRCD_MAC / tCCD_MAC / tCCDAB / tRRD_AB / tMAC_RD / tRD_MAC /
  buffer-landing / bus-turnaround / mode rules and the JEDEC ones;
* **activate windows**: tFAW / t32AW (activate commands per rank) and the bank-activation window
  ``AAW_banks`` per ``tAAW``;
* **command bus**: one command per cycle per channel; **modes** (HBM-PIM): each command in a mode it is
  legal in, mode changes from the right mode; **buffer**: buffer writes inside the buffer;
* **refresh**: consecutive REFs of a channel at most 9 x tREFI apart (8 postponed), also from cycle 0
  and up to ``end_cycle`` when given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from sim.config.dram_terms import PIM_DTYPE_BYTES
from sim.dram.checker import MAX_POSTPONED, Violation
from sim.dram.checker import build_rules as dram_rules
from sim.dram.commands import ACT, LOG_DTYPE, PRE, PREA, RD, REFAB, WR
from sim.pim import commands as C
from sim.pim.spec import PimSpec

SAME_BANK, SAME_BG, OTHER_BANK_BG, OTHER_BG, SAME_RANK, OTHER_RANK, CHANNEL = (
    "same bank", "same bank group", "other bank of the bank group", "other bank group", "same rank",
    "other rank", "channel")

ACTIVATES = (ACT, C.ACT4, C.ACT16, C.ACT_AB)
MULTI_ACTIVATES = (C.ACT4, C.ACT16, C.ACT_AB)
PRECHARGES = (PRE, C.PRE4, PREA)
MAC_CMDS = (C.MAC_SBK, C.MAC_ABK, C.PIM_RD)
ALL_BANK_COLUMN = (C.MAC_ABK, C.AF, C.EWMUL, C.EWADD, C.PIM_RD, C.PIM_WR)
PIM_READS = (C.MAC_SBK, C.MAC_ABK, C.PIM_RD, C.AF, C.COPY_BKGB)
PIM_WRITES = (C.COPY_GBBK, C.PIM_WR, C.EWMUL, C.EWADD)
COLUMN = (RD, WR) + PIM_READS + PIM_WRITES
TRANSFER_IN = (WR, C.WR_GB, C.WR_GRF, C.WR_CRF, C.WR_SRF, C.WR_BIAS)
TRANSFER_OUT = (RD, C.RD_MAC, C.RD_AF)
MODE_CHANGES = (C.SB_TO_AB, C.AB_TO_PIM, C.PIM_TO_AB, C.AB_TO_SB)


@dataclass(frozen=True)
class PimRule:
    """``later`` may not issue before ``earlier`` + ``delay`` cycles when they relate by ``scope``."""

    name: str
    earlier: tuple[int, ...]
    later: tuple[int, ...]
    scope: str
    delay: int


def _name(code: int) -> str:
    return C.NAMES.get(code, f"cmd{code}")


def build_pim_rules(spec: PimSpec, dtype: str = "bf16") -> list[PimRule]:
    """Every timing rule for ``spec`` (plain JEDEC rules + PIM rules), from the spec's values."""
    t, p, o = spec.dram.timing, spec.pim.timing, spec.dram.org
    rules: list[PimRule] = []
    scope_of = {"bank": SAME_BANK, "bank group": SAME_BG, "other bank group": OTHER_BG, "rank": SAME_RANK,
                "other rank": OTHER_RANK}
    for r in dram_rules(spec.dram, "default"):
        if r.name.startswith("tRTRS (RD to WR") or r.name == "read-to-write turnaround":
            # the PIM controller turns the bus around like AiM's: RL + tBL + tRTW - WL
            continue
        rules.append(PimRule(r.name, r.earlier, r.later, scope_of[r.scope], r.delay))
    long_ccd = t.tCCD_L if o.bankgroups > 1 else t.tCCD_S
    lanes = spec.pim.lanes_for(dtype) or 1
    elems = max(1, spec.access_bytes // PIM_DTYPE_BYTES.get(dtype, 2))
    occupancy = spec.pu_cycles * -(-elems // lanes)
    row_cycle = max(t.tRC, t.tRAS + t.tRP)
    bl = t.tBL

    def add(name: str, earlier: Iterable[int], later: Iterable[int], scope: str, delay: int) -> None:
        if delay > 0:
            rules.append(PimRule(name, tuple(earlier), tuple(later), scope, int(delay)))

    # activation and precharge
    add("tRCD_MAC (activate to MAC)", ACTIVATES, MAC_CMDS, SAME_BANK, p.tRCD_MAC)
    add("tRCD_AF (activate to AF)", ACTIVATES, (C.AF,), SAME_BANK, p.tRCD_AF)
    add("tRCD_EW (activate to EWMUL/EWADD)", ACTIVATES, (C.EWMUL, C.EWADD), SAME_BANK, p.tRCD_EW)
    add("tRCD_RDCP (activate to COPY_BKGB)", ACTIVATES, (C.COPY_BKGB,), SAME_BANK, p.tRCD_RDCP)
    add("tRCD_WRCP (activate to COPY_GBBK)", ACTIVATES, (C.COPY_GBBK,), SAME_BANK, p.tRCD_WRCP)
    add("tRCD_RD (multi-bank activate to RD)", MULTI_ACTIVATES, (RD,), SAME_BANK, t.tRCD_RD)
    add("tRCD_WR (activate to a write)", ACTIVATES, (WR, C.PIM_WR), SAME_BANK, t.tRCD_WR)
    add("tRAS (activate to precharge)", ACTIVATES, PRECHARGES, SAME_BANK, t.tRAS)
    add("tRC (activate to REF)", ACTIVATES, (REFAB,), SAME_BANK, row_cycle)
    add("tRP (precharge to activate/REF)", PRECHARGES, ACTIVATES + (REFAB,), SAME_BANK, t.tRP)
    add("tRFC (REF to activate/REF)", (REFAB,), ACTIVATES + (REFAB,), SAME_BANK, t.tRFC)
    add("tRC (activate to activate)", ACTIVATES, ACTIVATES, SAME_BANK, row_cycle)
    add("tRRD_L (activates in a bank group)", ACTIVATES, ACTIVATES, OTHER_BANK_BG,
        t.tRRD_L if o.bankgroups > 1 else t.tRRD_S)
    add("tRRD_S (activates across bank groups)", ACTIVATES, ACTIVATES, OTHER_BG, t.tRRD_S)
    add("tRRD_AB (multi-bank activate)", MULTI_ACTIVATES, ACTIVATES, CHANNEL, p.tRRD_AB)
    add("tRRD_AB (activate before a multi-bank activate)", ACTIVATES, MULTI_ACTIVATES, CHANNEL, p.tRRD_AB)
    # column cadence
    add("tCCDAB (all-bank MAC cadence)", (C.MAC_ABK,), (C.MAC_ABK,), CHANNEL, max(p.tCCDAB, p.tCCD_MAC, occupancy))
    add("tCCDAB (PIM-mode column cadence)", (C.PIM_RD, C.PIM_WR), (C.PIM_RD, C.PIM_WR), CHANNEL,
        max(p.tCCDAB, p.tCCD_MAC, occupancy))
    add("tCCD_MAC (MAC cadence of one bank)", (C.MAC_SBK,), (C.MAC_SBK,), SAME_BANK, max(p.tCCD_MAC, occupancy))
    add("tCCD_MAC (single- and all-bank MACs)", (C.MAC_SBK, C.MAC_ABK), (C.MAC_SBK, C.MAC_ABK), CHANNEL, p.tCCD_MAC)
    for x in COLUMN:
        for y in COLUMN:
            if x in ALL_BANK_COLUMN or y in ALL_BANK_COLUMN:
                add(f"tCCD_L ({_name(x)} to {_name(y)}, all banks)", (x,), (y,), CHANNEL, long_ccd)
            else:
                add(f"tCCD_L ({_name(x)} to {_name(y)})", (x,), (y,), SAME_BG, long_ccd)
                add(f"tCCD_S ({_name(x)} to {_name(y)})", (x,), (y,), OTHER_BG, t.tCCD_S)
    add("tRTP (PIM read to precharge)", tuple(c for c in PIM_READS if c not in PIM_WRITES), PRECHARGES, SAME_BANK,
        t.AL + t.tRTP)
    add("tWR (PIM write to precharge)", PIM_WRITES, PRECHARGES, SAME_BANK, t.WL + bl + t.tWR)
    # the PUs and their buffers
    add("tMAC_RD (MAC to result read/store)", MAC_CMDS, (C.RD_MAC, C.PIM_WR), CHANNEL, p.tMAC_RD)
    add("tMAC_RD (AF to RD_AF)", (C.AF,), (C.RD_AF,), CHANNEL, p.tMAC_RD)
    add("tRD_MAC (result read to MAC)", (C.RD_MAC,), MAC_CMDS, CHANNEL, p.tRD_MAC)
    add("tMAC_RD (PIM op to PIM_TO_AB)", (C.PIM_RD, C.PIM_WR), (C.PIM_TO_AB,), CHANNEL, p.tMAC_RD)
    add("buffer write lands (WR_GB)", (C.WR_GB,), (C.MAC_SBK, C.MAC_ABK, C.COPY_GBBK), CHANNEL, p.CWL_GB + bl)
    add("register write lands (WR_GRF/WR_SRF)", (C.WR_GRF, C.WR_SRF), (C.PIM_RD, C.PIM_WR), CHANNEL, p.CWL_GB + bl)
    add("CRF write lands", (C.WR_CRF,), (C.AB_TO_PIM, C.PIM_RD, C.PIM_WR), CHANNEL, p.CWL_GB + bl)
    add("bias write lands (WR_BIAS)", (C.WR_BIAS,), (C.MAC_SBK, C.MAC_ABK), CHANNEL, p.CWL_REG + bl)
    # the external data bus

    def read_lat(c: int) -> int:
        return t.RL if c == RD else p.CL_REG

    def write_lat(c: int) -> int:
        return t.WL if c == WR else (p.CWL_REG if c == C.WR_BIAS else p.CWL_GB)

    add("data bus (transfers in)", TRANSFER_IN, TRANSFER_IN, CHANNEL, max(bl, t.tCCD_S))
    add("data bus (transfers out)", TRANSFER_OUT, TRANSFER_OUT, CHANNEL, max(bl, t.tCCD_S))
    add("register reads (tCCD_L)", (C.RD_MAC, C.RD_AF), (C.RD_MAC, C.RD_AF), CHANNEL, max(bl, long_ccd))
    for x in TRANSFER_OUT:
        for y in TRANSFER_IN:
            add(f"read-to-write turnaround ({_name(x)} to {_name(y)})", (x,), (y,), CHANNEL,
                read_lat(x) + bl + p.tRTW - write_lat(y))
    for x in TRANSFER_IN:
        for y in TRANSFER_OUT:
            add(f"write-to-read turnaround ({_name(x)} to {_name(y)})", (x,), (y,), CHANNEL,
                write_lat(x) + bl + t.tWTR_S)
    add("tMODE (mode change)", MODE_CHANGES, tuple(C.INFO), CHANNEL, p.tMODE)
    return rules


def describe_pim_command(row: np.void) -> str:
    """``MAC_ABK@1234 ch0 all row 17 col 5``."""
    parts = [f"{_name(int(row['cmd']))}@{int(row['cycle'])}", f"ch{int(row['channel'])}"]
    r, g, b = int(row["rank"]), int(row["bankgroup"]), int(row["bank"])
    where = ("all" if g < 0 and b < 0 else f"bg{g}" if b < 0 else f"parity{b}" if g < 0 else f"bg{g} ba{b}")
    parts.append(where if r < 0 else f"ra{r} {where}")
    if int(row["row"]) >= 0:
        parts.append(f"row {int(row['row'])}")
    if int(row["column"]) >= 0:
        parts.append(f"col {int(row['column'])}")
    return " ".join(parts)


def format_pim_violations(violations: Iterable[Violation], log: np.ndarray, limit: int = 20) -> str:
    """Readable lines for the first ``limit`` violations."""
    vs = list(violations)
    out = []
    for v in vs[:limit]:
        second = describe_pim_command(log[v.second])
        if v.first is None:
            out.append(f"{v.constraint}: {second}" + (f" ({v.detail})" if v.detail else ""))
        else:
            first = describe_pim_command(log[v.first])
            timing = f" {v.actual} cycles after {first}; needs >= {v.required}" if v.required else f" after {first}"
            out.append(f"{v.constraint}: {second}{timing}" + (f" ({v.detail})" if v.detail else ""))
    if len(vs) > limit:
        out.append(f"... and {len(vs) - limit} more")
    return "\n".join(out)


class _Bank:
    __slots__ = ("rank", "bg", "ba")

    def __init__(self, rank: int, bg: int, ba: int) -> None:
        self.rank, self.bg, self.ba = rank, bg, ba


def _binding(per: dict[int, tuple[int, int]], tg: list[int], scope: str,
             banks: list[_Bank]) -> tuple[int, int] | None:
    """The latest earlier stamp (cycle, index) among banks ``per`` that relate to some bank of ``tg`` by
    ``scope``."""
    if scope == CHANNEL:
        return max(per.values())
    if scope == SAME_BANK:
        got = [per[i] for i in tg if i in per]
        return max(got) if got else None
    tset = set(tg)
    groups = {(banks[i].rank, banks[i].bg) for i in tg}
    ranks = {banks[i].rank for i in tg}
    best = None
    for j, stamp in per.items():
        b = banks[j]
        if scope == SAME_BG:
            ok = (b.rank, b.bg) in groups
        elif scope == OTHER_BANK_BG:
            ok = (b.rank, b.bg) in groups and (j not in tset or sum(
                1 for i in tg if (banks[i].rank, banks[i].bg) == (b.rank, b.bg)) > 1)
        elif scope == OTHER_BG:
            ok = b.rank in ranks and any(r == b.rank and g != b.bg for r, g in groups)
        elif scope == SAME_RANK:
            ok = b.rank in ranks
        else:  # OTHER_RANK
            ok = any(r != b.rank for r in ranks)
        if ok and (best is None or stamp > best):
            best = stamp
    return best


def check_pim_log(log: np.ndarray, spec: PimSpec, *, dtype: str = "bf16", end_cycle: int | None = None,
                  max_violations: int = 1000) -> list[Violation]:
    """Check a PIM command log (:data:`~sim.dram.commands.LOG_DTYPE`) against ``spec``; the violations."""
    log = np.asarray(log)
    if log.dtype != LOG_DTYPE:
        raise TypeError("the command log must be a LOG_DTYPE array (sim.dram.commands)")
    o, t = spec.dram.org, spec.dram.timing
    nbk, bpg = o.banks, o.banks_per_group
    banks = [_Bank(i // nbk, (i % nbk) // bpg, i % bpg) for i in range(o.ranks * nbk)]
    rules = build_pim_rules(spec, dtype)
    by_later: dict[int, list[PimRule]] = {}
    for r in rules:
        for c in r.later:
            by_later.setdefault(c, []).append(r)
    cs = spec.pim.command_set
    allowed = {c for c in C.INFO if C.INFO[c].name in C.COMMAND_SETS[cs]}
    hbm = cs == "hbm-pim"
    bpp = spec.pim.banks_per_pu
    windows = [(4, t.tFAW, False), (32, t.t32AW, False)]
    if spec.pim.timing.AAW_banks and spec.pim.timing.tAAW:
        windows.append((spec.pim.timing.AAW_banks, spec.pim.timing.tAAW, True))
    out: list[Violation] = []

    def add(v: Violation) -> bool:
        out.append(v)
        return len(out) >= max_violations

    def targets(cmd: int, r: int, g: int, b: int) -> list[int]:
        info = C.INFO[cmd]
        ranks = range(o.ranks) if r < 0 else (r,)
        if info.reach in (C.R_ALL, C.R_CHANNEL):
            return [i for i, x in enumerate(banks) if x.rank in ranks]
        if info.reach == C.R_PARITY:
            return [i for i, x in enumerate(banks) if x.rank in ranks and x.ba % bpp == b % bpp]
        if info.reach == C.R_GROUP:
            return [i for i, x in enumerate(banks) if x.rank in ranks and x.bg == g]
        return [i for i, x in enumerate(banks) if x.rank in ranks and x.bg == g and x.ba == b]

    order = np.argsort(log["cycle"], kind="stable")
    state: dict[int, dict] = {}
    for idx in order.tolist():
        row = log[idx]
        cyc, cmd, ch = int(row["cycle"]), int(row["cmd"]), int(row["channel"])
        st = state.get(ch)
        if st is None:
            st = state[ch] = {"last": {}, "open": {}, "acts": [], "bus": None, "mode": C.SB, "refs": []}
        if cmd not in allowed:
            if add(Violation(f"unknown command for the {cs} command set", idx, detail=f"code {cmd}")):
                return out
            continue
        tg = targets(cmd, int(row["rank"]), int(row["bankgroup"]), int(row["bank"]))
        if not tg:
            if add(Violation("command reaches no bank", idx)):
                return out
            continue
        info = C.INFO[cmd]
        # command bus
        if st["bus"] == cyc and add(Violation("command bus (one command per cycle)", idx)):
            return out
        st["bus"] = cyc
        # modes
        if hbm and not (info.modes >> st["mode"]) & 1:
            if add(Violation("command in the wrong mode", idx, detail=f"mode {('SB', 'AB', 'PIM')[st['mode']]}")):
                return out
        # timing
        last: dict[int, dict[int, tuple[int, int]]] = st["last"]
        for rule in by_later.get(cmd, ()):
            for e in rule.earlier:
                per = last.get(e)
                if not per:
                    continue
                found = _binding(per, tg, rule.scope, banks)
                if found is not None and cyc - found[0] < rule.delay:
                    if add(Violation(rule.name, idx, found[1], rule.delay, cyc - found[0])):
                        return out
        # activate windows
        if cmd in ACTIVATES:
            for rk in sorted({banks[i].rank for i in tg}):
                w_own = sum(1 for i in tg if banks[i].rank == rk)
                hist = [a for a in st["acts"] if a[2] == rk]
                for count, length, weighted in windows:
                    if length <= 0:
                        continue
                    s = w_own if weighted else 1
                    for a_cyc, a_idx, _, a_w in reversed(hist):
                        if cyc - a_cyc >= length:
                            break
                        s += a_w if weighted else 1
                        if s > count:
                            what = "bank activations" if weighted else "activates"
                            if add(Violation("tAAW" if weighted else ("tFAW" if count == 4 else "t32AW"), idx, a_idx,
                                             length, cyc - a_cyc, detail=f"more than {count} {what} in the window")):
                                return out
                            break
                st["acts"].append((cyc, idx, rk, w_own))
            if len(st["acts"]) > 256:
                del st["acts"][:64]
        # bank state
        opened: dict[int, int] = st["open"]
        if cmd in ACTIVATES:
            busy = [i for i in tg if i in opened]
            if busy and add(Violation("activate to an open bank", idx, detail=f"{len(busy)} bank(s) open")):
                return out
            for i in tg:
                opened[i] = int(row["row"])
        elif cmd in COLUMN:
            bad = [i for i in tg if opened.get(i) != int(row["row"])]
            if bad:
                closed = [i for i in bad if i not in opened]
                what = "to a closed bank" if closed else "to a row that is not open"
                if add(Violation(f"{_name(cmd)} {what}", idx, detail=f"{len(bad)} bank(s)")):
                    return out
        elif cmd in PRECHARGES:
            for i in tg:
                opened.pop(i, None)
        elif cmd == REFAB:
            if opened and add(Violation("REF with banks open", idx, detail=f"{len(opened)} bank(s) open")):
                return out
            gap = cyc - (st["refs"][-1][0] if st["refs"] else 0)
            bound = (1 + MAX_POSTPONED) * t.tREFI
            if t.tREFI and gap > bound and add(Violation("refresh interval", idx,
                                                         st["refs"][-1][1] if st["refs"] else None, bound, gap)):
                return out
            st["refs"].append((cyc, idx))
        if cmd in (C.WR_GB, C.WR_GRF) and int(row["column"]) >= spec.buffer_columns:
            if add(Violation("buffer write beyond the buffer", idx,
                             detail=f"entry {int(row['column'])} of {spec.buffer_columns}")):
                return out
        if info.mode_set >= 0:
            st["mode"] = info.mode_set
        stamp = (cyc, idx)
        per = last.setdefault(cmd, {})
        for i in tg:
            per[i] = stamp
    if end_cycle is not None and t.tREFI and spec.dram.controller.refresh != "none":
        bound = (1 + MAX_POSTPONED) * t.tREFI
        for ch, st in sorted(state.items()):
            last_ref = st["refs"][-1][0] if st["refs"] else 0
            if end_cycle - last_ref > bound:
                out.append(Violation("refresh interval", st["refs"][-1][1] if st["refs"] else 0, None, bound,
                                     end_cycle - last_ref, detail=f"ch{ch}: last REF at {last_ref}, end {end_cycle}"))
    return out[:max_violations]


__all__ = ["PimRule", "build_pim_rules", "check_pim_log", "describe_pim_command", "format_pim_violations"]
