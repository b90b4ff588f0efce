"""Readable tables on a terminal (rich), plain aligned text elsewhere (logs, pipes)."""

from __future__ import annotations

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
