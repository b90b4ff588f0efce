"""The network of a system: transfers and collectives on its topology, in one of two modes.

``analytic`` (ASTRA-sim's congestion-unaware backend)
    a transfer takes ``sum of hop latencies + bytes / bottleneck bandwidth`` and never waits for another;
    a collective takes ``launch`` + its alpha-beta formula (:mod:`sim.interconnect.collectives`) with
    ``a = step_latency + the largest route latency between ranks that exchange data`` and ``b = the smallest
    route bandwidth between them x efficiency`` (hierarchical algorithms: one pair per level).
``contention``
    transfers and the sends of a collective's schedule are cut into chunks (``chunk``) that queue FIFO per
    link direction (:mod:`sim.interconnect.contention`), so concurrent traffic shares links; a collective
    takes ``launch`` + its schedule, each send starting ``step_latency`` after the sends it depends on.

Both modes report each message's bytes, energy (bytes x 8 x J/bit of every link crossed) and the time
each link direction spends serialising (utilisation) to an observer (the replay engine).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import simpy

from sim.config.hardware import NetworkSpec
from sim.interconnect import collectives as coll
from sim.interconnect.contention import HopSpan, LinkQueues
from sim.interconnect.topology import Hop, LinkInstance, Topology, TopologyError


class NetworkObserver(Protocol):
    """What the network reports (the engine implements it)."""

    def hop(self, label: str, span: HopSpan, energy_J: float, collective: bool) -> None:
        """One message crossed one link (``span``: first start, last arrival, bytes, first wait)."""

    def busy(self, key: tuple[str, int], delta: int) -> None:
        """A link direction started (+1) or stopped (-1) serialising."""

    def queue(self, link: LinkInstance, direction: int, delta: int) -> None:
        """A chunk joined (+1) or left (-1) the queue of a link direction."""

    def traffic(self, label: str, link: LinkInstance, direction: int, nbytes: float, energy_J: float,
                start_s: float, busy_s: float) -> None:
        """Analytic mode: a collective moved ``nbytes`` over a link direction, serialising ``busy_s`` from
        ``start_s`` (no queueing: busy times of overlapping collectives add up)."""


@dataclass
class CollectiveStats:
    """One collective as it ran: kind, algorithm, ranks, message size per rank (B), start and duration (s),
    bytes injected into the network (B), energy (J) and the formula's alpha (s) and bandwidth (B/s)."""

    name: str
    kind: str
    algorithm: str
    ranks: int
    size: float
    start_s: float = 0.0
    time_s: float = 0.0
    bytes: float = 0.0
    energy_J: float = 0.0
    alpha_s: float = 0.0
    bandwidth: float = 0.0
    link_bytes: dict[str, float] = field(default_factory=dict)


@dataclass
class _Plan:
    algorithm: str
    groups: list[list[int]] | None
    alpha: tuple[float, float]  # intra / inter (flat: both the same)
    beta: tuple[float, float]
    routes: dict[tuple[int, int], list[Hop]]
    unit_links: dict[tuple[str, int], float] | None  # link direction -> bytes per byte of n (uniform sizes)


class Network:
    """Transfers and collectives of one replay on ``topology`` (the engine owns ``env``)."""

    def __init__(self, env: simpy.Environment, topology: Topology, spec: NetworkSpec | None = None,
                 observer: NetworkObserver | None = None) -> None:
        self.env = env
        self.topology = topology
        self.spec = spec or NetworkSpec()
        self.observer = observer
        self.queues = LinkQueues(
            env, topology.links,
            on_busy=observer.busy if observer else None,
            on_queue=observer.queue if observer else None,
        )
        self._plans: dict[tuple, _Plan] = {}
        self._links = {ln.name: ln for ln in topology.links}

    @property
    def mode(self) -> str:
        """``analytic`` or ``contention``."""
        return self.spec.mode

    # ------------------------------------------------------------------ point to point
    def transfer(self, src: str, dst: str, nbytes: float, label: str, why: str = "data moves between them"):
        """simpy process body: move ``nbytes`` from ``src`` to ``dst`` (returns the hop spans)."""
        hops = self.topology.require_route(src, dst, why)
        spans = yield from self._message(hops, src, nbytes, 1.0)
        self._report(label, spans, collective=False)
        return spans

    def _message(self, hops: Sequence[Hop], src: str, nbytes: float, factor: float):
        if self.mode == "contention":
            spans = yield from self.queues.message(hops, src, nbytes, self.spec.chunk, factor)
            return spans
        env = self.env
        now = env.now
        bw = self.topology.path_bandwidth(hops) * factor
        total = self.topology.path_latency(hops) + (nbytes / bw if hops and nbytes > 0 else 0.0)
        spans = []
        here = src
        for ln, d in hops:
            ser = ln.model.serialization_time(nbytes) / factor
            spans.append(HopSpan(ln, d, here, now, now + ser + ln.latency, nbytes, 0.0))
            self._busy_window((ln.name, d), ser)
            here = ln.other(here)
        if total > 0:
            yield env.timeout(total)
        return spans

    def _busy_window(self, key: tuple[str, int], dur: float) -> None:
        if self.observer is None or dur <= 0:
            return
        obs = self.observer

        def proc():
            obs.busy(key, 1)
            yield self.env.timeout(dur)
            obs.busy(key, -1)

        self.env.process(proc())

    def _report(self, label: str, spans: Sequence[HopSpan], collective: bool) -> float:
        energy = 0.0
        for sp in spans:
            e = sp.link.model.energy(sp.bytes)
            energy += e
            if self.observer is not None and sp.bytes > 0:
                self.observer.hop(label, sp, e, collective)
        return energy

    # ------------------------------------------------------------------ collectives
    def algorithm_for(self, kind: str, devices: Sequence[str]) -> str:
        """The configured algorithm of ``kind``; by default hierarchical when ``devices`` span several
        equal node groups, else ring (all-reduce, all-gather, reduce-scatter), direct, tree (broadcast)."""
        if kind not in coll.KINDS:
            raise TopologyError(f"unknown collective {kind!r}; expected one of {', '.join(coll.KINDS)}")
        algo = self.spec.collective.algorithms.get(kind)
        if algo is not None:
            if algo not in coll.ALGORITHMS[kind]:
                raise TopologyError(f"network.collective.algorithms.{kind}: unknown algorithm {algo!r}; "
                                    f"expected one of {', '.join(coll.ALGORITHMS[kind])}")
            if algo == "hierarchical" and self._groups(devices) is None:
                return coll.DEFAULT_ALGORITHM[kind]
            if algo == "halving-doubling" and len(devices) & (len(devices) - 1):
                return "ring"
            return algo
        if kind != "broadcast" and self._groups(devices) is not None:
            return "hierarchical"
        return coll.DEFAULT_ALGORITHM[kind]

    def _groups(self, devices: Sequence[str]) -> list[list[int]] | None:
        """Rank indices grouped by node, when the group spans >= 2 nodes of equal size >= 2."""
        by: dict[int, list[int]] = defaultdict(list)
        for i, d in enumerate(devices):
            by[self.topology.group_of(d)].append(i)
        groups = list(by.values())
        if len(groups) < 2 or len({len(g) for g in groups}) != 1 or len(groups[0]) < 2:
            return None
        return groups

    def _plan(self, kind: str, devices: tuple[str, ...], matrix: bool) -> _Plan:
        key = (kind, devices, matrix)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        algo = self.algorithm_for(kind, devices)
        p = len(devices)
        groups = self._groups(devices) if algo == "hierarchical" else None
        sends = coll.schedule(kind, algo, list(range(p)), 1.0, None, groups)
        routes: dict[tuple[int, int], list[Hop]] = {}
        lat = [0.0, 0.0]
        bw = [math.inf, math.inf]
        for s in sends:
            pair = (s.src, s.dst)
            if pair not in routes:
                hops = self.topology.require_route(
                    devices[s.src], devices[s.dst],
                    f"a {kind} spans {', '.join(devices)}",
                )
                routes[pair] = hops
                lat[s.stage] = max(lat[s.stage], self.topology.path_latency(hops))
                bw[s.stage] = min(bw[s.stage], self.topology.path_bandwidth(hops))
        if algo != "hierarchical":
            lat[1], bw[1] = lat[0], bw[0]
        eff = self.spec.collective.efficiency
        step = self.spec.collective.step_latency
        unit = None
        if not matrix:
            unit = defaultdict(float)
            for s in sends:
                for ln, d in routes[(s.src, s.dst)]:
                    unit[(ln.name, d)] += s.bytes
            unit = dict(unit)
        plan = _Plan(algo, groups, (lat[0] + step, lat[1] + step), (bw[0] * eff, bw[1] * eff), routes, unit)
        self._plans[key] = plan
        return plan

    def analytic_time(self, kind: str, devices: Sequence[str], n: float,
                      matrix: Sequence[Sequence[float]] | None = None) -> float:
        """The collective's formula time on this topology, launch excluded, s."""
        devs = tuple(devices)
        p = len(devs)
        if p <= 1:
            return 0.0
        plan = self._plan(kind, devs, matrix is not None)
        (a1, a2), (b1, b2) = plan.alpha, plan.beta
        if plan.algorithm == "hierarchical":
            assert plan.groups is not None
            g, nodes = len(plan.groups[0]), len(plan.groups)
            if matrix is not None:  # uneven all-to-all: the busier of each stage's ranks
                return _hier_matrix(matrix, plan.groups, a1, b1, a2, b2)
            return coll.hierarchical(kind, n, g, nodes, a1, b1, a2, b2)
        if matrix is not None:
            return coll.direct_all_to_all_matrix(matrix, a1, b1)
        return coll.formula(kind, plan.algorithm, n, p, a1, b1)

    def collective(self, name: str, kind: str, devices: Sequence[str], n: float,
                   matrix: Sequence[Sequence[float]] | None = None):
        """simpy process body: run one collective over ``devices`` (rank i = devices[i]); returns stats."""
        env = self.env
        devs = tuple(devices)
        p = len(devs)
        start = env.now
        stats = CollectiveStats(name, kind, "none", p, n, start)
        if p <= 1:
            return stats
        plan = self._plan(kind, devs, matrix is not None)
        stats.algorithm = plan.algorithm
        stats.alpha_s, stats.bandwidth = plan.alpha[0], plan.beta[0]
        launch = self.spec.collective.launch
        if self.mode == "analytic":
            dur = launch + self.analytic_time(kind, devs, n, matrix)
            self._analytic_links(stats, plan, devs, kind, n, matrix, dur)
            if dur > 0:
                yield env.timeout(dur)
        else:
            if launch > 0:
                yield env.timeout(launch)
            yield from self._run_schedule(stats, plan, devs, kind, n, matrix)
        stats.time_s = env.now - start
        return stats

    def _analytic_links(self, stats: CollectiveStats, plan: _Plan, devs: tuple[str, ...], kind: str, n: float,
                        matrix: Sequence[Sequence[float]] | None, dur: float) -> None:
        if plan.unit_links is not None:
            per = {k: v * n for k, v in plan.unit_links.items()}
        else:
            per = defaultdict(float)
            for s in coll.schedule(kind, plan.algorithm, list(range(len(devs))), n, matrix, plan.groups):
                for ln, d in plan.routes[(s.src, s.dst)]:
                    per[(ln.name, d)] += s.bytes
        links = self._links
        factor = self.spec.collective.efficiency
        obs = self.observer
        now = self.env.now
        for (lname, d), nbytes in per.items():
            if nbytes <= 0:
                continue
            ln = links[lname]
            energy = ln.model.energy(nbytes)
            stats.energy_J += energy
            stats.link_bytes[lname] = stats.link_bytes.get(lname, 0.0) + nbytes
            if obs is not None:
                busy = min(dur, ln.model.serialization_time(nbytes) / factor)
                obs.traffic(stats.name, ln, d, nbytes, energy, now, busy)
        stats.bytes = sum(_injected(kind, plan, len(devs), n, matrix))

    def _run_schedule(self, stats: CollectiveStats, plan: _Plan, devs: tuple[str, ...], kind: str, n: float,
                      matrix: Sequence[Sequence[float]] | None):
        env = self.env
        sends = coll.schedule(kind, plan.algorithm, list(range(len(devs))), n, matrix, plan.groups)
        done = [env.event() for _ in sends]
        factor = self.spec.collective.efficiency
        step = self.spec.collective.step_latency

        def one(i: int, s: coll.Send):
            if s.deps:
                yield simpy.AllOf(env, [done[j] for j in s.deps])
            if step > 0:
                yield env.timeout(step)
            hops = plan.routes[(s.src, s.dst)]
            spans = yield from self._message(hops, devs[s.src], s.bytes, factor)
            stats.energy_J += self._report(stats.name, spans, collective=True)
            for sp in spans:
                stats.link_bytes[sp.link.name] = stats.link_bytes.get(sp.link.name, 0.0) + sp.bytes
            stats.bytes += s.bytes
            done[i].succeed()

        for i, s in enumerate(sends):
            env.process(one(i, s))
        if done:
            yield simpy.AllOf(env, done)


def _injected(kind: str, plan: _Plan, p: int, n: float, matrix: Sequence[Sequence[float]] | None) -> list[float]:
    """Bytes each send of the collective puts on the network (a hierarchical algorithm's stages each count, as the
    contention mode's schedule counts them), B."""
    if plan.algorithm == "hierarchical":
        scale = 1.0 if matrix is not None else n
        return [s.bytes * scale for s in coll.schedule(kind, plan.algorithm, list(range(p)), 1.0, matrix, plan.groups)]
    if matrix is not None:
        return [sum(matrix[i][j] for j in range(p) if j != i) for i in range(p)]
    return [coll.volume_per_rank(kind, plan.algorithm, n, p)] * p


def _hier_matrix(matrix: Sequence[Sequence[float]], groups: list[list[int]], a1: float, b1: float,
                 a2: float, b2: float) -> float:
    g, nodes = len(groups[0]), len(groups)
    sends = coll.schedule("all_to_all", "hierarchical", list(range(len(matrix))), 0.0, matrix, groups)
    out = [defaultdict(float), defaultdict(float)]
    inn = [defaultdict(float), defaultdict(float)]
    for s in sends:
        out[s.stage][s.src] += s.bytes
        inn[s.stage][s.dst] += s.bytes
    t1 = (g - 1) * a1 + max([*out[0].values(), *inn[0].values(), 0.0]) / b1
    t2 = (nodes - 1) * a2 + max([*out[1].values(), *inn[1].values(), 0.0]) / b2
    return t1 + t2


def collective_time(topology: Topology, kind: str, devices: Sequence[str], n: float,
                    spec: NetworkSpec | None = None, matrix: Sequence[Sequence[float]] | None = None
                    ) -> CollectiveStats:
    """Run one collective alone on ``topology`` (a fresh simulation) and return its stats."""
    env = simpy.Environment()
    net = Network(env, topology, spec)
    box: dict[str, CollectiveStats] = {}

    def proc():
        box["s"] = yield from net.collective(kind, kind, devices, n, matrix)

    env.process(proc())
    env.run()
    return box["s"]


__all__ = ["CollectiveStats", "Network", "NetworkObserver", "collective_time"]
