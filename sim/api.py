"""The Python API: load hardware and models, simulate, sweep, plot.

.. code-block:: python

    import sim

    r = sim.simulate("a100-80gb", "gpt2-xl", batch=1, prompt=256, generate=256)
    print(r.latency_s, r.energy_J)                 # seconds, joules
    df = sim.sweep("a100-80gb", "gpt2-xl", prompt=256, generate=256, out="runs/bw",
                   grid={"memory.hbm.bandwidth": "1TB/s,2TB/s,3TB/s"})
    sim.plot.sweep(df, x="memory.hbm.bandwidth", y="latency_s", path="bw.png")

Every name here is re-exported from :mod:`sim` (lazily: ``import sim`` stays fast). :func:`simulate` is a
thin facade over :func:`sim.sweep.evaluate.evaluate`, the one place that calls the engine: the system
engine of ``pimsim run`` (a device is a one-device system), so ``sim.simulate("pim-gpt", "gpt2-xl",
overrides=["pim.channels=16"])`` equals ``pimsim run --hw pim-gpt --set pim.channels=16``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.config import load_hw as _load_hw
from sim.engine.system import resolve_system
from sim.results.records import OpRecord
from sim.results.roofline import Ceilings, OpPlacement, ceilings
from sim.results.summary import SystemRunResult
from sim.sweep import load_results, sweep
from sim.sweep.evaluate import Workload, evaluate, record
from sim.workload.models import ModelSpec
from sim.workload.models import load_model as _load_model

__all__ = ["Result", "Workload", "load_hw", "load_model", "load_results", "plot", "simulate", "sweep"]


def load_hw(ref: str | os.PathLike[str], overrides: Sequence[str] = ()) -> Any:
    """Load and validate a hardware config: a preset name (``"a100-80gb"``) or a YAML path, with
    ``key.path=value`` overrides (``"memory.2.bandwidth=3 TB/s"``). Values are SI after loading."""
    return _load_hw(str(ref), overrides)


def load_model(name_or_path: str | os.PathLike[str]) -> ModelSpec:
    """Load a model: a preset name (``"llama-2-7b"``) or the path of a Hugging Face ``config.json``."""
    return _load_model(name_or_path)


def placement_of(r: OpRecord) -> OpPlacement:
    """An op record of a run as a point on its device's roofline."""
    return OpPlacement(
        name=r.name, kind=r.kind, layer=r.layer, phase=r.phase, flops=r.flops, bytes=r.dram_bytes,
        load_weight_bytes=0.0, load_act_bytes=0.0, store_act_bytes=0.0, load_kv_bytes=0.0, store_kv_bytes=0.0,
        intensity=r.intensity, attained_flops_per_s=r.attained_flops_per_s, bound=r.bound, time_s=r.time_s,
        compute_dtype=r.compute_dtype, level_bytes=r.level_bytes,
    )


@dataclass
class Result:
    """What :func:`simulate` returns: the run, the hardware config, the model and the workload.

    ``hw`` is the validated device config, or for a system the :class:`~sim.engine.system.ResolvedSystem`
    (its config and each device entry's config); ``run`` the system engine's result."""

    hw: Any
    model: ModelSpec
    workload: Workload
    run: SystemRunResult

    @property
    def latency_s(self) -> float:
        """End-to-end latency (prefill + decode), s."""
        return self.run.latency_s

    @property
    def ttft_s(self) -> float:
        """Time to first token (the prefill), s."""
        return self.run.ttft_s

    @property
    def tbt_s(self) -> float:
        """Mean time between tokens over the decode steps, s."""
        return self.run.tbt_s

    @property
    def energy_J(self) -> float:
        """Total energy, J."""
        return self.run.energy_J

    @property
    def device(self) -> str:
        """The device whose roofline :attr:`placements` are on: the one that ran the most FLOPs of the
        prefill and first decode step (the device itself for a one-device run)."""
        flops: dict[str, float] = {}
        for r in self.run.roofline_ops:
            flops[r.device] = flops.get(r.device, 0.0) + r.flops
        return max(flops, key=lambda d: flops[d]) if flops else self.hw.name

    def device_config(self, device: str | None = None) -> Any:
        """The config of ``device`` (default :attr:`device`) as its device model sees it (a PIM device's
        peak and memory come from its PIM memory preset)."""
        from sim.engine.system import build_system

        name = device or self.device
        system = build_system(self.hw)
        if name not in system.devices:
            raise KeyError(f"no device {name!r} in system {system.name!r} ({', '.join(system.devices)})")
        return system.devices[name].config

    @property
    def placements(self) -> list[OpPlacement]:
        """Roofline placements of :attr:`device`'s ops of the prefill and of the first decode step."""
        dev = self.device
        return [placement_of(r) for r in self.run.roofline_ops if r.device == dev]

    def ceilings(self) -> Ceilings:
        """:attr:`device`'s roofline (peak of the ops' compute datatype, one ceiling per memory level)."""
        pl = self.placements
        dtype = pl[0].compute_dtype if pl else self.workload.dtypes().act
        return ceilings(self.device_config(), dtype, self.workload.conventions)

    def record(self) -> dict[str, float]:
        """The flat figures (the result columns of a sweep table)."""
        return record(self.run)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary: the ``pimsim run --json`` keys plus the workload."""
        return {**self.run.to_dict(), "workload": self.workload.to_dict()}

    def to_dataframe(self, by: str = "run") -> Any:
        """A pandas DataFrame: one row of flat figures (``by="run"``, the columns of a sweep table), or
        one row per phase (``by="phase"``: time_s, flops, bytes, steps, energy_J and its components)."""
        import pandas as pd

        if by == "run":
            return pd.DataFrame(
                [
                    {
                        "device": self.run.system,
                        "model": self.run.model,
                        **{f"workload.{k}": v for k, v in self.workload.to_dict().items()},
                        **self.record(),
                    }
                ]
            )
        if by == "phase":
            rows = []
            for name, ph in self.run.phases.items():
                rows.append(
                    {
                        "phase": name,
                        "time_s": ph.time_s,
                        "flops": ph.flops,
                        "bytes": ph.bytes,
                        "ops": ph.ops,
                        "steps": ph.steps,
                        "energy_J": ph.energy_total_J,
                        **{f"energy_J.{k}": v for k, v in ph.energy_J.items()},
                    }
                )
            return pd.DataFrame(rows)
        raise ValueError(f"by must be 'run' or 'phase' (got {by!r})")


def simulate(
    hw: Any,
    model: str | os.PathLike[str] | ModelSpec,
    *,
    batch: int = 1,
    prompt: int = 1024,
    generate: int = 256,
    overrides: Sequence[str] = (),
    dtype: str = "fp16",
    weight_dtype: str | None = None,
    act_dtype: str | None = None,
    kv_dtype: str | None = None,
    conventions: str = "default",
    routing: str = "uniform",
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> Result:
    """Simulate a generation: a prefill of ``prompt`` tokens, then ``generate`` decode steps, for
    ``batch`` sequences of ``model`` on ``hw``.

    Args:
        hw: a device or system preset name or YAML path (with ``overrides``; ``ENTRY.KEY=VALUE`` sets a
            system device's key, e.g. ``pim.channels=16``), or a config from :func:`load_hw`.
        model: a preset name, an HF ``config.json`` path, or a :class:`~sim.workload.models.ModelSpec`.
        batch, prompt, generate: sequences, prompt tokens, generated tokens.
        overrides: ``key.path=value`` hardware overrides (only with a preset name or path).
        dtype: datatype of weights, activations and KV cache; ``weight_dtype``, ``act_dtype``,
            ``kv_dtype`` override it per tensor.
        conventions: accounting conventions (``"default"`` or ``"llm-viewer"``).
        routing, seed: MoE routing source and its seed.
        progress: called with the step number after each step (0 = prefill).

    Raises:
        sim.errors.PimsimError: unknown presets or keys, bad values.
    """
    if isinstance(hw, (str, os.PathLike)):
        config: Any = resolve_system(str(hw), overrides)
        if not config.devices:
            config = config.config  # a device preset: its config
    else:
        if overrides:
            raise TypeError(
                "overrides need a preset name or YAML path; apply them with load_hw(ref, overrides)"
            )
        config = hw
    spec = model if isinstance(model, ModelSpec) else load_model(model)
    workload = Workload(
        model=spec.name,
        batch=batch,
        prompt=prompt,
        generate=generate,
        dtype=dtype,
        weight_dtype=weight_dtype,
        act_dtype=act_dtype,
        kv_dtype=kv_dtype,
        conventions=conventions,
        routing=routing,
        seed=seed,
    ).checked()
    return Result(config, spec, workload, evaluate(config, spec, workload, progress=progress))


def _table(data: Any) -> Any:
    """A sweep table from a DataFrame or a results folder."""
    if isinstance(data, (str, os.PathLike)):
        return load_results(data)
    return data


class Plots:
    """Charts from results (``sim.plot.roofline(...)``, ...); each saves PNG, SVG or PDF by suffix and
    returns the path."""

    def roofline(
        self,
        results: Result | Sequence[Result],
        path: str | Path,
        *,
        phase: str = "both",
        color_by: str = "kind",
        title: str | None = None,
    ) -> Path:
        """The ops of each result's prefill and/or first decode step (``phase``: prefill, decode or
        both) on its device's hierarchical roofline, every device on one chart."""
        from sim.plots.roofline import RooflineSeries, plot_rooflines

        items = [results] if isinstance(results, Result) else list(results)
        phases = ("prefill", "decode") if phase == "both" else (phase,)
        series = [
            RooflineSeries(r.hw.name, [p for p in r.placements if p.phase in phases], r.ceilings())
            for r in items
        ]
        return plot_rooflines(series, path, color_by=color_by, title=title)

    def breakdown(
        self,
        results: Sequence[Result] | Any,
        path: str | Path,
        *,
        label: str | None = None,
        relative: bool = False,
        title: str | None = None,
    ) -> Path:
        """Latency by phase and energy by component, one bar pair per result (or per row of a sweep
        table / results folder, labelled by the column ``label`` or the swept values)."""
        from sim.plots.breakdown import Breakdown, plot_breakdown

        if (
            isinstance(results, Sequence)
            and not isinstance(results, (str, os.PathLike))
            and all(isinstance(r, Result) for r in results)
        ):
            items = [Breakdown.from_record(f"{r.hw.name}\n{r.model.name}", r.record()) for r in results]
        else:
            items = breakdowns_from_table(_table(results), label)
        return plot_breakdown(items, path, relative=relative, title=title)

    def sweep(
        self,
        data: Any,
        x: str,
        y: str,
        path: str | Path,
        *,
        hue: str | None = None,
        where: Mapping[str, Any] | None = None,
        title: str | None = None,
    ) -> Path:
        """``y`` against the swept key ``x`` from a sweep table or results folder."""
        from sim.plots.sweep import plot_sweep_lines

        return plot_sweep_lines(_table(data), x, y, path, hue=hue, filters=where, title=title)

    def heatmap(
        self,
        data: Any,
        x: str,
        y: str,
        z: str,
        path: str | Path,
        *,
        where: Mapping[str, Any] | None = None,
        title: str | None = None,
    ) -> Path:
        """``z`` over two swept keys from a sweep table or results folder."""
        from sim.plots.sweep import plot_heatmap

        return plot_heatmap(_table(data), x, y, z, path, filters=where, title=title)

    def pareto(
        self,
        data: Any,
        path: str | Path,
        *,
        x: str = "latency_s",
        y: str = "energy_J",
        color: str | None = None,
        maximize: Sequence[str] = (),
        where: Mapping[str, Any] | None = None,
        title: str | None = None,
    ) -> Path:
        """The Pareto front of ``x`` vs ``y`` (and ``color`` as a third objective)."""
        from sim.plots.pareto import plot_pareto

        return plot_pareto(
            _table(data), path, x=x, y=y, color=color, maximize=maximize, filters=where, title=title
        )

    def gantt(
        self, trace: str | Path, path: str | Path, *, color_by: str = "cat", title: str | None = None
    ) -> Path:
        """A Gantt chart of a Chrome-trace JSON timeline."""
        from sim.plots.gantt import plot_gantt, read_chrome_trace

        return plot_gantt(read_chrome_trace(trace), path, color_by=color_by, title=title)


def breakdowns_from_table(df: Any, label: str | None = None, limit: int = 40) -> list[Any]:
    """One :class:`~sim.plots.breakdown.Breakdown` per finished row of a sweep table."""
    from sim.errors import PimsimError
    from sim.plots.breakdown import Breakdown
    from sim.plots.common import describe, value_label
    from sim.plots.table import ok_rows, require_columns, swept_keys, varying

    df = ok_rows(df)
    if len(df) > limit:
        raise PimsimError(f"{len(df)} points would make {len(df)} bars; select at most {limit} with --where")
    units = dict(df.attrs.get("units") or {})
    keys = [label] if label else varying(df, swept_keys(df)) or ["run_id"]
    require_columns(df, *keys)
    out = []
    for _, r in df.iterrows():
        name = "\n".join(value_label(r[k], describe(k, units)[1]) for k in keys)
        out.append(Breakdown.from_record(name, r.to_dict()))
    return out


#: Chart functions: ``sim.plot.roofline(...)``, ``sim.plot.sweep(...)``, ...
plot = Plots()
