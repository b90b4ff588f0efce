"""Dotted config keys: the keys a config has, list items by name, suggestions for typos, unit dimensions.

A hardware key is a dotted path into the resolved config, exactly as ``pimsim hw show NAME --json``
prints it (``compute.fp16``, ``memory.2.bandwidth``). Items of a list of named entries may also be
addressed by name (``memory.hbm.bandwidth``); :func:`canonical_key` turns that into the index form.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from sim.config.display import flatten, to_si
from sim.config.units import dimension_of, format_quantity


def config_keys(model: BaseModel) -> list[str]:
    """Every leaf key of a validated config, dotted, list items by index."""
    return [k for k, _ in flatten(to_si(model))]


def canonical_key(data: Any, key: str) -> str:
    """``key`` with list items named by their ``name`` field replaced by their index."""
    out: list[str] = []
    cur = data
    for part in key.split("."):
        if isinstance(cur, list):
            idx = (
                int(part)
                if part.isdigit()
                else next(
                    (i for i, item in enumerate(cur) if isinstance(item, dict) and item.get("name") == part),
                    None,
                )
            )
            if idx is None or idx >= len(cur):
                out.append(part)
                cur = None
                continue
            out.append(str(idx))
            cur = cur[idx]
        else:
            out.append(part)
            cur = cur.get(part) if isinstance(cur, dict) else None
    return ".".join(out)


def set_path(data: dict[str, Any], key: str, value: Any) -> bool:
    """Set ``key`` (index form) in nested ``data`` to ``value``, creating missing mapping levels.

    Returns False when the path runs through a scalar or past the end of a list (nothing is set).
    """
    parts = key.split(".")
    cur: Any = data
    for part in parts[:-1]:
        if isinstance(cur, list):
            if not (part.isdigit() and int(part) < len(cur)):
                return False
            cur = cur[int(part)]
        elif isinstance(cur, dict):
            if not isinstance(cur.get(part), (dict, list)):
                if part in cur and cur[part] is not None:
                    return False
                cur[part] = {}
            cur = cur[part]
        else:
            return False
    last = parts[-1]
    if isinstance(cur, list):
        if not (last.isdigit() and int(last) < len(cur)):
            return False
        cur[int(last)] = value
        return True
    if isinstance(cur, dict):
        cur[last] = value
        return True
    return False


def suggest(key: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The candidates nearest to ``key`` (whole dotted key first, then by the last part)."""
    cands = list(dict.fromkeys(candidates))
    near = difflib.get_close_matches(key, cands, n=n, cutoff=0.6)
    if len(near) < n:
        last = key.rpartition(".")[2]
        by_last = [
            c for c in cands if difflib.SequenceMatcher(None, last, c.rpartition(".")[2]).ratio() >= 0.75
        ]
        near += [
            c
            for c in sorted(by_last, key=lambda c: -difflib.SequenceMatcher(None, key, c).ratio())
            if c not in near
        ]
    return near[:n]


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _is_container(annotation: Any) -> bool:
    """True for list/tuple/dict annotations (possibly optional), whose items a key part selects."""
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, dict):
        return True
    return any(_is_container(a) for a in typing.get_args(annotation) if a is not type(None))


def key_dimension(schema: type[BaseModel], key: str) -> str | None:
    """The unit dimension (``"bandwidth"``, ``"compute"``, ...) of a hardware key, or None.

    List items may be given by index or by name (``memory.2.bandwidth``, ``memory.hbm.bandwidth``).
    """
    model: Any = schema
    parts = key.split(".")
    i = 0
    while i < len(parts):
        fields = getattr(model, "model_fields", None)
        if fields is None or parts[i] not in fields:
            return None
        info = fields[parts[i]]
        inner = _inner_model(info.annotation)
        if inner is None:
            dim = dimension_of(info.annotation)
            for meta in info.metadata:
                dim = dim or getattr(getattr(meta, "func", None), "dim", None)
            return dim
        model = inner
        i += 2 if _is_container(info.annotation) else 1
    return None


def unit_of(dimension: str | None) -> str:
    """The SI unit symbol of a dimension (``"bandwidth"`` -> ``"B/s"``), ``""`` for None."""
    if not dimension:
        return ""
    return format_quantity(1.0, dimension).split(" ", 1)[1]


def hw_key_dimension(config: Any, key: str) -> str | None:
    """The unit dimension of a hardware key of ``config``: a validated config, or a resolved system
    (anything with ``config`` and ``devices``), whose device keys start with their entry name."""
    devices = getattr(config, "devices", None)
    inner = getattr(config, "config", None)
    if isinstance(devices, dict) and isinstance(inner, BaseModel):
        entry, _, rest = key.partition(".")
        dev = devices.get(entry)
        if isinstance(dev, BaseModel) and rest:
            return key_dimension(type(dev), rest)
        return key_dimension(type(inner), key)
    return key_dimension(type(config), key)
