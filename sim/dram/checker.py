"""An independent DRAM protocol checker: replays a command log and reports every broken rule.

The checker does not use the engine's constraint tables (:mod:`sim.dram.timing`); it derives the
rules itself from the JEDEC definitions and the spec's timing values, so that the two can catch each
other's mistakes. It checks, per scheduling unit (the log's ``channel``: a channel or pseudo-channel):

* **bank state machine**: ACT only to a precharged bank; RD/WR (and RDA/WRA) only to an open bank
  and to the open row; REF only when every bank of the rank is precharged (REFpb: that bank);
  RDA/WRA, PRE and PREA close banks.
* **pairwise timings** between every earlier and later command, by scope (same bank, same bank
  group, other bank group, other rank), e.g. ``tRCD`` (ACT->RD/WR), ``tRAS`` (ACT->PRE), ``tRC``,
  ``tRP``, ``tRTP``, ``tWR``, ``tRRD_S/L``, ``tCCD_S/L``, ``tWTR_S/L``, read-to-write turnaround,
  rank switching ``tRTRS``, ``tRFC``, ``tPPD``. The latest earlier command of each kind in a scope is
  the binding one, so tracking it suffices to check every pair.
* **activate windows**: at most 4 ACTs per rank in any ``tFAW`` (and 32 per ``t32AW``).
* **command bus**: one command per cycle per unit (HBM: one row and one column command).
* **refresh**: consecutive REFs of a rank at most ``(1 + postponed) * tREFI`` apart (JEDEC lets a
  controller postpone 8 refreshes), also from cycle 0 and up to ``end_cycle`` when given.

Profiles: the ``default`` rules are JEDEC's (read-to-write turnaround ``RL + tBL + 2 - WL`` for a
one-cycle write preamble, rank-to-rank gaps of ``tRTRS``). ``dramsim3`` and ``ramulator2`` use the
rules those simulators enforce where they differ from JEDEC (e.g. DRAMsim3's read-to-write
``RL + tBL - WL + tRTRS``; Ramulator 2.0's rank-switch read-to-write ``tBL + nCS``, which lets write
data overlap read data of the other rank), so that a faithful reproduction passes; run the
``default`` profile on such a log to list its departures from JEDEC.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.dram.commands import ACT, CODES, LOG_DTYPE, NAMES, PRE, PREA, RD, RDA, REFAB, REFPB, WR, WRA
from sim.dram.spec import DramSpec
from sim.errors import TraceError

PROFILES = ("default", "dramsim3", "ramulator2")
#: JEDEC: at most 8 all-bank refreshes may be postponed.
MAX_POSTPONED = 8

READS = (RD, RDA)
WRITES = (WR, WRA)
COLUMN = READS + WRITES
ROW_CMDS = (ACT, PRE, PREA, REFAB, REFPB)
RANK_CMDS = (PREA, REFAB)

# scopes, relative to the later command
BANK, BANKGROUP, OTHER_BG, RANK, OTHER_RANK = "bank", "bank group", "other bank group", "rank", "other rank"
OTHER_BANKS = "other banks of the rank"
OTHER_BANKS_BG = "other banks of the bank group"


@dataclass(frozen=True)
class Rule:
    """``later`` may not issue before ``earlier`` + ``delay`` cycles within ``scope``."""

    name: str
    earlier: tuple[int, ...]
    later: tuple[int, ...]
    scope: str
    delay: int


@dataclass(frozen=True)
class Violation:
    """One broken rule: the constraint, the two commands (log indices), and the cycles involved."""

    constraint: str
    second: int                     #: log index of the offending (later) command
    first: int | None = None        #: log index of the earlier command it conflicts with
    required: int = 0               #: minimum distance in cycles (timing rules)
    actual: int = 0                 #: actual distance in cycles
    detail: str = ""

    def describe(self, log: np.ndarray) -> str:
        """A readable one-line account naming both commands."""
        second = describe_command(log[self.second])
        if self.first is None:
            return f"{self.constraint}: {second}" + (f" ({self.detail})" if self.detail else "")
        first = describe_command(log[self.first])
        timing = (f" {self.actual} cycles after {first}; needs >= {self.required}" if self.required
                  else f" after {first}")
        return f"{self.constraint}: {second}{timing}" + (f" ({self.detail})" if self.detail else "")


def describe_command(row: np.void) -> str:
    """``RD@1234 ch0 ra1 bg2 ba3 row 17 col 5``."""
    name = NAMES.get(int(row["cmd"]), f"cmd{int(row['cmd'])}")
    parts = [f"{name}@{int(row['cycle'])}", f"ch{int(row['channel'])}", f"ra{int(row['rank'])}"]
    if int(row["bank"]) >= 0:
        parts += [f"bg{int(row['bankgroup'])}", f"ba{int(row['bank'])}"]
    if int(row["row"]) >= 0:
        parts.append(f"row {int(row['row'])}")
    if int(row["column"]) >= 0 and int(row["cmd"]) in COLUMN:
        parts.append(f"col {int(row['column'])}")
    return " ".join(parts)


def build_rules(spec: DramSpec, profile: str | None = None) -> list[Rule]:
    """The pairwise timing rules of ``spec`` under ``profile`` (default: the spec's compat profile)."""
    profile = profile or spec.controller.compat
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
    t, o = spec.timing, spec.org
    std = o.standard.upper()
    rl, wl, bl = t.AL + t.CL, t.AL + t.CWL, t.tBL
    ccd_l, wtr_l, rrd_l = t.tCCD_L, t.tWTR_L, t.tRRD_L
    if profile != "ramulator2" and o.bankgroups == 1:
        # Bank groups off: the _S values apply between all banks (GDDR5/6 datasheets, DRAMsim3). Ramulator
        # 2.0's constraint tree instead puts every bank in its single bank-group node, so _L applies.
        ccd_l, wtr_l, rrd_l = t.tCCD_S, t.tWTR_S, t.tRRD_S
    trc = t.tRAS + t.tRP if profile == "dramsim3" else t.tRC   # DRAMsim3 computes tRC = tRAS + tRP
    no_al = profile == "dramsim3" and (std.startswith("HBM") or std.startswith("GDDR"))
    rcd_rd = t.tRCD_RD if no_al else max(1, t.tRCD_RD - t.AL)
    rcd_wr = t.tRCD_WR if no_al else max(1, t.tRCD_WR - t.AL)
    rtp = t.AL + t.tRTP
    wr_to_pre = wl + bl + t.tWR

    rtw_scope = RANK
    if profile == "dramsim3":
        # DRAMsim3 constrains RD -> WR in every bank of the rank but RDA -> WR only in the other banks
        # (its own bank must be activated again first)
        rtw_scope = OTHER_BANKS
        rtw_same = rl + bl - wl + t.tRTRS
        rtw_other = rl + bl + t.tRTRS - wl
        wtr_other = wl + bl + t.tRTRS - rl
        wtw_other = bl
    elif profile == "ramulator2":
        rtw_same = t.CL + bl + 2 - t.CWL
        if std.startswith("HBM"):
            # Ramulator's HBM models have no rank level: between ranks (stack IDs) of one
            # pseudo-channel only the shared data bus constrains column commands.
            rtw_other, wtr_other, wtw_other = rl + bl - wl, wl + bl - rl, bl
        else:
            rtw_other = bl + t.tRTRS
            wtr_other = t.CL + bl + t.tRTRS - t.CWL
            wtw_other = bl
    else:
        rtw_same = rl + bl + 2 - wl
        rtw_other = rl + bl + t.tRTRS - wl
        wtr_other = wl + bl + t.tRTRS - rl
        wtw_other = bl + t.tRTRS

    rules = [
        Rule("tRCD (ACT to RD)", (ACT,), READS, BANK, rcd_rd),
        Rule("tRCD (ACT to WR)", (ACT,), WRITES, BANK, rcd_wr),
        Rule("tRAS", (ACT,), (PRE,), BANK, t.tRAS),
        Rule("tRAS (ACT to PREA)", (ACT,), (PREA,), RANK, t.tRAS),
        Rule("tRC", (ACT,), (ACT,), BANK, trc),
        Rule("tRP", (PRE,), (ACT,), BANK, t.tRP),
        Rule("tRP (PREA to ACT)", (PREA,), (ACT,), RANK, t.tRP),
        Rule("tRTP", (RD,), (PRE,), BANK, rtp),
        Rule("tRTP (RD to PREA)", (RD,), (PREA,), RANK, rtp),
        Rule("tWR", (WR,), (PRE,), BANK, wr_to_pre),
        Rule("tWR (WR to PREA)", (WR,), (PREA,), RANK, wr_to_pre),
        Rule("tRTP + tRP (RDA to ACT)", (RDA,), (ACT,), BANK, rtp + t.tRP),
        Rule("tWR + tRP (WRA to ACT)", (WRA,), (ACT,), BANK, wr_to_pre + t.tRP),
        Rule("tRRD_L", (ACT,), (ACT,), BANKGROUP, rrd_l),
        Rule("tRRD_S", (ACT,), (ACT,), OTHER_BG, t.tRRD_S),
        Rule("tCCD_L (RD to RD)", READS, READS, BANKGROUP, max(bl, ccd_l)),
        Rule("tCCD_S (RD to RD)", READS, READS, OTHER_BG, max(bl, t.tCCD_S)),
        Rule("tCCD_L (WR to WR)", WRITES, WRITES, BANKGROUP, max(bl, ccd_l)),
        Rule("tCCD_S (WR to WR)", WRITES, WRITES, OTHER_BG, max(bl, t.tCCD_S)),
        Rule("read-to-write turnaround", (RD,), WRITES, RANK, rtw_same),
        Rule("read-to-write turnaround", (RDA,), WRITES, rtw_scope, rtw_same),
        Rule("tWTR_L", (WR,), READS, BANKGROUP, wl + bl + wtr_l),
        # DRAMsim3 constrains WRA -> RD in the other banks of the bank group only (its own bank needs an ACT)
        Rule("tWTR_L", (WRA,), READS, OTHER_BANKS_BG if profile == "dramsim3" else BANKGROUP, wl + bl + wtr_l),
        Rule("tWTR_S", WRITES, READS, OTHER_BG, wl + bl + t.tWTR_S),
        Rule("tRTRS (RD to RD, rank switch)", READS, READS, OTHER_RANK,
             bl if (profile == "ramulator2" and std.startswith("HBM")) else bl + t.tRTRS),
        Rule("tRTRS (RD to WR, rank switch)", READS, WRITES, OTHER_RANK, rtw_other),
        Rule("tRTRS (WR to RD, rank switch)", WRITES, READS, OTHER_RANK, wtr_other),
        Rule("data bus (WR to WR, rank switch)", WRITES, WRITES, OTHER_RANK, wtw_other),
        Rule("tRFC (REF to ACT)", (REFAB,), (ACT,), RANK, t.tRFC),
        Rule("tRFC (REF to REF)", (REFAB,), (REFAB,), RANK, t.tRFC),
        Rule("tRP (PRE to REF)", (PRE, PREA), (REFAB,), RANK, t.tRP),
        Rule("tRTP + tRP (RDA to REF)", (RDA,), (REFAB,), RANK, rtp + t.tRP),
        Rule("tWR + tRP (WRA to REF)", (WRA,), (REFAB,), RANK, wr_to_pre + t.tRP),
    ]
    if profile == "ramulator2":
        rules = [r for r in rules if r.name != "tRFC (REF to REF)"]
    if t.tRFCpb > 0:
        rules += [Rule("tRFCpb (REFpb to ACT)", (REFPB,), (ACT,), BANK, t.tRFCpb),
                  Rule("tRP (PRE to REFpb)", (PRE,), (REFPB,), BANK, t.tRP)]
    ppd_applies = {"default": True, "ramulator2": False,
                   "dramsim3": std.startswith("GDDR") or std.startswith("LPDDR")}[profile]
    if t.tPPD > 0 and ppd_applies:
        rules += [Rule("tPPD", (PRE,), (PRE,), BANKGROUP, t.tPPD),
                  Rule("tPPD", (PRE,), (PRE,), OTHER_BG, t.tPPD)]
    return [r for r in rules if r.delay > 0]


class _RankState:
    __slots__ = ("bank_last", "bg_last", "rank_last", "other_last", "bg_other", "open", "acts", "refs")

    def __init__(self, bankgroups: int) -> None:
        self.bank_last: dict[tuple[int, int], dict[int, tuple[int, int]]] = {}
        self.bg_last: dict[int, list[tuple[int, int] | None]] = {}
        self.rank_last: dict[int, tuple[int, int]] = {}
        #: per command: (bank of the latest, latest from a bank other than that one) -> "other banks" scope
        self.other_last: dict[int, tuple[tuple[int, int], tuple[int, int] | None]] = {}
        #: the same per (command, bank group) -> "other banks of the bank group" scope
        self.bg_other: dict[tuple[int, int], tuple[tuple[int, int], tuple[int, int] | None]] = {}
        self.open: dict[tuple[int, int], int] = {}
        self.acts: list[tuple[int, int]] = []
        self.refs: list[tuple[int, int]] = []


def _later(a: tuple[int, int] | None, b: tuple[int, int] | None) -> tuple[int, int] | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if a[0] >= b[0] else b


def check_log(log: np.ndarray, spec: DramSpec, *, profile: str | None = None, end_cycle: int | None = None,
              max_violations: int = 1000) -> list[Violation]:
    """Check a command log (:data:`LOG_DTYPE` array) against ``spec``; return the violations found.

    ``profile`` selects the rule set (default: ``spec.controller.compat``); ``end_cycle`` (e.g. the
    run's cycle count) also checks that the last refresh of each rank is recent enough. At most
    ``max_violations`` are returned.
    """
    profile = profile or spec.controller.compat
    log = np.asarray(log)
    if log.dtype != LOG_DTYPE:
        raise TypeError("the command log must be a LOG_DTYPE array (sim.dram.commands)")
    o, t = spec.org, spec.timing
    rules = build_rules(spec, profile)
    by_later: dict[int, list[Rule]] = {}
    for r in rules:
        for c in r.later:
            by_later.setdefault(c, []).append(r)
    out: list[Violation] = []
    order = np.argsort(log["cycle"], kind="stable")
    cycles = log["cycle"].tolist()
    cmds = log["cmd"].tolist()
    chans = log["channel"].tolist()
    ranks = log["rank"].tolist()
    bgs = log["bankgroup"].tolist()
    banks = log["bank"].tolist()
    rows = log["row"].tolist()
    is_hbm = o.standard.upper().startswith("HBM")
    # Ramulator 2.0 issues one command per cycle per controller, and one HBM controller serves both
    # pseudo-channels of a channel (the log numbers pseudo-channels as channels).
    bus_group = o.pseudo_channels if (profile == "ramulator2" and is_hbm) else 1
    bus: dict[int, tuple[int, int, int]] = {}     # unit group -> (cycle, row cmds, col cmds)
    states: dict[tuple[int, int], _RankState] = {}
    refresh_on = spec.controller.refresh != "none" and not (
        profile == "ramulator2" and (is_hbm or o.standard.upper().startswith("GDDR")))
    # DRAMsim3's RANK_LEVEL_SIMULTANEOUS refreshes rank 0 only (docs/dram.md): the interval holds for it alone
    rank0_only = profile == "dramsim3" and spec.controller.refresh == "allbank"
    ref_cmd = REFPB if spec.controller.refresh == "perbank" else REFAB
    ref_interval = t.tREFIpb if spec.controller.refresh == "perbank" else t.tREFI

    def add(v: Violation) -> bool:
        out.append(v)
        return len(out) >= max_violations

    def state(u: int, r: int) -> _RankState:
        st = states.get((u, r))
        if st is None:
            st = states[(u, r)] = _RankState(o.bankgroups)
        return st

    for idx in order.tolist():
        cyc, cmd, u, r = cycles[idx], cmds[idx], chans[idx], ranks[idx]
        bg, ba = bgs[idx], banks[idx]
        st = state(u, r)
        key = (bg, ba)

        # --- command bus --------------------------------------------------------------------
        group = u // bus_group
        prev = bus.get(group)
        n_row, n_col = (prev[1], prev[2]) if prev and prev[0] == cyc else (0, 0)
        if cmd in COLUMN:
            n_col += 1
        else:
            n_row += 1
        bus[group] = (cyc, n_row, n_col)
        limit_ok = (n_row <= 1 and n_col <= 1) if (is_hbm and profile != "ramulator2") else n_row + n_col <= 1
        if not limit_ok and add(Violation("command bus (one command per cycle)", idx,
                                          detail="HBM allows one row and one column command per cycle"
                                          if is_hbm else "")):
            return out

        # --- pairwise timing ----------------------------------------------------------------
        for rule in by_later.get(cmd, ()):
            for e in rule.earlier:
                found = _latest(rule.scope, e, st, key, bg, u, r, states, o.ranks)
                if found is not None and cyc - found[0] < rule.delay:
                    if add(Violation(rule.name, idx, found[1], rule.delay, cyc - found[0])):
                        return out

        # --- activate windows ---------------------------------------------------------------
        if cmd == ACT:
            for count, window, name in ((4, t.tFAW, "tFAW"), (32, t.t32AW, "t32AW")):
                if window > 0 and len(st.acts) >= count:
                    first_t, first_i = st.acts[-count]
                    if cyc - first_t < window and add(Violation(
                            name, idx, first_i, window, cyc - first_t,
                            detail=f"{count + 1} ACTs of one rank within {cyc - first_t} cycles")):
                        return out
            st.acts.append((cyc, idx))
            if len(st.acts) > 40:
                del st.acts[:8]

        # --- bank state machine -------------------------------------------------------------
        if cmd == ACT:
            if key in st.open and add(Violation("ACT to an open bank", idx,
                                                detail=f"row {st.open[key]} is open")):
                return out
            st.open[key] = rows[idx]
        elif cmd in COLUMN:
            if key not in st.open:
                if add(Violation(f"{NAMES[cmd]} to a closed bank", idx)):
                    return out
            elif rows[idx] >= 0 and st.open[key] != rows[idx]:
                if add(Violation(f"{NAMES[cmd]} to a row that is not open", idx,
                                 detail=f"row {st.open[key]} is open")):
                    return out
            if cmd in (RDA, WRA):
                st.open.pop(key, None)
        elif cmd == PRE:
            st.open.pop(key, None)
        elif cmd == PREA:
            st.open.clear()
        elif cmd == REFAB:
            if st.open and add(Violation("REF with banks open", idx,
                                         detail=f"{len(st.open)} bank(s) open")):
                return out
        elif cmd == REFPB:
            if key in st.open and add(Violation("REFpb to an open bank", idx)):
                return out

        # --- refresh interval ---------------------------------------------------------------
        if refresh_on and cmd == ref_cmd and ref_interval > 0:
            last = st.refs[-1][0] if st.refs else 0
            gap = cyc - last
            if gap > (1 + MAX_POSTPONED) * ref_interval and add(Violation(
                    "refresh interval", idx, st.refs[-1][1] if st.refs else None,
                    (1 + MAX_POSTPONED) * ref_interval, gap,
                    detail=f"more than {MAX_POSTPONED} refreshes postponed (tREFI {ref_interval})")):
                return out
            st.refs.append((cyc, idx))
            if len(st.refs) > 4:
                del st.refs[0]

        # --- remember -----------------------------------------------------------------------
        stamp = (cyc, idx)
        if ba >= 0:
            st.bank_last.setdefault(key, {})[cmd] = stamp
            per_bg = st.bg_last.setdefault(cmd, [None] * o.bankgroups)
            if 0 <= bg < o.bankgroups:
                per_bg[bg] = stamp
            for table, slot in ((st.other_last, cmd), (st.bg_other, (cmd, bg))):
                prev = table.get(slot)
                if prev is None:
                    table[slot] = (key, None)
                elif prev[0] == key:
                    table[slot] = (key, prev[1])
                else:
                    table[slot] = (key, st.bank_last[prev[0]][cmd])
        st.rank_last[cmd] = stamp

    if refresh_on and end_cycle is not None and ref_interval > 0:
        bound = (1 + MAX_POSTPONED) * ref_interval
        for (u, r), st in sorted(states.items()):
            if rank0_only and r != 0:
                continue
            last = st.refs[-1][0] if st.refs else 0
            if end_cycle - last > bound:
                detail = f"ch{u} ra{r}: last refresh at cycle {last}, run ends at {end_cycle}"
                out.append(Violation("refresh interval", st.refs[-1][1] if st.refs else 0, None, bound,
                                     end_cycle - last, detail=detail))
    return out[:max_violations]


def _latest(scope: str, cmd: int, st: _RankState, key: tuple[int, int], bg: int, u: int, r: int,
            states: dict[tuple[int, int], _RankState], nranks: int) -> tuple[int, int] | None:
    if scope == BANK:
        if key[1] < 0:
            return None
        got = st.bank_last.get(key, {}).get(cmd)
        if got is None and cmd in RANK_CMDS:
            got = st.rank_last.get(cmd)
        return got
    if scope == RANK:
        return st.rank_last.get(cmd)
    if scope in (OTHER_BANKS, OTHER_BANKS_BG):
        got = st.other_last.get(cmd) if scope == OTHER_BANKS else st.bg_other.get((cmd, bg))
        if got is None:
            return None
        return got[1] if got[0] == key else st.bank_last[got[0]][cmd]
    if scope in (BANKGROUP, OTHER_BG):
        per_bg = st.bg_last.get(cmd)
        if per_bg is None or bg < 0:
            return None
        if scope == BANKGROUP:
            return per_bg[bg] if bg < len(per_bg) else None
        best = None
        for g, v in enumerate(per_bg):
            if g != bg:
                best = _later(best, v)
        return best
    best = None
    for r2 in range(nranks):
        if r2 != r:
            other = states.get((u, r2))
            if other is not None:
                best = _later(best, other.rank_last.get(cmd))
    return best


# --- command-log CSV ------------------------------------------------------------------------------
LOG_CSV_COLUMNS = ("cycle", "command", "channel", "rank", "bankgroup", "bank", "row", "column")


def write_command_log_csv(path: str | Path, log: np.ndarray) -> None:
    """Write a command log as CSV: cycle, command name, channel, rank, bank group, bank, row, column."""
    log = np.asarray(log)
    top = max(int(log["cmd"].max(initial=0)) + 1, max(NAMES) + 1)
    names = np.array([NAMES.get(c, f"cmd{c}") for c in range(top)])
    with Path(path).open("w", newline="") as f:
        f.write(",".join(LOG_CSV_COLUMNS) + "\n")
        cols = [log["cycle"].tolist(), names[log["cmd"].astype(np.int64)].tolist(), log["channel"].tolist(),
                log["rank"].tolist(), log["bankgroup"].tolist(), log["bank"].tolist(), log["row"].tolist(),
                log["column"].tolist()]
        f.writelines(",".join(map(str, row)) + "\n" for row in zip(*cols, strict=True))


def read_command_log_csv(path: str | Path) -> np.ndarray:
    """Read a command log written by :func:`write_command_log_csv` (or ``pimsim dram --command-log``)."""
    path = Path(path)
    try:
        f = path.open(newline="")
    except OSError as exc:
        raise TraceError(f"{path}: cannot read command log: {exc.strerror}") from None
    with f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != LOG_CSV_COLUMNS:
            raise TraceError(f"{path}:1: command-log header must be {','.join(LOG_CSV_COLUMNS)}")
        rows: list[tuple] = []
        for lineno, rec in enumerate(reader, 2):
            if not rec or not "".join(rec).strip():
                continue
            if len(rec) != len(LOG_CSV_COLUMNS) or rec[1].strip() not in CODES:
                raise TraceError(f"{path}:{lineno}: malformed command-log line {','.join(rec)!r}")
            try:
                nums = [int(x) for x in (rec[0], *rec[2:])]
            except ValueError:
                raise TraceError(f"{path}:{lineno}: malformed command-log line {','.join(rec)!r}") from None
            rows.append((nums[0], CODES[rec[1].strip()], *nums[1:]))
    return np.array(rows, dtype=LOG_DTYPE) if rows else np.zeros(0, dtype=LOG_DTYPE)


def check_command_log(source: str | Path | np.ndarray, spec: DramSpec, **kwargs: object) -> list[Violation]:
    """:func:`check_log` on an array or a command-log CSV file."""
    log = source if isinstance(source, np.ndarray) else read_command_log_csv(source)
    return check_log(log, spec, **kwargs)  # type: ignore[arg-type]


def format_violations(violations: Iterable[Violation], log: np.ndarray, limit: int = 20) -> str:
    """Human-readable list of the first ``limit`` violations."""
    vs = list(violations)
    lines = [v.describe(log) for v in vs[:limit]]
    if len(vs) > limit:
        lines.append(f"... and {len(vs) - limit} more")
    return "\n".join(lines)


__all__ = ["LOG_CSV_COLUMNS", "MAX_POSTPONED", "PROFILES", "Rule", "Violation", "build_rules",
           "check_command_log", "check_log", "describe_command", "format_violations", "read_command_log_csv",
           "write_command_log_csv"]
