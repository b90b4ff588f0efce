"""`pimsim compare`: JSON schema, the framework overhead model, the serial replay against the system engine."""

import json

import pytest

from sim.cli import main
from sim.devices.framework import FrameworkModel
from sim.engine.replay import run_system
from sim.engine.serial import replay_serial
from sim.engine.system import load_system, with_framework
from sim.workload.conventions import get_conventions
from sim.workload.generator import generate_trace, step_ops

KEYS = ("model", "baseline", "speedup", "energy_efficiency", "speedup_hardware_only",
        "energy_efficiency_hardware_only")


def test_compare_json_schema(capsys):
    args = ["compare", "--hw", "pim-gpt", "--baselines", "t4,xeon-gold-6154", "--models", "gpt2,gpt3-small",
            "--prompt", "4", "--generate", "2", "--json"]
    assert main(args) == 0
    recs = json.loads(capsys.readouterr().out)
    assert isinstance(recs, list) and len(recs) == 4
    assert [(r["model"], r["baseline"]) for r in recs] == [
        ("gpt2", "t4"), ("gpt2", "xeon-gold-6154"), ("gpt3-small", "t4"), ("gpt3-small", "xeon-gold-6154")]
    for r in recs:
        for k in KEYS:
            assert k in r
        assert r["speedup"] > 0 and r["energy_efficiency"] > 0
        # the framework only adds time (and static energy) to the baseline
        assert r["speedup"] >= r["speedup_hardware_only"]
        assert r["energy_efficiency"] >= r["energy_efficiency_hardware_only"]
        assert r["speedup"] == pytest.approx(r["baseline_latency_s"] / r["target_latency_s"])
        assert r["speedup_hardware_only"] == pytest.approx(r["baseline_hardware_latency_s"] / r["target_latency_s"])


def test_compare_prints_a_table(capsys):
    assert main(["compare", "--models", "gpt2", "--prompt", "2", "--generate", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "speedup" in out and "vs t4:" in out and "vs xeon-gold-6154:" in out


@pytest.mark.parametrize("args,message", [
    (["--models", "gpt-nope"], "gpt-nope"),
    (["--baselines", "gpu-node"], "one device with one stream"),
    (["--generate", "0"], "--generate"),
    (["--set", "t4.framework.op_overhead=-1us"], "op_overhead"),
])
def test_bad_input_exits_2(capsys, args, message):
    assert main(["compare", "--models", "gpt2", "--prompt", "2", "--generate", "1", *args]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("framework", [False, True])
def test_serial_replay_equals_the_system_engine(framework):
    system = load_system("t4")
    conv = get_conventions("unfused")
    if framework:
        system = with_framework(system)
    r = run_system(system, "gpt2", 1, 8, 3, conventions=conv)
    model = next(iter(system.devices.values())).model
    [s] = replay_serial([model], generate_trace("gpt2", 1, 8, 3, conventions=conv), conv)
    assert s.latency_s == pytest.approx(r.latency_s, rel=1e-12)
    assert s.ttft_s == pytest.approx(r.ttft_s, rel=1e-12)
    assert s.tbt_s == pytest.approx(r.tbt_s, rel=1e-12)
    assert s.energy_J == pytest.approx(r.energy_J, rel=1e-12)
    for k, v in r.breakdown().items():
        assert s.breakdown[k] == pytest.approx(v, rel=1e-12)


@pytest.mark.parametrize("preset,asynchronous", [("t4", True), ("xeon-gold-6154", False)])
def test_framework_time_is_max_or_sum_of_host_and_device(preset, asynchronous):
    system = load_system(preset)
    inner = next(iter(system.devices.values())).model
    spec = inner.config.framework
    assert spec is not None and spec.asynchronous is asynchronous
    fw = FrameworkModel(inner, spec)
    conv = get_conventions(spec.conventions)
    for op in step_ops("gpt2", "decode", 1, 16, 1, conventions=conv)[:40]:
        dev = inner.cost(op, conv).time_s
        host = (spec.ops.get(op.kind, 1.0) + (spec.step_ops if op.kind == "lm_head" else 0)) * spec.op_overhead
        want = max(dev, host) if asynchronous else dev + host
        got = fw.cost(op, conv)
        assert got.time_s == pytest.approx(want)
        assert got.energy_J == inner.cost(op, conv).energy_J


def test_run_framework_flag_and_its_error(capsys):
    assert main(["run", "--hw", "t4", "--model", "gpt2", "--prompt", "4", "--generate", "2", "--framework",
                 "--json", "--no-chart"]) == 0
    fw = json.loads(capsys.readouterr().out)
    assert main(["run", "--hw", "t4", "--model", "gpt2", "--prompt", "4", "--generate", "2", "--json",
                 "--no-chart", "--conventions", "unfused"]) == 0
    hw = json.loads(capsys.readouterr().out)
    assert fw["conventions"] == "unfused" and fw["latency_s"] > hw["latency_s"]
    assert main(["run", "--hw", "a100-80gb", "--model", "gpt2", "--prompt", "4", "--generate", "1",
                 "--framework", "--no-chart"]) == 2
    assert "framework" in capsys.readouterr().err
