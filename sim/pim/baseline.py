"""The non-PIM baseline: a sequential streaming read of the same bytes through the plain DRAM engine.

PIMSimulator compares its PIM kernels with an "oracle" sequential streaming read of the weights
(its GEMV test asserts PIM >= 2x faster; ../shared/reference/pim.md section 3.2). Here the bytes are
split evenly over the (pseudo-)channels, which are independent, and one channel's share is simulated
with :func:`sim.dram.engine.simulate` (default controller profile) on the same DRAM: one channel, bank
groups interleaved below the column bits (``rorabacobg``, like PIMSimulator's Scheme8 puts the
bank-group bits under the high column bits), all requests offered at cycle 0. Simulating one channel
also keeps the engine's frontend (one request per cycle for the whole memory) from being the bottleneck.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sim.dram.engine import simulate
from sim.pim.spec import PimSpec

STREAM_MAPPING = "rorabacobg"


@dataclass(frozen=True)
class StreamingRead:
    """Cycles (tCK) and seconds of a streaming read of ``bytes`` spread over all channels."""

    bytes: int
    cycles: int
    seconds: float
    bandwidth_GBps: float


def streaming_read(spec: PimSpec, nbytes: int, *, mapping: str = STREAM_MAPPING) -> StreamingRead:
    """Stream ``nbytes`` (split evenly over the channels) through the plain DRAM path of ``spec``."""
    d = spec.dram
    one = replace(d, org=replace(d.org, channels=1, pseudo_channels=1),
                  controller=replace(d.controller, address_mapping=mapping, compat="default"))
    tx = one.org.tx_bytes
    per = -(-int(nbytes) // spec.units)
    n = max(1, -(-per // tx))
    run = simulate(one, np.zeros(n, np.int64), np.arange(n, dtype=np.uint64) * np.uint64(tx), np.zeros(n, bool))
    seconds = run.cycles * d.timing.tCK_ns * 1e-9
    return StreamingRead(bytes=int(nbytes), cycles=int(run.cycles), seconds=seconds,
                         bandwidth_GBps=nbytes / seconds / 1e9 if seconds else 0.0)


__all__ = ["STREAM_MAPPING", "StreamingRead", "streaming_read"]
