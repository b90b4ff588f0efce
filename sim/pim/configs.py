"""Load a PIM memory (a ``kind: memory`` YAML with a ``pim:`` section) into a :class:`~sim.pim.spec.PimSpec`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sim.config.loader import list_presets, validate
from sim.config.memory import MemoryConfig
from sim.dram.configs import load_memory_tree
from sim.errors import ConfigError
from sim.pim.spec import PimSpec


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
    return model.to_pim_spec(source=str(tree.source) if tree.source else "")


__all__ = ["load_pim", "pim_presets"]
