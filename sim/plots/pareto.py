"""Pareto fronts: the design points no other point beats on every objective (latency, energy, cost...)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sim.plots.common import (
    axis_label,
    describe,
    format_axis,
    formatter,
    pyplot,
    save,
    value_label,
    wants_log,
)
from sim.plots.table import ok_rows, require_columns, swept_keys, where


def pareto_mask(values: Any, maximize: Sequence[bool] | None = None) -> Any:
    """Boolean mask of the non-dominated rows of ``values`` (n points x k objectives).

    Objectives are minimised unless ``maximize[j]``. A point is dominated when another is at least as
    good on every objective and strictly better on one; equal points are all kept.
    """
    import numpy as np

    v = np.asarray(values, dtype=float)
    if v.ndim != 2:
        raise ValueError("values must be a 2-D array (points x objectives)")
    if maximize is not None:
        v = np.where(np.asarray(maximize, dtype=bool)[None, :], -v, v)
    n = len(v)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        if not keep[i]:
            continue
        better_eq = np.all(v <= v[i], axis=1)
        strictly = np.any(v < v[i], axis=1)
        if np.any(better_eq & strictly):
            keep[i] = False
    return keep


def plot_pareto(
    df: Any,
    path: str | Path,
    *,
    x: str = "latency_s",
    y: str = "energy_J",
    color: str | None = None,
    maximize: Sequence[str] = (),
    filters: Mapping[str, Any] | None = None,
    title: str | None = None,
    label_front: int = 8,
) -> Path:
    """Every point of ``x`` against ``y``, the Pareto front over ``x``, ``y`` (and ``color`` when given,
    a third objective shown as colour) highlighted and its points labelled with their swept values."""

    units = dict(df.attrs.get("units") or {})
    keys = swept_keys(df)
    df = where(ok_rows(df), filters or {})
    require_columns(df, x, y, color)
    objectives = [x, y] + ([color] if color and color not in (x, y) else [])
    front = pareto_mask(df[objectives].to_numpy(dtype=float), [o in maximize for o in objectives])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8.5, 5.5), dpi=120)
    if color:
        sc = ax.scatter(
            df[x],
            df[y],
            c=df[color],
            cmap="viridis",
            s=28,
            alpha=0.85,
            edgecolors="none",
            label="design points",
        )
        cbar = fig.colorbar(sc, ax=ax)
        cbar.set_label(axis_label(color, units) + (" (maximised)" if color in maximize else ""))
        if formatter(describe(color, units)[1]) is not None:
            cbar.ax.yaxis.set_major_formatter(formatter(describe(color, units)[1]))
    else:
        ax.scatter(df[x], df[y], color="0.6", s=22, alpha=0.8, edgecolors="none", label="design points")
    f = df[front].sort_values(x)
    ax.scatter(
        f[x], f[y], facecolors="none", edgecolors="crimson", s=70, lw=1.5, label=f"Pareto front ({len(f)})"
    )
    if len(objectives) == 2:
        ax.plot(
            f[x],
            f[y],
            color="crimson",
            lw=1,
            alpha=0.7,
            drawstyle="steps-post" if x not in maximize else None,
        )
    show = [k for k in keys if k in df.columns and df[k].astype(str).nunique() > 1]
    format_axis(ax, "x", describe(x, units)[1], wants_log(df[x]))
    format_axis(ax, "y", describe(y, units)[1], wants_log(df[y]))
    _label_points(ax, f, x, y, show, units, label_front)
    ax.set_xlabel(axis_label(x, units) + (" (maximised)" if x in maximize else ""))
    ax.set_ylabel(axis_label(y, units) + (" (maximised)" if y in maximize else ""))
    names = " vs ".join(describe(o, units)[0] for o in objectives)
    ax.set_title(
        title or f"Pareto front: {names}" + (f"\nlabels: {', '.join(show)}" if show else ""), fontsize=10
    )
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return save(fig, path)


def _label_points(
    ax: Any, front: Any, x: str, y: str, keys: list[str], units: dict[str, str], most: int
) -> None:
    """Label up to ``most`` front points with their swept values; labels of nearby points are stacked."""
    import numpy as np

    step = max(1, int(np.ceil(len(front) / max(1, most))))
    right_edge = ax.get_window_extent().x1
    placed: list[tuple[float, float]] = []  # anchors in pixels
    for i, (_, r) in enumerate(front.iterrows()):
        if i % step or not keys:
            continue
        px, py = ax.transData.transform((r[x], r[y]))
        near = sum(1 for qx, qy in placed if abs(qx - px) < 60 and abs(qy - py) < 12)
        placed.append((px, py))
        text = ", ".join(value_label(r[k], describe(k, units)[1]) for k in keys)
        left = px > right_edge - 6 * len(text) - 20  # near the right edge: label to the left of the point
        ax.annotate(text, (r[x], r[y]), xytext=(-6 if left else 6, 4 - 11 * near), textcoords="offset points",
                    ha="right" if left else "left", fontsize=7, color="0.2")
