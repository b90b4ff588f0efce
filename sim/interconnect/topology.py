"""Topologies: which nodes (devices and switches) the links join, routes between them, node groups.

A :class:`Topology` is a graph of named nodes (device instances and switch nodes) and
:class:`LinkInstance` edges. Routes take the fewest links (breadth first; among those the widest, then the
link listed first), so a path through a switch is two hops, as in ASTRA-sim's analytical backend (Switch: 2 hops,
Ring: the shorter way round, FullyConnected: 1 hop).

Builders (the ``topology:`` list of a system file, :class:`~sim.config.hardware.TopologySpec`):

``switch``            every instance has one link (``count`` lanes) to a switch node;
``ring``              instance i is linked to i+1, and the last to the first (one link for two instances);
``fully-connected``   every pair of instances is linked;
``point-to-point``    instances linked pairwise in order (0-1, 2-3, ...).

``group_size`` splits the instances into consecutive groups with one switch / ring / clique each; the
groups of the first entry that has one become the *nodes* (machines) of hierarchical collectives.
``attach`` puts the i-th instance of another entry on group i's switch (each node's host on its PCIe switch). A
hierarchy is several entries: GPUs on an NVSwitch per node (``group_size: 8``), then every GPU on an
InfiniBand switch (each GPU has its own NIC, as in DGX rail-optimised fabrics), the host on PCIe.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sim.config.hardware import LinkConfig, TopologySpec
from sim.errors import PimsimError
from sim.interconnect.link import LinkModel, build_link


class TopologyError(PimsimError):
    """The links do not connect the devices that must exchange data (a collective's group, a route)."""


@dataclass
class LinkInstance:
    """One link between two nodes; ``name`` is ``a<->b`` (plus ``#i`` for parallel entries)."""

    name: str
    a: str
    b: str
    model: LinkModel

    def direction(self, src: str) -> int:
        """0 for a->b, 1 for b->a (always 0 on a half-duplex link, whose directions share one channel)."""
        if not self.model.duplex:
            return 0
        return 0 if src == self.a else 1

    def track(self, direction: int) -> str:
        """Display name of one direction."""
        if not self.model.duplex:
            return f"{self.name} (half duplex)"
        return f"{self.a}->{self.b}" if direction == 0 else f"{self.b}->{self.a}"

    def other(self, node: str) -> str:
        """The end that is not ``node``."""
        return self.b if node == self.a else self.a

    @property
    def bandwidth(self) -> float:
        """Attainable bandwidth of one direction, B/s (peak x efficiency x parallel links)."""
        c = self.model.config
        return c.bandwidth * c.efficiency * self.model.count

    @property
    def latency(self) -> float:
        """One-way latency, s."""
        return self.model.config.latency


Hop = tuple[LinkInstance, int]


@dataclass
class Topology:
    """Nodes, links, switch nodes and node groups; routes are memoised."""

    nodes: list[str]
    links: list[LinkInstance]
    switches: list[str] = field(default_factory=list)
    groups: list[list[str]] = field(default_factory=list)
    _routes: dict[tuple[str, str], list[Hop] | None] = field(default_factory=dict, repr=False)
    _adj: dict[str, list[tuple[LinkInstance, str]]] | None = field(default=None, repr=False)
    _group_of: dict[str, int] | None = field(default=None, repr=False)

    def adjacency(self) -> dict[str, list[tuple[LinkInstance, str]]]:
        """Node -> [(link, neighbour)] in link order."""
        if self._adj is None:
            adj: dict[str, list[tuple[LinkInstance, str]]] = {n: [] for n in self.nodes}
            for ln in self.links:
                adj.setdefault(ln.a, []).append((ln, ln.b))
                adj.setdefault(ln.b, []).append((ln, ln.a))
            self._adj = adj
        return self._adj

    def route(self, src: str, dst: str) -> list[Hop] | None:
        """Hops (link, direction) from ``src`` to ``dst`` over the fewest links, None if unreachable.

        Any node forwards (switches, and devices such as a host between a GPU and a PIM card). Among the
        paths with the fewest links the widest wins (largest bottleneck bandwidth: NVSwitch rather than
        PCIe between two GPUs of a node); remaining ties go to the link listed first."""
        key = (src, dst)
        if key in self._routes:
            return self._routes[key]
        if src == dst:
            self._routes[key] = []
            return []
        adj = self.adjacency()
        dist = {src: 0}
        width = {src: float("inf")}
        prev: dict[str, tuple[str, LinkInstance]] = {}
        layer = [src]
        while layer and dst not in dist:
            nxt_layer: list[str] = []
            for cur in layer:
                for ln, nxt in adj.get(cur, ()):
                    w = min(width[cur], ln.bandwidth)
                    if nxt not in dist:
                        dist[nxt] = dist[cur] + 1
                        width[nxt] = w
                        prev[nxt] = (cur, ln)
                        nxt_layer.append(nxt)
                    elif dist[nxt] == dist[cur] + 1 and w > width[nxt]:
                        width[nxt] = w
                        prev[nxt] = (cur, ln)
            layer = nxt_layer
        if dst not in dist:
            self._routes[key] = None
            return None
        hops: list[Hop] = []
        cur = dst
        while cur != src:
            p, ln = prev[cur]
            hops.append((ln, ln.direction(p)))
            cur = p
        hops.reverse()
        self._routes[key] = hops
        return hops

    def require_route(self, src: str, dst: str, why: str) -> list[Hop]:
        """:meth:`route`, or a TopologyError naming ``why`` the two must be connected."""
        r = self.route(src, dst)
        if r is None:
            linked = ", ".join(ln.name for ln in self.links[:12]) or "none"
            more = f" and {len(self.links) - 12} more" if len(self.links) > 12 else ""
            raise TopologyError(
                f"no link path from {src!r} to {dst!r}, but {why} (links: {linked}{more}); add links "
                "(a `links:` entry or a `topology:` switch/ring) that connect them"
            )
        return r

    # ------------------------------------------------------------------ path figures
    def path_latency(self, hops: Sequence[Hop]) -> float:
        """Sum of the hops' latencies, s."""
        return sum(ln.latency for ln, _ in hops)

    def path_bandwidth(self, hops: Sequence[Hop]) -> float:
        """Bottleneck (smallest) attainable bandwidth along the hops, B/s (inf for an empty path)."""
        return min((ln.bandwidth for ln, _ in hops), default=float("inf"))

    def path_energy_per_byte(self, hops: Sequence[Hop]) -> float:
        """J per byte moved along the hops (each link's J/bit x 8)."""
        return sum(ln.model.config.energy * 8.0 for ln, _ in hops)

    # ------------------------------------------------------------------ node groups
    def group_of(self, node: str) -> int:
        """Index of the node group (machine) holding ``node``; every node is in group 0 without groups."""
        if self._group_of is None:
            self._group_of = {n: i for i, g in enumerate(self.groups) for n in g}
        return self._group_of.get(node, 0)


def _pairs(kind: str, names: list[str]) -> list[tuple[str, str]]:
    n = len(names)
    if kind == "ring":
        if n < 2:
            return []
        if n == 2:
            return [(names[0], names[1])]
        return [(names[i], names[(i + 1) % n]) for i in range(n)]
    if kind == "fully-connected":
        return [(names[i], names[j]) for i in range(n) for j in range(i + 1, n)]
    if kind == "point-to-point":
        return [(names[i], names[i + 1]) for i in range(0, n - 1, 2)]
    raise ValueError(kind)


def build_topology(
    nodes: list[str],
    entries: dict[str, list[str]],
    pair_links: Sequence[tuple[str, str, LinkConfig, int, str]],
    specs: Sequence[TopologySpec],
    load_link: Callable[[str, str], LinkConfig],
) -> Topology:
    """A topology over device instances ``nodes``.

    ``entries`` maps each device entry to its instance names; ``pair_links`` are the system file's
    ``links:`` (entry a, entry b, config, count, model: every pair of their instances is linked);
    ``specs`` its ``topology:`` list; ``load_link(preset, key)`` loads a link preset (``key`` names the
    config key in error messages).
    """
    links: list[LinkInstance] = []
    names: set[str] = set()

    def add(a: str, b: str, cfg: LinkConfig, count: int, model: str, suffix: int) -> None:
        name = f"{a}<->{b}"
        if name in names:
            name = f"{name}#{suffix}"
        names.add(name)
        links.append(LinkInstance(name, a, b, build_link(model, cfg, count)))

    for i, (ea, eb, cfg, count, model) in enumerate(pair_links):
        for a in entries[ea]:
            for b in entries[eb]:
                if a != b:
                    add(a, b, cfg, count, model, i)
    switches: list[str] = []
    groups: list[list[str]] = []
    for i, spec in enumerate(specs):
        cfg = load_link(spec.link, f"topology.{i}.link")
        members = [n for e in spec.devices for n in entries[e]]
        size = spec.group_size or len(members)
        if size < 1 or len(members) % size:
            raise TopologyError(
                f"topology {i} ({spec.kind}): group_size {size} does not divide the {len(members)} "
                f"instances of {', '.join(spec.devices)}"
            )
        parts = [members[j : j + size] for j in range(0, len(members), size)]
        if spec.group_size and not groups:
            groups = [list(p) for p in parts]
        extra = entries[spec.attach] if spec.attach else []
        if spec.attach and (spec.kind != "switch" or len(extra) != len(parts)):
            raise TopologyError(
                f"topology {i}: `attach: {spec.attach}` needs a switch and one {spec.attach} instance per group "
                f"({len(parts)} groups, {len(extra)} instances)"
            )
        base = spec.name or f"switch{i}"
        for gi, part in enumerate(parts):
            if spec.kind == "switch":
                sw = base if len(parts) == 1 else f"{base}[{gi}]"
                if sw in nodes or sw in switches:
                    raise TopologyError(f"topology {i}: switch name {sw!r} is already a node; choose another `name`")
                switches.append(sw)
                for n in [*part, *extra[gi:gi + 1]]:
                    add(n, sw, cfg, spec.count, spec.model, 1000 + i)
            else:
                for a, b in _pairs(spec.kind, part):
                    add(a, b, cfg, spec.count, spec.model, 1000 + i)
    return Topology(list(nodes) + switches, links, switches, groups)


__all__ = ["Hop", "LinkInstance", "Topology", "TopologyError", "build_topology"]
