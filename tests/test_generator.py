"""Trace generator: FLOPs and bytes against closed forms, GQA/MLA KV traffic, MoE routing."""

from __future__ import annotations

import itertools
from collections import defaultdict

import pytest

from sim.errors import ConfigError
from sim.workload.conventions import DEFAULT
from sim.workload.dtypes import DTypes
from sim.workload.generator import generate_trace, step_ops
from sim.workload.models import load_model
from sim.workload.routing import UniformSampled, expected_distinct, get_routing
from sim.workload.trace import phase_totals

GPT2 = dict(h=768, H=12, d=64, F=3072, V=50257, NL=12)


def _gpt2_flops(B: int, T: int, phase: str, kv: int) -> tuple[int, int, int]:
    """Closed-form default-convention FLOPs of a GPT-2 step: (GEMMs incl. biases, attention, nonlinear)."""
    h, H, d, F, V, NL = (GPT2[k] for k in ("h", "H", "d", "F", "V", "NL"))
    R = B * (T if phase == "prefill" else 1)
    pairs = T * (T + 1) // 2 if phase == "prefill" else kv  # causal prefill; decode attends kv keys
    gemm_layer = 2 * R * (4 * h * h + 2 * h * F) + R * (4 * h + F + h)  # 2/MAC + one add per bias
    attn_layer = 2 * (2 * B * H * pairs * d)  # scores and context
    nonlin_layer = 2 * 7 * R * h + 8 * R * F + 5 * B * H * pairs + 2 * R * h
    lm_head = 2 * B * h * V  # last token of each sequence only
    model_level = R * h + 7 * R * h  # position-embedding add, final layernorm
    return NL * gemm_layer + lm_head, NL * attn_layer, NL * nonlin_layer + model_level


@pytest.mark.parametrize(("B", "T"), [(1, 128), (4, 32)])
def test_gpt2_prefill_flops_closed_form(B: int, T: int) -> None:
    ops = step_ops("gpt2", "prefill", B, T)
    gemm, attn, nonlin = _gpt2_flops(B, T, "prefill", T)
    by_kind = defaultdict(int)
    for op in ops:
        by_kind[op.kind] += op.flops
    assert by_kind["linear"] + by_kind["lm_head"] == gemm
    assert by_kind["attn_score"] + by_kind["attn_context"] == attn
    assert phase_totals(ops)["prefill"]["flops"] == gemm + attn + nonlin
    # the textbook estimate: 2 FLOPs per non-embedding parameter per token, plus attention and LM head
    m = load_model("gpt2")
    non_embedding = m.param_count()[0] - m.embedding_params()
    estimate = 2 * non_embedding * B * T + attn + 2 * B * m.hidden * m.vocab
    assert phase_totals(ops)["prefill"]["flops"] == pytest.approx(estimate, rel=0.01)


def test_gpt2_decode_flops_closed_form() -> None:
    B, T = 3, 40
    for step in (1, 7):
        ops = step_ops("gpt2", "decode", B, T, step)
        gemm, attn, nonlin = _gpt2_flops(B, T, "decode", T + step)  # default: attends its own key too
        assert phase_totals(ops)["decode"]["flops"] == gemm + attn + nonlin
        assert {op.kv_len for op in ops} == {T + step}


def test_decode_weight_bytes_are_the_model() -> None:
    # one decode step reads every weight once: all parameters except the gathered embedding rows
    m = load_model("llama-2-7b")
    ops = step_ops(m, "decode", 1, 16)
    t = phase_totals(ops)["decode"]
    rows_gathered = m.hidden  # one token embedding row
    assert t["load_weight_bytes"] == 2 * (m.param_count()[0] - m.vocab * m.hidden + rows_gathered
                                          - (m.layers * 2 + 1) * m.hidden)  # norms weights are not counted
    ops4 = step_ops(m, "decode", 1, 16, dtypes=DTypes("int4", "fp16", "fp16"))
    assert phase_totals(ops4)["decode"]["load_weight_bytes"] * 4 == t["load_weight_bytes"]


@pytest.mark.parametrize("name", ["llama-2-7b", "llama-3-8b", "llama-2-70b", "deepseek-v2-lite", "gpt2"])
def test_kv_bytes_per_token(name: str) -> None:
    m = load_model(name)
    B, T, s = 2, 50, 3
    for kv_dtype, per in (("fp16", 2), ("fp8", 1)):
        ops = step_ops(m, "decode", B, T, s, dtypes=DTypes("fp16", "fp16", kv_dtype))
        t = phase_totals(ops)["decode"]
        assert t["store_kv_bytes"] == B * m.kv_elems_per_token_per_layer * m.layers * per
        if not m.is_mla:  # K and V of every attended token read once each
            assert t["load_kv_bytes"] == B * (T + s) * m.kv_elems_per_token_per_layer * m.layers * per


def test_gqa_kv_traffic_scales_with_kv_heads() -> None:
    mha = phase_totals(step_ops("llama-2-7b", "decode", 8, 1024))["decode"]
    gqa = phase_totals(step_ops("llama-3-8b", "decode", 8, 1024))["decode"]  # 8 of 32 heads, same d
    assert mha["load_kv_bytes"] == 4 * gqa["load_kv_bytes"]
    assert mha["store_kv_bytes"] == 4 * gqa["store_kv_bytes"]
    op = next(o for o in step_ops("llama-3-8b", "decode", 8, 1024) if o.kind == "attn_score")
    assert (op.shape.m, op.shape.n, op.shape.k, op.shape.count) == (4, 1025, 128, 8 * 8)


def test_ids_deps_and_step_chaining() -> None:
    ops = list(generate_trace("olmoe-1b-7b", 2, 6, 3, routing="uniform-sampled"))
    assert [o.id for o in ops] == list(range(len(ops)))
    seen: set[int] = set()
    for o in ops:
        assert all(d in seen for d in o.deps), o
        seen.add(o.id)
    heads = [o for o in ops if o.kind == "lm_head"]
    assert [o.step for o in heads] == [0, 1, 2, 3]
    for prev, step in zip(heads, (1, 2, 3), strict=False):
        first = next(o for o in ops if o.step == step)
        assert first.deps == (prev.id,)
    assert {o.phase for o in ops if o.step == 0} == {"prefill"}
    assert all(o.tokens == 1 and o.phase == "decode" for o in ops if o.step > 0)


def test_step_ops_matches_generated_step() -> None:
    gen = [o for o in generate_trace("llama-3-8b", 2, 20, 3) if o.step == 2]
    one = step_ops("llama-3-8b", "decode", 2, 20, step=2, start_id=gen[0].id)
    strip = [(o.name, o.flops, o.bytes, o.kv_len) for o in one]
    assert strip == [(o.name, o.flops, o.bytes, o.kv_len) for o in gen]
    assert [o.id for o in one] == [o.id for o in gen]


def test_lm_head_scope_and_causal_conventions() -> None:
    base = step_ops("gpt2", "prefill", 2, 64)
    all_conv = DEFAULT.with_(name="x", lm_head_prefill="all")
    all_tokens = step_ops("gpt2", "prefill", 2, 64, conventions=all_conv)
    lm = next(o for o in base if o.kind == "lm_head")
    lm_all = next(o for o in all_tokens if o.kind == "lm_head")
    assert lm_all.flops == 64 * lm.flops and lm.shape.m == 2
    full = step_ops("gpt2", "prefill", 2, 64, conventions=DEFAULT.with_(name="y", causal_prefill=False))
    s_causal = next(o for o in base if o.kind == "attn_score").flops
    s_full = next(o for o in full if o.kind == "attn_score").flops
    assert s_causal * 2 * 64 == s_full * 65  # T(T+1)/2 of T^2 pairs


def test_architecture_specific_ops() -> None:
    names = {o.name for o in step_ops("gpt-j-6b", "decode", 1, 8)}
    assert "layer0.residual" in names and "layer0.mlp_norm" not in names  # parallel block, one norm
    assert "layer0.attn.rope" in names
    gj = next(o for o in step_ops("gpt-j-6b", "decode", 1, 8) if o.name == "layer0.attn.rope")
    assert gj.shape.elements == (16 + 16) * 64  # partial rotary: 64 of 256 dims per head
    bloom = {o.name for o in step_ops("bloom-176b", "decode", 1, 8)}
    assert {"embed.norm", "layer0.attn.alibi"} <= bloom and "layer0.attn.rope" not in bloom
    assert "embed.positions" in {o.name for o in step_ops("opt-1.3b", "decode", 1, 8)}
    olmoe = {o.name for o in step_ops("olmoe-1b-7b", "decode", 1, 8)}
    assert "layer0.attn.qk_norm" in olmoe
    acts = [o for o in step_ops("opt-1.3b", "decode", 1, 8) if o.kind == "activation"]
    assert acts[0].flops == 8192 * DEFAULT.relu_ops  # non-gated ReLU, no gate multiply


def test_dense_and_moe_layers_follow_the_family_rule() -> None:
    ops = step_ops("deepseek-v2-lite", "decode", 1, 8)
    layer0 = {o.name for o in ops if o.layer == 0}
    layer1 = {o.name for o in ops if o.layer == 1}
    assert "layer0.mlp.gate_proj" in layer0 and not any(".moe." in n for n in layer0)
    assert {"layer1.moe.router", "layer1.moe.shared.down_proj", "layer1.moe.combine"} <= layer1
    q = {o.name for o in step_ops("qwen2-57b-a14b", "decode", 1, 8) if o.layer == 0}
    assert {"layer0.moe.shared_gate", "layer0.moe.shared_gate_mul"} <= q


def test_expected_distinct_experts() -> None:
    assert expected_distinct(8, 2, 1) == pytest.approx(2.0)
    assert expected_distinct(8, 2, 2) == pytest.approx(8 * (1 - 0.75 ** 2))
    assert expected_distinct(256, 8, 10_000) == pytest.approx(256.0)
    ops = step_ops("mixtral-8x7b", "decode", 2, 16)
    up = next(o for o in ops if o.name == "layer0.moe.experts.up_proj")
    assert up.experts_active == pytest.approx(3.5) and up.expert is None
    assert up.load_weight_bytes == round(3.5 * 4096 * 14336 * 2)
    assert up.shape.m == 4 and up.flops == 2 * 4 * 4096 * 14336


def test_sampled_routing_is_seeded_and_consistent() -> None:
    def experts(seed: int) -> list[tuple[int, int, int]]:
        ops = step_ops("olmoe-1b-7b", "prefill", 2, 16, routing="uniform-sampled", seed=seed)
        return [(o.layer, o.expert, o.shape.m) for o in ops
                if o.name.endswith("up_proj") and o.expert is not None]

    a, b, c = experts(1), experts(1), experts(2)
    assert a == b and a != c
    m = load_model("olmoe-1b-7b")
    per_layer = defaultdict(int)
    for layer, _, rows in a:
        per_layer[layer] += rows
    assert dict(per_layer) == dict.fromkeys(range(m.layers), 32 * m.top_k)  # tokens * k each layer
    # over many seeded draws, the mean number of distinct experts approaches the expectation
    src = get_routing("uniform-sampled", seed=5)
    draws = [src.route(layer, 1, 4, 64, 8).distinct for layer in range(200)]
    assert sum(draws) / len(draws) == pytest.approx(expected_distinct(64, 8, 4), rel=0.03)
    r = UniformSampled(9).route(3, 2, 5, 8, 2)
    assert r.counts == UniformSampled(9).route(3, 2, 5, 8, 2).counts
    assert sum(r.counts) == 10 and max(r.counts) <= 5  # k distinct experts per token


def test_expected_and_sampled_routing_do_the_same_expert_work() -> None:
    exp = [o for o in step_ops("mixtral-8x7b", "prefill", 1, 32) if o.kind == "expert_linear"]
    smp = [o for o in step_ops("mixtral-8x7b", "prefill", 1, 32, routing="uniform-sampled")
           if o.kind == "expert_linear"]
    assert sum(o.flops for o in exp) == sum(o.flops for o in smp)
    # 32 tokens with top-2 of 8 touch all 8 experts almost surely, in expectation too
    w_exp = sum(o.load_weight_bytes for o in exp)
    w_smp = sum(o.load_weight_bytes for o in smp)
    assert w_exp == pytest.approx(w_smp, rel=1e-3)


def test_mla_cache_and_absorption() -> None:
    m = load_model("deepseek-v3")
    naive = step_ops(m, "decode", 1, 2048)
    absorbed = step_ops(m, "decode", 1, 2048, conventions=DEFAULT.with_(name="absorb", mla_absorb=True))
    tn, ta = phase_totals(naive)["decode"], phase_totals(absorbed)["decode"]
    assert tn["store_kv_bytes"] == ta["store_kv_bytes"] == 576 * 2 * m.layers
    assert tn["load_weight_bytes"] == ta["load_weight_bytes"]  # kv_b split into q_absorb + v_up
    assert ta["flops"] < tn["flops"] / 2  # no per-step up-projection of 2049 cached latents
    kvb = next(o for o in naive if o.name == "layer0.attn.kv_b_proj")
    assert (kvb.shape.m, kvb.shape.n, kvb.shape.k) == (2049, 128 * 256, 512)
    assert kvb.load_kv_bytes == 2049 * 512 * 2
    score = next(o for o in absorbed if o.name == "layer0.attn.score")
    assert score.load_kv_bytes == 2049 * 576 * 2 and score.shape.k == 576


def test_fused_moves_fewer_bytes_than_unfused() -> None:
    for phase in ("prefill", "decode"):
        f = phase_totals(step_ops("llama-2-7b", phase, 4, 256))[phase]
        u = phase_totals(step_ops("llama-2-7b", phase, 4, 256, conventions="unfused"))[phase]
        assert f["flops"] == u["flops"] and f["load_weight_bytes"] == u["load_weight_bytes"]
        assert f["bytes"] < u["bytes"]


def test_bad_workload_values() -> None:
    with pytest.raises(ConfigError, match="'batch'.*0"):
        step_ops("gpt2", "prefill", 0, 8)
    with pytest.raises(ConfigError, match="'phase'"):
        step_ops("gpt2", "generate", 1, 8)
    with pytest.raises(ConfigError, match="'generate'"):
        next(iter(generate_trace("gpt2", 1, 8, -1)))
    with pytest.raises(ConfigError, match="routing"):
        step_ops("mixtral-8x7b", "decode", 1, 8, routing="zipf")
    with pytest.raises(ConfigError, match="dtypes.kv"):
        DTypes("fp16", "fp16", "fp5")


def test_long_trace_counts() -> None:
    # generate=N gives N decode steps after the prefill
    ops = list(itertools.islice(generate_trace("gpt2", 1, 8, 4), 10_000))
    assert {o.step for o in ops} == {0, 1, 2, 3, 4}
