"""CPU model: cores with SIMD units, private L1/L2 caches, a shared last-level cache, DDR memory.

The mapping of the hierarchy model (:mod:`sim.devices.hierarchy`) onto a CPU:

* arithmetic runs on the SIMD FMA units at the ``compute`` peak of its datatype (the whole chip); with
  ``active_cores`` set (the threads a runtime such as llama.cpp or kTransformers uses), the peak scales
  to ``compute x active_cores / cores``. Hyper-threads (``threads_per_core``) add no arithmetic;
* a matrix op is split into per-core blocks held in the outermost private cache (L2); block edges are
  multiples of the SIMD width in elements of the activation format (``simd_width_bits / bits``),
  taken from ``tiling.tile_sizes``; micro-kernel tiles live in the vector registers
  (``tiling.registers``); blocks run in waves over the active cores;
* DRAM bandwidth is ``min(peak, active_cores x per_core_bandwidth)``: a few cores cannot saturate a
  multi-channel DDR system (``per_core_bandwidth`` unset: the peak);
* ``kernel_launch`` is the fork/join cost of one parallel region per op.

No measured CPU operator times were available to calibrate the presets (docs/validation.md); their
efficiency curves are left unset (the peaks) unless a preset says otherwise.
"""

from __future__ import annotations

from sim.devices.hierarchy import HierarchyModel
from sim.workload.trace import Op


class CpuModel(HierarchyModel):
    """A CPU (``type: cpu``)."""

    types = ("cpu",)

    def compute_peak(self, op: Op, dtype: str) -> float:
        """The chip's peak scaled to the active cores, FLOP/s."""
        cfg = self.config
        return self.peak(op, dtype) * self.cores() / cfg.cores

    def tile_sizes(self, op: Op) -> tuple[int, ...]:
        """Block edges: the configured sizes that are whole multiples of the SIMD lanes (else the lanes)."""
        cfg = self.config
        lanes = max(1, cfg.simd_width_bits // max(1, op.dtypes.a.bits)) if cfg.simd_width_bits else 1
        sizes = tuple(s for s in cfg.tiling.tile_sizes if s % lanes == 0)
        return sizes or (lanes,)

    def dram_bandwidth(self) -> float:
        """min(peak, active cores x per-core bandwidth), B/s."""
        cfg = self.config
        bw = cfg.main_memory.bandwidth
        if cfg.per_core_bandwidth:
            bw = min(bw, self.cores() * cfg.per_core_bandwidth)
        return bw
