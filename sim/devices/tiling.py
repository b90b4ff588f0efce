"""Tiling of matrix operators over a memory hierarchy: how many bytes each level moves.

A GEMM op computes ``count`` independent products ``C[m, n] = A[m, k] · B[k, n]`` (A: activations,
B: weights or the KV cache). A *holder* of capacity ``cap`` bytes (registers, an L1/shared memory, an
L2/LLC) keeps one output tile ``tm x tn`` while ``stages`` K-steps of depth ``k_tile`` stream through
it (output-stationary order, the one GPU and CPU GEMM libraries use)::

    footprint = stages * k_tile * (tm * a_bytes + tn * b_bytes) + tm * tn * acc_bytes   <= cap
    traffic into the holder = count * ( m*k*a_bytes * ceil(n / tn)      A is re-read per column tile
                                      + k*n*b_bytes * ceil(m / tm)      B is re-read per row tile
                                      + m*n*c_bytes )                   C is written once

The bytes moved at a level are the traffic into the holder just inside it: DRAM carries the traffic
into the L2 tile, L2 the traffic into the per-core (L1/shared) tile, L1 the traffic into the register
tile. Like LLMCompass's mapper, the search tries every candidate tile (``tm``, ``tn`` from a list of
sizes, with both loop orders covered by the separate row/column re-read terms), vectorised over numpy
arrays, and keeps the one that moves the fewest bytes; results are memoised by shape and capacity.
The per-core tile of a parallel device is chosen by the device model instead (it trades traffic
against parallelism): :func:`core_candidates` returns every feasible candidate with its metrics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True, slots=True)
class GemmShape:
    """``count`` products (m x k)·(k x n); element sizes in bytes (fractional for sub-byte formats)."""

    m: int
    n: int
    k: int
    count: int = 1
    a_bytes: float = 2.0
    b_bytes: float = 2.0
    c_bytes: float = 2.0

    @property
    def compulsory_bytes(self) -> float:
        """Bytes of A, B and C, each moved once."""
        return self.count * (
            self.m * self.k * self.a_bytes + self.k * self.n * self.b_bytes + self.m * self.n * self.c_bytes
        )

    @property
    def flops(self) -> float:
        """2 FLOPs per multiply-accumulate."""
        return 2.0 * self.count * self.m * self.n * self.k


@dataclass(frozen=True, slots=True)
class Tile:
    """The chosen tile of one holder and the bytes it pulls in, bytes."""

    tm: int
    tn: int
    traffic: float


def _pow2_sizes(lo: int, hi: int) -> list[int]:
    out = []
    s = max(1, lo)
    while s < hi:
        out.append(s)
        s *= 2
    out.append(max(hi, 1))
    return sorted(set(out))


def traffic_into(shape: GemmShape, tm: np.ndarray | int, tn: np.ndarray | int) -> np.ndarray | float:
    """Bytes moved into a holder that keeps ``tm x tn`` output tiles (vectorised over tm, tn)."""
    s = shape
    row_tiles = np.ceil(s.m / np.asarray(tm, dtype=float))
    col_tiles = np.ceil(s.n / np.asarray(tn, dtype=float))
    return s.count * (
        s.m * s.k * s.a_bytes * col_tiles + s.k * s.n * s.b_bytes * row_tiles + s.m * s.n * s.c_bytes
    )


def footprint(
    shape: GemmShape, tm: np.ndarray, tn: np.ndarray, k_tile: int, stages: int, acc_bytes: int
) -> np.ndarray:
    """Bytes a ``tm x tn`` tile occupies with ``stages`` K-steps of depth ``k_tile`` in flight."""
    kt = min(k_tile, max(1, shape.k))
    return stages * kt * (tm * shape.a_bytes + tn * shape.b_bytes) + tm * tn * acc_bytes


@lru_cache(maxsize=65536)
def best_tile(
    shape: GemmShape,
    capacity: float,
    sizes: tuple[int, ...] | None = None,
    k_tile: int = 32,
    stages: int = 2,
    acc_bytes: int = 4,
) -> Tile:
    """The tile of a holder of ``capacity`` bytes that minimises the traffic into it.

    ``sizes`` are the candidate tile edges (default: powers of two up to the problem size, for cache
    levels). Edges larger than the problem are clipped to it. When not even the smallest tile fits,
    the smallest one is used (the level then streams everything).
    """
    if shape.m <= 0 or shape.n <= 0 or shape.k <= 0:
        return Tile(1, 1, 0.0)
    if sizes is None:
        rows = _pow2_sizes(1, shape.m)
        cols = _pow2_sizes(1, shape.n)
    else:
        rows = sorted({min(x, shape.m) for x in sizes})
        cols = sorted({min(x, shape.n) for x in sizes})
    tm, tn = np.meshgrid(np.array(rows, dtype=float), np.array(cols, dtype=float), indexing="ij")
    tm, tn = tm.ravel(), tn.ravel()
    fits = footprint(shape, tm, tn, k_tile, stages, acc_bytes) <= capacity
    if not fits.any():
        return Tile(int(rows[0]), int(cols[0]), float(traffic_into(shape, rows[0], cols[0])))
    traffic = np.where(fits, traffic_into(shape, tm, tn), np.inf)
    # ties: prefer the larger tile (fewer tiles), then the squarer one: deterministic
    order = np.lexsort((np.abs(np.log2(tm) - np.log2(tn)), -(tm * tn), traffic))
    i = int(order[0])
    return Tile(int(tm[i]), int(tn[i]), float(traffic[i]))


@dataclass(frozen=True)
class CoreCandidates:
    """Feasible per-core tiles (with K-split factors) and what each implies; all arrays of equal length."""

    tm: np.ndarray
    tn: np.ndarray
    split: np.ndarray
    tiles: np.ndarray  #: work items: count * row tiles * column tiles * split
    tile_flops: np.ndarray  #: FLOPs of one work item, padded to whole tiles
    traffic_in: np.ndarray  #: bytes into the per-core holders (A, B, C and split-K partial sums)


@lru_cache(maxsize=65536)
def core_candidates(
    shape: GemmShape,
    capacity: float,
    sizes: tuple[int, ...],
    splits: tuple[int, ...],
    k_tile: int,
    stages: int,
    acc_bytes: int,
) -> CoreCandidates:
    """Every per-core tile (``tm``, ``tn`` from ``sizes``, split-K factor from ``splits``) that fits
    ``capacity``; split-K partial sums (``acc_bytes`` each) are written and read back once per extra split."""
    s = shape
    # a padded edge smaller than the problem is real padding (tensor-core granularity); keep sizes as given
    tm, tn, sp = np.meshgrid(
        np.array(sizes, dtype=float),
        np.array(sizes, dtype=float),
        np.array([x for x in splits if x <= max(1, s.k)] or [1], dtype=float),
        indexing="ij",
    )
    tm, tn, sp = tm.ravel(), tn.ravel(), sp.ravel()
    # never tile wider than the problem padded to the smallest size
    lo = min(sizes)
    mp = max(lo, math.ceil(s.m / lo) * lo)
    np_ = max(lo, math.ceil(s.n / lo) * lo)
    keep = (tm <= mp) & (tn <= np_)
    fits = footprint(s, tm, tn, k_tile, stages, acc_bytes) <= capacity
    keep &= fits
    if not keep.any():  # nothing fits: the smallest tile, unsplit
        keep = (tm == lo) & (tn == lo) & (sp == sp.min())
    tm, tn, sp = tm[keep], tn[keep], sp[keep]
    row_t = np.ceil(s.m / tm)
    col_t = np.ceil(s.n / tn)
    tiles = s.count * row_t * col_t * sp
    k_per = np.ceil(s.k / sp)
    tile_flops = 2.0 * tm * tn * k_per
    partial = (sp - 1) * 2.0 * s.m * s.n * acc_bytes * s.count
    traffic = traffic_into(s, tm, tn) + partial
    return CoreCandidates(tm, tn, sp, tiles, tile_flops, traffic)


def register_traffic(
    shape: GemmShape, registers: float, core_tm: int, core_tn: int, k_tile: int, acc_bytes: int
) -> float:
    """Bytes read from the innermost level into registers: the register tile (at most the core tile)
    that fits ``registers`` bytes, one K step in flight."""
    if registers <= 0:
        return shape.compulsory_bytes
    sizes = tuple(x for x in (8, 16, 32, 64, 128, 256) if x <= max(core_tm, core_tn, 8))
    t = best_tile(
        GemmShape(shape.m, shape.n, shape.k, shape.count, shape.a_bytes, shape.b_bytes, shape.c_bytes),
        registers,
        sizes,
        k_tile,
        1,
        acc_bytes,
    )
    tm, tn = min(t.tm, core_tm), min(t.tn, core_tn)
    return float(traffic_into(shape, tm, tn))
