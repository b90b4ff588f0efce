"""The entry point of a system simulation: a model's generation (or a stored trace) on a system.

:func:`run_system` generates the trace lazily (prefill, then ``generate`` decode steps), replays it on
the system with :class:`~sim.engine.simulator.Simulator` and returns a
:class:`~sim.results.summary.SystemRunResult`; with ``timeline`` it also writes a Chrome trace.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from sim.devices.base import signature
from sim.engine.simulator import Simulator
from sim.engine.system import System
from sim.placement.parallel import ParallelPolicy
from sim.results.summary import SystemRunResult
from sim.workload.conventions import Conventions, get_conventions
from sim.workload.dtypes import DTypes
from sim.workload.generator import generate_trace
from sim.workload.models import ModelSpec, load_model
from sim.workload.parallel import Parallel
from sim.workload.trace import Op


def _progress(ops: Iterable[Op], progress: Callable[[int], None] | None) -> Iterator[Op]:
    last = -1
    for op in ops:
        if progress and op.step != last:
            if last >= 0:
                progress(last)
            last = op.step
        yield op
    if progress and last >= 0:
        progress(last)


def _stored_weights(m: ModelSpec, par: Parallel) -> float:
    """Parameters stored over the devices the trace's ops run on (for the memory check): every replica holds
    the non-expert weights, experts are stored once per stage when sharded (EP), and a symmetric run
    represents one tensor-parallel rank of one replica."""
    total = m.param_count()[0]
    if not par.active:
        return total
    experts = sum(m.num_experts * m.expert_params() for i in range(m.layers) if m.is_moe_layer(i))
    if par.symmetric:
        return total / par.tp
    if par.ep > 1:
        return (total - experts) * par.dp + experts
    return total * par.dp


#: Largest trace (ops) :func:`cached_trace` keeps in memory (about 0.6 kB per op).
TRACE_CACHE_OPS = 400_000
_trace_cache: dict[tuple, tuple[list[Op], dict[int, int]]] = {}


def cached_trace(
    spec: ModelSpec,
    batch: int,
    prompt: int,
    generate: int,
    *,
    dtypes: DTypes,
    conventions: Conventions,
    routing: str,
    seed: int,
    parallel: Parallel | None,
) -> Iterable[Op]:
    """The generated trace of a workload, kept in memory for the next run of the same workload (one trace
    is kept, the most recent, if it has at most :data:`TRACE_CACHE_OPS` ops; a longer one is generated
    lazily and not kept). Ops are never modified by the engine, so a kept trace replays exactly as a new
    one; sweeps of hardware keys reuse it from point to point."""
    key = (repr(spec), batch, prompt, generate, repr(dtypes), conventions.name, routing, seed, repr(parallel))
    hit = _trace_cache.get(key)
    if hit is not None:
        return hit[0]
    ops = generate_trace(spec, batch, prompt, generate, dtypes=dtypes, conventions=conventions,
                         routing=routing, seed=seed, parallel=parallel)
    kept: list[Op] = []
    for op in ops:
        kept.append(op)
        if len(kept) > TRACE_CACHE_OPS:
            return itertools.chain(kept, ops)
    numbers: dict[tuple, int] = {}
    sigs = {id(op): numbers.setdefault(signature(op, True), len(numbers)) for op in kept}
    _trace_cache.clear()
    _trace_cache[key] = (kept, sigs)
    return kept


def trace_signatures(ops: Iterable[Op]) -> dict[int, int] | None:
    """``id(op) -> signature number`` for a trace kept by :func:`cached_trace` (None for any other): ops
    with the same number have the same :func:`~sim.devices.base.signature` (launches follow from the op
    kind), so the engine looks up their cost once per device and number."""
    for kept, sigs in _trace_cache.values():
        if kept is ops:
            return sigs
    return None


def run_system(
    system: System,
    model: ModelSpec | str | None,
    batch: int,
    prompt: int,
    generate: int,
    *,
    dtypes: DTypes | None = None,
    conventions: Conventions | str = "default",
    routing: str = "uniform",
    seed: int = 0,
    keep_ops: bool = False,
    timeline: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
    ops: Iterable[Op] | None = None,
    cache_trace: bool = False,
    serial: bool = True,
) -> SystemRunResult:
    """Simulate prefill + ``generate`` decode steps of ``model`` on ``system``.

    ``ops`` replays a given trace instead of generating one (``model`` may then be None; the workload
    figures are labels, and the memory check uses the weights the trace's first step reads). The
    system's ``parallel`` split (tp, pp, ep, dp) shapes the generated trace.
    ``progress(step)`` is called as each step has been handed to the engine. ``cache_trace`` keeps the
    generated trace for the next run of the same workload (:func:`cached_trace`; sweeps use it).
    ``serial=False`` replays every step on the event queue, never on the exact serial fast path
    (:meth:`~sim.engine.simulator.Simulator._simulate_serial`; tests compare the two).
    """
    conv = get_conventions(conventions)
    spec = load_model(model) if isinstance(model, str) else model
    dt = dtypes or DTypes()
    weight_total = None
    par = system.parallel
    if spec is not None and isinstance(system.policy, ParallelPolicy):
        system.policy.num_experts = spec.num_experts or None
    if ops is None:
        if spec is None:
            raise ValueError("run_system needs a model or a trace")
        if cache_trace:
            ops = cached_trace(spec, batch, prompt, generate, dtypes=dt, conventions=conv, routing=routing,
                               seed=seed, parallel=par if par.active else None)
        else:
            ops = generate_trace(
                spec, batch, prompt, generate, dtypes=dt, conventions=conv, routing=routing, seed=seed,
                parallel=par if par.active else None,
            )
        weight_total = _stored_weights(spec, par) * dt.w.bits / 8
    sim = Simulator(system, conv, keep_ops=keep_ops, timeline=timeline is not None, serial=serial,
                    signatures=trace_signatures(ops))
    result = sim.run(
        _progress(ops, progress),
        model_name=spec.name if spec else "trace",
        batch=batch,
        prompt=prompt,
        generate=generate,
        context_tokens=prompt + generate,
        weight_total_bytes=weight_total,
    )
    if timeline is not None and sim.trace is not None:
        result.timeline = str(sim.trace.write(timeline))
    return result
