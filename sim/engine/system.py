"""A system as the engine sees it: device instances with their models and streams, links, routes.

:func:`load_system` accepts a system preset (``kind: system``) or a single device preset; a device
alone is a one-device system named after it. Device instances are named after their entry in the
system file (``gpu``), or ``gpu[0]``, ``gpu[1]``... when ``count`` > 1. A link between two entries
connects every pair of their instances (one :class:`LinkInstance` per pair, full or half duplex).

``--set`` overrides whose first key is a device entry name go to that device's preset
(``gpu.memory.2.bandwidth=3TB/s``); all others apply to the system file itself. For a single-device
system every override applies to the device.

Links come from the system file's ``links:`` (every pair of two entries' instances) and ``topology:``
(switches, rings, cliques; :mod:`sim.interconnect.topology`). The ``parallel:`` block (and ``serving:``)
map the ranks of a parallel split to instances (:mod:`sim.placement.parallel`); ``network:`` sets the
mode of transfers and collectives (:mod:`sim.interconnect.network`); ``runtime:`` the framework overheads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sim.config import load_hw
from sim.config.hardware import (
    DeviceConfig,
    ExpertPlacementSpec,
    LinkConfig,
    NetworkSpec,
    ParallelSpec,
    RuntimeSpec,
    ServingSpec,
    SystemConfig,
)
from sim.config.loader import resolve_ref
from sim.devices.base import DeviceModel
from sim.devices.registry import build_device
from sim.errors import ConfigError
from sim.interconnect.topology import LinkInstance, Topology, build_topology
from sim.placement.base import PlacementError, PlacementPolicy
from sim.placement.parallel import ExpertHomes, ParallelPolicy, RankLayout
from sim.placement.registry import build_policy
from sim.workload.parallel import Parallel, ParallelError
from sim.workload.parallel import resolve as resolve_parallel


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
class System:
    """Device instances, their topology, the default device, the placement policy and the parallel split."""

    name: str
    devices: dict[str, DeviceInstance]
    links: list[LinkInstance]
    default: str
    policy: PlacementPolicy
    topology: Topology | None = None
    network: NetworkSpec = field(default_factory=NetworkSpec)
    parallel: Parallel = field(default_factory=Parallel)
    layout: RankLayout | None = None
    runtime: RuntimeSpec = field(default_factory=RuntimeSpec)

    def __post_init__(self) -> None:
        if self.topology is None:
            self.topology = Topology(list(self.devices), self.links)

    @property
    def switches(self) -> list[str]:
        """Switch nodes of the topology."""
        return self.topology.switches if self.topology else []

    def route(self, src: str, dst: str) -> list[tuple[LinkInstance, int]]:
        """Hops (link, direction) from ``src`` to ``dst``: the path with fewest links (breadth-first,
        ties broken by link order in the system file). PlacementError if the links do not connect them."""
        assert self.topology is not None
        hops = self.topology.route(src, dst)
        if hops is None:
            linked = ", ".join(f"{ln.a}<->{ln.b}" for ln in self.links[:12]) or "none"
            raise PlacementError(
                f"system {self.name!r}: no link path from device {src!r} to {dst!r}, but an op "
                f"on {dst!r} needs data produced on {src!r} (links: {linked}); add a link "
                f"between them or change the placement"
            )
        return hops


def split_overrides(
    cfg_devices: Sequence[str], overrides: Sequence[str]
) -> tuple[list[str], dict[str, list[str]]]:
    """``KEY=VALUE`` overrides split into the system file's own and, per device entry, those whose first
    key is the entry's name (with that name removed)."""
    own: list[str] = []
    per: dict[str, list[str]] = {}
    for o in overrides:
        head, _, rest = o.partition(".")
        if head in cfg_devices and rest:
            per.setdefault(head, []).append(rest)
        else:
            own.append(o)
    return own, per


@dataclass(frozen=True)
class ResolvedSystem:
    """A validated system config with every device entry's preset loaded and validated (its ``set:`` and
    the ``ENTRY.KEY=VALUE`` overrides applied): all that defines the hardware of a run, as plain values.

    For a device preset ``devices`` is empty (the device is a one-device system). :meth:`to_si` is the
    key space of sweeps and ``pimsim hw show SYSTEM --json``: the system file's keys, and each device's
    keys under its entry name (``pim.channels``, ``asic.clock``)."""

    config: SystemConfig | DeviceConfig
    devices: dict[str, DeviceConfig] = field(default_factory=dict)
    base_dir: Path | None = None

    @property
    def name(self) -> str:
        """The system's (or device's) name."""
        return self.config.name

    def to_si(self) -> dict:
        """The resolved config as plain data in SI units; device entries keyed by their name."""
        from sim.config.display import to_si

        out = to_si(self.config)
        for entry, dev in self.devices.items():
            out[entry] = to_si(dev)
        return out


def resolve_system(ref: str, overrides: Sequence[str] = ()) -> ResolvedSystem:
    """Load a system or device preset (name or YAML path) with ``overrides`` and resolve its devices.

    Overrides whose first key is a device entry name go to that device (``pim.channels=16``); the others
    to the system file. ConfigError for a bad key or value, or an entry that names no device preset."""
    from sim.config import load_tree

    tree = load_tree(ref)
    if tree.data.get("kind") != "system":
        return ResolvedSystem(load_hw(ref, overrides))
    devices = list((tree.data.get("devices") or {}).keys())
    own, per = split_overrides(devices, overrides)
    cfg = load_hw(ref, own)
    base = tree.source.parent if tree.source is not None else None
    return ResolvedSystem(cfg, resolve_devices(cfg, per, base), base)


def resolve_devices(config: SystemConfig, per: dict[str, list[str]], base_dir: Path | None
                    ) -> dict[str, DeviceConfig]:
    """Each device entry's validated config: its preset with its ``set:`` and ``per[entry]`` overrides."""
    out: dict[str, DeviceConfig] = {}
    for entry, spec in config.devices.items():
        dev = load_hw(str(resolve_ref(spec.preset, base_dir)), [*spec.set, *per.get(entry, [])])
        if not isinstance(dev, DeviceConfig):
            raise ConfigError(
                f"system device {entry!r} names a {dev.kind} preset",
                key=f"devices.{entry}.preset",
                value=spec.preset,
                expected="a device preset",
            )
        out[entry] = dev
    return out


def build_system(
    config: SystemConfig | DeviceConfig | ResolvedSystem,
    overrides: Sequence[str] = (),
    *,
    placement: str | None = None,
    placement_options: dict | None = None,
    base_dir: Path | None = None,
) -> System:
    """A :class:`System` from a validated system or device config, or a :class:`ResolvedSystem`.

    A :class:`ResolvedSystem` brings its device configs already resolved (``overrides`` then must be
    empty: they are in it); from a plain system config each entry's preset is loaded here.
    ``placement``/``placement_options`` replace the system file's ``placement:`` block; device and link
    presets given as relative paths are looked up beside the system file (``base_dir``) first.
    ParallelError if the ``parallel:`` split needs more device instances than the system has.
    """
    resolved: dict[str, DeviceConfig] | None = None
    if isinstance(config, ResolvedSystem):
        if overrides:
            raise ValueError("build_system: a ResolvedSystem has its overrides applied already")
        resolved = config.devices
        base_dir = config.base_dir if base_dir is None else base_dir
        config = config.config
    if isinstance(config, DeviceConfig):
        inst = DeviceInstance(config.name, build_device(config, config.name))
        devices = {config.name: inst}
        _bind(devices)
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
    if resolved is None:
        _, per = split_overrides(list(config.devices), overrides)
        resolved = resolve_devices(config, per, base_dir)
    devices: dict[str, DeviceInstance] = {}
    groups: dict[str, list[str]] = {}
    for entry, spec in config.devices.items():
        dev = resolved[entry]
        names = [entry] if spec.count == 1 else [f"{entry}[{i}]" for i in range(spec.count)]
        groups[entry] = names
        for n in names:
            devices[n] = DeviceInstance(n, build_device(dev, n), spec.streams)

    def load_link(ref: str, key: str) -> LinkConfig:
        lcfg = load_hw(str(resolve_ref(ref, base_dir)))
        if not isinstance(lcfg, LinkConfig):
            raise ConfigError(f"{key} names a {lcfg.kind} preset", key=key, value=ref, expected="a link preset")
        return lcfg

    pairs = [
        (ln.between[0], ln.between[1], load_link(ln.preset, f"links.{i}.preset"), ln.count, ln.model)
        for i, ln in enumerate(config.links)
    ]
    topology = build_topology(list(devices), groups, pairs, config.topology, load_link)
    _bind(devices)
    default = config.default_device or next(iter(config.devices))
    default = groups[default][0]
    pname = placement or config.placement.policy
    popts = (
        placement_options
        if placement_options is not None
        else (config.placement.options if placement is None else {})
    )
    policy = build_policy(pname, {n: d.config for n, d in devices.items()}, default, popts)
    par, layout = _layout(config, groups, default)
    homes = _homes(config.experts, groups)
    if layout is not None or homes is not None:
        policy = ParallelPolicy(policy, layout, homes)
    clock_dev = layout.prefill[0] if layout is not None else default
    network = resolve_network(config.network, devices[clock_dev].config.clock)
    return System(config.name, devices, topology.links, default, policy, topology, network, par,
                  layout, config.runtime)


def resolve_network(spec: NetworkSpec, clock: float) -> NetworkSpec:
    """``spec`` with the collective costs given in device cycles folded into its seconds (``clock`` Hz)."""
    c = spec.collective
    if not (c.launch_cycles or c.step_cycles):
        return spec
    coll = c.model_copy(update={
        "launch": c.launch + c.launch_cycles / clock,
        "step_latency": c.step_latency + c.step_cycles / clock,
        "launch_cycles": 0.0,
        "step_cycles": 0.0,
    })
    return spec.model_copy(update={"collective": coll})


def _layout(config: SystemConfig, groups: dict[str, list[str]], default: str
            ) -> tuple[Parallel, RankLayout | None]:
    ps: ParallelSpec = config.parallel
    sv: ServingSpec | None = config.serving
    par = resolve_parallel(ps.tp, ps.pp, ps.ep, ps.dp, ps.microbatches, symmetric=ps.symmetric,
                           kv_transfer=sv.kv_transfer if sv else None)
    if not par.active:
        return par, None
    entry = ps.devices or next(e for e, names in groups.items() if default in names)
    pre = groups[sv.prefill] if sv else groups[entry]
    dec = groups[sv.decode] if sv else groups[entry]
    for label, devs in (("prefill", pre), ("decode", dec)):
        if par.world > len(devs):
            which = f"{sv.prefill if label == 'prefill' else sv.decode}" if sv else entry
            raise ParallelError(
                f"system {config.name!r}: the split tp {par.tp} x pp {par.pp} x dp {par.dp} needs {par.world} "
                f"devices, but device entry {which!r} has {len(devs)} instance(s); use a system with more "
                "devices (e.g. dgx-a100-2node) or a smaller split"
            )
    return par, RankLayout(tuple(pre[: par.world]), tuple(dec[: par.world]))


def _homes(spec: ExpertPlacementSpec, groups: dict[str, list[str]]) -> ExpertHomes | None:
    if spec.offload <= 0:
        return None
    if spec.home is None:
        raise ConfigError("experts.offload needs experts.home, the device whose memory holds them",
                          key="experts.home")
    return ExpertHomes(groups[spec.home][0], spec.offload, spec.execute)


def load_system(
    ref: str,
    overrides: Sequence[str] = (),
    *,
    placement: str | None = None,
    placement_options: dict | None = None,
) -> System:
    """Load a system or device preset (name or YAML path) as a :class:`System`."""
    return build_system(resolve_system(ref, overrides), placement=placement, placement_options=placement_options)


def with_fidelity(system: System, fidelity: str) -> System:
    """A copy of ``system`` whose devices' DRAM levels use ``fidelity`` (``analytic`` or ``cycle``).

    ConfigError for a device whose DRAM level names no memory preset (cycle fidelity needs one).
    """
    if fidelity not in ("analytic", "cycle"):
        raise ConfigError("unknown fidelity", key="--fidelity", value=fidelity, expected="analytic or cycle")
    devices = {}
    for name, inst in system.devices.items():
        cfg = inst.config
        if cfg.type in ("pim", "asic") and not inst.model.accepts_fidelity:
            devices[name] = inst  # command-level PIM timing / on-chip SRAM only: nothing to switch
            continue
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
    _bind(devices)
    return System(system.name, devices, system.links, system.default, system.policy, system.topology,
                  system.network, system.parallel, system.layout, system.runtime)


def _bind(devices: dict[str, DeviceInstance]) -> None:
    """Let every device model find its peers (a PIM device the ASIC that adds its partial sums)."""
    models = {n: d.model for n, d in devices.items()}
    for d in devices.values():
        d.model.bind(models)


def with_framework(system: System) -> System:
    """A copy of ``system`` whose devices with a ``framework:`` block run under it
    (:class:`~sim.devices.framework.FrameworkModel`). ConfigError if no device has one."""
    from sim.devices.framework import FrameworkModel

    if not any(inst.config.framework is not None for inst in system.devices.values()):
        raise ConfigError(
            f"--framework: no device of system {system.name!r} has a `framework:` block "
            f"({', '.join(system.devices)})",
            key="framework",
            expected="a device preset with a framework block, e.g. t4 or xeon-gold-6154",
        )
    devices = {}
    for name, inst in system.devices.items():
        spec = inst.config.framework
        model = FrameworkModel(inst.model, spec) if spec is not None else inst.model
        devices[name] = DeviceInstance(name, model, inst.streams)
    _bind(devices)
    return System(system.name, devices, system.links, system.default, system.policy, system.topology,
                  system.network, system.parallel, system.layout, system.runtime)


def framework_conventions(system: System) -> str | None:
    """The accounting conventions of the first device framework of ``system`` (None without one)."""
    for inst in system.devices.values():
        spec = inst.config.framework
        if spec is not None:
            return spec.conventions
    return None
