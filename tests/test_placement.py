"""Placement policies: single, PIM-GPT, attention offload, user rules; their errors."""

import pytest
from engine_fixtures import gemm, pointwise, toy_files

from sim.config import load_hw
from sim.errors import ConfigError
from sim.placement.registry import POLICIES, build_policy
from sim.workload.generator import step_ops


@pytest.fixture()
def devices(tmp_path):
    f = toy_files(tmp_path)
    return {"gpu": load_hw(str(f["gpu"])), "cpu": load_hw(str(f["cpu"])), "pim": load_hw(str(f["pim"]))}


def test_registry_lists_the_policies():
    assert {"single", "pim-gpt", "attention-offload", "rules"} <= set(POLICIES)


def test_single_puts_everything_on_one_device(devices):
    p = build_policy("single", devices, "gpu", {"device": "cpu"})
    assert {p.place(o).device for o in step_ops("gpt2", "decode", 1, 8)} == {"cpu"}
    assert build_policy("single", devices, "gpu").place(gemm(0, "x", 1, 8, 8)).device == "gpu"


def test_pim_gpt_sends_gemvs_to_pim_and_the_rest_to_the_host(devices):
    p = build_policy("pim-gpt", devices, "gpu", {"host": "cpu"})
    decode = step_ops("gpt2", "decode", 1, 8)
    for o in decode:
        want = "pim" if o.kind in ("linear", "attn_score", "attn_context", "lm_head") else "cpu"
        assert p.place(o).device == want, o.name
    prefill_linear = next(o for o in step_ops("gpt2", "prefill", 1, 64) if o.kind == "linear")
    assert p.place(prefill_linear).device == "cpu"


def test_attention_offload_moves_the_decode_attention_core(devices):
    p = build_policy("attention-offload", devices, "gpu", {})
    for o in step_ops("gpt2", "decode", 1, 8):
        core = o.kind in ("attn_score", "softmax", "attn_context", "kv_write")
        assert p.place(o).device == ("pim" if core else "gpu"), o.name
    assert {p.place(o).device for o in step_ops("gpt2", "prefill", 1, 8)} == {"gpu"}


def test_rules_first_match_wins(devices):
    opts = {
        "default": "gpu",
        "rules": [
            {"kind": ["attn_score", "attn_context"], "phase": "decode", "device": "pim"},
            {"name": "layer*.mlp.*", "layers": "0-1", "device": "cpu", "stream": 1},
            {"name": "layer*.mlp.*", "device": "pim"},
        ],
    }
    p = build_policy("rules", devices, "gpu", opts)
    ops = {o.name: o for o in step_ops("gpt2", "decode", 1, 8)}
    assert p.place(ops["layer0.attn.score"]).device == "pim"
    assert p.place(ops["layer1.mlp.fc1"]).device == "cpu"
    assert p.place(ops["layer1.mlp.fc1"]).stream == 1
    assert p.place(ops["layer5.mlp.fc1"]).device == "pim"
    assert p.place(ops["layer5.attn.q_proj"]).device == "gpu"


@pytest.mark.parametrize(
    "name,opts,match",
    [
        ("nope", {}, "unknown placement policy"),
        ("single", {"device": "tpu"}, "unknown device 'tpu'"),
        ("single", {"bogus": 1}, "unknown option"),
        ("rules", {"rules": [{"kind": "linear"}]}, "needs a `device`"),
        ("rules", {"rules": [{"kind": "conv", "device": "gpu"}]}, "unknown op kind"),
        ("rules", {"rules": [{"color": "red", "device": "gpu"}]}, "unknown rule key"),
        ("rules", {"rules": [{"layers": "x-y", "device": "gpu"}]}, "bad layers"),
        ("attention-offload", {"phases": ["training"]}, "bad option"),
    ],
)
def test_bad_policies_are_config_errors(devices, name, opts, match):
    with pytest.raises(ConfigError, match=match):
        build_policy(name, devices, "gpu", opts)


def test_policy_without_a_device_of_the_needed_type_says_so(devices):
    no_pim = {k: v for k, v in devices.items() if k != "pim"}
    with pytest.raises(ConfigError, match="needs a device of type pim"):
        build_policy("pim-gpt", no_pim, "gpu", {})


def test_group_names_resolve_to_instance_zero(devices):
    inst = {"gpu[0]": devices["gpu"], "gpu[1]": devices["gpu"]}
    p = build_policy("single", inst, "gpu[0]", {"device": "gpu"})
    assert p.place(pointwise(0, "x", 4)).device == "gpu[0]"
