"""The device-model registry: one model class per config ``type`` (gpu, cpu, asic, pim).

Adding a device model touches one place: register its class here (``MODELS``). The PIM-device issue
replaces the ``pim`` entry; until then PIM and ASIC devices use the generic hierarchy model.
"""

from __future__ import annotations

from sim.config.hardware import DeviceConfig
from sim.devices.base import DeviceModel
from sim.devices.cpu import CpuModel
from sim.devices.gpu import GpuModel
from sim.devices.hierarchy import HierarchyModel

MODELS: dict[str, type[DeviceModel]] = {
    "gpu": GpuModel,
    "cpu": CpuModel,
    "asic": HierarchyModel,
    "pim": HierarchyModel,
}


def register(device_type: str, cls: type[DeviceModel]) -> None:
    """Make ``cls`` the model of devices of ``device_type``."""
    MODELS[device_type] = cls


def build_device(config: DeviceConfig, name: str | None = None) -> DeviceModel:
    """The device model for ``config`` (instance called ``name``)."""
    return MODELS[config.type](config, name=name)
