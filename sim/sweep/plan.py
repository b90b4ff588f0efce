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
from typing import Any

from pydantic import BaseModel

from sim.config import KINDS, schema_for
from sim.config.display import flatten, to_si
from sim.config.loader import ConfigTree, load_tree, validate
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
    config: BaseModel  #: the validated hardware config
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
            "config": to_si(self.config),
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
class _Base:
    tree: ConfigTree
    schema: type[BaseModel]
    keys: set[str]
    name: str


def _load_base(ref: str, overrides: list[str]) -> _Base:
    tree = load_tree(ref, overrides)
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
    return _Base(tree, schema, set(config_keys(cfg)), getattr(cfg, "name", ref))


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
        si = to_si(config)
        config_hash = digest(si)
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
) -> tuple[BaseModel, dict[str, str], dict[str, Any]]:
    """The validated config of one point, the canonical form of each swept hardware key, the flat config."""
    data = copy.deepcopy(base.tree.data)
    prov = dict(base.tree.provenance)
    canon: dict[str, str] = {}
    for key, value in values.items():
        if key == "hw" or key.startswith("workload."):
            continue
        ck = canonical_key(base.tree.data, key)
        canon[key] = ck
        if not set_path(data, ck, value):
            raise _unknown_key(key, ref, base)
        prov[ck] = SWEEP_SOURCE
    try:
        config = validate(base.schema, ConfigTree(data=data, source=base.tree.source, provenance=prov))
    except PimsimError as exc:
        for key, ck in canon.items():
            if ck not in base.keys:
                raise _unknown_key(key, ref, base) from None
        shown = ", ".join(f"{k}={v}" for k, v in values.items())
        raise ConfigError(f"point {index} ({shown}): {exc}") from None
    return config, canon, dict(flatten(to_si(config)))


def _unknown_key(key: str, ref: str, base: _Base) -> ConfigError:
    near = suggest(key, [*sorted(base.keys), *WORKLOAD_KEYS, "hw"])
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    return ConfigError(
        f"unknown key '{key}' in the config of {ref}{'' if base.name == ref else f' ({base.name})'}{hint} "
        f"(`pimsim hw show {ref} --json` prints the keys; workload keys are "
        f"{', '.join(WORKLOAD_KEYS[:4])}, ...)"
    )


__all__ = ["Plan", "Point", "WORKLOAD_DEFAULTS", "digest", "plan_sweep"]
