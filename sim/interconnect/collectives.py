"""Collectives: alpha-beta formulas and send schedules (ring, halving-doubling, tree, direct, hierarchical).

Sizes: ``n`` is the message size per rank in bytes, as NCCL counts it:

* ``all_reduce``: the buffer each rank contributes and receives reduced;
* ``all_gather``: the gathered result on each rank (each contributes n/p);
* ``reduce_scatter``: the input of each rank (each keeps n/p reduced);
* ``all_to_all``: what each rank holds before the exchange, n/p for every rank (itself included); an
  uneven exchange gives a p x p byte matrix instead (row: sender, column: receiver);
* ``broadcast``: the root's buffer.

Formulas (Thakur, Rabenseifner and Gropp 2005; the ASTRA-sim system layer), with ``a`` the latency of
one step (route latency + software step latency) and ``b`` the bottleneck bandwidth (B/s)::

    all_reduce      ring               2(p-1) a + 2(p-1)/p n/b
                    halving-doubling   2 log2(p) a + 2(p-1)/p n/b          (p a power of two)
                    tree               2 ceil(log2 p) a + 2 n/b            (pipelined double binary tree)
                    hierarchical       intra reduce-scatter + inter all-reduce of n/G + intra all-gather
    all_gather,     ring               (p-1) a + (p-1)/p n/b
    reduce_scatter  hierarchical       (G-1) a1 + (G-1)/G n/b1 + (N-1) a2 + (N-1)/N n/(G b2)
                                       (reduce-scatter within nodes then across; all-gather the reverse)
    all_to_all      direct             (p-1) a + max_i max(sent_i, received_i) / b   (uniform: (p-1)/p n/b)
                    hierarchical       intra (G-1) a1 + (G-1)/G n/b1, then inter (N-1) a2 + (N-1)/N n/b2
    broadcast       tree               ceil(log2 p) (a + n/b)                 (binomial tree)
                    ring               (p-1) a + n/b                        (pipelined chain)

A *schedule* is the same algorithm as a list of :class:`Send` (rank to rank, bytes, and the sends that
must finish first: the data it forwards and the rank's own previous send), which the contention mode
runs chunk by chunk on the links. Run without contention, a schedule takes exactly its formula (tests).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

KINDS = ("all_reduce", "all_gather", "reduce_scatter", "all_to_all", "broadcast")
ALGORITHMS: dict[str, tuple[str, ...]] = {
    "all_reduce": ("ring", "halving-doubling", "tree", "hierarchical"),
    "all_gather": ("ring", "hierarchical"),
    "reduce_scatter": ("ring", "hierarchical"),
    "all_to_all": ("direct", "hierarchical"),
    "broadcast": ("tree", "ring"),
}
DEFAULT_ALGORITHM = {"all_reduce": "ring", "all_gather": "ring", "reduce_scatter": "ring",
                     "all_to_all": "direct", "broadcast": "tree"}
#: pipeline segments of the tree all-reduce schedule (the formula is the limit of infinitely many)
TREE_SEGMENTS = 8


@dataclass(frozen=True, slots=True)
class Send:
    """One message of a schedule: ``src`` rank to ``dst`` rank, ``bytes``; starts after ``deps`` finish."""

    src: int
    dst: int
    bytes: float
    deps: tuple[int, ...] = ()
    stage: int = 0  #: 0 intra-node (or flat), 1 inter-node (hierarchical algorithms)


# --------------------------------------------------------------------------------------------------
# formulas
# --------------------------------------------------------------------------------------------------
def ring_all_reduce(n: float, p: int, a: float, b: float) -> float:
    """2(p-1) a + 2(p-1)/p n/b, s."""
    return 0.0 if p <= 1 else 2 * (p - 1) * a + 2 * (p - 1) / p * n / b


def halving_doubling_all_reduce(n: float, p: int, a: float, b: float) -> float:
    """2 log2(p) a + 2(p-1)/p n/b, s."""
    return 0.0 if p <= 1 else 2 * math.log2(p) * a + 2 * (p - 1) / p * n / b


def tree_all_reduce(n: float, p: int, a: float, b: float) -> float:
    """2 ceil(log2 p) a + 2 n/b (pipelined binary tree), s."""
    return 0.0 if p <= 1 else 2 * math.ceil(math.log2(p)) * a + 2 * n / b


def ring_gather_scatter(n: float, p: int, a: float, b: float) -> float:
    """All-gather or reduce-scatter on a ring: (p-1) a + (p-1)/p n/b, s."""
    return 0.0 if p <= 1 else (p - 1) * a + (p - 1) / p * n / b


def direct_all_to_all(n: float, p: int, a: float, b: float) -> float:
    """(p-1) a + (p-1)/p n/b, s."""
    return 0.0 if p <= 1 else (p - 1) * a + (p - 1) / p * n / b


def direct_all_to_all_matrix(matrix: Sequence[Sequence[float]], a: float, b: float) -> float:
    """Uneven direct all-to-all: (p-1) a + the busiest rank's larger of bytes sent and received / b, s."""
    p = len(matrix)
    if p <= 1:
        return 0.0
    heaviest = max(
        max(sum(matrix[i][j] for j in range(p) if j != i), sum(matrix[j][i] for j in range(p) if j != i))
        for i in range(p)
    )
    return (p - 1) * a + heaviest / b


def tree_broadcast(n: float, p: int, a: float, b: float) -> float:
    """Binomial tree: ceil(log2 p)(a + n/b), s."""
    return 0.0 if p <= 1 else math.ceil(math.log2(p)) * (a + n / b)


def ring_broadcast(n: float, p: int, a: float, b: float) -> float:
    """Pipelined chain: (p-1) a + n/b, s."""
    return 0.0 if p <= 1 else (p - 1) * a + n / b


def formula(kind: str, algorithm: str, n: float, p: int, a: float, b: float) -> float:
    """Time of a flat (one-level) collective, s."""
    table = {
        ("all_reduce", "ring"): ring_all_reduce,
        ("all_reduce", "halving-doubling"): halving_doubling_all_reduce,
        ("all_reduce", "tree"): tree_all_reduce,
        ("all_gather", "ring"): ring_gather_scatter,
        ("reduce_scatter", "ring"): ring_gather_scatter,
        ("all_to_all", "direct"): direct_all_to_all,
        ("broadcast", "tree"): tree_broadcast,
        ("broadcast", "ring"): ring_broadcast,
    }
    return table[(kind, algorithm)](n, p, a, b)


def hierarchical(kind: str, n: float, g: int, nodes: int, a1: float, b1: float, a2: float, b2: float) -> float:
    """Two-level collective over ``nodes`` nodes of ``g`` ranks each (intra: a1, b1; inter: a2, b2), s."""
    if kind == "all_reduce":
        return (2 * ring_gather_scatter(n, g, a1, b1) + ring_all_reduce(n / g, nodes, a2, b2))
    if kind in ("all_gather", "reduce_scatter"):
        return ring_gather_scatter(n, g, a1, b1) + ring_gather_scatter(n / g, nodes, a2, b2)
    if kind == "all_to_all":
        return direct_all_to_all(n, g, a1, b1) + direct_all_to_all(n, nodes, a2, b2)
    raise ValueError(f"no hierarchical {kind}")


def volume_per_rank(kind: str, algorithm: str, n: float, p: int) -> float:
    """Bytes each rank sends (flat algorithms), B."""
    if p <= 1:
        return 0.0
    if kind == "all_reduce":
        return 2 * n if algorithm == "tree" else 2 * (p - 1) / p * n
    if kind in ("all_gather", "reduce_scatter", "all_to_all"):
        return (p - 1) / p * n
    return n  # broadcast: the root's sends dominate


# --------------------------------------------------------------------------------------------------
# schedules
# --------------------------------------------------------------------------------------------------
class _Builder:
    def __init__(self) -> None:
        self.sends: list[Send] = []
        self.last: dict[int, int] = {}  # rank -> index of its last send

    def send(self, src: int, dst: int, nbytes: float, deps: Sequence[int | None] = (), stage: int = 0) -> int:
        d = {x for x in deps if x is not None}
        own = self.last.get(src)
        if own is not None:
            d.add(own)
        self.sends.append(Send(src, dst, nbytes, tuple(sorted(d)), stage))
        idx = len(self.sends) - 1
        self.last[src] = idx
        return idx


def _ring(b: _Builder, ranks: Sequence[int], steps: int, size: float, recv: dict[int, int | None],
          stage: int = 0) -> dict[int, int | None]:
    """``steps`` ring steps: each rank sends ``size`` to its successor after receiving from its predecessor."""
    p = len(ranks)
    for _ in range(steps):
        new: dict[int, int | None] = {}
        for i, r in enumerate(ranks):
            nxt = ranks[(i + 1) % p]
            new[nxt] = b.send(r, nxt, size, (recv.get(r),), stage)
        recv = new
    return recv


def _ring_schedule(kind: str, ranks: Sequence[int], n: float) -> list[Send]:
    p = len(ranks)
    b = _Builder()
    steps = 2 * (p - 1) if kind == "all_reduce" else p - 1
    _ring(b, ranks, steps, n / p, {})
    return b.sends


def _halving_doubling(ranks: Sequence[int], n: float) -> list[Send]:
    p = len(ranks)
    if p & (p - 1):
        raise ValueError(f"halving-doubling needs a power-of-two group, got {p} ranks")
    b = _Builder()
    recv: dict[int, int | None] = {}
    size = n
    dists = [p >> (s + 1) for s in range(int(math.log2(p)))]
    for d in dists:  # reduce-scatter by recursive halving
        size /= 2
        new: dict[int, int | None] = {}
        for i, r in enumerate(ranks):
            q = ranks[i ^ d]
            new[q] = b.send(r, q, size, (recv.get(r),))
        recv = new
    for d in reversed(dists):  # all-gather by recursive doubling
        new = {}
        for i, r in enumerate(ranks):
            q = ranks[i ^ d]
            new[q] = b.send(r, q, size, (recv.get(r),))
        recv = new
        size *= 2
    return b.sends


def _tree(ranks: Sequence[int], n: float, segments: int) -> list[Send]:
    """Binary tree (rank i's children 2i+1, 2i+2), reduce to the root then broadcast, ``segments`` pipelined."""
    p = len(ranks)
    b = _Builder()
    seg = n / segments
    children = {i: [c for c in (2 * i + 1, 2 * i + 2) if c < p] for i in range(p)}
    order = sorted(range(p), key=lambda i: -_depth(i))  # deepest first
    up: dict[tuple[int, int], int] = {}  # (child index, segment) -> send to its parent
    for s in range(segments):
        for i in order:
            if i == 0:
                continue
            deps = [up[(c, s)] for c in children[i]]
            up[(i, s)] = b.send(ranks[i], ranks[(i - 1) // 2], seg, deps)
    down: dict[tuple[int, int], int] = {}  # (child index, segment) -> send from its parent
    for s in range(segments):
        for i in sorted(range(p), key=_depth):
            for c in children[i]:
                if i == 0:
                    deps = [up[(x, s)] for x in children[0]]
                else:
                    deps = [down[(i, s)]]
                down[(c, s)] = b.send(ranks[i], ranks[c], seg, deps)
    return b.sends


def _depth(i: int) -> int:
    return int(math.floor(math.log2(i + 1)))


def _direct(ranks: Sequence[int], matrix: Sequence[Sequence[float]], stage: int = 0,
            b: _Builder | None = None, after: dict[int, list[int]] | None = None) -> _Builder:
    p = len(ranks)
    b = b or _Builder()
    for s in range(1, p):
        for i, r in enumerate(ranks):
            j = (i + s) % p
            deps = (after or {}).get(r, []) if s == 1 else []
            b.send(r, ranks[j], matrix[i][j], deps, stage)
    return b


def _binomial(ranks: Sequence[int], n: float) -> list[Send]:
    p = len(ranks)
    b = _Builder()
    have: dict[int, int | None] = {0: None}
    step = 1
    while step < p:
        for i in sorted(have):
            j = i + step
            if j < p and j not in have:
                have[j] = b.send(ranks[i], ranks[j], n, (have[i],))
        step *= 2
    return b.sends


def _chain(ranks: Sequence[int], n: float, segments: int) -> list[Send]:
    b = _Builder()
    prev: dict[int, int] = {}
    for s in range(segments):
        for i in range(len(ranks) - 1):
            deps = [prev[(i - 1) * segments + s]] if i > 0 else []
            prev[i * segments + s] = b.send(ranks[i], ranks[i + 1], n / segments, deps)
    return b.sends


def _uniform(p: int, n: float) -> list[list[float]]:
    return [[n / p] * p for _ in range(p)]


def schedule(kind: str, algorithm: str, ranks: Sequence[int], n: float = 0.0,
             matrix: Sequence[Sequence[float]] | None = None, groups: Sequence[Sequence[int]] | None = None,
             segments: int = TREE_SEGMENTS) -> list[Send]:
    """The sends of one collective over ``ranks`` (node groups ``groups`` for hierarchical algorithms)."""
    p = len(ranks)
    if p <= 1:
        return []
    if algorithm == "hierarchical":
        return _hierarchical(kind, ranks, n, matrix, groups or [list(ranks)])
    if kind == "all_to_all":
        return _direct(ranks, matrix or _uniform(p, n)).sends
    if kind == "broadcast":
        return _binomial(ranks, n) if algorithm == "tree" else _chain(ranks, n, segments)
    if algorithm == "ring":
        return _ring_schedule(kind, ranks, n)
    if algorithm == "halving-doubling":
        return _halving_doubling(ranks, n)
    if algorithm == "tree":
        return _tree(ranks, n, segments)
    raise ValueError(f"unknown algorithm {algorithm!r} for {kind}")


def _hierarchical(kind: str, ranks: Sequence[int], n: float, matrix: Sequence[Sequence[float]] | None,
                  groups: Sequence[Sequence[int]]) -> list[Send]:
    """Two stages: within each node group, then across groups between ranks of equal local index."""
    g = len(groups[0])
    nodes = len(groups)
    b = _Builder()
    idx = {r: i for i, r in enumerate(ranks)}
    rails = [[grp[j] for grp in groups] for j in range(g)]
    if kind == "all_to_all":
        p = len(ranks)
        m = matrix or _uniform(p, n)
        # stage 1: rank (a, i) sends to (a, j) everything bound for local index j on any node
        for grp in groups:
            inner = [[0.0] * g for _ in range(g)]
            for i, src in enumerate(grp):
                for j in range(g):
                    inner[i][j] = sum(m[idx[src]][idx[rails[j][k]]] for k in range(nodes))
            _direct(grp, inner, 0, b)
        recv1 = _received(b)
        # stage 2: rank (a, j) sends to (c, j) what its node holds for (c, j)
        for rail in rails:
            outer = [[0.0] * nodes for _ in range(nodes)]
            for a_ in range(nodes):
                for c, dst in enumerate(rail):
                    outer[a_][c] = sum(m[idx[groups[a_][i]]][idx[dst]] for i in range(g))
            _direct(rail, outer, 1, b, {r: recv1.get(r, []) for r in rail})
        return b.sends
    if kind in ("all_reduce", "reduce_scatter", "all_gather"):
        recv: dict[int, int | None] = {}
        inner_steps = g - 1
        if kind in ("all_reduce", "reduce_scatter"):
            for grp in groups:
                recv.update(_ring(b, grp, inner_steps, n / g, {}, 0))
            inter = n / g
            steps = 2 * (nodes - 1) if kind == "all_reduce" else nodes - 1
            for rail in rails:
                recv.update(_ring(b, rail, steps, inter / nodes, {r: recv.get(r) for r in rail}, 1))
            if kind == "all_reduce":
                for grp in groups:
                    _ring(b, grp, inner_steps, n / g, {r: recv.get(r) for r in grp}, 0)
            return b.sends
        for rail in rails:  # all_gather: across nodes first (n/p pieces), then within (n/g pieces)
            recv.update(_ring(b, rail, nodes - 1, n / (g * nodes), {}, 1))
        for grp in groups:
            _ring(b, grp, inner_steps, n / g, {r: recv.get(r) for r in grp}, 0)
        return b.sends
    raise ValueError(f"no hierarchical {kind}")


def _received(b: _Builder) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for i, s in enumerate(b.sends):
        out.setdefault(s.dst, []).append(i)
    return out


__all__ = [
    "ALGORITHMS", "DEFAULT_ALGORITHM", "KINDS", "Send", "TREE_SEGMENTS", "direct_all_to_all",
    "direct_all_to_all_matrix", "formula", "halving_doubling_all_reduce", "hierarchical", "ring_all_reduce",
    "ring_broadcast", "ring_gather_scatter", "schedule", "tree_all_reduce", "tree_broadcast",
    "volume_per_rank",
]
