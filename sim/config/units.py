"""Unit-bearing values in configs: parsed once, at load time, into SI floats.

Configs write quantities as strings with their unit ("1.555 TB/s", "312 TFLOPS", "40 MiB",
"1.41 GHz", "14 ns", "5.5 pJ/bit", "300 W"). :func:`parse_quantity` turns such a string into a float
in the SI base unit of its dimension:

=============== ============ ===========================================
dimension       SI unit      examples
=============== ============ ===========================================
time            s            "14 ns", "7.8 us", "1 ms", "2 s"
frequency       Hz           "1.41 GHz", "800 MHz"
bandwidth       B/s          "1.555 TB/s", "64 GB/s", "25 Gb/s" (bits/8), "900 GiB/s"
size            bytes        "40 MiB", "40 MB", "16 GB", "512 KiB", "64 B", "128 bit"
compute         FLOP/s       "312 TFLOPS", "624 TOPS", "19.5 TFLOP/s"
energy          J            "5.5 pJ", "1.2 nJ"
energy_per_bit  J/bit        "5.5 pJ/bit", "0.5 pJ/b", "4 pJ/B" (per byte / 8)
power           W            "300 W", "70 mW"
voltage         V            "1.2 V", "1350 mV"
current         A            "48 mA", "1.2 A"
=============== ============ ===========================================

Decimal prefixes (k, M, G, T, P) are powers of 1000; binary prefixes (Ki, Mi, Gi, Ti) powers of
1024. A bare number is accepted only where the dimension is dimensionless or where the caller allows
it (``allow_bare=True``), so "1555" for a bandwidth is an error: the unit must be written.
"""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import BeforeValidator

DIMENSIONS = ("time", "frequency", "bandwidth", "size", "compute", "energy", "energy_per_bit",
              "power", "voltage", "current")

_DEC = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
_SMALL = {"": 1.0, "m": 1e-3, "u": 1e-6, "µ": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15}
_BIN = {"Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50}

_ALL_PREFIX = {**_SMALL, **_DEC}

# unit symbol -> (dimension, factor to SI); prefixes are applied separately.
_BASE_UNITS: dict[str, tuple[str, float]] = {
    "s": ("time", 1.0),
    "Hz": ("frequency", 1.0),
    "B/s": ("bandwidth", 1.0),
    "Bps": ("bandwidth", 1.0),
    "b/s": ("bandwidth", 1 / 8),
    "bps": ("bandwidth", 1 / 8),
    "bit/s": ("bandwidth", 1 / 8),
    "B": ("size", 1.0),
    "byte": ("size", 1.0),
    "bytes": ("size", 1.0),
    "b": ("size", 1 / 8),
    "bit": ("size", 1 / 8),
    "bits": ("size", 1 / 8),
    "FLOPS": ("compute", 1.0),
    "FLOP/s": ("compute", 1.0),
    "flops": ("compute", 1.0),
    "OPS": ("compute", 1.0),
    "OP/s": ("compute", 1.0),
    "ops": ("compute", 1.0),
    "J": ("energy", 1.0),
    "J/bit": ("energy_per_bit", 1.0),
    "J/b": ("energy_per_bit", 1.0),
    "J/B": ("energy_per_bit", 1 / 8),
    "J/byte": ("energy_per_bit", 1 / 8),
    "W": ("power", 1.0),
    "V": ("voltage", 1.0),
    "A": ("current", 1.0),
}

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RE = re.compile(rf"^\s*({_NUM})\s*([A-Za-zµ/]*)\s*$")

_EXAMPLE = {
    "time": '"14 ns"', "frequency": '"1.41 GHz"', "bandwidth": '"1.555 TB/s"', "size": '"40 MiB"',
    "compute": '"312 TFLOPS"', "energy": '"5.5 pJ"', "energy_per_bit": '"5.5 pJ/bit"',
    "power": '"300 W"', "voltage": '"1.2 V"', "current": '"48 mA"',
}


class UnitError(ValueError):
    """A quantity string that cannot be read as the expected dimension."""


def _split_unit(unit: str) -> tuple[str, float] | None:
    """Return (dimension, SI factor) of a unit string with an optional prefix, or None."""
    if unit in _BASE_UNITS:
        return _BASE_UNITS[unit]
    for prefix, factor in _BIN.items():
        if unit.startswith(prefix) and unit[len(prefix):] in _BASE_UNITS:
            dim, f = _BASE_UNITS[unit[len(prefix):]]
            if dim in ("size", "bandwidth"):
                return dim, f * factor
    for prefix, factor in _ALL_PREFIX.items():
        if prefix and unit.startswith(prefix) and unit[len(prefix):] in _BASE_UNITS:
            dim, f = _BASE_UNITS[unit[len(prefix):]]
            return dim, f * factor
    return None


def expected_text(dim: str) -> str:
    """Human description of what a value of ``dim`` should look like."""
    return f"a {dim.replace('_', ' ')} with its unit, e.g. {_EXAMPLE.get(dim, dim)}"


def parse_quantity(value: str | int | float, dim: str, *, allow_bare: bool = False) -> float:
    """Parse ``value`` as a quantity of dimension ``dim``; return it in SI units (see module doc).

    Raises :class:`UnitError` (a ``ValueError``) saying what was expected.
    """
    if dim not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dim!r}")
    if isinstance(value, bool):
        raise UnitError(f"expected {expected_text(dim)}, not a boolean")
    if isinstance(value, (int, float)):
        if allow_bare:
            return float(value)
        raise UnitError(f"a bare number has no unit; expected {expected_text(dim)}")
    if not isinstance(value, str):
        raise UnitError(f"expected {expected_text(dim)}")
    m = _RE.match(value)
    if not m:
        raise UnitError(f"cannot read {value!r}; expected {expected_text(dim)}")
    number = float(m.group(1))
    unit = m.group(2)
    if not unit:
        if allow_bare:
            return number
        raise UnitError(f"{value!r} has no unit; expected {expected_text(dim)}")
    found = _split_unit(unit)
    if found is None:
        raise UnitError(f"unknown unit {unit!r} in {value!r}; expected {expected_text(dim)}")
    got_dim, factor = found
    if got_dim != dim:
        raise UnitError(f"{value!r} is a {got_dim.replace('_', ' ')}; expected {expected_text(dim)}")
    result = float(f"{number * factor:.12g}")  # drop binary noise such as 2.039e12 -> 2039000000000.0002
    if not math.isfinite(result):
        raise UnitError(f"{value!r} is not a finite number")
    return result


def _validator(dim: str, nonneg: bool = True):
    def check(v: object) -> float:
        x = parse_quantity(v, dim)  # type: ignore[arg-type]
        if nonneg and x < 0:
            raise UnitError(f"{v!r} is negative; expected a non-negative {dim.replace('_', ' ')}")
        return x
    check.dim = dim  # type: ignore[attr-defined]  # read by dimension_of() for display
    return check


def dimension_of(annotation: object) -> str | None:
    """The unit dimension of a pydantic field annotation built from the types below, else None."""
    import typing

    for meta in getattr(annotation, "__metadata__", ()):
        dim = getattr(getattr(meta, "func", None), "dim", None)
        if dim:
            return dim
    for arg in typing.get_args(annotation):
        dim = dimension_of(arg)
        if dim:
            return dim
    return None


Seconds = Annotated[float, BeforeValidator(_validator("time"))]
Hertz = Annotated[float, BeforeValidator(_validator("frequency"))]
BytesPerSecond = Annotated[float, BeforeValidator(_validator("bandwidth"))]
Bytes = Annotated[float, BeforeValidator(_validator("size"))]
FlopsPerSecond = Annotated[float, BeforeValidator(_validator("compute"))]
Joules = Annotated[float, BeforeValidator(_validator("energy"))]
JoulesPerBit = Annotated[float, BeforeValidator(_validator("energy_per_bit"))]
Watts = Annotated[float, BeforeValidator(_validator("power"))]
Volts = Annotated[float, BeforeValidator(_validator("voltage"))]
Amperes = Annotated[float, BeforeValidator(_validator("current"))]

_FORMAT = {
    "time": ("s", False), "frequency": ("Hz", False), "bandwidth": ("B/s", False),
    "size": ("B", True), "compute": ("FLOP/s", False), "energy": ("J", False),
    "energy_per_bit": ("J/bit", False), "power": ("W", False), "voltage": ("V", False),
    "current": ("A", False),
}


def format_quantity(value: float, dim: str, digits: int = 4) -> str:
    """Format an SI value with an engineering prefix and the dimension's unit, e.g. 1.555e12 -> '1.555 TB/s'.

    Sizes use binary prefixes when the value is an exact multiple of a binary unit (40 MiB).
    """
    unit, binary = _FORMAT[dim]
    if value == 0:
        return f"0 {unit}"
    if binary:
        for prefix in ("Ti", "Gi", "Mi", "Ki"):
            f = _BIN[prefix]
            if abs(value) >= f and value % f == 0:
                return f"{value / f:g} {prefix}{unit}"
    for prefix, f in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3), ("", 1.0),
                      ("m", 1e-3), ("u", 1e-6), ("n", 1e-9), ("p", 1e-12), ("f", 1e-15)):
        if abs(value) >= f * 0.9999999:
            return f"{value / f:.{digits}g} {prefix}{unit}"
    return f"{value:.{digits}g} {unit}"
