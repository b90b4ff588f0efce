"""Plain result records of a system replay: one per op and one per transfer (SI units).

The same records feed the ``--per-op`` JSON, the Chrome-trace timeline, the roofline chart and the
per-layer / per-device aggregates, so every report reads the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class OpRecord:
    """One op as it ran: where, when (s), how long (s), its energy (J) and its place on the roofline.

    ``attained_flops_per_s = flops / time_s``; ``ceiling_flops_per_s`` is the roofline of the device
    that ran it at this op (compute peak and every memory level at peak); ``intensity`` is FLOPs per
    DRAM byte.
    """

    id: int
    name: str
    kind: str
    layer: int
    phase: str
    step: int
    device: str
    stream: int
    start_s: float
    time_s: float
    energy_J: float
    bound: str
    flops: float
    dram_bytes: float
    compute_dtype: str
    ceiling_flops_per_s: float
    peak_flops_per_s: float
    level_bytes: dict[str, float] = field(default_factory=dict)

    @property
    def end_s(self) -> float:
        """Completion time, s."""
        return self.start_s + self.time_s

    @property
    def attained_flops_per_s(self) -> float:
        """FLOPs / duration, FLOP/s."""
        return self.flops / self.time_s if self.time_s > 0 else 0.0

    @property
    def intensity(self) -> float:
        """FLOPs per DRAM byte (inf without DRAM traffic)."""
        return self.flops / self.dram_bytes if self.dram_bytes else math.inf

    def to_dict(self) -> dict[str, Any]:
        """The ``--per-op`` JSON record."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "layer": self.layer,
            "phase": self.phase,
            "step": self.step,
            "device": self.device,
            "stream": self.stream,
            "start_s": self.start_s,
            "time_s": self.time_s,
            "energy_J": self.energy_J,
            "bound": self.bound,
            "flops": self.flops,
            "dram_bytes": self.dram_bytes,
            "intensity": self.intensity if math.isfinite(self.intensity) else None,
            "attained_flops_per_s": self.attained_flops_per_s,
            "ceiling_flops_per_s": self.ceiling_flops_per_s,
            "compute_dtype": self.compute_dtype,
            "level_bytes": dict(self.level_bytes),
        }


@dataclass(slots=True)
class TransferRecord:
    """One hop of a producer's result moving between devices over a link."""

    producer: str
    src: str
    dst: str
    link: str
    direction: str
    start_s: float
    time_s: float
    bytes: float
    energy_J: float
    queued_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON record."""
        return {
            "producer": self.producer,
            "src": self.src,
            "dst": self.dst,
            "link": self.link,
            "direction": self.direction,
            "start_s": self.start_s,
            "time_s": self.time_s,
            "bytes": self.bytes,
            "energy_J": self.energy_J,
            "queued_s": self.queued_s,
        }
