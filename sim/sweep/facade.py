"""``sim.sweep(...)``: run a design-space sweep from Python and get its results table."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sim.sweep.executors import EXECUTORS, Executor, make_executor
from sim.sweep.plan import plan_sweep
from sim.sweep.runner import Event, check_out, execute
from sim.sweep.spec import DEFAULT_HW, RandomSpec, SweepSpec
from sim.sweep.store import load_results
from sim.sweep.values import expand_values


def build_spec(
    hw: str = DEFAULT_HW,
    model: str | None = None,
    *,
    grid: Mapping[str, Any] | None = None,
    zip: Sequence[Mapping[str, Any]] = (),
    random: Mapping[str, Any] | None = None,
    samples: int = 0,
    seed: int = 0,
    overrides: Sequence[str] = (),
    name: str = "",
    **workload: Any,
) -> SweepSpec:
    """A :class:`SweepSpec` from keyword arguments (values as lists or strings such as ``"range(1,9)"``)."""
    wl = {k: v for k, v in workload.items() if v is not None}
    if model is not None:
        wl["model"] = model
    rnd = None
    if random or samples:
        rnd = RandomSpec(samples=samples, seed=seed, keys=dict(random or {}))
    return SweepSpec(
        hw=hw,
        workload=wl,
        overrides=list(overrides),
        grid={k: expand_values(v, k) for k, v in (grid or {}).items()},
        zips=[{k: expand_values(v, k) for k, v in g.items()} for g in zip],
        random=rnd,
        name=name,
    )


def sweep(
    hw: str = DEFAULT_HW,
    model: str | None = None,
    *,
    out: str | os.PathLike[str],
    grid: Mapping[str, Any] | None = None,
    zip: Sequence[Mapping[str, Any]] = (),
    random: Mapping[str, Any] | None = None,
    samples: int = 0,
    seed: int = 0,
    overrides: Sequence[str] = (),
    spec: SweepSpec | str | os.PathLike[str] | None = None,
    workers: int | None = None,
    executor: Executor | str | None = None,
    scheduler: str | None = None,
    dask_local: bool = False,
    resume: bool = False,
    csv: bool = False,
    on_event: Callable[[Event], None] | None = None,
    **workload: Any,
) -> Any:
    """Run a sweep and return its results table (a pandas DataFrame, as :func:`load_results` gives).

    Args:
        hw: hardware preset or YAML path of the base design.
        model: model preset or HF ``config.json`` path (a workload field; default llama-2-7b).
        out: results folder (created; must be empty unless ``resume``).
        grid: key -> values (a list, or a string such as ``"1TB/s,2TB/s"`` or ``"range(1,9)"``); the
            grid axes combine as a Cartesian product.
        zip: groups of keys whose value lists move together.
        random: key -> distribution (``"uniform(1 TB/s, 3 TB/s)"``, ``"randint(1, 64)"``, a list to
            choose from), drawn ``samples`` times with ``seed``.
        overrides: fixed ``key=value`` overrides of the base hardware.
        spec: a :class:`SweepSpec` or a YAML sweep file instead of the arguments above.
        workers: local worker processes (default: one per core; 0 runs in this process).
        executor: an :class:`~sim.sweep.executors.Executor` or ``"serial"``/``"local"``/``"dask-local"``.
        scheduler: a Dask scheduler address (``tcp://HOST:PORT``); ``dask_local`` starts a LocalCluster.
        resume: run only the points missing from ``out``.
        csv: also write ``out/results.csv``.
        on_event: called with an :class:`~sim.sweep.runner.Event` at the start, per finished point,
            and about twice a second.
        **workload: base workload fields: ``batch``, ``prompt``, ``generate`` (tokens), ``dtype``,
            ``weight_dtype``, ``act_dtype``, ``kv_dtype``, ``conventions``, ``routing``, ``seed``...

    Raises:
        sim.errors.PimsimError: bad input (unknown key, bad value, empty grid, unreachable scheduler),
            before any point runs.
        KeyboardInterrupt: after recording every finished point (run again with ``resume=True``).
    """
    if spec is None:
        spec = build_spec(
            hw,
            model,
            grid=grid,
            zip=zip,
            random=random,
            samples=samples,
            seed=seed,
            overrides=overrides,
            **workload,
        )
    elif not isinstance(spec, SweepSpec):
        spec = SweepSpec.from_yaml(Path(spec))
    plan = plan_sweep(spec)
    check_out(out, resume)
    if isinstance(executor, str):
        if executor not in EXECUTORS:
            raise ValueError(f"unknown executor {executor!r}; expected one of {', '.join(EXECUTORS)}")
        executor = EXECUTORS[executor](workers)
    elif executor is None:
        executor = make_executor(workers, scheduler=scheduler, dask_local=dask_local)
    summary = execute(plan, out, executor, resume=resume, on_event=on_event, csv=csv)
    if summary.interrupted:
        raise KeyboardInterrupt
    df = load_results(out)
    df.attrs["summary"] = summary
    return df
