"""Readable tables on a terminal (rich), plain aligned text elsewhere (logs, pipes)."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence


def is_terminal() -> bool:
    """True when stdout is an interactive terminal."""
    return sys.stdout.isatty()


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]],
                align_right: Sequence[int] = ()) -> None:
    """Print a table with a title; columns listed in ``align_right`` are right-aligned (numbers)."""
    if is_terminal():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for i, h in enumerate(headers):
            table.add_column(h, justify="right" if i in align_right else "left")
        for row in rows:
            table.add_row(*[str(c) for c in row])
        Console().print(table)
        return
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def fmt(row: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in align_right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip()

    print(title)
    print(fmt(list(headers)))
    print("  ".join("-" * w for w in widths))
    for r in cells:
        print(fmt(r))
    print()


_INSTANCE = re.compile(r"\[(\d+)\]")


def collapse_instances(rows: Sequence[Sequence[object]]) -> list[list[object]]:
    """Merge rows that differ only in a device instance's index (``gpu[3]``) into one row naming the range
    (``gpu[0-7]``), so an 8-GPU board prints one line per kind of figure. Rows keep their first order."""
    groups: dict[tuple[str, ...], list[tuple[int, list[object]]]] = {}
    order: list[tuple[str, ...]] = []
    for row in rows:
        cells = [str(c) for c in row]
        idx = {int(m) for c in cells for m in _INSTANCE.findall(c)}
        key = tuple(_INSTANCE.sub("[*]", c) for c in cells)
        if len(idx) != 1:  # no instance, or several: keep the row as it is
            key = (*key, f"#{len(order)}")
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append((min(idx) if idx else -1, list(row)))
    out = []
    for key in order:
        members = groups[key]
        first = members[0][1]
        if len(members) == 1:
            out.append(first)
            continue
        ids = sorted(i for i, _ in members)
        span = f"[{ids[0]}-{ids[-1]}]" if ids == list(range(ids[0], ids[-1] + 1)) else f"[{','.join(map(str, ids))}]"
        out.append([_INSTANCE.sub(span, c) if isinstance(c, str) else c for c in first])
    return out
