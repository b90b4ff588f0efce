"""What a sweep explores: a base design (hardware preset, fixed overrides, workload) and its axes.

Axes combine as a Cartesian product, the first axis varying slowest:

* a **grid** axis: one key and its values (``memory.2.bandwidth=1TB/s,2TB/s``);
* a **zip** group: several keys whose value lists have the same length and move together;
* **random** samples: ``samples`` rows drawn (seeded) from one distribution per key, moving together.

Keys are hardware config keys (the dotted keys ``pimsim hw show NAME --json`` prints; list items by
index or by name, e.g. ``memory.hbm.bandwidth``), workload keys (``workload.batch``,
``workload.prompt``, ``workload.generate``, ``workload.model``, ``workload.dtype``, ...) or ``hw`` (the
preset itself). The same spec is read from a YAML sweep file (:func:`SweepSpec.from_yaml`) or built
from command-line flags; :meth:`SweepSpec.to_dict` writes it back (the ``sweep.yaml`` manifest).
"""

from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.errors import ConfigError
from sim.sweep.values import Distribution, draw_samples, expand_values, parse_distribution

#: Workload fields a sweep may set or vary (as ``workload.NAME``), with their defaults.
WORKLOAD_DEFAULTS: dict[str, Any] = {
    "model": "llama-2-7b",
    "batch": 1,
    "prompt": 1024,
    "generate": 256,
    "dtype": "fp16",
    "weight_dtype": None,
    "act_dtype": None,
    "kv_dtype": None,
    "conventions": "default",
    "routing": "uniform",
    "seed": 0,
}
WORKLOAD_KEYS = tuple(f"workload.{k}" for k in WORKLOAD_DEFAULTS)
DEFAULT_HW = "a100-80gb"
_FILE_KEYS = ("name", "hw", "model", "workload", "set", "grid", "zip", "random")


@dataclass
class RandomSpec:
    """``samples`` rows, each drawing every key of ``keys`` once, from a generator seeded with ``seed``."""

    samples: int
    seed: int = 0
    keys: dict[str, str | list[Any]] = field(default_factory=dict)

    def distributions(self) -> dict[str, Distribution]:
        """The parsed distribution of each key."""
        return {k: parse_distribution(v, k) for k, v in self.keys.items()}


@dataclass
class SweepSpec:
    """A base design and the axes that vary it (see the module doc)."""

    hw: str = DEFAULT_HW
    workload: dict[str, Any] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    zips: list[dict[str, list[Any]]] = field(default_factory=list)
    random: RandomSpec | None = None
    name: str = ""

    # ------------------------------------------------------------------------------------ structure

    def base_workload(self) -> dict[str, Any]:
        """The workload every point starts from (defaults, then the spec's values)."""
        unknown = [k for k in self.workload if k not in WORKLOAD_DEFAULTS]
        if unknown:
            near = difflib.get_close_matches(unknown[0], list(WORKLOAD_DEFAULTS), n=3, cutoff=0.5)
            raise ConfigError(
                f"unknown workload field{'; did you mean ' + ', '.join(near) + '?' if near else ''}",
                key=f"workload.{unknown[0]}",
                expected="one of " + ", ".join(WORKLOAD_DEFAULTS),
            )
        return {**WORKLOAD_DEFAULTS, **self.workload}

    def axes(self) -> list[tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
        """Each axis as (its keys, its rows of values); checks for empty and mismatched axes."""
        axes: list[tuple[tuple[str, ...], list[tuple[Any, ...]]]] = []
        for key, values in self.grid.items():
            if not values:
                raise ConfigError(
                    "empty grid: no values", key=key, expected="at least one value, e.g. KEY=1,2,4"
                )
            axes.append(((key,), [(v,) for v in values]))
        for group in self.zips:
            if not group:
                raise ConfigError(
                    "empty zip group", expected="KEY=V1,V2 pairs whose lists have the same length"
                )
            lengths = {k: len(v) for k, v in group.items()}
            if len(set(lengths.values())) != 1:
                raise ConfigError(
                    "zipped keys need value lists of the same length, got "
                    + ", ".join(f"{k}: {n}" for k, n in lengths.items())
                )
            if not next(iter(lengths.values())):
                raise ConfigError("empty zip group: no values", key=next(iter(group)))
            axes.append((tuple(group), list(zip(*group.values(), strict=True))))
        if self.random is not None:
            r = self.random
            if r.samples < 1:
                raise ConfigError(
                    "random keys need a number of samples of at least 1 (--sample N, or random.samples "
                    "in a sweep file)",
                    key="random.samples",
                    value=r.samples,
                )
            if not r.keys:
                raise ConfigError(
                    "random samples need at least one key",
                    key="random.keys",
                    expected="--random KEY=uniform(a, b)",
                )
            axes.append((tuple(r.keys), draw_samples(r.distributions(), r.samples, r.seed)))
        keys = [k for ks, _ in axes for k in ks]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ConfigError(
                f"key swept on two axes: {', '.join(dup)}", expected="each key on one axis only"
            )
        if not axes:
            raise ConfigError(
                "empty grid: nothing to sweep",
                expected="at least one --grid KEY=V1,V2, --zip or --sample with --random",
            )
        return axes

    def keys(self) -> list[str]:
        """The swept keys, in axis order."""
        return [k for ks, _ in self.axes() for k in ks]

    def points(self) -> list[dict[str, Any]]:
        """Every point's swept values (Cartesian product of the axes, the first axis slowest)."""
        axes = self.axes()
        out = []
        for combo in itertools.product(*(rows for _, rows in axes)):
            values: dict[str, Any] = {}
            for (keys, _), row in zip(axes, combo, strict=True):
                values.update(zip(keys, row, strict=True))
            out.append(values)
        return out

    # ------------------------------------------------------------------------------------ (de)serialise

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain data (the format of a YAML sweep file)."""
        out: dict[str, Any] = {"hw": self.hw, "workload": dict(self.workload)}
        if self.name:
            out["name"] = self.name
        if self.overrides:
            out["set"] = list(self.overrides)
        if self.grid:
            out["grid"] = {k: list(v) for k, v in self.grid.items()}
        if self.zips:
            out["zip"] = [{k: list(v) for k, v in g.items()} for g in self.zips]
        if self.random is not None:
            out["random"] = {
                "samples": self.random.samples,
                "seed": self.random.seed,
                "keys": dict(self.random.keys),
            }
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "<sweep>") -> SweepSpec:
        """Read a spec from plain data (a parsed YAML sweep file); errors name ``source``."""
        if not isinstance(data, dict):
            raise ConfigError("a sweep file must hold a mapping", file=source)
        for k in data:
            if k not in _FILE_KEYS:
                near = difflib.get_close_matches(str(k), _FILE_KEYS, n=2, cutoff=0.5)
                raise ConfigError(
                    f"unknown key{'; did you mean ' + ', '.join(near) + '?' if near else ''}",
                    file=source,
                    key=str(k),
                    expected="one of " + ", ".join(_FILE_KEYS),
                )
        workload = dict(_mapping(data.get("workload"), "workload", source))
        if data.get("model") is not None:
            workload["model"] = data["model"]
        grid = {
            str(k): expand_values(v, str(k)) for k, v in _mapping(data.get("grid"), "grid", source).items()
        }
        zips_raw = data.get("zip") or []
        if isinstance(zips_raw, dict):
            zips_raw = [zips_raw]
        if not isinstance(zips_raw, list):
            raise ConfigError("zip must be a list of groups", file=source, key="zip")
        zips = [
            {str(k): expand_values(v, str(k)) for k, v in _mapping(g, "zip", source).items()}
            for g in zips_raw
        ]
        random = None
        if data.get("random") is not None:
            r = _mapping(data["random"], "random", source)
            extra = set(r) - {"samples", "seed", "keys"}
            if extra:
                raise ConfigError(
                    "unknown key",
                    file=source,
                    key=f"random.{sorted(extra)[0]}",
                    expected="samples, seed, keys",
                )
            random = RandomSpec(
                samples=_int(r.get("samples", 0), "random.samples", source),
                seed=_int(r.get("seed", 0), "random.seed", source),
                keys={str(k): v for k, v in _mapping(r.get("keys"), "random.keys", source).items()},
            )
        overrides = data.get("set") or []
        if isinstance(overrides, str):
            overrides = [overrides]
        if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
            raise ConfigError("set must be a list of key.path=value strings", file=source, key="set")
        return cls(
            hw=str(data.get("hw") or DEFAULT_HW),
            workload=workload,
            overrides=list(overrides),
            grid=grid,
            zips=zips,
            random=random,
            name=str(data.get("name") or ""),
        )

    @classmethod
    def from_yaml(cls, path: str | Path) -> SweepSpec:
        """Read a YAML sweep file."""
        from sim.config.loader import read_yaml

        return cls.from_dict(read_yaml(Path(path)), source=str(path))


def _mapping(value: Any, key: str, source: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError("expected a mapping", file=source, key=key, value=value)
    return value


def _int(value: Any, key: str, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError("expected a whole number", file=source, key=key, value=value)
    return value


def parse_assignment(text: str, flag: str) -> tuple[str, str]:
    """Split a ``KEY=VALUES`` command-line argument; a ConfigError names the flag otherwise."""
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(
            f"{flag} needs KEY=VALUES", value=text, expected="e.g. memory.2.bandwidth=1TB/s,2TB/s"
        )
    if not values.strip():
        raise ConfigError(
            f"empty grid: {flag} {key}= has no values", key=key, expected="at least one value, e.g. KEY=1,2,4"
        )
    return key, values
