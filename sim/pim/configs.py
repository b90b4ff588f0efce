"""Load a PIM memory (a ``kind: memory`` YAML with a ``pim:`` section) into a :class:`~sim.pim.spec.PimSpec`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sim.config.loader import list_presets, validate
from sim.config.memory import MemoryConfig
from sim.dram.configs import load_memory_tree, spec_from_config
from sim.errors import ConfigError
from sim.pim.spec import PimEnergy, PimParams, PimSpec, PimTiming


def pim_presets() -> list[str]:
    """Names of the memory presets that have a ``pim:`` section."""
    out = []
    for name in list_presets().get("memories", []):
        try:
            tree, _ = load_memory_tree(name)
        except Exception:  # noqa: BLE001 - a broken preset is reported when it is loaded
            continue
        if isinstance(tree.data, dict) and tree.data.get("pim"):
            out.append(name)
    return out


def pim_spec_from_config(model: MemoryConfig, source: str = "") -> PimSpec:
    """The :class:`PimSpec` of a validated memory file with a ``pim:`` section (timings in cycles);
    ``source`` names the file."""
    if model.pim is None:
        raise ValueError(f"memory {model.name!r} has no pim: section")
    dram = spec_from_config(model, source)
    p, t, dt = model.pim, model.pim.timing, dram.timing

    def cyc(name: str, default: int) -> int:
        val = getattr(t, name)
        return int(val) if val not in (None, 0) else int(default)

    ccd_mac = cyc("tCCD_MAC", dt.tCCD_L)
    timing = PimTiming(
        tRCD_MAC=int(t.tRCD_MAC), tCCD_MAC=ccd_mac, tCCDAB=cyc("tCCDAB", ccd_mac),
        tRRD_AB=cyc("tRRD_AB", dt.tRRD_L), tMAC_RD=cyc("tMAC_RD", dt.tCCD_L), tRD_MAC=cyc("tRD_MAC", dt.tCCD_L),
        tRCD_EW=cyc("tRCD_EW", t.tRCD_MAC), tRCD_AF=cyc("tRCD_AF", t.tRCD_MAC),
        tRCD_RDCP=cyc("tRCD_RDCP", dt.tRCD_RD), tRCD_WRCP=cyc("tRCD_WRCP", dt.tRCD_WR),
        CL_REG=int(t.CL_REG), CWL_GB=int(t.CWL_GB), CWL_REG=int(t.CWL_REG), tRTW=int(t.tRTW),
        tMODE=int(t.tMODE), tAAW=int(t.tAAW), AAW_banks=int(t.AAW_banks))
    e = p.energy
    energy = PimEnergy(act_J=e.act, mac_J=e.mac, rd_J=e.rd, wr_J=e.wr, buffer_J=e.buffer,
                       io_J_per_bit=e.io, ref_J=e.ref, standby_active_W=e.standby_active,
                       standby_precharged_W=e.standby_precharged)
    params = PimParams(command_set=p.command_set, banks_per_pu=p.banks_per_pu,
                       lanes=tuple(sorted(p.lanes.items())), pu_clock_Hz=float(p.pu_clock),
                       buffer_bytes=int(p.buffer), result_registers=p.result_registers, reduce=p.reduce,
                       result_bytes=p.result_bytes, timing=timing, energy=energy, crf_entries=p.crf_entries)
    return PimSpec(dram=dram, pim=params)


def load_pim(ref: str | Path, overrides: Sequence[str] = ()) -> PimSpec:
    """A PIM memory from a preset name or a YAML path; ``overrides`` are ``key.path=value`` strings
    (e.g. ``org.channels=32``, ``pim.timing.tCCDAB=4``). Raises :class:`~sim.errors.ConfigError` naming
    the file and key on any problem, including a memory without a ``pim:`` section."""
    tree, _ = load_memory_tree(ref, overrides)
    if tree.data.get("kind") != "memory":
        raise ConfigError("not a memory description", file=str(tree.source), key="kind", value=tree.data.get("kind"),
                          expected="kind: memory with a pim: section")
    model = validate(MemoryConfig, tree)
    if model.pim is None:
        raise ConfigError(f"memory {model.name!r} has no pim: section", file=str(tree.source), key="pim",
                          expected=f"a PIM memory such as {', '.join(pim_presets()) or 'gddr6-aim'}")
    return pim_spec_from_config(model, source=str(tree.source) if tree.source else "")


__all__ = ["load_pim", "pim_presets", "pim_spec_from_config"]
