"""The memory-hierarchy cost model shared by GPUs, CPUs and ASICs.

For one op on a device with compute peak ``P`` (FLOP/s for the op's datatype) and memory levels
``l`` (innermost first) of bandwidth ``B_l``::

    time = launch + max( compute_s , max_l  bytes_l / (B_l · e_l) )
    compute_s = FLOPs / (P · e_c(FLOPs))                       element-wise ops
              = waves · (tile FLOPs / (P / cores) + tile overhead) / e_c(FLOPs)   matrix ops (below)

* ``bytes_l`` — matrix ops: the tiling model (:mod:`sim.devices.tiling`): the bytes moved at a level
  are the traffic into the tile held just inside it (registers, the per-core L1/shared tile, the
  L2/LLC tile); DRAM moves the trace's bytes plus any re-reads the L2 tile forces. Other ops: every
  byte of the trace passes every level once.
* ``e_c`` and ``e_l`` — size-dependent efficiencies from the device config (``compute_efficiency`` vs
  FLOPs, ``memory_efficiency`` vs DRAM bytes, or the per-kind curves of ``kernel_efficiency``); the
  memory curve applies to the DRAM level only (on-chip levels run at their peak bandwidth). For matrix
  ops split into per-core work items the compute curve is read at the FLOPs of *one work item* (tile
  rows x tile columns x its K depth x 2): a work item's main loop amortises its pipeline fill and
  epilogue over its K depth, so a deep-K tile (the 11008-deep down projection) runs closer to peak than
  a shallow one of an op with as many FLOPs in total.
* Matrix ops on a device with per-core levels (``instances`` > 1) are split into per-core work items
  (output tiles x K-splits); the per-core tile and split are searched to minimise the op's time, and
  work items run in waves of ``cores`` (``active_cores``) items: ``waves = ceil(items / cores)``, each
  wave taking one item's FLOPs at the per-core peak. This is the wave and tile quantization of GPUs.
* Element-wise kinds marked ``row_parallel`` (kernels that give each token row to one core) use only
  ``min(rows, cores)`` cores, each at its ``1/cores`` share of compute and DRAM bandwidth.
* Row-parallel kinds that also give ``block_threads`` have a latency floor on their DRAM time: a block
  walks its row ``block_threads`` elements per step, each step one DRAM ``latency`` (one load in flight
  per thread), so a long row costs ``ceil(row / block_threads)`` latencies however few bytes it moves;
  ``cores x blocks_per_core`` rows are in flight at once (:meth:`HierarchyModel.row_latency`).
* ``launch`` — ``kernel_launch`` from the config (or the op kind's ``kernel_efficiency.<kind>.launch``),
  charged when the op is a kernel of its own (:mod:`sim.devices.kernels`).
* A DRAM level with ``fidelity: cycle`` takes its time from the cycle-accurate DRAM engine
  (:mod:`sim.devices.dram_cycle`), never less than bytes / peak bandwidth.

Subclasses set the hardware-specific parts: which peak a kind of op uses, the tile granularity
(tensor-core fragment or SIMD width), the usable cores and DRAM bandwidth.
"""

from __future__ import annotations

import math

import numpy as np

from sim.devices import efficiency as eff
from sim.devices import tiling
from sim.devices.base import DeviceModel, OpCost
from sim.workload.conventions import Conventions
from sim.workload.trace import GEMM_KINDS, Op

_KV_OPERAND = frozenset({"attn_score", "attn_context"})


class HierarchyModel(DeviceModel):
    """Compute units plus a hierarchy of memory levels (generic: ASIC, or any type without a model)."""

    types = ("asic", "pim")

    # ------------------------------------------------------------------ hooks
    def cores(self) -> int:
        """Cores that share the work of one op."""
        return self.config.active_cores or self.config.cores

    def compute_peak(self, op: Op, dtype: str) -> float:
        """FLOP/s available to ``op`` (all active cores)."""
        return self.peak(op, dtype)

    def tile_sizes(self, op: Op) -> tuple[int, ...]:
        """Candidate per-core tile edges for a matrix op."""
        return tuple(self.config.tiling.tile_sizes)

    def dram_bandwidth(self) -> float:
        """Peak DRAM bandwidth usable by one op, B/s."""
        return self.config.main_memory.bandwidth

    def core_level(self) -> int | None:
        """Index of the outermost per-core level (whose tiles are the parallel work items), or None."""
        levels = self.config.memory
        idx = None
        for i, lvl in enumerate(levels[:-1]):
            if lvl.instances > 1:
                idx = i
        return idx

    # ------------------------------------------------------------------ the model
    def gemm_shape(self, op: Op) -> tiling.GemmShape | None:
        """The matrix problem of a GEMM-kind op (None for degenerate shapes)."""
        s = op.shape
        if op.kind not in GEMM_KINDS or not (s.m and s.n and s.k):
            return None
        b = op.dtypes.k.bytes if op.kind in _KV_OPERAND else op.dtypes.w.bytes
        m, count = s.m, max(1, s.count)
        if op.experts_active:  # grouped experts: the rows are spread over the distinct experts read
            groups = max(1, round(op.experts_active))
            m, count = max(1, math.ceil(m / groups)), count * groups
        return tiling.GemmShape(m, s.n, s.k, count, op.dtypes.a.bytes, b, op.dtypes.a.bytes)

    def _cost(self, op: Op, conv: Conventions, launches: bool) -> OpCost:
        cfg = self.config
        levels = cfg.memory
        dram = levels[-1]
        dtype = self.compute_dtype(op)
        flops = float(op.flops)
        peak = self.compute_peak(op, dtype) if flops > 0 else self._peak_or_inf(op, dtype)
        comp_knots, mem_knots = eff.kind_curves(
            cfg, "gemm" if (op.kind in GEMM_KINDS and op.kind not in cfg.kernel_efficiency) else op.kind
        )
        e_c = eff.interpolate(comp_knots, max(flops, 1.0))
        shape = self.gemm_shape(op)
        detail: dict[str, float] = {}
        if shape is not None:
            level_bytes, compute_ideal_quantized, detail = self._gemm_traffic(op, shape, peak)
            if "tile_flops" in detail:  # per-core work items: efficiency of one item's main loop
                e_c = eff.interpolate(comp_knots, detail["tile_flops"])
            compute_s = compute_ideal_quantized / e_c if flops > 0 else 0.0
        share = 1.0
        if shape is None:
            level_bytes = {lvl.name: float(op.bytes) for lvl in levels}
            per = cfg.kernel_efficiency.get(op.kind)
            if per is not None and per.row_parallel:
                rows = max(1, op.batch * op.tokens)
                share = min(1.0, rows / self.cores())
                detail["active_cores"] = min(rows, self.cores())
                if per.block_threads and op.shape.elements:
                    detail["row_latency_s"] = self.row_latency(op, rows, per.block_threads, per.blocks_per_core)
            compute_s = flops / (peak * share * e_c) if flops > 0 else 0.0
        dram_bytes = level_bytes[dram.name]
        bw = self.dram_bandwidth() * share
        e_m = eff.interpolate(mem_knots, max(dram_bytes, 1.0))
        level_s: dict[str, float] = {}
        ideal_s: dict[str, float] = {}
        for lvl in levels[:-1]:
            level_s[lvl.name] = ideal_s[lvl.name] = level_bytes[lvl.name] / lvl.bandwidth
        ideal_s[dram.name] = dram_bytes / dram.bandwidth
        t_dram = dram_bytes / (bw * e_m) if dram_bytes else 0.0
        if dram.fidelity == "cycle" and dram_bytes:
            from sim.devices import dram_cycle

            t_cycle = dram_cycle.op_dram_time(dram.memory, dram.bandwidth, op, dram_bytes)
            detail["dram_cycle_s"] = t_cycle
            t_dram = max(t_cycle, ideal_s[dram.name])
        if "row_latency_s" in detail:  # a row's block waits one DRAM latency per step (Little's law)
            detail["dram_bandwidth_s"] = t_dram
            t_dram = max(t_dram, detail["row_latency_s"])
        level_s[dram.name] = t_dram
        writes = {dram.name: float(op.store_act_bytes + op.store_kv_bytes)}
        launch = 0.0
        if launches:
            per = cfg.kernel_efficiency.get(op.kind) or (
                cfg.kernel_efficiency.get("gemm") if op.kind in GEMM_KINDS else None
            )
            launch = per.launch if per is not None and per.launch is not None else cfg.kernel_launch
        ideal_compute = flops / peak if flops > 0 and math.isfinite(peak) else 0.0
        return self.finish(
            flops,
            compute_s,
            level_bytes,
            level_s,
            ideal_s,
            ideal_compute,
            launch,
            dtype,
            peak,
            writes,
            detail,
        )

    def row_latency(self, op: Op, rows: int, block_threads: int, blocks_per_core: int) -> float:
        """Latency floor of a row-parallel kernel, s: each token row is walked by one block of
        ``block_threads`` threads in ``ceil(row elements / block_threads)`` dependent steps of one DRAM
        latency each; ``cores x blocks_per_core`` rows run at once, the rest in waves."""
        per_row = math.ceil(op.shape.elements / rows)
        steps = math.ceil(per_row / block_threads)
        waves = math.ceil(rows / (self.cores() * blocks_per_core))
        return waves * steps * self.config.memory[-1].latency

    def _peak_or_inf(self, op: Op, dtype: str) -> float:
        try:
            return self.compute_peak(op, dtype)
        except KeyError:
            return math.inf

    def _gemm_traffic(
        self, op: Op, shape: tiling.GemmShape, peak: float
    ) -> tuple[dict[str, float], float, dict[str, float]]:
        """Bytes per level and the quantized ideal compute time (s) of a matrix op."""
        cfg = self.config
        levels = cfg.memory
        n = len(levels)
        t = cfg.tiling
        out: dict[str, float] = {}
        core = self.core_level()
        cores = self.cores()
        if core is None:  # no per-core structure: cache tiles only, compute at the full peak
            holder_tm, holder_tn = shape.m, shape.n
            for j in range(n):
                if j == 0:
                    out[levels[0].name] = tiling.register_traffic(
                        shape, t.registers, holder_tm, holder_tn, t.k_tile, t.accumulator_bytes
                    )
                else:
                    cap = levels[j - 1].capacity / levels[j - 1].instances
                    out[levels[j].name] = tiling.best_tile(
                        shape, cap, None, t.k_tile, t.stages, t.accumulator_bytes
                    ).traffic
            compute = shape.flops / peak if peak > 0 else 0.0
            detail = {}
        else:
            cap = levels[core].capacity / levels[core].instances
            cand = tiling.core_candidates(
                shape, cap, self.tile_sizes(op), tuple(t.split_k), t.k_tile, t.stages, t.accumulator_bytes
            )
            per_core = peak / cores
            waves = np.ceil(cand.tiles / cores)
            comp = waves * (cand.tile_flops / per_core + t.tile_overhead)
            outer = levels[core + 1]
            t_outer = cand.traffic_in / (outer.bandwidth if core + 1 < n - 1 else self.dram_bandwidth())
            score = np.maximum(comp, t_outer)
            # ties: fewer work items (bigger tiles, less splitting)
            i = int(np.lexsort((cand.split, cand.tiles, score))[0])
            tm, tn = int(cand.tm[i]), int(cand.tn[i])
            out[outer.name] = float(cand.traffic_in[i])
            compute = float(comp[i])
            detail = {
                "tile_m": tm,
                "tile_n": tn,
                "split_k": float(cand.split[i]),
                "work_items": float(cand.tiles[i]),
                "waves": float(waves[i]),
                "tile_flops": float(cand.tile_flops[i]),
            }
            # levels inside the core level: register tile, then per-core caches tiled within the core tile
            for j in range(core + 1):
                if j == 0:
                    out[levels[0].name] = tiling.register_traffic(
                        shape, t.registers, tm, tn, t.k_tile, t.accumulator_bytes
                    )
                else:
                    capj = levels[j - 1].capacity / levels[j - 1].instances
                    sizes = tuple(x for x in self.tile_sizes(op) if x <= max(tm, tn))
                    bt = tiling.best_tile(shape, capj, sizes or None, t.k_tile, t.stages, t.accumulator_bytes)
                    out[levels[j].name] = float(tiling.traffic_into(shape, min(bt.tm, tm), min(bt.tn, tn)))
            for j in range(core + 2, n):
                capj = levels[j - 1].capacity / levels[j - 1].instances
                out[levels[j].name] = tiling.best_tile(
                    shape, capj, None, t.k_tile, t.stages, t.accumulator_bytes
                ).traffic
        # DRAM: the trace's bytes plus the re-reads the outermost cache tile forces
        dram = levels[-1].name
        extra = max(0.0, out.get(dram, 0.0) - shape.compulsory_bytes)
        out[dram] = float(op.bytes) + extra
        # an inner level moves at least what the level outside it delivers (it all passes through)
        for j in range(n - 2, -1, -1):
            out[levels[j].name] = max(out[levels[j].name], out[levels[j + 1].name])
        return out, compute, detail
