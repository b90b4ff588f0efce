"""Real MoE routing traces: the loader of the BigMoeOnEdge CSV format and a source that replays them.

Format (``route_trace v1``, Helldez/BigMoeOnEdge): ``#`` header lines, then a CSV table::

    # route_trace v1
    # model=... arch=qwen3moe n_layer=48 n_expert=128 n_expert_used=6
    # layer=0 expert_bytes=3059712 dense_bytes=11953152
    turn,phase,step,layer,slot,expert,weight,residency,expert_bytes
    0,0,0,0,0,49,0.221297,0,3059712

one row per (token step, MoE layer, top-k slot): ``phase`` 0 = prefill, 1 = decode; ``step`` counts tokens
(prefill tokens first); ``expert`` is the routed expert, ``weight`` its router weight. Only the routing
(``step``, ``layer``, ``slot``, ``expert``, ``weight``, ``phase``) is used. Prompt tokens whose last
layer(s) the recording engine skipped take the experts of the nearest later token that has them.

Replay (:class:`TraceRouting`): the trace's MoE layers map in order onto the model's MoE layers, whose
number and expert count must match the trace's (:class:`RoutingTraceError` otherwise); the trace's top-k
is used (the shared traces force k = 6 or 2 below the models' defaults). Token ``j`` of a prefill uses
the trace's prefill token ``j mod P``; decode step ``s`` of sequence ``b`` uses decode token
``(s - 1 + 17 b) mod D`` (sequences start at different points of the decode trace).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.errors import TraceError
from sim.workload.routing import Routing


class RoutingTraceError(TraceError):
    """A routing trace that cannot be read, or that does not match the model it is replayed on."""


@dataclass
class RouteTrace:
    """A loaded routing trace: experts ``(tokens, layers, k)`` for the prefill and decode tokens."""

    path: str
    arch: str
    layers: int
    experts: int
    top_k: int
    prefill: np.ndarray
    decode: np.ndarray
    weights_prefill: np.ndarray
    weights_decode: np.ndarray

    def decode_sets(self, layer: int) -> np.ndarray:
        """The decode tokens' expert sets of MoE layer ``layer``: ``(tokens, k)``."""
        return self.decode[:, layer, :]


_HEAD = re.compile(r"(\w+)=(\S+)")
_COLUMNS = ("turn", "phase", "step", "layer", "slot", "expert", "weight", "residency", "expert_bytes")


def load_route_trace(path: str | Path) -> RouteTrace:
    """Read a ``route_trace v1`` CSV; RoutingTraceError names the file and line of a problem."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise RoutingTraceError(f"{p}: routing trace not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise RoutingTraceError(f"{p}: cannot read routing trace ({e})") from None
    meta: dict[str, str] = {}
    rows: list[tuple[int, int, int, int, int, float]] = []
    header_seen = False
    for no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            if "n_layer=" in line:
                meta.update(dict(_HEAD.findall(line)))
            continue
        parts = line.split(",")
        if not header_seen:
            if tuple(x.strip() for x in parts) != _COLUMNS:
                raise RoutingTraceError(f"{p}:{no}: expected the column header {','.join(_COLUMNS)}")
            header_seen = True
            continue
        if len(parts) != len(_COLUMNS):
            raise RoutingTraceError(f"{p}:{no}: {len(parts)} fields; expected {len(_COLUMNS)}")
        try:
            rows.append((int(parts[1]), int(parts[2]), int(parts[3]), int(parts[4]), int(parts[5]),
                         float(parts[6])))
        except ValueError:
            raise RoutingTraceError(f"{p}:{no}: non-numeric field in {line!r}") from None
    if not rows:
        raise RoutingTraceError(f"{p}: no routing rows; expected a route_trace v1 CSV")
    a = np.array([r[:5] for r in rows], dtype=np.int64)
    w = np.array([r[5] for r in rows])
    phase, step, layer, slot, expert = a.T
    layers = int(meta.get("n_layer", layer.max() + 1))
    experts = int(meta.get("n_expert", expert.max() + 1))
    k = int(meta.get("n_expert_used", slot.max() + 1))
    if layer.max() >= layers or slot.max() >= k or expert.max() >= experts or expert.min() < 0:
        raise RoutingTraceError(f"{p}: layer, slot or expert ids exceed the header's n_layer={layers}, "
                                f"n_expert_used={k}, n_expert={experts}")
    steps = np.unique(step)
    tok = np.searchsorted(steps, step)
    n = len(steps)
    ex = np.full((n, layers, k), -1, dtype=np.int64)
    wt = np.zeros((n, layers, k))
    ex[tok, layer, slot] = expert
    wt[tok, layer, slot] = w
    step_phase = np.zeros(n, dtype=np.int64)
    step_phase[tok] = phase
    pre, dec = step_phase == 0, step_phase == 1
    # llama.cpp skips the last layer(s) for prompt tokens whose output is not needed: a missing (token,
    # layer) takes the experts of the nearest later token of the trace that has that layer
    missing = (ex < 0).any(axis=2)
    for lay in np.flatnonzero(missing.any(axis=0)):
        have = np.flatnonzero(~missing[:, lay])
        if not len(have):
            raise RoutingTraceError(f"{p}: no token has experts for layer {lay}; expected every layer routed")
        for t in np.flatnonzero(missing[:, lay]):
            src = have[np.searchsorted(have, t) % len(have)]
            ex[t, lay], wt[t, lay] = ex[src, lay], wt[src, lay]
    return RouteTrace(str(p), meta.get("arch", "?"), layers, experts, k, ex[pre], ex[dec], wt[pre], wt[dec])


class TraceRouting:
    """Replays a :class:`RouteTrace` (see the module docstring for the token mapping)."""

    accepts_sequences = True

    def __init__(self, trace: RouteTrace | str | Path) -> None:
        self.trace = trace if isinstance(trace, RouteTrace) else load_route_trace(trace)
        self.name = f"trace:{self.trace.path}"
        self._moe_index: dict[int, int] | None = None

    def bind(self, model) -> None:  # noqa: ANN001 - a ModelSpec (kept untyped to stay import-light)
        """Check the trace against ``model`` and map its decoder layers to the trace's MoE layers."""
        tr = self.trace
        moe = [i for i in range(model.layers) if model.is_moe_layer(i)]
        if not moe:
            raise RoutingTraceError(f"{tr.path}: a routing trace was given but {model.name} has no MoE layers")
        if len(moe) != tr.layers or model.num_experts != tr.experts:
            raise RoutingTraceError(
                f"{tr.path}: the trace routes {tr.layers} MoE layers over {tr.experts} experts, but "
                f"{model.name} has {len(moe)} MoE layers of {model.num_experts} experts; expected a trace "
                "recorded on this model"
            )
        if tr.top_k > model.num_experts:
            raise RoutingTraceError(f"{tr.path}: top-k {tr.top_k} exceeds the {model.num_experts} experts")
        self._moe_index = {layer: i for i, layer in enumerate(moe)}

    def route(self, layer: int, step: int, tokens: int, num_experts: int, top_k: int, *,
              sequences: int = 1, first_sequence: int = 0) -> Routing:
        """The trace's expert sets for this step's tokens (sequence-major)."""
        tr = self.trace
        if num_experts != tr.experts:
            raise RoutingTraceError(f"{tr.path}: the trace has {tr.experts} experts, the model {num_experts}")
        li = (self._moe_index or {}).get(layer, layer)
        if li >= tr.layers:
            raise RoutingTraceError(f"{tr.path}: the trace has {tr.layers} MoE layers; layer {layer} is beyond")
        if step == 0:
            src = tr.prefill if len(tr.prefill) else tr.decode
            idx = np.arange(tokens) % len(src)
        else:
            src = tr.decode if len(tr.decode) else tr.prefill
            per = max(1, tokens // max(1, sequences))
            seq = np.repeat(np.arange(max(1, sequences)), per)[:tokens] + first_sequence
            idx = (step - 1 + 17 * seq) % len(src)
        assign = src[idx, li, :]
        counts = np.bincount(assign.ravel(), minlength=num_experts)
        c = tuple(int(x) for x in counts)
        return Routing(tokens, tr.top_k, num_experts, float(np.count_nonzero(counts)), c, assign)


__all__ = ["RouteTrace", "RoutingTraceError", "TraceRouting", "load_route_trace"]
