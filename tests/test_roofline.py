"""Roofline placement: ceilings are never exceeded, closed-form cases, LLM-Viewer's peak and level rules."""

import math

import pytest

from sim.config import load_hw
from sim.results.roofline import ceilings, compute_dtype, place, place_all, totals
from sim.workload.conventions import get_conventions
from sim.workload.dtypes import DTypes
from sim.workload.generator import step_ops


@pytest.fixture(scope="module")
def a100():
    return load_hw("a100-40gb")


@pytest.mark.parametrize("phase", ["prefill", "decode"])
@pytest.mark.parametrize("conv", ["default", "llm-viewer"])
def test_no_ceiling_is_exceeded(a100, phase, conv):
    ops = step_ops("llama-2-7b", phase, 2, 256, conventions=conv)
    for p in place_all(ops, a100, conv):
        peak = a100.peak(p.compute_dtype)
        assert p.attained_flops_per_s <= peak * (1 + 1e-12)
        for lvl in a100.memory:
            if lvl.name in p.level_bytes:
                # the level moved its bytes no faster than its bandwidth
                assert p.level_bytes[lvl.name] / p.time_s <= lvl.bandwidth * (1 + 1e-12)
        assert p.time_s == pytest.approx(max(
            [p.flops / peak] + [p.level_bytes[n] / a100.level(n).bandwidth for n in p.level_bytes]))


def test_decode_gemv_is_dram_bound_closed_form(a100):
    ops = [o for o in step_ops("llama-2-7b", "decode", 1, 1024) if o.name == "layer0.mlp.up_proj"]
    (op,) = ops
    p = place(op, a100)
    assert p.bound == "hbm"
    assert p.time_s == pytest.approx(op.bytes / 1.555e12, rel=1e-12)
    # a 4096 x 11008 fp16 GEMV moves at least its weights
    assert op.load_weight_bytes == 4096 * 11008 * 2
    assert p.intensity == pytest.approx(op.flops / op.bytes)


def test_llm_viewer_uses_dram_only_and_decode_time_is_bytes_over_bandwidth(a100):
    conv = get_conventions("llm-viewer")
    assert [name for name, _ in ceilings(a100, "fp16", conv).levels] == ["hbm"]
    placed = place_all(step_ops("llama-2-7b", "decode", 1, 1024, conventions=conv), a100, conv)
    t = totals(placed)
    assert all(p.bound == "hbm" for p in placed)  # batch-1 decode is memory-bound everywhere
    assert t["time_s"] == pytest.approx(t["bytes"] / 1.555e12, rel=1e-9)


def test_llm_viewer_peak_rule():
    conv = get_conventions("llm-viewer")
    ops = step_ops("llama-2-7b", "decode", 1, 16, conventions=conv, dtypes=DTypes("int8", "int8", "int8"))
    assert compute_dtype(ops[1], conv) == "int8"
    ops = step_ops("llama-2-7b", "decode", 1, 16, conventions=conv, dtypes=DTypes("int4", "fp16", "int8"))
    assert compute_dtype(ops[1], conv) == "fp16"


def test_ridge_points(a100):
    assert ceilings(a100, "fp16").ridge() == pytest.approx(200.6, rel=1e-3)
    assert ceilings(load_hw("h100-sxm"), "fp16").ridge() == pytest.approx(295.3, rel=1e-3)


def test_prefill_gemm_is_compute_bound_and_inner_levels_see_more_traffic(a100):
    ops = [o for o in step_ops("llama-2-7b", "prefill", 1, 1024) if o.name == "layer0.mlp.up_proj"]
    p = place(ops[0], a100)
    assert p.bound == "compute"
    assert p.time_s == pytest.approx(p.flops / 312e12)
    assert p.level_bytes["l1"] >= p.level_bytes["l2"] >= p.level_bytes["hbm"] > 0
    assert math.isfinite(p.intensity)


# LLM-Viewer's per-phase totals for Llama-2-7B (fp16, prompt 1024) on an A100-40GB, from its formulas
# (transcribed independently in tests/test_conventions.py; docs/conventions.md lists them).
LLM_VIEWER_TOTALS = {
    (1, "prefill"): (13_820_530_524_160, 30_947_744_256, 50.791275e-3),
    (1, "decode"): (13_627_555_840, 13_767_891_456, 8.854e-3),
    (8, "prefill"): (110_564_244_193_280, 155_082_365_440, 405.150e-3),
    (8, "decode"): (109_020_446_720, 17_643_543_040, 11.346e-3),
}


@pytest.mark.parametrize("batch,phase", list(LLM_VIEWER_TOTALS))
def test_llm_viewer_phase_totals_end_to_end(a100, batch, phase):
    flops, nbytes, time_s = LLM_VIEWER_TOTALS[(batch, phase)]
    ops = step_ops("llama-2-7b", phase, batch, 1024, conventions="llm-viewer")
    t = totals(place_all(ops, a100, "llm-viewer"))
    assert t["flops"] == flops
    assert t["bytes"] == nbytes
    assert t["time_s"] == pytest.approx(time_s, rel=5e-4)   # the literals carry 5 significant digits
