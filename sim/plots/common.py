"""What every chart shares: output formats, axis labels with units, engineering tick labels, log scales."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim.errors import PimsimError

#: File types a chart can be saved as (by suffix).
FORMATS = (".png", ".svg", ".pdf")

#: Result columns: (label, unit) for axis titles and tick labels.
FIGURE_LABELS: dict[str, tuple[str, str]] = {
    "latency_s": ("end-to-end latency", "s"),
    "ttft_s": ("time to first token", "s"),
    "tbt_s": ("time between tokens", "s"),
    "energy_J": ("energy", "J"),
    "tokens_per_s": ("throughput", "tokens/s"),
    "energy_per_token_J": ("energy per token", "J"),
    "elapsed_s": ("simulation wall time", "s"),
    "workload.batch": ("batch", "sequences"),
    "workload.prompt": ("prompt", "tokens"),
    "workload.generate": ("generated", "tokens"),
}
_COUNT_UNITS = ("tokens", "sequences")
_SUFFIX_UNITS = {"_s": "s", "_J": "J", "flops": "FLOP", "bytes": "B", "steps": ""}


def check_path(path: str | Path) -> Path:
    """``path`` as a Path, if its suffix is a supported chart format; a PimsimError otherwise."""
    p = Path(path)
    if p.suffix.lower() not in FORMATS:
        raise PimsimError(
            f"cannot write a chart as {p.name!r}: use a file name ending in {', '.join(FORMATS)}"
        )
    return p


def pyplot() -> Any:
    """matplotlib.pyplot on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, path: str | Path, extra_artists: Sequence[Any] = ()) -> Path:
    """Save ``fig`` (format from the suffix) cropped to its content (``extra_artists`` too, e.g. a
    legend outside the axes), close it and return the path."""
    p = check_path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, bbox_inches="tight", bbox_extra_artists=list(extra_artists) or None)
    pyplot().close(fig)
    return p


def describe(column: str, units: dict[str, str] | None = None) -> tuple[str, str]:
    """A readable label and the SI unit of a results column or swept key."""
    if column in FIGURE_LABELS:
        return FIGURE_LABELS[column]
    if units and column in units:
        return column, units[column]
    if column.startswith("energy_J."):
        return f"{column.partition('.')[2]} energy", "J"
    if column.startswith("config.") and units and column[len("config.") :] in units:
        return column, units[column[len("config.") :]]
    for suffix, unit in _SUFFIX_UNITS.items():
        if column.endswith(suffix):
            return column.replace("_", " "), unit
    return column, ""


def axis_label(column: str, units: dict[str, str] | None = None) -> str:
    """``"label (unit)"`` for an axis title."""
    label, unit = describe(column, units)
    return f"{label} ({unit})" if unit else label


def wants_log(values: Sequence[float], ratio: float = 50.0) -> bool:
    """True when positive values span more than ``ratio`` (about two decades): use a log axis."""
    vals = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not vals or min(vals) <= 0:
        return False
    return max(vals) / min(vals) > ratio


def eng(value: float, unit: str = "", digits: int = 3) -> str:
    """``value`` with an SI prefix: ``eng(2.039e12, "B/s") -> "2.04 TB/s"``."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}".strip()
    prefixes = {
        -15: "f",
        -12: "p",
        -9: "n",
        -6: "µ",
        -3: "m",
        0: "",
        3: "k",
        6: "M",
        9: "G",
        12: "T",
        15: "P",
    }
    exp = int(math.floor(math.log10(abs(value)) / 3) * 3)
    exp = max(-15, min(15, exp))
    return f"{value / 10**exp:.{digits}g} {prefixes[exp]}{unit}".strip()


def formatter(unit: str) -> Any:
    """A tick formatter with SI prefixes and ``unit`` (``10 ms``), or None for counts (tokens, sequences)."""
    if not unit or unit in _COUNT_UNITS:
        return None
    from matplotlib.ticker import EngFormatter

    if "/" in unit and unit.split("/")[0] in _COUNT_UNITS:  # tokens/s: "30k", the unit is in the label
        return EngFormatter(unit="", places=None, sep="")
    return EngFormatter(unit=unit, places=None, sep=" ")


def format_axis(ax: Any, which: str, unit: str, log: bool) -> None:
    """Log scale if asked, and tick labels with SI prefixes and the unit (``10 ms``, ``2 TB/s``)."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    if log:
        (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    fmt = formatter(unit)
    if fmt is not None:
        axis.set_major_formatter(fmt)
        if log:
            axis.set_minor_formatter(formatter(unit) if _few_majors(ax, which) else "")


def _few_majors(ax: Any, which: str) -> bool:
    lo, hi = ax.get_xlim() if which == "x" else ax.get_ylim()
    return lo > 0 and hi / lo < 30


def value_label(value: Any, unit: str = "") -> str:
    """A short label of a swept value (numbers with SI prefixes and unit)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if unit and unit not in _COUNT_UNITS:
        return eng(float(value), unit)
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4g}"
