"""Measured operator times (``validation/data/*.csv``) and the ops they correspond to.

Two data sets (sources, commits and licences in each file's header):

* ``vidur_llama2_7b_{a100,h100}.csv`` — Vidur's profiled kernel times of the non-attention operators of
  a Llama-2-7B layer (vLLM kernels, fp16) for token counts 1-4096 and tensor-parallel degrees 1-8;
  GPU time only (no host overhead).
* ``llmcompass_a100_matmul.csv`` — LLMCompass's measured fp16 matmuls on an A100 (large GEMMs, host-timed:
  each figure includes a fixed host overhead, fitted as a data-set parameter, never as a device one).

Every measurement becomes an :class:`~sim.workload.trace.Op` with the shape, FLOPs and DRAM bytes of the
kernel that was timed (each op a kernel of its own: it reads its inputs from and writes its output to
DRAM), so the device model is judged on exactly what was measured.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sim.workload.dtypes import DTypes
from sim.workload.trace import Op, Shape

DATA_DIR = Path(__file__).resolve().parent.parent.parent / "validation" / "data"

#: Llama-2-7B (traces/models/llama-2-7b.json): hidden, intermediate, head_dim
HIDDEN, FFN, HEAD_DIM = 4096, 11008, 128

#: Vidur op name -> operator class reported in docs/validation.md
OP_CLASS = {
    "attn_pre_proj": "qkv_proj",
    "attn_post_proj": "o_proj",
    "mlp_up_proj": "gate_up_proj",
    "mlp_down_proj": "down_proj",
    "input_layernorm": "rmsnorm",
    "post_attention_layernorm": "rmsnorm",
    "attn_rope": "rope",
    "mlp_act": "silu_mul",
    "add": "residual_add",
}
LINEAR_OPS = ("attn_pre_proj", "attn_post_proj", "mlp_up_proj", "mlp_down_proj")
#: ops of one layer (attention core excluded: Vidur profiles it separately) and how often each runs
LAYER_OPS = {
    "input_layernorm": 1,
    "attn_pre_proj": 1,
    "attn_rope": 1,
    "attn_post_proj": 1,
    "post_attention_layernorm": 1,
    "mlp_up_proj": 1,
    "mlp_act": 1,
    "mlp_down_proj": 1,
    "add": 2,
}


@dataclass(frozen=True)
class Measurement:
    """One measured kernel time and the op it timed."""

    dataset: str  #: "vidur" or "llmcompass"
    gpu: str  #: "a100" or "h100"
    op_name: str  #: Vidur op name, or "matmul"
    op_class: str
    tp: int
    tokens: int  #: rows (tokens, or M of a matmul)
    measured_s: float
    op: Op

    @property
    def label(self) -> str:
        """Short identifier, e.g. ``vidur tp1 t1024 attn_pre_proj``."""
        if self.dataset == "llmcompass":
            s = self.op.shape
            return f"llmcompass {s.m}x{s.n}x{s.k}"
        return f"vidur tp{self.tp} t{self.tokens} {self.op_name}"


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as f:
        lines = [ln for ln in f if ln.strip() and not ln.startswith("#")]
    return list(csv.DictReader(lines))


_DT = DTypes()


def _gemm(name: str, m: int, n: int, k: int) -> Op:
    e = 2
    return Op(
        id=0,
        name=name,
        kind="linear",
        phase="prefill" if m > 1 else "decode",
        step=0 if m > 1 else 1,
        layer=0,
        shape=Shape(m=m, n=n, k=k),
        dtypes=_DT,
        flops=2 * m * n * k,
        load_weight_bytes=k * n * e,
        load_act_bytes=m * k * e,
        store_act_bytes=m * n * e,
        batch=1,
        tokens=m,
    )


def _pointwise(
    name: str, kind: str, tokens: int, elements: int, flops_per: int, reads: int, writes: int, weight: int = 0
) -> Op:
    return Op(
        id=0,
        name=name,
        kind=kind,
        phase="prefill",
        step=0,
        layer=0,
        shape=Shape(elements=elements),
        dtypes=_DT,
        flops=flops_per * elements,
        load_weight_bytes=2 * weight,
        load_act_bytes=2 * reads,
        store_act_bytes=2 * writes,
        batch=1,
        tokens=tokens,
    )


def vidur_op(op_name: str, tp: int, tokens: int) -> Op:
    """The op Vidur timed as ``op_name`` at ``tokens`` tokens and tensor parallelism ``tp``."""
    h, f, T = HIDDEN, FFN, tokens
    if op_name == "attn_pre_proj":
        return _gemm(op_name, T, 3 * h // tp, h)
    if op_name == "attn_post_proj":
        return _gemm(op_name, T, h, h // tp)
    if op_name == "mlp_up_proj":
        return _gemm(op_name, T, 2 * f // tp, h)
    if op_name == "mlp_down_proj":
        return _gemm(op_name, T, h, f // tp)
    if op_name in ("input_layernorm", "post_attention_layernorm"):
        # RMSNorm: read x and the weight, write y; square, sum, scale, multiply by the weight
        return _pointwise(op_name, "norm", T, T * h, 4, T * h, T * h, weight=h)
    if op_name == "attn_rope":
        # rotary on the tp-th share of q and k heads, in place; cos/sin read per token and rotary pair
        n = T * 2 * h // tp
        return _pointwise(op_name, "positional", T, n, 3, n + T * HEAD_DIM, n)
    if op_name == "mlp_act":
        n = T * f // tp
        return _pointwise(op_name, "activation", T, n, 5, 2 * n, n)
    if op_name == "add":
        return _pointwise(op_name, "elementwise", T, T * h, 1, 2 * T * h, T * h)
    raise KeyError(op_name)


def load_vidur(gpu: str) -> list[Measurement]:
    """Vidur's Llama-2-7B measurements on ``gpu`` (``a100`` or ``h100``)."""
    out = []
    for r in _rows(DATA_DIR / f"vidur_llama2_7b_{gpu}.csv"):
        tp, tokens, name = int(r["tp"]), int(r["tokens"]), r["op"]
        out.append(
            Measurement(
                "vidur",
                gpu,
                name,
                OP_CLASS[name],
                tp,
                tokens,
                float(r["time_ms"]) * 1e-3,
                vidur_op(name, tp, tokens),
            )
        )
    return out


def load_llmcompass() -> list[Measurement]:
    """LLMCompass's A100 matmul measurements."""
    out = []
    for r in _rows(DATA_DIR / "llmcompass_a100_matmul.csv"):
        m, n, k = int(r["m"]), int(r["n"]), int(r["k"])
        out.append(
            Measurement(
                "llmcompass",
                "a100",
                "matmul",
                "matmul",
                1,
                m,
                float(r["time_ms"]) * 1e-3,
                _gemm("matmul", m, n, k),
            )
        )
    return out


def load(gpu: str) -> list[Measurement]:
    """Every measurement of ``gpu``."""
    return load_vidur(gpu) + (load_llmcompass() if gpu == "a100" else [])


def is_calibration(m: Measurement) -> bool:
    """The split: Vidur rows of tensor-parallel degree 2 and 8 and every other LLMCompass shape (in file
    order) calibrate; the rest (tp 1 and 4, the other matmuls) is held out."""
    if m.dataset == "vidur":
        return m.tp in (2, 8)
    rows = load_llmcompass()
    idx = next(i for i, x in enumerate(rows) if x.op.shape == m.op.shape)
    return idx % 2 == 0
