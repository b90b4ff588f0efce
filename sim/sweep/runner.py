"""Running a planned sweep on an executor, recording each point the moment it finishes.

The runner keeps about :attr:`Executor.slots` points in flight, writes each finished point's part file
(in this process: remote workers need no shared disk), and never stops for a failing point: an
exception becomes a row with ``status="failed"`` and its error. When a local worker process dies, the
points it may have taken down are re-run one at a time, so only the point that kills its worker is
recorded as failed. Ctrl-C stops the workers and keeps every finished point; ``resume=True`` runs only
the points whose run id has no ``ok`` part yet (failed points are tried again).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sim import __version__
from sim.errors import PimsimError
from sim.sweep.executors import Executor, SerialExecutor, is_worker_death
from sim.sweep.keys import hw_key_dimension, unit_of
from sim.sweep.plan import Plan, Point
from sim.sweep.store import FAILED, OK, ResultStore
from sim.sweep.worker import Task, compute, run_task

#: Executors whose worker deaths break every point in flight (a process pool), so suspects are isolated.
_ISOLATING = ("local",)


@dataclass
class Event:
    """Progress of a sweep: ``kind`` is ``"start"``, ``"point"`` (one finished) or ``"tick"``."""

    kind: str
    done: int
    failed: int
    total: int
    row: dict[str, Any] | None = None


@dataclass
class SweepSummary:
    """How a sweep run went."""

    out: Path
    total: int  #: points in the sweep (unique run ids)
    skipped: int = 0  #: already finished before this run (``resume``)
    ok: int = 0  #: finished in this run
    failed: int = 0  #: failed in this run
    failed_total: int = 0  #: points of the sweep recorded as failed after this run
    interrupted: bool = False
    failed_ids: list[str] = field(default_factory=list)

    @property
    def missing(self) -> int:
        """Points with no ``ok`` result yet."""
        return self.total - self.skipped - self.ok

    @property
    def exit_status(self) -> int:
        """130 if interrupted, 1 if any point of the sweep failed, else 0."""
        if self.interrupted:
            return 130
        return 1 if self.failed_total else 0


def units_of(plan: Plan) -> dict[str, str]:
    """SI unit of each swept hardware key (for axis labels)."""
    out: dict[str, str] = {}
    for key in plan.keys:
        if key == "hw" or key.startswith("workload.") or not plan.points:
            continue
        unit = unit_of(hw_key_dimension(plan.points[0].config, key))
        if unit:
            out[key] = unit
    return out


def check_out(out: str | Path, resume: bool) -> ResultStore:
    """The results store of ``out``; a PimsimError if it already holds results and ``resume`` is off."""
    store = ResultStore(out)
    if store.root.exists() and not store.root.is_dir():
        raise PimsimError(f"--out {store.root} is a file, not a folder")
    n = len(store.statuses())
    if n and not resume:
        raise PimsimError(
            f"{store.root} already holds results of a sweep ({n} points); "
            f"add --resume to run only the missing points, or choose another --out"
        )
    return store


def execute(
    plan: Plan,
    out: str | Path,
    executor: Executor | None = None,
    *,
    resume: bool = False,
    point_fn: Callable[[Task], dict[str, Any]] | None = None,
    on_event: Callable[[Event], None] | None = None,
    csv: bool = False,
) -> SweepSummary:
    """Run the points of ``plan`` that are missing from ``out`` on ``executor`` (default: this process).

    ``point_fn(task) -> figures`` replaces the simulation (tests use it); it must be importable by the
    workers. Returns a :class:`SweepSummary`; the table is in ``out/results.parquet``.
    """
    executor = executor or SerialExecutor()
    fn = point_fn or compute
    store = check_out(out, resume)
    statuses = store.statuses()
    store.root.mkdir(parents=True, exist_ok=True)
    store.write_manifest(
        plan.spec.to_dict(),
        {
            "pimsim_version": __version__,
            "keys": plan.keys,
            "units": units_of(plan),
            "points": len(plan.points),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    todo = [p for p in plan.points if statuses.get(p.run_id) != OK]
    summary = SweepSummary(Path(out), total=len(plan.points), skipped=len(plan.points) - len(todo))
    done = summary.skipped

    def emit(kind: str, row: dict[str, Any] | None = None) -> None:
        if on_event:
            on_event(Event(kind, done, summary.failed, summary.total, row))

    def finish(point: Point, res: dict[str, Any]) -> None:
        nonlocal done
        row = point.row_base()
        row.update(status=res["status"], error=res["error"])
        row.update(res.get("figures") or {})
        row.update(
            elapsed_s=res.get("elapsed_s"),
            worker=res.get("worker"),
            finished_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        )
        store.write_point(row, point.resolved(), res.get("traceback"))
        done += 1
        if res["status"] == OK:
            summary.ok += 1
        else:
            summary.failed += 1
            summary.failed_ids.append(point.run_id)
        emit("point", row)

    emit("start")
    queue = _Order(todo)
    hints: list[Point] = []  # points that just finished: their workers are free
    isolate: deque[Point] = deque()
    in_flight: dict[Any, Point] = {}
    solo: Point | None = None
    isolating = getattr(executor, "name", "") in _ISOLATING
    try:
        while True:
            if isolate or solo:
                if not in_flight and isolate:
                    solo = isolate.popleft()
                    in_flight[executor.submit(run_task, fn, _task(solo))] = solo
            else:
                while queue and len(in_flight) < executor.slots:
                    p = queue.take(hints.pop(0) if hints else None, executor.slots)
                    in_flight[executor.submit(run_task, fn, _task(p))] = p
            if not in_flight:
                break
            finished, _ = executor.wait(in_flight, timeout=0.5)
            if not finished:
                emit("tick")
                continue
            died: list[Point] = []
            for fut in sorted(finished, key=lambda f: in_flight[f].index):
                point = in_flight.pop(fut)
                hints.append(point)
                res = _outcome(fut)
                if res is None and isolating and point is not solo:
                    died.append(point)
                    continue
                if res is None:
                    res = _died(fut)
                if point is solo:
                    solo = None
                    if res["status"] == FAILED and "worker process died" in (res["error"] or ""):
                        executor.restart()
                finish(point, res)
            if died:
                # a dead worker breaks the whole pool: re-run what was in flight, one point at a time
                lost = sorted(died + list(in_flight.values()), key=lambda p: p.index)
                in_flight.clear()
                executor.restart()
                isolate.extend(lost)
    except KeyboardInterrupt:
        summary.interrupted = True
        executor.close(cancel=True)
    except BaseException:
        executor.close(cancel=True)
        raise
    else:
        executor.close()
    finally:
        store.consolidate(csv=csv)
    statuses = store.statuses()
    summary.failed_total = sum(1 for p in plan.points if statuses.get(p.run_id) == FAILED)
    return summary


class _Order:
    """The order in which points are handed to workers, so that a worker runs neighbouring points.

    Neighbours in sweep order share their leading swept values (a Cartesian grid varies its last key
    fastest), hence most device configs, and a worker that keeps them reuses what it memoised (PIM kernel
    results per PIM config, the built system). The first ``slots`` points handed out start ``slots``
    equal blocks of the sweep; after a point finishes, its worker (free now) gets the next point of its
    block; a block run dry takes the second half of the largest run of points not handed out yet.
    Only the order changes: every point runs once, and the table is the same.
    """

    def __init__(self, points: list[Point]) -> None:
        self.points = points
        self.free = [True] * len(points)
        self.left = len(points)
        self.started = 0
        self.index = {q.run_id: k for k, q in enumerate(points)}

    def __bool__(self) -> bool:
        return self.left > 0

    def take(self, after: Point | None, slots: int) -> Point:
        """The next point to hand out: the one after ``after`` (a point that just finished) in its block,
        else the start of a new block."""
        n = len(self.points)
        i = -1
        if after is not None:
            pos = self.index.get(after.run_id)
            if pos is not None and pos + 1 < n and self.free[pos + 1]:
                i = pos + 1
        if i < 0 and after is None and self.started < slots:
            i = self._first_free_from(self.started * n // slots)
            self.started += 1
        if i < 0:
            i = self._split()
        self.free[i] = False
        self.left -= 1
        return self.points[i]

    def _first_free_from(self, start: int) -> int:
        n = len(self.points)
        for k in range(n):
            j = (start + k) % n
            if self.free[j]:
                return j
        raise IndexError("no point left")

    def _split(self) -> int:
        """The start of the second half of the largest run of free points."""
        best, best_len, k, n = -1, 0, 0, len(self.points)
        while k < n:
            if self.free[k]:
                j = k
                while j < n and self.free[j]:
                    j += 1
                if j - k > best_len:
                    best, best_len = k, j - k
                k = j
            else:
                k += 1
        if best < 0:
            raise IndexError("no point left")
        return best + best_len // 2


def _task(p: Point) -> Task:
    return Task(p.run_id, p.config_hash, p.config, p.model, p.workload)


def _outcome(fut: Any) -> dict[str, Any] | None:
    """The worker's result dict; None if the worker died; a failed result for other errors."""
    try:
        exc = fut.exception()
    except BaseException as e:  # a cancelled future
        exc = e
    if exc is None:
        return fut.result()
    if is_worker_death(exc):
        return None
    return {"status": FAILED, "error": f"{type(exc).__name__}: {exc}", "traceback": None}


def _died(fut: Any) -> dict[str, Any]:
    try:
        exc = fut.exception()
    except BaseException as e:
        exc = e
    return {
        "status": FAILED,
        "error": f"worker process died while running this point ({type(exc).__name__}: {exc})",
        "traceback": None,
    }
