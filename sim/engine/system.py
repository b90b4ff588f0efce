"""A system as the engine sees it: device instances with their models and streams, links, routes.

:func:`load_system` accepts a system preset (``kind: system``) or a single device preset; a device
alone is a one-device system named after it. Device instances are named after their entry in the
system file (``gpu``), or ``gpu[0]``, ``gpu[1]``... when ``count`` > 1. A link between two entries
connects every pair of their instances (one :class:`LinkInstance` per pair, full or half duplex).

``--set`` overrides whose first key is a device entry name go to that device's preset
(``gpu.memory.2.bandwidth=3TB/s``); all others apply to the system file itself. For a single-device
system every override applies to the device.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sim.config import load_hw
from sim.config.hardware import DeviceConfig, LinkConfig, SystemConfig
from sim.config.loader import resolve_ref
from sim.devices.base import DeviceModel
from sim.devices.registry import build_device
from sim.errors import ConfigError
from sim.interconnect.link import LinkModel, build_link
from sim.placement.base import PlacementError, PlacementPolicy
from sim.placement.registry import build_policy


@dataclass
class DeviceInstance:
    """One device of the system: its model and its number of in-order streams."""

    name: str
    model: DeviceModel
    streams: int = 1

    @property
    def config(self) -> DeviceConfig:
        """The validated device config."""
        return self.model.config


@dataclass
class LinkInstance:
    """One link between two device instances; ``name`` is ``a<->b`` (plus ``#i`` for parallel entries)."""

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


@dataclass
class System:
    """Device instances, links, the default device and the placement policy."""

    name: str
    devices: dict[str, DeviceInstance]
    links: list[LinkInstance]
    default: str
    policy: PlacementPolicy
    _routes: dict[tuple[str, str], list[tuple[LinkInstance, int]]] = field(default_factory=dict)

    def route(self, src: str, dst: str) -> list[tuple[LinkInstance, int]]:
        """Hops (link, direction) from ``src`` to ``dst``: the path with fewest links (breadth-first,
        ties broken by link order in the system file). PlacementError if the links do not connect them."""
        key = (src, dst)
        hit = self._routes.get(key)
        if hit is not None:
            return hit
        adj: dict[str, list[tuple[LinkInstance, str]]] = {d: [] for d in self.devices}
        for ln in self.links:
            adj[ln.a].append((ln, ln.b))
            adj[ln.b].append((ln, ln.a))
        prev: dict[str, tuple[str, LinkInstance] | None] = {src: None}
        q = deque([src])
        while q:
            cur = q.popleft()
            if cur == dst:
                break
            for ln, nxt in adj[cur]:
                if nxt not in prev:
                    prev[nxt] = (cur, ln)
                    q.append(nxt)
        if dst not in prev:
            linked = ", ".join(f"{ln.a}<->{ln.b}" for ln in self.links) or "none"
            raise PlacementError(
                f"system {self.name!r}: no link path from device {src!r} to {dst!r}, but an op "
                f"on {dst!r} needs data produced on {src!r} (links: {linked}); add a link "
                f"between them or change the placement"
            )
        hops: list[tuple[LinkInstance, int]] = []
        cur = dst
        while prev[cur] is not None:
            p, ln = prev[cur]  # type: ignore[misc]
            hops.append((ln, ln.direction(p)))
            cur = p
        hops.reverse()
        self._routes[key] = hops
        return hops


def _split_overrides(
    cfg_devices: Sequence[str], overrides: Sequence[str]
) -> tuple[list[str], dict[str, list[str]]]:
    own: list[str] = []
    per: dict[str, list[str]] = {}
    for o in overrides:
        head, _, rest = o.partition(".")
        if head in cfg_devices and rest:
            per.setdefault(head, []).append(rest)
        else:
            own.append(o)
    return own, per


def build_system(
    config: SystemConfig | DeviceConfig,
    overrides: Sequence[str] = (),
    *,
    placement: str | None = None,
    placement_options: dict | None = None,
    base_dir: Path | None = None,
) -> System:
    """A :class:`System` from a validated system or device config.

    ``placement``/``placement_options`` replace the system file's ``placement:`` block; device and link
    presets given as relative paths are looked up beside the system file (``base_dir``) first.
    """
    if isinstance(config, DeviceConfig):
        inst = DeviceInstance(config.name, build_device(config, config.name))
        devices = {config.name: inst}
        policy_name = placement or "single"
        policy = build_policy(policy_name, {config.name: config}, config.name, placement_options or {})
        return System(config.name, devices, [], config.name, policy)
    if not isinstance(config, SystemConfig):
        raise ConfigError(
            f"{getattr(config, 'name', config)!r} is a {getattr(config, 'kind', '?')} config, not a "
            "device or system",
            key="--hw",
            expected="a device or system preset",
        )
    _, per = _split_overrides(list(config.devices), overrides)
    devices: dict[str, DeviceInstance] = {}
    groups: dict[str, list[str]] = {}
    for entry, spec in config.devices.items():
        dev = load_hw(str(resolve_ref(spec.preset, base_dir)), [*spec.set, *per.get(entry, [])])
        if not isinstance(dev, DeviceConfig):
            raise ConfigError(
                f"system device {entry!r} names a {dev.kind} preset",
                key=f"devices.{entry}.preset",
                value=spec.preset,
                expected="a device preset",
            )
        names = [entry] if spec.count == 1 else [f"{entry}[{i}]" for i in range(spec.count)]
        groups[entry] = names
        for n in names:
            devices[n] = DeviceInstance(n, build_device(dev, n), spec.streams)
    links: list[LinkInstance] = []
    for i, ln in enumerate(config.links):
        lcfg = load_hw(str(resolve_ref(ln.preset, base_dir)))
        if not isinstance(lcfg, LinkConfig):
            raise ConfigError(
                f"system link {i} names a {lcfg.kind} preset",
                key=f"links.{i}.preset",
                value=ln.preset,
                expected="a link preset",
            )
        a_names, b_names = groups[ln.between[0]], groups[ln.between[1]]
        for a in a_names:
            for b in b_names:
                if a == b:
                    continue
                name = f"{a}<->{b}"
                if any(x.name == name for x in links):
                    name = f"{name}#{i}"
                links.append(LinkInstance(name, a, b, build_link(ln.model, lcfg, ln.count)))
    default = config.default_device or next(iter(config.devices))
    default = groups[default][0]
    pname = placement or config.placement.policy
    popts = (
        placement_options
        if placement_options is not None
        else (config.placement.options if placement is None else {})
    )
    policy = build_policy(pname, {n: d.config for n, d in devices.items()}, default, popts)
    return System(config.name, devices, links, default, policy)


def load_system(
    ref: str,
    overrides: Sequence[str] = (),
    *,
    placement: str | None = None,
    placement_options: dict | None = None,
) -> System:
    """Load a system or device preset (name or YAML path) as a :class:`System`."""
    from sim.config import load_tree

    tree = load_tree(ref)
    kind = tree.data.get("kind")
    if kind == "system":
        devices = list((tree.data.get("devices") or {}).keys())
        own, _ = _split_overrides(devices, overrides)
        cfg = load_hw(ref, own)
    else:
        cfg = load_hw(ref, overrides)
    base = tree.source.parent if tree.source is not None else None
    return build_system(
        cfg, overrides, placement=placement, placement_options=placement_options, base_dir=base
    )


def with_fidelity(system: System, fidelity: str) -> System:
    """A copy of ``system`` whose devices' DRAM levels use ``fidelity`` (``analytic`` or ``cycle``).

    ConfigError for a device whose DRAM level names no memory preset (cycle fidelity needs one).
    """
    if fidelity not in ("analytic", "cycle"):
        raise ConfigError("unknown fidelity", key="--fidelity", value=fidelity, expected="analytic or cycle")
    devices = {}
    for name, inst in system.devices.items():
        cfg = inst.config
        mem = list(cfg.memory)
        last = mem[-1]
        if fidelity == "cycle" and not last.memory:
            raise ConfigError(
                f"device {name!r}: fidelity 'cycle' needs a `memory:` preset on its DRAM level {last.name!r}",
                key=f"{name}.memory.{len(mem) - 1}.memory",
            )
        mem[-1] = last.model_copy(update={"fidelity": fidelity})
        new = cfg.model_copy(update={"memory": mem})
        devices[name] = DeviceInstance(name, build_device(new, name), inst.streams)
    return System(system.name, devices, system.links, system.default, system.policy)
