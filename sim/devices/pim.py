"""The DRAM-PIM device (``type: pim``): GEMVs, decode attention and KV writes at command level.

Config: :class:`~sim.config.accelerators.PimDeviceConfig` (a PIM memory preset of :mod:`sim.pim`, with
``channels``, ``banks_per_channel`` and ``mac_lanes`` lifted to the top so that ``pim.channels=4,8,16``
sweeps them). Every op's time, energy and command statistics come from the PIM command-level model
(:mod:`sim.pim.api`); this module only maps trace ops onto its calls and adds the ASIC's share:

=================  ==========================================================================================
trace op           PIM calls
=================  ==========================================================================================
linear, lm_head,   ``gemv_cost(rows=n, cols=k)`` per token row and per ``count`` (m x count identical GEMVs:
moe_gate,          computed once, charged m x count times)
expert_linear
attn_score,        ``attention_cost(heads, head_dim, kv_len, kind="score"|"context")``; a prefill step runs
attn_context       token by token, token t over ``cached + t + 1`` keys (causal) or all keys (non-causal)
kv_write           ``kv_write_cost(heads, head_dim, tokens)``
=================  ==========================================================================================

**Prompts.** PIM-GPT is a decode accelerator: its PIM chips only multiply matrices by vectors. A GEMM
with ``m > 1`` rows (the prompt) therefore runs as ``m`` GEMVs, one token after another
(``prefill: token-by-token``, the default; this is what a GEMV-only engine must do), or is refused
with a clear message (``prefill: reject``).

**The ASIC's share of a GEMV.** When the system has an ASIC (bound by :meth:`PimModel.bind`), the
partial sums the banks return are added there (:meth:`sim.devices.asic.AsicModel.reduction`): ``p``
partial sums per output, ``p`` = results read out of the banks / outputs. The reduction overlaps the
PIM's streaming, so a GEMV takes ``max(PIM time, reduction time) + the reduction of one read-out batch``;
its energy is added under ``asic_compute`` and ``sram``.

**Costs are memoised** by (kind, shape, datatype) here and by the PIM API below, so the identical GEMVs
of every layer and every step are simulated once; attention, whose length grows every step, is one
command-level call per distinct length (the API keeps that exact).

**Standby power.** The PIM memory's precharged standby (all channels) is the device's static power, drawn
over the whole run (also while the ASIC works); an op's ``background`` energy keeps only the extra standby
of its open banks. Refresh energy is charged per op, for the refreshes that fall into it.

**Per-op statistics** (``OpCost.counters``, summed per device by the engine): ``row_hits``,
``row_misses``, ``offchip_bytes``, ``macs``, ``pim_s`` (PIM time), ``asic_exposed_s`` (ASIC time not hidden
behind the PIM), ``gemv_s`` (time of GEMV work).
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.config.accelerators import PimDeviceConfig
from sim.config.hardware import DeviceConfig, MemoryLevel, PowerSpec
from sim.devices.base import DeviceModel, OpCost
from sim.errors import ConfigError
from sim.interconnect.link import LinkModel, register_link_model
from sim.workload.conventions import Conventions
from sim.workload.trace import Op

#: trace kinds a PIM device runs
GEMV_KINDS = frozenset({"linear", "lm_head", "moe_gate", "expert_linear"})
ATTENTION_KINDS = {"attn_score": "score", "attn_context": "context"}
PIM_KINDS = GEMV_KINDS | frozenset(ATTENTION_KINDS) | {"kv_write"}
#: energy components of the PIM API
PIM_ENERGY = ("activate", "mac", "io", "refresh", "background")


def _api():
    from sim.pim import api

    return api


@dataclass(frozen=True)
class PimCall:
    """One PIM op's cost as charged: seconds, energy by component (J), statistics."""

    time_s: float
    energy_J: dict[str, float]
    counters: dict[str, float]


def spec_overrides(cfg: PimDeviceConfig) -> list[str]:
    """The PIM-memory overrides a device config asks for (its lifted keys, then ``pim_set``)."""
    api = _api()
    out: list[str] = []
    if cfg.channels is not None:
        out.append(f"org.channels={cfg.channels}")
    if cfg.banks_per_channel is not None or cfg.mac_lanes is not None:
        base = api.load_pim(cfg.pim_memory, list(cfg.pim_set))
        if cfg.banks_per_channel is not None:
            groups = base.dram.org.bankgroups * base.dram.org.ranks
            if cfg.banks_per_channel % groups:
                raise ConfigError(
                    f"banks_per_channel {cfg.banks_per_channel} is not a multiple of the {groups} bank groups "
                    f"of PIM memory {cfg.pim_memory!r}", key="banks_per_channel", value=cfg.banks_per_channel,
                    expected=f"a multiple of {groups}")
            out.append(f"org.banks_per_group={cfg.banks_per_channel // groups}")
        if cfg.mac_lanes is not None:
            out += [f"pim.lanes.{dt}={cfg.mac_lanes}" for dt, _ in base.pim.lanes]
    return out + list(cfg.pim_set)


def effective_config(cfg: PimDeviceConfig, spec) -> DeviceConfig:
    """The generic view of the PIM device: peak = 2 x MAC rate, one memory level (the banks)."""
    compute = {dt: 2.0 * spec.peak_macs_per_s(dt) for dt, _ in spec.pim.lanes}
    macs_per_s = max(spec.peak_macs_per_s(dt) / n for dt, n in spec.pim.lanes)
    internal_bw = macs_per_s * spec.access_bytes  # one access per MAC command per PU
    level = MemoryLevel.model_construct(name="pim", kind="dram", capacity=float(spec.capacity_bytes),
                                        bandwidth=internal_bw)
    static = cfg.power.static + standby_W(spec)
    power = PowerSpec.model_construct(static=static, peak=max(cfg.power.peak, static))
    return cfg.model_copy(update={
        "clock": spec.pim.pu_clock_Hz, "cores": spec.units * spec.pus_per_unit, "compute": compute,
        "memory": [level], "power": power})


def standby_W(spec) -> float:
    """Standby power of the PIM memory with every bank precharged (all channels), W: drawn over the whole
    run, so it is the device's static power; each op's ``background`` keeps only the extra standby of its
    open banks."""
    return spec.units * spec.pim.energy.standby_precharged_W


class PimModel(DeviceModel):
    """A DRAM-PIM device costed by :mod:`sim.pim.api`; see the module docstring."""

    types = ("pim",)
    accepts_fidelity = False  # command-level timing from sim.pim

    @classmethod
    def accepts(cls, config: DeviceConfig) -> bool:
        """Only configs with the PIM-GPT keys."""
        return isinstance(config, PimDeviceConfig)

    def __init__(self, config: DeviceConfig, *, name: str | None = None) -> None:
        if not isinstance(config, PimDeviceConfig):
            raise ConfigError(f"device {config.name!r} of type pim needs a `pim_memory:` preset",
                              key="pim_memory")
        self.raw = config
        self.spec = _api().load_pim(config.pim_memory, spec_overrides(config))
        try:
            self.mapping = _api().MappingConfig(**(config.mapping or {}))
        except TypeError as exc:
            raise ConfigError(f"device {config.name!r}: bad mapping option ({exc})", key="mapping",
                              value=config.mapping,
                              expected="keys partition, tiling, head_concat, vector_chunk, kv_capacity, "
                                       "early_activate") from None
        super().__init__(effective_config(config, self.spec), name=name)
        self.standby = standby_W(self.spec)
        self.asic = None
        self._calls: dict[tuple, PimCall] = {}

    # ------------------------------------------------------------------ system
    def bind(self, devices: dict[str, DeviceModel]) -> None:
        """Find the ASIC that adds this device's partial sums (the first device of type asic)."""
        for model in devices.values():
            if model.config.type == "asic" and hasattr(model, "reduction"):
                self.asic = model
                return

    def fit_error(self, weight_bytes: float, kv_bytes: float) -> str | None:
        """The PIM API's capacity check (weights + KV cache in the banks)."""
        try:
            _api().capacity_check(self.spec, int(weight_bytes), int(kv_bytes))
        except Exception as exc:  # a PimsimError naming what does not fit and by how much
            from sim.errors import PimsimError

            if isinstance(exc, PimsimError):
                return f"device {self.name!r}: {exc}"
            raise
        return None

    # ------------------------------------------------------------------ capability
    def pim_dtype(self, op: Op) -> str | None:
        """The PIM lane format of ``op`` (a 16-bit float runs on 16-bit lanes of either kind)."""
        want = op.dtypes.w.name if op.kind in GEMV_KINDS else op.dtypes.k.name
        lanes = dict(self.spec.pim.lanes)
        if want in lanes:
            return want
        twins = {"fp16": "bf16", "bf16": "fp16"}
        if twins.get(want) in lanes:
            return twins[want]
        return None

    def check(self, op: Op) -> str | None:
        """Only GEMV-like kinds, attention and KV writes, in a supported format; m > 1 only token by token."""
        if op.kind not in PIM_KINDS:
            return (f"PIM device {self.name!r} runs matrix-vector products, decode attention and KV writes "
                    f"({', '.join(sorted(PIM_KINDS))}), not op kind {op.kind!r}; place it on the ASIC or host")
        if self.pim_dtype(op) is None:
            return (f"PIM device {self.name!r} has lanes for {', '.join(d for d, _ in self.spec.pim.lanes)}, "
                    f"not {op.dtypes.w.name}; run with --dtype bf16")
        if self.raw.prefill == "reject" and op.kind != "kv_write" and op.tokens > 1:
            return (f"PIM device {self.name!r} multiplies matrices by vectors only, and op {op.name!r} has "
                    f"{op.tokens} token rows (a prompt); set `prefill: token-by-token` on the device to run "
                    "the prompt one token at a time, or place the prefill on another device")
        return None

    # ------------------------------------------------------------------ calls
    def _charge(self, c, times: int = 1) -> PimCall:
        energy = {k: c.energy_J.get(k, 0.0) * times for k in PIM_ENERGY}
        # the precharged standby over the op is in the device's static power (over the whole run)
        energy["background"] = max(0.0, energy["background"] - self.standby * c.seconds * times)
        for k, v in c.energy_J.items():
            if k not in energy and k != "total":
                energy[k] = v * times
        counters = {"row_hits": c.row_hits * times, "row_misses": c.row_misses * times,
                    "offchip_bytes": c.offchip_bytes * times, "macs": c.macs * times,
                    "pim_s": c.seconds * times}
        return PimCall(c.seconds * times, energy, counters)

    def _readouts(self, c) -> int:
        """Result elements read out of the banks by one PIM call (partial sums for the ASIC)."""
        return int(c.detail.get("result_bytes", 0)) // max(1, self.spec.pim.result_bytes)

    def gemv(self, rows: int, cols: int, dtype: str, bias: bool) -> PimCall:
        """One GEMV ``W[rows x cols] x`` plus the ASIC's partial-sum reduction (memoised)."""
        key = ("gemv", rows, cols, dtype, bias)
        hit = self._calls.get(key)
        if hit is not None:
            return hit
        c = _api().gemv_cost(self.spec, rows, cols, dtype=dtype, mapping=self.mapping)
        call = self._charge(c)
        if self.asic is not None:
            partials = max(1, round(self._readouts(c) / rows)) if rows else 1
            red = self.asic.reduction(rows, partials, bias)
            batch = self.spec.units * self.spec.pus_per_unit
            last = self.asic.reduction(min(rows, batch), partials, bias)
            total = max(call.time_s, red.time_s) + last.time_s
            energy = dict(call.energy_J)
            for k, v in red.energy_J.items():
                energy[k] = energy.get(k, 0.0) + v
            counters = {**call.counters, "asic_exposed_s": total - call.time_s, "partials": float(partials)}
            call = PimCall(total, energy, counters)
        call.counters["gemv_s"] = c.seconds
        self._calls[key] = call
        return call

    def attention(self, kind: str, heads: int, head_dim: int, kv_len: int, dtype: str) -> PimCall:
        """One decode-attention GEMV set over ``kv_len`` keys (memoised per length)."""
        key = (kind, heads, head_dim, kv_len, dtype)
        hit = self._calls.get(key)
        if hit is None:
            c = _api().attention_cost(self.spec, heads, head_dim, kv_len, kind=kind, dtype=dtype,
                                      mapping=self.mapping)
            hit = self._calls[key] = self._charge(c)
            hit.counters["gemv_s"] = hit.time_s
        return hit

    def kv_write(self, heads: int, head_dim: int, tokens: int, dtype: str) -> PimCall:
        """Writing ``tokens`` tokens' K and V (memoised)."""
        key = ("kv", heads, head_dim, tokens, dtype)
        hit = self._calls.get(key)
        if hit is None:
            c = _api().kv_write_cost(self.spec, heads, head_dim, tokens, dtype=dtype, mapping=self.mapping)
            hit = self._calls[key] = self._charge(c)
        return hit

    # ------------------------------------------------------------------ the model
    def op_call(self, op: Op) -> PimCall:
        """The PIM cost of one trace op (a sum of API calls)."""
        dtype = self.pim_dtype(op)
        assert dtype is not None
        s = op.shape
        if op.kind in GEMV_KINDS:
            bias = op.flops > 2 * s.m * s.n * s.k * max(1, s.count)
            times = max(1, s.m) * max(1, s.count)
            return _times(self.gemv(s.n, s.k, dtype, bias), times)
        if op.kind in ATTENTION_KINDS:
            kind = ATTENTION_KINDS[op.kind]
            tq = max(1, op.tokens)
            g = max(1, s.m // tq)
            heads = max(1, s.count) * g
            head_dim = s.k if kind == "score" else s.n
            if tq == 1:
                return self.attention(kind, heads, head_dim, op.kv_len, dtype)
            cached = max(0, op.kv_len - tq)
            causal = op.flops < 2 * s.m * s.n * s.k * max(1, s.count)  # fewer scores than tq x kv_len
            calls = [self.attention(kind, heads, head_dim, cached + t + 1 if causal else op.kv_len, dtype)
                     for t in range(tq)]
            return _sum(calls)
        # kv_write: elements = 2 (K and V) x rows x kv heads x head_dim
        rows = max(1, op.batch * op.tokens)
        per_row = s.elements // (2 * rows) if s.elements else 0
        heads = op.heads if op.heads and per_row % op.heads == 0 else 1
        return self.kv_write(heads * max(1, op.batch), per_row // heads, max(1, op.tokens), dtype)

    def _cost(self, op: Op, conv: Conventions, launches: bool) -> OpCost:
        call = self.op_call(op)
        peak = self.config.peak(self.pim_dtype(op) or "bf16")
        moved = float(op.load_weight_bytes + op.load_kv_bytes + op.store_kv_bytes)
        level = self.config.memory[0].name
        ceiling = min(peak, op.flops / (moved / self.config.memory[0].bandwidth)) if moved and op.flops else peak
        return OpCost(
            time_s=call.time_s,
            bound="pim",
            compute_dtype=self.pim_dtype(op) or "bf16",
            compute_s=call.time_s,
            launch_s=0.0,
            level_bytes={level: moved},
            level_s={level: call.time_s},
            write_bytes={level: float(op.store_kv_bytes)},
            ceiling_flops_per_s=ceiling,
            peak_flops_per_s=peak,
            detail=dict(call.counters),
            energy_J=call.energy_J,
            counters=call.counters,
        )


def _times(call: PimCall, n: int) -> PimCall:
    if n == 1:
        return call
    return PimCall(call.time_s * n, {k: v * n for k, v in call.energy_J.items()},
                   {k: (v * n if k != "partials" else v) for k, v in call.counters.items()})


def _sum(calls: list[PimCall]) -> PimCall:
    t = sum(c.time_s for c in calls)
    energy: dict[str, float] = {}
    counters: dict[str, float] = {}
    for c in calls:
        for k, v in c.energy_J.items():
            energy[k] = energy.get(k, 0.0) + v
        for k, v in c.counters.items():
            counters[k] = counters.get(k, 0.0) + v
    return PimCall(t, energy, counters)


class SharedDataLink(LinkModel):
    """A link whose transfers are already inside its end devices' costs (``model: pim-io``).

    PIM-GPT's ASIC writes each input vector into the PIM chips' buffers and reads the banks' results back;
    the PIM command-level model charges those commands (time, I/O energy, off-chip bytes) in every GEMV,
    attention and KV write, and the ASIC charges its own port for what it gathers (embedding rows). The
    system link between them is therefore free here (time 0, energy 0): it records that the two devices
    exchange data, and costing it again would count the transfers twice.
    """

    free = True

    def transfer_time(self, nbytes: float) -> float:
        """0 s: the transfer is charged by the devices."""
        return 0.0

    def serialization_time(self, nbytes: float) -> float:
        """0 s."""
        return 0.0

    def energy(self, nbytes: float) -> float:
        """0 J: charged by the devices."""
        return 0.0


register_link_model("pim-io", SharedDataLink)


__all__ = ["ATTENTION_KINDS", "GEMV_KINDS", "PIM_KINDS", "PimCall", "PimModel", "SharedDataLink", "effective_config",
           "spec_overrides"]

