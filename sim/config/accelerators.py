"""Device schemas of their own for PIM-GPT-style systems: the ASIC (``type: asic``) and the PIM device
(``type: pim``).

Both are :class:`~sim.config.hardware.DeviceConfig` subclasses, picked when a device file is validated
(``DeviceConfig.model_validate`` dispatches here) by ``type`` plus a key of their own (``sram`` for the
ASIC, ``pim_memory`` for the PIM device); a ``type: asic`` or ``type: pim`` device without it stays a
generic roofline device (:mod:`sim.devices.hierarchy`). Every place that takes a device config takes
them. Their generic fields (``compute``, ``memory``, ``cores``) are derived by the device models
(:mod:`sim.devices.asic`, :mod:`sim.devices.pim`) from the keys below and must be left out; the keys worth
sweeping sit at the top level (``pim.channels=4,8,16``, ``asic.clock=100MHz,1GHz``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from sim.config.hardware import DeviceConfig, MemoryLevel, PowerSpec, Strict
from sim.config.units import Bytes, BytesPerSecond, FlopsPerSecond, Hertz, Joules, JoulesPerBit, Seconds, Watts

_DERIVED = ("compute", "memory")


def _no_derived(model: DeviceConfig, what: str) -> None:
    for key in _DERIVED:
        if getattr(model, key):
            raise ValueError(f"`{key}` of a {what} device is derived by its model; leave it out")


class SramBuffer(Strict):
    """One SRAM buffer of the ASIC: capacity, access width, dynamic energy per bit and leakage."""

    name: str
    role: Literal["vector", "psum", "io"] = Field(
        description="vector: operands and results of the function units; psum: partial sums returned by "
                    "the PIM banks and the GEMV results they add up to; io: staging of data to/from the PIM "
                    "chips")
    capacity: Bytes = Field(description="bytes")
    width_bits: int = Field(default=256, ge=8, description="bits per access")
    read_energy: JoulesPerBit = Field(description="J/bit read")
    write_energy: JoulesPerBit = Field(description="J/bit written")
    static: Watts = Field(default=0.0, description="leakage, W (part of the device's static power)")


class AsicLink(Strict):
    """The ASIC's port to the PIM chips (its PHY): bandwidth per direction, energy per bit, latency."""

    bandwidth: BytesPerSecond = Field(description="B/s per direction")
    energy: JoulesPerBit = Field(default=0.0, description="J/bit at the ASIC's end of the link")
    latency: Seconds = Field(default=0.0, description="s per transfer")


class AsicDeviceConfig(DeviceConfig):
    """The PIM-GPT ASIC: SIMD function units at ``clock``, SRAM buffers, its link to the PIM chips.

    Peak compute is ``lanes x clock`` operations per second (one add or multiply per lane per cycle);
    the memory levels the engine sees are the SRAM buffers (bandwidth: one access of ``width_bits`` per
    cycle). Series lengths and Newton iterations left out are derived from ``datatype``
    (:mod:`sim.devices.asic_ops`).
    """

    type: Literal["asic"]
    cores: int = Field(default=1, ge=1, description="function-unit clusters (1)")
    compute: dict[str, FlopsPerSecond] = Field(default_factory=dict, description="derived: lanes x clock")
    memory: list[MemoryLevel] = Field(default_factory=list, description="derived: the SRAM buffers")
    lanes: int = Field(ge=1, description="SIMD lanes: adds or multiplies per cycle")
    datatype: Literal["bf16", "fp16", "fp32"] = Field(default="bf16", description="number format of the units")
    add_energy: Joules = Field(description="J per addition (also compares, exponent-field integer ops)")
    mul_energy: Joules = Field(description="J per multiplication")
    scalar_latency: int = Field(default=4, ge=1, description="cycles of one dependent step of a scalar chain "
                                                             "(pipeline depth of a unit)")
    exp_terms: int | None = Field(default=None, ge=1, description="Taylor degree of exp (default: derived)")
    reciprocal_iterations: int | None = Field(default=None, ge=0, description="Newton steps of 1/x (derived)")
    rsqrt_iterations: int | None = Field(default=None, ge=0, description="Newton steps of 1/sqrt(x) (derived)")
    sram: list[SramBuffer] = Field(description="SRAM buffers (one with role vector at least)")
    link: AsicLink = Field(description="the port to the PIM chips")

    @model_validator(mode="after")
    def _asic(self) -> AsicDeviceConfig:
        _no_derived(self, "asic")
        roles = [b.role for b in self.sram]
        if "vector" not in roles:
            raise ValueError("sram needs a buffer with role 'vector'")
        names = [b.name for b in self.sram]
        if len(set(names)) != len(names):
            raise ValueError(f"sram buffer names must be unique (got {names})")
        return self

    def buffer(self, role: str) -> SramBuffer:
        """The first buffer with ``role`` (the vector buffer if there is none)."""
        for b in self.sram:
            if b.role == role:
                return b
        return next(b for b in self.sram if b.role == "vector")


class PimDeviceConfig(DeviceConfig):
    """A DRAM-PIM device: a PIM memory preset (``sim.pim``) with its organisation keys lifted to the top.

    ``channels``, ``banks_per_channel`` and ``mac_lanes`` (left out: the preset's) and the entries of
    ``pim_set`` become overrides of the PIM memory preset; ``mapping`` is passed to the PIM cost functions.
    ``prefill`` says how a GEMM with several rows (the prompt) runs on a GEMV-only engine.
    """

    type: Literal["pim"]
    clock: Hertz = Field(default=0.0, description="derived: the PIM memory's MAC clock")
    cores: int = Field(default=1, ge=1, description="derived: banks")
    compute: dict[str, FlopsPerSecond] = Field(default_factory=dict,
                                               description="derived: banks x lanes x 2 x clock")
    memory: list[MemoryLevel] = Field(default_factory=list, description="derived: the PIM memory")
    power: PowerSpec = Field(default_factory=lambda: PowerSpec(static="0 W", peak="0 W"),
                             description="power outside the PIM memory (its background and refresh energy "
                                         "come from the PIM model)")
    pim_memory: str = Field(description="PIM memory preset or file (gddr6-aim, hbm2-pim, hbm3-pim, "
                                        "pim-gpt-gddr6)")
    channels: int | None = Field(default=None, ge=1, description="PIM channels (default: the preset's)")
    banks_per_channel: int | None = Field(default=None, ge=1, description="banks per channel (preset's)")
    mac_lanes: int | None = Field(default=None, ge=1, description="MAC lanes per bank (preset's)")
    pim_set: list[str] = Field(default_factory=list, description="further key=value overrides of the preset")
    mapping: dict[str, Any] | None = Field(default=None, description="mapping options of the PIM cost model")
    prefill: Literal["token-by-token", "reject"] = Field(
        default="token-by-token",
        description="a GEMM with m > 1 rows (the prompt): run as m GEMVs, one token after another "
                    "(token-by-token), or refuse it (reject)")

    @model_validator(mode="after")
    def _pim(self) -> PimDeviceConfig:
        _no_derived(self, "pim")
        return self

    @field_validator("pim_set")
    @classmethod
    def _pairs(cls, v: list[str]) -> list[str]:
        for item in v:
            if "=" not in item:
                raise ValueError(f"{item!r} is not key=value")
        return v


#: device schemas by ``type`` and the key that selects them (without it: the generic DeviceConfig, a roofline
#: device of that type)
DEVICE_SCHEMAS: dict[str, tuple[str, type[DeviceConfig]]] = {
    "asic": ("sram", AsicDeviceConfig),
    "pim": ("pim_memory", PimDeviceConfig),
}


def schema_of(data: dict[str, Any]) -> type[DeviceConfig] | None:
    """The subclass that validates a device file's ``data`` (None: the generic DeviceConfig)."""
    entry = DEVICE_SCHEMAS.get(data.get("type")) if isinstance(data.get("type"), str) else None
    if entry is not None and entry[0] in data:
        return entry[1]
    return None


__all__ = ["AsicDeviceConfig", "AsicLink", "DEVICE_SCHEMAS", "PimDeviceConfig", "SramBuffer", "schema_of"]
