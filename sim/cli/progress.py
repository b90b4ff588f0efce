"""Progress display: a rich progress bar on a terminal, nothing in logs or pipes."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(done)`` that sets the number of finished units; shown only on a terminal (stderr)."""
    if not sys.stderr.isatty() or total <= 1:
        yield lambda done: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True) as prog:
        task = prog.add_task(description, total=total)
        yield lambda done: prog.update(task, completed=done)
