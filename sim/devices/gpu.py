"""GPU model: streaming multiprocessors with tensor cores, per-SM L1/shared memory, a shared L2, HBM/GDDR.

The mapping of the hierarchy model (:mod:`sim.devices.hierarchy`) onto a GPU:

* matrix ops (the GEMM kinds) run on the tensor cores at the ``compute`` peak of their datatype; all
  other ops on the CUDA cores at the ``vector_compute`` peak (the ``compute`` peak if none is given);
* a matrix op is split into thread-block tiles held in one SM's shared memory (the level with one
  instance per SM); tile edges come from ``tiling.tile_sizes`` (the smallest, 16, is the tensor-core
  fragment: a decode GEMV with one row computes a padded 16-row tile), optionally split along K;
  the tile and split minimise the op's time, and tiles run in waves over the SMs (wave quantization);
* warp tiles live in registers (``tiling.registers`` per warp), so shared memory serves the traffic
  into the warp tiles, L2 the traffic into the thread-block tiles, and HBM the traffic into the L2
  tile (the trace's bytes plus re-reads when the operands outgrow L2);
* every op that is a kernel of its own pays ``kernel_launch`` (:mod:`sim.devices.kernels`).

The efficiency curves and the launch overhead of the presets are calibrated against measured kernel
times (docs/validation.md).
"""

from __future__ import annotations

from sim.devices.hierarchy import HierarchyModel


class GpuModel(HierarchyModel):
    """A GPU (``type: gpu``)."""

    types = ("gpu",)
