"""Gantt charts of timelines in the Chrome Trace Event format (what Perfetto and chrome://tracing read).

Reads a JSON array of events or an object with ``traceEvents``; draws complete events (``ph: "X"``,
``ts``/``dur`` in µs) and matched begin/end pairs (``B``/``E``) as bars, one lane per (``pid``, ``tid``)
named by ``process_name``/``thread_name`` metadata (``M``) events. Nested events on a lane are drawn
as thinner sub-rows. Bars are coloured by category (``cat``), or by name.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.errors import PimsimError, TraceError
from sim.plots.common import pyplot, save


@dataclass(frozen=True)
class Span:
    """One bar: a named interval on a lane, times in seconds."""

    name: str
    cat: str
    pid: Any
    tid: Any
    start_s: float
    dur_s: float


@dataclass
class Timeline:
    """Spans and lane names of a trace."""

    spans: list[Span]
    process_names: dict[Any, str]
    thread_names: dict[tuple[Any, Any], str]
    sort_index: dict[Any, float]


def read_chrome_trace(path: str | Path) -> Timeline:
    """Read a Chrome-trace JSON file (``.json`` or ``.json.gz``); a TraceError names the problem."""
    p = Path(path)
    try:
        raw = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
        data = json.loads(raw)
    except OSError as exc:
        raise TraceError(f"{p}: cannot read the trace: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TraceError(f"{p}: not a JSON Chrome trace: {exc}") from None
    events = data.get("traceEvents") if isinstance(data, dict) else data
    if not isinstance(events, list):
        raise TraceError(f"{p}: expected a JSON array of events or an object with traceEvents")
    spans: list[Span] = []
    pnames: dict[Any, str] = {}
    tnames: dict[tuple[Any, Any], str] = {}
    sort_index: dict[Any, float] = {}
    open_: dict[tuple[Any, Any], list[dict]] = defaultdict(list)
    for i, ev in enumerate(events):
        if not isinstance(ev, dict):
            continue
        ph = ev.get("ph")
        pid, tid = ev.get("pid", 0), ev.get("tid", 0)
        try:
            if ph == "X":
                spans.append(
                    Span(
                        str(ev.get("name", "")),
                        str(ev.get("cat", "")),
                        pid,
                        tid,
                        float(ev["ts"]) * 1e-6,
                        max(0.0, float(ev.get("dur", 0.0))) * 1e-6,
                    )
                )
            elif ph == "B":
                open_[(pid, tid)].append(ev)
            elif ph == "E" and open_[(pid, tid)]:
                b = open_[(pid, tid)].pop()
                t0 = float(b["ts"]) * 1e-6
                spans.append(
                    Span(
                        str(b.get("name", ev.get("name", ""))),
                        str(b.get("cat", "")),
                        pid,
                        tid,
                        t0,
                        max(0.0, float(ev["ts"]) * 1e-6 - t0),
                    )
                )
            elif ph == "M":
                args = ev.get("args") or {}
                if ev.get("name") == "process_name":
                    pnames[pid] = str(args.get("name", pid))
                elif ev.get("name") == "thread_name":
                    tnames[(pid, tid)] = str(args.get("name", tid))
                elif ev.get("name") == "process_sort_index":
                    sort_index[pid] = float(args.get("sort_index", 0))
        except (KeyError, TypeError, ValueError):
            raise TraceError(f"{p}: event {i} ({ph!r}) lacks a numeric ts/dur") from None
    if not spans:
        raise TraceError(f"{p}: no duration events (ph X, or B/E pairs) to draw")
    return Timeline(spans, pnames, tnames, sort_index)


def _depths(spans: list[Span]) -> list[int]:
    """Nesting depth of each span on one lane (spans sorted by start)."""
    depth: list[int] = []
    stack: list[float] = []  # end times
    for s in spans:
        while stack and stack[-1] <= s.start_s + 1e-15:
            stack.pop()
        depth.append(len(stack))
        stack.append(s.start_s + s.dur_s)
    return depth


def plot_gantt(
    timeline: Timeline,
    path: str | Path,
    *,
    color_by: str = "cat",
    max_lanes: int = 40,
    max_legend: int = 12,
    title: str | None = None,
) -> Path:
    """Draw ``timeline`` as a Gantt chart: lanes top to bottom, time in seconds with SI prefixes."""
    if color_by not in ("cat", "name"):
        raise PimsimError(f"--color-by must be cat or name (got {color_by!r})")
    plt = pyplot()
    from matplotlib.patches import Patch
    from matplotlib.ticker import EngFormatter

    by_lane: dict[tuple[Any, Any], list[Span]] = defaultdict(list)
    for s in timeline.spans:
        by_lane[(s.pid, s.tid)].append(s)
    busy = {lane: sum(s.dur_s for s in ss) for lane, ss in by_lane.items()}
    lanes = sorted(by_lane, key=lambda ln: (timeline.sort_index.get(ln[0], 0), str(ln[0]), str(ln[1])))
    dropped = 0
    if len(lanes) > max_lanes:
        keep = set(sorted(lanes, key=lambda ln: -busy[ln])[:max_lanes])
        dropped = len(lanes) - max_lanes
        lanes = [ln for ln in lanes if ln in keep]
    key = (lambda s: s.cat or s.name) if color_by == "cat" else (lambda s: s.name)
    weight = Counter()
    for ln in lanes:
        for s in by_lane[ln]:
            weight[key(s)] += s.dur_s
    top = [k for k, _ in weight.most_common(max_legend)]
    cmap = plt.get_cmap("tab20" if len(top) > 10 else "tab10")
    colour = {k: cmap(i % cmap.N) for i, k in enumerate(top)}
    t0 = min(s.start_s for ln in lanes for s in by_lane[ln])
    t1 = max(s.start_s + s.dur_s for ln in lanes for s in by_lane[ln])
    span = max(t1 - t0, 1e-12)
    fig, ax = plt.subplots(figsize=(11, max(2.5, 0.45 * len(lanes) + 1.5)), dpi=120)
    for row, ln in enumerate(lanes):
        ss = sorted(by_lane[ln], key=lambda s: (s.start_s, -s.dur_s))
        depth = _depths(ss)
        levels = max(depth) + 1
        h = 0.8 / levels
        y_top = len(lanes) - 1 - row + 0.4
        groups: dict[Any, list[tuple[float, float]]] = defaultdict(list)
        for s, d in zip(ss, depth, strict=True):
            groups[(key(s), d)].append((s.start_s - t0, max(s.dur_s, span * 1e-4)))
        for (k, d), bars in groups.items():
            ax.broken_barh(
                bars,
                (y_top - (d + 1) * h, h * 0.95),
                facecolors=colour.get(k, "0.75"),
                edgecolor="white",
                linewidth=0.3 if len(ss) < 150 else 0.0,  # thin separators, unless bars are too dense
            )
        for s, d in zip(ss, depth, strict=True):
            if s.dur_s > span * 0.06 and h > 0.25:
                ax.text(
                    s.start_s - t0 + s.dur_s / 2,
                    y_top - (d + 0.5) * h,
                    s.name[:24],
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    clip_on=True,
                )
    names = []
    for pid, tid in lanes:
        p = timeline.process_names.get(pid, f"pid {pid}")
        t = timeline.thread_names.get((pid, tid), f"tid {tid}")
        names.append(f"{p} / {t}")
    ax.set_yticks([len(lanes) - 1 - i for i in range(len(lanes))], names, fontsize=8)
    ax.set_ylim(-0.6, len(lanes) - 0.4)
    ax.set_xlim(0, span * 1.01)
    ax.xaxis.set_major_formatter(EngFormatter(unit="s", sep=" "))
    ax.set_xlabel("time since the first event (s)")
    ax.grid(True, axis="x", alpha=0.3)
    handles = [Patch(color=colour[k], label=k or "(none)") for k in top]
    if len(weight) > len(top):
        handles.append(Patch(color="0.75", label=f"{len(weight) - len(top)} more"))
    ax.legend(
        handles=handles,
        fontsize=7,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
        title="category" if color_by == "cat" else "name",
        title_fontsize=8,
    )
    note = f" ({dropped} quieter lanes not shown)" if dropped else ""
    ax.set_title((title or f"timeline: {len(timeline.spans)} events") + note)
    return save(fig, path)
