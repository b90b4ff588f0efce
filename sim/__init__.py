"""pimsim: a cycle-accurate simulator of LLM inference hardware.

Data flows one way: config + trace -> placement -> engine (devices, memories, links) -> results ->
reports, plots, timelines. See ``docs/architecture.md``.

The Python API (:mod:`sim.api`) is re-exported here lazily, so ``import sim`` stays fast::

    import sim
    r = sim.simulate("a100-80gb", "gpt2", prompt=128, generate=128)
    df = sim.sweep("a100-80gb", "gpt2", grid={"workload.batch": "1,2,4"}, out="runs/batch")
    df = sim.sweep.load_results("runs/batch")
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

#: Names of :mod:`sim.api` available as ``sim.NAME`` (imported on first use).
_API = ("Result", "Workload", "load_hw", "load_model", "load_results", "plot", "simulate")


def __getattr__(name: str) -> Any:
    if name in _API:
        from sim import api

        return getattr(api, name)
    if name == "sweep":  # the sim.sweep package, which is also callable: sim.sweep(...)
        import importlib

        return importlib.import_module("sim.sweep")
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API, "sweep"])
