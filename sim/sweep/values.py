"""The value grammar of sweep axes: value lists, generators (``range``, ``linspace``, ``geomspace``) and
random distributions (``uniform``, ``loguniform``, ``randint``, ``choice``).

A grid axis is written ``KEY=V1,V2,...``; each item is read as YAML (``8`` is an int, ``1.5`` a float,
``1 TB/s`` and ``fp16`` strings that the config schema then parses) or is a generator call:

=============================== =======================================================
``range(9)``, ``range(1,9,2)``  integers as Python's ``range`` (the stop is excluded)
``linspace(1 TB/s, 3 TB/s, 5)`` ``n`` evenly spaced values, ends included; both ends may carry the
                                same unit, which every value then carries
``geomspace(1, 64, 7)``         ``n`` values evenly spaced on a log scale (1, 2, 4, ... 64)
=============================== =======================================================

Integers stay integers when every generated value is whole and both ends were integers. Random keys
use ``uniform(a, b)``, ``loguniform(a, b)`` (units allowed on both ends), ``randint(a, b)`` (both ends
included) or ``choice(v1, v2, ...)``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import yaml

from sim.errors import ConfigError

_CALL = re.compile(r"^\s*([a-z_]+)\s*\((.*)\)\s*$", re.S)
_NUM_UNIT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-zµ/]*)\s*$")
_OPEN, _CLOSE = "([{", ")]}"


def split_top(text: str, sep: str = ",") -> list[str]:
    """Split ``text`` at ``sep`` outside brackets and quotes (``a,range(1,3),[1,2]`` -> 3 items)."""
    items: list[str] = []
    depth = 0
    quote = ""
    cur: list[str] = []
    for ch in text:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
        elif ch == sep and depth == 0:
            items.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    items.append("".join(cur))
    return items


def parse_scalar(text: str, key: str) -> Any:
    """Read one value as YAML (numbers become numbers; ``1 TB/s`` stays a string)."""
    text = text.strip()
    if not text:
        raise ConfigError("empty value in the list", key=key, expected="values separated by commas")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _number_unit(text: str, key: str, what: str) -> tuple[float, str, bool]:
    """Split ``"1.5 TB/s"`` into (1.5, "TB/s", is_integer_literal)."""
    m = _NUM_UNIT.match(str(text))
    if not m:
        raise ConfigError(
            f"cannot read {what} {str(text).strip()!r}",
            key=key,
            expected="a number, optionally with a unit, e.g. 2 or 1.5 TB/s",
        )
    lit = m.group(1)
    return float(lit), m.group(2), re.fullmatch(r"[-+]?\d+", lit) is not None


def _format(x: float, unit: str, integral: bool) -> Any:
    if integral and unit == "" and float(x).is_integer():
        return int(round(x))
    if unit:
        return f"{x:.6g} {unit}"
    return float(f"{x:.12g}")


def _ends(args: list[str], key: str, name: str) -> tuple[float, float, int, str, bool]:
    if len(args) != 3:
        raise ConfigError(f"{name} takes (start, stop, count)", key=key, value=f"{name}({', '.join(args)})")
    a, ua, ia = _number_unit(args[0], key, f"{name} start")
    b, ub, ib = _number_unit(args[1], key, f"{name} stop")
    if ua != ub:
        raise ConfigError(f"{name}: both ends need the same unit ({ua or 'none'} vs {ub or 'none'})", key=key)
    n = _int_arg(args[2], key, f"{name} count")
    if n < 1:
        raise ConfigError(f"{name} count must be at least 1", key=key, value=n)
    return a, b, n, ua, ia and ib


def _int_arg(text: str, key: str, what: str) -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        raise ConfigError(f"{what} must be a whole number", key=key, value=str(text).strip()) from None


def _range(args: list[str], key: str) -> list[Any]:
    if not 1 <= len(args) <= 3:
        raise ConfigError("range takes (stop), (start, stop) or (start, stop, step)", key=key)
    nums = [_int_arg(a, key, "range argument") for a in args]
    if len(nums) == 3 and nums[2] == 0:
        raise ConfigError("range step must not be 0", key=key)
    return list(range(*nums))


def _linspace(args: list[str], key: str) -> list[Any]:
    a, b, n, unit, integral = _ends(args, key, "linspace")
    vals = [a] if n == 1 else [a + (b - a) * i / (n - 1) for i in range(n)]
    return [_format(v, unit, integral) for v in vals]


def _geomspace(args: list[str], key: str) -> list[Any]:
    a, b, n, unit, integral = _ends(args, key, "geomspace")
    if a <= 0 or b <= 0:
        raise ConfigError("geomspace ends must be positive", key=key, value=f"{a}, {b}")
    vals = [a] if n == 1 else [a * (b / a) ** (i / (n - 1)) for i in range(n)]
    if integral:
        vals = [round(v) if abs(v - round(v)) < 1e-9 * max(1.0, abs(v)) else v for v in vals]
    return [_format(v, unit, integral) for v in vals]


GENERATORS = {"range": _range, "linspace": _linspace, "geomspace": _geomspace}


def expand_item(item: Any, key: str) -> list[Any]:
    """One list item: a generator call expands to its values, anything else is one value."""
    if isinstance(item, str):
        m = _CALL.match(item)
        if m and m.group(1) in GENERATORS:
            args = [a.strip() for a in split_top(m.group(2))]
            return GENERATORS[m.group(1)](args, key)
        if m and m.group(1) in DISTRIBUTIONS:
            raise ConfigError(
                f"{m.group(1)}() draws random values; use it under random keys "
                f"(--random {key}={item.strip()}), not in a grid",
                key=key,
            )
    return [item]


def expand_values(spec: Any, key: str) -> list[Any]:
    """The values of one axis from a command-line string (``"1,2,range(4,8)"``), a YAML list or a scalar."""
    if isinstance(spec, str):
        items: list[Any] = [
            parse_scalar(t, key) if not _CALL.match(t) else t.strip() for t in split_top(spec)
        ]
    elif isinstance(spec, (list, tuple)):
        items = list(spec)
    elif spec is None:
        items = []
    else:
        items = [spec]
    out: list[Any] = []
    for item in items:
        out.extend(expand_item(item, key))
    if not out:
        raise ConfigError("empty list of values", key=key, expected="at least one value, e.g. KEY=1,2,4")
    return out


# ---------------------------------------------------------------------------------------------- random


@dataclass(frozen=True)
class Distribution:
    """A random distribution of one key's values (see the module doc for the names)."""

    kind: str
    args: tuple[Any, ...]
    unit: str = ""
    integral: bool = False

    def draw(self, rng: Any) -> Any:
        """One value drawn with the numpy Generator ``rng``."""
        if self.kind == "choice":
            return self.args[int(rng.integers(len(self.args)))]
        if self.kind == "randint":
            return int(rng.integers(self.args[0], self.args[1] + 1))
        a, b = self.args
        if self.kind == "uniform":
            x = float(rng.uniform(a, b))
        else:
            x = math.exp(float(rng.uniform(math.log(a), math.log(b))))
        return _format(x, self.unit, False)


DISTRIBUTIONS = ("uniform", "loguniform", "randint", "choice")


def parse_distribution(text: Any, key: str) -> Distribution:
    """Read ``uniform(a, b)``, ``loguniform(a, b)``, ``randint(a, b)`` or ``choice(v1, ...)``; a YAML
    list is read as ``choice`` of its items."""
    if isinstance(text, (list, tuple)):
        if not text:
            raise ConfigError("empty choice", key=key)
        return Distribution("choice", tuple(text))
    m = _CALL.match(str(text))
    if not m or m.group(1) not in DISTRIBUTIONS:
        raise ConfigError(
            "bad random distribution",
            key=key,
            value=text,
            expected="uniform(a, b), loguniform(a, b), randint(a, b) or choice(v1, v2, ...)",
        )
    kind = m.group(1)
    args = [a.strip() for a in split_top(m.group(2))]
    if kind == "choice":
        if not args or args == [""]:
            raise ConfigError("empty choice", key=key)
        return Distribution("choice", tuple(parse_scalar(a, key) for a in args))
    if len(args) != 2:
        raise ConfigError(f"{kind} takes two arguments (low, high)", key=key, value=text)
    if kind == "randint":
        lo, hi = (_int_arg(a, key, "randint bound") for a in args)
        if hi < lo:
            raise ConfigError("randint: high is below low", key=key, value=text)
        return Distribution(kind, (lo, hi), integral=True)
    a, ua, _ = _number_unit(args[0], key, f"{kind} low")
    b, ub, _ = _number_unit(args[1], key, f"{kind} high")
    if ua != ub:
        raise ConfigError(f"{kind}: both bounds need the same unit", key=key, value=text)
    if b < a:
        raise ConfigError(f"{kind}: high is below low", key=key, value=text)
    if kind == "loguniform" and a <= 0:
        raise ConfigError("loguniform bounds must be positive", key=key, value=text)
    return Distribution(kind, (a, b), unit=ua)


def draw_samples(dists: dict[str, Distribution], n: int, seed: int) -> list[tuple[Any, ...]]:
    """``n`` rows of values, one per key of ``dists`` in order, reproducible for a given ``seed``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return [tuple(d.draw(rng) for d in dists.values()) for _ in range(n)]
