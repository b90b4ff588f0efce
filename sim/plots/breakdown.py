"""Latency and energy breakdown bars: one bar per design (device, sweep point), latency stacked by phase
(prefill, decode), energy stacked by component (compute, each memory level, static)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.errors import PimsimError
from sim.plots.common import eng, pyplot, save

PHASES = ("prefill", "decode")


@dataclass
class Breakdown:
    """One bar pair: seconds per phase and joules per component."""

    label: str
    time_s: dict[str, float] = field(default_factory=dict)
    energy_J: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_record(cls, label: str, rec: dict[str, Any]) -> Breakdown:
        """From a flat result record (a sweep row or ``Result.record()``)."""
        time_s = {p: float(rec.get(f"{p}.time_s", 0.0) or 0.0) for p in PHASES}
        energy = {
            k.partition(".")[2]: float(v)
            for k, v in rec.items()
            if k.startswith("energy_J.") and v == v and v is not None
        }
        return cls(label, time_s, energy)


def plot_breakdown(
    items: Sequence[Breakdown], path: str | Path, *, title: str | None = None, relative: bool = False
) -> Path:
    """Two panels of stacked bars: latency by phase and energy by component (``relative``: shares)."""
    import numpy as np

    if not items:
        raise PimsimError("nothing to plot: no designs given")
    plt = pyplot()
    from matplotlib.ticker import EngFormatter, PercentFormatter

    n = len(items)
    fig, (ax_t, ax_e) = plt.subplots(1, 2, figsize=(max(9.0, 1.1 * n * 2 + 4), 5), dpi=120)
    xs = np.arange(n)
    labels = [it.label for it in items]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, attr, unit, name in ((ax_t, "time_s", "s", "latency"), (ax_e, "energy_J", "J", "energy")):
        parts = list(dict.fromkeys(k for it in items for k in getattr(it, attr)))
        if attr == "energy_J" and "static" in parts:  # static last, on top
            parts = [p for p in parts if p != "static"] + ["static"]
        bottom = np.zeros(n)
        totals = np.array([sum(getattr(it, attr).values()) for it in items])
        for j, part in enumerate(parts):
            vals = np.array([getattr(it, attr).get(part, 0.0) for it in items])
            if relative:
                vals = np.divide(vals, totals, out=np.zeros(n), where=totals > 0)
            ax.bar(xs, vals, 0.6, bottom=bottom, label=part, color=colours[j % len(colours)])
            bottom += vals
        if relative:
            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
            ax.set_ylabel(f"share of {name}")
        else:
            ax.yaxis.set_major_formatter(EngFormatter(unit=unit, sep=" "))
            ax.set_ylabel(f"{name} ({unit})")
            for x, tot in zip(xs, totals, strict=True):
                ax.annotate(
                    eng(float(tot), unit),
                    (x, tot),
                    xytext=(0, 3),
                    textcoords="offset points",
                    ha="center",
                    fontsize=7,
                )
            ax.set_ylim(0, max(totals) * 1.12 if max(totals) > 0 else 1)
        ax.set_xticks(xs, labels, rotation=25 if n > 3 else 0, ha="right" if n > 3 else "center", fontsize=8)
        ax.set_title(f"{name} by {'phase' if attr == 'time_s' else 'component'}")
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save(fig, path)
