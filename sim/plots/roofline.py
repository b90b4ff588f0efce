"""Roofline charts: log-log, one bandwidth ceiling per memory level, the compute roof, ridge points,
ops as points coloured by kind, the heaviest ops labelled."""

from __future__ import annotations

import math
from collections.abc import Sequence
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
        stack = sum(1 for (px, py, _) in placed if abs(math.log10(px / x)) < 0.3 and abs(math.log10(py / y)) < 0.3)
        placed.append((x, y, stack))
        ax.annotate(f"{key[0]} ({key[1]})", xy=(x, y), xytext=(6, -12 - 10 * stack), textcoords="offset points",
                    fontsize=7, arrowprops={"arrowstyle": "-", "color": "0.6", "lw": 0.5} if stack else None)

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
