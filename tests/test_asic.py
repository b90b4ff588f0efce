"""The PIM-GPT ASIC: function-unit operation counts against their closed forms, time and energy formulas."""

import math

import pytest

from sim.config import load_hw
from sim.devices.asic import AsicModel
from sim.devices.asic_ops import FunctionCounts, Ops, exp_terms, newton_iterations, unit_roundoff
from sim.devices.registry import build_device
from sim.workload.conventions import get_conventions
from sim.workload.generator import step_ops


@pytest.mark.parametrize("dtype,mantissa", [("bf16", 7), ("fp16", 10), ("fp32", 23)])
def test_series_length_and_iterations_are_the_smallest_that_reach_the_unit_roundoff(dtype, mantissa):
    u = 2.0 ** -(mantissa + 1)
    assert unit_roundoff(dtype) == u
    n = exp_terms(dtype)
    assert math.log(2) ** (n + 1) / math.factorial(n + 1) <= u < math.log(2) ** n / math.factorial(n)
    i = newton_iterations(1 / 17, dtype)
    assert (1 / 17) ** (2**i) <= u < (1 / 17) ** (2 ** (i - 1))  # each step squares the error
    j = newton_iterations(0.0342, dtype, factor=1.5)
    e = 0.0342
    for _ in range(j - 1):
        e = 1.5 * e * e
    assert e > u and 1.5 * e * e <= u


def test_bf16_counts_match_the_documented_table():
    f = FunctionCounts.for_dtype("bf16")
    assert (f.exp_terms, f.reciprocal_iterations, f.rsqrt_iterations) == (4, 1, 1)
    n, i, j = 4, 1, 1
    exp = Ops(n + 3, n + 2)
    rec = Ops(4 + i, 1 + 2 * i)
    rsq = Ops(2 + j, 1 + 3 * j)
    assert f.exp == exp and f.reciprocal == rec and f.rsqrt == rsq
    assert f.tanh == Ops(3 + exp.add + rec.add, 2 + exp.mul + rec.mul)
    assert f.softmax_element == Ops(3 + exp.add, 1 + exp.mul)
    assert f.softmax_row == rec
    assert f.layernorm_element == Ops(4, 3)
    assert f.layernorm_row == Ops(1 + rsq.add, 2 + rsq.mul)
    assert f.gelu_element == Ops(2 + f.tanh.add, 6 + f.tanh.mul)
    assert FunctionCounts.partial_sums(100, 4, bias=True) == Ops(100 * 4, 0)
    assert FunctionCounts.partial_sums(100, 1, bias=False) == Ops(0, 0)


def test_overrides_replace_the_derived_counts():
    f = FunctionCounts.for_dtype("bf16", exp_terms_=7, reciprocal_iterations=3, rsqrt_iterations=2)
    assert f.exp == Ops(10, 9) and f.reciprocal == Ops(7, 7) and f.rsqrt == Ops(4, 7)


def _asic(*overrides):
    return build_device(load_hw("pim-gpt-asic", list(overrides)), "asic")


def _decode_op(kind, model="gpt2"):
    return next(o for o in step_ops(model, "decode", 1, 64, 1) if o.kind == kind)


def test_the_preset_builds_the_asic_model_with_derived_peak_and_sram_levels():
    a = _asic()
    assert isinstance(a, AsicModel)
    raw = a.raw
    assert a.config.peak("bf16") == raw.lanes * raw.clock
    assert [lvl.name for lvl in a.config.memory] == [b.name for b in raw.sram]
    assert a.fit_error(1e12, 1e12) is None  # the ASIC stores no weights


@pytest.mark.parametrize("kind", ["softmax", "norm", "activation", "elementwise"])
def test_time_is_cycles_over_clock_and_energy_is_the_sum_of_its_parts(kind):
    a = _asic()
    raw = a.raw
    conv = get_conventions("default")
    op = _decode_op(kind)
    w = a.op_work(op, conv)
    assert w.time_s == pytest.approx(w.cycles / raw.clock)
    vec = raw.buffer("vector")
    assert w.energy_J["asic_compute"] == pytest.approx(w.ops.add * raw.add_energy + w.ops.mul * raw.mul_energy)
    assert w.energy_J["sram"] > 0 and w.energy_J["sram"] < w.energy_J["asic_compute"] * 10
    cost = a.cost(op, conv)
    assert cost.energy_J == w.energy_J and cost.time_s == w.time_s
    assert sum(cost.energy_J.values()) == pytest.approx(w.energy_J["asic_compute"] + w.energy_J["sram"])
    assert vec.read_energy > 0


def test_softmax_cycles_follow_the_closed_form():
    a = _asic()
    raw = a.raw
    f = a.fn
    op = _decode_op("softmax")
    rows = op.heads
    n = op.shape.elements
    length = n / rows
    ops = f.softmax_element.scaled(n) + f.softmax_row.scaled(rows)
    chain = 2 * math.ceil(math.log2(min(length, raw.lanes))) + f.softmax_row.total
    want = math.ceil(ops.total / raw.lanes) + chain * raw.scalar_latency
    assert a.op_work(op, get_conventions("default")).cycles == want
    assert rows == 12 and length == 65  # gpt2: 12 heads over 64 prompt tokens + the new one


def test_gelu_is_recognised_from_the_conventions():
    a = _asic()
    op = _decode_op("activation")
    w = a.op_work(op, get_conventions("default"))
    assert w.ops == a.fn.gelu_element.scaled(op.shape.elements)


def test_a_ten_times_slower_clock_makes_asic_ops_ten_times_slower():
    fast, slow = _asic(), _asic("clock=100MHz")
    conv = get_conventions("default")
    for kind in ("softmax", "norm", "activation"):
        op = _decode_op(kind)
        assert slow.cost(op, conv).time_s == pytest.approx(10 * fast.cost(op, conv).time_s)
        assert slow.cost(op, conv).energy_J == fast.cost(op, conv).energy_J


def test_partial_sum_reduction():
    a = _asic()
    r = a.reduction(1600, 2, bias=True)
    assert r.ops == Ops(1600 * 2, 0)
    assert r.cycles == math.ceil(3200 / a.raw.lanes) + 1 * a.raw.scalar_latency
    assert r.energy_J["sram"] == pytest.approx(16 * (1600 * 3 * a.raw.buffer("psum").read_energy
                                                     + 1600 * a.raw.buffer("psum").write_energy))


def test_a_row_that_does_not_fit_the_vector_buffer_is_refused():
    from sim.placement.base import PlacementError

    a = _asic("sram.0.capacity=64B")
    with pytest.raises(PlacementError, match=r"does not fit the ASIC's vector_buffer .* too large"):
        a.cost(_decode_op("norm"), get_conventions("default"))


def test_a_generic_asic_without_the_pim_gpt_keys_keeps_the_hierarchy_model(tmp_path):
    from engine_fixtures import toy_files

    from sim.devices.hierarchy import HierarchyModel

    f = toy_files(tmp_path)
    dev = build_device(load_hw(str(f["fp64"])))
    assert type(dev) is HierarchyModel


def test_the_asic_schema_is_picked_by_type_and_key_and_refuses_derived_keys():
    from sim.config.accelerators import AsicDeviceConfig
    from sim.errors import ConfigError

    assert isinstance(load_hw("pim-gpt-asic"), AsicDeviceConfig)
    with pytest.raises(ConfigError, match="derived by its model"):
        load_hw("pim-gpt-asic", ["compute.bf16=1TFLOPS"])
    with pytest.raises(ConfigError, match="role 'vector'"):
        load_hw("pim-gpt-asic", ["sram.0.role=io"])
