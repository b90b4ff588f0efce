"""Charts of a sweep results table: a figure against one swept key (one line per combination of the
other varying keys) and heatmaps over two swept keys."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.errors import PimsimError
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
from sim.plots.table import ok_rows, require_columns, swept_keys, varying, where

MAX_LINES = 12


def plot_sweep_lines(
    df: Any,
    x: str,
    y: str,
    path: str | Path,
    *,
    hue: str | None = None,
    filters: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> Path:
    """``y`` against the swept key ``x``; one line per value of ``hue`` (default: per combination of the
    other keys that vary). Log axes where values span decades."""
    units = dict(df.attrs.get("units") or {})
    keys = swept_keys(df)
    df = where(ok_rows(df), filters or {})
    require_columns(df, x, y, hue)
    others = [hue] if hue else varying(df, keys, exclude=(x,))
    groups = list(df.groupby(others, sort=True, dropna=False)) if others else [((), df)]
    if len(groups) > MAX_LINES:
        raise PimsimError(
            f"{len(groups)} lines would be drawn (keys {', '.join(others)} vary); fix some with "
            f"--where KEY=VALUE or pick one with --hue KEY"
        )
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    for gkey, g in groups:
        g = g.sort_values(x)
        gvals = gkey if isinstance(gkey, tuple) else (gkey,)
        label = ", ".join(
            f"{k}={value_label(v, describe(k, units)[1])}" for k, v in zip(others, gvals, strict=False)
        )
        ax.plot(g[x], g[y], marker="o", ms=4, lw=1.5, label=label or None)
    xunit, yunit = describe(x, units)[1], describe(y, units)[1]
    numeric_x = _numeric(df[x])
    format_axis(ax, "x", xunit if numeric_x else "", numeric_x and wants_log(df[x]))
    format_axis(ax, "y", yunit, wants_log(df[y]))
    ax.set_xlabel(axis_label(x, units))
    ax.set_ylabel(axis_label(y, units))
    ax.set_title(title or f"{describe(y, units)[0]} vs {x}")
    ax.grid(True, which="major", alpha=0.3)
    if others:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return save(fig, path)


def _numeric(series: Any) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(series))


def plot_heatmap(
    df: Any,
    x: str,
    y: str,
    z: str,
    path: str | Path,
    *,
    filters: Mapping[str, Any] | None = None,
    title: str | None = None,
    annotate: bool | None = None,
) -> Path:
    """``z`` over the grid of swept keys ``x`` and ``y`` (cells annotated when the grid is small; a log
    colour scale when ``z`` spans decades). Other varying keys must be fixed with ``filters``."""
    import numpy as np

    units = dict(df.attrs.get("units") or {})
    keys = swept_keys(df)
    df = where(ok_rows(df), filters or {})
    require_columns(df, x, y, z)
    rest = varying(df, keys, exclude=(x, y))
    if rest:
        raise PimsimError(
            f"keys {', '.join(rest)} also vary: fix them with --where KEY=VALUE "
            f"(e.g. --where {rest[0]}={df[rest[0]].iloc[0]})"
        )
    table = df.pivot_table(index=y, columns=x, values=z, aggfunc="mean").sort_index().sort_index(axis=1)
    data = table.to_numpy(dtype=float)
    plt = pyplot()
    from matplotlib.colors import LogNorm

    ny, nx = data.shape
    fig, ax = plt.subplots(figsize=(max(5.5, 0.9 * nx + 3), max(4.0, 0.6 * ny + 2)), dpi=120)
    finite = data[np.isfinite(data)]
    norm = LogNorm(vmin=finite.min(), vmax=finite.max()) if len(finite) and wants_log(finite) else None
    im = ax.imshow(data, origin="lower", aspect="auto", cmap="viridis", norm=norm)
    xunit, yunit, zunit = describe(x, units)[1], describe(y, units)[1], describe(z, units)[1]
    ax.set_xticks(
        range(nx),
        [value_label(v, xunit) for v in table.columns],
        rotation=30 if nx > 6 else 0,
        ha="right" if nx > 6 else "center",
    )
    ax.set_yticks(range(ny), [value_label(v, yunit) for v in table.index])
    ax.set_xlabel(axis_label(x, units))
    ax.set_ylabel(axis_label(y, units))
    cbar = fig.colorbar(im, ax=ax)
    cbar.set_label(axis_label(z, units))
    if formatter(zunit) is not None:
        cbar.ax.yaxis.set_major_formatter(formatter(zunit))
    if annotate if annotate is not None else nx * ny <= 100:
        mid = np.nanmedian(finite) if len(finite) else 0
        for i in range(ny):
            for j in range(nx):
                v = data[i, j]
                if np.isfinite(v):
                    ax.text(
                        j,
                        i,
                        value_label(v, zunit),
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if v < mid else "black",
                    )
    ax.set_title(title or f"{describe(z, units)[0]} over {x} and {y}")
    return save(fig, path)
