"""Schema of a pimsim memory YAML (``kind: memory``): DRAM organisation, timing, power and controller.

A memory file describes one memory system; :func:`sim.dram.configs.spec_from_config` turns the validated file
into the engine's :class:`sim.dram.spec.DramSpec`. Conventions:

* ``org``: plain counts. ``bus_width`` and ``device_width`` are in bits; ``columns`` counts device
  columns per row (one access moves ``burst_length`` columns, i.e. ``bus_width / 8 * burst_length``
  bytes). Every count must be a power of two (addresses are split into bit fields).
* ``timing``: ``tCK`` is a time with its unit ("0.833 ns"). Every other timing is either a whole number
  of tCK cycles (``17``) or a time with its unit (``"13.75 ns"``), converted at load time to
  ``ceil(t / tCK)`` cycles (with a 1e-6 cycle tolerance for floating-point noise).
* ``power``: currents with their unit ("48 mA"), voltages ("1.2 V"), per-command energies ("2.9 nJ"),
  I/O energy ("5.5 pJ/bit") and a direct background power ("0.3 W"); a bare number is an error.
* ``controller``: address mapping, scheduler, page policy, queue sizes, write watermarks, refresh
  scheme and the compatibility profile.

* ``pim`` (optional): the processing units of a DRAM-PIM memory (command set, PUs per bank, lanes per
  data type, PU clock, buffer and result registers, PIM timings in cycles or times, per-event energies);
  :func:`sim.pim.configs.pim_spec_from_config` turns it into a :class:`sim.pim.spec.PimSpec`. Memories without it
  are plain DRAM.

Consistency checks name the offending key: ``tRAS >= tRCD``, ``tRC >= tRAS + tRP``, power-of-two
counts, whole accesses per row, an address mapping with a field for every level that has more than one
member, and a refresh interval when refresh is on.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from sim.config.dram_terms import FIELD_LEVELS, PIM_DTYPE_BYTES, STANDARDS, parse_scheme
from sim.config.units import (
    Amperes,
    Bytes,
    Hertz,
    Joules,
    JoulesPerBit,
    Seconds,
    UnitError,
    Volts,
    Watts,
    parse_quantity,
)
from sim.errors import ConfigError

#: Standards whose data bus moves 2 beats per tCK (tBL = BL / 2); the others move 8 (GDDR6 WCK, LPDDR5).
_DDR_LIKE = ("DDR4", "DDR5", "HBM2", "HBM3")

#: Tolerance when converting a time to cycles, so that 13.75 ns / 0.625 ns = 22.000000001 stays 22.
_CEIL_TOLERANCE = 1e-6


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _is_pow2(n: int) -> bool:
    return n > 0 and (n & (n - 1)) == 0


def to_cycles(value: Any, tck_s: float | None) -> int:
    """Convert a timing value to whole tCK cycles.

    ``value`` is an integer number of cycles, or a time string with its unit ("14 ns") converted with
    ``ceil(t / tCK)``. Raises ``ValueError`` with a readable message otherwise.
    """
    if isinstance(value, bool):
        raise ValueError("expected a whole number of tCK cycles or a time with its unit, e.g. \"14 ns\"")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"a bare number is a count of tCK cycles and must be whole (got {value}); "
                             f"write a time with its unit instead, e.g. \"{value} ns\"")
        value = int(value)
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"must not be negative (got {value})")
        return value
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d+", text):
            return int(text)
        try:
            seconds = parse_quantity(text, "time")
        except UnitError as exc:
            raise ValueError(f"{exc}, or a whole number of tCK cycles") from None
        if seconds < 0:
            raise ValueError(f"must not be negative (got {value!r})")
        if not tck_s:
            raise ValueError(f"cannot convert {value!r} to cycles: timing.tCK is missing or invalid")
        return int(math.ceil(seconds / tck_s - _CEIL_TOLERANCE))
    raise ValueError("expected a whole number of tCK cycles or a time with its unit, e.g. \"14 ns\"")


class OrgModel(_Strict):
    """Organisation: counts and widths (all powers of two)."""

    channels: int = Field(ge=1, description="independent channels")
    pseudo_channels: int = Field(default=1, ge=1, description="pseudo-channels per channel (HBM)")
    ranks: int = Field(default=1, ge=1, description="ranks per (pseudo-)channel")
    bankgroups: int = Field(default=1, ge=1, description="bank groups per rank (1 = bank groups off)")
    banks_per_group: int = Field(ge=1, description="banks per bank group")
    rows: int = Field(ge=1, description="rows per bank")
    columns: int = Field(ge=1, description="device columns per row")
    device_width: int = Field(ge=1, description="DQ bits per device")
    bus_width: int = Field(ge=8, description="data-bus width per (pseudo-)channel, bits")
    burst_length: int = Field(ge=1, description="columns per access (BL)")
    column_scale: int = Field(default=1, ge=1, description="device columns per configured column (DRAMsim3 "
                              "imports: its internal x BL (GDDR) / x 2 (HBM) normalisation of a raw column count)")

    @field_validator("channels", "pseudo_channels", "ranks", "bankgroups", "banks_per_group", "rows",
                     "columns", "device_width", "burst_length", "column_scale")
    @classmethod
    def _pow2(cls, v: int) -> int:
        if not _is_pow2(v):
            raise ValueError(f"must be a power of two (got {v}); addresses are split into bit fields")
        return v

    @field_validator("bus_width")
    @classmethod
    def _bus(cls, v: int, info: ValidationInfo) -> int:
        if v % 8 or not _is_pow2(v // 8):
            raise ValueError(f"must be a power-of-two number of bytes, in bits (got {v})")
        dev = info.data.get("device_width")
        if dev and v % dev and dev % v:
            raise ValueError(f"a {v}-bit bus cannot be built from {dev}-bit devices "
                             f"(neither width divides the other)")
        return v

    @field_validator("burst_length")
    @classmethod
    def _burst(cls, v: int, info: ValidationInfo) -> int:
        cols = info.data.get("columns")
        if cols and v > cols:
            raise ValueError(f"a burst of {v} columns does not fit in a row of {cols} columns")
        return v


_CYCLE_FIELDS = ("CL", "CWL", "AL", "tRCD", "tRCD_RD", "tRCD_WR", "tRP", "tRAS", "tRC", "tBL", "tCCD_S",
                 "tCCD_L", "tRRD_S", "tRRD_L", "tFAW", "tWR", "tWTR_S", "tWTR_L", "tRTP", "tRTRS", "tREFI",
                 "tRFC", "tREFIpb", "tRFCpb", "t32AW", "tPPD", "tCKE", "tXP")


class TimingModel(_Strict):
    """Timings: ``tCK`` in seconds after load, every other field in whole tCK cycles."""

    tCK: Seconds = Field(description="command-clock period, s")
    CL: int = Field(description="CAS (read) latency")
    CWL: int = Field(description="CAS write latency")
    AL: int = 0
    tRCD: int | None = Field(default=None, description="ACT to RD/WR (sets tRCD_RD and tRCD_WR)")
    tRCD_RD: int | None = Field(default=None, validate_default=True, description="ACT to RD")
    tRCD_WR: int | None = Field(default=None, validate_default=True, description="ACT to WR")
    tRP: int
    tRAS: int
    allow_short_tRC: bool = Field(default=False, description="accept tRC < tRAS + tRP (only to mirror a "
                                  "reference configuration that has it, e.g. Ramulator 2.0's HBM2_2Gbps)")
    tRC: int | None = Field(default=None, validate_default=True, description="ACT to ACT, same bank "
                            "(default tRAS + tRP)")
    tBL: int | None = Field(default=None, description="data-bus cycles per burst (default from the standard)")
    tCCD_S: int
    tCCD_L: int | None = Field(default=None, validate_default=True, description="default tCCD_S")
    tRRD_S: int
    tRRD_L: int | None = Field(default=None, validate_default=True, description="default tRRD_S")
    tFAW: int = 0
    tWR: int
    tWTR_S: int
    tWTR_L: int | None = Field(default=None, validate_default=True, description="default tWTR_S")
    tRTP: int
    tRTRS: int = 1
    tREFI: int = 0
    tRFC: int = 0
    tREFIpb: int = 0
    tRFCpb: int = 0
    t32AW: int = 0
    tPPD: int = 0
    tCKE: int = 0
    tXP: int = 0

    @field_validator(*_CYCLE_FIELDS, mode="before")
    @classmethod
    def _cycles(cls, v: Any, info: ValidationInfo) -> Any:
        if v is None:
            return None
        if "tCK" not in info.data and isinstance(v, str) and not v.strip().isdigit():
            return 0  # tCK itself is invalid or missing and is reported; no second error here
        return to_cycles(v, info.data.get("tCK"))

    @field_validator("CL")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v < 1:
            raise ValueError("must be at least 1 cycle")
        return v

    @field_validator("tRCD_RD", "tRCD_WR")
    @classmethod
    def _rcd(cls, v: int | None, info: ValidationInfo) -> int:
        if v is None:
            if "tRCD" not in info.data:
                return 0  # tRCD is invalid and reported
            v = info.data.get("tRCD")
            if v is None:
                raise ValueError("give tRCD (or tRCD_RD and tRCD_WR)")
        return v

    @field_validator("tRAS")
    @classmethod
    def _ras(cls, v: int, info: ValidationInfo) -> int:
        for name in ("tRCD_RD", "tRCD_WR"):
            rcd = info.data.get(name)
            if rcd is not None and v < rcd:
                label = "tRCD" if info.data.get("tRCD") is not None else name
                raise ValueError(f"tRAS ({v} cycles) is shorter than {label} ({rcd} cycles); "
                                 f"expected tRAS >= {label}")
        return v

    @field_validator("tRC")
    @classmethod
    def _rc(cls, v: int | None, info: ValidationInfo) -> int:
        ras, rp = info.data.get("tRAS"), info.data.get("tRP")
        if v is None:
            return (ras or 0) + (rp or 0)  # a missing/invalid tRAS or tRP is reported on its own key
        if ras is not None and rp is not None and v < ras + rp and not info.data.get("allow_short_tRC"):
            raise ValueError(f"tRC ({v} cycles) is shorter than tRAS + tRP ({ras} + {rp} = {ras + rp} "
                             f"cycles); expected tRC >= tRAS + tRP (set timing.allow_short_tRC: true only to "
                             f"mirror a reference configuration that has it)")
        return v

    @field_validator("tCCD_L", "tRRD_L", "tWTR_L")
    @classmethod
    def _long(cls, v: int | None, info: ValidationInfo) -> int | None:
        short = info.data.get(str(info.field_name)[:-1] + "S")
        if v is None:
            return short
        if short is not None and v < short:
            raise ValueError(f"{info.field_name} ({v} cycles) is shorter than its _S counterpart "
                             f"({short} cycles)")
        return v

    @field_validator("tBL", "tCCD_S", "tRRD_S")
    @classmethod
    def _at_least_one(cls, v: int | None) -> int | None:
        if v is not None and v < 1:
            raise ValueError("must be at least 1 cycle")
        return v

    @field_validator("tCK")
    @classmethod
    def _tck(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("must be positive")
        return v


class PowerModel(_Strict):
    """IDD currents and voltages (per device) and/or per-command energies (per rank)."""

    VDD: Volts = 1.2
    IDD0: Amperes = 0.0
    IDD2N: Amperes = 0.0
    IDD2P: Amperes = 0.0
    IDD3N: Amperes = 0.0
    IDD3P: Amperes = 0.0
    IDD4R: Amperes = 0.0
    IDD4W: Amperes = 0.0
    IDD5AB: Amperes = 0.0
    IDD5PB: Amperes = 0.0
    VPP: Volts = 0.0
    IPP0: Amperes = 0.0
    e_act: Joules = Field(default=0.0, description="energy per ACT+PRE pair, per rank, J")
    e_rd: Joules = Field(default=0.0, description="energy per RD burst (array and I/O), per rank, J")
    e_wr: Joules = Field(default=0.0, description="energy per WR burst, per rank, J")
    e_ref: Joules = Field(default=0.0, description="energy per all-bank REF, per rank, J")
    io_energy: JoulesPerBit = Field(default=0.0, description="I/O energy per bit moved, J/bit")
    background: Watts = Field(default=0.0, description="background power per rank, W")


Mapping = str


class ControllerModel(_Strict):
    """Memory-controller choices (see :class:`sim.dram.spec.ControllerConfig`)."""

    address_mapping: Mapping = "rochrababgco"
    bank_xor: bool = False
    scheduler: Literal["frfcfs", "fcfs"] = "frfcfs"
    page_policy: Literal["open", "closed", "timeout"] = "open"
    page_timeout: int = Field(default=0, ge=0)
    read_queue: int = Field(default=32, ge=1)
    write_queue: int = Field(default=32, ge=1)
    write_high: float = Field(default=0.8, gt=0, le=1)
    write_low: float = Field(default=0.2, ge=0, lt=1)
    refresh: Literal["allbank", "perbank", "staggered", "none"] = "allbank"
    cmd_queue_size: int = Field(default=8, ge=1)
    compat: Literal["default", "dramsim3", "ramulator2"] = "default"
    hbm_dual_cmd: bool = True

    @field_validator("address_mapping")
    @classmethod
    def _mapping(cls, v: str) -> str:
        parse_mapping(v)
        return v

    @field_validator("write_low")
    @classmethod
    def _watermarks(cls, v: float, info: ValidationInfo) -> float:
        high = info.data.get("write_high")
        if high is not None and v >= high:
            raise ValueError(f"write_low ({v}) must be below write_high ({high})")
        return v


def parse_mapping(text: str) -> list[str]:
    """Fields (``ch pc ra bg ba ro co``) of an address-mapping string, most significant first.

    Two-letter fields (``rochrababgco``, DRAMsim3 style) or Ramulator names (``RoBaRaCoCh``); the grammar is
    :func:`sim.config.dram_terms.parse_scheme`.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"expected an address mapping such as 'rochrababgco' or 'RoBaRaCoCh' (got {text!r})")
    try:
        fields = list(parse_scheme(text))
    except ConfigError as exc:
        raise ValueError(exc.reason) from None
    for need in ("ro", "co"):
        if need not in fields:
            raise ValueError(f"address mapping {text!r} has no {need!r} field")
    return fields


_PIM_CYCLE_FIELDS = ("tRCD_MAC", "tCCD_MAC", "tCCDAB", "tRRD_AB", "tMAC_RD", "tRD_MAC", "tRCD_EW", "tRCD_AF",
                     "tRCD_RDCP", "tRCD_WRCP", "CL_REG", "CWL_GB", "CWL_REG", "tRTW", "tMODE", "tAAW")


class PimTimingModel(_Strict):
    """PIM timings: whole tCK cycles (``56``) or times with their unit (``"28 ns"``), converted with the
    memory's ``timing.tCK``. Unset optional values default to the DRAM timing named in the description."""

    tRCD_MAC: int | str = Field(description="activate -> first MAC in the same bank (AiM nRCDRDMAC)")
    tCCD_MAC: int | str | None = Field(default=None, description="MAC -> MAC cadence of one PU / bank group "
                                       "(default timing.tCCD_L)")
    tCCDAB: int | str | None = Field(default=None, description="all-bank MAC -> all-bank MAC cadence, the "
                                     "power cap (AttAcc nCCDAB; default tCCD_MAC)")
    tRRD_AB: int | str | None = Field(default=None, description="multi-bank activate <-> any activate "
                                      "(default timing.tRRD_L)")
    tMAC_RD: int | str | None = Field(default=None, description="last MAC -> result read/store "
                                      "(default timing.tCCD_L)")
    tRD_MAC: int | str | None = Field(default=None, description="result read -> next MAC (default timing.tCCD_L)")
    tRCD_EW: int | str = Field(default=0, description="activate -> EWMUL/EWADD (0: tRCD_MAC)")
    tRCD_AF: int | str = Field(default=0, description="activate -> AF (0: tRCD_MAC)")
    tRCD_RDCP: int | str = Field(default=0, description="activate -> COPY_BKGB (0: timing.tRCD_RD)")
    tRCD_WRCP: int | str = Field(default=0, description="activate -> COPY_GBBK (0: timing.tRCD_WR)")
    CL_REG: int | str = Field(default=0, description="result-register read latency (AiM nCLREG)")
    CWL_GB: int | str = Field(default=1, description="buffer write latency (AiM nCWLGB)")
    CWL_REG: int | str = Field(default=1, description="result-register write latency (AiM nCWLREG)")
    tRTW: int | str = Field(default=4, description="read -> write bus turnaround beyond RL + tBL - WL")
    tMODE: int | str = Field(default=0, description="HBM-PIM mode change -> next command")
    tAAW: int | str = Field(default=0, description="bank-activation window (0: none)")
    AAW_banks: int = Field(default=0, ge=0, description="at most this many bank activations per tAAW")

    @field_validator(*_PIM_CYCLE_FIELDS, mode="before")
    @classmethod
    def _cycles_or_time(cls, v: Any) -> Any:
        if v is None:
            return None
        to_cycles(v, 1.0)  # checks the form (whole cycles or a time with its unit); converted later
        return v


class PimEnergyModel(_Strict):
    """Energy per PIM event and standby power (per channel)."""

    act: Joules = Field(default=0.0, description="one bank activation incl. its precharge, J")
    mac: Joules = Field(default=0.0, description="one bank MAC op (column read + lane MACs), J")
    rd: Joules = Field(default=0.0, description="one plain column read, array side, J")
    wr: Joules = Field(default=0.0, description="one plain column write, array side, J")
    buffer: Joules = Field(default=0.0, description="one burst into/out of a PIM buffer or register, J")
    io: JoulesPerBit = Field(default=0.0, description="chip interface, per bit crossing it, J/bit")
    ref: Joules = Field(default=0.0, description="one all-bank refresh of a channel, J")
    standby_active: Watts = Field(default=0.0, description="per channel with a bank open, W")
    standby_precharged: Watts = Field(default=0.0, description="per channel with all banks precharged, W")


class PimModel(_Strict):
    """The processing units of a DRAM-PIM memory (``pim:`` section)."""

    command_set: Literal["aim", "hbm-pim"] = Field(description="PIM command set (docs/pim.md)")
    banks_per_pu: int = Field(default=1, ge=1, le=2, description="banks sharing one processing unit")
    lanes: dict[str, int] = Field(description="data type (bf16, fp16, int8, fp32) -> MACs per PU per MAC command")
    pu_clock: Hertz = Field(description="PU clock, Hz (a clock domain separate from the DRAM clock)")
    buffer: Bytes = Field(description="global buffer per channel (aim) or GRF_A per PU (hbm-pim), bytes")
    result_registers: int = Field(default=1, ge=1, description="accumulators per PU")
    reduce: Literal["tree", "lanes"] = Field(default="tree", description="tree: one sum per register; "
                                             "lanes: one partial sum per lane (reduced on the host)")
    result_bytes: int = Field(default=2, ge=1, description="bytes of one result element")
    crf_entries: int = Field(default=32, ge=1, description="HBM-PIM CRF size, instructions")
    timing: PimTimingModel
    energy: PimEnergyModel = Field(default_factory=PimEnergyModel)

    @field_validator("lanes")
    @classmethod
    def _lanes(cls, v: dict[str, int]) -> dict[str, int]:
        for k, n in v.items():
            if k not in PIM_DTYPE_BYTES:
                raise ValueError(f"unknown data type {k!r}; expected one of {', '.join(PIM_DTYPE_BYTES)}")
            if not isinstance(n, int) or n < 1:
                raise ValueError(f"lanes for {k} must be a whole number >= 1 (got {n!r})")
        if not v:
            raise ValueError("give at least one data type, e.g. {bf16: 16}")
        return v

    @field_validator("pu_clock")
    @classmethod
    def _clock(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("must be positive")
        return v


class MemoryConfig(_Strict):
    """A pimsim memory YAML (``kind: memory``)."""

    kind: Literal["memory"] = "memory"
    name: str
    description: str = ""
    standard: Literal[STANDARDS]  # type: ignore[valid-type]
    org: OrgModel
    timing: TimingModel
    power: PowerModel = Field(default_factory=PowerModel)
    controller: ControllerModel = Field(default_factory=ControllerModel)
    pim: PimModel | None = Field(default=None, description="processing units (DRAM-PIM memories only)")

    @field_validator("controller")
    @classmethod
    def _controller_fits(cls, v: ControllerModel, info: ValidationInfo) -> ControllerModel:
        org: OrgModel | None = info.data.get("org")
        timing: TimingModel | None = info.data.get("timing")
        if org is not None:
            fields = parse_mapping(v.address_mapping)
            for f in ("ch", "pc", "ra", "bg", "ba"):
                level = FIELD_LEVELS[f]
                if f not in fields and getattr(org, level) > 1:
                    raise ValueError(f"address_mapping {v.address_mapping!r} has no {f!r} field, but the "
                                     f"organisation has {getattr(org, level)} {level.replace('_', ' ')}")
        if timing is not None:
            if v.refresh in ("allbank", "staggered") and (timing.tREFI <= 0 or timing.tRFC <= 0):
                raise ValueError(f"refresh {v.refresh!r} needs timing.tREFI and timing.tRFC "
                                 f"(or refresh: none)")
            if v.refresh == "perbank" and (timing.tREFIpb <= 0 or timing.tRFCpb <= 0):
                raise ValueError("refresh 'perbank' needs timing.tREFIpb and timing.tRFCpb")
        return v

    def tbl(self) -> int:
        """Data-bus cycles per burst: ``timing.tBL``, else BL/2 (DDR4/5, HBM) or BL/8 (GDDR6, LPDDR5)."""
        if self.timing.tBL is not None:
            return self.timing.tBL
        per_tck = 2 if self.standard in _DDR_LIKE else 8
        return max(1, self.org.burst_length // per_tck)

    @field_validator("pim")
    @classmethod
    def _pim_fits(cls, v: PimModel | None, info: ValidationInfo) -> PimModel | None:
        if v is None:
            return v
        org: OrgModel | None = info.data.get("org")
        timing: TimingModel | None = info.data.get("timing")
        if org is not None:
            banks = org.ranks * org.bankgroups * org.banks_per_group
            if banks % v.banks_per_pu:
                raise ValueError(f"banks_per_pu {v.banks_per_pu} does not divide the {banks} banks per channel")
            if banks > 63:
                raise ValueError(f"at most 63 banks per (pseudo-)channel are supported (got {banks})")
            access = org.bus_width // 8 * org.burst_length
            if v.buffer < access:
                raise ValueError(f"pim.buffer ({v.buffer:g} B) holds less than one {access}-byte access")
        if timing is not None:
            converted = {}
            for name in _PIM_CYCLE_FIELDS:
                raw = getattr(v.timing, name)
                if raw is not None:
                    try:
                        converted[name] = to_cycles(raw, timing.tCK)
                    except ValueError as exc:
                        raise ValueError(f"pim.timing.{name}: {exc}") from None
            if converted["tRCD_MAC"] < 1:
                raise ValueError("pim.timing.tRCD_MAC must be at least 1 cycle")
            if timing.tREFI and timing.tRFC and timing.tREFI <= timing.tRFC:
                raise ValueError(f"timing.tREFI ({timing.tREFI}) must exceed timing.tRFC ({timing.tRFC}) for PIM")
            if v.timing.AAW_banks and converted["tAAW"] <= 0:
                raise ValueError("pim.timing.AAW_banks needs pim.timing.tAAW")
            if org is not None and v.timing.AAW_banks:
                banks = org.ranks * org.bankgroups * org.banks_per_group
                if v.timing.AAW_banks < banks:
                    raise ValueError(f"pim.timing.AAW_banks ({v.timing.AAW_banks}) is below the {banks} banks an "
                                     f"all-bank activate opens: it could never issue")
            v = v.model_copy(update={"timing": v.timing.model_copy(update=converted)})
        return v


__all__ = ["ControllerModel", "MemoryConfig", "OrgModel", "PimEnergyModel", "PimModel",
           "PimTimingModel", "PowerModel", "TimingModel", "parse_mapping", "to_cycles"]
