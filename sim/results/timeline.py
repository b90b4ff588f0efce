"""A Chrome Trace Event / Perfetto JSON writer (stdlib only), viewable in ui.perfetto.dev.

Layout written by the replay engine: one process per device with one thread (track) per stream, one
process ``links`` with one track per link direction; ops and transfers are complete (``X``) events,
and counters (``C``) carry each device's DRAM bandwidth and each link's queue depth and bandwidth.
Timestamps are microseconds (the format's unit); durations too. Format reference:
../shared/reference/formats.md section (a).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class ChromeTrace:
    """Collects events; :meth:`write` saves ``{"traceEvents": [...], "displayTimeUnit": "ns"}``."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._pids: dict[str, int] = {}
        self._tids: dict[tuple[str, str], int] = {}
        self.meta: dict[str, Any] = {}

    # ------------------------------------------------------------------ tracks
    def pid(self, process: str) -> int:
        """Process id of ``process`` (named, sorted in creation order)."""
        pid = self._pids.get(process)
        if pid is None:
            pid = self._pids[process] = len(self._pids) + 1
            self.events.append(
                {"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": process}}
            )
            self.events.append(
                {"ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0, "args": {"sort_index": pid}}
            )
        return pid

    def track(self, process: str, thread: str) -> tuple[int, int]:
        """(pid, tid) of the track ``thread`` of ``process``, created with its name on first use."""
        pid = self.pid(process)
        key = (process, thread)
        tid = self._tids.get(key)
        if tid is None:
            tid = self._tids[key] = sum(1 for p, _ in self._tids if p == process) + 1
            self.events.append(
                {"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": thread}}
            )
            self.events.append(
                {"ph": "M", "name": "thread_sort_index", "pid": pid, "tid": tid, "args": {"sort_index": tid}}
            )
        return pid, tid

    @property
    def tracks(self) -> list[tuple[str, str]]:
        """(process, thread) of every track, in creation order."""
        return list(self._tids)

    # ------------------------------------------------------------------ events
    def slice(
        self,
        process: str,
        thread: str,
        name: str,
        start_s: float,
        dur_s: float,
        *,
        cat: str = "op",
        args: dict[str, Any] | None = None,
    ) -> None:
        """A complete event on a track (times in seconds, written in microseconds)."""
        pid, tid = self.track(process, thread)
        ev: dict[str, Any] = {
            "ph": "X",
            "name": name,
            "cat": cat,
            "pid": pid,
            "tid": tid,
            "ts": start_s * 1e6,
            "dur": dur_s * 1e6,
        }
        if args:
            ev["args"] = args
        self.events.append(ev)

    def counter(self, process: str, name: str, t_s: float, values: dict[str, float]) -> None:
        """A counter sample: each key of ``values`` is one series of the counter track ``name``."""
        self.events.append(
            {
                "ph": "C",
                "name": name,
                "pid": self.pid(process),
                "tid": 0,
                "ts": t_s * 1e6,
                "args": {k: float(v) for k, v in values.items()},
            }
        )

    def instant(self, process: str, thread: str, name: str, t_s: float) -> None:
        """A thread-scoped instant event."""
        pid, tid = self.track(process, thread)
        self.events.append({"ph": "i", "name": name, "pid": pid, "tid": tid, "ts": t_s * 1e6, "s": "t"})

    # ------------------------------------------------------------------ output
    def to_json(self) -> dict[str, Any]:
        """The trace object."""
        return {"traceEvents": self.events, "displayTimeUnit": "ns", "otherData": dict(self.meta)}

    def write(self, path: str | Path) -> Path:
        """Write the trace to ``path`` (compact JSON); returns the path."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(p, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, separators=(",", ":"))
        return p
