"""The discrete-event replay of an operator trace on a system (simpy).

Entities: device instances with in-order streams, links with one queue per direction
(:mod:`sim.engine.system`); ops are placed by the system's policy (:mod:`sim.placement`), queued on a
stream (:mod:`sim.engine.streams`) and cost by their device's model (:mod:`sim.devices`).

Events, per step of the trace (the prefill, then each decode step):

* every stream is one simpy process that takes its ops in order; an op starts when it is at the head
  of its stream and each input is ready on its device, and holds the stream for its duration;
* when an op finishes, its result is sent to every other device that consumes it: one transfer
  process per (result, destination), hop by hop along the route, each hop queueing FIFO for its link
  direction (the link model gives the hop's duration). A result consumed only by a later step is sent
  when that step is enqueued, except the prefill's KV writes under disaggregated serving with
  ``kv_transfer: layerwise``: each goes to its rank's decode device as soon as it is written;
* a step's ops are enqueued together and simulated to completion before the next step is generated
  (every op of a generated decode step descends from the previous step's LM head, so nothing is lost;
  memory stays bounded for any length of generation);
* a ``collective`` op joins the streams of its group's devices: each device's stream reaches it (its own
  inputs ready), and when the last one has arrived the network runs it (:mod:`sim.interconnect.network`:
  its formula in ``analytic`` mode, its schedule of chunked sends on the link queues in ``contention``
  mode); every participant's stream is held until it ends and its result is then ready on each of them;
* an op whose weights live on another device (an offloaded expert) waits for a copy of them, started as
  soon as its other inputs are ready;
* the system's ``runtime:`` adds host time before each step (per step, per sequence, before the
  prefill) and slows matrix ops of steps above its token budget.

Transfers and collectives travel hop by hop through the system's topology; in ``contention`` mode a
message queues FIFO per link direction (chunked when ``network.chunk`` is set), in ``analytic`` mode it
never waits for other traffic.

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

import dataclasses
import heapq
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import simpy

from sim.devices.base import OpCost
from sim.devices.kernels import launches_kernel
from sim.engine.streams import StreamAssigner
from sim.engine.system import System
from sim.engine.transfers import output_bytes
from sim.errors import TraceError
from sim.interconnect.contention import HopSpan
from sim.interconnect.network import Network
from sim.interconnect.topology import LinkInstance
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
    coll: _Coll | None = None  # this entry is one device's part of a collective


@dataclass(eq=False)
class _Coll:
    """A collective in flight: its op, its devices (rank order), the participants simulated here."""

    op: Op
    devices: tuple[str, ...]
    parts: tuple[str, ...]
    arrived: dict[str, float] = field(default_factory=dict)
    events: dict[str, simpy.Event] = field(default_factory=dict)
    done: simpy.Event | None = None


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
        serial: bool = True,
        signatures: dict[int, int] | None = None,
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
        self.net = Network(self.env, system.topology, system.network, observer=self)
        self.coll_devs: dict[int, frozenset[str]] = {}
        self._phase = "prefill"
        self._adjusted: dict[tuple[str, int, int], OpCost] = {}
        self._keep: list[OpCost] = []
        self._comm_iv: dict[str, list[tuple[float, float]]] = defaultdict(list)
        #: when this step's transfers and weight fetches started moving (wait keys -> s): a stream that waits
        #: for one books communication from then on, not while the producer is still computing
        self._sent_at: dict[object, float] = {}
        self._comp_iv: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self._energy: dict[tuple[str, int], tuple[int, float, float]] = {}
        self._free_routes: dict[tuple[str, str], bool] = {}
        # busy accounting: active count and start of the current busy period, per device / link direction
        self._active: dict[object, int] = defaultdict(int)
        self._since: dict[object, float] = {}
        self._busy: dict[object, float] = defaultdict(float)
        self._rate: dict[str, float] = defaultdict(float)
        self._queue: dict[tuple[str, int], int] = defaultdict(int)
        #: steps may skip the event queue (one stream per device: :meth:`_simulate_serial`)
        self.serial = serial
        self._serial_capable = serial and all(d.streams == 1 for d in system.devices.values())
        self.serial_steps = 0  #: steps replayed on the serial fast path
        #: disaggregated serving with layer-wise KV transfer: each prefill KV write is sent to its rank's decode
        #: device as soon as it is written (the decode step, generated later, finds it sent)
        lay = system.layout
        self._push_kv = (system.parallel.kv_transfer == "layerwise" and lay is not None
                         and lay.prefill != lay.decode)
        #: ``id(op) -> signature number`` of a kept trace (:func:`sim.engine.replay.cached_trace`): ops with
        #: the same number have the same :func:`~sim.devices.base.signature`, hence the same cost on a device
        self.signatures = signatures
        self._known: dict[tuple[str, int | None], tuple[OpCost, tuple[int, float, float]]] = {}
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
            self._phase = step[0].phase
            entries = self._enqueue(order)
            if first:
                self._check_fit(entries, context_tokens, weight_total_bytes)
                first = False
            rt = self.system.runtime
            overhead = rt.step_overhead + rt.sequence_overhead * max(1, batch)
            if self._phase == "prefill":
                overhead += rt.prefill_overhead
            if overhead > 0:
                self._advance(self.env.now + overhead)
                self.acc.runtime_overhead_s += overhead
            if self._serial_ok(entries):
                self._simulate_serial(entries)
            else:
                self._simulate(entries)
            self._close_intervals()
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
        result = self.acc.finish(
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
        result.network_mode = self.net.mode
        return result

    # ------------------------------------------------------------------ set-up of a step
    def _enqueue(self, ops: list[Op]) -> list[_Entry]:
        sysm = self.system
        sigs = self.signatures
        known = self._known
        entries: list[_Entry] = []
        in_step: dict[int, _Entry] = {}
        policy = sysm.policy
        present: set[str] | None = None
        for op in ops:
            if op.kind == "collective":
                if present is None:
                    present = {policy.place(o).device for o in ops if o.kind != "collective"}
                entries.extend(self._enqueue_collective(op, in_step, present))
                continue
            where = policy.place(op)
            dev = where.device
            inst = sysm.devices.get(dev)
            if inst is None:
                raise PlacementError(
                    f"placement put op {op.name!r} on {dev!r}, which is not a device of "
                    f"system {sysm.name!r} ({', '.join(sysm.devices)})"
                )
            skey = (dev, sigs.get(id(op))) if sigs is not None else None
            hit = known.get(skey) if skey is not None else None
            if hit is not None:
                cost, en = hit
            else:
                cost, en = self._cost(op, inst, dev)
                if skey is not None and skey[1] is not None:
                    known[skey] = (cost, en)
            stream = self.assigner.assign(op.id, dev, op.deps, where.stream)
            waits = []
            blocking = False
            for d in op.deps:
                src = self.loc[d]
                prod = in_step.get(d)
                cdev = self.coll_devs.get(d) if self.coll_devs else None
                if cdev is not None and dev in cdev:  # a collective's result, here on this device
                    waits.append((d, dev))
                    blocking = True
                    continue
                shared = src != dev and self._shared(src, dev)
                if src == dev or shared:  # same device, or devices whose data moves at no cost of its own
                    waits.append(d)
                    if prod is not None and (shared or prod.stream != stream):
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
                    self._send(d, src, dev, op)
            if where.weights_on is not None and where.weights_on != dev:
                sysm.route(where.weights_on, dev)  # raises now if the links do not connect them
                for d in op.deps:  # the fetch waits for the op's inputs: their producers must signal
                    prod = in_step.get(d)
                    if prod is not None:
                        prod.exported = True
                self.env.process(self._fetch(op, where.weights_on, dev, where.weights_fraction, tuple(waits)))
                waits.append(("weights", op.id))
                blocking = True
            self.loc[op.id] = dev
            self.producers[op.id] = op
            e = _Entry(op, cost, en[0], en[1], en[2], dev, stream, tuple(waits), blocking)
            in_step[op.id] = e
            entries.append(e)
            if self._push_kv and op.kind == "kv_write" and op.phase == "prefill" and op.store_kv_bytes:
                # a consumer of a later step (the decode) will wait for it there: send it when it is written
                to = sysm.layout.device(max(op.rank, 0), "decode")
                if to != dev and not self._shared(dev, to):
                    self._send(op.id, dev, to, op)
                    e.exported = True
        return entries

    def _send(self, d: int, src: str, dst: str, consumer: Op) -> None:
        """Deliver op ``d``'s result from ``src`` to ``dst``, once: now if it is ready, else when it is produced
        (``consumer`` names who needs it, for the error)."""
        key = (d, dst)
        if key in self.sent:
            return
        self.sent.add(key)
        self.system.route(src, dst)  # raises now if the links do not connect them
        if d not in self.ready:
            self.pending[d].append(dst)
            return
        if d not in self.producers:
            raise TraceError(
                f"op {consumer.id} ({consumer.name!r}) on {dst!r} needs the result of op {d}, two or more steps "
                f"back on {src!r}; the engine keeps the results of the previous step only: expected dependencies "
                "on this step or the last")
        self.env.process(self._transfer(self.producers[d], src, dst, consumer.phase))

    def _cost(self, op: Op, inst, dev: str) -> tuple[OpCost, tuple[int, float, float]]:
        """``op``'s cost on device ``dev`` (its model's memo; the runtime's over-budget slow-down) and its
        accumulator key, DRAM bytes and dynamic energy (J)."""
        conv = self.conv
        try:
            cost = inst.model.cost(op, conv, launches=launches_kernel(op, conv))
        except PlacementError as exc:
            raise PlacementError(
                f"placement policy {self.system.policy.name!r} put op {op.name!r} "
                f"(step {op.step}) on device {dev!r}: {exc}"
            ) from None
        rt = self.system.runtime
        if rt.over_budget and rt.token_budget and op.kind in _MATRIX and op.batch * op.tokens > rt.token_budget:
            cost = self._over_budget(dev, cost, op.batch * op.tokens)
        ekey = (dev, id(cost))
        en = self._energy.get(ekey)
        if en is None:
            cfg = inst.config
            if cost.energy_J is not None:  # the model's own breakdown (PIM commands, ASIC units)
                parts = dict(cost.energy_J)
            else:
                parts = {
                    "compute": compute_energy(cfg, cost.compute_dtype, float(op.flops)),
                    **level_energy(cfg, cost.level_bytes, cost.write_bytes),
                }
            dram = cost.level_bytes.get(cfg.main_memory.name, 0.0) if cfg.memory else 0.0
            ck = self.acc.cost_key(cost, op.kind, cost.time_s, cost.bound, float(op.flops), dram, parts,
                                   cost.counters)
            en = self._energy[ekey] = (ck, dram, sum(parts.values()))
        return cost, en

    def _shared(self, src: str, dst: str) -> bool:
        """True when every link from ``src`` to ``dst`` is ``free`` (its transfers are inside the devices'
        own costs, e.g. PIM-GPT's ASIC and PIM chips): the consumer then waits for the producer only."""
        key = (src, dst)
        hit = self._free_routes.get(key)
        if hit is None:
            hit = self._free_routes[key] = all(
                getattr(ln.model, "free", False) for ln, _ in self.system.route(src, dst))
        return hit

    # ------------------------------------------------------------------ collectives, fetches, overheads
    def _over_budget(self, dev: str, cost: OpCost, tokens: int) -> OpCost:
        """``cost`` slowed down for a step of ``tokens`` tokens above the runtime's token budget."""
        key = (dev, id(cost), tokens)
        hit = self._adjusted.get(key)
        if hit is None:
            rt = self.system.runtime
            f = 1.0 + rt.over_budget * (1.0 - rt.token_budget / tokens)
            hit = dataclasses.replace(cost, time_s=cost.time_s * f)
            self._adjusted[key] = hit
            self._keep.append(cost)  # keep ``cost`` alive so that its id stays unique
        return hit

    def _enqueue_collective(self, op: Op, in_step: dict[int, _Entry], present: set[str]) -> list[_Entry]:
        """One entry per participating device simulated in this step; the network runs the collective."""
        sysm = self.system
        layout = sysm.layout
        if layout is None:
            raise PlacementError(
                f"op {op.name!r} is a {op.collective} over ranks {list(op.group)}, but system {sysm.name!r} "
                "has no parallel layout (a `parallel:` block); replay it on a system with one"
            )
        devices = tuple(layout.device(r, op.phase) for r in op.group)
        parts = tuple(d for d in devices if d in present) or devices[:1]
        coll = _Coll(op, devices, parts)
        coll.done = self.env.event()
        entries = []
        for dev in parts:
            waits: list = []
            local = []
            for d in op.deps:
                cdev = self.coll_devs.get(d)
                if cdev is not None and dev in cdev:
                    waits.append((d, dev))
                    local.append(d)
                elif self.loc[d] == dev:
                    waits.append(d)
                    local.append(d)
                    prod = in_step.get(d)
                    if prod is not None:
                        prod.exported = True
            stream = self.assigner.assign(op.id, dev, tuple(local), None)
            coll.events[dev] = self.env.event()
            entries.append(_Entry(op, _ZERO, -1, 0.0, 0.0, dev, stream, tuple(waits), True, True, coll))
        # inputs on devices that do not take part (rare): the collective waits for them too
        outside = tuple(d for d in op.deps if self.loc[d] not in devices and d not in self.coll_devs)
        self.env.process(self._collective(coll, outside))
        self.loc[op.id] = devices[0]
        self.coll_devs[op.id] = frozenset(devices)
        self.producers[op.id] = op
        return entries

    def _collective(self, coll: _Coll, outside: tuple[int, ...]):  # simpy process
        env = self.env
        yield simpy.AllOf(env, list(coll.events.values()))
        for d in outside:
            if d not in self.ready:
                yield self._wait(d)
        op = coll.op
        nb = op.dtypes.a.bits / 8.0
        n = op.shape.elements * nb
        matrix = None
        if op.matrix:
            p = len(op.group)
            matrix = [[op.matrix[i * p + j] * nb for j in range(p)] for i in range(p)]
        stats = yield from self.net.collective(op.name, op.collective, coll.devices, n, matrix)
        self.acc.add_collective(op.collective, stats.algorithm, stats.time_s, stats.bytes, stats.energy_J,
                                op.phase)
        assert coll.done is not None
        coll.done.succeed()
        self._mark(op.id)  # later consumers elsewhere: its result leaves from devices[0]
        for dev in coll.devices:
            if dev not in coll.parts:
                self.ready[(op.id, dev)] = env.now
        for dst in self.pending.pop(op.id, ()):
            env.process(self._transfer(op, coll.devices[0], dst, op.phase))

    def _coll_part(self, e: _Entry, dev: str, s: int):  # part of a stream process
        env = self.env
        for key in e.waits:
            if key not in self.ready:
                yield self._wait(key)
        coll = e.coll
        assert coll is not None and coll.done is not None
        t0 = env.now
        coll.arrived[dev] = t0
        coll.events[dev].succeed()
        yield coll.done
        op = e.op
        dur = env.now - t0
        self._comm_iv[dev].append((t0, env.now))
        self.acc.add_span(op.phase, op.step, t0, env.now)
        self.acc.devices[dev].time_by_kind["collective"] += dur
        if self.keep_ops or self.trace is not None:
            rec = OpRecord(op.id, op.name, op.kind, op.layer, op.phase, op.step, dev, s, t0, dur, 0.0,
                           "network", 0.0, 0.0, "", 0.0, 0.0, {})
            if self.keep_ops:
                self.acc.add_record(rec)
            if self.trace is not None:
                self.trace.slice(dev, f"stream {s}", op.name, t0, dur, cat="collective",
                                 args={"collective": op.collective, "ranks": len(coll.devices), "step": op.step,
                                       "layer": op.layer, "bytes_per_rank": op.shape.elements * op.dtypes.a.bits / 8})
        self._mark((op.id, dev))

    def _fetch(self, op: Op, src: str, dst: str, fraction: float, waits: tuple):  # simpy process
        for key in waits:
            if key not in self.ready:
                yield self._wait(key)
        self._sent_at[("weights", op.id)] = self.env.now
        yield from self.net.transfer(src, dst, op.load_weight_bytes * fraction, f"{op.name}.weights")
        self._mark(("weights", op.id))

    def _close_intervals(self) -> None:
        """Fold this step's communication and compute intervals into each device's totals."""
        for dev, comm in self._comm_iv.items():
            if not comm:
                continue
            c = _union(comm)
            summ = self.acc.communication[dev]
            summ.comm_s += sum(b - a for a, b in c)
            summ.exposed_s += _minus(c, _union(self._comp_iv.get(dev, [])))
        self._comm_iv.clear()
        self._comp_iv.clear()
        self._sent_at.clear()

    # ------------------------------------------------------------------ network observer
    def hop(self, label: str, span: HopSpan, energy_J: float, collective: bool) -> None:
        """A message crossed a link: a transfer record (transfers) or link traffic (collectives)."""
        ln = span.link
        track = ln.track(span.direction)
        there = ln.other(span.here)
        dur = span.end_s - span.start_s
        if collective:
            self.acc.add_link_traffic(ln.name, span.bytes, energy_J, self._phase)
        else:
            rec = TransferRecord(label, span.here, there, ln.name, track, span.start_s, dur, span.bytes, energy_J,
                                 span.queued_s)
            self.acc.add_transfer(rec, ln.name, self._phase)
        if self.trace is not None:
            self.trace.counter("links", f"bandwidth {track} (GB/s)", span.start_s,
                               {"GB/s": span.bytes / dur / 1e9 if dur > 0 else 0.0})
            self.trace.counter("links", f"bandwidth {track} (GB/s)", span.end_s, {"GB/s": 0.0})
            self.trace.slice("links", track, f"{label} {span.here}->{there}", span.start_s, dur,
                             cat="collective" if collective else "transfer",
                             args={"bytes": span.bytes, "queued_s": span.queued_s, "energy_J": energy_J})

    def traffic(self, label: str, link: LinkInstance, direction: int, nbytes: float, energy_J: float,
                start_s: float, busy_s: float) -> None:
        """Analytic-mode collective traffic on one link direction: bytes, energy, busy time, timeline."""
        self.acc.add_link_traffic(link.name, nbytes, energy_J, self._phase)
        self._busy[("link", link.name, direction)] += busy_s
        if self.trace is not None:
            track = link.track(direction)
            self.trace.slice("links", track, label, start_s, busy_s, cat="collective",
                             args={"bytes": nbytes, "energy_J": energy_J})
            self.trace.counter("links", f"bandwidth {track} (GB/s)", start_s,
                               {"GB/s": nbytes / busy_s / 1e9 if busy_s > 0 else 0.0})
            self.trace.counter("links", f"bandwidth {track} (GB/s)", start_s + busy_s, {"GB/s": 0.0})

    def busy(self, key: tuple[str, int], delta: int) -> None:
        """A link direction started or stopped serialising."""
        bkey = ("link", key[0], key[1])
        if delta > 0:
            self._busy_start(bkey)
        else:
            self._busy_end(bkey)

    def queue(self, link: LinkInstance, direction: int, delta: int) -> None:
        """Queue depth of a link direction (timeline counter)."""
        key = (link.name, direction)
        self._queue[key] += delta
        if self.trace is not None:
            self.trace.counter("links", f"queue depth {link.track(direction)}", self.env.now,
                               {"transfers": self._queue[key]})

    def _check_fit(
        self, entries: list[_Entry], context_tokens: int | None, weight_total: float | None
    ) -> None:
        weights: dict[str, float] = defaultdict(float)
        kv: dict[str, float] = defaultdict(float)
        for e in entries:
            op = e.op
            if e.coll is not None:
                continue
            weights[e.device] += op.load_weight_bytes
            if op.store_kv_bytes and op.tokens:
                per_token = op.store_kv_bytes / op.tokens
                kv[e.device] += per_token * (context_tokens or op.tokens)
        # weights placed on a device that streams them from elsewhere (stores_weights False, e.g. an ASIC
        # gathering embedding rows from the PIM chips) count towards the devices that store weights
        storing = {n for n, inst in self.system.devices.items() if inst.model.stores_weights}
        total_w = sum(v for n, v in weights.items() if n in storing)
        for name, inst in self.system.devices.items():
            if name not in storing:
                continue
            w = weights.get(name, 0.0)
            if weight_total and total_w:
                w = weight_total * w / total_w
            why = inst.model.fit_error(w, kv.get(name, 0.0))
            if why:
                raise PlacementError(why)

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

    def _serial_ok(self, entries: list[_Entry]) -> bool:
        """True when the step can be replayed without events (:meth:`_simulate_serial`): no timeline, one
        stream per device, nothing scheduled, and no collective, transfer or weight fetch in the step (every
        input is on its consumer's device or crosses only ``free`` links)."""
        if not self._serial_capable or self.trace is not None or self.env.peek() != float("inf"):
            return False
        for e in entries:
            if e.coll is not None or e.op.id in self.pending:
                return False
            for k in e.waits:
                if type(k) is not int:
                    return False
        return True

    def _simulate_serial(self, entries: list[_Entry]) -> None:
        """Replay a step with no event queue, with exactly the event engine's arithmetic.

        Valid under :meth:`_serial_ok`: every stream is alone on its device and every wait is for an op's
        result, so a stream's run of ops (a chunk, cut exactly where :meth:`_stream` cuts it) starts at the
        latest of the stream's own clock and the ready times of what its first op waits for, and ends at
        ``start + (sum of its op times)`` as simpy's timeout computes it. Chunks are taken in the step's
        topological order, so what a chunk waits for is known when it is reached. ``tests/test_engine_serial.py``
        checks this against :meth:`_simulate` on small models.
        """
        env = self.env
        step_start = env.now
        ready = self.ready
        busy = self._busy
        self.serial_steps += 1
        queues: dict[tuple[str, int], list[_Entry]] = defaultdict(list)
        for e in entries:
            queues[(e.device, e.stream)].append(e)
        clock = dict.fromkeys(queues, step_start)
        pos = dict.fromkeys(queues, 0)
        end_all = step_start
        for e in entries:
            qk = (e.device, e.stream)
            queue = queues[qk]
            i = pos[qk]
            if i >= len(queue) or queue[i] is not e:
                continue  # inside a chunk already replayed
            t0 = clock[qk]
            if e.blocking:
                for key in e.waits:
                    r = ready[key]
                    if r > t0:
                        t0 = r
            j, t = self._chunk(queue, i, t0)
            end = t0 + (t - t0)  # what simpy's clock reads after ``timeout(t - t0)`` at ``t0``
            busy[("dev", e.device)] += end - t0
            self._finish_chunk(queue, i, j, e.device, e.stream, t0, end)
            ready[queue[j - 1].op.id] = end
            clock[qk] = end
            pos[qk] = j
            if end > end_all:
                end_all = end
        self._advance(end_all)  # the clock where the event engine's step ends (its last event)

    def _advance(self, t: float) -> None:
        """Move the clock to ``t`` (s) between steps, when no event is pending. simpy's ``run(until=t)`` would
        leave its stop event queued, which rules out the serial fast path for the next step; setting the clock
        is what processing that event would do."""
        if t <= self.env.now:
            return
        if self.env.peek() != float("inf"):
            self.env.run(until=t)
            return
        self.env._now = t

    @staticmethod
    def _chunk(queue: list[_Entry], i: int, t0: float) -> tuple[int, float]:
        """The run of ops that starts with ``queue[i]`` at ``t0`` (s) and needs no event in between: up to the
        next op that waits for another stream, device or collective, or through the first op another one
        waits for. Returns the index after the run and the clock summed op by op to its end, s."""
        t = t0
        j = i
        n = len(queue)
        while j < n:
            e = queue[j]
            if j > i and (e.blocking or e.coll is not None):
                break
            t += e.cost.time_s
            j += 1
            if e.exported:
                break
        return j, t

    def _finish_chunk(self, queue: list[_Entry], i: int, j: int, dev: str, s: int, t0: float, end: float) -> None:
        """Account ops ``queue[i:j]``, run back to back on stream ``s`` of ``dev`` from ``t0`` to ``end``:
        counts, records, the ready time of each op (exact partial sums) and the step's span."""
        acc = self.acc
        ready = self.ready
        trace = self.trace
        start = t0
        for k in range(i, j):
            e = queue[k]
            op, cost = e.op, e.cost
            acc.add(dev, op.phase, op.layer, e.ck)
            if self.keep_ops or op.step in self.roofline_steps or trace is not None:
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
        acc.add_span(last.phase, last.step, t0, end)

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
        dkey = ("dev", dev)
        n = len(queue)
        i = 0
        comm_iv = self._comm_iv[dev]
        comp_iv = self._comp_iv[dev]
        while i < n:
            e = queue[i]
            if e.coll is not None:
                yield from self._coll_part(e, dev, s)
                i += 1
                continue
            if e.blocking:
                for key in e.waits:
                    if key not in ready:
                        tw = env.now
                        yield self._wait(key)
                        if isinstance(key, tuple):  # a transfer, a collective's result, a weight fetch
                            comm_iv.append((max(tw, self._sent_at.get(key, tw)), env.now))
            t0 = env.now
            j, t = self._chunk(queue, i, t0)
            self._busy_start(dkey)
            yield env.timeout(t - t0)
            self._busy_end(dkey)
            comp_iv.append((t0, env.now))
            self._finish_chunk(queue, i, j, dev, s, t0, env.now)
            last = queue[j - 1].op
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
        self._sent_at[(op.id, dst)] = self.env.now
        yield from self.net.transfer(src, dst, nbytes, op.name)
        self._mark((op.id, dst))


_ZERO = OpCost(0.0, "network", "", 0.0, 0.0)
_MATRIX = frozenset({"linear", "lm_head", "expert_linear"})


def _union(iv: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(iv):
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _minus(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    """Measure of the union ``a`` less the union ``b`` (both sorted and disjoint)."""
    total = 0.0
    j = 0
    for s0, e0 in a:
        while j < len(b) and b[j][1] <= s0:
            j += 1
        cur = s0
        k = j
        while k < len(b) and b[k][0] < e0:
            if b[k][0] > cur:
                total += b[k][0] - cur
            cur = max(cur, b[k][1])
            k += 1
        if cur < e0:
            total += e0 - cur
    return total


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
