"""The expert-parallel all-to-all share of MoE-layer time (Speculative MoE's 59 %, docs/interconnect.md).

Speculative MoE (arXiv 2503.04398) reports that in DeepSpeed-MoE's 3-D parallel inference (expert, tensor
and data parallelism) the EP all-to-all takes 59.2 % of the MoE layer's forward time even on 400 GB/s
links (../shared/reference/systems.md section 4; the testbed's GPUs were not retrieved). This module runs a
configuration of that kind through the engine and measures the share two ways:

* **transfer** — the time the all-to-alls (dispatch and combine) move data, over the MoE layer's time on a
  rank (router to combine, summed over layers), averaged over the ranks;
* **as profiled** — the time a rank spends *inside* its all-to-all calls: from the moment the rank itself is
  ready (its router, or its last expert, has finished) to the collective's end. An NCCL all-to-all is a
  synchronous collective: a rank that enters early waits in the call for the slowest peer, and a profiler
  (CUDA events or kernel timelines around ``all_to_all_single``) books that wait as all-to-all time. With
  real routing the expert loads differ between GPUs, so this is the figure a measurement reports.

Nothing here is fitted: the links are the ASTRA-sim validated HGX-H100 switch (400 GB/s, 936.25 ns per hop)
by default or the H800's (``hgx-h800``: 200 GB/s each way, the bidirectional 400 GB/s NVIDIA quotes), the GPUs
the calibrated H100 model, the routing either balanced or the synthetic router calibrated on the
real Qwen3-30B-A3B routing traces (:mod:`sim.workload.routing_synthetic`).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sim.engine.replay import run_system
from sim.engine.system import load_system
from sim.workload.models import load_model

A2A_NAMES = (".moe.dispatch", ".moe.combine_all_to_all")


@dataclass(frozen=True)
class Share:
    """The all-to-all share of one configuration (fractions of MoE-layer time, ranks averaged)."""

    transfer: float  #: all-to-all transfer time / MoE-layer time
    profiled: float  #: time inside the all-to-all calls (waits for the slowest peer included) / MoE-layer time
    moe_layer_s: float  #: mean MoE-layer time per layer, s
    a2a_call_s: float  #: mean transfer time of one all-to-all, s
    imbalance: float  #: busiest rank's expert FLOPs over the mean, per layer, averaged over layers (1 = balanced)


def measure(
    system: str = "hgx-h100-astra",
    model: str = "qwen3-30b-a3b",
    *,
    tp: int = 1,
    ep: int = 8,
    batch: int = 8,
    prompt: int = 512,
    generate: int = 0,
    routing: str = "uniform",
    layers: int = 4,
    seed: int = 0,
    overrides: tuple[str, ...] = (),
) -> Share:
    """Run one step (the prefill, or with ``generate`` > 0 the first decode step) and measure the share.

    ``layers`` truncates the model (the share is per layer; the synthetic router sharpens with depth
    relative to the truncated model's layer count)."""
    m = load_model(model)
    m = dataclasses.replace(m, layers=min(layers, m.layers))
    sysc = load_system(system, [f"parallel.tp={tp}", f"parallel.ep={ep}", *overrides])
    r = run_system(sysc, m, batch, prompt, generate, routing=routing, seed=seed, keep_ops=True)
    step = 1 if generate else 0
    ops = [o for o in r.ops if o.layer >= 0 and ".moe." in o.name and o.step == step]
    by: dict[tuple[str, int], list[Any]] = defaultdict(list)
    for o in ops:
        by[(o.device, o.layer)].append(o)
    span = transfer = inside = 0.0
    rows: dict[tuple[str, int], float] = defaultdict(float)
    calls: dict[str, list[Any]] = defaultdict(list)
    for (dev, layer), recs in by.items():
        span += max(o.end_s for o in recs) - min(o.start_s for o in recs)
        for o in recs:
            if o.name.endswith(A2A_NAMES):
                calls[o.name].append(o)
                # the engine starts a rank's collective record when that rank is ready: the record holds the wait
                inside += o.end_s - o.start_s
            elif o.kind == "expert_linear":
                rows[(dev, layer)] += o.flops
    for recs in calls.values():  # the data moves once every rank has arrived
        transfer += len(recs) * (max(o.end_s for o in recs) - max(o.start_s for o in recs))
    layer_ids = sorted({k[1] for k in by})
    imb = []
    for layer in layer_ids:
        loads = [v for (d, lay), v in rows.items() if lay == layer]
        if loads and sum(loads) > 0:
            imb.append(max(loads) * len(loads) / sum(loads))
    if not by:
        raise ValueError("no MoE-layer ops on the expert-parallel ranks: is the model an MoE and ep > 1?")
    return Share(
        transfer=transfer / span,
        profiled=inside / span,
        moe_layer_s=span / len(by),
        a2a_call_s=transfer / max(1, sum(len(v) for v in calls.values())),
        imbalance=sum(imb) / len(imb) if imb else 1.0,
    )
