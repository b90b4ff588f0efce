"""One design point: a workload run on a validated hardware config, and its result as a flat record.

This module is the single seam between exploration (sweeps, :func:`sim.simulate`) and the engine:
:func:`evaluate` builds the system (:func:`sim.engine.system.build_system`) and replays the generation on
it with :func:`sim.engine.replay.run_system`, exactly as ``pimsim run --hw SYSTEM`` does, so a sweep point
equals a ``pimsim run`` of the same resolved config (``tests/test_sweep_system.py`` checks this).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from sim.config.hardware import DeviceConfig, SystemConfig
from sim.engine.system import ResolvedSystem
from sim.errors import ConfigError
from sim.results.summary import SystemRunResult
from sim.workload.models import ModelSpec

#: Figures of merit every record has (the result columns of a sweep table), with their units.
FIGURES = {
    "latency_s": "end-to-end latency, s",
    "ttft_s": "time to first token (prefill), s",
    "tbt_s": "mean time between tokens (decode), s",
    "energy_J": "total energy, J",
    "tokens_per_s": "generated tokens per second",
    "energy_per_token_J": "energy per generated token, J",
}


@dataclass(frozen=True)
class Workload:
    """What runs: a model, the batch and sequence lengths (tokens), datatypes and conventions."""

    model: str = "llama-2-7b"
    batch: int = 1
    prompt: int = 1024
    generate: int = 256
    dtype: str = "fp16"
    weight_dtype: str | None = None
    act_dtype: str | None = None
    kv_dtype: str | None = None
    conventions: str = "default"
    routing: str = "uniform"
    seed: int = 0

    def checked(self) -> Workload:
        """Validate every field (types, ranges, names); a ConfigError names ``workload.FIELD``."""
        from sim.workload.conventions import get_conventions
        from sim.workload.dtypes import get_dtype
        from sim.workload.routing import get_routing

        for name, minimum in (("batch", 1), ("prompt", 1), ("generate", 0), ("seed", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise ConfigError("expected a whole number", key=f"workload.{name}", value=v)
            if v < minimum:
                raise ConfigError(f"must be at least {minimum}", key=f"workload.{name}", value=v)
        for name in ("dtype", "weight_dtype", "act_dtype", "kv_dtype"):
            v = getattr(self, name)
            if v is not None:
                get_dtype(v, key=f"workload.{name}")
        for name in ("model", "conventions", "routing"):
            if not isinstance(getattr(self, name), str):
                raise ConfigError("expected a name", key=f"workload.{name}", value=getattr(self, name))
        get_conventions(self.conventions)
        get_routing(self.routing, seed=self.seed)
        return self

    def dtypes(self) -> Any:
        """The :class:`~sim.workload.dtypes.DTypes` of weights, activations and KV cache."""
        from sim.workload.dtypes import DTypes

        return DTypes(
            self.weight_dtype or self.dtype, self.act_dtype or self.dtype, self.kv_dtype or self.dtype
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data (hashed into run ids, stored beside results)."""
        return asdict(self)


def check_simulatable(config: Any) -> None:
    """Raise a ConfigError unless the engine can run ``config``: a device, a system or a resolved system
    (a memory, link or PIM preset alone cannot run a model)."""
    if not isinstance(config, DeviceConfig | SystemConfig | ResolvedSystem):
        kind = getattr(config, "kind", type(config).__name__)
        raise ConfigError(
            f"cannot simulate a {kind} config: a run needs a compute device or a system",
            key="hw",
            value=getattr(config, "name", None),
            expected="a device or system preset such as a100-80gb or pim-gpt",
        )


def evaluate(
    hw: Any,
    model: ModelSpec,
    workload: Workload,
    *,
    memo: dict | None = None,
    progress: Callable[[int], None] | None = None,
) -> SystemRunResult:
    """Run ``workload`` (prefill + decode) of ``model`` on the validated hardware ``hw`` (a device config,
    a system config or a :class:`~sim.engine.system.ResolvedSystem`) with the system engine.

    The generated trace is kept for the next call with the same workload (points of a sweep differ in
    hardware only), and the PIM kernels' results are memoised per PIM config and op signature. ``memo``
    (one dict per hardware config and conventions, kept by the caller) holds the built system, whose
    device models memoise their op costs by signature, for the next run on the same hardware (points
    that differ in the workload only). ``progress(step)`` is called after each step.
    """
    from sim.engine.replay import run_system
    from sim.engine.system import build_system
    from sim.workload.conventions import get_conventions

    check_simulatable(hw)
    system = memo.get("system") if memo is not None else None
    if system is None:
        system = build_system(hw)
        if memo is not None:
            memo["system"] = system
    return run_system(
        system,
        model,
        workload.batch,
        workload.prompt,
        workload.generate,
        dtypes=workload.dtypes(),
        conventions=get_conventions(workload.conventions),
        routing=workload.routing,
        seed=workload.seed,
        progress=progress,
        cache_trace=True,
    )


def record(run: SystemRunResult) -> dict[str, float]:
    """The figures of a run as one flat record (SI units; the result columns of a sweep table).

    Keys: the :data:`FIGURES`, ``energy_J.COMPONENT`` (compute, each memory level, static) and
    ``PHASE.time_s`` / ``PHASE.energy_J`` / ``PHASE.flops`` / ``PHASE.bytes`` / ``PHASE.steps`` for the
    prefill and decode phases.
    """
    d = run.to_dict()
    tokens = run.batch * run.generate
    out: dict[str, float] = {
        "latency_s": d["latency_s"],
        "ttft_s": d["ttft_s"],
        "tbt_s": d["tbt_s"],
        "energy_J": d["energy_J"],
        "tokens_per_s": d["tokens_per_s"],
        "energy_per_token_J": d["energy_J"] / tokens if tokens else 0.0,
    }
    for comp, joules in d["breakdown"].items():
        out[f"energy_J.{comp}"] = joules
    for phase in ("prefill", "decode"):
        ph = d["phases"].get(phase, {})
        for fig in ("time_s", "energy_J", "flops", "bytes", "steps"):
            out[f"{phase}.{fig}"] = int(ph.get(fig, 0)) if fig == "steps" else float(ph.get(fig, 0.0))
    return out
