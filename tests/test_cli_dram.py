"""``pimsim dram`` end to end through :func:`sim.cli.main`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.dram.traces import write_csv, write_dramsim3, write_ramulator

JSON_KEYS = {"requests", "cycles", "seconds", "bandwidth_GBps", "read_latency_mean_cycles",
             "read_latency_p50_cycles", "read_latency_p99_cycles", "row_hits", "row_misses", "row_conflicts",
             "commands", "energy_J", "energy_breakdown_J", "power_W", "sim_wall_s"}


@pytest.fixture(scope="module")
def traces(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("traces")
    rng = np.random.default_rng(3)
    n = 800
    arrive = np.sort(rng.integers(0, 3 * n, n))
    addr = rng.integers(0, 1 << 22, n).astype(np.uint64) * np.uint64(64)
    w = rng.random(n) < 0.3
    out = {"csv": d / "t.csv", "dramsim3": d / "t.trace", "ramulator": d / "t.txt"}
    write_csv(out["csv"], arrive, addr, w)
    write_dramsim3(out["dramsim3"], arrive, addr, w)
    write_ramulator(out["ramulator"], addr, w)
    return out


def _json(capsys, argv) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_json_output(capsys, traces):
    out = _json(capsys, ["dram", "--mem", "ddr4-2400", "--trace", str(traces["csv"]), "--json", "--quiet"])
    assert JSON_KEYS <= set(out)
    assert out["requests"] == 800 and out["cycles"] > 0 and out["bandwidth_GBps"] > 0
    assert out["row_hits"] + out["row_misses"] + out["row_conflicts"] <= out["requests"]
    assert out["commands"]["RD"] + out["commands"]["WR"] >= 1
    parts = out["energy_breakdown_J"]
    assert set(parts) == {"activate_precharge", "read", "write", "io", "refresh", "background"}
    assert out["energy_J"] == pytest.approx(sum(parts.values()))
    assert out["power_W"] == pytest.approx(out["energy_J"] / out["seconds"])


def test_table_output_with_units(capsys, traces):
    assert main(["dram", "--mem", "ddr4-2400", "--trace", str(traces["csv"]), "--quiet"]) == 0
    text = capsys.readouterr().out
    for words in ("bandwidth", "GB/s", "cycles", "ns", "row hits", "ACT", "energy", "J", "average power", "W"):
        assert words in text, words


@pytest.mark.parametrize("fmt", ["dramsim3", "ramulator"])
def test_other_trace_formats_and_profiles(capsys, traces, fmt):
    out = _json(capsys, ["dram", "--mem", "ddr4-2400", "--trace", str(traces[fmt]), "--trace-format", fmt,
                         "--compat", "ramulator2", "--json", "--quiet"])
    assert out["requests"] == 800 and out["profile"] == "ramulator2"


def test_set_overrides_and_unmodelled_energy(capsys, traces):
    out = _json(capsys, ["dram", "--mem", "ddr5-4800", "--trace", str(traces["csv"]), "--json", "--quiet",
                         "--set", "controller.page_policy=closed", "--set", "timing.tRCD=45"])
    assert out["energy_J"] is None and out["power_W"] is None
    assert main(["dram", "--mem", "ddr5-4800", "--trace", str(traces["csv"]), "--quiet"]) == 0
    assert "not modelled" in capsys.readouterr().out


def test_command_log_and_check(tmp_path, capsys, traces):
    log = tmp_path / "cmds.csv"
    out = _json(capsys, ["dram", "--mem", "ddr4-2400", "--trace", str(traces["csv"]), "--json", "--quiet",
                         "--command-log", str(log), "--check"])
    assert out["protocol_violations"] == 0
    lines = log.read_text().splitlines()
    assert lines[0] == "cycle,command,channel,rank,bankgroup,bank,row,column"
    assert len(lines) - 1 == sum(out["commands"].values())
    assert lines[1].split(",")[1] in {"ACT", "PRE", "RD", "WR", "RDA", "WRA", "PREA", "REF", "REFpb"}


@pytest.mark.parametrize("argv,words", [
    (["--mem", "ddr4-9999"], ["unknown hardware preset", "ddr4-"]),
    (["--mem", "a100-40gb"], ["not a memory"]),
    (["--mem", "ddr4-2400", "--set", "timing.tRAS=3"], ["timing.tRAS", "shorter than tRCD"]),
    (["--mem", "ddr4-2400", "--set", "power.IDD0=48"], ["power.IDD0", "unit"]),
    (["--mem", "ddr4-2400", "--trace-format", "dramsim3"], ["malformed dramsim3 trace line", ":1:"]),
])
def test_bad_input_exits_2_with_one_line(capsys, traces, argv, words):
    full = ["dram", "--trace", str(traces["csv"]), "--quiet"] + argv if "--mem" in argv else argv
    assert main(full) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pimsim dram: error:") and "\n" not in err and "Traceback" not in err, err
    for w in words:
        assert w in err, err


def test_bad_trace_files_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("0,0x40,R\n5,0x80,Q\n")
    assert main(["dram", "--mem", "ddr4-2400", "--trace", str(bad), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2:" in err and "Traceback" not in err
    back = tmp_path / "back.csv"
    back.write_text("9,0x40,R\n5,0x80,R\n")
    assert main(["dram", "--mem", "ddr4-2400", "--trace", str(back), "--quiet"]) == 2
    assert f"{back}:2: timestamp 5 is earlier" in capsys.readouterr().err
    far = tmp_path / "far.csv"
    far.write_text("0,0x40,R\n1,0xffffffffffff,R\n")
    assert main(["dram", "--mem", "ddr4-2400", "--trace", str(far), "--quiet"]) == 2
    assert f"{far}:2: address 0xffffffffffff is beyond" in capsys.readouterr().err
    assert main(["dram", "--mem", "ddr4-2400", "--trace", str(tmp_path / "none.csv"), "--quiet"]) == 2
    assert "not found" in capsys.readouterr().err


def test_help_lists_examples(capsys):
    with pytest.raises(SystemExit):
        main(["dram", "--help"])
    text = capsys.readouterr().out
    assert "--trace-format" in text and "--command-log" in text and "examples:" in text
