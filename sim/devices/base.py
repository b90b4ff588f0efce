"""The device-model interface: what the engine asks of a device about one operator.

A :class:`DeviceModel` wraps a validated :class:`~sim.config.hardware.DeviceConfig` and answers
:meth:`DeviceModel.cost` with an :class:`OpCost`: the op's duration on the device and everything the
results need (bound, bytes and time per memory level, the roofline ceiling at the op's intensity).
Costs are memoised by op signature (kind, shape, datatypes, FLOPs and byte fields, whether the op
launches its own kernel), so identical ops of different layers and steps are computed once.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from sim.config.hardware import DeviceConfig
from sim.errors import ConfigError
from sim.placement.base import PlacementError
from sim.workload.conventions import Conventions
from sim.workload.trace import GEMM_KINDS, KINDS, Op


@dataclass(frozen=True)
class OpCost:
    """The cost of one op on one device (seconds, bytes, FLOP/s).

    ``time_s`` = launch + max(compute time, every level's time); ``bound`` names the term that set it
    ("compute", a level name, or "launch" when the fixed overhead exceeds everything else).
    ``ceiling_flops_per_s`` is the device's roofline at this op: the attainable rate if the op ran at
    the peaks of every resource (``flops / max(flops/peak, max_l bytes_l/bw_l)``), so the attained rate
    ``flops / time_s`` never exceeds it.
    """

    time_s: float
    bound: str
    compute_dtype: str
    compute_s: float
    launch_s: float
    level_bytes: dict[str, float] = field(default_factory=dict)
    level_s: dict[str, float] = field(default_factory=dict)
    write_bytes: dict[str, float] = field(default_factory=dict)
    ceiling_flops_per_s: float = 0.0
    peak_flops_per_s: float = 0.0
    detail: dict[str, float] = field(default_factory=dict)
    #: dynamic energy by component (J) when the model computes it itself (PIM, ASIC); None: the engine
    #: derives it from FLOPs and level bytes (:mod:`sim.results.energy`)
    energy_J: dict[str, float] | None = None
    #: additive per-op statistics the run sums per device (row hits, off-chip bytes...)
    counters: dict[str, float] = field(default_factory=dict)


def signature(op: Op, launches: bool) -> tuple:
    """Hashable key of everything a device model reads from an op."""
    return (
        op.kind,
        op.shape,
        op.dtypes,
        op.flops,
        op.load_weight_bytes,
        op.load_act_bytes,
        op.store_act_bytes,
        op.load_kv_bytes,
        op.store_kv_bytes,
        op.experts_active,
        op.batch * op.tokens,
        launches,
    )


class DeviceModel(ABC):
    """A device as the engine sees it: a config plus a cost model. Subclasses implement :meth:`_cost`."""

    #: config ``type`` values the class models (used by the registry)
    types: tuple[str, ...] = ()
    #: whether ``--fidelity`` (analytic / cycle DRAM timing) applies to the device (False: the model has its own
    #: timing, e.g. command-level PIM or an ASIC with SRAM only)
    accepts_fidelity: bool = True
    #: whether the model's weights placed on this device live in its memory (False: the device streams
    #: them from another device's memory, e.g. an ASIC reading embedding rows from PIM chips)
    stores_weights: bool = True

    def __init__(self, config: DeviceConfig, *, name: str | None = None) -> None:
        self.config = config
        self.name = name or config.name
        self._memo: dict[tuple, OpCost] = {}
        for kind in config.kernel_efficiency:
            if kind not in KINDS and kind != "gemm":
                raise ConfigError(
                    f"device {config.name!r}: kernel_efficiency key {kind!r} is not an op kind",
                    key=f"kernel_efficiency.{kind}",
                    expected="gemm or one of " + ", ".join(KINDS),
                )

    # ------------------------------------------------------------------ capability
    def compute_dtype(self, op: Op) -> str:
        """The datatype the op's arithmetic runs in: the activation format, unless both operands are
        integers (then the wider integer format)."""
        w, a = op.dtypes.w, op.dtypes.a
        if w.name.startswith("int") and a.name.startswith("int"):
            return a.name if a.bits >= w.bits else w.name
        return a.name

    def peak(self, op: Op, dtype: str) -> float:
        """FLOP/s available to ``op`` in ``dtype`` (matrix units for GEMMs, vector units otherwise)."""
        if op.kind in GEMM_KINDS:
            return self.config.peak(dtype)
        return self.config.vector_peak(dtype)

    def check(self, op: Op) -> str | None:
        """Why the device cannot run ``op`` (None if it can)."""
        cfg = self.config
        if cfg.supported_kinds is not None and op.kind not in cfg.supported_kinds:
            return (
                f"device {self.name!r} ({cfg.type}) cannot run op kind {op.kind!r}; it runs "
                f"{', '.join(cfg.supported_kinds)}"
            )
        if op.flops > 0:
            dt = self.compute_dtype(op)
            try:
                cfg.peak(dt)
            except KeyError:
                return (
                    f"device {self.name!r} has no {dt} arithmetic (op {op.name!r} computes in {dt}); "
                    f"it supports {', '.join(cfg.compute)}"
                )
        return None

    @classmethod
    def accepts(cls, config: DeviceConfig) -> bool:
        """Whether the model can be built from ``config`` (the registry falls back to the generic model)."""
        return True

    def bind(self, devices: dict[str, DeviceModel]) -> None:
        """Called once the system's devices are built (``devices``: instance name -> model), so that a
        model whose ops involve a peer (a PIM device and the ASIC that adds its partial sums) can find it.
        The default binds nothing."""
        return None

    def fit_error(self, weight_bytes: float, kv_bytes: float) -> str | None:
        """Why ``weight_bytes`` of weights and ``kv_bytes`` of KV cache do not fit in the device's memory
        (None if they do)."""
        lvl = self.config.main_memory
        need = weight_bytes + kv_bytes
        if need <= lvl.capacity:
            return None
        gib = 2.0**30
        return (
            f"the model does not fit in the memory of device {self.name!r} "
            f"({lvl.name}, {lvl.capacity / gib:.1f} "
            f"GiB): weights {weight_bytes / gib:.2f} GiB + KV cache {kv_bytes / gib:.2f} GiB = "
            f"{need / gib:.2f} GiB, short by {(need - lvl.capacity) / gib:.2f} GiB; "
            "use a device with "
            "more memory, a smaller batch or context, narrower datatypes, or place part of the model "
            "on another device"
        )

    # ------------------------------------------------------------------ cost
    def cost(self, op: Op, conv: Conventions, *, launches: bool = True) -> OpCost:
        """The (memoised) cost of ``op``; ``launches`` says whether it pays the per-kernel overhead."""
        key = signature(op, launches)
        hit = self._memo.get(key)
        if hit is None:
            why = self.check(op)
            if why:
                raise PlacementError(why)
            hit = self._memo[key] = self._cost(op, conv, launches)
        return hit

    @abstractmethod
    def _cost(self, op: Op, conv: Conventions, launches: bool) -> OpCost:
        """Compute the cost of ``op`` (not memoised)."""

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def finish(
        flops: float,
        compute_s: float,
        level_bytes: dict[str, float],
        level_s: dict[str, float],
        ideal_level_s: dict[str, float],
        ideal_compute_s: float,
        launch_s: float,
        dtype: str,
        peak: float,
        write_bytes: dict[str, float] | None = None,
        detail: dict[str, float] | None = None,
    ) -> OpCost:
        """Assemble an :class:`OpCost`: time = launch + max(compute, levels); ceiling from ideal times."""
        bound, t = "compute", compute_s
        for name, tl in level_s.items():
            if tl > t:
                bound, t = name, tl
        if launch_s > t:
            bound = "launch"
        total = t + launch_s
        ideal = max([ideal_compute_s, *ideal_level_s.values()])
        ceiling = flops / ideal if ideal > 0 else peak
        return OpCost(
            time_s=total,
            bound=bound,
            compute_dtype=dtype,
            compute_s=compute_s,
            launch_s=launch_s,
            level_bytes=level_bytes,
            level_s=level_s,
            write_bytes=write_bytes or {},
            ceiling_flops_per_s=min(ceiling, peak) if math.isfinite(ceiling) else peak,
            peak_flops_per_s=peak,
            detail=detail or {},
        )


__all__ = ["DeviceModel", "OpCost", "PlacementError", "signature"]
