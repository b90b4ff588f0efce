"""The placement-policy registry: policy name -> class. Adding a policy touches one place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sim.config.hardware import DeviceConfig
from sim.errors import ConfigError
from sim.placement.base import PlacementPolicy
from sim.placement.policies import AttentionOffloadPolicy, PimGptPolicy, SinglePolicy
from sim.placement.rules import RulesPolicy

POLICIES: dict[str, type[PlacementPolicy]] = {
    "single": SinglePolicy,
    "pim-gpt": PimGptPolicy,
    "attention-offload": AttentionOffloadPolicy,
    "rules": RulesPolicy,
}


def register(name: str, cls: type[PlacementPolicy]) -> None:
    """Make ``cls`` available as placement policy ``name``."""
    POLICIES[name] = cls


def build_policy(
    name: str, devices: Mapping[str, DeviceConfig], default: str, options: Mapping[str, Any] | None = None
) -> PlacementPolicy:
    """The policy ``name`` for a system's device instances; ConfigError for unknown names or options."""
    if name not in POLICIES:
        raise ConfigError(
            "unknown placement policy",
            key="placement.policy",
            value=name,
            expected="one of " + ", ".join(POLICIES),
        )
    return POLICIES[name](devices, default, options or {})
