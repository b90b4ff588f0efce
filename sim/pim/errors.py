"""User-facing PIM errors (:class:`sim.errors.PimsimError` subclasses: one clear message, exit status 2)."""

from __future__ import annotations

from sim.errors import PimsimError, TraceError


class PimFitError(PimsimError):
    """A mapping, a model or a KV cache does not fit the PIM memory (banks, rows, buffer, capacity); the
    message names what does not fit and by how much."""


class PimCommandError(TraceError):
    """A PIM command stream or command trace is malformed (unknown command, illegal mode, bad range); the
    message names the entry (or file and line)."""


__all__ = ["PimCommandError", "PimFitError"]
