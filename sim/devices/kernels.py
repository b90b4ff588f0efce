"""Which ops run as kernels of their own (and pay the per-kernel launch overhead).

Under the ``every_op`` activation-traffic convention every op is one kernel. Under ``fused`` (the
default) the trace already says that pointwise ops run inside a neighbouring GEMM's prologue or
epilogue and that the attention core is one kernel; so here:

* GEMM kinds launch a kernel, except ``attn_context``, which shares the fused attention kernel that
  ``attn_score`` launches (FlashAttention-style);
* ``embedding``, ``kv_write`` (the KV-cache store) and ``collective`` launch a kernel;
* pointwise kinds (``norm``, ``positional``, ``activation``, ``elementwise``, ``softmax``) do not.
"""

from __future__ import annotations

from sim.workload.conventions import Conventions
from sim.workload.trace import GEMM_KINDS, Op

FUSED_INTO_NEIGHBOUR = frozenset({"norm", "positional", "activation", "elementwise", "softmax"})


def launches_kernel(op: Op, conv: Conventions) -> bool:
    """True when ``op`` is a kernel of its own under ``conv``."""
    if not conv.fused:
        return True
    if op.kind == "attn_context":
        return False
    if op.kind in GEMM_KINDS:
        return True
    return op.kind not in FUSED_INTO_NEIGHBOUR
