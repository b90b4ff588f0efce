"""The device-model registry: one model class per config ``type`` (gpu, cpu, asic, pim).

Adding a device model touches one place: register its class here (``MODELS``). ``asic`` and ``pim`` are
the PIM-GPT models (:mod:`sim.devices.asic`, :mod:`sim.devices.pim`); devices of those types described
only by compute peaks and memory levels keep the generic hierarchy model.
"""

from __future__ import annotations

from sim.config.hardware import DeviceConfig
from sim.devices.asic import AsicModel
from sim.devices.base import DeviceModel
from sim.devices.cpu import CpuModel
from sim.devices.gpu import GpuModel
from sim.devices.hierarchy import HierarchyModel
from sim.devices.pim import PimModel

MODELS: dict[str, type[DeviceModel]] = {
    "gpu": GpuModel,
    "cpu": CpuModel,
    "asic": AsicModel,
    "pim": PimModel,
}


def register(device_type: str, cls: type[DeviceModel]) -> None:
    """Make ``cls`` the model of devices of ``device_type``."""
    MODELS[device_type] = cls


def build_device(config: DeviceConfig, name: str | None = None) -> DeviceModel:
    """The device model for ``config`` (instance called ``name``); a config the registered model does not
    accept (a generic ``asic``/``pim`` device without the PIM-GPT keys) gets the generic hierarchy model."""
    cls = MODELS[config.type]
    if not cls.accepts(config):
        cls = HierarchyModel
    return cls(config, name=name)
