"""Accounting conventions; the ``llm-viewer`` preset against LLM-Viewer's own formulas.

The reference below is written from LLM-Viewer's ``model_analyzer.py`` / ``configs/Llama.py`` at commit
472f71f1a180 (per-layer rows, summed over layers, plus ``lm_head``), independently of the generator.
"""

from __future__ import annotations

import pytest

from sim.errors import ConfigError
from sim.workload.conventions import CONVENTIONS, DEFAULT, LLM_VIEWER, Conventions, get_conventions
from sim.workload.conventions import register_conventions as register
from sim.workload.generator import step_ops
from sim.workload.trace import phase_totals

# Llama-2-7B, fp16 weights/activations/KV (w = a = kv = 2 bytes)
HID, HEADS, KV_HEADS, INTER, VOCAB, LAYERS = 4096, 32, 32, 11008, 32000, 32
A100_PEAK, A100_BW = 312e12, 1555e9  # LLM-Viewer "nvidia_A100": FP16 OP/s, bytes/s

# OPs, load_weight, load_act, store_act, load_kv, store_kv
Row = tuple[float, float, float, float, float, float]


def llm_viewer_rows(B: int, s: int, stage: str) -> dict[str, Row]:
    """LLM-Viewer's per-layer rows for ``analyze(seqlen=s, batchsize=B)``, by its layer names."""
    w = a = kv = 2
    d = HID // HEADS
    T = s if stage == "prefill" else 1  # query tokens per sequence
    rows: dict[str, Row] = {}
    linears = {"q_proj": (HID, HID), "k_proj": (HID, HID * KV_HEADS / HEADS),
               "v_proj": (HID, HID * KV_HEADS / HEADS), "out_proj": (HID, HID),
               "gate_proj": (HID, INTER), "up_proj": (HID, INTER), "down_proj": (INTER, HID)}
    for name, (ic, oc) in linears.items():
        is_kv = name in ("k_proj", "v_proj")
        rows[name] = (ic * oc * B * T * 2, ic * oc * w, ic * B * T * a,
                      0 if is_kv else oc * B * T * a, 0, oc * B * T * kv if is_kv else 0)
    if stage == "decode":
        L = s  # KV length = seqlen
        rows["qk_matmul"] = (L * d * HEADS * B * 2, 0, d * B * HEADS * a, L * B * HEADS * a,
                             L * d * B * KV_HEADS * kv, 0)
        rows["sv_matmul"] = (d * L * HEADS * B * 2, 0, L * B * HEADS * a, d * B * HEADS * a,
                             L * d * B * KV_HEADS * kv, 0)
        rows["softmax"] = (B * HEADS * L * 5, 0, B * HEADS * L * a, B * HEADS * L * a, 0, 0)
    else:
        rows["qk_matmul"] = (s * s * d * HEADS * B * 2, 0, s * d * B * KV_HEADS * a,  # Q sized by KV heads
                             s * s * B * HEADS * a, s * d * B * KV_HEADS * kv, 0)
        rows["sv_matmul"] = (s * d * s * HEADS * B * 2, 0, s * s * B * HEADS * a, s * d * B * HEADS * a,
                             s * d * B * KV_HEADS * kv, 0)
        rows["softmax"] = (B * HEADS * s * s * 5, 0, B * HEADS * s * s * a, B * HEADS * s * s * a, 0, 0)
    for name in ("attn_norm", "mlp_norm"):
        rows[name] = (B * HID * T * 7, 0, B * HID * T * a, B * HID * T * a, 0, 0)
    for name in ("attn_add", "mlp_add"):
        rows[name] = (B * HID * T, 0, B * HID * T * a, B * HID * T * a, 0, 0)
    rows["mlp_act"] = (B * HID * T * 2, 0, B * HID * T * a * 2, B * HID * T * a, 0, 0)
    return rows


def llm_viewer_lm_head(B: int) -> Row:
    return (B * HID * VOCAB * 1, HID * VOCAB * 2, HID * 2, VOCAB * 2, 0, 0)


def roofline_time(ops: float, mem: float) -> float:
    """LLM-Viewer's roofline: memory-bound below the ridge (time = bytes/BW), else OPs/peak."""
    ai = ops / mem
    perf = ai * A100_BW if ai < A100_PEAK / A100_BW else A100_PEAK
    return ops / perf


def llm_viewer_totals(B: int, s: int, stage: str) -> tuple[float, float, float]:
    """(OPs, memory bytes, seconds): sum(one decoder layer) * layers + lm_head."""
    rows = list(llm_viewer_rows(B, s, stage).values())
    head = llm_viewer_lm_head(B)
    ops = sum(r[0] for r in rows) * LAYERS + head[0]
    mem = sum(sum(r[1:]) for r in rows) * LAYERS + sum(head[1:])
    time = sum(roofline_time(r[0], sum(r[1:])) for r in rows) * LAYERS + roofline_time(head[0], sum(head[1:]))
    return ops, mem, time


# The same totals as literals (OPs, bytes, ms on A100-40GB), so a drift in both sides is caught too.
EXPECTED = {
    (1, "prefill"): (13_820_530_524_160, 30_947_744_256, 50.791275),
    (1, "decode"): (13_627_555_840, 13_767_891_456, 8.853949),
    (8, "prefill"): (110_564_244_193_280, 155_082_365_440, 405.149802),
    (8, "decode"): (109_020_446_720, 17_643_543_040, 11.346330),
}
NAME_MAP = {  # LLM-Viewer layer name -> our op name in layer 0
    "q_proj": "layer0.attn.q_proj", "k_proj": "layer0.attn.k_proj", "v_proj": "layer0.attn.v_proj",
    "out_proj": "layer0.attn.o_proj", "gate_proj": "layer0.mlp.gate_proj", "up_proj": "layer0.mlp.up_proj",
    "down_proj": "layer0.mlp.down_proj", "qk_matmul": "layer0.attn.score", "sv_matmul": "layer0.attn.context",
    "softmax": "layer0.attn.softmax", "attn_norm": "layer0.attn_norm", "mlp_norm": "layer0.mlp_norm",
    "attn_add": "layer0.attn_residual", "mlp_add": "layer0.mlp_residual", "mlp_act": "layer0.mlp.act",
}


@pytest.mark.parametrize("B", [1, 8])
@pytest.mark.parametrize("stage", ["prefill", "decode"])
def test_llm_viewer_llama2_7b_totals(B: int, stage: str) -> None:
    ref_ops, ref_mem, ref_time = llm_viewer_totals(B, 1024, stage)
    assert (ref_ops, ref_mem) == EXPECTED[(B, stage)][:2]
    assert ref_time * 1e3 == pytest.approx(EXPECTED[(B, stage)][2], rel=1e-6)
    ops = step_ops("llama-2-7b", stage, B, 1024, conventions="llm-viewer")  # decode: step 1, KV length 1024
    t = phase_totals(ops)[stage]
    assert t["flops"] == ref_ops
    assert t["bytes"] == ref_mem
    ours = sum(roofline_time(o.flops, o.bytes) for o in ops)
    assert ours == pytest.approx(ref_time, rel=1e-9)
    assert ours == pytest.approx(ref_time, rel=0.005)  # the acceptance bound


@pytest.mark.parametrize("stage", ["prefill", "decode"])
def test_llm_viewer_rows_one_to_one(stage: str) -> None:
    ops = step_ops("llama-2-7b", stage, 8, 1024, conventions="llm-viewer")
    layer0 = {o.name: o for o in ops if o.layer == 0}
    assert set(layer0) == set(NAME_MAP.values())  # no embedding, RoPE, KV-write or extra ops
    for lv_name, row in llm_viewer_rows(8, 1024, stage).items():
        op = layer0[NAME_MAP[lv_name]]
        got = (op.flops, op.load_weight_bytes, op.load_act_bytes, op.store_act_bytes, op.load_kv_bytes,
               op.store_kv_bytes)
        assert got == row, lv_name
    head = [o for o in ops if o.layer == -1]
    assert [o.name for o in head] == ["lm_head"]
    h = head[0]
    assert (h.flops, h.load_weight_bytes, h.load_act_bytes, h.store_act_bytes) == llm_viewer_lm_head(8)[:4]


def test_llm_viewer_decode_kv_length_is_prompt() -> None:
    lv = step_ops("llama-2-7b", "decode", 1, 100, step=1, conventions="llm-viewer")
    de = step_ops("llama-2-7b", "decode", 1, 100, step=1)
    assert {o.kv_len for o in lv} == {100} and {o.kv_len for o in de} == {101}
    lv5 = step_ops("llama-2-7b", "decode", 1, 100, step=5, conventions="llm-viewer")
    assert {o.kv_len for o in lv5} == {104}


def test_default_convention_choices() -> None:
    c = DEFAULT
    assert c.fused and c.causal_prefill and c.decode_attends_self and c.lm_head_prefill == "last"
    assert c.lm_head_flops_per_mac == 2 and c.embedding and c.positional and c.final_norm
    ops = step_ops("gpt2", "decode", 2, 10)
    lm = next(o for o in ops if o.kind == "lm_head")
    assert lm.flops == 2 * 2 * 768 * 50257 + 0  # GPT-2's LM head is tied and has no bias
    names = {o.name for o in ops}
    assert {"embed.tokens", "embed.positions", "final_norm", "layer0.attn.kv_write"} <= names
    softmax = next(o for o in ops if o.kind == "softmax")
    assert softmax.bytes == 0  # fused attention keeps scores on chip
    unfused = next(o for o in step_ops("gpt2", "decode", 2, 10, conventions="unfused") if o.kind == "softmax")
    assert unfused.load_act_bytes == unfused.store_act_bytes == 2 * 12 * 11 * 2


def test_llm_viewer_preset_fields() -> None:
    c = get_conventions("llm-viewer")
    assert c is LLM_VIEWER
    assert not (c.embedding or c.positional or c.final_norm or c.causal_prefill or c.decode_attends_self)
    assert c.lm_head_flops_per_mac == 1 and not c.lm_head_act_per_sequence and c.kv_via_projection
    assert c.act_width == "hidden" and c.prefill_q_kv_heads and not c.residual_reads_all
    per_elem = (c.softmax_ops, c.rmsnorm_ops, c.layernorm_ops, c.add_ops, c.silu_ops + c.gate_mul_ops)
    assert per_elem == (5, 7, 7, 1, 2)


def test_registry_and_validation() -> None:
    assert {"default", "unfused", "llm-viewer"} <= set(CONVENTIONS)
    with pytest.raises(ConfigError, match="llm-viewer"):
        get_conventions("llm_viewer")
    with pytest.raises(ConfigError, match="conventions.act_traffic.*'sometimes'"):
        Conventions(act_traffic="sometimes")
    with pytest.raises(ConfigError, match="conventions.softmax_ops"):
        DEFAULT.with_(softmax_ops=-1)
    with pytest.raises(ConfigError, match="lm_head_flops_per_mac"):
        DEFAULT.with_(lm_head_flops_per_mac=3)
    mine = DEFAULT.with_(name="test-all-logits", lm_head_prefill="all")
    register(mine)
    try:
        assert get_conventions("test-all-logits") is mine
        lm = next(o for o in step_ops("gpt2", "prefill", 1, 4, conventions="test-all-logits")
                  if o.kind == "lm_head")
        assert lm.shape.m == 4
    finally:
        del CONVENTIONS["test-all-logits"]


def test_default_fused_traffic_closed_form() -> None:
    """Fused rule for a Llama decode step: GEMMs read input/write output, epilogues read the residual
    and the gate output, attention reads Q, K, V once and writes the context; fp16 (2 bytes)."""
    B, T, h, inter, V = 4, 64, HID, INTER, VOCAB
    R = B  # rows in decode
    t = phase_totals(step_ops("llama-2-7b", "decode", B, T))["decode"]
    # per layer: q,k,v,o inputs 4Rh + Q read Rh + 2 residual reads + gate/up inputs 2Rh + gate output RI
    #            + down input RI
    load_act = LAYERS * (9 * R * h + 2 * R * inter) + B * h  # + LM head input
    # per layer: q out, context out, o out, down out (4Rh) + gate/up outputs 2RI; + embedding out, logits
    store_act = LAYERS * (4 * R * h + 2 * R * inter) + R * h + B * V
    assert t["load_act_bytes"] == 2 * load_act
    assert t["store_act_bytes"] == 2 * store_act
    assert t["load_kv_bytes"] == 2 * LAYERS * 2 * B * (T + 1) * h
    assert t["store_kv_bytes"] == 2 * LAYERS * 2 * B * h
