"""Cycle-level DRAM time of one operator: its access stream through the cycle-accurate DRAM engine.

Used for a device's DRAM level with ``fidelity: cycle`` (see :mod:`sim.devices.hierarchy`). The engine
never sees a DRAM command: this module builds the op's request stream as numpy arrays, hands it to
:func:`sim.dram.engine.simulate` (numba kernels) and turns the returned cycle count into seconds.

The stream of one op, on the memory preset named by the level's ``memory:`` (e.g. ``hbm2e``):

* The device's DRAM is ``units = level bandwidth / per-unit peak`` independent (pseudo-)channels of
  the preset, and the op's bytes are spread evenly over them (the address interleaving of GPUs and
  multi-channel CPUs). One representative unit is simulated: the op's share of bytes, in
  transaction-sized requests (``tx_bytes`` of the preset), whose addresses decode to unit 0.
* The requests come from up to three regions, each read sequentially (streaming): weights
  (``load_weight_bytes``), activations (``load_act_bytes`` then ``store_act_bytes`` written) and the
  KV cache (``load_kv_bytes`` then ``store_kv_bytes`` written), interleaved one DRAM row at a time in
  proportion to their sizes. Within a region, :data:`STREAMS` sequential streams run at once (the
  tiles of different cores read different panels), one request of each in turn, so consecutive
  requests reach different banks as a GPU's do. All requests are offered from cycle 0 (saturating).
* At most :data:`MAX_REQUESTS` requests are simulated; a longer stream's time is scaled linearly from
  the simulated prefix (streaming reaches a steady state within a few thousand requests).

Results are memoised by (preset, device bandwidth, the op's five byte fields).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from sim.errors import ConfigError
from sim.workload.trace import Op

#: most requests simulated per op (the rest is extrapolated)
MAX_REQUESTS = 8192
#: concurrent sequential streams per region (the tiles of different cores read different panels at once)
STREAMS = 16


@lru_cache(maxsize=32)
def _spec(name: str):  # -> DramSpec (imported lazily: the DRAM engine is optional for analytic runs)
    from sim.dram.configs import load_memory

    return load_memory(name)


def _unit_addresses(spec, base: int, count: int) -> np.ndarray:
    """``count`` transaction addresses from ``base`` upwards that decode to unit 0 (channel 0, pseudo-channel
    0)."""
    from sim.dram import mapping as mp

    m = mp.build_mapping(spec)
    tx = spec.org.tx_bytes
    units = max(1, spec.org.units)
    window = max(count * units * 2, 64)
    cap = spec.org.capacity_bytes
    while True:
        addr = (base + np.arange(window, dtype=np.uint64) * np.uint64(tx)) % np.uint64(cap)
        dec = mp.decode(m, addr)
        keep = addr[(dec.channel == 0) & (dec.pseudo_channel == 0)]
        if keep.size >= count or window > count * units * 64:
            return keep[:count] if keep.size >= count else np.resize(keep, count)
        window *= 4


def _interleave(addr: np.ndarray, streams: int, chunk: int) -> np.ndarray:
    """Deal the row-sized chunks of a sequential run to ``streams`` streams (chunk ``c`` to stream
    ``c % streams``, so each stream stays in its own banks) and take one request of each in turn."""
    n = addr.size
    chunk = max(1, chunk)
    idx = np.arange(n)
    stream = (idx // chunk) % max(1, streams)
    # position of each request within its stream
    pos = np.zeros(n, dtype=np.int64)
    for s_ in range(max(1, streams)):
        sel = np.nonzero(stream == s_)[0]
        pos[sel] = np.arange(sel.size)
    order = np.lexsort((stream, pos))
    return addr[order]


def _stream(
    spec, reads: tuple[float, float, float], writes: tuple[float, float, float], n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Addresses and write flags of ``n`` requests split over the weight, activation and KV regions."""
    total = sum(reads) + sum(writes)
    cap = spec.org.capacity_bytes
    row_req = max(1, spec.org.row_bytes // spec.org.tx_bytes)
    parts = []
    for r, (rd, wr) in enumerate(zip(reads, writes, strict=True)):
        share = rd + wr
        k = int(round(n * share / total)) if total else 0
        if k == 0:
            continue
        base = (cap // 3) * r
        addr = _interleave(_unit_addresses(spec, base, k), STREAMS, row_req)
        kw = int(round(k * wr / share)) if share else 0
        flags = np.zeros(k, dtype=bool)
        if kw:
            flags[k - kw :] = True
        parts.append((addr, flags))
    if not parts:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=bool)
    # interleave the regions one row-sized chunk at a time
    chunks_a, chunks_w = [], []
    cursors = [0] * len(parts)
    while any(c < p[0].size for c, p in zip(cursors, parts, strict=True)):
        for i, (a, w) in enumerate(parts):
            c = cursors[i]
            if c < a.size:
                step = max(1, int(round(row_req * a.size / max(p[0].size for p in parts))))
                chunks_a.append(a[c : c + step])
                chunks_w.append(w[c : c + step])
                cursors[i] = c + step
    return np.concatenate(chunks_a), np.concatenate(chunks_w)


@lru_cache(maxsize=65536)
def _time(
    memory: str,
    device_bandwidth: float,
    reads: tuple[float, float, float],
    writes: tuple[float, float, float],
) -> float:
    spec = _spec(memory)
    from sim.dram.engine import simulate

    per_unit = spec.peak_bandwidth_Bps / max(1, spec.org.units)
    units = max(1, round(device_bandwidth / per_unit))
    total = (sum(reads) + sum(writes)) / units
    n_req = math.ceil(total / spec.org.tx_bytes)
    if n_req <= 0:
        return 0.0
    n_sim = min(n_req, MAX_REQUESTS)
    addr, isw = _stream(spec, tuple(x / units for x in reads), tuple(x / units for x in writes), n_sim)
    if addr.size == 0:
        return 0.0
    try:
        run = simulate(spec, np.zeros(addr.size, dtype=np.int64), addr, isw)
    except ImportError as exc:
        raise ConfigError(
            f"fidelity 'cycle' needs the DRAM engine's {spec.controller.compat!r} controller "
            f"profile, which is not available ({exc})",
            key="memory.fidelity",
            value="cycle",
            expected="fidelity: analytic, or a memory preset whose profile the DRAM engine provides",
        ) from None
    return run.cycles * spec.timing.tCK_ns * 1e-9 * (n_req / addr.size)


def op_dram_time(memory: str, device_bandwidth: float, op: Op, dram_bytes: float) -> float:
    """Seconds the device's DRAM takes for ``op``'s access stream (cycle-accurate, one unit simulated).

    ``dram_bytes`` (the model's DRAM traffic, which may exceed the trace's bytes through re-reads) is
    split over the regions in proportion to the op's byte fields.
    """
    reads = (float(op.load_weight_bytes), float(op.load_act_bytes), float(op.load_kv_bytes))
    writes = (0.0, float(op.store_act_bytes), float(op.store_kv_bytes))
    base = sum(reads) + sum(writes)
    if base <= 0:
        return 0.0
    f = dram_bytes / base
    return _time(memory, float(device_bandwidth), tuple(r * f for r in reads), tuple(w * f for w in writes))
