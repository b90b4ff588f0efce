"""Energy of a PIM run by category, joules, from command counts, banks reached and open-bank time.

================  ================================================================================
category          what is charged
================  ================================================================================
``activate``      ``act_J`` per bank activated (ACT = 1 bank, ACT4 = 4, ACT16 / ACT_AB = all); the
                  precharge that closes the row is included (CENT's ACT+PRE figure)
``mac``           ``mac_J`` per bank MAC op (MAC_SBK / MAC_ABK / PIM_RD / AF / EWMUL / EWADD: column read
                  + lane MACs, per bank reached); ``rd_J`` / ``wr_J`` per plain column read / write and per
                  bank of a PIM_WR store, COPY_BKGB / COPY_GBBK (the array side of the access)
``io``            ``io_J_per_bit`` x bits of every burst crossing the chip interface (buffer writes,
                  result reads, RD / WR data) + ``buffer_J`` per buffer / register burst (SRAM)
``refresh``       ``ref_J`` per all-bank REF of a channel
``background``    per channel: ``standby_active_W`` while a bank is open, ``standby_precharged_W``
                  otherwise, over the op's duration (the slowest channel's completion)
================  ================================================================================

``total`` is the sum of the five parts.
"""

from __future__ import annotations

import numpy as np

from sim.pim import commands as C
from sim.pim.engine import PimRun
from sim.pim.spec import PimSpec

CATEGORIES = ("activate", "mac", "io", "refresh", "background")


def offchip_bytes(spec: PimSpec, run: PimRun) -> int:
    """Bytes crossing the chip interface (one access per transfer command), bytes."""
    io = C.property_arrays(spec.pim.command_set)["io"]
    return int(np.sum(run.counts[io != 0])) * spec.access_bytes


def pim_energy(spec: PimSpec, run: PimRun) -> dict[str, float]:
    """Energy of ``run`` by category (see the module docstring), joules, plus ``total``."""
    e = spec.pim.energy
    cnt, bops = run.counts, run.bank_ops
    out = dict.fromkeys(CATEGORIES, 0.0)
    for code, info in C.INFO.items():
        n, nb = float(cnt[code]), float(bops[code])
        if not n:
            continue
        if info.energy == C.E_ACT:
            out["activate"] += nb * e.act_J
        elif info.energy == C.E_MAC:
            out["mac"] += nb * e.mac_J
        elif info.energy == C.E_RD:
            out["mac"] += n * e.rd_J
        elif info.energy == C.E_WR:
            out["mac"] += (nb if code == C.PIM_WR else n) * e.wr_J
        elif info.energy == C.E_IO:
            out["io"] += n * e.buffer_J
        elif info.energy == C.E_REF:
            out["refresh"] += n * e.ref_J
    out["io"] += offchip_bytes(spec, run) * 8 * e.io_J_per_bit
    tck = run.tCK_ns * 1e-9
    active = float(np.sum(run.active_cycles))
    total_cycles = float(run.cycles) * spec.units
    out["background"] = (active * e.standby_active_W + (total_cycles - active) * e.standby_precharged_W) * tck
    out["total"] = sum(out[k] for k in CATEGORIES)
    return out


__all__ = ["CATEGORIES", "offchip_bytes", "pim_energy"]
