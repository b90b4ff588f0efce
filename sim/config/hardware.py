"""Typed schemas of hardware descriptions: compute devices, links and systems.

Every preset file under ``hwconfigs/`` has a ``kind:`` (``device``, ``memory``, ``link`` or ``system``)
that picks its schema. Values with units are converted to SI floats when the file is loaded (see
:mod:`sim.config.units`); afterwards the simulator only sees plain numbers:
seconds, hertz, bytes, bytes per second, FLOP per second, joules, joules per bit, watts.

Unknown keys are errors everywhere (``extra="forbid"``). The memory schema (DRAM organisation and
timing) lives in :mod:`sim.config.memory`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sim.config.framework import FrameworkSpec
from sim.config.units import (
    Bytes,
    BytesPerSecond,
    FlopsPerSecond,
    Hertz,
    Joules,
    JoulesPerBit,
    Seconds,
    Watts,
)

#: Datatypes a device can declare a compute peak for.
DATATYPES = ("fp64", "fp32", "tf32", "fp16", "bf16", "fp8", "int8", "int4")


class Strict(BaseModel):
    """Base of all config models: unknown keys are errors, fields are frozen after load."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class EfficiencyCurve(Strict):
    """Attained fraction of a peak as a function of operator size, interpolated log-linearly.

    ``points`` are ``[size, efficiency]`` pairs with size in FLOPs (compute curves) or bytes (memory
    curves), sorted by size; below the first point the first efficiency applies, above the last the
    last one.
    """

    points: list[tuple[float, float]]

    @field_validator("points")
    @classmethod
    def _check(cls, v: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if not v:
            raise ValueError("needs at least one [size, efficiency] point")
        sizes = [p[0] for p in v]
        if sizes != sorted(sizes) or any(s <= 0 for s in sizes):
            raise ValueError("sizes must be positive and increasing")
        if any(not 0 < p[1] <= 1 for p in v):
            raise ValueError("efficiencies must be in (0, 1]")
        return v


class MemoryLevel(Strict):
    """One level of a device's memory hierarchy (registers, L1/shared, L2/LLC, HBM/DDR)."""

    name: str
    kind: Literal["regfile", "sram", "cache", "dram"] = "sram"
    capacity: Bytes = Field(description="total capacity of the level across the device, bytes")
    bandwidth: BytesPerSecond = Field(description="aggregate peak bandwidth to the level below compute, B/s")
    latency: Seconds = Field(default=0.0, description="load-to-use latency, s")
    read_energy: JoulesPerBit = Field(default=0.0, description="energy per bit read, J/bit")
    write_energy: JoulesPerBit | None = Field(default=None, description="energy per bit written (default: read)")
    instances: int = Field(default=1, ge=1, description="copies of the level (e.g. one L1 per SM)")
    memory: str | None = Field(default=None, description="memory preset for cycle-level simulation (dram only)")
    fidelity: Literal["analytic", "cycle"] = Field(
        default="analytic",
        description="how the level's time is computed: 'analytic' (bytes / bandwidth / efficiency) or "
                    "'cycle' "
                    "(the op's access stream through the cycle-accurate DRAM engine of `memory`)")

    @model_validator(mode="after")
    def _cycle_needs_memory(self) -> MemoryLevel:
        if self.fidelity == "cycle" and (self.kind != "dram" or not self.memory):
            raise ValueError(f"level {self.name!r}: fidelity 'cycle' needs a dram level with a `memory:` "
                             "preset")
        return self

    @field_validator("capacity", "bandwidth")
    @classmethod
    def _positive(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("must be positive")
        return v

    @property
    def write_energy_J_per_bit(self) -> float:
        """Energy per bit written, J/bit."""
        return self.read_energy if self.write_energy is None else self.write_energy


class PowerSpec(Strict):
    """Board/package power: ``static`` is drawn whenever the device is on, ``peak`` is the TDP, W."""

    static: Watts
    peak: Watts

    @model_validator(mode="after")
    def _order(self) -> PowerSpec:
        if self.static > self.peak:
            raise ValueError(f"static power ({self.static} W) exceeds peak power ({self.peak} W)")
        return self


class KernelEfficiency(Strict):
    """Efficiency curves and fixed time of one operator class (an op kind such as ``norm``) on a device.

    A curve given here replaces the device-wide ``compute_efficiency`` / ``memory_efficiency`` for ops
    of that kind, and ``launch`` replaces ``kernel_launch``; what is left out falls back to the
    device-wide value.
    """

    compute: EfficiencyCurve | None = None
    memory: EfficiencyCurve | None = None
    launch: Seconds | None = Field(default=None, description="fixed time per kernel of this kind, s")
    row_parallel: bool = Field(
        default=False, description="the kernel gives each token row to one core: with fewer rows (batch x "
                                   "tokens) than cores only that many cores work, each at its 1/cores share "
                                   "of the device's compute and DRAM bandwidth")
    block_threads: int | None = Field(
        default=None, ge=1, description="row-parallel kernels: threads of the block that owns a row, one element "
                                        "each per step; the block walks its row in ceil(row elements / "
                                        "block_threads) dependent steps, each waiting one DRAM latency")
    blocks_per_core: int = Field(
        default=1, ge=1, description="row-parallel kernels: blocks resident on one core (SM) at once (max "
                                     "threads per SM / block_threads); rows beyond cores x this run in waves")


class TilingConfig(Strict):
    """The tile search of matrix ops (see ``sim/devices/tiling.py``): the candidates a kernel library offers.

    ``tile_sizes`` are the output-tile edges (rows and columns) tried at each on-chip level; ``k_tile`` the
    depth of one K step held on chip; ``stages`` the number of K steps in flight (double buffering = 2);
    ``split_k`` the K-splits tried for skinny problems; ``registers`` the register file of one core (SM),
    which holds the innermost tile (0: the innermost level's traffic is the bytes passing through it);
    ``accumulator_bytes`` the size of one partial-sum element (fp32 accumulation = 4); ``tile_overhead``
    the fixed time of one per-core work item (filling and draining its pipeline, writing its tile), which
    makes deep-K tiles more efficient than shallow ones.
    """

    tile_sizes: list[int] = Field(default_factory=lambda: [16, 32, 64, 128, 256])
    k_tile: int = Field(default=32, ge=1)
    stages: int = Field(default=2, ge=1)
    split_k: list[int] = Field(default_factory=lambda: [1, 2, 4, 8])
    registers: Bytes = Field(default=0.0, description="register file per core, bytes (0: not modelled)")
    accumulator_bytes: int = Field(default=4, ge=1)
    tile_overhead: Seconds = Field(default=0.0, description="fixed time of one work item (prologue and "
                                                           "epilogue of a tile), s")

    @field_validator("tile_sizes", "split_k")
    @classmethod
    def _positive_ints(cls, v: list[int]) -> list[int]:
        if not v or any(x < 1 for x in v):
            raise ValueError("needs at least one positive integer")
        return sorted(set(v))


class DeviceConfig(Strict):
    """A compute device: GPU, CPU, ASIC (or the compute side of a PIM device)."""

    kind: Literal["device"] = "device"
    name: str
    type: Literal["gpu", "cpu", "asic", "pim"]
    description: str = ""
    clock: Hertz = Field(description="compute clock, Hz")
    cores: int = Field(ge=1, description="SMs (GPU) or cores (CPU)")
    threads_per_core: int = Field(default=1, ge=1)
    simd_width_bits: int = Field(default=0, ge=0, description="vector width per core (CPU), bits")
    compute: dict[str, FlopsPerSecond] = Field(description="dense peak per datatype, FLOP/s (OP/s for ints)")
    energy_per_op: dict[str, Joules] = Field(default_factory=dict, description="dynamic energy per FLOP/OP, J")
    memory: list[MemoryLevel] = Field(description="memory levels, innermost (fastest) first")
    power: PowerSpec
    kernel_launch: Seconds = Field(default=0.0, description="fixed overhead per operator (kernel launch), s")
    compute_efficiency: EfficiencyCurve | None = Field(
        default=None, description="attained fraction of the compute peak vs op FLOPs (default: 1)")
    memory_efficiency: EfficiencyCurve | None = Field(
        default=None, description="attained fraction of DRAM bandwidth vs op DRAM bytes (default: 1)")
    kernel_efficiency: dict[str, KernelEfficiency] = Field(
        default_factory=dict, description="per op kind curves that replace the device-wide ones")
    vector_compute: dict[str, FlopsPerSecond] = Field(
        default_factory=dict,
        description="peak of non-matrix arithmetic (GPU CUDA cores, CPU SIMD without matrix units) per "
                    "datatype, FLOP/s; ops other than GEMMs use it (default: the `compute` peaks)")
    tiling: TilingConfig = Field(default_factory=TilingConfig)
    active_cores: int | None = Field(default=None, ge=1,
                                     description="cores used by the simulated runtime (default: all)")
    per_core_bandwidth: BytesPerSecond | None = Field(
        default=None, description="DRAM bandwidth one core can sustain (CPU), B/s; caps DRAM bandwidth at "
                                  "active cores x this")
    supported_kinds: list[str] | None = Field(
        default=None, description="op kinds the device can execute (default: all)")
    framework: FrameworkSpec | None = Field(
        default=None, description="the software a measured baseline ran on this device (per-op overheads of "
                                  "an eager framework); used by `pimsim compare` and `pimsim run --framework`")

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> DeviceConfig:  # type: ignore[override]
        """Validate ``obj``; a PIM-GPT ASIC or PIM device (see :mod:`sim.config.accelerators`) is validated
        by its subclass."""
        if cls is DeviceConfig and isinstance(obj, dict):
            sub = device_schema(obj)
            if sub is not cls:
                return sub.model_validate(obj, *args, **kwargs)
        return super().model_validate(obj, *args, **kwargs)

    @field_validator("compute", "energy_per_op", "vector_compute")
    @classmethod
    def _dtypes(cls, v: dict[str, float]) -> dict[str, float]:
        for k in v:
            if k not in DATATYPES:
                raise ValueError(f"unknown datatype {k!r}; expected one of {', '.join(DATATYPES)}")
        return v

    @field_validator("compute")
    @classmethod
    def _nonempty(cls, v: dict[str, float]) -> dict[str, float]:
        if not v:
            raise ValueError("a device needs at least one datatype peak")
        if any(x <= 0 for x in v.values()):
            raise ValueError("peaks must be positive")
        return v

    @field_validator("memory")
    @classmethod
    def _levels(cls, v: list[MemoryLevel]) -> list[MemoryLevel]:
        if not v:
            raise ValueError("a device needs at least one memory level")
        names = [lvl.name for lvl in v]
        if len(set(names)) != len(names):
            raise ValueError(f"memory level names must be unique (got {names})")
        return v

    @model_validator(mode="after")
    def _active(self) -> DeviceConfig:
        if self.active_cores is not None and self.active_cores > self.cores:
            raise ValueError(f"active_cores ({self.active_cores}) exceeds cores ({self.cores})")
        return self

    @property
    def main_memory(self) -> MemoryLevel:
        """The outermost level (device DRAM)."""
        return self.memory[-1]

    def level(self, name: str) -> MemoryLevel:
        """The memory level called ``name``."""
        for lvl in self.memory:
            if lvl.name == name:
                return lvl
        raise KeyError(name)

    def peak(self, dtype: str) -> float:
        """Peak for ``dtype`` in FLOP/s; falls back along fp8->fp16->fp32, bf16<->fp16, int4->int8->fp16."""
        return _lookup(self.compute, dtype)

    def vector_peak(self, dtype: str) -> float:
        """Peak of non-matrix arithmetic for ``dtype`` (``vector_compute``, else :meth:`peak`), FLOP/s."""
        if self.vector_compute:
            try:
                return _lookup(self.vector_compute, dtype)
            except KeyError:
                pass
        return self.peak(dtype)


def device_schema(data: dict[str, Any]) -> type[DeviceConfig]:
    """The config class of a device file's data: a subclass for a PIM-GPT ``asic`` (with ``sram``) or
    ``pim`` (with ``pim_memory``) device; DeviceConfig otherwise (generic roofline devices of any type)."""
    from sim.config.accelerators import schema_of

    return schema_of(data) or DeviceConfig


def _lookup(table: dict[str, float], dtype: str) -> float:
    for candidate in _FALLBACK.get(dtype, (dtype,)):
        if candidate in table:
            return table[candidate]
    raise KeyError(dtype)


_FALLBACK: dict[str, tuple[str, ...]] = {
    "fp64": ("fp64", "fp32"),
    "fp32": ("fp32",),
    "tf32": ("tf32", "fp32"),
    "fp16": ("fp16", "bf16", "fp32"),
    "bf16": ("bf16", "fp16", "fp32"),
    "fp8": ("fp8", "fp16", "bf16", "fp32"),
    "int8": ("int8", "fp16", "bf16", "fp32"),
    "int4": ("int4", "int8", "fp16", "fp32"),
}


class LinkConfig(Strict):
    """A point-to-point link or one port of a switched fabric."""

    kind: Literal["link"] = "link"
    name: str
    type: Literal["pcie", "nvlink", "infiniband", "cxl", "ethernet", "on-package"]
    description: str = ""
    bandwidth: BytesPerSecond = Field(description="bandwidth per direction, B/s")
    latency: Seconds = Field(description="one-way latency, s")
    energy: JoulesPerBit = Field(default=0.0, description="energy per bit moved, J/bit")
    duplex: Literal["full", "half"] = "full"
    efficiency: float = Field(default=1.0, gt=0, le=1, description="achievable fraction of bandwidth")


class TopologySpec(Strict):
    """A group of links laid out in a pattern over the instances of some device entries.

    ``switch``: every instance gets one link (``count`` lanes) to a switch node (a route through it is
    two hops); ``ring``: instance i is linked to instance i+1 (and the last to the first); ``fully-connected``:
    every pair of instances is linked; ``point-to-point``: the instances are linked pairwise in order (0-1,
    2-3, ...). ``group_size`` splits the instances (in system order) into consecutive groups of that size
    with one switch / ring / clique each (GPUs of one node on their NVSwitch), which also makes the groups
    the *nodes* of the hierarchical collectives.
    """

    kind: Literal["switch", "ring", "fully-connected", "point-to-point"]
    devices: list[str] = Field(description="device entries whose instances take part, in order")
    link: str = Field(description="link preset (one port / one direct connection)")
    count: int = Field(default=1, ge=1, description="parallel links per connection (bandwidth multiplies)")
    name: str | None = Field(default=None, description="switch node name (switch only; default switchN)")
    group_size: int | None = Field(default=None, ge=1, description="instances per group (one switch/ring "
                                                                   "per group); default: all in one group")
    attach: str | None = Field(default=None, description="switch only: a device entry whose i-th instance also "
                                                         "joins group i's switch (each node's host on its PCIe "
                                                         "switch)")
    model: str = Field(default="simple", description="link model (registry in sim/interconnect/link.py)")


class CollectiveSpec(Strict):
    """How collectives run on the system's links (see docs/interconnect.md).

    A collective step costs ``step_latency`` + hops x link latency + bytes / (bottleneck bandwidth x
    ``efficiency``); a whole collective adds ``launch`` once. The ``*_cycles`` forms are counted in cycles of
    the clock of the devices that hold the parallel ranks (collective kernels run on the GPUs' cores) and
    added to the seconds forms.
    """

    efficiency: float = Field(default=1.0, gt=0, le=1,
                              description="fraction of the link bandwidth a collective attains")
    launch: Seconds = Field(default=0.0, description="fixed time of one collective call (kernel launch, "
                                                     "synchronisation), s")
    step_latency: Seconds = Field(default=0.0, description="software latency of one algorithm step, added "
                                                           "to the links' latency, s")
    launch_cycles: float = Field(default=0.0, ge=0, description="fixed cost of one collective call, device "
                                                                "clock cycles")
    step_cycles: float = Field(default=0.0, ge=0, description="software latency of one algorithm step, "
                                                              "device clock cycles")
    algorithms: dict[str, str] = Field(
        default_factory=dict,
        description="algorithm per collective: all_reduce ring|halving-doubling|tree|hierarchical, "
                    "all_gather/reduce_scatter ring|hierarchical, all_to_all direct|hierarchical, broadcast "
                    "tree|ring (default: ring, direct, tree; hierarchical when a group spans several nodes)")


class NetworkSpec(Strict):
    """Timing of transfers and collectives on the links: ``analytic`` (no contention) or ``contention``."""

    mode: Literal["analytic", "contention"] = Field(
        default="contention",
        description="analytic: hops x latency + bytes / bandwidth, collectives by their alpha-beta formula, "
                    "no queueing (ASTRA-sim congestion-unaware); contention: messages cut into chunks queue "
                    "FIFO per link direction, store-and-forward per hop, collectives run as their schedules")
    chunk: Bytes | None = Field(default=None, description="contention mode: largest chunk a message is cut "
                                                          "into, bytes (default: whole messages)")
    collective: CollectiveSpec = Field(default_factory=CollectiveSpec)

    @field_validator("chunk")
    @classmethod
    def _chunk(cls, v: float | None) -> float | None:
        if v is not None and v <= 0:
            raise ValueError("must be positive")
        return v


class ParallelSpec(Strict):
    """How the model is split over the devices (``pimsim run --tp/--pp/--ep/--dp`` override it).

    Ranks are laid out tensor-parallel innermost: rank = (stage x dp + replica) x tp + tp_rank, and rank
    r runs on the r-th instance of ``devices``. ``ep`` > 1 shards each MoE layer's routed experts over the
    tp x dp ranks of a stage (it must equal tp x dp; with tp = dp = 1 it sets dp = ep, attention data
    parallel).
    """

    tp: int = Field(default=1, ge=1, description="tensor-parallel degree (heads, FFN and vocabulary split)")
    pp: int = Field(default=1, ge=1, description="pipeline stages (consecutive layers per stage)")
    ep: int = Field(default=1, ge=1, description="expert-parallel degree (routed experts sharded)")
    dp: int = Field(default=1, ge=1, description="data-parallel replicas (the batch split between them)")
    microbatches: int = Field(default=1, ge=1, description="micro-batches per step (pipeline parallelism)")
    devices: str | None = Field(default=None, description="device entry whose instances hold the ranks "
                                                         "(default: the default device's entry)")
    symmetric: bool = Field(default=False, description="simulate one tensor-parallel rank of one replica "
                                                       "(exact when ranks do identical work: no EP)")


class ServingSpec(Strict):
    """Disaggregated serving (Splitwise): prefill on one device entry, decode on another, KV moved between."""

    prefill: str = Field(description="device entry whose instances run the prefill ranks")
    decode: str = Field(description="device entry whose instances run the decode ranks")
    kv_transfer: Literal["serial", "layerwise"] = Field(
        default="layerwise", description="serial: the whole KV cache after the prefill in one transfer; "
                                         "layerwise: each layer's KV as soon as it is written (overlapped)")


class RuntimeSpec(Strict):
    """Serving-framework effects that are not any device's (host scheduling and sampling, prompt batching).

    Before each step the host spends ``step_overhead`` + ``sequence_overhead`` x sequences (+
    ``prefill_overhead`` before the prefill). In a step of T > ``token_budget`` tokens, matrix ops
    (linear, lm_head, expert_linear) take ``1 + over_budget x (1 - token_budget / T)`` times their device time.
    """

    step_overhead: Seconds = Field(default=0.0, description="host time before each step's first op, s")
    sequence_overhead: Seconds = Field(default=0.0, description="host time per sequence per step, s")
    prefill_overhead: Seconds = Field(default=0.0, description="host time before the prefill step, s")
    token_budget: int = Field(default=0, ge=0, description="tokens per step above which matrix ops slow "
                                                           "down (0: never)")
    over_budget: float = Field(default=0.0, ge=0, description="slowdown of matrix ops for the tokens above "
                                                              "the budget (0: none)")


class ExpertPlacementSpec(Strict):
    """Where routed experts' weights live: a fraction of each MoE layer's experts on another device."""

    home: str | None = Field(default=None, description="device entry holding the offloaded experts in its "
                                                       "memory (e.g. the host CPU's DDR)")
    offload: float = Field(default=0.0, ge=0, le=1, description="fraction of each layer's routed experts "
                                                                "whose weights live on `home` (the highest ids)")
    execute: Literal["fetch", "home"] = Field(
        default="fetch", description="fetch: copy an offloaded expert's weights to the device that runs it "
                                     "before use; home: run offloaded experts on `home`")


class SystemDevice(Strict):
    """A device instance in a system: a preset (or file) name, with optional key overrides.

    ``count`` > 1 makes instances ``NAME[0]``, ``NAME[1]``...; ``streams`` is the number of in-order
    execution queues of each instance (CUDA streams, CPU core groups).
    """

    preset: str
    count: int = Field(default=1, ge=1)
    set: list[str] = Field(default_factory=list, description="key.path=value overrides of the preset")
    streams: int = Field(default=1, ge=1, description="in-order execution streams per instance")


class SystemLink(Strict):
    """A link between two devices of a system (between every pair of their instances)."""

    between: tuple[str, str]
    preset: str
    count: int = Field(default=1, ge=1, description="parallel links (bandwidth multiplies)")
    model: str = Field(default="simple", description="link model (registry in sim/interconnect/link.py)")


class PlacementSpec(Strict):
    """Which placement policy maps ops to devices, and its options (checked by the policy)."""

    policy: str = "single"
    options: dict[str, Any] = Field(default_factory=dict)


class SystemConfig(Strict):
    """A system: named devices joined by links, with a default device and a placement policy."""

    kind: Literal["system"] = "system"
    name: str
    description: str = ""
    devices: dict[str, SystemDevice]
    links: list[SystemLink] = Field(default_factory=list)
    default_device: str | None = None
    placement: PlacementSpec = Field(default_factory=PlacementSpec)
    topology: list[TopologySpec] = Field(default_factory=list, description="switches, rings, cliques")
    network: NetworkSpec = Field(default_factory=NetworkSpec)
    parallel: ParallelSpec = Field(default_factory=ParallelSpec)
    serving: ServingSpec | None = None
    runtime: RuntimeSpec = Field(default_factory=RuntimeSpec)
    experts: ExpertPlacementSpec = Field(default_factory=ExpertPlacementSpec)

    @model_validator(mode="after")
    def _links_known(self) -> SystemConfig:
        entries = ", ".join(self.devices)
        for i, link in enumerate(self.links):
            for end in link.between:
                if end not in self.devices:
                    raise ValueError(f"links.{i}.between: {end!r} is not a device entry of the system ({entries})")
        for i, topo in enumerate(self.topology):
            for key, ends in (("devices", topo.devices), ("attach", [topo.attach] if topo.attach else [])):
                for end in ends:
                    if end not in self.devices:
                        raise ValueError(f"topology.{i}.{key}: {end!r} is not a device entry of the system "
                                         f"({entries}); a topology joins every instance of the entries it names")
        refs = [("parallel.devices", self.parallel.devices), ("experts.home", self.experts.home)]
        if self.serving is not None:
            refs += [("serving.prefill", self.serving.prefill), ("serving.decode", self.serving.decode)]
        for key, ref in refs:
            if ref is not None and ref not in self.devices:
                raise ValueError(f"{key}: {ref!r} is not a device entry of the system ({entries})")
        if self.default_device and self.default_device not in self.devices:
            raise ValueError(f"default_device: {self.default_device!r} is not a device entry of the system ({entries})")
        for name in self.devices:
            if not name or any(c in name for c in "[]. "):
                raise ValueError(f"device name {name!r} may not be empty or contain '[', ']', '.' or spaces")
        return self
