"""The PIM-GPT ASIC (``type: asic``): SIMD function units, SRAM buffers, a port to the PIM chips.

PIM-GPT's ASIC (28 nm, 1 GHz; pim.md section 1) runs everything that is not a matrix-vector product:
LayerNorm, softmax, GELU, residual adds, the embedding lookup, and the addition of the partial sums
that the PIM banks return. The model (config: :class:`~sim.config.accelerators.AsicDeviceConfig`):

* **Operations.** Each op kind maps to a function of :mod:`sim.devices.asic_ops` (adds and multiplies per
  element and per row, from the ASIC's number format). ``activation`` is recognised from the trace's
  FLOPs per element (GELU, SiLU or ReLU under the run's conventions).
* **Time** (s) = cycles / ``clock``, with ``lanes`` adds or multiplies per cycle::

      cycles = ceil((element ops + row ops x rows) / lanes) + chain x scalar_latency

  ``chain`` is the dependent part of one row, which no lane parallelism hides: the tree merges of its
  reductions (``ceil(log2(min(row length, lanes)))`` each) plus its scalar steps (reciprocal, inverse
  square root). Rows overlap one another, so the chain is paid once per op.
* **Energy** (J): ``asic_compute`` = adds x ``add_energy`` + multiplies x ``mul_energy``; ``sram`` = bits
  read and written in the buffers x their J/bit (passes over the data per function, table below); ``io``
  = bits through the port to the PIM chips x ``link.energy``. Leakage is the device's static power.
* **Partial sums** (:meth:`AsicModel.reduction`): a GEMV whose matrix rows span ``p`` PIM row chunks
  returns ``p`` partial sums per output; the ASIC adds them (``p - 1`` adds per output, plus the bias)
  reading them from its partial-sum buffer. The PIM device model charges this work (it overlaps the
  PIM's streaming, only the last chunk's share is exposed).

SRAM passes (elements read / written per element of the op):

============== ===== ====== ===================================================
function       read  write  passes
============== ===== ====== ===================================================
softmax        3     2      max; exp and sum; scale
layernorm      5     1      mean; variance; normalise (x, gamma, beta)
activation     1     1      one pass
elementwise    k     1      k operands
embedding      0     1      the gathered row arrives through the port
partial sums   p     1      p partial sums per output (+1 read for a bias)
============== ===== ====== ===================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.config.accelerators import AsicDeviceConfig
from sim.config.hardware import DeviceConfig, MemoryLevel
from sim.devices.asic_ops import FunctionCounts, Ops
from sim.devices.base import DeviceModel, OpCost
from sim.errors import ConfigError
from sim.placement.base import PlacementError
from sim.workload.conventions import Conventions
from sim.workload.trace import Op


@dataclass(frozen=True)
class AsicWork:
    """Work on the ASIC: seconds, cycles and dynamic energy by component (J)."""

    time_s: float
    cycles: float
    energy_J: dict[str, float]
    ops: Ops


def effective_config(cfg: AsicDeviceConfig) -> DeviceConfig:
    """The generic view of the ASIC the engine and reports use: peak = lanes x clock, SRAM levels."""
    levels = [
        MemoryLevel.model_construct(name=b.name, kind="sram", capacity=b.capacity,
                                    bandwidth=b.width_bits / 8 * cfg.clock, read_energy=b.read_energy,
                                    write_energy=b.write_energy)
        for b in cfg.sram
    ]
    peak = cfg.lanes * cfg.clock
    return cfg.model_copy(update={"compute": {cfg.datatype: peak}, "memory": levels})


class AsicModel(DeviceModel):
    """The PIM-GPT ASIC; see the module docstring."""

    types = ("asic",)
    accepts_fidelity = False  # SRAM only
    stores_weights = False  # weights (embedding rows) are gathered from the PIM chips

    @classmethod
    def accepts(cls, config: DeviceConfig) -> bool:
        """Only configs with the PIM-GPT keys."""
        return isinstance(config, AsicDeviceConfig)

    def __init__(self, config: DeviceConfig, *, name: str | None = None) -> None:
        if not isinstance(config, AsicDeviceConfig):
            raise ConfigError(f"device {config.name!r} of type asic needs the asic keys (lanes, sram, link...)",
                              key="type", value=config.type)
        self.raw = config
        super().__init__(effective_config(config), name=name)
        self.fn = FunctionCounts.for_dtype(config.datatype, exp_terms_=config.exp_terms,
                                           reciprocal_iterations=config.reciprocal_iterations,
                                           rsqrt_iterations=config.rsqrt_iterations)
        self.elem_bits = {"bf16": 16, "fp16": 16, "fp32": 32}[config.datatype]

    # ------------------------------------------------------------------ capability
    def fit_error(self, weight_bytes: float, kv_bytes: float) -> str | None:
        """The ASIC holds no weights or KV cache (they live in the PIM chips)."""
        return None

    # ------------------------------------------------------------------ primitives
    def work(self, ops: Ops, rows: float, row_ops: Ops, chain: float, reads: float, writes: float,
             *, role: str = "vector", link_bytes: float = 0.0) -> AsicWork:
        """Cycles, time and energy of ``ops`` (element ops) + ``row_ops`` x ``rows``, a dependent chain of
        ``chain`` steps, ``reads``/``writes`` elements in the buffer of ``role`` and ``link_bytes`` through
        the port."""
        cfg = self.raw
        total = ops + row_ops.scaled(rows)
        cycles = math.ceil(total.total / cfg.lanes) + chain * cfg.scalar_latency
        buf = cfg.buffer(role)
        bits = self.elem_bits
        energy = {
            "asic_compute": total.add * cfg.add_energy + total.mul * cfg.mul_energy,
            "sram": bits * (reads * buf.read_energy + writes * buf.write_energy),
        }
        t = cycles / cfg.clock
        if link_bytes:
            energy["io"] = link_bytes * 8 * cfg.link.energy
            t += cfg.link.latency + link_bytes / cfg.link.bandwidth
        return AsicWork(t, cycles, energy, total)

    def reduction(self, outputs: int, partials: int, bias: bool) -> AsicWork:
        """Adding ``partials`` partial sums per output (plus the bias) for ``outputs`` outputs."""
        adds = FunctionCounts.partial_sums(outputs, partials, bias)
        depth = math.ceil(math.log2(partials)) if partials > 1 else (1 if bias else 0)
        reads = outputs * (max(partials, 1) + (1 if bias else 0))
        return self.work(adds, 0, Ops(), depth, reads, outputs, role="psum")

    def _check_row(self, op: Op, row_elems: float) -> None:
        buf = self.raw.buffer("vector")
        need = row_elems * self.elem_bits / 8
        if need > buf.capacity:
            raise PlacementError(
                f"op {op.name!r} ({op.kind}): one row of {row_elems:.0f} elements ({need / 1024:.1f} KiB) does "
                f"not fit the ASIC's {buf.name} buffer ({buf.capacity / 1024:.1f} KiB) on device "
                f"{self.name!r}: {(need - buf.capacity) / 1024:.1f} KiB too large"
            )

    def _tree(self, row_len: float) -> int:
        return math.ceil(math.log2(max(2.0, min(row_len, float(self.raw.lanes)))))

    # ------------------------------------------------------------------ the model
    def op_work(self, op: Op, conv: Conventions) -> AsicWork:
        """The ASIC work of one trace op."""
        fn = self.fn
        n = float(op.shape.elements) if op.shape.elements else float(op.flops)
        k = op.kind
        rows = float(max(1, op.batch * op.tokens))
        if k == "softmax":
            rows = float(max(1, op.batch * op.tokens * max(op.heads, 1)))
            length = n / rows
            self._check_row(op, length)
            chain = 2 * self._tree(length) + fn.softmax_row.total
            return self.work(fn.softmax_element.scaled(n), rows, fn.softmax_row, chain, 3 * n, 2 * n)
        if k == "norm":
            length = n / rows
            self._check_row(op, length)
            chain = 2 * self._tree(length) + fn.layernorm_row.total
            return self.work(fn.layernorm_element.scaled(n), rows, fn.layernorm_row, chain, 5 * n, n)
        if k == "activation":
            per = self._activation(op, conv, n)
            return self.work(per.scaled(n), 0, Ops(), per.total, n, n)
        if k == "embedding":
            link = float(op.load_weight_bytes)
            adds = Ops(float(op.flops), 0.0)
            return self.work(adds, 0, Ops(), 1 if op.flops else 0, n if op.flops else 0.0, n, link_bytes=link)
        if k == "elementwise":
            operands = max(2.0, op.flops / n + 1) if n else 2.0
            return self.work(Ops(float(op.flops), 0.0), 0, Ops(), 1, operands * n, n)
        # anything else (a GEMM or rope placed here by rules): FLOPs as half adds, half multiplies
        f = float(op.flops)
        return self.work(Ops(f / 2, f / 2), 0, Ops(), 1, n, n)

    def _activation(self, op: Op, conv: Conventions, n: float) -> Ops:
        per = op.flops / n if n else 0.0
        fn = self.fn
        gate = conv.gate_mul_ops
        table = {
            float(conv.gelu_ops): fn.gelu_element,
            float(conv.gelu_ops + gate): fn.gelu_element + Ops(0, 1),
            float(conv.silu_ops): Ops(1, 1) + fn.exp + fn.reciprocal,
            float(conv.silu_ops + gate): Ops(1, 2) + fn.exp + fn.reciprocal,
            float(conv.relu_ops): Ops(1, 0),
        }
        for ratio, ops in table.items():
            if abs(per - ratio) < 1e-9:
                return ops
        return Ops(per / 2, per / 2)

    def _cost(self, op: Op, conv: Conventions, launches: bool) -> OpCost:
        w = self.op_work(op, conv)
        peak = self.config.peak(self.raw.datatype)
        return OpCost(
            time_s=w.time_s,
            bound="compute",
            compute_dtype=self.compute_dtype(op),
            compute_s=w.time_s,
            launch_s=0.0,
            level_bytes={},
            level_s={},
            ceiling_flops_per_s=peak,
            peak_flops_per_s=peak,
            detail={"cycles": w.cycles, "adds": w.ops.add, "muls": w.ops.mul},
            energy_J=w.energy_J,
            counters={"asic_cycles": w.cycles, "asic_busy_s": w.time_s},
        )


__all__ = ["AsicModel", "AsicWork", "effective_config"]
