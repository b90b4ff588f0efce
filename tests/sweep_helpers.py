"""Point functions for sweep tests (module level, so worker processes can import them)."""

import os

from sim.sweep.worker import Task, compute


def fail_on_batch_2(task: Task) -> dict:
    """Raise for batch 2, simulate otherwise."""
    if task.workload.batch == 2:
        raise ValueError("batch 2 is cursed")
    return compute(task)


def die_on_batch_3(task: Task) -> dict:
    """Kill the worker process for batch 3 (as an out-of-memory kill would), simulate otherwise."""
    if task.workload.batch == 3:
        os._exit(3)
    return compute(task)


def constant(task: Task) -> dict:
    """A cheap stand-in for a simulation."""
    return {"latency_s": float(task.workload.batch), "energy_J": 1.0}
