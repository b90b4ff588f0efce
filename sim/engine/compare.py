"""Comparisons of one system against baselines over several models (``pimsim compare``).

For every model the target system (e.g. ``pim-gpt``) runs the generation on the system engine
(:func:`sim.engine.replay.run_system`); every baseline (a device preset such as ``t4``) runs the same
generation twice:

* **hardware only**: the device model alone (datasheet peaks, no software);
* **with the framework**: the device under its ``framework:`` block (:mod:`sim.devices.framework`: the
  per-operator host overhead of an eager framework at batch 1, as the published baselines were measured).

Both baseline runs use the framework's accounting conventions (its kernels), so their ratio is exactly
the host overhead. Baselines are one-device systems, replayed by :func:`sim.engine.serial.replay_serial`
(the system engine's result for such systems) with one trace per (datatype, conventions) shared by
all of them.

Ratios (baseline / target, over the whole generation: prompt + generated tokens)::

    speedup           = baseline latency / target latency
    energy_efficiency = baseline energy / target energy      (energy per generated token, same tokens)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sim.devices.base import DeviceModel
from sim.devices.framework import FrameworkModel
from sim.engine.replay import run_system
from sim.engine.serial import SerialResult, replay_serial
from sim.engine.system import System, load_system
from sim.errors import ConfigError
from sim.workload.conventions import get_conventions
from sim.workload.dtypes import DTypes
from sim.workload.generator import generate_trace
from sim.workload.models import load_model


@dataclass
class BaselineRun:
    """A baseline device's two runs of one model (``framework`` None when it has no framework block)."""

    name: str
    hardware: SerialResult
    framework: SerialResult | None
    framework_name: str = ""


@dataclass
class ModelComparison:
    """The target's run of one model and every baseline's."""

    model: str
    target: dict[str, Any]
    baselines: list[BaselineRun] = field(default_factory=list)

    def records(self) -> list[dict[str, Any]]:
        """One record per baseline (the ``--json`` schema)."""
        out = []
        t_lat, t_e = self.target["latency_s"], self.target["energy_J"]
        for b in self.baselines:
            fw = b.framework or b.hardware
            out.append({
                "model": self.model,
                "baseline": b.name,
                "speedup": fw.latency_s / t_lat,
                "energy_efficiency": fw.energy_J / t_e,
                "speedup_hardware_only": b.hardware.latency_s / t_lat,
                "energy_efficiency_hardware_only": b.hardware.energy_J / t_e,
                "speedup_decode": (fw.tbt_s / self.target["tbt_s"]) if self.target["tbt_s"] else None,
                "framework": b.framework_name or None,
                "target_latency_s": t_lat,
                "target_energy_J": t_e,
                "target_per_token_latency_s": self.target["tbt_s"],
                "baseline_latency_s": fw.latency_s,
                "baseline_energy_J": fw.energy_J,
                "baseline_per_token_latency_s": fw.tbt_s,
                "baseline_hardware_latency_s": b.hardware.latency_s,
                "baseline_hardware_energy_J": b.hardware.energy_J,
                "framework_time_fraction": (fw.time_by_bound.get("framework", 0.0) / fw.latency_s
                                            if b.framework is not None and fw.latency_s else 0.0),
            })
        return out


def _split(overrides: Sequence[str], names: Sequence[str]) -> tuple[list[str], dict[str, list[str]]]:
    """``NAME.key=value`` overrides of baseline ``NAME``; the rest go to the target system."""
    own: list[str] = []
    per: dict[str, list[str]] = {n: [] for n in names}
    for o in overrides:
        head, _, rest = o.partition(".")
        if head in per and rest:
            per[head].append(rest)
        else:
            own.append(o)
    return own, per


def _baseline_device(system: System, name: str) -> DeviceModel:
    if len(system.devices) != 1 or next(iter(system.devices.values())).streams != 1:
        raise ConfigError(f"baseline {name!r} must be one device with one stream (a device preset such as t4)",
                          key="--baselines", value=name)
    return next(iter(system.devices.values())).model


def compare(
    target: str,
    baselines: Sequence[str],
    models: Sequence[str],
    *,
    prompt: int,
    generate: int,
    dtype: str = "bf16",
    baseline_dtype: str = "fp32",
    conventions: str = "default",
    overrides: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
    jobs: int = 1,
) -> list[ModelComparison]:
    """Run ``models`` on ``target`` and on each baseline (batch 1, ``prompt`` + ``generate`` tokens).

    ``overrides``: ``key=value`` for the target system (``pim.channels=4``), ``BASELINE.key=value`` for a
    baseline (``t4.framework.op_overhead=10us``). ``jobs`` > 1 runs models in that many worker processes
    (results in the order of ``models``)."""
    if not models:
        raise ConfigError("no models to compare", key="--models", expected="a comma-separated list of models")
    for m in models:  # unknown names and bad configs fail before anything runs
        load_model(m)
    own, per = _split(overrides, baselines)
    load_system(target, own)
    for b in baselines:
        _baseline_device(load_system(b, per[b]), b)
    task = dict(target=target, baselines=tuple(baselines), prompt=prompt, generate=generate, dtype=dtype,
                baseline_dtype=baseline_dtype, conventions=conventions, overrides=tuple(overrides))
    if jobs <= 1 or len(models) == 1:
        ctx = _Context(**task)
        return [ctx.run(m, progress) for m in models]
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    order = sorted(range(len(models)), key=lambda i: -load_model(models[i]).param_count()[0])
    out: list[ModelComparison | None] = [None] * len(models)
    method = "fork" if "fork" in mp.get_all_start_methods() else None
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context(method)) as pool:
        futures = {pool.submit(_run_one, task, models[i]): i for i in order}
        for fut, i in futures.items():
            out[i] = fut.result()
            if progress:
                progress(f"{models[i]} done")
    return [c for c in out if c is not None]


def _run_one(task: dict[str, Any], model: str) -> ModelComparison:
    return _Context(**task).run(model, None)


class _Context:
    """The systems of one comparison (loaded once per process) and the run of one model."""

    def __init__(self, *, target: str, baselines: Sequence[str], prompt: int, generate: int, dtype: str,
                 baseline_dtype: str, conventions: str, overrides: Sequence[str]) -> None:
        own, per = _split(overrides, baselines)
        self.system = load_system(target, own)
        self.baselines = list(baselines)
        self.devices = {b: _baseline_device(load_system(b, per[b]), b) for b in baselines}
        self.frameworks = {b: dev.config.framework for b, dev in self.devices.items()}
        self.groups: dict[str, list[str]] = {}
        for b in baselines:
            fw = self.frameworks[b]
            self.groups.setdefault(fw.conventions if fw is not None else conventions, []).append(b)
        self.prompt, self.generate = prompt, generate
        self.dtype, self.baseline_dtype, self.conventions = dtype, baseline_dtype, conventions

    def run(self, model: str, progress: Callable[[str], None] | None) -> ModelComparison:
        """The target's and every baseline's run of ``model``."""
        spec = load_model(model)
        if progress:
            progress(f"{spec.name} on {self.system.name}")
        r = run_system(self.system, spec, 1, self.prompt, self.generate, dtypes=DTypes.uniform(self.dtype),
                       conventions=self.conventions)
        cmp = ModelComparison(spec.name, {"latency_s": r.latency_s, "energy_J": r.energy_J, "tbt_s": r.tbt_s,
                                          "ttft_s": r.ttft_s})
        runs: dict[str, BaselineRun] = {}
        dt = DTypes.uniform(self.baseline_dtype)
        weight_total = spec.param_count()[0] * dt.w.bits / 8
        for conv_name, names in self.groups.items():
            if progress:
                progress(f"{spec.name} on {', '.join(names)}")
            conv = get_conventions(conv_name)
            models_: list[DeviceModel] = []
            for b in names:
                models_.append(self.devices[b])
                if self.frameworks[b] is not None:
                    models_.append(FrameworkModel(self.devices[b], self.frameworks[b]))
            ops = generate_trace(spec, 1, self.prompt, self.generate, dtypes=dt, conventions=conv)
            res = iter(replay_serial(models_, ops, conv, context_tokens=self.prompt + self.generate,
                                     weight_total_bytes=weight_total))
            for b in names:
                hw = next(res)
                fw_run = next(res) if self.frameworks[b] is not None else None
                fw = self.frameworks[b]
                runs[b] = BaselineRun(b, hw, fw_run, fw.name if fw is not None else "")
        cmp.baselines = [runs[b] for b in self.baselines]
        return cmp


__all__ = ["BaselineRun", "ModelComparison", "compare"]
