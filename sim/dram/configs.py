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
from sim.dram.spec import DramSpec
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
    spec = model.to_spec(source=str(tree.source) if tree.source else "")
    if compat is not None:
        spec = spec.with_controller(compat=compat)
    return spec


def import_notes(ref: str | Path) -> list[str]:
    """What an importer noted about DRAMsim3/Ramulator traps for ``ref`` (empty for pimsim YAMLs)."""
    return load_memory_tree(ref, ())[1]


__all__ = ["COMPAT_PROFILES", "import_notes", "load_memory", "load_memory_config", "load_memory_tree"]
