"""Aggregates of a system replay: per phase, device, link, layer and op kind; TTFT, TBT, energy.

The engine feeds every finished op and transfer to a :class:`RunAccumulator`; :meth:`RunAccumulator.finish`
returns a :class:`SystemRunResult`. Definitions (SI units):

* ``latency_s`` — end of the last op; ``ttft_s`` — end of the prefill step (step 0), when the first
  token exists; ``tbt_s`` — mean time between the ends of consecutive steps after the prefill.
* Phase time — from the phase's first op start to its last op end (wall time, overlap counted once).
* Energy — dynamic energy of ops (arithmetic + bytes at each memory level) and transfers (link
  J/bit), plus static power of every device over the whole run (``static``; per phase: over the
  phase's wall time). ``energy_J`` is exactly the sum of ``breakdown``.
* Utilisation — time a device (any of its streams) or a link direction is busy, over ``latency_s``.
* Layer time — the sum of the durations of the layer's ops (serial time, per phase).
* Collectives — per collective kind: calls, time (each call from its last rank's arrival to its end,
  summed), bytes injected into the network and energy; link bytes include collective traffic.
* Communication per device — ``comm_s``: time the device's streams wait on communication (collectives
  they take part in, from their own arrival; transfers and weight fetches they need, while those are in
  flight, not while their producer still computes); ``exposed_s``: the part of it when none of
  the device's streams computes (communication not hidden behind computation).
* ``runtime_overhead_s`` — serving-framework time added before steps (``runtime:`` of the system).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sim.results.records import OpRecord, TransferRecord


class StepTimes:
    """Time to first token and time between tokens of a result that keeps ``step_ends`` (the end of each
    step: prefill first, then the decode steps), s."""

    step_ends: list[float]

    @property
    def ttft_s(self) -> float:
        """Time to first token: the end of the prefill step, s (0 without steps)."""
        return self.step_ends[0] if self.step_ends else 0.0

    @property
    def tbt_s(self) -> float:
        """Mean time between tokens over the decode steps, s (0 without decode)."""
        if len(self.step_ends) < 2:
            return 0.0
        return (self.step_ends[-1] - self.step_ends[0]) / (len(self.step_ends) - 1)


@dataclass
class PhaseSummary:
    """One phase (prefill/decode): wall time (s), FLOPs, DRAM bytes, ops, steps, energy by component (J)."""

    phase: str
    start_s: float = float("inf")
    end_s: float = 0.0
    flops: float = 0.0
    bytes: float = 0.0
    ops: int = 0
    steps: int = 0
    energy_J: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    @property
    def time_s(self) -> float:
        """Wall time of the phase, s."""
        return max(0.0, self.end_s - self.start_s) if self.ops else 0.0

    @property
    def energy_total_J(self) -> float:
        """Total energy of the phase, J."""
        return sum(self.energy_J.values())


@dataclass
class DeviceSummary:
    """One device instance over the run."""

    name: str
    type: str
    static_W: float
    busy_s: float = 0.0
    ops: int = 0
    flops: float = 0.0
    dram_bytes: float = 0.0
    energy_J: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    time_by_kind: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    bound_counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    #: sums of the device model's per-op statistics (row hits, off-chip bytes...), see OpCost.counters
    counters: dict[str, float] = field(default_factory=lambda: defaultdict(float))


@dataclass
class LinkSummary:
    """One link (both directions) over the run."""

    name: str
    busy_s: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    bytes: float = 0.0
    transfers: int = 0
    energy_J: float = 0.0


@dataclass
class CollectiveSummary:
    """All collectives of one kind over the run: calls, time (s), bytes injected (B), energy (J)."""

    kind: str
    calls: int = 0
    time_s: float = 0.0
    bytes: float = 0.0
    energy_J: float = 0.0
    algorithms: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_phase_s: dict[str, float] = field(default_factory=lambda: defaultdict(float))


@dataclass
class CommSummary:
    """One device's communication: waiting on it (s) and the part of that not overlapped by compute (s)."""

    comm_s: float = 0.0
    exposed_s: float = 0.0


@dataclass
class SystemRunResult(StepTimes):
    """Everything a replay produced (see the module docstring for definitions)."""

    system: str
    model: str
    batch: int
    prompt: int
    generate: int
    placement: str
    conventions: str
    latency_s: float
    step_ends: list[float]
    phases: dict[str, PhaseSummary]
    devices: dict[str, DeviceSummary]
    links: dict[str, LinkSummary]
    layers: dict[tuple[str, int], float]
    kinds: dict[str, float]
    ops: list[OpRecord] | None = None
    transfers: list[TransferRecord] | None = None
    roofline_ops: list[OpRecord] = field(default_factory=list)
    timeline: str | None = None
    collectives: dict[str, CollectiveSummary] = field(default_factory=dict)
    communication: dict[str, CommSummary] = field(default_factory=dict)
    runtime_overhead_s: float = 0.0
    network_mode: str = ""

    @property
    def exposed_comm_s(self) -> float:
        """The largest exposed communication time of any device, s."""
        return max((c.exposed_s for c in self.communication.values()), default=0.0)

    def breakdown(self) -> dict[str, float]:
        """Energy by component summed over devices (compute, each level name, static) plus ``links``, J."""
        out: dict[str, float] = defaultdict(float)
        for d in self.devices.values():
            for k, v in d.energy_J.items():
                out[k] += v
        if self.links:
            out["links"] = sum(ln.energy_J for ln in self.links.values())
        return dict(out)

    @property
    def energy_J(self) -> float:
        """Total energy, J (the sum of :meth:`breakdown`)."""
        return sum(self.breakdown().values())

    def utilisation(self) -> dict[str, float]:
        """Busy fraction of each device and link direction."""
        t = self.latency_s or 1.0
        out = {f"device:{n}": d.busy_s / t for n, d in self.devices.items()}
        for ln in self.links.values():
            for direction, busy in ln.busy_s.items():
                out[f"link:{direction}"] = busy / t
        return out

    def pim_metrics(self) -> dict[str, Any] | None:
        """PIM figures of a system with a command-level PIM device (None without one).

        ``per_token_latency_s`` (the mean decode step, ``tbt_s``), ``energy_breakdown_J`` (every component:
        the PIM's ``activate``, ``mac``, ``io``, ``refresh``, ``background``; the ASIC's ``asic_compute``,
        ``sram``; ``static``), ``row_hit_rate`` (row hits / (hits + misses) of the PIM commands),
        ``offchip_bytes`` (bytes across the PIM chips' interface), ``plain_dram_bytes`` (the weight and KV
        bytes the PIM ops read and write: what a GDDR6 system without PIM moves over its pins),
        ``offchip_reduction`` (their ratio), ``non_gemv_time_fraction`` (1 - time of
        the PIM's GEMV and attention commands / latency: ASIC functions, exposed partial-sum additions, KV
        writes, idle gaps), ``asic_time_fraction`` (ASIC busy time / latency)."""
        pims = [d for d in self.devices.values() if d.type == "pim" and "row_hits" in d.counters]
        if not pims:
            return None
        hits = sum(d.counters.get("row_hits", 0.0) for d in pims)
        misses = sum(d.counters.get("row_misses", 0.0) for d in pims)
        gemv = sum(d.counters.get("gemv_s", 0.0) for d in pims)
        t = self.latency_s or 1.0
        asic = sum(d.busy_s for d in self.devices.values() if d.type == "asic")
        offchip = sum(d.counters.get("offchip_bytes", 0.0) for d in pims)
        plain = sum(d.dram_bytes for d in pims)  # what the PIM ops read/write: a plain GDDR6 system's pin traffic
        return {
            "per_token_latency_s": self.tbt_s,
            "energy_breakdown_J": self.breakdown(),
            "row_hit_rate": hits / (hits + misses) if hits + misses else None,
            "row_hits": hits,
            "row_misses": misses,
            "offchip_bytes": offchip,
            "plain_dram_bytes": plain,
            "offchip_reduction": plain / offchip if offchip else None,
            "pim_macs": sum(d.counters.get("macs", 0.0) for d in pims),
            "gemv_time_s": gemv,
            "non_gemv_time_fraction": max(0.0, 1.0 - gemv / t),
            "asic_time_fraction": asic / t,
            "asic_exposed_reduction_s": sum(d.counters.get("asic_exposed_s", 0.0) for d in pims),
        }

    def to_dict(self, *, per_op: bool = False) -> dict[str, Any]:
        """JSON-able summary (the keys of ``pimsim run --json``; with a PIM device also those of
        :meth:`pim_metrics`)."""
        tokens = self.batch * self.generate
        t = self.latency_s or 1.0
        d: dict[str, Any] = {
            "system": self.system,
            "model": self.model,
            "batch": self.batch,
            "prompt": self.prompt,
            "generate": self.generate,
            "placement": self.placement,
            "conventions": self.conventions,
            "ttft_s": self.ttft_s,
            "tbt_s": self.tbt_s,
            "latency_s": self.latency_s,
            "energy_J": self.energy_J,
            "tokens_per_s": tokens / self.latency_s if self.latency_s and tokens else 0.0,
            "breakdown": self.breakdown(),
            "phases": {
                k: {
                    "time_s": v.time_s,
                    "start_s": v.start_s if v.ops else 0.0,
                    "end_s": v.end_s,
                    "flops": v.flops,
                    "bytes": v.bytes,
                    "ops": v.ops,
                    "steps": v.steps,
                    "energy_J": v.energy_total_J,
                    "energy_breakdown_J": dict(v.energy_J),
                }
                for k, v in self.phases.items()
            },
            "devices": {
                n: {
                    "type": v.type,
                    "busy_s": v.busy_s,
                    "utilisation": v.busy_s / t,
                    "ops": v.ops,
                    "flops": v.flops,
                    "dram_bytes": v.dram_bytes,
                    "energy_J": sum(v.energy_J.values()),
                    "energy_breakdown_J": dict(v.energy_J),
                    "time_by_kind_s": dict(v.time_by_kind),
                    "bound_counts": dict(v.bound_counts),
                    **({"counters": dict(v.counters)} if v.counters else {}),
                }
                for n, v in self.devices.items()
            },
            "links": {
                n: {
                    "busy_s": dict(v.busy_s),
                    "utilisation": {k: b / t for k, b in v.busy_s.items()},
                    "bytes": v.bytes,
                    "transfers": v.transfers,
                    "energy_J": v.energy_J,
                }
                for n, v in self.links.items()
            },
            "layers": [{"phase": ph, "layer": L, "time_s": s} for (ph, L), s in sorted(self.layers.items())],
            "kinds_time_s": dict(self.kinds),
            "timeline": self.timeline,
            "network_mode": self.network_mode,
            "collectives": {
                k: {
                    "calls": v.calls,
                    "time_s": v.time_s,
                    "bytes": v.bytes,
                    "energy_J": v.energy_J,
                    "algorithms": dict(v.algorithms),
                    "time_by_phase_s": dict(v.by_phase_s),
                }
                for k, v in self.collectives.items()
            },
            "communication": {
                "exposed_s": self.exposed_comm_s,
                "devices": {n: {"comm_s": c.comm_s, "exposed_s": c.exposed_s} for n, c in self.communication.items()},
            },
            "runtime_overhead_s": self.runtime_overhead_s,
        }
        pim = self.pim_metrics()
        if pim is not None:
            d.update(pim)
        if per_op:
            d["ops"] = [r.to_dict() for r in (self.ops or [])]
            d["transfers"] = [r.to_dict() for r in (self.transfers or [])]
        return d


class RunAccumulator:
    """Running totals fed by the engine, cheap per op; :meth:`finish` builds the result.

    Ops with the same cost on the same device, phase and layer are counted, not summed one by one:
    the engine registers each distinct cost once (:meth:`cost_key`) and then calls :meth:`add` per op.
    """

    def __init__(self, devices: dict[str, tuple[str, float]], links: list[str], *, keep_ops: bool) -> None:
        self.phases: dict[str, PhaseSummary] = {}
        self.devices = {n: DeviceSummary(n, t, w) for n, (t, w) in devices.items()}
        self.links = {n: LinkSummary(n) for n in links}
        self.ops: list[OpRecord] | None = [] if keep_ops else None
        self.transfers: list[TransferRecord] | None = [] if keep_ops else None
        self.step_ends: dict[int, float] = {}
        self._steps: dict[str, set[int]] = defaultdict(set)
        self._costs: list[tuple[str, float, str, float, float, dict[str, float]]] = []
        self._counters: list[dict[str, float]] = []
        self._cost_ids: dict[int, int] = {}
        self._counts: dict[tuple[str, str, int, int], int] = defaultdict(int)
        self._link_phase: dict[str, float] = defaultdict(float)
        self.collectives: dict[str, CollectiveSummary] = {}
        self.communication: dict[str, CommSummary] = {n: CommSummary() for n in devices}
        self.runtime_overhead_s = 0.0

    def phase(self, name: str) -> PhaseSummary:
        """The summary of phase ``name`` (created on first use)."""
        ph = self.phases.get(name)
        if ph is None:
            ph = self.phases[name] = PhaseSummary(name)
        return ph

    def cost_key(
        self,
        obj: object,
        kind: str,
        time_s: float,
        bound: str,
        flops: float,
        dram_bytes: float,
        energy: dict[str, float],
        counters: dict[str, float] | None = None,
    ) -> int:
        """Register a distinct op cost (``obj`` identifies it) and return its key."""
        k = self._cost_ids.get(id(obj))
        if k is None:
            k = self._cost_ids[id(obj)] = len(self._costs)
            self._costs.append((kind, time_s, bound, flops, dram_bytes, energy))
            self._counters.append(counters or {})
        return k

    def add(self, device: str, phase: str, layer: int, cost: int) -> None:
        """Count one finished op."""
        self._counts[(device, phase, layer, cost)] += 1

    def add_span(self, phase: str, step: int, start_s: float, end_s: float) -> None:
        """Extend phase ``phase`` and step ``step`` to cover ``[start_s, end_s]``."""
        ph = self.phase(phase)
        if start_s < ph.start_s:
            ph.start_s = start_s
        if end_s > ph.end_s:
            ph.end_s = end_s
        if end_s > self.step_ends.get(step, 0.0):
            self.step_ends[step] = end_s
        self._steps[phase].add(step)

    def add_record(self, rec: OpRecord) -> None:
        """Keep one op record (``keep_ops``)."""
        if self.ops is not None:
            self.ops.append(rec)

    def add_transfer(self, rec: TransferRecord, link: str, phase: str) -> None:
        """Account one transfer hop (its energy goes to the link and the consumer's phase)."""
        ln = self.links[link]
        ln.bytes += rec.bytes
        ln.transfers += 1
        ln.energy_J += rec.energy_J
        self._link_phase[phase] += rec.energy_J
        if self.transfers is not None:
            self.transfers.append(rec)

    def add_link_traffic(self, link: str, nbytes: float, energy: float, phase: str) -> None:
        """Account collective traffic on one link (bytes and energy; not a transfer record)."""
        ln = self.links[link]
        ln.bytes += nbytes
        ln.energy_J += energy
        self._link_phase[phase] += energy

    def add_collective(self, kind: str, algorithm: str, time_s: float, nbytes: float, energy: float,
                       phase: str) -> None:
        """Account one finished collective."""
        c = self.collectives.get(kind)
        if c is None:
            c = self.collectives[kind] = CollectiveSummary(kind)
        c.calls += 1
        c.time_s += time_s
        c.bytes += nbytes
        c.energy_J += energy
        c.algorithms[algorithm] += 1
        c.by_phase_s[phase] += time_s

    def _expand(self) -> tuple[dict[tuple[str, int], float], dict[str, float]]:
        layers: dict[tuple[str, int], float] = defaultdict(float)
        kinds: dict[str, float] = defaultdict(float)
        for (dev, phase, layer, ck), n in self._counts.items():
            kind, t, bound, flops, dram, energy = self._costs[ck]
            ph = self.phase(phase)
            ph.flops += flops * n
            ph.bytes += dram * n
            ph.ops += n
            d = self.devices[dev]
            d.ops += n
            d.flops += flops * n
            d.dram_bytes += dram * n
            d.time_by_kind[kind] += t * n
            d.bound_counts[bound] += n
            for comp, j in energy.items():
                ph.energy_J[comp] += j * n
                d.energy_J[comp] += j * n
            for name, v in self._counters[ck].items():
                d.counters[name] += v * n
            layers[(phase, layer)] += t * n
            kinds[kind] += t * n
        for phase, j in self._link_phase.items():
            self.phase(phase).energy_J["links"] += j
        return layers, kinds

    def finish(
        self,
        *,
        system: str,
        model: str,
        batch: int,
        prompt: int,
        generate: int,
        placement: str,
        conventions: str,
        device_busy: dict[str, float],
        link_busy: dict[str, dict[str, float]],
        roofline_ops: list[OpRecord],
        timeline: str | None = None,
    ) -> SystemRunResult:
        """Expand the counts, add static energy and busy times; return the result."""
        layers, kinds = self._expand()
        latency = max(self.step_ends.values(), default=0.0)
        for n, dev in self.devices.items():
            dev.busy_s = device_busy.get(n, 0.0)
            dev.energy_J["static"] += dev.static_W * latency
        static_W = sum(d.static_W for d in self.devices.values())
        for name, ph in self.phases.items():
            ph.steps = len(self._steps[name])
            ph.energy_J["static"] += static_W * ph.time_s
        for n, busy in link_busy.items():
            for direction, b in busy.items():
                self.links[n].busy_s[direction] = b
        ends = [self.step_ends[s] for s in sorted(self.step_ends)]
        return SystemRunResult(
            system,
            model,
            batch,
            prompt,
            generate,
            placement,
            conventions,
            latency,
            ends,
            self.phases,
            self.devices,
            self.links,
            dict(layers),
            dict(kinds),
            self.ops,
            self.transfers,
            roofline_ops,
            timeline,
            self.collectives,
            self.communication,
            self.runtime_overhead_s,
        )
