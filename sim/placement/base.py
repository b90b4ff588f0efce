"""The placement interface: which device instance (and optionally which stream) runs each op.

A policy is built once per system from its options (the ``placement:`` block of a system file or
``--placement``/``--placement-rules`` on the command line) and then answers :meth:`PlacementPolicy.place`
for every op of the trace. Policies see the system only as a map of device instance names to their
configs (``type`` gpu/cpu/asic/pim, datatypes) and the default device; they know nothing of the engine.

A policy that cannot be satisfied (no device of a required type, a name that is not a device) raises
:class:`~sim.errors.ConfigError`; an op placed on a device that cannot run it is reported by the engine
as :class:`PlacementError` (exit status 2).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sim.config.hardware import DeviceConfig
from sim.errors import ConfigError, PimsimError
from sim.workload.trace import Op


class PlacementError(PimsimError):
    """An op was placed on a device that cannot run it, or a device cannot hold what is placed on it."""


@dataclass(frozen=True)
class Placement:
    """Where an op runs: a device instance and, optionally, a stream index of that device.

    ``weights_on`` names the device whose memory holds the op's weights when it is not ``device`` (an
    offloaded expert): the engine then copies ``weights_fraction`` of the op's weight bytes from there
    before the op starts.
    """

    device: str
    stream: int | None = None
    weights_on: str | None = None
    weights_fraction: float = 1.0


class PlacementPolicy(ABC):
    """Maps ops to device instances; subclasses read ``options`` in ``__init__`` and implement ``place``."""

    name = "policy"
    #: option keys the policy accepts (anything else is a ConfigError)
    option_keys: tuple[str, ...] = ()

    def __init__(self, devices: Mapping[str, DeviceConfig], default: str, options: Mapping[str, Any]) -> None:
        self.devices = dict(devices)
        self.default = default
        unknown = sorted(set(options) - set(self.option_keys))
        if unknown:
            raise ConfigError(
                f"unknown option(s) of placement policy {self.name!r}: {', '.join(unknown)}",
                key="placement.options",
                expected=", ".join(self.option_keys) if self.option_keys else "no options",
            )
        self.options = dict(options)

    @abstractmethod
    def place(self, op: Op) -> Placement:
        """Where ``op`` runs."""

    # ------------------------------------------------------------------ helpers for subclasses
    def resolve(self, name: str, key: str) -> str:
        """The instance for a device or group name (a group of ``count`` > 1 resolves to instance 0)."""
        if name in self.devices:
            return name
        if f"{name}[0]" in self.devices:
            return f"{name}[0]"
        raise ConfigError(
            f"placement names an unknown device {name!r}",
            key=f"placement.options.{key}",
            value=name,
            expected="one of " + ", ".join(self.devices),
        )

    def first_of_type(self, *types: str) -> str | None:
        """The first device instance (system order) whose type is in ``types``."""
        for name, cfg in self.devices.items():
            if cfg.type in types:
                return name
        return None

    def device_option(self, key: str, *types: str, fallback: str | None = None) -> str:
        """The device named by option ``key``, else the first device of ``types``, else ``fallback``."""
        if key in self.options:
            return self.resolve(str(self.options[key]), key)
        found = self.first_of_type(*types) if types else None
        if found:
            return found
        if fallback:
            return fallback
        raise ConfigError(
            f"placement policy {self.name!r} needs a device of type {' or '.join(types)} "
            f"(or option `{key}`); the system has "
            + ", ".join(f"{n} ({c.type})" for n, c in self.devices.items()),
            key=f"placement.options.{key}",
        )
