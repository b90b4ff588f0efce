"""Roofline placement of operators on a device, with hierarchical (per memory level) ceilings.

For an op with ``F`` FLOPs on a device with peak ``P`` (FLOP/s, for the op's compute datatype) and
memory levels ``l`` of bandwidth ``B_l`` (B/s) that carry ``D_l`` bytes of the op's traffic::

    time   = max(F / P, max_l D_l / B_l)          seconds
    bound  = "compute" or the name of the level that sets the time
    attained performance = F / time               FLOP/s
    intensity (arithmetic intensity) = F / D_dram FLOP/byte

``D_dram`` is the op's DRAM traffic from the trace (the five byte fields). Traffic at the inner levels
(L2/LLC, L1/shared memory) comes from :func:`level_traffic`: every DRAM byte passes through each level
once, and GEMM-like ops re-read their operands once per output tile that fits the level (square
output tiles sized so that the tile and its operand panels fill the level). This is a first-order
tiling model; the system engine's device models refine it with a tile search.

Where peer tools differ (which peak applies, whether inner levels are modelled), the choice comes from
the accounting :class:`~sim.workload.conventions.Conventions`: under ``llm-viewer`` only the DRAM level
is used and the peak is the FP16 entry unless weights, activations and KV are all 8 bits or less (then
INT8), as LLM-Viewer does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from sim.config.hardware import DeviceConfig, MemoryLevel
from sim.workload.conventions import Conventions, get_conventions
from sim.workload.trace import GEMM_KINDS, Op


@dataclass(frozen=True)
class OpPlacement:
    """One op placed on a device's roofline (units: FLOPs, bytes, FLOP/s, seconds)."""

    name: str
    kind: str
    layer: int
    phase: str
    flops: float
    bytes: float
    load_weight_bytes: float
    load_act_bytes: float
    store_act_bytes: float
    load_kv_bytes: float
    store_kv_bytes: float
    intensity: float                 #: FLOP per DRAM byte
    attained_flops_per_s: float
    bound: str                       #: "compute" or a memory level name
    time_s: float
    compute_dtype: str
    level_bytes: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The JSON record (the keys of ``pimsim roofline --json``)."""
        return {
            "name": self.name, "kind": self.kind, "layer": self.layer, "flops": self.flops,
            "bytes": self.bytes, "load_weight_bytes": self.load_weight_bytes,
            "load_act_bytes": self.load_act_bytes, "store_act_bytes": self.store_act_bytes,
            "load_kv_bytes": self.load_kv_bytes, "store_kv_bytes": self.store_kv_bytes,
            "intensity": self.intensity, "attained_flops_per_s": self.attained_flops_per_s,
            "bound": self.bound, "time_s": self.time_s,
        }


@dataclass(frozen=True)
class Ceilings:
    """The roofline of one device for one compute datatype."""

    device: str
    dtype: str
    peak_flops_per_s: float
    levels: tuple[tuple[str, float], ...]   #: (level name, bandwidth B/s), innermost first

    def ridge(self, level: str | None = None) -> float:
        """Ridge point (FLOP/byte) against ``level`` (default: the outermost, DRAM)."""
        bw = dict(self.levels)[level] if level else self.levels[-1][1]
        return self.peak_flops_per_s / bw


def compute_dtype(op: Op, conv: Conventions) -> str:
    """The datatype whose peak applies to ``op`` under the convention's peak rule."""
    w, a, kv = op.dtypes.w, op.dtypes.a, op.dtypes.k
    if conv.peak_rule == "llm-viewer":
        return "int8" if max(w.bits, a.bits, kv.bits) <= 8 else "fp16"
    # physically: the arithmetic runs in the activation format, unless both operands are integers
    if w.name.startswith("int") and a.name.startswith("int"):
        return a.name if a.bits >= w.bits else w.name
    return a.name


def device_levels(device: DeviceConfig, conv: Conventions) -> list[MemoryLevel]:
    """Memory levels that bound ops under ``conv``: all of them, or only the outermost (DRAM)."""
    return list(device.memory) if conv.hierarchical else [device.main_memory]


def ceilings(device: DeviceConfig, dtype: str, conv: Conventions | str = "default") -> Ceilings:
    """Peak and per-level bandwidth ceilings of ``device`` for ``dtype``."""
    conv = get_conventions(conv)
    return Ceilings(device.name, dtype, device.peak(dtype),
                    tuple((lvl.name, lvl.bandwidth) for lvl in device_levels(device, conv)))


def _tile_traffic(op: Op, capacity: float) -> float:
    """Bytes into a level of ``capacity`` bytes for a GEMM op, re-reading operands once per output tile."""
    s = op.shape
    m, n, k, count = s.m, s.n, s.k, max(1, s.count)
    if not (m and n and k):
        return 0.0
    ea = op.dtypes.a.bytes
    eb = op.dtypes.k.bytes if op.kind in ("attn_score", "attn_context") else op.dtypes.w.bytes
    # square output tile t x t with K-panels of depth t: (t*t + 2*t*t) elements must fit
    t = max(1.0, math.sqrt(capacity / (3.0 * max(ea, eb))))
    tm, tn = min(t, m), min(t, n)
    a_reads = m * k * ea * math.ceil(n / tn)
    b_reads = k * n * eb * math.ceil(m / tm)
    c_writes = m * n * ea
    return count * (a_reads + b_reads + c_writes)


def level_traffic(op: Op, levels: list[MemoryLevel]) -> dict[str, float]:
    """Bytes of ``op`` moved at each level: DRAM bytes from the trace; inner levels from tiling."""
    dram = float(op.bytes)
    out: dict[str, float] = {}
    for i, lvl in enumerate(levels):
        if i == len(levels) - 1 or op.kind not in GEMM_KINDS:
            out[lvl.name] = dram
        else:
            out[lvl.name] = max(dram, _tile_traffic(op, lvl.capacity / lvl.instances))
    return out


def place(op: Op, device: DeviceConfig, conv: Conventions | str = "default") -> OpPlacement:
    """Place one op on the roofline of ``device``."""
    conv = get_conventions(conv)
    dtype = compute_dtype(op, conv)
    peak = device.peak(dtype)
    levels = device_levels(device, conv)
    traffic = level_traffic(op, levels)
    t_compute = op.flops / peak
    bound, t = "compute", t_compute
    for lvl in levels:
        t_l = traffic[lvl.name] / lvl.bandwidth
        if t_l > t:
            bound, t = lvl.name, t_l
    dram = float(op.bytes)
    return OpPlacement(
        name=op.name, kind=op.kind, layer=op.layer, phase=op.phase, flops=float(op.flops), bytes=dram,
        load_weight_bytes=float(op.load_weight_bytes), load_act_bytes=float(op.load_act_bytes),
        store_act_bytes=float(op.store_act_bytes), load_kv_bytes=float(op.load_kv_bytes),
        store_kv_bytes=float(op.store_kv_bytes),
        intensity=op.flops / dram if dram else math.inf,
        attained_flops_per_s=op.flops / t if t > 0 else 0.0,
        bound=bound, time_s=t, compute_dtype=dtype, level_bytes=traffic,
    )


def place_all(ops: Iterable[Op], device: DeviceConfig, conv: Conventions | str = "default", *,
              memo: dict | None = None) -> list[OpPlacement]:
    """Place every op; identical op signatures are computed once (memoised in ``memo``, which a caller
    may keep across calls on the same device and conventions)."""
    conv = get_conventions(conv)
    memo = {} if memo is None else memo
    out = []
    for op in ops:
        key = (op.kind, op.shape, op.dtypes, op.flops, op.load_weight_bytes, op.load_act_bytes,
               op.store_act_bytes, op.load_kv_bytes, op.store_kv_bytes)
        hit = memo.get(key)
        if hit is None:
            hit = memo[key] = place(op, device, conv)
        if hit.name != op.name or hit.layer != op.layer or hit.phase != op.phase:
            hit = OpPlacement(**{**hit.__dict__, "name": op.name, "layer": op.layer, "phase": op.phase})
        out.append(hit)
    return out


def totals(placements: Iterable[OpPlacement]) -> dict[str, float]:
    """Sums of FLOPs, DRAM bytes and time over placed ops."""
    f = b = t = 0.0
    for p in placements:
        f += p.flops
        b += p.bytes
        t += p.time_s
    return {"flops": f, "bytes": b, "time_s": t}
