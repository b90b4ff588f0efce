"""The PIM API the system level calls: cycle-accurate costs of GEMVs, attention GEMVs and KV writes on a
DRAM-PIM memory, memoised by (spec, arguments).

Every cost comes from compiling the op to per-channel command streams (:mod:`sim.pim.compiler`) and
running them through the in-order PIM controller kernel (:mod:`sim.pim.kernel`): nothing is a formula.
Identical channel streams are simulated once; identical ops are simulated once per process
(:func:`clear_cache` empties the memo).

Attention over a growing KV cache is simulated per distinct ``(heads, head_dim, kv_len)``, in full and
cycle-accurately; it stays cheap because a channel's stream is compressed (a MAC run over a row is one
entry; the kernel issues its repeats in closed form, splitting them only at refreshes), channels with
equal streams share one simulation, and the kernel is compiled once (numba cache).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sim.dram.commands import RD
from sim.pim import commands as C
from sim.pim.compiler import Compiled, compile_attention, compile_gemv, compile_kv_write
from sim.pim.configs import load_pim as _load_pim
from sim.pim.energy import offchip_bytes, pim_energy
from sim.pim.engine import PimRun, run_streams
from sim.pim.errors import PimCommandError, PimFitError
from sim.pim.mapping import MappingConfig
from sim.pim.spec import PimSpec
from sim.pim.trace import read_pim_trace


@dataclass(frozen=True)
class PimOpCost:
    """The cost of one PIM op (all channels).

    ``cycles`` are DRAM command-clock cycles (tCK of the PIM memory) of the slowest channel, ``seconds``
    = cycles x tCK. ``energy_J`` has "activate", "mac" (column access + MAC), "io" (buffer writes, result
    reads, KV writes over the chip interface), "refresh", "background" and "total" (their sum).
    ``commands`` counts commands by name over all channels. ``row_hits`` / ``row_misses`` count column
    commands (an all-bank MAC once) that found their row open / were the first access after an activate.
    ``offchip_bytes``: bytes crossing the PIM-chip interface (vector in, partial sums out, KV writes).
    ``macs``: the op's multiply-accumulates (rows x cols of the GEMV; for :func:`run_commands`, the PUs'
    lanes x bank MAC operations). ``detail``: more numbers (see :func:`_cost`).
    """

    cycles: int
    seconds: float
    energy_J: dict[str, float]
    commands: dict[str, int]
    row_hits: int
    row_misses: int
    offchip_bytes: int
    macs: int
    detail: dict = field(default_factory=dict, compare=False)

    @property
    def total_J(self) -> float:
        """Total energy, joules."""
        return self.energy_J["total"]

    @property
    def row_hit_rate(self) -> float:
        """row_hits / (row_hits + row_misses)."""
        n = self.row_hits + self.row_misses
        return self.row_hits / n if n else 0.0

    @property
    def macs_per_s(self) -> float:
        """Attained MAC rate, MAC/s."""
        return self.macs / self.seconds if self.seconds > 0 else 0.0


def load_pim(ref: str, overrides: Sequence[str] = ()) -> PimSpec:
    """A PIM memory preset (``gddr6-aim``, ``pim-gpt-gddr6``, ``hbm2-pim``, ``hbm3-pim``) or YAML path."""
    return _load_pim(ref, tuple(overrides))


def _hardware_macs(spec: PimSpec, run: PimRun, dtype: str) -> int:
    """Lanes x PU MAC operations (each bank a MAC command reaches is one PU op), padding included."""
    lanes = spec.pim.lanes_for(dtype) or 0
    return int(sum(int(run.bank_ops[c]) for c in (C.MAC_SBK, C.MAC_ABK, C.PIM_RD)) * lanes)


def _cost(spec: PimSpec, compiled: Compiled, dtype: str, compile_s: float = 0.0) -> PimOpCost:
    """Run compiled streams and gather the cost. ``detail`` holds: hardware_macs (lanes x bank MAC ops,
    padding included), input_bytes (buffer writes), result_bytes (result registers read out: partial sums
    reduced on the host/ASIC), kv_write_bytes (useful K/V bytes), refreshes, channel_cycles_min/max,
    rows_per_bank, distinct_streams, kernel_s, compile_s and the compiler's notes."""
    run = run_streams(spec, compiled.streams, dtype=dtype)
    energy = pim_energy(spec, run)
    acc = spec.access_bytes
    buf = int(run.counts[C.WR_GB] + run.counts[C.WR_GRF])
    res = int(run.counts[C.RD_MAC] + run.counts[C.RD_AF] + (run.counts[RD] if spec.pim.command_set == "hbm-pim" else 0))
    detail = {
        "hardware_macs": _hardware_macs(spec, run, dtype),
        "input_bytes": buf * acc,
        "result_bytes": res * acc,
        "refreshes": int(run.refreshes),
        "channel_cycles_min": int(run.channel_cycles.min()) if run.channel_cycles.size else 0,
        "channel_cycles_max": int(run.cycles),
        "rows_per_bank": int(compiled.rows_per_bank),
        "distinct_streams": int(run.distinct_streams),
        "kernel_s": run.kernel_s,
        "compile_s": compile_s,
        **{k: v for k, v in compiled.detail.items() if isinstance(v, int | float | str)},
    }
    return PimOpCost(cycles=int(run.cycles), seconds=run.seconds, energy_J=energy, commands=run.commands(),
                     row_hits=int(run.row_hits), row_misses=int(run.row_misses),
                     offchip_bytes=offchip_bytes(spec, run), macs=int(compiled.macs), detail=detail)


@lru_cache(maxsize=1 << 16)
def _gemv(spec: PimSpec, rows: int, cols: int, dtype: str, mapping: MappingConfig) -> PimOpCost:
    t0 = time.perf_counter()
    comp = compile_gemv(spec, rows, cols, dtype, mapping)
    return _cost(spec, comp, dtype, time.perf_counter() - t0)


@lru_cache(maxsize=1 << 16)
def _attention(spec: PimSpec, heads: int, head_dim: int, kv_len: int, kind: str, dtype: str,
               mapping: MappingConfig) -> PimOpCost:
    t0 = time.perf_counter()
    comp = compile_attention(spec, heads, head_dim, kv_len, kind, dtype, mapping)
    return _cost(spec, comp, dtype, time.perf_counter() - t0)


@lru_cache(maxsize=1 << 12)
def _kv_write(spec: PimSpec, heads: int, head_dim: int, tokens: int, dtype: str,
              mapping: MappingConfig) -> PimOpCost:
    t0 = time.perf_counter()
    comp = compile_kv_write(spec, heads, head_dim, tokens, dtype, mapping)
    cost = _cost(spec, comp, dtype, time.perf_counter() - t0)
    cost.detail["kv_write_bytes"] = comp.detail["kv_bytes"]
    return cost


def gemv_cost(spec: PimSpec, rows: int, cols: int, *, dtype: str = "bf16",
              mapping: MappingConfig | None = None) -> PimOpCost:
    """``y[rows] = W[rows x cols] x[cols]`` with the weights resident in the banks (memoised)."""
    return _gemv(spec, int(rows), int(cols), dtype, mapping or MappingConfig())


def attention_cost(spec: PimSpec, heads: int, head_dim: int, kv_len: int, *, kind: str, dtype: str = "bf16",
                   mapping: MappingConfig | None = None) -> PimOpCost:
    """Attention GEMV over ``kv_len`` cached tokens: ``kind="score"`` (q . K^T, K row-major) or
    ``"context"`` (p . V, V column-major) (memoised per distinct arguments)."""
    if kind not in ("score", "context"):
        raise PimFitError(f"attention kind must be 'score' or 'context' (got {kind!r})")
    return _attention(spec, int(heads), int(head_dim), int(kv_len), kind, dtype, mapping or MappingConfig())


def kv_write_cost(spec: PimSpec, heads: int, head_dim: int, tokens: int = 1, *, dtype: str = "bf16",
                  mapping: MappingConfig | None = None) -> PimOpCost:
    """Writing ``tokens`` new tokens' K and V into the reserved KV layout (memoised)."""
    return _kv_write(spec, int(heads), int(head_dim), int(tokens), dtype, mapping or MappingConfig())


def _gb(n: float) -> str:
    return f"{n / 1e9:.3f} GB"


def capacity_check(spec: PimSpec, weight_bytes: int, kv_bytes: int) -> None:
    """Raise :class:`PimFitError` when weights + KV cache exceed the PIM memory's capacity, naming both and
    the excess. (Bytes as given: the row padding of a layout is not added.)"""
    cap = spec.capacity_bytes
    need = int(weight_bytes) + int(kv_bytes)
    if weight_bytes < 0 or kv_bytes < 0:
        raise PimFitError(f"weight_bytes and kv_bytes must be >= 0 (got {weight_bytes}, {kv_bytes})")
    if need > cap:
        raise PimFitError(f"{spec.name}: the model does not fit: weights {_gb(weight_bytes)} + KV cache "
                          f"{_gb(kv_bytes)} = {_gb(need)} but the PIM memory holds {_gb(cap)} "
                          f"({spec.units} channels x {spec.banks} banks x {spec.dram.org.rows} rows x "
                          f"{spec.dram.org.row_bytes} B); {_gb(need - cap)} too much")


def run_commands(spec: PimSpec, path: str | Path, *, dtype: str | None = None) -> PimOpCost:
    """Run a hand-written PIM command trace (CSV, :mod:`sim.pim.trace`); ``macs`` = lanes x bank MAC ops.
    Errors name the file and line."""
    streams, line_of = read_pim_trace(spec, path)
    dt = dtype or spec.pim.lanes[0][0]
    try:
        run = run_streams(spec, streams, dtype=dt)
    except PimCommandError as exc:
        ch, i = getattr(exc, "channel", None), getattr(exc, "entry", None)
        if ch is None or i is None:
            raise
        line = line_of[ch][i] if 0 <= i < len(line_of[ch]) else "?"
        raise PimCommandError(f"{path}:{line}: {getattr(exc, 'reason', str(exc))}") from None
    energy = pim_energy(spec, run)
    hw = _hardware_macs(spec, run, dt)
    return PimOpCost(cycles=int(run.cycles), seconds=run.seconds, energy_J=energy, commands=run.commands(),
                     row_hits=int(run.row_hits), row_misses=int(run.row_misses),
                     offchip_bytes=offchip_bytes(spec, run), macs=hw,
                     detail={"hardware_macs": hw, "refreshes": int(run.refreshes), "kernel_s": run.kernel_s})


def clear_cache() -> None:
    """Forget memoised costs."""
    for f in (_gemv, _attention, _kv_write):
        f.cache_clear()


__all__ = ["MappingConfig", "PimCommandError", "PimFitError", "PimOpCost", "PimSpec", "attention_cost",
           "capacity_check", "clear_cache", "gemv_cost", "kv_write_cost", "load_pim", "run_commands"]
