"""Planning: every point resolved and validated before work starts, run ids from the resolved config."""

import pytest

from sim.config import load_hw
from sim.errors import PimsimError
from sim.sweep.keys import canonical_key, key_dimension, suggest
from sim.sweep.plan import plan_sweep
from sim.sweep.spec import SweepSpec

SMALL = {"model": "gpt2", "prompt": 8, "generate": 1}


def plan(**grid):
    return plan_sweep(SweepSpec(hw="a100-80gb", workload=dict(SMALL), grid=grid))


def test_points_carry_validated_configs_in_si_units():
    p = plan(**{"memory.2.bandwidth": ["1 TB/s", "2TB/s"], "clock": ["1 GHz"]})
    assert [pt.config.main_memory.bandwidth for pt in p.points] == [1e12, 2e12]
    assert [pt.columns["memory.2.bandwidth"] for pt in p.points] == [1e12, 2e12]
    assert p.points[0].config.clock == 1e9
    assert p.points[0].overrides == ("memory.2.bandwidth=1 TB/s", "clock=1 GHz")


def test_overrides_rebuild_the_same_config():
    pt = plan(**{"memory.hbm.bandwidth": ["3 TB/s"]}).points[0]
    assert load_hw(pt.hw, pt.overrides) == pt.config


def test_list_items_by_name():
    data = {"memory": [{"name": "l1"}, {"name": "hbm"}]}
    assert canonical_key(data, "memory.hbm.bandwidth") == "memory.1.bandwidth"
    assert canonical_key(data, "memory.0.bandwidth") == "memory.0.bandwidth"
    a = plan(**{"memory.hbm.bandwidth": ["3 TB/s"]}).points[0]
    b = plan(**{"memory.2.bandwidth": ["3 TB/s"]}).points[0]
    assert a.run_id == b.run_id


def test_run_ids_are_stable_and_change_with_any_input():
    ids = plan(**{"workload.batch": [1, 2]}).run_ids
    assert ids == plan(**{"workload.batch": [1, 2]}).run_ids
    assert len(set(ids)) == 2
    other_hw = plan_sweep(
        SweepSpec(hw="a100-40gb", workload=dict(SMALL), grid={"workload.batch": [1, 2]})
    ).run_ids
    assert not set(ids) & set(other_hw)
    fixed = plan_sweep(
        SweepSpec(
            hw="a100-80gb",
            workload=dict(SMALL),
            overrides=["power.static=60 W"],
            grid={"workload.batch": [1, 2]},
        )
    ).run_ids
    assert not set(ids) & set(fixed)


def test_identical_points_run_once():
    p = plan(**{"memory.2.bandwidth": ["2 TB/s", "2000 GB/s", "1 TB/s"]})
    assert len(p.points) == 2 and p.duplicates == [(1, 0)]


def test_hw_and_workload_keys():
    p = plan(**{"hw": ["a100-80gb", "h100-sxm"], "workload.model": ["gpt2", "gpt2-medium"]})
    assert [(pt.config.name, pt.model.name) for pt in p.points] == [
        ("a100-80gb", "gpt2"),
        ("a100-80gb", "gpt2-medium"),
        ("h100-sxm", "gpt2"),
        ("h100-sxm", "gpt2-medium"),
    ]


def test_a_new_dict_entry_that_the_schema_accepts_is_a_valid_key():
    pt = plan(**{"compute.fp8": ["600 TFLOPS"]}).points[0]
    assert pt.config.compute["fp8"] == 6e14


@pytest.mark.parametrize(
    "grid,message",
    [
        ({"memory.2.bandwith": ["1 TB/s"]}, "did you mean memory.2.bandwidth"),
        ({"memory.hbm.bandwith": ["1 TB/s"]}, "did you mean memory.2.bandwidth"),
        ({"memory.9.bandwidth": ["1 TB/s"]}, "unknown key 'memory.9.bandwidth'"),
        ({"compute.fp17": ["1 TFLOPS"]}, "did you mean compute.fp16"),
        ({"batch": [1]}, "did you mean workload.batch"),
        ({"workload.bach": [1]}, "did you mean workload.batch"),
        ({"memory.2.bandwidth": ["1 TB"]}, "is a size; expected a bandwidth"),
        ({"memory.2.bandwidth": [1000]}, "bare number has no unit"),
        ({"cores": ["many"]}, "valid integer"),
        ({"workload.batch": [0]}, "at least 1"),
        ({"workload.batch": [1.5]}, "whole number"),
        ({"workload.dtype": ["fp12"]}, "unknown datatype"),
        ({"workload.model": ["gpt5"]}, "unknown model"),
        ({"hw": ["h100-sx"]}, "did you mean h100-sxm"),
        ({"hw": ["nvlink3"]}, "cannot simulate a link"),
    ],
)
def test_bad_input_is_one_clear_error(grid, message):
    with pytest.raises(PimsimError, match=message):
        plan(**grid)


def test_suggest_and_dimensions():
    from sim.config.hardware import DeviceConfig

    keys = ["memory.0.bandwidth", "memory.2.bandwidth", "compute.fp16", "power.static"]
    assert suggest("memory.2.bandwith", keys)[0] == "memory.2.bandwidth"
    assert suggest("power.statik", keys) == ["power.static"]
    assert key_dimension(DeviceConfig, "memory.hbm.bandwidth") == "bandwidth"
    assert key_dimension(DeviceConfig, "compute.fp16") == "compute"
    assert key_dimension(DeviceConfig, "cores") is None
