"""PIM-GPT at system level: `pimsim run --hw pim-gpt` JSON, energy = sum of parts, memoisation, prompts,
channel scaling, the ASIC clock, bad input (exit status 2)."""

import json

import pytest

from sim.cli import main
from sim.config import load_hw
from sim.devices.pim import PimModel
from sim.devices.registry import build_device
from sim.engine.replay import run_system
from sim.engine.system import load_system
from sim.pim import api
from sim.workload.conventions import get_conventions
from sim.workload.generator import step_ops

PIM_KEYS = ("latency_s", "per_token_latency_s", "energy_J", "energy_breakdown_J", "row_hit_rate", "offchip_bytes",
            "non_gemv_time_fraction")


def run_json(capsys, *args):
    assert main(["run", "--hw", "pim-gpt", "--json", "--no-chart", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_run_json_has_the_pim_keys_and_energy_is_the_sum_of_its_parts(capsys):
    d = run_json(capsys, "--model", "gpt2", "--prompt", "4", "--generate", "2")
    for k in PIM_KEYS:
        assert k in d, k
    bd = d["energy_breakdown_J"]
    for comp in ("activate", "mac", "io", "refresh", "background", "asic_compute", "sram", "static"):
        assert bd[comp] > 0, comp
    assert d["energy_J"] == pytest.approx(sum(bd.values()))
    assert d["energy_J"] == pytest.approx(sum(d["breakdown"].values()))
    assert 0.5 < d["row_hit_rate"] <= 1
    assert d["offchip_bytes"] > 0
    assert 0 < d["non_gemv_time_fraction"] < 1
    assert d["per_token_latency_s"] == pytest.approx(d["tbt_s"])
    assert set(d["devices"]) == {"pim", "asic"}
    # everything printed today is still there
    for k in ("ttft_s", "tbt_s", "breakdown", "phases", "devices", "layers", "kinds_time_s"):
        assert k in d


def test_text_output_has_the_pim_table(capsys):
    assert main(["run", "--hw", "pim-gpt", "--model", "gpt2", "--prompt", "2", "--generate", "1", "--no-chart"]) == 0
    out = capsys.readouterr().out
    assert "row-hit rate" in out and "off-chip I/O" in out and "time outside GEMV work" in out


def _pim():
    return build_device(load_hw("pim-gpt-chips"), "pim")


def test_op_energy_is_the_pim_api_total_plus_the_asic_share():
    system = load_system("pim-gpt")
    pim = system.devices["pim"].model
    conv = get_conventions("default")
    op = next(o for o in step_ops("gpt2", "decode", 1, 8, 1, dtypes="bf16") if o.name == "layer0.mlp.fc2")
    cost = pim.cost(op, conv)
    c = api.gemv_cost(pim.spec, op.shape.n, op.shape.k, mapping=pim.mapping)
    asic = sum(cost.energy_J.get(k, 0.0) for k in ("asic_compute", "sram"))
    assert asic > 0
    # the precharged standby moves to the device's static power (drawn over the whole run)
    standby = pim.spec.units * pim.spec.pim.energy.standby_precharged_W
    assert pim.config.power.static == pytest.approx(standby)
    assert sum(cost.energy_J.values()) == pytest.approx(c.energy_J["total"] - standby * c.seconds + asic)
    assert 0 <= cost.energy_J["background"] < c.energy_J["background"]
    assert cost.counters["row_hits"] == c.row_hits and cost.counters["offchip_bytes"] == c.offchip_bytes
    assert cost.time_s >= c.seconds


def test_identical_gemvs_are_simulated_once_and_attention_once_per_length():
    api.clear_cache()
    system = load_system("pim-gpt")
    run_system(system, "gpt2", 1, 3, 3, dtypes=None)
    gemvs = api._gemv.cache_info()
    # gpt2: 768x768 (q, k, v, o), 3072x768, 768x3072, 50257x768, over 12 layers x 7 steps (3 prompt tokens)
    assert gemvs.misses == 4
    att = api._attention.cache_info()
    # score and context for kv_len 1, 2, 3 (prompt, token by token) then 4, 5, 6 (decode)
    assert att.misses == 2 * 6
    assert isinstance(system.devices["pim"].model, PimModel)


def test_the_prompt_runs_token_by_token_or_is_refused(capsys):
    pim = _pim()
    conv = get_conventions("default")
    ops = step_ops("gpt2", "prefill", 1, 4, dtypes="bf16")
    fc1 = next(o for o in ops if o.name == "layer0.mlp.fc1")
    one = next(o for o in step_ops("gpt2", "decode", 1, 4, 1, dtypes="bf16") if o.name == "layer0.mlp.fc1")
    assert pim.cost(fc1, conv).time_s == pytest.approx(4 * pim.cost(one, conv).time_s)
    assert main(["run", "--hw", "pim-gpt", "--model", "gpt2", "--prompt", "4", "--generate", "1", "--no-chart",
                 "--set", "pim.prefill=reject"]) == 2
    assert "token-by-token" in capsys.readouterr().err


def _decode(*overrides, model="gpt2"):
    r = run_system(load_system("pim-gpt", list(overrides)), model, 1, 2, 3, dtypes=None)
    return r, r.pim_metrics()


def test_channel_scaling_is_near_linear():
    times = {}
    for ch in (4, 8, 16):
        r, m = _decode(f"pim.channels={ch}")
        times[ch] = (r.tbt_s, m["gemv_time_s"])
    for lo, hi in ((4, 8), (8, 16)):
        gemv_speedup = times[lo][1] / times[hi][1]
        token_speedup = times[lo][0] / times[hi][0]
        assert 1.6 < gemv_speedup <= 2.05, (lo, hi, gemv_speedup)
        assert 1.3 < token_speedup <= 2.05, (lo, hi, token_speedup)


def test_a_ten_times_slower_asic_slows_only_its_own_share():
    r1, m1 = _decode()
    r2, m2 = _decode("asic.clock=100MHz")
    slowdown = r2.latency_s / r1.latency_s
    asic_share = (m1["asic_time_fraction"] * r1.latency_s + m1["asic_exposed_reduction_s"]) / r1.latency_s
    # only ASIC work scales (x10): the slowdown is bounded by 1 + 9 x the ASIC's share at 1 GHz
    assert 1.0 < slowdown <= 1 + 9 * asic_share + 1e-9
    assert m2["gemv_time_s"] == pytest.approx(m1["gemv_time_s"])


@pytest.mark.parametrize("args,message", [
    (["--model", "gpt2-xl", "--set", "pim.channels=1"], "does not fit"),
    (["--set", 'pim.pim_set=["pim.buffer=64B"]'], "buffer entries but the buffer holds"),
    (["--generate", "4", "--set", "pim.mapping.kv_capacity=4"], "exceeds the reserved KV capacity of 4 tokens by"),
    (["--set", "pim.mapping.bogus=1"], "bad mapping option"),
    (["--set", "pim.banks_per_channel=6"], "not a multiple of the 4 bank groups"),
    (["--dtype", "fp32"], "no fp32 arithmetic"),
])
def test_bad_input_is_one_clear_message_and_exit_status_2(capsys, args, message):
    argv = ["run", "--hw", "pim-gpt", "--model", "gpt2", "--prompt", "2", "--generate", "2", "--no-chart", *args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_the_capacity_message_names_the_excess(capsys):
    assert main(["run", "--hw", "pim-gpt", "--model", "gpt2-xl", "--prompt", "2", "--generate", "1", "--no-chart",
                 "--set", "pim.channels=1"]) == 2
    err = capsys.readouterr().err
    assert "weights" in err and "KV cache" in err and "too much" in err


def test_an_unknown_command_in_a_pim_command_trace_names_the_line(tmp_path):
    from sim.errors import PimsimError

    spec = api.load_pim("pim-gpt-gddr6")
    f = tmp_path / "t.csv"
    f.write_text("order,command,channel,bank,row,column\n0,ACT16,0,all,5,-1\n1,FROB,0,all,5,0\n")
    with pytest.raises(PimsimError) as exc:
        api.run_commands(spec, f)
    assert exc.value.exit_code == 2
    assert "FROB" in str(exc.value) and ":3" in str(exc.value)


def test_fidelity_leaves_the_command_level_devices_alone(capsys):
    a = run_json(capsys, "--model", "gpt2", "--prompt", "2", "--generate", "1")
    b = run_json(capsys, "--model", "gpt2", "--prompt", "2", "--generate", "1", "--fidelity", "cycle")
    assert a["latency_s"] == b["latency_s"] and a["energy_J"] == b["energy_J"]
