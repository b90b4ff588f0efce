"""Built-in placement policies.

``single``
    every op on one device (option ``device``; default: the system's default device).
``pim-gpt``
    PIM-GPT style: matrix-vector ops (GEMM kinds with at most ``max_rows`` rows, default 8: every
    decode GEMV and the attention of few-query steps; ``null``: every GEMM, for a PIM device that runs
    a prompt token by token) on the PIM device (option ``pim``; default: the first device of type
    ``pim``), and the KV-cache writes with option ``kv_write: true`` (the cache lives in the PIM
    banks); everything else on the host (option ``host``; default: the first ``asic``, else the
    default device). Works with any device types.
``attention-offload``
    AttAcc style: the attention core (kinds ``attn_score``, ``softmax``, ``attn_context``, ``kv_write``
    by default, option ``kinds``) of the decode phase (option ``phases``) on the attention device
    (option ``attention``; default: the first ``pim`` device), the rest on the main device (option
    ``main``; default: the first ``gpu``, else the default device).
``rules``
    user rules, first match wins (see :mod:`sim.placement.rules`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sim.config.hardware import DeviceConfig
from sim.errors import ConfigError
from sim.placement.base import Placement, PlacementPolicy
from sim.workload.trace import GEMM_KINDS, KINDS, PHASES, Op


class SinglePolicy(PlacementPolicy):
    """Every op on one device."""

    name = "single"
    option_keys = ("device",)

    def __init__(self, devices: Mapping[str, DeviceConfig], default: str, options: Mapping[str, Any]) -> None:
        super().__init__(devices, default, options)
        self.target = Placement(self.device_option("device", fallback=default))

    def place(self, op: Op) -> Placement:
        """The one device."""
        return self.target


class PimGptPolicy(PlacementPolicy):
    """GEMV-like ops on the PIM device, the rest on the host."""

    name = "pim-gpt"
    option_keys = ("pim", "host", "max_rows", "kv_write")

    def __init__(self, devices: Mapping[str, DeviceConfig], default: str, options: Mapping[str, Any]) -> None:
        super().__init__(devices, default, options)
        self.pim = Placement(self.device_option("pim", "pim"))
        self.host = Placement(self.device_option("host", "asic", fallback=default))
        rows = self.options.get("max_rows", 8)
        if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 1):
            raise ConfigError(
                "bad option", key="placement.options.max_rows", value=rows,
                expected="an integer >= 1, or null (every GEMM: a GEMV-only PIM device runs a prompt token by "
                         "token)"
            )
        self.max_rows = rows
        self.kv_write = bool(self.options.get("kv_write", False))

    def place(self, op: Op) -> Placement:
        """PIM for matrix-vector products (and KV writes with option ``kv_write``), host otherwise."""
        if op.kind in GEMM_KINDS and (self.max_rows is None or op.shape.m <= self.max_rows):
            return self.pim
        if self.kv_write and op.kind == "kv_write":
            return self.pim
        return self.host


class AttentionOffloadPolicy(PlacementPolicy):
    """The decode attention core on the attention device, everything else on the main device."""

    name = "attention-offload"
    option_keys = ("attention", "main", "kinds", "phases")
    DEFAULT_KINDS = ("attn_score", "softmax", "attn_context", "kv_write")

    def __init__(self, devices: Mapping[str, DeviceConfig], default: str, options: Mapping[str, Any]) -> None:
        super().__init__(devices, default, options)
        self.attention = Placement(self.device_option("attention", "pim"))
        self.main = Placement(self.device_option("main", "gpu", fallback=default))
        kinds = self.options.get("kinds", list(self.DEFAULT_KINDS))
        phases = self.options.get("phases", ["decode"])
        for key, vals, allowed in (("kinds", kinds, KINDS), ("phases", phases, PHASES)):
            if not isinstance(vals, list) or any(v not in allowed for v in vals):
                raise ConfigError(
                    "bad option",
                    key=f"placement.options.{key}",
                    value=vals,
                    expected="a list of " + ", ".join(allowed),
                )
        self.kinds = frozenset(kinds)
        self.phases = frozenset(phases)

    def place(self, op: Op) -> Placement:
        """Attention device for the offloaded kinds and phases, main device otherwise."""
        if op.kind in self.kinds and op.phase in self.phases:
            return self.attention
        return self.main
