"""Test-session set-up.

With pytest-xdist, every worker process would compile the same numba kernels at the same time on a
fresh machine (CI starts with an empty NUMBA_CACHE_DIR). The controller process compiles each kernel
once, before the workers start, so that the workers load them from numba's on-disk cache.
"""

from __future__ import annotations

import os


def _warm_numba_kernels() -> None:
    from sim.dram.configs import load_memory
    from sim.dram.engine import warm_up

    for preset, profile in (("ddr4-2400", "default"), ("ddr4-2400", "dramsim3"), ("ddr4-2400", "ramulator2")):
        warm_up(load_memory(preset, compat=profile))
    try:
        from sim.pim.api import gemv_cost, load_pim

        gemv_cost(load_pim("gddr6-aim"), 64, 64)
    except ImportError:  # the PIM engine is optional for this warm-up
        pass


def pytest_configure(config) -> None:  # noqa: ANN001 (pytest hook)
    is_xdist_worker = hasattr(config, "workerinput")
    uses_xdist = bool(getattr(config.option, "numprocesses", None))
    if uses_xdist and not is_xdist_worker and not os.environ.get("PIMSIM_NO_WARMUP"):
        _warm_numba_kernels()
