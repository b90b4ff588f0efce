"""The resolved description of a DRAM-PIM memory: a :class:`~sim.dram.spec.DramSpec` plus the PIM parameters.

Units after loading: timings in whole DRAM command-clock cycles (tCK of the DRAM spec), the PU clock in
Hz, sizes in bytes, energies in joules, powers in watts. Everything is frozen and hashable, so a
:class:`PimSpec` can key the cost memo of :mod:`sim.pim.api`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from sim.dram.spec import DramSpec


@dataclass(frozen=True)
class PimTiming:
    """PIM timing constraints, cycles of tCK (the DRAM command clock)."""

    tRCD_MAC: int                 #: activate -> first MAC (AiM nRCDRDMAC), same bank
    tCCD_MAC: int                 #: MAC -> MAC cadence, same bank group / one PU
    tCCDAB: int                   #: all-bank MAC -> all-bank MAC cadence (power cap; AttAcc nCCDAB)
    tRRD_AB: int                  #: multi-bank activate <-> any activate, any bank (power)
    tMAC_RD: int                  #: last MAC -> result-register read (RD_MAC) or store (PIM_WR)
    tRD_MAC: int                  #: result read -> next MAC
    tRCD_EW: int = 0              #: activate -> EWMUL/EWADD (0: tRCD_MAC)
    tRCD_AF: int = 0              #: activate -> AF (0: tRCD_MAC)
    tRCD_RDCP: int = 0            #: activate -> COPY_BKGB (0: tRCD_RD)
    tRCD_WRCP: int = 0            #: activate -> COPY_GBBK (0: tRCD_WR)
    CL_REG: int = 0               #: RD_MAC / RD_AF issue -> data on the bus (register read latency)
    CWL_GB: int = 1               #: WR_GB / WR_GRF issue -> data on the bus (buffer write latency)
    CWL_REG: int = 1              #: WR_BIAS issue -> data on the bus
    tRTW: int = 4                 #: read -> write bus turnaround beyond RL + tBL - WL (AiM: 3 + nWPRE)
    tMODE: int = 0                #: HBM-PIM mode change -> next command
    tAAW: int = 0                 #: bank-activation window, cycles (0: none)
    AAW_banks: int = 0            #: at most this many bank activations per tAAW (ACT16 counts 16)


@dataclass(frozen=True)
class PimEnergy:
    """Energy per event (J) and standby power per channel (W)."""

    act_J: float = 0.0            #: one bank activation (ACT + its PRE)
    mac_J: float = 0.0            #: one bank MAC op: column read + lane MACs
    rd_J: float = 0.0             #: one plain column read, array side (interface in io)
    wr_J: float = 0.0             #: one plain column write, array side (interface in io)
    buffer_J: float = 0.0         #: one burst written into / read from a PIM buffer or register (SRAM)
    io_J_per_bit: float = 0.0     #: chip-interface energy per bit crossing it
    ref_J: float = 0.0            #: one all-bank refresh of a channel
    standby_active_W: float = 0.0     #: per channel, at least one bank open
    standby_precharged_W: float = 0.0  #: per channel, all banks precharged


@dataclass(frozen=True)
class PimParams:
    """Processing units, buffers and PIM timing/energy of a PIM memory."""

    command_set: str              #: "aim" or "hbm-pim" (sim.pim.commands.COMMAND_SETS)
    banks_per_pu: int             #: 1 (AiM, PIM-GPT, AttAcc) or 2 (HBM-PIM: one PU per bank pair)
    lanes: tuple[tuple[str, int], ...]   #: (dtype, MACs per PU per MAC command) for each supported dtype
    pu_clock_Hz: float            #: PU clock (separate from the DRAM clock)
    buffer_bytes: int             #: global buffer per channel (aim) / GRF_A per PU (hbm-pim), bytes
    result_registers: int         #: accumulators per PU (AiM MAC register; HBM-PIM GRF_B)
    reduce: str                   #: "tree": one sum per register; "lanes": one partial per lane
    result_bytes: int             #: bytes of one result element read out
    timing: PimTiming
    energy: PimEnergy = field(default_factory=PimEnergy)
    crf_entries: int = 32         #: HBM-PIM CRF size (instructions)

    def lanes_for(self, dtype: str) -> int | None:
        """MACs per PU per MAC command for ``dtype``; None when the PU does not support it."""
        return dict(self.lanes).get(dtype)


@dataclass(frozen=True)
class PimSpec:
    """A PIM memory: the DRAM it is built on and its PIM parameters."""

    dram: DramSpec
    pim: PimParams

    @property
    def name(self) -> str:
        """Preset name."""
        return self.dram.name

    @property
    def units(self) -> int:
        """Independently controlled (pseudo-)channels."""
        return self.dram.org.units

    @property
    def banks(self) -> int:
        """Banks per (pseudo-)channel (all ranks)."""
        return self.dram.org.ranks * self.dram.org.banks

    @property
    def pus_per_unit(self) -> int:
        """Processing units per (pseudo-)channel."""
        return self.banks // self.pim.banks_per_pu

    @property
    def access_bytes(self) -> int:
        """Bytes one column access (one MAC command per bank) reads, bytes."""
        return self.dram.org.tx_bytes

    @property
    def row_columns(self) -> int:
        """Column accesses per row."""
        o = self.dram.org
        return o.columns // o.burst_length

    @property
    def buffer_columns(self) -> int:
        """Column-access-sized entries of the global buffer (aim) or GRF_A (hbm-pim)."""
        return max(1, self.pim.buffer_bytes // self.access_bytes)

    @property
    def pu_cycles(self) -> int:
        """One PU clock period in DRAM cycles, rounded up (the fastest a PU accepts a new op); periods within
        0.5 % of a whole number of cycles count as that number (1.3 GHz / 4 at tCK 0.769 ns is 4 cycles)."""
        ratio = 1.0 / self.pim.pu_clock_Hz / (self.dram.timing.tCK_ns * 1e-9)
        return max(1, math.ceil(ratio * (1 - 5e-3)))

    @property
    def capacity_bytes(self) -> int:
        """Capacity of the whole memory, bytes."""
        return self.dram.org.capacity_bytes

    def peak_macs_per_s(self, dtype: str = "bf16") -> float:
        """All PUs issuing MACs back to back at the all-bank cadence, MAC/s."""
        lanes = self.pim.lanes_for(dtype) or 0
        t = self.pim.timing
        cadence = max(t.tCCDAB, t.tCCD_MAC, self.pu_cycles)
        return lanes * self.pus_per_unit * self.units / (cadence * self.dram.timing.tCK_ns * 1e-9)

    def with_dram(self, **changes: object) -> PimSpec:
        """A copy with DramSpec fields replaced."""
        return replace(self, dram=replace(self.dram, **changes))


__all__ = ["PimEnergy", "PimParams", "PimSpec", "PimTiming"]
