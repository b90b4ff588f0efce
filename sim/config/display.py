"""Rendering validated configs for people (values with units) and for machines (SI JSON)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from sim.config.units import dimension_of, format_quantity


def to_si(model: BaseModel) -> dict[str, Any]:
    """The config as nested plain JSON-able data with SI values (seconds, bytes, B/s, FLOP/s, J, W...)."""
    return model.model_dump(mode="json")


def to_display(model: BaseModel) -> dict[str, Any]:
    """The config as nested data whose unit-bearing values are strings with units (e.g. '1.555 TB/s')."""
    out: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        dim = dimension_of(info.annotation) or next(
            (d for d in (getattr(getattr(m, "func", None), "dim", None) for m in info.metadata) if d), None)
        out[name] = _render(getattr(model, name), dim)
    return out


def _render(value: Any, dim: str | None) -> Any:
    if isinstance(value, BaseModel):
        return to_display(value)
    if isinstance(value, dict):
        return {k: _render(v, dim) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_render(v, dim) for v in value]
    if dim and isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_quantity(float(value), dim)
    return value


def flatten(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Dotted ``key.path`` / value pairs of nested data (list items addressed by index)."""
    rows: list[tuple[str, Any]] = []
    if isinstance(data, dict):
        for k, v in data.items():
            rows += flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(data, list) and data and any(isinstance(v, (dict, list)) for v in data):
        for i, v in enumerate(data):
            rows += flatten(v, f"{prefix}.{i}")
    else:
        rows.append((prefix, data))
    return rows
