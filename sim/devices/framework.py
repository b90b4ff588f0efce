"""A device run under an eager framework: the device's own model plus per-operator host overhead.

Wraps any :class:`~sim.devices.base.DeviceModel` with the device's ``framework:`` block
(:class:`~sim.config.framework.FrameworkSpec`). For an op of kind ``k``::

    host   = (ops[k] (1 if absent) + step_ops if k is lm_head) x op_overhead              s
    time   = max(device time, host)       asynchronous (CUDA: the host enqueues ahead)
           = device time + host            synchronous (CPU eager: the cores do both in turn)

The device's energy for the op is unchanged (its dynamic energy); the longer run accrues the device's
static power, which is what a board drawing idle power while the host dispatches costs. ``bound`` is
``framework`` when the host time decides an asynchronous op. The per-kind operator counts and the
overhead of the presets are documented beside them (``hwconfigs/devices/t4.yaml``).
"""

from __future__ import annotations

from dataclasses import replace

from sim.config.framework import FrameworkSpec
from sim.devices.base import DeviceModel, OpCost
from sim.errors import ConfigError
from sim.workload.conventions import Conventions
from sim.workload.trace import KINDS, Op


class FrameworkModel(DeviceModel):
    """``inner`` as the framework ``spec`` runs it."""

    def __init__(self, inner: DeviceModel, spec: FrameworkSpec) -> None:
        for kind in spec.ops:
            if kind not in KINDS:
                raise ConfigError(f"device {inner.config.name!r}: framework.ops key {kind!r} is not an op kind",
                                  key=f"framework.ops.{kind}", expected="one of " + ", ".join(KINDS))
        self.inner = inner
        self.spec = spec
        self.types = inner.types
        self.stores_weights = inner.stores_weights
        super().__init__(inner.config, name=inner.name)

    def check(self, op: Op) -> str | None:
        """What the wrapped device cannot run."""
        return self.inner.check(op)

    def fit_error(self, weight_bytes: float, kv_bytes: float) -> str | None:
        """The wrapped device's memory check."""
        return self.inner.fit_error(weight_bytes, kv_bytes)

    def bind(self, devices: dict[str, DeviceModel]) -> None:
        """Bind the wrapped model."""
        self.inner.bind(devices)

    def host_time(self, op: Op) -> float:
        """Host seconds the framework spends on ``op``."""
        s = self.spec
        n = s.ops.get(op.kind, 1.0) + (s.step_ops if op.kind == "lm_head" else 0.0)
        return n * s.op_overhead

    def _cost(self, op: Op, conv: Conventions, launches: bool) -> OpCost:
        base = self.inner.cost(op, conv, launches=launches)
        host = self.host_time(op)
        detail = {**base.detail, "framework_s": host, "device_s": base.time_s}
        if self.spec.asynchronous:
            if host > base.time_s:
                return replace(base, time_s=host, bound="framework", detail=detail)
            return replace(base, detail=detail)
        return replace(base, time_s=base.time_s + host,
                       bound="framework" if host > base.time_s else base.bound, detail=detail)


__all__ = ["FrameworkModel"]
