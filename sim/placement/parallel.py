"""Parallel ranks and expert homes on a system's devices.

* :class:`RankLayout` maps the global ranks of a parallel split (:mod:`sim.workload.parallel`) to device
  instances: rank r runs on the r-th instance of the parallel device entry (with disaggregated serving,
  of the prefill entry in the prefill step and of the decode entry afterwards).
* :class:`ExpertHomes` says where each routed expert's weights live: the fraction ``offload`` of each
  MoE layer's experts with the highest ids live in the memory of the ``home`` device (the host CPU's DDR),
  the rest beside the device that runs them (GPU HBM).
* :class:`ParallelPolicy` wraps the system's placement policy: an op with a rank goes to its rank's
  device, any other op where the wrapped policy puts it; an offloaded expert's op either runs on the home
  device (``execute: home``) or where it was placed after its weights are fetched (``execute: fetch``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sim.errors import ConfigError
from sim.placement.base import Placement, PlacementPolicy
from sim.workload.trace import Op


@dataclass(frozen=True)
class RankLayout:
    """Device instance of every global rank, in the prefill and in the decode steps."""

    prefill: tuple[str, ...]
    decode: tuple[str, ...]

    def device(self, rank: int, phase: str) -> str:
        """The instance that runs ``rank`` in ``phase``."""
        devs = self.prefill if phase == "prefill" else self.decode
        if rank >= len(devs):
            raise ConfigError(
                f"the trace has parallel rank {rank}, but the system maps only {len(devs)} ranks "
                f"({', '.join(devs[:4])}{'...' if len(devs) > 4 else ''}); use a system with more devices or "
                "a smaller split",
                key="parallel",
            )
        return devs[rank]

    @property
    def devices(self) -> tuple[str, ...]:
        """Every instance that holds a rank."""
        return tuple(dict.fromkeys((*self.prefill, *self.decode)))


@dataclass(frozen=True)
class ExpertHomes:
    """Offloaded experts: the top ``offload`` fraction of expert ids of every MoE layer live on ``home``."""

    home: str
    offload: float
    execute: str = "fetch"

    def first_offloaded(self, num_experts: int) -> int:
        """The lowest offloaded expert id."""
        return num_experts - int(math.floor(self.offload * num_experts + 1e-9))

    def fraction(self, op: Op, num_experts: int | None) -> float:
        """Share of ``op``'s weights that live on the home device (0 for ops that are not routed experts)."""
        if op.kind != "expert_linear" or self.offload <= 0:
            return 0.0
        if op.expert is None:
            return self.offload
        if num_experts is None:
            return 0.0
        return 1.0 if op.expert >= self.first_offloaded(num_experts) else 0.0


class ParallelPolicy(PlacementPolicy):
    """Ranked ops on their rank's device, the rest by ``base``; expert homes applied on top."""

    option_keys = ()

    def __init__(self, base: PlacementPolicy, layout: RankLayout | None = None,
                 experts: ExpertHomes | None = None, num_experts: int | None = None) -> None:
        self.base = base
        self.name = base.name
        self.devices = base.devices
        self.default = base.default
        self.options = base.options
        self.layout = layout
        self.experts = experts
        self.num_experts = num_experts

    def place(self, op: Op) -> Placement:
        """The rank's device (or the base policy's), with the expert's weight home."""
        if op.rank >= 0 and self.layout is not None:
            where = Placement(self.layout.device(op.rank, op.phase))
        else:
            where = self.base.place(op)
        if self.experts is not None:
            f = self.experts.fraction(op, self.num_experts)
            if f > 0 and where.device != self.experts.home:
                if self.experts.execute == "home" and f >= 1.0:
                    return Placement(self.experts.home)
                return Placement(where.device, where.stream, self.experts.home, f)
        return where


def instances(names: Sequence[str], entry: str) -> list[str]:
    """The instances of device entry ``entry`` among ``names`` (``entry`` or ``entry[i]``), in order."""
    return [n for n in names if n == entry or n.startswith(entry + "[")]


__all__ = ["ExpertHomes", "ParallelPolicy", "RankLayout", "instances"]
