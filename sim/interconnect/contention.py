"""Contention: messages cut into chunks that queue FIFO per link direction (simpy).

The congestion-aware model of ASTRA-sim's analytical backend, per link: a chunk waits for the link
direction to be free, occupies it for its serialisation time ``bytes / (bandwidth x efficiency x count x
factor)``, releases it and then travels the link's latency; the next hop starts when the whole chunk
has arrived (store and forward). A message's chunks enter the first hop in order, so a multi-hop message
is pipelined chunk by chunk; concurrent messages on a link interleave their chunks in arrival order,
sharing its bandwidth. A half-duplex link has one queue for both directions.

Timing of one message of ``m`` bytes in chunks of ``c`` over ``h`` identical hops, alone on its path::

    T = h x latency + (ceil(m / c) + h - 1) x c / bandwidth          (m a multiple of c)

against ``h x latency + m / bandwidth`` without contention (the analytic mode): the difference, ``(h-1)``
chunk serialisations, is the store-and-forward cost; everything else is queueing behind other traffic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import simpy

from sim.interconnect.topology import Hop, LinkInstance


@dataclass
class HopSpan:
    """One message on one hop: first chunk's start, last chunk's arrival, bytes, wait of the first chunk (s)."""

    link: LinkInstance
    direction: int
    here: str
    start_s: float = math.inf
    end_s: float = 0.0
    bytes: float = 0.0
    queued_s: float = 0.0


def chunks(nbytes: float, chunk: float | None) -> list[float]:
    """``nbytes`` cut into pieces of at most ``chunk`` (one piece when ``chunk`` is None)."""
    if chunk is None or nbytes <= chunk:
        return [nbytes]
    k = int(math.ceil(nbytes / chunk))
    last = nbytes - (k - 1) * chunk
    return [chunk] * (k - 1) + [last]


class LinkQueues:
    """One FIFO (a capacity-1 simpy resource) per link direction, and the chunk process that uses them.

    ``on_busy(key, +1/-1)`` is called when a direction starts and stops serialising (utilisation);
    ``on_queue(key, link, direction, delta)`` when a chunk joins or leaves its queue (queue depth).
    """

    def __init__(
        self,
        env: simpy.Environment,
        links: Sequence[LinkInstance],
        *,
        on_busy: Callable[[tuple[str, int], int], None] | None = None,
        on_queue: Callable[[LinkInstance, int, int], None] | None = None,
    ) -> None:
        self.env = env
        self.res: dict[tuple[str, int], simpy.Resource] = {}
        for ln in links:
            for d in (0, 1) if ln.model.duplex else (0,):
                self.res[(ln.name, d)] = simpy.Resource(env, capacity=1)
        self.on_busy = on_busy
        self.on_queue = on_queue

    def message(self, hops: Sequence[Hop], start: str, nbytes: float, chunk: float | None,
                factor: float = 1.0):
        """simpy process body: move ``nbytes`` along ``hops``; returns one :class:`HopSpan` per hop."""
        spans = []
        here = start
        for ln, d in hops:
            spans.append(HopSpan(ln, d, here))
            here = ln.other(here)
        if not hops or nbytes <= 0:
            return spans
        procs = [self.env.process(self._chunk(hops, size, spans, factor)) for size in chunks(nbytes, chunk)]
        yield simpy.AllOf(self.env, procs)
        for sp in spans:
            sp.bytes = nbytes
        return spans

    def _chunk(self, hops: Sequence[Hop], size: float, spans: list[HopSpan], factor: float):
        env = self.env
        for i, (ln, d) in enumerate(hops):
            key = (ln.name, d)
            res = self.res[key]
            asked = env.now
            if self.on_queue:
                self.on_queue(ln, d, 1)
            with res.request() as req:
                yield req
                start = env.now
                ser = ln.model.serialization_time(size) / factor
                if self.on_busy:
                    self.on_busy(key, 1)
                yield env.timeout(ser)
                if self.on_busy:
                    self.on_busy(key, -1)
            if self.on_queue:
                self.on_queue(ln, d, -1)
            yield env.timeout(ln.latency)
            sp = spans[i]
            if start < sp.start_s:
                sp.start_s = start
                sp.queued_s = start - asked
            sp.end_s = max(sp.end_s, env.now)


__all__ = ["HopSpan", "LinkQueues", "chunks"]
