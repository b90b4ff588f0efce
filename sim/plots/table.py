"""Selecting rows of a sweep results table for a chart: finished points, ``--where`` filters, the keys
that still vary."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sim.errors import PimsimError


def ok_rows(df: Any) -> Any:
    """Rows of finished points (``status == "ok"``); a PimsimError if there are none."""
    if "status" in df.columns:
        df = df[df["status"] == "ok"]
    if not len(df):
        raise PimsimError("no finished points to plot (every point failed or the sweep is empty)")
    return df


def require_columns(df: Any, *columns: str | None) -> None:
    """A PimsimError naming the missing column and the nearest existing ones."""
    import difflib

    for c in columns:
        if c is not None and c not in df.columns:
            near = difflib.get_close_matches(c, [str(x) for x in df.columns], n=4, cutoff=0.4)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise PimsimError(f"no column {c!r} in the results table{hint}")


def _coerce(value: Any, column: Any) -> Any:
    """A ``--where`` value in the column's terms (a unit string becomes its SI number)."""
    import pandas as pd

    if not pd.api.types.is_numeric_dtype(column) or not isinstance(value, str):
        return value
    from sim.config.units import DIMENSIONS, UnitError, parse_quantity

    for dim in DIMENSIONS:
        try:
            return parse_quantity(value, dim)
        except UnitError:
            continue
    try:
        return float(value)
    except ValueError:
        raise PimsimError(f"cannot compare {value!r} with the numbers of column {column.name!r}") from None


def where(df: Any, conditions: Mapping[str, Any]) -> Any:
    """Rows whose columns equal the given values (numbers compared with a relative tolerance of 1e-9)."""
    for key, value in conditions.items():
        require_columns(df, key)
        col = df[key]
        v = _coerce(value, col)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            mask = col.apply(lambda x, v=v: isinstance(x, (int, float)) and math.isclose(x, v, rel_tol=1e-9))
        else:
            mask = col.astype(str) == str(v)
        if not mask.any():
            values = ", ".join(str(x) for x in sorted(col.dropna().unique(), key=str)[:10])
            raise PimsimError(f"no point has {key}={value} (values: {values})")
        df = df[mask]
    return df


def parse_where(texts: Sequence[str]) -> dict[str, Any]:
    """``["KEY=V", ...]`` to a mapping (values read as YAML)."""
    import yaml

    out: dict[str, Any] = {}
    for t in texts:
        key, sep, value = t.partition("=")
        if not sep or not key.strip():
            raise PimsimError(f"--where needs KEY=VALUE (got {t!r})")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            out[key.strip()] = value
    return out


def varying(df: Any, keys: Sequence[str], exclude: Sequence[str] = ()) -> list[str]:
    """The keys among ``keys`` (minus ``exclude``) that take more than one value in ``df``."""
    return [k for k in keys if k in df.columns and k not in exclude and df[k].astype(str).nunique() > 1]


def swept_keys(df: Any) -> list[str]:
    """The swept keys of a results table (from ``df.attrs``, else guessed from varying inputs)."""
    keys = list(df.attrs.get("swept") or [])
    if keys:
        return keys
    candidates = [c for c in df.columns if c.startswith("workload.") or c == "hw"]
    return varying(df, candidates)
