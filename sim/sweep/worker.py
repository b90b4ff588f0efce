"""What runs inside a worker: one point in, one result record out, never an exception.

Each worker process keeps, across the points it runs, what does not change from point to point: the
generated trace of the workload (:func:`sim.engine.replay.cached_trace`) and the PIM kernels' op results,
memoised per PIM config and op signature (:mod:`sim.pim.api`), so points that differ only in another
device (the ASIC's clock) reuse them. Numba kernels are compiled at most once per worker process (and
cached on disk by numba).
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sim.sweep.evaluate import Workload, evaluate, record
from sim.workload.models import ModelSpec

#: Hardware configs whose operator memos a worker keeps.
MEMO_CONFIGS = 8

_memos: OrderedDict[tuple[str, str], dict] = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True)
class Task:
    """What a worker needs to run one point (validated objects: no files are read on the worker)."""

    run_id: str
    config_hash: str
    config: Any
    model: ModelSpec
    workload: Workload


def memo_for(config_hash: str, conventions: str) -> dict:
    """This worker's operator-result memo for one hardware config and conventions."""
    key = (config_hash, conventions)
    with _lock:
        memo = _memos.get(key)
        if memo is None:
            memo = _memos[key] = {}
            while len(_memos) > MEMO_CONFIGS:
                _memos.popitem(last=False)
        else:
            _memos.move_to_end(key)
        return memo


def compute(task: Task) -> dict[str, float]:
    """The result figures of one point (the default point function)."""
    run = evaluate(
        task.config, task.model, task.workload, memo=memo_for(task.config_hash, task.workload.conventions)
    )
    return record(run)


def run_task(fn: Callable[[Task], dict[str, Any]], task: Task) -> dict[str, Any]:
    """Run ``fn(task)``; return ``{"status", "error", "traceback", "figures", "elapsed_s", "worker"}``.

    An exception in the point becomes a failed status with its message, so one bad point never stops
    a sweep.
    """
    t0 = time.perf_counter()
    out: dict[str, Any] = {"status": "ok", "error": None, "traceback": None, "figures": {}}
    try:
        out["figures"] = fn(task)
    except Exception as exc:
        out.update(status="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
    out["elapsed_s"] = time.perf_counter() - t0
    out["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    return out


def init_worker(parent_pid: int) -> None:
    """Set up a local worker process: leave Ctrl-C to the parent, exit if the parent dies, warm imports."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(parent_pid, 0)
            except OSError:
                os._exit(1)

    threading.Thread(target=watch, name="pimsim-parent-watch", daemon=True).start()
    import sim.engine.replay  # noqa: F401  (import once per worker, before the first point)


def ready() -> bool:
    """A no-op task that makes a process pool start its workers."""
    return True
