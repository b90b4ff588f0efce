"""The discrete-event replay of an operator trace on a system (simpy).

Entities: device instances with in-order streams, links with one queue per direction
(:mod:`sim.engine.system`); ops are placed by the system's policy (:mod:`sim.placement`), queued on a
stream (:mod:`sim.engine.streams`) and cost by their device's model (:mod:`sim.devices`).

Events, per step of the trace (the prefill, then each decode step):

* every stream is one simpy process that takes its ops in order; an op starts when it is at the head
  of its stream and each input is ready on its device, and holds the stream for its duration;
* when an op finishes, its result is sent to every other device that consumes it: one transfer
  process per (result, destination), hop by hop along the route, each hop queueing FIFO for its link
  direction (the link model gives the hop's duration);
* a step's ops are enqueued together and simulated to completion before the next step is generated
  (every op of a generated decode step descends from the previous step's LM head, so nothing is lost;
  memory stays bounded for any length of generation).

The engine never sees a DRAM command: a device model returns each op's duration (memoised by op
signature, so the 32 identical layers of a step, and the identical non-attention ops of every decode
step, are costed once). Deterministic: no randomness is used, and simpy orders simultaneous events by
creation order.

Checks before anything runs: every dependency names an op of this or an earlier step and the step's
dependencies form no cycle (:class:`~sim.errors.TraceError`); each op's device can run it and the model
fits in each device's memory (:class:`~sim.placement.base.PlacementError`); the links connect every pair
of devices that exchange data.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import simpy

from sim.devices.base import OpCost
from sim.devices.kernels import launches_kernel
from sim.engine.streams import StreamAssigner
from sim.engine.system import LinkInstance, System
from sim.engine.transfers import output_bytes
from sim.errors import TraceError
from sim.placement.base import PlacementError
from sim.results.energy import compute_energy, level_energy
from sim.results.records import OpRecord, TransferRecord
from sim.results.summary import RunAccumulator, SystemRunResult
from sim.results.timeline import ChromeTrace
from sim.workload.conventions import Conventions
from sim.workload.trace import Op


@dataclass(slots=True)
class _Entry:
    op: Op
    cost: OpCost
    ck: int  # cost key in the accumulator
    dram: float  # DRAM bytes
    energy_total: float
    device: str
    stream: int
    waits: tuple  # keys to wait for: op id (local) or (op id, device) (a transfer)
    blocking: bool = False  # some input comes from another stream, another device or a transfer
    exported: bool = False  # some consumer of this step runs on another stream or device


def topo_order(ops: list[Op], known: set[int] | dict[int, object]) -> list[Op]:
    """``ops`` in an order where producers come first (stable by position); ``known`` holds ids of
    earlier steps. TraceError for a dependency on an unknown op or a cycle."""
    ids = {op.id for op in ops}
    if len(ids) != len(ops):
        raise TraceError("duplicate op ids in one step of the trace")
    fast = True
    for op in ops:
        for d in op.deps:
            if d in ids:
                if d >= op.id:
                    fast = False
            elif d not in known:
                raise TraceError(
                    f"op {op.id} ({op.name!r}) depends on op {d}, which is neither in its step "
                    "nor in an earlier one; expected ids of ops that exist"
                )
    if fast and all(ops[i].id < ops[i + 1].id for i in range(len(ops) - 1)):
        return ops
    pos = {op.id: i for i, op in enumerate(ops)}
    indeg = {op.id: 0 for op in ops}
    users: dict[int, list[int]] = defaultdict(list)
    for op in ops:
        for d in set(op.deps):
            if d in ids:
                indeg[op.id] += 1
                users[d].append(op.id)
    heap = [pos[i] for i, n in indeg.items() if n == 0]
    heapq.heapify(heap)
    out: list[Op] = []
    while heap:
        op = ops[heapq.heappop(heap)]
        out.append(op)
        for u in users[op.id]:
            indeg[u] -= 1
            if indeg[u] == 0:
                heapq.heappush(heap, pos[u])
    if len(out) != len(ops):
        stuck = {i for i, n in indeg.items() if n > 0}
        cycle = _find_cycle(ops, stuck)
        names = " -> ".join(f"{ops[pos[i]].name} (op {i})" for i in cycle)
        raise TraceError(
            f"the trace's dependencies form a cycle: {names}; expected an acyclic graph "
            "(each op depending only on ops that can finish before it)"
        )
    return out


def _find_cycle(ops: list[Op], stuck: set[int]) -> list[int]:
    deps = {op.id: [d for d in op.deps if d in stuck] for op in ops if op.id in stuck}
    start = min(stuck)
    seen: dict[int, int] = {}
    path: list[int] = []
    cur = start
    while cur not in seen:
        seen[cur] = len(path)
        path.append(cur)
        cur = deps[cur][0]
    cyc = path[seen[cur] :] + [cur]
    return list(reversed(cyc))


def _steps(ops: Iterable[Op]) -> Iterator[list[Op]]:
    buf: list[Op] = []
    cur = None
    for op in ops:
        if buf and op.step != cur:
            yield buf
            buf = []
        cur = op.step
        buf.append(op)
    if buf:
        yield buf


class Simulator:
    """Replays traces on one system. One instance per run (it holds the simulation clock)."""

    def __init__(
        self,
        system: System,
        conventions: Conventions,
        *,
        keep_ops: bool = False,
        timeline: bool = False,
        roofline_steps: tuple[int, ...] = (0, 1),
    ) -> None:
        self.system = system
        self.conv = conventions
        self.env = simpy.Environment()
        self.keep_ops = keep_ops
        self.trace = ChromeTrace() if timeline else None
        self.roofline_steps = frozenset(roofline_steps)
        self.roofline_ops: list[OpRecord] = []
        self.assigner = StreamAssigner({n: d.streams for n, d in system.devices.items()})
        self.acc = RunAccumulator(
            {n: (d.config.type, d.config.power.static) for n, d in system.devices.items()},
            [ln.name for ln in system.links],
            keep_ops=keep_ops,
        )
        self.loc: dict[int, str] = {}
        self.ready: dict[object, float] = {}
        self.waiters: dict[object, simpy.Event] = {}
        self.pending: dict[int, list[str]] = defaultdict(list)
        self.sent: set[tuple[int, str]] = set()
        self.producers: dict[int, Op] = {}
        self.link_res: dict[tuple[str, int], simpy.Resource] = {}
        for ln in system.links:
            for direction in (0, 1) if ln.model.duplex else (0,):
                self.link_res[(ln.name, direction)] = simpy.Resource(self.env, capacity=1)
        self._energy: dict[tuple[str, int], tuple[int, float, float]] = {}
        # busy accounting: active count and start of the current busy period, per device / link direction
        self._active: dict[object, int] = defaultdict(int)
        self._since: dict[object, float] = {}
        self._busy: dict[object, float] = defaultdict(float)
        self._rate: dict[str, float] = defaultdict(float)
        self._queue: dict[tuple[str, int], int] = defaultdict(int)
        if self.trace is not None:  # one track per device stream and per link direction, named up front
            for name, inst in system.devices.items():
                for st in range(inst.streams):
                    self.trace.track(name, f"stream {st}")
            for ln in system.links:
                for direction in (0, 1) if ln.model.duplex else (0,):
                    self.trace.track("links", ln.track(direction))

    # ------------------------------------------------------------------ public
    def run(
        self,
        ops: Iterable[Op],
        *,
        model_name: str = "",
        batch: int = 0,
        prompt: int = 0,
        generate: int = 0,
        context_tokens: int | None = None,
        weight_total_bytes: float | None = None,
    ) -> SystemRunResult:
        """Replay ``ops`` (a trace, consumed lazily step by step) and return the result.

        ``context_tokens`` (prompt + generated tokens) sizes the KV cache of the memory-fit check;
        ``weight_total_bytes`` (all the model's weights, e.g. every expert of an MoE model) replaces the
        weights the first step reads in that check.
        """
        first = True
        older: list[int] = []  # ids of the step before the previous one
        previous: list[int] = []
        for step in _steps(ops):
            for i in older:  # results of steps before the previous one are never sent again
                self.producers.pop(i, None)
                self.assigner.op_stream.pop(i, None)
            older, previous = previous, [op.id for op in step]
            order = topo_order(step, self.loc)
            entries = self._enqueue(order)
            if first:
                self._check_fit(entries, context_tokens, weight_total_bytes)
                first = False
            self._simulate(entries)
        busy_dev = {n: self._busy[("dev", n)] for n in self.system.devices}
        busy_link: dict[str, dict[str, float]] = {}
        for ln in self.system.links:
            busy_link[ln.name] = {
                ln.track(d): self._busy[("link", ln.name, d)] for d in ((0, 1) if ln.model.duplex else (0,))
            }
        timeline = None
        if self.trace is not None:
            self.trace.meta.update(
                {
                    "system": self.system.name,
                    "model": model_name,
                    "batch": batch,
                    "prompt": prompt,
                    "generate": generate,
                }
            )
        return self.acc.finish(
            system=self.system.name,
            model=model_name,
            batch=batch,
            prompt=prompt,
            generate=generate,
            placement=self.system.policy.name,
            conventions=self.conv.name,
            device_busy=busy_dev,
            link_busy=busy_link,
            roofline_ops=self.roofline_ops,
            timeline=timeline,
        )

    # ------------------------------------------------------------------ set-up of a step
    def _enqueue(self, ops: list[Op]) -> list[_Entry]:
        sysm = self.system
        conv = self.conv
        entries: list[_Entry] = []
        in_step: dict[int, _Entry] = {}
        policy = sysm.policy
        for op in ops:
            where = policy.place(op)
            dev = where.device
            inst = sysm.devices.get(dev)
            if inst is None:
                raise PlacementError(
                    f"placement put op {op.name!r} on {dev!r}, which is not a device of "
                    f"system {sysm.name!r} ({', '.join(sysm.devices)})"
                )
            try:
                cost = inst.model.cost(op, conv, launches=launches_kernel(op, conv))
            except PlacementError as exc:
                raise PlacementError(
                    f"placement policy {policy.name!r} put op {op.name!r} "
                    f"(step {op.step}) on device {dev!r}: {exc}"
                ) from None
            ekey = (dev, id(cost))
            en = self._energy.get(ekey)
            if en is None:
                cfg = inst.config
                parts = {
                    "compute": compute_energy(cfg, cost.compute_dtype, float(op.flops)),
                    **level_energy(cfg, cost.level_bytes, cost.write_bytes),
                }
                dram = cost.level_bytes.get(cfg.main_memory.name, 0.0)
                ck = self.acc.cost_key(cost, op.kind, cost.time_s, cost.bound, float(op.flops), dram, parts)
                en = self._energy[ekey] = (ck, dram, sum(parts.values()))
            stream = self.assigner.assign(op.id, dev, op.deps, where.stream)
            waits = []
            blocking = False
            for d in op.deps:
                src = self.loc[d]
                prod = in_step.get(d)
                if src == dev:
                    waits.append(d)
                    if prod is not None and prod.stream != stream:
                        blocking = True
                        prod.exported = True
                    elif prod is None and d not in self.ready:
                        blocking = True
                else:
                    key = (d, dev)
                    waits.append(key)
                    blocking = blocking or key not in self.ready
                    if prod is not None:
                        prod.exported = True
                    if key not in self.sent:
                        self.sent.add(key)
                        sysm.route(src, dev)  # raises now if the links do not connect them
                        if d in self.ready:
                            if d not in self.producers:
                                raise TraceError(
                                    f"op {op.id} ({op.name!r}) on {dev!r} needs the result of op {d}, two or "
                                    f"more steps back on {src!r}; the engine keeps the results of the "
                                    "previous step only: expected dependencies on this step or the last")
                            self.env.process(self._transfer(self.producers[d], src, dev, op.phase))
                        else:
                            self.pending[d].append(dev)
            self.loc[op.id] = dev
            self.producers[op.id] = op
            e = _Entry(op, cost, en[0], en[1], en[2], dev, stream, tuple(waits), blocking)
            in_step[op.id] = e
            entries.append(e)
        return entries

    def _check_fit(
        self, entries: list[_Entry], context_tokens: int | None, weight_total: float | None
    ) -> None:
        weights: dict[str, float] = defaultdict(float)
        kv: dict[str, float] = defaultdict(float)
        for e in entries:
            op = e.op
            weights[e.device] += op.load_weight_bytes
            if op.store_kv_bytes and op.tokens:
                per_token = op.store_kv_bytes / op.tokens
                kv[e.device] += per_token * (context_tokens or op.tokens)
        total_w = sum(weights.values())
        for name, inst in self.system.devices.items():
            w = weights.get(name, 0.0)
            if weight_total and total_w:
                w = weight_total * w / total_w
            need = w + kv.get(name, 0.0)
            lvl = inst.config.main_memory
            if need > lvl.capacity:
                gib = 2.0**30
                raise PlacementError(
                    f"the model does not fit in the memory of device {name!r} "
                    f"({lvl.name}, {lvl.capacity / gib:.1f} "
                    f"GiB): weights {w / gib:.2f} GiB + KV cache {kv.get(name, 0.0) / gib:.2f} GiB = "
                    f"{need / gib:.2f} GiB, short by {(need - lvl.capacity) / gib:.2f} GiB; "
                    "use a device with "
                    "more memory, a smaller batch or context, narrower datatypes, or place part of the model "
                    "on another device"
                )

    # ------------------------------------------------------------------ simulation of a step
    def _simulate(self, entries: list[_Entry]) -> None:
        queues: dict[tuple[str, int], list[_Entry]] = defaultdict(list)
        for e in entries:
            queues[(e.device, e.stream)].append(e)
        procs = [self.env.process(self._stream(dev, s, q)) for (dev, s), q in queues.items()]
        self.env.run()
        unfinished = [p for p in procs if p.is_alive]
        if unfinished:  # cannot happen for a topologically ordered step; kept as a guard
            raise TraceError(
                "some ops never ran: their inputs never became ready (dependency cycle across streams)"
            )

    def _wait(self, key: object) -> simpy.Event:
        ev = self.waiters.get(key)
        if ev is None:
            ev = self.waiters[key] = self.env.event()
        return ev

    def _mark(self, key: object) -> None:
        self.ready[key] = self.env.now
        ev = self.waiters.pop(key, None)
        if ev is not None:
            ev.succeed()

    def _busy_start(self, key: object) -> None:
        if self._active[key] == 0:
            self._since[key] = self.env.now
        self._active[key] += 1

    def _busy_end(self, key: object) -> None:
        self._active[key] -= 1
        if self._active[key] == 0:
            self._busy[key] += self.env.now - self._since[key]

    def _stream(self, dev: str, s: int, queue: list[_Entry]):  # simpy process
        """Run ``queue`` in order. Ops whose inputs come only from earlier ops of this stream start exactly
        when their predecessor ends, so such a run is simulated with one timeout (ending early at an op
        another stream or device waits for); the per-op start times are accumulated exactly."""
        env = self.env
        ready = self.ready
        acc = self.acc
        trace = self.trace
        keep = self.keep_ops or bool(self.roofline_steps)
        dkey = ("dev", dev)
        n = len(queue)
        i = 0
        while i < n:
            e = queue[i]
            if e.blocking:
                for key in e.waits:
                    if key not in ready:
                        yield self._wait(key)
            t0 = env.now
            t = t0
            j = i
            while j < n:
                e = queue[j]
                if j > i and e.blocking:
                    break
                t += e.cost.time_s
                j += 1
                if e.exported:
                    break
            self._busy_start(dkey)
            yield env.timeout(t - t0)
            self._busy_end(dkey)
            start = t0
            for k in range(i, j):
                e = queue[k]
                op, cost = e.op, e.cost
                acc.add(dev, op.phase, op.layer, e.ck)
                if keep and (self.keep_ops or op.step in self.roofline_steps) or trace is not None:
                    rec = OpRecord(
                        op.id,
                        op.name,
                        op.kind,
                        op.layer,
                        op.phase,
                        op.step,
                        dev,
                        s,
                        start,
                        cost.time_s,
                        e.energy_total,
                        cost.bound,
                        float(op.flops),
                        e.dram,
                        cost.compute_dtype,
                        cost.ceiling_flops_per_s,
                        cost.peak_flops_per_s,
                        cost.level_bytes,
                    )
                    if self.keep_ops:
                        acc.add_record(rec)
                    if op.step in self.roofline_steps:
                        self.roofline_ops.append(rec)
                    if trace is not None:
                        self._trace_op(rec)
                start += cost.time_s
                ready[op.id] = start
            last = queue[j - 1].op
            acc.add_span(last.phase, last.step, t0, env.now)
            self._mark(last.id)
            for dst in self.pending.pop(last.id, ()):
                env.process(self._transfer(last, dev, dst, last.phase))
            i = j

    def _trace_op(self, rec: OpRecord) -> None:
        trace = self.trace
        assert trace is not None
        dev = rec.device
        rate = rec.dram_bytes / rec.time_s if rec.time_s > 0 else 0.0
        self._rate[dev] += rate
        trace.counter(dev, "DRAM bandwidth (GB/s)", rec.start_s, {"GB/s": self._rate[dev] / 1e9})
        self._rate[dev] -= rate
        trace.counter(dev, "DRAM bandwidth (GB/s)", rec.end_s, {"GB/s": max(0.0, self._rate[dev]) / 1e9})
        trace.slice(
            dev,
            f"stream {rec.stream}",
            rec.name,
            rec.start_s,
            rec.time_s,
            cat=rec.kind,
            args={
                "id": rec.id,
                "kind": rec.kind,
                "phase": rec.phase,
                "step": rec.step,
                "layer": rec.layer,
                "bound": rec.bound,
                "flops": rec.flops,
                "dram_bytes": rec.dram_bytes,
                "energy_J": rec.energy_J,
            },
        )

    def _transfer(self, op: Op, src: str, dst: str, phase: str):  # simpy process
        nbytes = output_bytes(op)
        here = src
        for link, direction in self.system.route(src, dst):
            yield from self._hop(op, link, direction, here, nbytes, phase)
            here = link.b if here == link.a else link.a
        self._mark((op.id, dst))

    def _hop(self, op: Op, link: LinkInstance, direction: int, here: str, nbytes: float, phase: str):
        env = self.env
        key = (link.name, direction)
        res = self.link_res[key]
        track = link.track(direction)
        asked = env.now
        self._queue[key] += 1
        if self.trace is not None:
            self.trace.counter("links", f"queue depth {track}", asked, {"transfers": self._queue[key]})
        with res.request() as req:
            yield req
            start = env.now
            dur = link.model.transfer_time(nbytes)
            bkey = ("link", link.name, direction)
            self._busy_start(bkey)
            if self.trace is not None:
                self.trace.counter(
                    "links",
                    f"bandwidth {track} (GB/s)",
                    start,
                    {"GB/s": nbytes / dur / 1e9 if dur > 0 else 0.0},
                )
            yield env.timeout(dur)
            self._busy_end(bkey)
        self._queue[key] -= 1
        there = link.b if here == link.a else link.a
        energy = link.model.energy(nbytes)
        rec = TransferRecord(
            op.name, here, there, link.name, track, start, dur, nbytes, energy, start - asked
        )
        self.acc.add_transfer(rec, link.name, phase)
        if self.trace is not None:
            self.trace.counter("links", f"queue depth {track}", env.now, {"transfers": self._queue[key]})
            self.trace.counter("links", f"bandwidth {track} (GB/s)", env.now, {"GB/s": 0.0})
            self.trace.slice(
                "links",
                track,
                f"{op.name} {here}->{there}",
                start,
                dur,
                cat="transfer",
                args={"bytes": nbytes, "queued_s": start - asked, "energy_J": energy},
            )


def queue_depths(records: list[TransferRecord]) -> dict[str, int]:
    """Largest number of transfers waiting or in flight per link direction (from records)."""
    events: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for r in records:
        events[r.direction].append((r.start_s - r.queued_s, 1))
        events[r.direction].append((r.start_s + r.time_s, -1))
    out = {}
    for k, ev in events.items():
        depth = best = 0
        for _, d in sorted(ev, key=lambda x: (x[0], x[1])):
            depth += d
            best = max(best, depth)
        out[k] = best
    return out


__all__ = ["Simulator", "topo_order", "queue_depths"]
