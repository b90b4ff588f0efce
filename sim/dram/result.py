"""The outcome of one DRAM simulation (:class:`DramRun`), plain numpy data."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class DramRun:
    """Results of :func:`sim.dram.engine.simulate`.

    Cycles are memory-clock cycles (tCK); ``seconds = cycles * tCK``. A read completes when its
    data has returned, a write when its WR command issued (posted or forwarded requests complete
    when acknowledged). ``cycles`` runs from cycle 0 of the trace to the last completion.
    ``row_hits / row_misses / row_conflicts`` classify each request that reached the DRAM by the
    first command issued for it: RD/WR (hit), ACT to a precharged bank (miss), PRE of another
    open row (conflict). Arrays indexed ``[unit, rank]`` use the flat (pseudo-)channel index
    ``unit = channel * pseudo_channels + pseudo_channel``.
    """

    spec_name: str
    profile: str
    requests: int
    reads: int
    writes: int
    cycles: int
    tCK_ns: float
    tx_bytes: int
    read_latencies: np.ndarray            #: int64, cycles from acceptance to data return, per read
    row_hits: int
    row_misses: int
    row_conflicts: int
    commands: dict[str, int]
    cmd_counts: np.ndarray                #: int64 (units, ranks, N_COMMANDS)
    rank_active_cycles: np.ndarray        #: int64 (units, ranks): cycles with >= 1 open bank
    rank_refresh_cycles: np.ndarray       #: int64 (units, ranks): tRFC per REF + tRFCpb per REFpb
    accept_cycles: np.ndarray             #: int64 per request: cycle the controller accepted it
    done_cycles: np.ndarray               #: int64 per request: completion cycle, -1 if never
    unfinished: int = 0                   #: requests that never completed (see docs/dram.md)
    forwarded_reads: int = 0              #: reads answered from a queued write
    merged_requests: int = 0              #: reads merged into a pending read / writes into a queued write
    command_log: np.ndarray | None = None
    sim_wall_s: float = 0.0               #: host seconds spent in the kernel (compile excluded)
    extra: dict = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        """Simulated time, seconds."""
        return self.cycles * self.tCK_ns * 1e-9

    @property
    def bandwidth_GBps(self) -> float:
        """Completed requests x transaction bytes / simulated time, GB/s (1e9 bytes/s)."""
        if self.cycles <= 0:
            return 0.0
        return (self.requests - self.unfinished) * self.tx_bytes / self.seconds / 1e9

    def _pct(self, q: float) -> float:
        return float(np.percentile(self.read_latencies, q)) if self.read_latencies.size else 0.0

    @property
    def read_latency_mean_cycles(self) -> float:
        """Mean read latency, cycles."""
        return float(self.read_latencies.mean()) if self.read_latencies.size else 0.0

    @property
    def read_latency_p50_cycles(self) -> float:
        """Median read latency, cycles."""
        return self._pct(50)

    @property
    def read_latency_p99_cycles(self) -> float:
        """99th-percentile read latency, cycles."""
        return self._pct(99)

    @property
    def read_latency_mean_ns(self) -> float:
        """Mean read latency, ns."""
        return self.read_latency_mean_cycles * self.tCK_ns

    @property
    def read_latency_p50_ns(self) -> float:
        """Median read latency, ns."""
        return self.read_latency_p50_cycles * self.tCK_ns

    @property
    def read_latency_p99_ns(self) -> float:
        """99th-percentile read latency, ns."""
        return self.read_latency_p99_cycles * self.tCK_ns

    def summary(self) -> dict:
        """Scalar results as a flat dict (JSON-friendly)."""
        return {
            "spec": self.spec_name, "profile": self.profile, "requests": self.requests,
            "reads": self.reads, "writes": self.writes, "cycles": self.cycles,
            "seconds": self.seconds, "bandwidth_GBps": self.bandwidth_GBps,
            "read_latency_mean_cycles": self.read_latency_mean_cycles,
            "read_latency_p50_cycles": self.read_latency_p50_cycles,
            "read_latency_p99_cycles": self.read_latency_p99_cycles,
            "read_latency_mean_ns": self.read_latency_mean_ns,
            "row_hits": self.row_hits, "row_misses": self.row_misses, "row_conflicts": self.row_conflicts,
            "commands": dict(self.commands), "unfinished": self.unfinished,
            "forwarded_reads": self.forwarded_reads, "merged_requests": self.merged_requests,
            "sim_wall_s": self.sim_wall_s,
        }
