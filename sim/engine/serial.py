"""Replay of one trace on several one-device, one-stream systems at once (baselines of comparisons).

On a system of a single device with a single stream every op starts when the one before it ends (its
producers are earlier ops of the same stream, and nothing crosses a link), so the system engine's
result is exactly: latency = the sum of the op times; step ends = running sums; energy = every op's
dynamic energy + the device's static power over the latency. :func:`replay_serial` computes that for
several device models in one pass over the trace (the trace is generated once, each op's cost is
memoised per model), which makes multi-model comparisons cheap. ``tests/test_compare.py`` checks it
against :func:`sim.engine.replay.run_system`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sim.devices.base import DeviceModel
from sim.devices.kernels import launches_kernel
from sim.placement.base import PlacementError
from sim.results.energy import compute_energy, level_energy
from sim.results.summary import StepTimes
from sim.workload.conventions import Conventions
from sim.workload.trace import Op


@dataclass
class SerialResult(StepTimes):
    """One device's replay: times (s), energy (J) by component, time by op kind (s) and by bound."""

    device: str
    latency_s: float = 0.0
    step_ends: list[float] = field(default_factory=list)
    breakdown: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    time_by_kind: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    time_by_bound: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    ops: int = 0

    @property
    def energy_J(self) -> float:
        """Total energy, J."""
        return sum(self.breakdown.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary."""
        return {"device": self.device, "latency_s": self.latency_s, "ttft_s": self.ttft_s, "tbt_s": self.tbt_s,
                "energy_J": self.energy_J, "breakdown": dict(self.breakdown),
                "time_by_kind_s": dict(self.time_by_kind), "time_by_bound_s": dict(self.time_by_bound),
                "ops": self.ops}


def replay_serial(models: Sequence[DeviceModel], ops: Iterable[Op], conv: Conventions, *,
                  context_tokens: int | None = None, weight_total_bytes: float | None = None) -> list[SerialResult]:
    """Replay ``ops`` on each of ``models`` (each a one-device, one-stream system); results in order.

    After the first step, the model's weights (``weight_total_bytes``, else the weights that step reads)
    and its KV cache for ``context_tokens`` tokens must fit each device (PlacementError otherwise), as in
    the system engine."""
    results = [SerialResult(m.name) for m in models]
    memo: list[dict[int, tuple[float, str, dict[str, float]]]] = [{} for _ in models]
    clock = [0.0] * len(models)
    step = None
    weights = kv = 0.0
    for op in ops:
        if step is not None and op.step != step:
            if not results[0].step_ends:
                _check_fit(models, weight_total_bytes or weights, kv)
            for i, r in enumerate(results):
                r.step_ends.append(clock[i])
        step = op.step
        if op.step == 0 or not results[0].step_ends:
            weights += op.load_weight_bytes
            if op.store_kv_bytes and op.tokens:
                kv += op.store_kv_bytes / op.tokens * (context_tokens or op.tokens)
        launches = launches_kernel(op, conv)
        for i, m in enumerate(models):
            try:
                cost = m.cost(op, conv, launches=launches)
            except PlacementError as exc:
                raise PlacementError(f"op {op.name!r} (step {op.step}) on device {m.name!r}: {exc}") from None
            hit = memo[i].get(id(cost))
            if hit is None:
                cfg = m.config
                if cost.energy_J is not None:
                    parts = dict(cost.energy_J)
                else:
                    parts = {"compute": compute_energy(cfg, cost.compute_dtype, float(op.flops)),
                             **level_energy(cfg, cost.level_bytes, cost.write_bytes)}
                hit = memo[i][id(cost)] = (cost.time_s, cost.bound, parts)
            t, bound, parts = hit
            r = results[i]
            clock[i] += t
            r.ops += 1
            r.time_by_kind[op.kind] += t
            r.time_by_bound[bound] += t
            for k, v in parts.items():
                r.breakdown[k] += v
    if step is not None and not results[0].step_ends:
        _check_fit(models, weight_total_bytes or weights, kv)
    for i, (r, m) in enumerate(zip(results, models, strict=True)):
        if step is not None:
            r.step_ends.append(clock[i])
        r.latency_s = clock[i]
        r.breakdown["static"] += m.config.power.static * r.latency_s
    return results


def _check_fit(models: Sequence[DeviceModel], weights: float, kv: float) -> None:
    for m in models:
        why = m.fit_error(weights, kv)
        if why:
            raise PlacementError(why)


__all__ = ["SerialResult", "replay_serial"]
