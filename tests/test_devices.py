"""Device models: the tiling search, GPU/CPU cost terms, row-parallel kernels, cycle-level DRAM time."""

import math

import numpy as np
import pytest
from engine_fixtures import gemm, pointwise, toy_files, write
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.config import load_hw
from sim.devices import tiling
from sim.devices.kernels import launches_kernel
from sim.devices.registry import build_device
from sim.workload.conventions import get_conventions
from sim.workload.generator import step_ops

CONV = get_conventions("default")
EVERY = CONV.with_(act_traffic="every_op")


def test_traffic_formula_and_best_tile_respects_capacity():
    s = tiling.GemmShape(256, 512, 1024, 1, 2, 2, 2)
    assert tiling.traffic_into(s, 256, 512) == s.compulsory_bytes
    assert tiling.traffic_into(s, 64, 128) == 256 * 1024 * 2 * 4 + 1024 * 512 * 2 * 4 + 256 * 512 * 2
    cap = 64 * 1024
    t = tiling.best_tile(s, cap, (16, 32, 64, 128, 256), 32, 2, 4)
    assert tiling.footprint(s, np.array([t.tm]), np.array([t.tn]), 32, 2, 4)[0] <= cap
    # no other fitting candidate moves fewer bytes
    for tm in (16, 32, 64, 128, 256):
        for tn in (16, 32, 64, 128, 256):
            if tiling.footprint(s, np.array([tm]), np.array([tn]), 32, 2, 4)[0] <= cap:
                assert tiling.traffic_into(s, tm, tn) >= t.traffic
    huge = tiling.best_tile(s, 1e12)
    assert huge.traffic == s.compulsory_bytes


def test_split_k_candidates_count_partial_sums():
    s = tiling.GemmShape(16, 64, 4096, 1, 2, 2, 2)
    c = tiling.core_candidates(s, 1e9, (16, 64), (1, 4), 32, 2, 4)
    one = (c.tm == 16) & (c.tn == 64) & (c.split == 1)
    four = (c.tm == 16) & (c.tn == 64) & (c.split == 4)
    assert c.tiles[four][0] == 4 * c.tiles[one][0]
    assert c.traffic_in[four][0] - c.traffic_in[one][0] == 3 * 2 * 16 * 64 * 4


def test_gpu_waves_quantize_compute(tmp_path):
    dev = build_device(load_hw(str(toy_files(tmp_path)["gpu"])))
    # 4 cores: 4 tiles of 256x256 take one wave, 5 tiles take two
    c4 = dev.cost(gemm(0, "a", 256, 1024, 8192), CONV)
    c5 = dev.cost(gemm(0, "b", 256, 1280, 8192), CONV)
    assert c4.detail["waves"] < c5.detail["waves"] or c5.compute_s / c4.compute_s > 1.25 * 0.99
    assert c5.compute_s >= 1280 / 1024 * c4.compute_s * 0.999


def test_vector_ops_use_the_vector_peak():
    cfg = load_hw("a100-80gb")
    dev = build_device(cfg)
    op = pointwise(0, "add", 1 << 20, kind="elementwise")
    assert dev.peak(op, "fp16") == cfg.vector_compute["fp16"]
    assert dev.peak(gemm(0, "g", 64, 64, 64), "fp16") == cfg.compute["fp16"]


def test_cpu_active_cores_scale_compute_and_per_core_bandwidth_caps_dram(tmp_path):
    path = str(toy_files(tmp_path)["cpu"])
    full = build_device(load_hw(path))
    half = build_device(load_hw(path, ["active_cores=4", "per_core_bandwidth='5 GB/s'"]))
    big = gemm(0, "g", 512, 512, 512)
    assert half.compute_peak(big, "fp32") == pytest.approx(full.compute_peak(big, "fp32") / 2)
    assert half.dram_bandwidth() == pytest.approx(20e9)
    gemv = gemm(0, "v", 1, 4096, 4096)
    assert half.cost(gemv, CONV).level_s["ddr"] == pytest.approx(full.cost(gemv, CONV).level_s["ddr"] * 5)


def test_row_parallel_kernels_use_only_their_rows():
    dev = build_device(load_hw("a100-80gb"))
    one = pointwise(0, "n", 4096, kind="norm")
    one.tokens = 1
    many = pointwise(0, "n", 4096, kind="norm")
    many.tokens = 4
    t1 = dev.cost(one, EVERY).level_s["hbm"]
    t4 = dev.cost(many, EVERY).level_s["hbm"]
    assert t1 == pytest.approx(4 * t4)


@pytest.mark.parametrize("name", ["a100-40gb", "a100-80gb", "h100-sxm"])
def test_gpu_presets_keep_their_register_tile(name):
    """A second ``tiling:`` key in a preset would silently replace the first (registers back to 0)."""
    assert load_hw(name).tiling.registers == 32 * 1024


def test_compute_efficiency_is_read_at_one_work_items_flops():
    """Equal FLOPs in total, deeper K per tile: the deep tile's main loop runs closer to peak (h100 curve)."""
    from sim.devices import efficiency as eff

    cfg = load_hw("h100-sxm")
    dev = build_device(cfg)
    deep = dev.cost(gemm(0, "deep", 1024, 4096, 11008), EVERY)  # the down projection at 1024 tokens
    shallow = dev.cost(gemm(0, "shallow", 1024, 11008, 4096), EVERY)  # same FLOPs, K = 4096
    assert deep.detail["tile_flops"] > 2 * shallow.detail["tile_flops"]
    knots, _ = eff.kind_curves(cfg, "gemm")
    assert eff.interpolate(knots, deep.detail["tile_flops"]) > eff.interpolate(knots, shallow.detail["tile_flops"])


def _act(elements: int, tokens: int):
    op = pointwise(0, "act", elements, kind="activation")
    op.tokens = tokens
    return op


def test_row_parallel_latency_floor_counts_steps_per_row_and_waves():
    cfg = load_hw("h100-sxm")
    dev = build_device(cfg)
    per = cfg.kernel_efficiency["activation"]
    lat = cfg.main_memory.latency
    assert per.block_threads == 1024 and per.blocks_per_core == 2
    # one row of 11008 elements: 11 dependent steps of 1024 threads, whatever the bytes
    c = dev.cost(_act(11008, 1), EVERY)
    assert c.detail["row_latency_s"] == pytest.approx(11 * lat)
    assert c.level_s["hbm"] >= 11 * lat
    # half the row: 6 steps; the floor is not proportional to the bytes (11 vs 6 steps for 2x bytes)
    assert dev.cost(_act(5504, 1), EVERY).detail["row_latency_s"] == pytest.approx(6 * lat)
    # up to cores x blocks_per_core rows run at once; one more row adds a wave
    full = 132 * 2
    assert dev.cost(_act(11008 * full, full), EVERY).detail["row_latency_s"] == pytest.approx(11 * lat)
    assert dev.cost(_act(11008 * (full + 1), full + 1), EVERY).detail["row_latency_s"] == pytest.approx(22 * lat)
    # many rows: bandwidth-bound again (the floor no longer decides)
    big = dev.cost(_act(11008 * 4096, 4096), EVERY)
    assert big.level_s["hbm"] == pytest.approx(big.detail["dram_bandwidth_s"])
    assert big.detail["dram_bandwidth_s"] > big.detail["row_latency_s"]


def test_fused_pointwise_ops_launch_no_kernel():
    ops = step_ops("llama-2-7b", "decode", 1, 16)
    kinds = {o.kind: launches_kernel(o, CONV) for o in ops}
    assert kinds["linear"] and kinds["attn_score"] and kinds["kv_write"]
    assert not kinds["norm"] and not kinds["attn_context"] and not kinds["activation"]
    assert all(launches_kernel(o, EVERY) for o in ops)


def test_costs_are_memoised_by_signature():
    dev = build_device(load_hw("a100-80gb"))
    ops = [o for o in step_ops("llama-2-7b", "decode", 1, 16) if o.name.endswith("q_proj")]
    assert len(ops) == 32
    assert len({id(dev.cost(o, CONV)) for o in ops}) == 1


@settings(max_examples=60, deadline=None)
@given(m=st.integers(1, 4096), n=st.integers(1, 16384), k=st.integers(1, 16384), count=st.integers(1, 64))
def test_attained_never_exceeds_ceiling_for_any_gemm(m, n, k, count):
    dev = _A100
    op = gemm(0, "g", m, n, k)
    op.shape = type(op.shape)(m=m, n=n, k=k, count=count)
    op.flops = 2 * m * n * k * count
    c = dev.cost(op, CONV)
    assert op.flops / c.time_s <= c.ceiling_flops_per_s * (1 + 1e-9)
    for lvl in dev.config.memory:
        assert c.level_bytes[lvl.name] / c.time_s <= lvl.bandwidth * (1 + 1e-9)
    names = [lvl.name for lvl in dev.config.memory]
    for inner, outer in zip(names, names[1:], strict=False):
        assert c.level_bytes[inner] >= c.level_bytes[outer]


_A100 = build_device(load_hw("a100-80gb"))


def _engine_available(spec_ref: str) -> bool:
    try:
        from sim.dram.configs import load_memory
        from sim.dram.engine import simulate

        spec = load_memory(spec_ref)
        simulate(
            spec, np.zeros(2, dtype=np.int64), np.arange(2, dtype=np.uint64) * 64, np.zeros(2, dtype=bool)
        )
        return True
    except (ImportError, Exception):  # the DRAM engine is being built beside this issue
        return False


def test_cycle_fidelity_runs_the_op_stream_through_the_dram_engine(tmp_path):
    mem = write(
        tmp_path,
        "hbm2e-r2.yaml",
        "kind: memory\nextends: hbm2e\nname: hbm2e-r2\ncontroller: {compat: ramulator2}\n",
    )
    if not _engine_available(str(mem)):
        pytest.skip("the DRAM engine cannot simulate this preset yet")
    cfg = load_hw("a100-80gb", [f"memory.2.memory={mem}", "memory.2.fidelity=cycle"])
    cyc = build_device(cfg)
    ana = build_device(load_hw("a100-80gb"))
    op = gemm(0, "gemv", 1, 4096, 4096)
    c, a = cyc.cost(op, CONV), ana.cost(op, CONV)
    assert c.detail["dram_cycle_s"] > 0
    # never faster than the peak bandwidth allows
    assert c.level_s["hbm"] >= op.bytes / cfg.main_memory.bandwidth * (1 - 1e-12)
    assert math.isfinite(c.time_s) and c.time_s != a.time_s
