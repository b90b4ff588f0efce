"""Energy of ops placed on a device: compute, each memory level, and static power over the run.

    compute energy  = FLOPs x energy_per_op[compute dtype]          J
    level energy    = bytes moved at the level x 8 x read_energy     J   (per memory level)
    static energy   = static power x elapsed time                    J

The total is, by construction, the sum of these parts.
"""

from __future__ import annotations

from collections.abc import Iterable

from sim.config.hardware import DeviceConfig
from sim.results.roofline import OpPlacement


def op_energy(p: OpPlacement, device: DeviceConfig) -> dict[str, float]:
    """Dynamic energy of one placed op by component (``compute`` and one key per memory level), J."""
    e_op = device.energy_per_op.get(p.compute_dtype)
    if e_op is None:  # fall back like the peaks do (e.g. fp16 on a CPU runs at the fp32 rate)
        e_op = next((device.energy_per_op[d] for d in ("fp16", "bf16", "fp32") if d in device.energy_per_op), 0.0)
    out = {"compute": p.flops * e_op}
    for lvl in device.memory:
        moved = p.level_bytes.get(lvl.name)
        if moved is not None:
            out[lvl.name] = moved * 8 * lvl.read_energy
    return out


def energy_breakdown(placements: Iterable[OpPlacement], device: DeviceConfig, elapsed_s: float) -> dict[str, float]:
    """Energy by component over a set of ops that took ``elapsed_s`` seconds, J (``static`` included)."""
    parts: dict[str, float] = {"compute": 0.0}
    for lvl in device.memory:
        parts[lvl.name] = 0.0
    for p in placements:
        for k, v in op_energy(p, device).items():
            parts[k] += v
    parts["static"] = device.power.static * elapsed_s
    return parts


def level_energy(device: DeviceConfig, level_bytes: dict[str, float], write_bytes: dict[str, float]
                 ) -> dict[str, float]:
    """Energy of the bytes moved at each memory level, J: reads at ``read_energy``, the bytes in
    ``write_bytes`` (a subset of ``level_bytes``) at ``write_energy``."""
    out: dict[str, float] = {}
    for lvl in device.memory:
        moved = level_bytes.get(lvl.name, 0.0)
        w = min(write_bytes.get(lvl.name, 0.0), moved)
        out[lvl.name] = ((moved - w) * lvl.read_energy + w * lvl.write_energy_J_per_bit) * 8.0
    return out


def compute_energy(device: DeviceConfig, dtype: str, flops: float) -> float:
    """Dynamic arithmetic energy of ``flops`` in ``dtype``, J (falls back like the peaks do)."""
    e_op = device.energy_per_op.get(dtype)
    if e_op is None:
        table = device.energy_per_op
        e_op = next((table[d] for d in ("fp16", "bf16", "fp32") if d in table), 0.0)
    return flops * e_op
