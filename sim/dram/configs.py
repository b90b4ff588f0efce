"""Load a memory system description from any supported source into a :class:`DramSpec`.

``load_memory(ref)`` accepts:

* a preset name (a ``kind: memory`` file under ``hwconfigs/memories/``, e.g. ``ddr4-2400``);
* a path to a pimsim memory YAML (``extends:`` supported);
* a path to a DRAMsim3 ``.ini`` (:mod:`sim.dram.import_dramsim3`);
* a path to a Ramulator 2.0 YAML, recognised by its top-level ``MemorySystem`` key
  (:mod:`sim.dram.import_ramulator2`).

``--set key.path=value`` overrides apply to the pimsim tree in every case (for imports, to the tree
the importer produced, e.g. ``timing.tRCD=20``). ``compat`` replaces ``controller.compat`` (the
controller behaviour profile: ``default``, ``dramsim3`` or ``ramulator2``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sim.config.loader import ConfigTree, apply_overrides, load_tree, read_yaml, resolve_ref, validate
from sim.config.memory import MemoryConfig
from sim.dram.import_dramsim3 import ImportResult, import_dramsim3
from sim.dram.import_ramulator2 import import_ramulator2, is_ramulator2
from sim.dram.spec import ControllerConfig, DramOrg, DramPower, DramSpec, DramTiming
from sim.errors import ConfigError

COMPAT_PROFILES = ("default", "dramsim3", "ramulator2")


def _tree_from_import(result: ImportResult, path: Path) -> ConfigTree:
    return ConfigTree(data=result.data, source=path, provenance=dict(result.provenance))


def load_memory_tree(ref: str | Path, overrides: Sequence[str] = ()) -> tuple[ConfigTree, list[str]]:
    """The merged pimsim memory tree for ``ref`` with overrides applied, and importer notes (traps)."""
    text = str(ref)
    path = Path(text)
    notes: list[str] = []
    if path.suffix.lower() == ".ini":
        if not path.is_file():
            raise ConfigError(f"file not found: {text}")
        result = import_dramsim3(path)
        tree = _tree_from_import(result, path.resolve())
        notes = result.notes
    elif path.suffix.lower() in (".yaml", ".yml") and path.is_file() and is_ramulator2(read_yaml(path)):
        result = import_ramulator2(path)
        tree = _tree_from_import(result, path.resolve())
        notes = result.notes
    else:
        resolved = resolve_ref(text)
        if is_ramulator2(read_yaml(resolved)):
            result = import_ramulator2(resolved)
            tree = _tree_from_import(result, resolved)
            notes = result.notes
        else:
            return load_tree(resolved, overrides), []
    return apply_overrides(tree, overrides), notes


def load_memory_config(ref: str | Path, overrides: Sequence[str] = ()) -> MemoryConfig:
    """The validated :class:`MemoryConfig` for ``ref`` (see :func:`load_memory`)."""
    tree = _checked_tree(ref, overrides)
    return validate(MemoryConfig, tree)


def _checked_tree(ref: str | Path, overrides: Sequence[str]) -> ConfigTree:
    tree, _ = load_memory_tree(ref, overrides)
    kind = tree.data.get("kind")
    if kind != "memory":
        raise ConfigError("not a memory description", file=str(tree.source), key="kind", value=kind,
                          expected="kind: memory (or a DRAMsim3 .ini / Ramulator 2.0 YAML)")
    return tree


def spec_from_config(model: MemoryConfig, source: str = "") -> DramSpec:
    """The engine's resolved :class:`DramSpec` of a validated memory file (timings in cycles, currents in
    mA, energies in J); ``source`` names the file."""
    o, t, p, c = model.org, model.timing, model.power, model.controller
    org = DramOrg(standard=model.standard, channels=o.channels, pseudo_channels=o.pseudo_channels,
                  ranks=o.ranks, bankgroups=o.bankgroups, banks_per_group=o.banks_per_group, rows=o.rows,
                  columns=o.columns, device_width=o.device_width, bus_width_bits=o.bus_width,
                  burst_length=o.burst_length, column_scale=o.column_scale)
    assert t.tRCD_RD is not None and t.tRCD_WR is not None and t.tRC is not None
    assert t.tCCD_L is not None and t.tRRD_L is not None and t.tWTR_L is not None
    timing = DramTiming(
        tCK_ns=round(t.tCK * 1e9, 9), CL=t.CL, CWL=t.CWL, tRCD_RD=t.tRCD_RD, tRCD_WR=t.tRCD_WR, tRP=t.tRP,
        tRAS=t.tRAS, tRC=t.tRC, tBL=model.tbl(), tCCD_S=t.tCCD_S, tCCD_L=t.tCCD_L, tRRD_S=t.tRRD_S,
        tRRD_L=t.tRRD_L, tFAW=t.tFAW, tWR=t.tWR, tWTR_S=t.tWTR_S, tWTR_L=t.tWTR_L, tRTP=t.tRTP,
        tRTRS=t.tRTRS, tREFI=t.tREFI, tRFC=t.tRFC, tREFIpb=t.tREFIpb, tRFCpb=t.tRFCpb, t32AW=t.t32AW,
        tPPD=t.tPPD, tCKE=t.tCKE, tXP=t.tXP, AL=t.AL)
    ma = 1e3
    power = DramPower(
        VDD=p.VDD, IDD0=p.IDD0 * ma, IDD2N=p.IDD2N * ma, IDD2P=p.IDD2P * ma, IDD3N=p.IDD3N * ma,
        IDD3P=p.IDD3P * ma, IDD4R=p.IDD4R * ma, IDD4W=p.IDD4W * ma, IDD5AB=p.IDD5AB * ma,
        IDD5PB=p.IDD5PB * ma, VPP=p.VPP, IPP0=p.IPP0 * ma, e_act_J=p.e_act, e_rd_J=p.e_rd,
        e_wr_J=p.e_wr, e_ref_J=p.e_ref, io_pJ_per_bit=p.io_energy * 1e12, background_W=p.background)
    ctrl = ControllerConfig(
        address_mapping=c.address_mapping, bank_xor=c.bank_xor, scheduler=c.scheduler,
        page_policy=c.page_policy, page_timeout=c.page_timeout, read_queue=c.read_queue,
        write_queue=c.write_queue, write_high=c.write_high, write_low=c.write_low, refresh=c.refresh,
        cmd_queue_size=c.cmd_queue_size, compat=c.compat, hbm_dual_cmd=c.hbm_dual_cmd)
    return DramSpec(name=model.name, org=org, timing=timing, power=power, controller=ctrl, source=source)


def load_memory(ref: str | Path, overrides: Sequence[str] = (), compat: str | None = None) -> DramSpec:
    """Load a memory system (preset name, pimsim YAML, DRAMsim3 ``.ini`` or Ramulator 2.0 YAML).

    ``overrides`` are ``key.path=value`` strings applied to the pimsim tree; ``compat`` (``default``,
    ``dramsim3``, ``ramulator2``) replaces the controller profile. Raises :class:`ConfigError` naming
    the file, key, value and expectation on any problem.
    """
    if compat is not None and compat not in COMPAT_PROFILES:
        raise ConfigError("unknown compatibility profile", key="compat", value=compat,
                          expected=", ".join(COMPAT_PROFILES))
    tree = _checked_tree(ref, overrides)
    model = validate(MemoryConfig, tree)
    spec = spec_from_config(model, source=str(tree.source) if tree.source else "")
    if compat is not None:
        spec = spec.with_controller(compat=compat)
    return spec


def import_notes(ref: str | Path) -> list[str]:
    """What an importer noted about DRAMsim3/Ramulator traps for ``ref`` (empty for pimsim YAMLs)."""
    return load_memory_tree(ref, ())[1]


__all__ = ["COMPAT_PROFILES", "import_notes", "load_memory", "load_memory_config", "load_memory_tree",
           "spec_from_config"]
