"""The ``framework:`` block of a device config: the software a measured baseline ran.

Published speedups of accelerators over GPUs and CPUs are usually measured against a framework
(PyTorch eager, Hugging Face ``generate``) at batch 1, where the host's per-operator work (Python,
the dispatcher, the kernel launch) can take longer than the kernels themselves. A device's
``framework:`` block describes that software so that ``pimsim compare`` (and ``pimsim run
--framework``) can report the baseline both as pure hardware and as the framework ran it. The
hardware models ignore the block; :mod:`sim.devices.framework` applies it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sim.config.units import Seconds


class FrameworkSpec(BaseModel):
    """An eager framework's per-operator overheads (see :mod:`sim.devices.framework` for the formulas).

    Each trace op of kind ``k`` stands for ``ops[k]`` framework operators (aten calls: kernels and
    views alike), each costing ``op_overhead`` of host time. ``asynchronous``: the host enqueues work
    ahead of the device (CUDA), so an op takes the longer of its host and device times; otherwise
    (CPU eager) the two add.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="", description="what ran: framework, version, mode")
    op_overhead: Seconds = Field(description="host time of one framework operator (Python, dispatcher, "
                                             "launch call), s")
    conventions: str = Field(default="unfused", description="accounting conventions of the framework's "
                                                             "kernels (eager: every op its own kernel)")
    asynchronous: bool = Field(default=True, description="host work overlaps device work (CUDA streams); "
                                                         "False: they add (CPU eager)")
    ops: dict[str, float] = Field(default_factory=dict,
                                  description="framework operators dispatched per trace op, by op kind "
                                              "(kinds left out: 1)")
    step_ops: float = Field(default=0.0, ge=0, description="framework operators per generated token outside "
                                                           "the model (the generation loop), charged once "
                                                           "per step on its LM head")

    @field_validator("ops")
    @classmethod
    def _non_negative(cls, v: dict[str, float]) -> dict[str, float]:
        if any(x < 0 for x in v.values()):
            raise ValueError("operator counts must be >= 0")
        return v


__all__ = ["FrameworkSpec"]
