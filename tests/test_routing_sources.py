"""MoE routing: the real-trace loader and replay, the synthetic router against the real traces' statistics."""

from pathlib import Path

import numpy as np
import pytest

from sim.workload.generator import step_ops
from sim.workload.routing import get_routing
from sim.workload.routing_stats import routing_stats
from sim.workload.routing_synthetic import SyntheticRouting
from sim.workload.routing_trace import RoutingTraceError, TraceRouting, load_route_trace

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "moe_route_traces_bigmoeonedge"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is missing")
# decode-token statistics of the real traces (../shared/reference/systems.md section 2)
REAL = {"qwen": (0.380, 0.445, 63.7), "gemma": (0.357, 0.465, 66.9), "gptoss": (0.179, 0.595, 35.9)}


@pytest.fixture(scope="module")
def traces():
    return {n: load_route_trace(SHARED / f"{n}.route.csv") for n in REAL}


@needs_shared
def test_loader_reads_the_traces_and_their_statistics(traces):
    shapes = {n: (t.layers, t.experts, t.top_k, len(t.prefill), len(t.decode)) for n, t in traces.items()}
    assert shapes == {"qwen": (48, 128, 6, 28, 128), "gemma": (30, 128, 6, 29, 128), "gptoss": (36, 128, 2, 85, 64)}
    for n, t in traces.items():
        st = routing_stats(np.transpose(t.decode, (1, 0, 2)), t.experts)
        assert (st.lag1_overlap, st.top8_share, st.distinct) == pytest.approx(REAL[n], abs=0.001 * 100), n
        assert (t.prefill >= 0).all()  # prompt tokens without their last layer took a later token's experts


@needs_shared
def test_synthetic_router_reproduces_the_real_statistics_within_10_percent(traces):
    """Seed-averaged (0-3) statistics of the same shape as each trace, against the trace's."""
    for n, t in traces.items():
        runs = []
        for seed in range(4):
            sets = SyntheticRouting(seed).decode_sets(t.layers, len(t.decode), t.experts, t.top_k, start=30)
            runs.append(routing_stats(sets, t.experts))
        real = routing_stats(np.transpose(t.decode, (1, 0, 2)), t.experts)
        for key in ("lag1_overlap", "top8_share", "distinct"):
            sim = float(np.mean([getattr(r, key) for r in runs]))
            assert sim == pytest.approx(getattr(real, key), rel=0.10), (n, key, sim, getattr(real, key))


def test_synthetic_popularity_sharpens_with_depth_and_keeps_temporal_locality():
    sets = SyntheticRouting(1).decode_sets(24, 128, 128, 6)
    shares = routing_stats(sets, 128).per_layer_top8
    assert np.mean(shares[:3]) < 0.8 * np.mean(shares[-8:])
    st = routing_stats(sets, 128)
    assert st.lag1_overlap > 4 * 6 / 128  # well above random (k / E)


def test_synthetic_routes_are_deterministic_and_independent_of_call_order():
    """A route is a hash of (seed, layer, sequence, position): other layers' calls do not change it (decode
    positions follow the prompt length of the last prefill routed)."""
    a, b = SyntheticRouting(7), SyntheticRouting(7)
    a.route(3, 0, 32, 64, 4, sequences=2)
    a.route(5, 0, 32, 64, 4, sequences=2)
    b.route(5, 0, 32, 64, 4, sequences=2)
    r1 = a.route(5, 2, 2, 64, 4, sequences=2)
    r2 = b.route(5, 2, 2, 64, 4, sequences=2)
    assert r1.counts == r2.counts and np.array_equal(r1.assignment, r2.assignment)
    assert sum(r1.counts) == 8 and all(len(set(row)) == 4 for row in r1.assignment)


def test_synthetic_routing_through_the_generator():
    ops = step_ops("mixtral-8x7b", "decode", 4, 16, 3, routing="synthetic", seed=2)
    experts = [o for o in ops if o.kind == "expert_linear" and o.layer == 0 and o.name.endswith("down_proj")]
    assert sum(o.shape.m for o in experts) == 4 * 2
    assert get_routing("synthetic").name == "synthetic"


@needs_shared
def test_trace_replay_through_the_generator_and_mismatch_errors():
    src = f"trace:{SHARED / 'qwen.route.csv'}"
    ops = step_ops("qwen3-30b-a3b", "decode", 1, 16, 1, routing=src)
    layer0 = [o for o in ops if o.kind == "expert_linear" and o.layer == 0 and o.name.endswith("down_proj")]
    tr = load_route_trace(SHARED / "qwen.route.csv")
    assert sorted(o.expert for o in layer0) == sorted(tr.decode[0, 0].tolist())  # the trace's top-6
    with pytest.raises(RoutingTraceError, match="48 MoE layers over 128 experts, but mixtral-8x7b has 32"):
        step_ops("mixtral-8x7b", "decode", 1, 16, 1, routing=src)
    with pytest.raises(RoutingTraceError, match="has no MoE layers"):
        TraceRouting(tr).bind(__import__("sim.workload.models", fromlist=["load_model"]).load_model("gpt2"))


def test_a_missing_or_malformed_trace_is_a_clear_error(tmp_path):
    with pytest.raises(RoutingTraceError, match="not found"):
        load_route_trace(tmp_path / "nope.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("# route_trace v1\nturn,phase,step\n0,0,0\n")
    with pytest.raises(RoutingTraceError, match="column header"):
        load_route_trace(bad)
