"""DRAM energy by component, in joules, from command counts and rank-state cycles of a run.

Two sources, per component:

1. **IDD currents** (DRAMPower / Micron power-calculator method). Per command, per device, with
   ``VDD`` in V, currents in A, times in s (``t = cycles * tCK``):

   ==================== =============================================================================
   activate/precharge   ``N_ACT * VDD * (IDD0 * (tRAS + tRP) - IDD3N * tRAS - IDD2N * tRP)``
                        (DRAMPower's ``E_act + E_pre``; DRAMsim3's ``IDD0*tRC - ...`` with its
                        tRC = tRAS + tRP)
   read (array)         ``N_RD * VDD * (IDD4R - IDD3N) * tBL``   (RD and RDA)
   write (array)        ``N_WR * VDD * (IDD4W - IDD3N) * tBL``   (WR and WRA)
   refresh              ``N_REF * VDD * (IDD5AB - IDD3N) * tRFC + N_REFpb * VDD * (IDD5PB - IDD3N) * tRFCpb``
   background           ``VDD * (IDD3N * t_active + IDD2N * t_precharged)`` per rank
   ==================== =============================================================================

   Each is multiplied by the devices per rank (bus width / device width). ``t_active`` is the time
   with at least one bank open. Model ``drampower`` counts refresh time as active (IDD3N, so a
   refresh costs IDD5 over tRFC in all); model ``dramsim3`` counts it as precharged (IDD2N), as
   DRAMsim3 does. DRAMsim3 reports these quantities as ``V * mA * cycles`` labelled "pJ"; multiplied
   by tCK in ns they are pJ. Here they are joules.
2. **Per-command energies** (a pJ table, e.g. from AttAcc or CENT): where ``power.e_act``, ``e_rd``,
   ``e_wr``, ``e_ref`` (J per command per rank) or ``background`` (W per rank) are non-zero they
   replace the IDD formula of that component.

I/O energy is ``io_energy (J/bit) * bits moved by RD and WR`` when given (otherwise it is part of
the read/write figures). ``total`` is the sum of the parts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.dram.commands import ACT, RD, RDA, REFAB, REFPB, WR, WRA
from sim.dram.spec import DramSpec

COMPONENTS = ("activate_precharge", "read", "write", "io", "refresh", "background")
MODELS = ("drampower", "dramsim3")


def energy_modelled(spec: DramSpec) -> bool:
    """True when the spec carries any power parameter (IDD currents or per-command energies)."""
    p = spec.power
    return any(v > 0 for v in (p.IDD0, p.IDD2N, p.IDD3N, p.IDD4R, p.IDD4W, p.IDD5AB, p.e_act_J, p.e_rd_J,
                               p.e_wr_J, p.e_ref_J, p.io_pJ_per_bit, p.background_W))


def _counts(run: Any, code: int) -> float:
    counts = np.asarray(run.cmd_counts)
    return float(counts[..., code].sum()) if counts.size else 0.0


def dram_energy(spec: DramSpec, run: Any, *, model: str | None = None) -> dict[str, float]:
    """Energy of ``run`` on ``spec`` by component (see module doc), joules, plus ``total``.

    ``run`` needs ``cmd_counts`` (units, ranks, commands), ``rank_active_cycles`` and
    ``rank_refresh_cycles`` (units, ranks) and ``cycles``, as :class:`sim.dram.result.DramRun` has.
    ``model`` is ``drampower`` or ``dramsim3`` (default: ``dramsim3`` for the dramsim3 profile).
    """
    if model is None:
        model = "dramsim3" if spec.controller.compat == "dramsim3" else "drampower"
    if model not in MODELS:
        raise ValueError(f"unknown energy model {model!r}; expected one of {', '.join(MODELS)}")
    p, t, o = spec.power, spec.timing, spec.org
    tck = t.tCK_ns * 1e-9
    dev = o.devices_per_rank
    vdd = p.VDD
    ma = 1e-3
    idd0, idd2n, idd3n = p.IDD0 * ma, p.IDD2N * ma, p.IDD3N * ma
    n_act = _counts(run, ACT)
    n_rd = _counts(run, RD) + _counts(run, RDA)
    n_wr = _counts(run, WR) + _counts(run, WRA)
    n_ref = _counts(run, REFAB)
    n_refpb = _counts(run, REFPB)

    out: dict[str, float] = {}
    if p.e_act_J > 0:
        out["activate_precharge"] = n_act * p.e_act_J
    else:
        per_act = vdd * (idd0 * (t.tRAS + t.tRP) - idd3n * t.tRAS - idd2n * t.tRP) * tck * dev
        out["activate_precharge"] = n_act * per_act
    out["read"] = n_rd * (p.e_rd_J if p.e_rd_J > 0 else vdd * (p.IDD4R * ma - idd3n) * t.tBL * tck * dev)
    out["write"] = n_wr * (p.e_wr_J if p.e_wr_J > 0 else vdd * (p.IDD4W * ma - idd3n) * t.tBL * tck * dev)
    out["io"] = p.io_pJ_per_bit * 1e-12 * (n_rd + n_wr) * o.tx_bytes * 8
    if p.e_ref_J > 0:
        ref_ab = n_ref * p.e_ref_J
    else:
        ref_ab = n_ref * vdd * (p.IDD5AB * ma - idd3n) * t.tRFC * tck * dev
    ref_pb = n_refpb * vdd * (p.IDD5PB * ma - idd3n) * t.tRFCpb * tck * dev if p.IDD5PB > 0 else 0.0
    out["refresh"] = ref_ab + ref_pb

    cycles = float(run.cycles)
    if p.background_W > 0:
        out["background"] = p.background_W * o.units * o.ranks * cycles * tck
    else:
        active = np.asarray(run.rank_active_cycles, dtype=np.float64)
        refresh = np.asarray(run.rank_refresh_cycles, dtype=np.float64)
        if active.size == 0:
            active = np.zeros((o.units, o.ranks))
            refresh = np.zeros((o.units, o.ranks))
        if model == "drampower":
            high = np.minimum(active + refresh, cycles)
        else:
            high = np.minimum(active, cycles)
        low = cycles - high
        out["background"] = float(vdd * (idd3n * high.sum() + idd2n * low.sum()) * tck * dev)
    out["total"] = sum(out[k] for k in COMPONENTS)
    return out


def average_power_W(energy: dict[str, float], run: Any) -> float:
    """Average power over the run, watts (total energy / simulated seconds)."""
    seconds = float(run.seconds) if hasattr(run, "seconds") else 0.0
    return energy["total"] / seconds if seconds > 0 else 0.0


__all__ = ["COMPONENTS", "MODELS", "average_power_W", "dram_energy", "energy_modelled"]
