"""Accounting conventions: the choices on which LLM cost tools differ, made explicit and named.

Each field is one decision the trace generator takes when it turns a model into FLOPs and bytes; a
preset bundles a consistent set. See ``docs/conventions.md`` for the formulas of each preset.

Presets
    ``default``     physically grounded: pointwise ops and the attention core are fused (no DRAM
                    activation traffic of their own), causal prefill, decode attends over L+1 tokens,
                    LM head on the last prompt token only, 2 FLOPs per MAC everywhere.
    ``unfused``     as ``default`` but every op reads its inputs from and writes its output to DRAM
                    (eager execution, one kernel per op).
    ``llm-viewer``  reproduces LLM-Viewer (hahnyuan/LLM-Viewer @ 472f71f1a180) exactly, quirks included.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, fields, replace

from sim.errors import ConfigError

ACT_TRAFFIC = ("fused", "every_op")
LM_HEAD_PREFILL = ("last", "all")
ACT_WIDTH = ("ffn", "hidden")
PEAK_RULES = ("op", "llm-viewer")


@dataclass(frozen=True)
class Conventions:
    """One named set of accounting choices (see module docstring and docs/conventions.md)."""

    name: str = "default"
    description: str = ""
    # activation traffic -------------------------------------------------------------------------
    act_traffic: str = "fused"
    """"fused": GEMMs (and the embedding gather) read their input and write their output; pointwise ops
    (norm, rope, activation, residual add, ALiBi, softmax, KV write) run in a neighbouring GEMM's
    prologue/epilogue, so they read only operands that GEMM does not already hold (the residual, the
    gate output) and write nothing (KV writes still store the cache); the attention core is one kernel
    that reads Q, K, V once and never stores scores. "every_op": every op reads all its inputs from and
    writes its output to DRAM (one kernel per op)."""
    residual_reads_all: bool = True
    """Under "every_op", a residual add reads all its operands; False: only one (LLM-Viewer)."""
    act_width: str = "ffn"
    """Width of the MLP activation op: "ffn" (intermediate size) or "hidden" (LLM-Viewer quirk)."""
    act_reads_two: bool = False
    """Activation op reads two tensors even for a non-gated MLP (LLM-Viewer's fixed 2x load)."""
    # attention ----------------------------------------------------------------------------------
    decode_attends_self: bool = True
    """Decode step attends over L+1 keys (the cached L plus its own); False: over L (LLM-Viewer)."""
    causal_prefill: bool = True
    """Prefill attention computes only the T(T+1)/2 unmasked scores per head; False: all T^2."""
    kv_via_projection: bool = False
    """k/v projections write the KV cache directly (counted as store_kv, no kv_write op)."""
    prefill_q_kv_heads: bool = False
    """LLM-Viewer quirk: prefill score op sizes its Q read with the KV-head count."""
    mla_absorb: bool = False
    """MLA: absorb kv_b into the query/output side (attend in latent space); False: up-project the
    cached latent with kv_b every step, as the naive HF implementation does."""
    # LM head ------------------------------------------------------------------------------------
    lm_head_prefill: str = "last"
    """Prefill LM head over the "last" prompt token of each sequence or over "all" prompt tokens."""
    lm_head_flops_per_mac: int = 2
    lm_head_act_per_sequence: bool = True
    """LM head activation bytes scale with the rows it processes; False: one row (LLM-Viewer)."""
    # what is counted ----------------------------------------------------------------------------
    embedding: bool = True
    positional: bool = True
    """Cost of rotary embeddings / ALiBi biases / learned position lookup."""
    final_norm: bool = True
    bias: bool = True
    """Linear-layer biases: weight bytes and one FLOP per output element."""
    # FLOPs per element of non-GEMM ops ----------------------------------------------------------
    softmax_ops: int = 5  # max, subtract, exp, sum, divide
    layernorm_ops: int = 7  # sum, subtract, square, sum, divide, scale, shift
    rmsnorm_ops: int = 4  # square, sum, scale by 1/rms, scale by weight
    gelu_ops: int = 8  # tanh approximation: cube, 2 mul, add, tanh, add, 2 mul
    silu_ops: int = 4  # negate/exp, add, divide, multiply
    relu_ops: int = 1
    gate_mul_ops: int = 1  # gated MLP: act(gate) * up
    add_ops: int = 1
    rope_ops: int = 3  # per rotated element: 2 multiplies + 1 add
    alibi_ops: int = 1  # per score element
    router_ops: int = 5  # per router logit: scoring function + top-k selection
    combine_ops: int = 2  # per token, per routed expert, per hidden element: weighted accumulate
    # roofline -------------------------------------------------------------------------------------
    peak_rule: str = "op"
    """Which compute peak bounds an op: "op" (the op's arithmetic datatype: the activation format, or
    the integer format when weights and activations are both integers) or "llm-viewer" (the FP16
    entry unless weights, activations and KV are all 8 bits or less, then INT8)."""
    hierarchical: bool = True
    """Bound ops by every memory level of the device (True) or by DRAM alone (False, LLM-Viewer)."""

    def __post_init__(self) -> None:
        for name, allowed in (("act_traffic", ACT_TRAFFIC), ("lm_head_prefill", LM_HEAD_PREFILL),
                              ("act_width", ACT_WIDTH), ("peak_rule", PEAK_RULES)):
            v = getattr(self, name)
            if v not in allowed:
                raise ConfigError("bad convention value", key=f"conventions.{name}", value=v,
                                  expected=" or ".join(allowed))
        for f in fields(self):
            v = getattr(self, f.name)
            if f.type == "int" and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                raise ConfigError("bad convention value", key=f"conventions.{f.name}", value=v,
                                  expected="a non-negative integer")
        if self.lm_head_flops_per_mac not in (1, 2):
            raise ConfigError("bad convention value", key="conventions.lm_head_flops_per_mac",
                              value=self.lm_head_flops_per_mac, expected="1 or 2")

    @property
    def fused(self) -> bool:
        return self.act_traffic == "fused"

    def with_(self, **changes: object) -> Conventions:
        """A copy with some fields changed (validated)."""
        return replace(self, **changes)


DEFAULT = Conventions(
    name="default",
    description="physically grounded; pointwise ops and the attention core fused, causal prefill, "
                "decode over L+1 keys, LM head on the last prompt token, 2 FLOPs/MAC",
)
UNFUSED = DEFAULT.with_(
    name="unfused",
    description="as default, but every op reads its inputs from and writes its output to DRAM",
    act_traffic="every_op",
)
LLM_VIEWER = Conventions(
    name="llm-viewer",
    description="LLM-Viewer (hahnyuan/LLM-Viewer @ 472f71f1a180) accounting, quirks included",
    act_traffic="every_op",
    residual_reads_all=False,
    act_width="hidden",
    act_reads_two=True,
    decode_attends_self=False,
    causal_prefill=False,
    kv_via_projection=True,
    prefill_q_kv_heads=True,
    lm_head_prefill="last",
    lm_head_flops_per_mac=1,
    lm_head_act_per_sequence=False,
    embedding=False,
    positional=False,
    final_norm=False,
    bias=False,
    layernorm_ops=7,
    rmsnorm_ops=7,
    gelu_ops=2,
    silu_ops=1,
    relu_ops=2,
    gate_mul_ops=1,
    peak_rule="llm-viewer",
    hierarchical=False,
)

CONVENTIONS: dict[str, Conventions] = {c.name: c for c in (DEFAULT, UNFUSED, LLM_VIEWER)}


def register_conventions(conv: Conventions) -> None:
    """Add (or replace) a named preset."""
    CONVENTIONS[conv.name] = conv


def get_conventions(name: str | Conventions) -> Conventions:
    """Resolve a preset name (or pass a :class:`Conventions` through); ConfigError names the nearest."""
    if isinstance(name, Conventions):
        return name
    if name not in CONVENTIONS:
        near = difflib.get_close_matches(str(name), CONVENTIONS, n=3)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        raise ConfigError(f"unknown conventions preset{hint}", key="conventions", value=name,
                          expected="one of " + ", ".join(CONVENTIONS))
    return CONVENTIONS[name]
