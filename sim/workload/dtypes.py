"""Numeric datatypes of weights, activations and the KV cache.

Sizes are given in bits so that sub-byte formats (int4) stay exact; :func:`nbytes` rounds a tensor's
size up to whole bytes (packed storage).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from sim.errors import ConfigError


@dataclass(frozen=True, slots=True)
class DType:
    """A storage format: its name and its size in bits per element."""

    name: str
    bits: int

    @property
    def bytes(self) -> float:
        """Bytes per element (0.5 for int4)."""
        return self.bits / 8


DTYPES: dict[str, DType] = {
    d.name: d
    for d in (
        DType("fp32", 32),
        DType("tf32", 32),  # 19 significant bits, stored in a 32-bit container
        DType("fp16", 16),
        DType("bf16", 16),
        DType("fp8", 8),
        DType("int8", 8),
        DType("int4", 4),
    )
}


def get_dtype(name: str | DType, *, key: str = "dtype") -> DType:
    """Look up a datatype by name (case-insensitive); raise ConfigError naming the nearest names."""
    if isinstance(name, DType):
        return name
    if not isinstance(name, str) or name.lower() not in DTYPES:
        near = difflib.get_close_matches(str(name).lower(), DTYPES, n=3)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        raise ConfigError(f"unknown datatype{hint}", key=key, value=name,
                          expected="one of " + ", ".join(DTYPES))
    return DTYPES[name.lower()]


def nbytes(elements: int, dtype: DType) -> int:
    """Bytes needed to store ``elements`` values of ``dtype``, rounded up to a whole byte."""
    return (int(elements) * dtype.bits + 7) // 8


@dataclass(frozen=True, slots=True)
class DTypes:
    """Datatypes used by a workload: weights, activations and KV cache are set separately.

    Construct with names (``DTypes("int4", "fp16", "fp8")``); the fields hold the names and the
    ``w``/``a``/``kv`` properties the resolved :class:`DType`.
    """

    weight: str = "fp16"
    act: str = "fp16"
    kv: str = "fp16"

    def __post_init__(self) -> None:
        for field in ("weight", "act", "kv"):
            value = getattr(self, field)
            object.__setattr__(self, field, get_dtype(value, key=f"dtypes.{field}").name)

    @classmethod
    def uniform(cls, name: str) -> DTypes:
        """All three datatypes equal to ``name``."""
        return cls(name, name, name)

    @property
    def w(self) -> DType:
        return DTYPES[self.weight]

    @property
    def a(self) -> DType:
        return DTYPES[self.act]

    @property
    def k(self) -> DType:
        """The KV-cache datatype."""
        return DTYPES[self.kv]

    def to_dict(self) -> dict[str, str]:
        return {"weight": self.weight, "act": self.act, "kv": self.kv}
