"""Hardware configuration: YAML loading with ``extends:``, units, overrides and typed validation.

``load_hw(ref)`` loads any preset or YAML file and returns the validated model that its ``kind:``
names (device, memory, link or system). This package knows nothing of LLM models or traces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from sim.config.loader import ConfigTree, list_presets, load_tree, validate
from sim.errors import ConfigError

KINDS = ("device", "memory", "link", "system")


def schema_for(kind: str) -> type[BaseModel]:
    """The pydantic model class of a config ``kind``."""
    from sim.config import hardware

    if kind == "device":
        return hardware.DeviceConfig
    if kind == "link":
        return hardware.LinkConfig
    if kind == "system":
        return hardware.SystemConfig
    if kind == "memory":
        from sim.config.memory import MemoryConfig

        return MemoryConfig
    raise KeyError(kind)


def load_hw_tree(ref: str, overrides: Sequence[str] = ()) -> tuple[BaseModel, ConfigTree]:
    """Load and validate a hardware config; return the model and the merged tree it came from."""
    tree = load_tree(ref, overrides)
    kind = tree.data.get("kind")
    if kind not in KINDS:
        raise ConfigError("missing or unknown kind", file=str(tree.source), key="kind", value=kind,
                          expected=f"one of {', '.join(KINDS)}")
    return validate(schema_for(kind), tree), tree


def load_hw(ref: str, overrides: Sequence[str] = ()) -> Any:
    """Load and validate a hardware config (preset name or YAML path) with ``key.path=value`` overrides."""
    return load_hw_tree(ref, overrides)[0]


__all__ = ["KINDS", "list_presets", "load_hw", "load_hw_tree", "schema_for", "load_tree", "validate"]
