"""Design-space sweeps: a grid (or zipped, or random) set of design points run on local worker
processes or a Dask cluster, each finished point recorded at once in a results folder.

``sim.sweep`` is both this package and a function: ``sim.sweep(hw, model, grid=..., out=DIR)`` runs a
sweep (:func:`sim.sweep.facade.sweep`) and ``sim.sweep.load_results(DIR)`` reads one back.

Modules: :mod:`~sim.sweep.spec` (what to sweep), :mod:`~sim.sweep.values` (the value grammar),
:mod:`~sim.sweep.keys` (config keys), :mod:`~sim.sweep.plan` (resolved points and run ids),
:mod:`~sim.sweep.evaluate` (one point: the seam to the engine), :mod:`~sim.sweep.worker`,
:mod:`~sim.sweep.executors`, :mod:`~sim.sweep.runner`, :mod:`~sim.sweep.store` (the results folder).
"""

from __future__ import annotations

import sys
import types
from typing import Any

from sim.sweep.executors import (
    EXECUTORS,
    DaskExecutor,
    Executor,
    LocalExecutor,
    SerialExecutor,
    make_executor,
)
from sim.sweep.facade import build_spec, sweep
from sim.sweep.plan import Plan, Point, plan_sweep
from sim.sweep.runner import Event, SweepSummary, execute
from sim.sweep.spec import RandomSpec, SweepSpec
from sim.sweep.store import ResultStore, load_config, load_results

__all__ = [
    "EXECUTORS",
    "DaskExecutor",
    "Event",
    "Executor",
    "LocalExecutor",
    "Plan",
    "Point",
    "RandomSpec",
    "ResultStore",
    "SerialExecutor",
    "SweepSpec",
    "SweepSummary",
    "build_spec",
    "execute",
    "load_config",
    "load_results",
    "make_executor",
    "plan_sweep",
    "sweep",
]


class _CallableModule(types.ModuleType):
    """Makes ``sim.sweep(...)`` call :func:`sweep`; ``sim.sweep.load_results`` stays a module attribute."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
