"""The expert-parallel all-to-all share (sim/validation/ep_share.py, docs/interconnect.md)."""

from __future__ import annotations

import pytest

from sim.validation.ep_share import measure
from sim.workload.parallel import ParallelError


def test_balanced_routing_has_no_waiting_and_the_share_grows_with_tokens():
    small = measure(tp=1, batch=8, prompt=128, layers=2)
    base = measure(tp=1, batch=8, prompt=512, layers=2)
    assert base.transfer == pytest.approx(base.profiled)  # every rank arrives at once
    assert base.imbalance == pytest.approx(1.0)
    assert 0.44 < base.transfer < 0.54
    # the all-to-all is linear in tokens; the experts' GEMMs get more efficient: the share grows
    assert small.transfer < base.transfer
    # direct all-to-all of 512 x 8 tokens x 2048 x 2 B per rank: 7 x 2 x 936.25 ns + 7/8 of it at 400 GB/s
    n = 512 * 8 * 2048 * 2
    assert base.a2a_call_s == pytest.approx(7 * 2 * 936.25e-9 + 7 / 8 * n / 400e9, rel=1e-3)


def test_h800_links_carry_half_the_bandwidth_and_raise_the_share():
    """hgx-h800: H100 compute, 200 GB/s each way (the configuration docs/interconnect.md states for the 59 %)."""
    h100 = measure(tp=1, batch=8, prompt=512, layers=2)
    h800 = measure(system="hgx-h800", tp=1, batch=8, prompt=512, layers=2)
    n = 512 * 8 * 2048 * 2
    assert h800.a2a_call_s == pytest.approx(7 * 2 * 936.25e-9 + 7 / 8 * n / 200e9, rel=1e-3)
    # same GPUs, so the layer grows by exactly the extra all-to-all time (two per layer)
    assert h800.moe_layer_s - h100.moe_layer_s == pytest.approx(2 * (h800.a2a_call_s - h100.a2a_call_s), rel=1e-6)
    assert h100.transfer < h800.transfer
    assert 0.55 < h800.transfer < 0.68


def test_real_routing_makes_ranks_wait_inside_the_all_to_all():
    s = measure(tp=1, batch=8, prompt=512, layers=4, routing="synthetic")
    assert s.imbalance > 1.2  # the busiest GPU holds more expert work than the mean
    assert s.profiled > s.transfer + 0.05  # a profiler books the wait for the busiest rank as all-to-all time


def test_a_model_without_experts_is_a_clear_error():
    with pytest.raises(ParallelError, match="needs an MoE model"):
        measure(model="llama-2-7b", tp=1, ep=8, layers=1)
