"""Expert routing sources for MoE layers.

A routing source answers, for one MoE layer in one step: how many distinct experts do the step's tokens
touch, and (optionally) how many tokens go to each expert. Two sources ship:

``uniform``          the expectation under uniform top-k routing: every token picks k distinct experts of E
                     uniformly, so an expert is untouched by n tokens with probability (1 - k/E)^n and the
                     expected number of distinct experts is ``E·(1 - (1 - k/E)^n)``. No per-expert counts.
``uniform-sampled``  draws each token's k experts uniformly without replacement from a generator seeded by
                     ``(seed, layer, step)``, so a run is reproducible and independent of call order.

``synthetic``        a seeded generator with per-layer popularity skew that sharpens with depth, token-to-expert
                     affinity and temporal locality (:mod:`sim.workload.routing_synthetic`), calibrated to real
                     routing traces (docs/interconnect.md).
``trace:PATH``       replays a real routing trace (:mod:`sim.workload.routing_trace`).

Sources that return ``assignment`` (each token's experts) let expert parallelism size its all-to-all from
the actual routing; sources with ``accepts_sequences = True`` are told how many sequences the tokens
belong to (tokens are sequence-major), and a source with a ``bind(model)`` method is bound to the model
before the first step (a trace checks its layers and experts against it). New sources register a
factory with :func:`register_routing`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from sim.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Routing:
    """Routing of ``tokens`` tokens to ``top_k`` of ``num_experts`` experts in one layer and step.

    ``distinct`` is the (possibly expected, hence fractional) number of experts touched. ``counts`` is
    either None (expectation only) or a tuple of per-expert token counts summing to tokens·top_k;
    ``assignment`` (optional, ``(tokens, top_k)`` ints) gives each token's experts.
    """

    tokens: int
    top_k: int
    num_experts: int
    distinct: float
    counts: tuple[int, ...] | None = None
    assignment: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def pairs(self) -> int:
        """Token-expert assignments (rows through the expert MLPs)."""
        return self.tokens * self.top_k


@runtime_checkable
class RoutingSource(Protocol):
    """Anything that can route a layer's tokens; ``name`` identifies it in trace headers."""

    name: str

    def route(self, layer: int, step: int, tokens: int, num_experts: int, top_k: int) -> Routing:
        """Route ``tokens`` tokens of decoder layer ``layer`` in step ``step`` (0 = prefill)."""
        ...


def expected_distinct(num_experts: int, top_k: int, tokens: int) -> float:
    """Expected number of distinct experts touched by ``tokens`` tokens under uniform top-k routing."""
    if tokens <= 0 or top_k <= 0:
        return 0.0
    return num_experts * (1.0 - (1.0 - top_k / num_experts) ** tokens)


class UniformExpected:
    """Expected distinct experts under uniform routing; no per-expert token counts."""

    name = "uniform"

    def route(self, layer: int, step: int, tokens: int, num_experts: int, top_k: int) -> Routing:
        return Routing(tokens, top_k, num_experts, expected_distinct(num_experts, top_k, tokens))


class UniformSampled:
    """Uniform top-k routing sampled from a generator seeded by (seed, layer, step); tokens' experts kept."""

    name = "uniform-sampled"

    def __init__(self, seed: int = 0) -> None:
        self.seed = int(seed)

    def route(self, layer: int, step: int, tokens: int, num_experts: int, top_k: int) -> Routing:
        rng = np.random.default_rng([self.seed, layer, step])
        counts = np.zeros(num_experts, dtype=np.int64)
        chunk = max(1, (1 << 20) // num_experts)  # bound the random matrix to ~1 M entries
        done = 0
        parts = []
        while done < tokens:
            n = min(chunk, tokens - done)
            # k distinct experts per token: the k smallest of E uniform keys
            keys = rng.random((n, num_experts))
            picks = np.argpartition(keys, top_k - 1, axis=1)[:, :top_k]
            counts += np.bincount(picks.ravel(), minlength=num_experts)
            parts.append(picks)
            done += n
        c = tuple(int(x) for x in counts)
        assign = np.concatenate(parts) if parts else np.zeros((0, top_k), dtype=np.int64)
        return Routing(tokens, top_k, num_experts, float(sum(1 for x in c if x)), c, assign)


ROUTING_SOURCES: dict[str, Callable[..., RoutingSource]] = {
    "uniform": lambda seed=0: UniformExpected(),
    "uniform-sampled": lambda seed=0: UniformSampled(seed),
}


def _synthetic(seed: int = 0) -> RoutingSource:
    from sim.workload.routing_synthetic import SyntheticRouting

    return SyntheticRouting(seed=seed)


ROUTING_SOURCES["synthetic"] = _synthetic


def register_routing(name: str, factory: Callable[..., RoutingSource]) -> None:
    """Register a routing-source factory called as ``factory(seed=...)``."""
    ROUTING_SOURCES[name] = factory


def get_routing(source: str | RoutingSource, *, seed: int = 0) -> RoutingSource:
    """Resolve a routing source by name (or pass an instance through); ConfigError on unknown names."""
    if not isinstance(source, str):
        if not isinstance(source, RoutingSource):
            raise ConfigError("not a routing source", key="routing", value=source,
                              expected="a name or an object with .name and .route()")
        return source
    if source.startswith("trace:"):
        from sim.workload.routing_trace import TraceRouting

        return TraceRouting(source[len("trace:"):])
    if source not in ROUTING_SOURCES:
        near = difflib.get_close_matches(source, ROUTING_SOURCES, n=3)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        raise ConfigError(f"unknown routing source{hint}", key="routing", value=source,
                          expected="one of " + ", ".join(ROUTING_SOURCES) + ", or trace:PATH")
    return ROUTING_SOURCES[source](seed=seed)
