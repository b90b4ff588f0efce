"""The Python API: lazy top-level names, simulate as a thin facade, results as records and tables, and the
documentation's example scripts (run on small shapes)."""

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

import sim
from sim.errors import PimsimError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"


def test_import_sim_is_light():
    code = (
        "import sys, sim; heavy = [m for m in ('pandas', 'matplotlib', 'pydantic', 'numpy', 'sim.api') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_top_level_names():
    from sim import api

    for name in ("load_hw", "load_model", "simulate", "Result", "load_results", "plot"):
        assert getattr(sim, name) is getattr(api, name)
    assert callable(sim.sweep) and sim.sweep.load_results is api.load_results
    with pytest.raises(AttributeError):
        sim.no_such_name  # noqa: B018


def test_simulate_is_the_system_engine():
    from sim.engine.replay import run_system
    from sim.engine.system import load_system

    r = sim.simulate("a100-80gb", "gpt2", batch=2, prompt=16, generate=3)
    ref = run_system(load_system("a100-80gb"), "gpt2", 2, 16, 3)
    assert r.run.to_dict() == ref.to_dict()
    assert (r.latency_s, r.ttft_s, r.tbt_s, r.energy_J) == (
        ref.latency_s,
        ref.ttft_s,
        ref.tbt_s,
        ref.energy_J,
    )


def test_simulate_options():
    base = sim.simulate("a100-80gb", "gpt2", prompt=16, generate=2)
    fast = sim.simulate("a100-80gb", "gpt2", prompt=16, generate=2, overrides=["memory.2.bandwidth=4 TB/s"])
    assert fast.latency_s < base.latency_s
    hw = sim.load_hw("a100-80gb", ["memory.2.bandwidth=4 TB/s"])
    assert sim.simulate(hw, sim.load_model("gpt2"), prompt=16, generate=2).latency_s == fast.latency_s
    int8 = sim.simulate("a100-80gb", "gpt2", prompt=16, generate=2, weight_dtype="int8")
    assert int8.latency_s < base.latency_s
    with pytest.raises(TypeError):
        sim.simulate(hw, "gpt2", overrides=["clock=1 GHz"])
    with pytest.raises(PimsimError, match="at least 1"):
        sim.simulate("a100-80gb", "gpt2", batch=0)
    with pytest.raises(PimsimError, match="cannot simulate a link"):
        sim.simulate("nvlink3", "gpt2")


def test_result_records_and_tables():
    r = sim.simulate("a100-80gb", "gpt2", prompt=16, generate=2)
    d = r.to_dict()
    assert d["latency_s"] == r.latency_s and d["workload"]["prompt"] == 16
    row = r.to_dataframe()
    assert len(row) == 1 and row.loc[0, "latency_s"] == r.latency_s and row.loc[0, "workload.generate"] == 2
    phases = r.to_dataframe("phase")
    assert list(phases["phase"]) == ["prefill", "decode"]
    assert phases["time_s"].sum() == pytest.approx(r.latency_s)
    assert phases["energy_J"].sum() == pytest.approx(r.energy_J)
    assert r.ceilings().device == "a100-80gb" and r.placements
    with pytest.raises(ValueError):
        r.to_dataframe("op")


def test_sweep_from_python(tmp_path):
    df = sim.sweep(
        "a100-80gb",
        "gpt2",
        prompt=16,
        generate=1,
        grid={"workload.batch": "1,2"},
        zip=[{"memory.hbm.bandwidth": ["1 TB/s", "2 TB/s"], "power.static": ["50 W", "60 W"]}],
        out=tmp_path,
        workers=0,
    )
    assert len(df) == 4 and list(df["workload.batch"]) == [1, 1, 2, 2]
    assert list(df["power.static"]) == [50.0, 60.0, 50.0, 60.0]
    assert df.attrs["summary"].exit_status == 0
    again = sim.sweep.load_results(tmp_path)
    assert again["run_id"].tolist() == df["run_id"].tolist()


@pytest.mark.parametrize("script", ["roofline_tutorial", "design_sweep", "dask_sweep", "pim_gpt_sweep",
                                    "pim_gpt_tutorial"])
def test_examples_run(tmp_path, script, monkeypatch):
    monkeypatch.setattr(sys, "argv", [script, "--small", "--out", str(tmp_path / "out")])
    if script in ("design_sweep", "pim_gpt_sweep"):
        sys.argv += ["--workers", "0"]
    ns = runpy.run_path(str(EXAMPLES / f"{script}.py"))
    result = ns["main"]()
    for chart in result.get("charts", []):
        assert Path(chart).stat().st_size > 5000
    if "points" in result:
        assert result["points"] == 4


def test_example_sweep_file_is_valid():
    from sim.sweep import plan_sweep
    from sim.sweep.spec import SweepSpec

    plan = plan_sweep(SweepSpec.from_yaml(EXAMPLES / "a100-bw-compute.yaml"))
    assert len(plan.points) == 32
