"""The command line end to end: help with examples, run, roofline, trace, and exit 2 on bad input."""

import json
import subprocess
import sys

import pytest

from sim.cli import SUBCOMMANDS, main


def pimsim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, timeout=300)


def test_help_lists_examples():
    proc = pimsim("--help")
    assert proc.returncode == 0 and "examples:" in proc.stdout
    for name in SUBCOMMANDS:
        sub = pimsim(name, "--help")
        assert sub.returncode == 0, sub.stderr
        assert "examples:" in sub.stdout and f"pimsim {name}" in sub.stdout


def test_run_json(tmp_path, capsys):
    chart = tmp_path / "r.png"
    assert main(["run", "--model", "gpt2", "--prompt", "32", "--generate", "4", "--json", "--chart", str(chart)]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("ttft_s", "tbt_s", "latency_s", "energy_J", "breakdown"):
        assert key in out
    assert out["latency_s"] == pytest.approx(out["ttft_s"] + 4 * out["tbt_s"])
    assert out["energy_J"] == pytest.approx(sum(out["breakdown"].values()))
    assert chart.stat().st_size > 10_000


def test_run_is_deterministic(capsys):
    args = ["run", "--model", "olmoe-1b-7b", "--prompt", "16", "--generate", "2", "--json", "--no-chart",
            "--routing", "uniform", "--seed", "3"]
    main(args)
    first = capsys.readouterr().out
    main(args)
    assert capsys.readouterr().out == first


def test_roofline_json_schema(tmp_path, capsys):
    assert main(["roofline", "--hw", "a100-40gb", "--model", "gpt2", "--prompt", "64", "--phase", "both",
                 "--json", "-o", str(tmp_path / "c.png")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["device"] == "a100-40gb"
    for phase in ("prefill", "decode"):
        data = out["phases"][phase]
        assert set(data["total"]) == {"flops", "bytes", "time_s"}
        op = data["ops"][0]
        assert set(op) >= {"name", "kind", "layer", "flops", "bytes", "load_weight_bytes", "load_act_bytes",
                           "store_act_bytes", "load_kv_bytes", "store_kv_bytes", "intensity",
                           "attained_flops_per_s", "bound", "time_s"}
        assert data["total"]["time_s"] == pytest.approx(sum(o["time_s"] for o in data["ops"]))
    assert (tmp_path / "c.png").exists()


def test_trace_round_trip(tmp_path, capsys):
    path = tmp_path / "t.jsonl.gz"
    assert main(["trace", "--model", "gpt2", "--prompt", "8", "--generate", "3", "-o", str(path)]) == 0
    assert main(["trace", "--read", str(path)]) == 0
    assert "prefill" in capsys.readouterr().out


@pytest.mark.parametrize("args,needle", [
    (["run", "--model", "llama-9"], "llama"),
    (["run", "--hw", "pcie4-x16", "--no-chart"], "not a device"),
    (["run", "--prompt", "0", "--no-chart"], "--prompt"),
    (["roofline", "--hw", "a100-40gb", "--set", "compute.fp16=12", "--no-chart"], "compute.fp16"),
    (["hw", "show", "nosuchpreset"], "nosuchpreset"),
])
def test_bad_input_exits_2_without_traceback(args, needle):
    proc = pimsim(*args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert needle in proc.stderr


def test_bad_trace_line_exits_2(tmp_path):
    path = tmp_path / "t.jsonl"
    assert main(["trace", "--model", "gpt2", "--prompt", "4", "--generate", "1", "-o", str(path)]) == 0
    lines = path.read_text().splitlines()
    record = json.loads(lines[3])
    record["flops"] = -5
    lines[3] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")
    proc = pimsim("trace", "--read", str(path))
    assert proc.returncode == 2 and "t.jsonl:4" in proc.stderr and "flops" in proc.stderr
