"""What crosses a link when a producer and its consumer run on different devices.

The bytes moved are the producer's result, sized from its shape (not from its DRAM byte fields,
which are zero for a pointwise op fused into a neighbouring kernel):

* GEMM kinds: ``m x n x count`` activation elements (the scores of ``attn_score``, the context of
  ``attn_context``);
* ``kv_write``: the new tokens' K/V (``elements`` in the KV format);
* other kinds: ``elements`` activation values (``embedding``: the gathered rows).

A result needed by several consumers on the same remote device crosses once; on a route of several
links it is stored and forwarded hop by hop.
"""

from __future__ import annotations

from sim.workload.dtypes import nbytes
from sim.workload.trace import GEMM_KINDS, Op


def output_bytes(op: Op) -> float:
    """Bytes of ``op``'s result, bytes."""
    s = op.shape
    if op.kind in GEMM_KINDS:
        return float(nbytes(s.m * s.n * max(1, s.count), op.dtypes.a))
    if op.kind == "kv_write":
        return float(nbytes(s.elements, op.dtypes.k))
    return float(nbytes(s.elements, op.dtypes.a))
