"""Read hand-written PIM command traces (CSV) into per-channel command streams.

Format (one command per line, a header line first, ``#`` starts a comment)::

    order,command,channel,bank,row,column[,count]
    0,ACT16,0,all,5,-1
    1,WR_GB,0,all,-1,0,64
    2,MAC_ABK,0,all,5,0,64
    3,RD_MAC,0,all,-1,0

* ``order`` (or ``cycle``): sorts each channel's commands (stable); the controller issues them in that
  order, each at the earliest cycle the timing rules allow (a cycle column is read as an order, not as a
  time).
* ``command``: a command name of the memory's command set or an alias (:mod:`sim.pim.commands`).
* ``channel``: the flat (pseudo-)channel index.
* ``bank``: ``all``; a flat bank index (``rank * banks + bankgroup * banks_per_group + bank``); ``bgN``
  (bank group N); ``even`` / ``odd`` (the banks of one parity, HBM-PIM); or a mask ``0x...``. Commands
  that reach all banks (ACT16, MAC_ABK, WR_GB, REF, ...) may use ``all`` or ``-``.
* ``row``, ``column``: integers (``-1`` where not applicable); ``count`` (default 1): repeats on
  consecutive columns / buffer entries.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from sim.pim import commands as C
from sim.pim.engine import ChannelStream
from sim.pim.errors import PimCommandError
from sim.pim.spec import PimSpec

HEADER = ("order", "command", "channel", "bank", "row", "column")


def _mask(text: str, spec: PimSpec, where: str) -> int:
    o = spec.dram.org
    nb = spec.banks
    t = text.strip().lower()
    if t in ("all", "-", ""):
        return (1 << nb) - 1
    if t in ("even", "odd"):
        p = 0 if t == "even" else 1
        return sum(1 << b for b in range(nb) if b % 2 == p)
    if t.startswith("bg"):
        try:
            g = int(t[2:])
        except ValueError:
            raise PimCommandError(f"{where}: bad bank {text!r}") from None
        if not 0 <= g < o.bankgroups * o.ranks:
            raise PimCommandError(f"{where}: bank group {g} beyond the {o.bankgroups * o.ranks} bank groups")
        return sum(1 << (g * o.banks_per_group + b) for b in range(o.banks_per_group))
    try:
        v = int(t, 0)
    except ValueError:
        raise PimCommandError(f"{where}: bad bank {text!r}; expected all, a bank index, bgN, even, odd or 0x mask") \
            from None
    if t.startswith("0x"):
        if v <= 0 or v >> nb:
            raise PimCommandError(f"{where}: bank mask {text} selects banks beyond the {nb} of a channel")
        return v
    if not 0 <= v < nb:
        raise PimCommandError(f"{where}: bank {v} beyond the {nb} banks of a channel")
    return 1 << v


def read_pim_trace(spec: PimSpec, path: str | Path) -> tuple[list[ChannelStream], list[list[int]]]:
    """Per-channel streams of a trace file and, per channel, the file line of each stream entry."""
    path = Path(path)
    try:
        f = path.open(newline="")
    except OSError as exc:
        raise PimCommandError(f"{path}: cannot read PIM command trace: {exc.strerror}") from None
    cs = spec.pim.command_set
    per: dict[int, list[tuple[float, int, tuple[int, int, int, int, int]]]] = {}
    with f:
        lines = [(i, ln) for i, ln in enumerate(f, 1) if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise PimCommandError(f"{path}: empty PIM command trace")
    head_no, head = lines[0]
    cols = [c.strip().lower() for c in next(csv.reader([head]))]
    if len(cols) < 6 or cols[0] not in ("order", "cycle") or tuple(cols[1:6]) != HEADER[1:] or \
            (len(cols) > 6 and cols[6:] != ["count"]):
        raise PimCommandError(f"{path}:{head_no}: header must be {','.join(HEADER)}[,count] "
                              f"(or cycle instead of order)")
    for lineno, ln in lines[1:]:
        rec = next(csv.reader([ln]))
        where = f"{path}:{lineno}"
        if len(rec) not in (6, 7):
            raise PimCommandError(f"{where}: expected 6 or 7 fields, got {len(rec)}")
        code = C.code_of(rec[1], cs)
        if code is None:
            known = ", ".join(C.COMMAND_SETS[cs])
            raise PimCommandError(f"{where}: unknown PIM command {rec[1].strip()!r} for the {cs} command set of "
                                  f"{spec.name}; expected one of {known}")
        try:
            order = float(rec[0])
            ch = int(rec[2])
            row = int(rec[4])
            col = int(rec[5])
            cnt = int(rec[6]) if len(rec) == 7 and rec[6].strip() else 1
        except ValueError:
            raise PimCommandError(f"{where}: order, channel, row, column and count must be numbers") from None
        if not 0 <= ch < spec.units:
            raise PimCommandError(f"{where}: channel {ch} beyond the {spec.units} channels of {spec.name}")
        if cnt < 1:
            raise PimCommandError(f"{where}: count must be >= 1 (got {cnt})")
        per.setdefault(ch, []).append((order, lineno, (code, _mask(rec[3], spec, where), row, col, cnt)))
    streams, line_of = [], []
    for ch in range(spec.units):
        items = sorted(per.get(ch, []), key=lambda x: x[0])
        streams.append(ChannelStream.from_rows([x[2] for x in items]) if items else
                       ChannelStream(*(np.zeros(0, np.int64) for _ in range(5))))
        line_of.append([x[1] for x in items])
    return streams, line_of


__all__ = ["HEADER", "read_pim_trace"]
