"""Analytic single-device execution: the ops of a generation run back to back, each taking its roofline time.

This is the simplest engine: one device, one stream, no overlap between ops, times and energies from
:mod:`sim.results.roofline` and :mod:`sim.results.energy`. Prefill is step 0; each decode step
generates one token per sequence. Identical op signatures are placed once and reused across steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sim.config.hardware import DeviceConfig
from sim.results.energy import energy_breakdown
from sim.results.roofline import OpPlacement, place_all
from sim.workload.conventions import Conventions
from sim.workload.dtypes import DTypes
from sim.workload.generator import generate_trace
from sim.workload.models import ModelSpec


@dataclass
class PhaseResult:
    """Totals of one phase: time (s), FLOPs, DRAM bytes, ops, energy by component (J)."""

    phase: str
    time_s: float = 0.0
    flops: float = 0.0
    bytes: float = 0.0
    ops: int = 0
    steps: int = 0
    energy_J: dict[str, float] = field(default_factory=dict)

    @property
    def energy_total_J(self) -> float:
        """Total energy of the phase, J (the sum of its parts)."""
        return sum(self.energy_J.values())


@dataclass
class RunResult:
    """A whole generation on one device."""

    device: str
    model: str
    batch: int
    prompt: int
    generate: int
    phases: dict[str, PhaseResult]
    first_steps: list[OpPlacement]          #: placements of the prefill and the first decode step

    @property
    def ttft_s(self) -> float:
        """Time to first token: the prefill, s."""
        return self.phases["prefill"].time_s

    @property
    def tbt_s(self) -> float:
        """Mean time between tokens over the decode steps, s (0 without decode)."""
        d = self.phases.get("decode")
        return d.time_s / d.steps if d and d.steps else 0.0

    @property
    def latency_s(self) -> float:
        """End-to-end latency, s."""
        return sum(p.time_s for p in self.phases.values())

    @property
    def energy_J(self) -> float:
        """Total energy, J."""
        return sum(p.energy_total_J for p in self.phases.values())

    def breakdown(self) -> dict[str, float]:
        """Energy by component over all phases, J."""
        out: dict[str, float] = {}
        for p in self.phases.values():
            for k, v in p.energy_J.items():
                out[k] = out.get(k, 0.0) + v
        return out

    def to_dict(self) -> dict:
        """JSON-able summary (the keys of ``pimsim run --json``)."""
        tokens = self.batch * self.generate
        return {
            "device": self.device, "model": self.model, "batch": self.batch, "prompt": self.prompt,
            "generate": self.generate, "ttft_s": self.ttft_s, "tbt_s": self.tbt_s,
            "latency_s": self.latency_s, "energy_J": self.energy_J,
            "tokens_per_s": tokens / self.latency_s if self.latency_s and tokens else 0.0,
            "breakdown": self.breakdown(),
            "phases": {k: {"time_s": v.time_s, "flops": v.flops, "bytes": v.bytes, "ops": v.ops,
                           "steps": v.steps, "energy_J": v.energy_total_J, "energy_breakdown_J": v.energy_J}
                       for k, v in self.phases.items()},
        }


def run_generation(model: ModelSpec, device: DeviceConfig, batch: int, prompt: int, generate: int, *,
                   dtypes: DTypes, conventions: Conventions, routing: str = "uniform", seed: int = 0,
                   progress: Callable[[int], None] | None = None, memo: dict | None = None) -> RunResult:
    """Run prefill plus ``generate`` decode steps of ``model`` on ``device``; ``progress(step)`` per step.

    ``memo`` caches op placements by signature; a caller may pass the same dict to several runs on the
    same device and conventions (sweeps do) so that identical ops are placed once.
    """
    memo = {} if memo is None else memo
    phases = {"prefill": PhaseResult("prefill")}
    if generate:
        phases["decode"] = PhaseResult("decode")
    first: list[OpPlacement] = []
    step_ops: list = []
    current = 0

    def flush() -> None:
        if not step_ops:
            return
        placed = place_all(step_ops, device, conventions, memo=memo)
        ph = phases[step_ops[0].phase]
        t = sum(p.time_s for p in placed)
        ph.time_s += t
        ph.flops += sum(p.flops for p in placed)
        ph.bytes += sum(p.bytes for p in placed)
        ph.ops += len(placed)
        ph.steps += 1
        for k, v in energy_breakdown(placed, device, t).items():
            ph.energy_J[k] = ph.energy_J.get(k, 0.0) + v
        if step_ops[0].step <= 1:
            first.extend(placed)
        if progress:
            progress(step_ops[0].step)
        step_ops.clear()

    for op in generate_trace(model, batch, prompt, generate, dtypes=dtypes, conventions=conventions,
                             routing=routing, seed=seed):
        if op.step != current:
            flush()
            current = op.step
        step_ops.append(op)
    flush()
    return RunResult(device.name, model.name, batch, prompt, generate, phases, first)
