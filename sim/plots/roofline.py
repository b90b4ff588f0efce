"""Roofline charts: log-log, one bandwidth ceiling per memory level, the compute roof, ridge points,
ops as points coloured by kind, the heaviest ops labelled (:func:`plot_roofline`, one device), and
several devices on one chart (:func:`plot_rooflines`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sim.results.roofline import Ceilings, OpPlacement

_MARKERS = {"prefill": "o", "decode": "^"}


def plot_roofline(placements: Sequence[OpPlacement], ceil: Ceilings, path: str | Path, *,
                  title: str | None = None, label_top: int = 4) -> Path:
    """Draw ``placements`` against ``ceil`` and save to ``path`` (PNG, SVG or PDF by suffix)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    path = Path(path)
    pts = [p for p in placements if p.flops > 0 and p.bytes > 0]
    xs = [p.intensity for p in pts] or [1.0]
    peak = ceil.peak_flops_per_s
    ridges = [peak / bw for _, bw in ceil.levels]
    xmin = 10 ** math.floor(math.log10(max(1e-3, min(xs + ridges) / 4)))
    xmax = 10 ** math.ceil(math.log10(max(xs + ridges) * 4))

    fig, ax = plt.subplots(figsize=(9, 6), dpi=120)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, ((name, bw), ridge) in enumerate(zip(ceil.levels, ridges, strict=True)):
        ax.plot([xmin, ridge], [bw * xmin, peak], color="0.35", lw=1.2, ls=["-", "--", ":", "-."][i % 4])
        ax.annotate(f"{name} {bw / 1e12:.3g} TB/s", xy=(xmin * 1.3, bw * xmin * 1.3), fontsize=8,
                    color="0.25", rotation=0)
        ax.plot([ridge], [peak], marker="|", ms=12, color="0.35")
        ax.annotate(f"ridge {ridge:.3g}", xy=(ridge, peak), xytext=(0, 6), textcoords="offset points",
                    fontsize=7, ha="center", color="0.35")
    ax.plot([min(ridges), xmax], [peak, peak], color="k", lw=1.5)
    ax.annotate(f"{ceil.dtype} peak {peak / 1e12:.4g} TFLOP/s", xy=(xmax / 1.5, peak), xytext=(0, 4),
                textcoords="offset points", ha="right", fontsize=8)

    kinds = sorted({p.kind for p in pts})
    for j, kind in enumerate(kinds):
        for phase in ("prefill", "decode"):
            sel = [p for p in pts if p.kind == kind and p.phase == phase]
            if not sel:
                continue
            ax.scatter([p.intensity for p in sel], [p.attained_flops_per_s for p in sel], s=22,
                       color=colours[j % len(colours)], marker=_MARKERS.get(phase, "o"), alpha=0.8,
                       label=f"{kind} ({phase})", edgecolors="none")
    # label the heaviest op names (summed over layers); stack labels of points that nearly coincide
    weight: dict[tuple[str, str], float] = {}
    where: dict[tuple[str, str], OpPlacement] = {}
    for p in pts:
        key = (p.name.split(".", 1)[-1] if p.layer >= 0 else p.name, p.phase)
        weight[key] = weight.get(key, 0.0) + p.time_s
        where.setdefault(key, p)
    heavy = [k for ph in ("prefill", "decode")
             for k in sorted((k for k in weight if k[1] == ph), key=lambda k: -weight[k])[:label_top]]
    placed: list[tuple[float, float, int]] = []
    for key in sorted(heavy, key=lambda k: (where[k].intensity, where[k].attained_flops_per_s)):
        p = where[key]
        x, y = p.intensity, p.attained_flops_per_s
        stack = sum(1 for (px, py, _) in placed
                    if abs(math.log10(px / x)) < 0.3 and abs(math.log10(py / y)) < 0.3)
        placed.append((x, y, stack))
        ax.annotate(f"{key[0]} ({key[1]})", xy=(x, y), xytext=(6, -12 - 10 * stack),
                    textcoords="offset points", fontsize=7,
                    arrowprops={"arrowstyle": "-", "color": "0.6", "lw": 0.5} if stack else None)

    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(xmin, xmax)
    ymin = min([p.attained_flops_per_s for p in pts] + [ceil.levels[-1][1] * xmin]) / 3
    ax.set_ylim(ymin, peak * 3)
    ax.set_xlabel("arithmetic intensity (FLOP/byte of DRAM traffic)")
    ax.set_ylabel("attained performance (FLOP/s)")
    ax.set_title(title or f"roofline: {ceil.device}")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


# ------------------------------------------------------------------------------------------------------
# Several devices on one chart


_DEVICE_COLOURS = ("#222222", "#b2182b", "#2166ac", "#1b7837", "#762a83", "#e08214")
_DEVICE_MARKERS = ("o", "s", "^", "D", "v", "P")
_LEVEL_STYLES = ("-", "--", "-.", ":")  # outermost (DRAM) solid, then inwards


@dataclass(frozen=True)
class RooflineSeries:
    """One device on a multi-device roofline: its label, placed ops and ceilings."""

    label: str
    placements: Sequence[OpPlacement]
    ceilings: Ceilings


def plot_rooflines(series: Sequence[RooflineSeries], path: str | Path, *, color_by: str = "kind",
                   title: str | None = None) -> Path:
    """Several devices' rooflines on one log-log chart, with hierarchical ceilings (one line per memory
    level up to its ridge point, then the compute roof) in the device's colour and its ops as points
    (marker per device, colour by op ``kind`` or ``phase``). Saved as PNG, SVG or PDF by suffix."""
    from sim.errors import PimsimError
    from sim.plots.common import check_path, pyplot, save

    if color_by not in ("kind", "phase"):
        raise PimsimError(f"colour ops by kind or phase (got {color_by!r})")
    if not series:
        raise PimsimError("nothing to plot: no devices given")
    check_path(path)
    plt = pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.ticker import EngFormatter

    pts_all = [p for s in series for p in s.placements if p.flops > 0 and p.bytes > 0]
    ridges = [s.ceilings.peak_flops_per_s / bw for s in series for _, bw in s.ceilings.levels]
    xs = [p.intensity for p in pts_all if math.isfinite(p.intensity)] or [1.0]
    xmin = 10 ** math.floor(math.log10(max(1e-3, min(xs + ridges) / 4)))
    xmax = 10 ** math.ceil(math.log10(max(xs + ridges) * 4))
    fig, ax = plt.subplots(figsize=(10, 6.2), dpi=120)
    ceiling_handles = []
    ymins = []
    for i, s in enumerate(series):
        c = s.ceilings
        colour = _DEVICE_COLOURS[i % len(_DEVICE_COLOURS)]
        peak = c.peak_flops_per_s
        levels = list(c.levels)[::-1]  # outermost first
        for j, (name, bw) in enumerate(levels):
            ridge = peak / bw
            style = _LEVEL_STYLES[min(j, len(_LEVEL_STYLES) - 1)]
            ax.plot([xmin, ridge], [bw * xmin, peak], color=colour, lw=1.3, ls=style)
            ceiling_handles.append(Line2D([], [], color=colour, ls=style,
                                          label=f"{s.label}: {name} {bw / 1e12:.3g} TB/s "
                                                f"(ridge {ridge:.3g})"))
            ymins.append(bw * xmin)
        ax.plot([min(peak / bw for _, bw in levels), xmax], [peak, peak], color=colour, lw=2)
        ceiling_handles.append(Line2D([], [], color=colour, lw=2,
                                      label=f"{s.label}: {c.dtype} peak {peak / 1e12:.4g} TFLOP/s"))
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    groups = sorted({getattr(p, color_by) for p in pts_all})
    colour_of = {g: palette[k % len(palette)] for k, g in enumerate(groups)}
    for i, s in enumerate(series):
        pts = [p for p in s.placements if p.flops > 0 and p.bytes > 0]
        marker = _DEVICE_MARKERS[i % len(_DEVICE_MARKERS)]
        ax.scatter([p.intensity for p in pts], [p.attained_flops_per_s for p in pts], s=24, marker=marker,
                   c=[colour_of[getattr(p, color_by)] for p in pts], alpha=0.85,
                   edgecolors=_DEVICE_COLOURS[i % len(_DEVICE_COLOURS)], linewidths=0.4)
        ymins += [p.attained_flops_per_s for p in pts]
    op_handles = [Line2D([], [], ls="", marker="o", color=colour_of[g], label=str(g)) for g in groups]
    if len(series) > 1:
        op_handles += [Line2D([], [], ls="", marker=_DEVICE_MARKERS[i % len(_DEVICE_MARKERS)], color="0.4",
                              mfc="none", label=f"ops on {s.label}") for i, s in enumerate(series)]
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(min(ymins) / 3, max(s.ceilings.peak_flops_per_s for s in series) * 3)
    ax.yaxis.set_major_formatter(EngFormatter(unit="FLOP/s", sep=" "))
    ax.set_xlabel("arithmetic intensity (FLOP/byte of DRAM traffic)")
    ax.set_ylabel("attained performance (FLOP/s)")
    ax.set_title(title or "roofline: " + ", ".join(s.label for s in series))
    ax.grid(True, which="major", alpha=0.3)
    leg = ax.legend(handles=ceiling_handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                    frameon=False, title="ceilings", title_fontsize=8)
    ax.add_artist(leg)
    ax.legend(handles=op_handles, fontsize=7, loc="lower left", bbox_to_anchor=(1.01, 0.0), frameon=False,
              title=f"ops by {color_by}", title_fontsize=8)
    return save(fig, path, extra_artists=[leg])
