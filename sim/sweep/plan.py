"""Planning a sweep: every point resolved to a validated config and a workload, hashed into a run id.

Planning does all the checking before any work starts: unknown keys (with the nearest valid keys),
values of the wrong type or unit, unknown presets, models, datatypes. Each point's fully resolved
config (hardware config in SI units, the model's architecture, the workload) is hashed into its run
id, so identical designs share an id and a finished point is recognised on ``--resume``.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sim.config import KINDS, schema_for
from sim.config.display import flatten, to_si
from sim.config.hardware import DeviceConfig, SystemConfig
from sim.config.loader import ConfigTree, load_tree, resolve_ref, validate
from sim.engine.system import ResolvedSystem, split_overrides
from sim.errors import ConfigError, PimsimError
from sim.sweep.evaluate import Workload, check_simulatable
from sim.sweep.keys import canonical_key, config_keys, set_path, suggest
from sim.sweep.spec import WORKLOAD_DEFAULTS, WORKLOAD_KEYS, SweepSpec
from sim.workload.models import ModelSpec, load_model

#: Model fields that say where a description came from, not what the model is (left out of run ids).
_PROVENANCE_FIELDS = ("source", "revision")
SWEEP_SOURCE = "sweep"


def digest(obj: Any, n: int = 16) -> str:
    """A short, stable hash of JSON-able ``obj`` (keys sorted)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def model_dict(model: ModelSpec) -> dict[str, Any]:
    """A model's architecture as plain data (without provenance fields)."""
    d = dataclasses.asdict(model)
    for k in _PROVENANCE_FIELDS:
        d.pop(k, None)
    return d


@dataclass(frozen=True)
class Point:
    """One resolved design point."""

    index: int  #: position in the sweep (Cartesian order)
    run_id: str  #: hash of the resolved hardware config, model and workload
    values: dict[str, Any]  #: the swept values as written
    columns: dict[str, Any]  #: the swept values as stored in the table (hardware keys in SI)
    hw: str  #: hardware preset or file
    overrides: tuple[str, ...]  #: ``key=value`` overrides that rebuild the config from ``hw``
    config: Any  #: the validated hardware config (a :class:`ResolvedSystem` for a system)
    config_hash: str  #: hash of the hardware config alone (operator-result memo key)
    model: ModelSpec
    workload: Workload

    def row_base(self) -> dict[str, Any]:
        """The identifying columns of this point's table row."""
        row: dict[str, Any] = {
            "run_id": self.run_id,
            "point": self.index,
            "hw": self.hw,
            "device": getattr(self.config, "name", self.hw),
        }
        row.update({f"workload.{k}": v for k, v in self.workload.to_dict().items()})
        row.update(self.columns)
        return row

    def resolved(self) -> dict[str, Any]:
        """Everything that defines the point (stored as ``configs/RUN_ID.yaml``)."""
        return {
            "run_id": self.run_id,
            "point": self.index,
            "values": self.values,
            "hw": self.hw,
            "overrides": list(self.overrides),
            "workload": self.workload.to_dict(),
            "model": model_dict(self.model),
            "config": config_si(self.config),
        }


@dataclass
class Plan:
    """The resolved points of a sweep (unique run ids, in sweep order)."""

    spec: SweepSpec
    keys: list[str]
    points: list[Point]
    duplicates: list[tuple[int, int]] = field(default_factory=list)  #: (point, same-as point) pairs

    @property
    def run_ids(self) -> list[str]:
        """Run ids in sweep order."""
        return [p.run_id for p in self.points]


@dataclass
class _Tree:
    """One config file as loaded (overrides applied), its schema and its leaf keys."""

    tree: ConfigTree
    schema: type[BaseModel]
    keys: set[str]
    config: BaseModel


@dataclass
class _Base:
    """The config a sweep starts from: a device, or a system with each device entry's config."""

    own: _Tree  #: the preset itself (device or system file)
    name: str
    entries: dict[str, _Tree] = field(default_factory=dict)  #: a system's devices, by entry name
    per: dict[str, list[str]] = field(default_factory=dict)  #: the sweep's ``--set`` overrides, per entry
    base_dir: Path | None = None

    @property
    def keys(self) -> set[str]:
        """Every valid hardware key: the preset's own, and each device's under its entry name."""
        out = set(self.own.keys)
        for entry, t in self.entries.items():
            out.update(f"{entry}.{k}" for k in t.keys)
        return out

    @property
    def is_system(self) -> bool:
        """True for a system preset."""
        return isinstance(self.own.config, SystemConfig)


def _load_tree(ref: str, overrides: list[str], base_dir: Path | None = None) -> _Tree:
    path = str(resolve_ref(ref, base_dir)) if base_dir is not None else ref
    tree = load_tree(path, overrides)
    kind = tree.data.get("kind")
    if kind not in KINDS:
        raise ConfigError(
            "missing or unknown kind",
            file=str(tree.source),
            key="kind",
            value=kind,
            expected=f"one of {', '.join(KINDS)}",
        )
    schema = schema_for(kind)
    cfg = validate(schema, tree)
    return _Tree(tree, schema, set(config_keys(cfg)), cfg)


def _load_base(ref: str, overrides: list[str]) -> _Base:
    raw = load_tree(ref)
    if raw.data.get("kind") != "system":
        own = _load_tree(ref, overrides)
        return _Base(own, getattr(own.config, "name", ref))
    entries = list((raw.data.get("devices") or {}).keys())
    mine, per = split_overrides(entries, overrides)
    own = _load_tree(ref, mine)
    cfg = own.config
    assert isinstance(cfg, SystemConfig)
    base_dir = own.tree.source.parent if own.tree.source is not None else None
    trees = {e: _entry_tree(cfg, e, per, base_dir) for e in cfg.devices}
    return _Base(own, cfg.name, trees, per, base_dir)


def _entry_tree(cfg: SystemConfig, entry: str, per: dict[str, list[str]], base_dir: Path | None) -> _Tree:
    spec = cfg.devices[entry]
    t = _load_tree(spec.preset, [*spec.set, *per.get(entry, [])], base_dir)
    if not isinstance(t.config, DeviceConfig):
        raise ConfigError(f"system device {entry!r} names a {t.tree.data.get('kind')} preset",
                          key=f"devices.{entry}.preset", value=spec.preset, expected="a device preset")
    return t


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _check_key_kinds(keys: list[str]) -> None:
    for key in keys:
        if key.startswith("workload.") and key not in WORKLOAD_KEYS:
            near = suggest(key, WORKLOAD_KEYS)
            raise ConfigError(
                f"unknown workload key{'; did you mean ' + ', '.join(near) + '?' if near else ''}",
                key=key,
                expected="one of " + ", ".join(WORKLOAD_KEYS),
            )


def plan_sweep(spec: SweepSpec) -> Plan:
    """Resolve and validate every point of ``spec``; raise a :class:`~sim.errors.PimsimError` on bad input."""
    raw_points = spec.points()
    keys = spec.keys()
    _check_key_kinds(keys)
    base_workload = spec.base_workload()
    Workload(**base_workload).checked()
    bases: dict[str, _Base] = {}
    models: dict[str, ModelSpec] = {}
    points: list[Point] = []
    seen: dict[str, int] = {}
    duplicates: list[tuple[int, int]] = []
    built: set[str] = set()  # hashes of system configs built once already
    for index, values in enumerate(raw_points):
        ref = values.get("hw", spec.hw)
        if not isinstance(ref, str):
            raise ConfigError("expected a preset name or YAML path", key="hw", value=ref)
        if ref not in bases:
            bases[ref] = _load_base(ref, spec.overrides)
        base = bases[ref]
        wl_values = dict(base_workload)
        wl_values.update({k.partition(".")[2]: v for k, v in values.items() if k.startswith("workload.")})
        workload = Workload(**wl_values).checked()
        if workload.model not in models:
            models[workload.model] = load_model(workload.model)
        config, canon, flat = _resolve_config(base, ref, values, index)
        check_simulatable(config)
        columns = {k: (flat.get(canon[k], v) if k in canon else v) for k, v in values.items()}
        for k in values:
            if k.startswith("workload."):
                columns[k] = getattr(workload, k.partition(".")[2])
        si = config_si(config)
        config_hash = digest(si)
        if isinstance(config, ResolvedSystem) and config_hash not in built:
            _check_buildable(config, values, index)
            built.add(config_hash)
        run_id = digest(
            {"hw": si, "model": model_dict(models[workload.model]), "workload": workload.to_dict()}
        )
        if run_id in seen:
            duplicates.append((index, seen[run_id]))
            continue
        seen[run_id] = index
        overrides = tuple(spec.overrides) + tuple(
            f"{canon[k]}={_value_text(v)}" for k, v in values.items() if k in canon
        )
        points.append(
            Point(
                index,
                run_id,
                dict(values),
                columns,
                ref,
                overrides,
                config,
                config_hash,
                models[workload.model],
                workload,
            )
        )
    return Plan(spec, keys, points, duplicates)


def _resolve_config(
    base: _Base, ref: str, values: dict[str, Any], index: int
) -> tuple[BaseModel | ResolvedSystem, dict[str, str], dict[str, Any]]:
    """The validated config of one point (a device config, or a :class:`ResolvedSystem` for a system),
    the canonical form of each swept hardware key, the flat config in SI units."""
    hw = {k: v for k, v in values.items() if k != "hw" and not k.startswith("workload.")}
    entry_of = {k: k.partition(".")[0] for k in hw if base.is_system and k.partition(".")[0] in base.entries}
    canon: dict[str, str] = {}
    own_values = {k: v for k, v in hw.items() if k not in entry_of}
    config, own_canon = _apply(base.own, own_values, base, ref, values, index)
    canon.update(own_canon)
    if not base.is_system:
        return config, canon, dict(flatten(to_si(config)))
    assert isinstance(config, SystemConfig)
    devices: dict[str, DeviceConfig] = {}
    for entry in config.devices:
        t = base.entries.get(entry)
        base_spec = base.own.config.devices.get(entry) if isinstance(base.own.config, SystemConfig) else None
        if t is None or base_spec != config.devices[entry]:  # the point changed the entry's preset or set
            t = _entry_tree(config, entry, base.per, base.base_dir)
        mine = {k.partition(".")[2]: v for k, v in hw.items() if entry_of.get(k) == entry}
        dev, dev_canon = _apply(t, mine, base, ref, values, index, prefix=f"{entry}.")
        canon.update({f"{entry}.{k}": f"{entry}.{c}" for k, c in dev_canon.items()})
        devices[entry] = dev
    for k, e in entry_of.items():
        if e not in config.devices:
            raise _unknown_key(k, ref, base)
    resolved = ResolvedSystem(config, devices, base.base_dir)
    return resolved, canon, dict(flatten(resolved.to_si()))


def _apply(
    t: _Tree, hw: dict[str, Any], base: _Base, ref: str, values: dict[str, Any], index: int, prefix: str = ""
) -> tuple[Any, dict[str, str]]:
    """Set ``hw`` (keys relative to ``t``'s file) in a copy of ``t`` and validate it."""
    if not hw:
        return t.config, {}
    data = copy.deepcopy(t.tree.data)
    prov = dict(t.tree.provenance)
    canon: dict[str, str] = {}
    for key, value in hw.items():
        ck = canonical_key(t.tree.data, key)
        canon[key] = ck
        if not set_path(data, ck, value):
            raise _unknown_key(prefix + key, ref, base)
        prov[ck] = SWEEP_SOURCE
    try:
        config = validate(t.schema, ConfigTree(data=data, source=t.tree.source, provenance=prov))
    except PimsimError as exc:
        for key, ck in canon.items():
            if ck not in t.keys:
                raise _unknown_key(prefix + key, ref, base) from None
        shown = ", ".join(f"{k}={v}" for k, v in values.items())
        where = f"device entry {prefix[:-1]!r}: " if prefix else ""
        raise ConfigError(f"point {index} ({shown}): {where}{exc}") from None
    return config, canon


def _check_buildable(config: ResolvedSystem, values: dict[str, Any], index: int) -> None:
    """Build the point's system once (device models, links, placement: milliseconds) so that what only
    the device models check (a PIM memory's address bit fields, a placement's devices) fails here,
    before any work starts, not in a worker."""
    from sim.engine.system import build_system

    try:
        build_system(config)
    except PimsimError as exc:
        shown = ", ".join(f"{k}={v}" for k, v in values.items())
        raise ConfigError(f"point {index} ({shown}): {exc}") from None


def config_si(config: Any) -> dict[str, Any]:
    """A point's hardware config as plain data in SI units (a system's devices under their entry names)."""
    return config.to_si() if isinstance(config, ResolvedSystem) else to_si(config)


def _unknown_key(key: str, ref: str, base: _Base) -> ConfigError:
    near = suggest(key, [*sorted(base.keys), *WORKLOAD_KEYS, "hw"])
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    return ConfigError(
        f"unknown key '{key}' in the config of {ref}{'' if base.name == ref else f' ({base.name})'}{hint} "
        f"(`pimsim hw show {ref} --json` prints the keys; workload keys are "
        f"{', '.join(WORKLOAD_KEYS[:4])}, ...)"
    )


__all__ = ["Plan", "Point", "WORKLOAD_DEFAULTS", "digest", "plan_sweep"]
