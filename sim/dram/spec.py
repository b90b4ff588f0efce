"""The resolved description of one DRAM memory system, as the engine consumes it.

Everything here is plain data already converted to engine units: organisation counts, timings in
memory-clock cycles (tCK), currents in mA and voltages in V (IDD-based energy), per-command
energies in joules, and controller choices. Config loaders (pimsim YAML presets, the DRAMsim3 ``.ini``
importer, the Ramulator 2.0 YAML importer) all produce a :class:`DramSpec`; the numba kernels,
the energy model and the protocol checker all read one.

Conventions
-----------
* A *channel* here is the unit with its own command/data bus and controller. For HBM2/HBM3 with
  pseudo-channels, ``pseudo_channels`` > 1 splits each channel into independent pseudo-channels that
  the controller schedules separately (each gets its own queues); ``bus_width_bits`` is per
  pseudo-channel in that case.
* ``columns`` counts device columns per row (as the datasheets do). One access (burst) covers
  ``burst_length`` columns and moves ``tx_bytes = bus_width_bits / 8 * burst_length`` bytes.
  DRAMsim3 imports keep the raw ``.ini`` count and set ``column_scale`` (DRAMsim3's internal x BL /
  x 2 normalisation), so a row holds ``columns * column_scale / burst_length`` accesses.
* Timings are integers in cycles of the memory command clock (tCK). ``tBL`` is the number of cycles
  the data bus is busy for one burst (BL/2 for DDR, BL/4 for GDDR6 at WCK=4xCK, etc.).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace


@dataclass(frozen=True)
class DramOrg:
    """Organisation of the memory system (counts, widths)."""

    standard: str                 #: one of STANDARDS
    channels: int                 #: independent channels
    pseudo_channels: int = 1      #: pseudo-channels per channel (HBM); 1 otherwise
    ranks: int = 1                #: ranks per (pseudo-)channel
    bankgroups: int = 1           #: bank groups per rank (1 when bank groups are off)
    banks_per_group: int = 16     #: banks per bank group
    rows: int = 65536             #: rows per bank
    columns: int = 1024           #: device columns per row
    device_width: int = 8         #: DQ bits per device (x4/x8/x16/x128)
    bus_width_bits: int = 64      #: data-bus width per (pseudo-)channel, bits
    burst_length: int = 8         #: columns per access (BL)
    #: device columns per configured column: DRAMsim3 normalises a raw ``.ini`` column count internally
    #: (x BL for GDDR, x 2 for HBM), so its imports keep ``columns`` raw and set this factor; 1 otherwise
    column_scale: int = 1

    @property
    def banks(self) -> int:
        """Banks per rank."""
        return self.bankgroups * self.banks_per_group

    @property
    def tx_bytes(self) -> int:
        """Bytes moved by one RD or WR command (access granularity), bytes."""
        return self.bus_width_bits // 8 * self.burst_length

    @property
    def row_bytes(self) -> int:
        """Bytes of one row across the devices of a rank (page size seen by the controller), bytes."""
        return self.columns * self.column_scale * self.bus_width_bits // 8

    @property
    def units(self) -> int:
        """Independently scheduled units (channels x pseudo-channels)."""
        return self.channels * self.pseudo_channels

    @property
    def capacity_bytes(self) -> int:
        """Total capacity of the memory system, bytes."""
        return self.units * self.ranks * self.banks * self.rows * self.row_bytes

    @property
    def devices_per_rank(self) -> int:
        """DRAM devices that make up one rank (bus width / device width)."""
        return max(1, self.bus_width_bits // self.device_width)


@dataclass(frozen=True)
class DramTiming:
    """Timing constraints, integer cycles of tCK (``tCK_ns`` itself in nanoseconds)."""

    tCK_ns: float
    CL: int
    CWL: int
    tRCD_RD: int
    tRCD_WR: int
    tRP: int
    tRAS: int
    tRC: int
    tBL: int                      #: data-bus cycles per burst
    tCCD_S: int
    tCCD_L: int
    tRRD_S: int
    tRRD_L: int
    tFAW: int
    tWR: int
    tWTR_S: int
    tWTR_L: int
    tRTP: int
    tRTRS: int = 1                #: rank-to-rank data-bus switch gap
    tREFI: int = 0                #: all-bank refresh interval (0 = no refresh)
    tRFC: int = 0                 #: all-bank refresh cycle time
    tREFIpb: int = 0              #: per-bank refresh interval (0 = no per-bank refresh)
    tRFCpb: int = 0               #: per-bank refresh cycle time
    t32AW: int = 0                #: GDDR 32-activate window (0 = none)
    tPPD: int = 0                 #: precharge-to-precharge (LPDDR5/DDR5), 0 = none
    tCKE: int = 0
    tXP: int = 0
    AL: int = 0                   #: additive latency

    @property
    def RL(self) -> int:
        """Read latency (AL + CL), cycles."""
        return self.AL + self.CL

    @property
    def WL(self) -> int:
        """Write latency (AL + CWL), cycles."""
        return self.AL + self.CWL


@dataclass(frozen=True)
class DramPower:
    """Power parameters: IDD currents (mA, per device) and supply voltages (V), and/or per-command energies.

    The IDD values are per device, as in datasheets; the energy model multiplies by
    ``devices_per_rank``. Per-command energies (joules per command per rank), where given
    (non-zero), take precedence over the IDD formulas for that component.
    """

    VDD: float = 1.2
    IDD0: float = 0.0
    IDD2N: float = 0.0
    IDD2P: float = 0.0
    IDD3N: float = 0.0
    IDD3P: float = 0.0
    IDD4R: float = 0.0
    IDD4W: float = 0.0
    IDD5AB: float = 0.0
    IDD5PB: float = 0.0
    VPP: float = 0.0
    IPP0: float = 0.0
    e_act_J: float = 0.0          #: energy per ACT+PRE pair, J
    e_rd_J: float = 0.0           #: energy per RD burst (array + I/O), J
    e_wr_J: float = 0.0           #: energy per WR burst, J
    e_ref_J: float = 0.0          #: energy per all-bank REF, J
    io_pJ_per_bit: float = 0.0    #: I/O energy per bit moved, pJ/bit (0 = included in RD/WR)
    background_W: float = 0.0     #: background power per rank when given directly, W


@dataclass(frozen=True)
class ControllerConfig:
    """Memory-controller choices."""

    address_mapping: str = "rochrababgco"   #: MSB->LSB field string (ro, ch, pc, ra, bg, ba, co)
    bank_xor: bool = False                  #: XOR bank bits with low row bits
    scheduler: str = "frfcfs"               #: "frfcfs" or "fcfs"
    page_policy: str = "open"               #: "open", "closed" or "timeout"
    page_timeout: int = 0                   #: idle cycles before an open row is closed (timeout policy)
    read_queue: int = 32                    #: read-queue entries per (pseudo-)channel
    write_queue: int = 32                   #: write-queue entries per (pseudo-)channel
    write_high: float = 0.8                 #: start draining writes above this fill fraction
    write_low: float = 0.2                  #: stop draining below this fill fraction
    refresh: str = "allbank"                #: "allbank", "perbank", "staggered" (rank-staggered) or "none"
    cmd_queue_size: int = 8                 #: per-bank command-queue depth (dramsim3 profile)
    compat: str = "default"                 #: "default", "dramsim3" or "ramulator2"
    hbm_dual_cmd: bool = True               #: HBM: a row and a column command per cycle (hbm_dual_cmd)


@dataclass(frozen=True)
class DramSpec:
    """Everything the DRAM engine needs for one memory system."""

    name: str
    org: DramOrg
    timing: DramTiming
    power: DramPower = field(default_factory=DramPower)
    controller: ControllerConfig = field(default_factory=ControllerConfig)
    source: str = ""                        #: where it came from (preset file, .ini path, ...)

    def with_controller(self, **changes: object) -> DramSpec:
        """A copy with some controller fields changed."""
        return replace(self, controller=replace(self.controller, **changes))

    def to_dict(self) -> dict:
        """Plain nested dict of every field."""
        return asdict(self)

    @property
    def peak_bandwidth_Bps(self) -> float:
        """Data-bus peak of the whole system, bytes per second."""
        per_unit = self.org.tx_bytes / (self.timing.tBL * self.timing.tCK_ns * 1e-9)
        return per_unit * self.org.units
