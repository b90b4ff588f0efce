"""Size-dependent efficiency curves: the attained fraction of a peak as a function of operator size.

A curve is a list of ``[size, efficiency]`` knots (size in FLOPs for compute curves, in bytes for memory
curves, see :class:`sim.config.hardware.EfficiencyCurve`). Between knots the efficiency is interpolated
linearly in ``log10(size)``; below the first knot the first efficiency holds, above the last the last.
No curve means an efficiency of 1 (the peak is attained).

The functions accept numpy arrays so that calibration (``sim/validation``) evaluates thousands of
candidate curves without Python loops.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sim.config.hardware import DeviceConfig, EfficiencyCurve

Knots = Sequence[tuple[float, float]]


def interpolate(knots: Knots | None, size: float | np.ndarray) -> float | np.ndarray:
    """Efficiency at ``size`` (scalar or array) for the curve ``knots`` (1 if ``knots`` is None or empty)."""
    if not knots:
        return np.ones_like(size, dtype=float) if isinstance(size, np.ndarray) else 1.0
    xs = np.log10(np.array([k[0] for k in knots], dtype=float))
    ys = np.array([k[1] for k in knots], dtype=float)
    x = np.log10(np.maximum(np.asarray(size, dtype=float), 1e-30))
    out = np.interp(x, xs, ys)
    return out if isinstance(size, np.ndarray) else float(out)


def curve_points(curve: EfficiencyCurve | None) -> Knots | None:
    """The knots of a config curve (None when absent)."""
    return curve.points if curve is not None else None


def kind_curves(device: DeviceConfig, kind: str) -> tuple[Knots | None, Knots | None]:
    """(compute, memory) knots that apply to ops of ``kind`` on ``device``: the per-kind curves of
    ``kernel_efficiency`` where given, else the device-wide ``compute_efficiency`` / ``memory_efficiency``."""
    comp = curve_points(device.compute_efficiency)
    mem = curve_points(device.memory_efficiency)
    per = device.kernel_efficiency.get(kind)
    if per is not None:
        if per.compute is not None:
            comp = per.compute.points
        if per.memory is not None:
            mem = per.memory.points
    return comp, mem
