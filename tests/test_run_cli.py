"""`pimsim run` end to end through sim.cli.main: JSON, per-op records, timelines, defaults, exit status 2."""

import json

import pytest
from engine_fixtures import system_file, toy_files, write

from sim.cli import main
from sim.workload.generator import step_ops
from sim.workload.trace import write_trace


def run_json(capsys, *args):
    assert main(["run", *args, "--json", "--no-chart"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_has_the_documented_keys_and_per_op_records(capsys):
    d = run_json(capsys, "--model", "gpt2", "--prompt", "16", "--generate", "2", "--per-op")
    for key in ("ttft_s", "tbt_s", "latency_s", "energy_J", "breakdown", "phases", "devices", "layers"):
        assert key in d
    assert d["energy_J"] == pytest.approx(sum(d["breakdown"].values()))
    assert 0 < d["ttft_s"] < d["latency_s"]
    assert d["tbt_s"] == pytest.approx((d["latency_s"] - d["ttft_s"]) / 2)
    ops = d["ops"]
    assert len(ops) == sum(p["ops"] for p in d["phases"].values())
    for key in ("name", "kind", "layer", "phase", "step", "device", "start_s", "time_s", "energy_J", "bound"):
        assert key in ops[0]
    assert {o["step"] for o in ops} == {0, 1, 2}


def test_no_arguments_runs_the_default_system_and_model(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run"]) == 0
    out = capsys.readouterr().out
    assert "llama-2-7b on a100-80gb" in out
    assert "prefill" in out and "decode" in out and "energy by component" in out
    assert (tmp_path / "roofline.png").stat().st_size > 0


def test_timeline_and_transfers_on_a_two_device_system(tmp_path, capsys):
    rules = write(tmp_path, "rules.yaml", "default: gpu\nrules:\n  - {name: 'layer*.mlp.*', device: cpu}\n")
    tl = tmp_path / "t.json"
    d = run_json(
        capsys,
        "--hw",
        "gpu-node",
        "--model",
        "gpt2",
        "--prompt",
        "8",
        "--generate",
        "1",
        "--placement-rules",
        str(rules),
        "--timeline",
        str(tl),
    )
    assert d["placement"] == "rules"
    assert d["links"]["gpu<->cpu"]["transfers"] > 0
    assert d["devices"]["cpu"]["ops"] > 0
    assert json.loads(tl.read_text())["traceEvents"]


def test_set_reaches_a_device_of_a_system(capsys):
    base = run_json(capsys, "--hw", "gpu-node", "--model", "gpt2", "--prompt", "8", "--generate", "1")
    slow = run_json(
        capsys,
        "--hw",
        "gpu-node",
        "--model",
        "gpt2",
        "--prompt",
        "8",
        "--generate",
        "1",
        "--set",
        "gpu.kernel_launch=50us",
    )
    assert slow["latency_s"] > base["latency_s"] + 40e-6 * 10


def _error(capsys, *args) -> str:
    assert main(["run", *args, "--no-chart"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    return err


def test_unconnected_devices_exit_2(tmp_path, capsys):
    sysf = system_file(
        tmp_path,
        {"gpu": "toy-gpu", "cpu": "toy-cpu"},
        [],
        placement="rules",
        options="{default: gpu, rules: [{name: 'layer*.mlp.*', device: cpu}]}",
    )
    assert "no link path" in _error(capsys, "--hw", str(sysf), "--model", "gpt2", "--prompt", "8")


def test_missing_datatype_exit_2(tmp_path, capsys):
    f = toy_files(tmp_path)
    assert "has no fp16 arithmetic" in _error(
        capsys, "--hw", str(f["fp64"]), "--model", "gpt2", "--prompt", "8"
    )


def test_model_too_big_exit_2(tmp_path, capsys):
    f = toy_files(tmp_path)
    err = _error(capsys, "--hw", str(f["gpu"]), "--model", "llama-2-70b", "--prompt", "8", "--generate", "1")
    assert "does not fit" in err and "short by" in err


def test_cyclic_trace_exit_2(tmp_path, capsys):
    ops = step_ops("gpt2", "prefill", 1, 4)
    ops[1].deps = (2,)
    path = tmp_path / "cyclic.jsonl"
    write_trace(path, ops)
    assert "deps" in _error(capsys, "--trace", str(path))


def test_unknown_placement_exit_2(capsys):
    assert "unknown placement policy" in _error(capsys, "--placement", "random", "--prompt", "8")


def test_a_stored_trace_replays_like_the_generated_one(tmp_path, capsys):
    path = tmp_path / "t.jsonl.gz"
    assert main(["trace", "--model", "gpt2", "--prompt", "8", "--generate", "2", "-o", str(path)]) == 0
    capsys.readouterr()
    direct = run_json(capsys, "--model", "gpt2", "--prompt", "8", "--generate", "2")
    replay = run_json(capsys, "--trace", str(path))
    assert (replay["model"], replay["prompt"], replay["generate"]) == ("gpt2", 8, 2)
    assert replay["latency_s"] == direct["latency_s"] and replay["ttft_s"] == direct["ttft_s"]


def test_cycle_fidelity_needs_a_memory_preset_exit_2(tmp_path, capsys):
    f = toy_files(tmp_path)
    assert "needs a `memory:` preset" in _error(capsys, "--hw", str(f["gpu"]), "--fidelity", "cycle", "--prompt", "8")


def test_a_cpu_alone_runs_a_model(capsys):
    d = run_json(capsys, "--hw", "xeon-gold-6154", "--model", "gpt2", "--prompt", "8", "--generate", "1")
    dev = d["devices"]["xeon-gold-6154"]
    assert dev["type"] == "cpu" and dev["ops"] > 0 and d["breakdown"]["ddr4"] > 0


def test_identical_instances_print_as_one_row():
    from sim.cli.output import collapse_instances

    rows = [["gpu[0]", "gpu", 10, "gpu[0]->sw 5.0%"], ["gpu[1]", "gpu", 10, "gpu[1]->sw 5.0%"],
            ["gpu[2]", "gpu", 11, "gpu[2]->sw 5.0%"], ["gpu[3]", "gpu", 10, "gpu[3]->sw 5.0%"],
            ["host", "cpu", 3, "-"]]
    assert collapse_instances(rows) == [["gpu[0,1,3]", "gpu", 10, "gpu[0,1,3]->sw 5.0%"],
                                        ["gpu[2]", "gpu", 11, "gpu[2]->sw 5.0%"], ["host", "cpu", 3, "-"]]
    two = [["a[0]<->b[1]", 1], ["a[1]<->b[2]", 1]]  # two instances named in one row: never merged
    assert collapse_instances(two) == two
    assert collapse_instances([["gpu[4]", 1], ["gpu[5]", 1], ["gpu[6]", 1]]) == [["gpu[4-6]", 1]]
