"""Running sweeps: results recorded as points finish, failures recorded, resume after Ctrl-C and kill -9,
local processes and a Dask LocalCluster giving the same table, exit statuses."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import sweep_helpers

from sim.cli import main
from sim.errors import PimsimError
from sim.sweep import (
    DaskExecutor,
    LocalExecutor,
    SerialExecutor,
    execute,
    load_config,
    load_results,
    plan_sweep,
)
from sim.sweep.spec import SweepSpec

ROOT = Path(__file__).resolve().parent.parent
SMALL = {"model": "gpt2", "prompt": 16, "generate": 2}
#: columns that depend on when and where a point ran
RUN_COLUMNS = ["elapsed_s", "worker", "finished_at"]


def small_plan(**grid):
    return plan_sweep(SweepSpec(hw="a100-80gb", workload=dict(SMALL), grid=grid))


def comparable(df):
    return df.drop(columns=RUN_COLUMNS).sort_values("run_id").reset_index(drop=True)


def test_serial_sweep_writes_one_row_per_point_with_config_beside_it(tmp_path):
    p = small_plan(**{"memory.hbm.bandwidth": ["1 TB/s", "2 TB/s"], "workload.batch": [1, 2]})
    summary = execute(p, tmp_path, SerialExecutor())
    assert (summary.total, summary.ok, summary.failed, summary.exit_status) == (4, 4, 0, 0)
    df = load_results(tmp_path)
    assert list(df["point"]) == [0, 1, 2, 3] and set(df["status"]) == {"ok"}
    assert list(df["memory.hbm.bandwidth"]) == [1e12, 1e12, 2e12, 2e12]
    assert list(df["workload.batch"]) == [1, 2, 1, 2]
    for col in (
        "run_id",
        "latency_s",
        "energy_J",
        "ttft_s",
        "tbt_s",
        "tokens_per_s",
        "energy_J.hbm",
        "prefill.time_s",
        "decode.time_s",
    ):
        assert col in df.columns
    assert (df["latency_s"] > 0).all()
    # more bandwidth is faster; the figures add up
    assert df.loc[2, "latency_s"] < df.loc[0, "latency_s"]
    assert df["latency_s"].tolist() == pytest.approx((df["prefill.time_s"] + df["decode.time_s"]).tolist())
    cfg = load_config(tmp_path, df.loc[0, "run_id"])
    assert cfg["config"]["memory"][2]["bandwidth"] == 1e12 and cfg["workload"]["batch"] == 1
    assert df.attrs["swept"] == ["memory.hbm.bandwidth", "workload.batch"]
    assert df.attrs["units"] == {"memory.hbm.bandwidth": "B/s"}
    wide = load_results(tmp_path, with_config=True)
    assert wide["config.memory.2.bandwidth"].tolist() == df["memory.hbm.bandwidth"].tolist()


def test_sweep_results_match_simulate(tmp_path):
    import sim

    p = small_plan(**{"workload.generate": [2, 3]})
    execute(p, tmp_path)
    df = load_results(tmp_path)
    for gen, lat, energy in zip(df["workload.generate"], df["latency_s"], df["energy_J"], strict=True):
        r = sim.simulate("a100-80gb", "gpt2", prompt=16, generate=int(gen))
        assert (lat, energy) == (r.latency_s, r.energy_J)


def test_operator_memo_is_reused_across_points_on_the_same_hardware(tmp_path):
    from sim.sweep import worker

    worker._memos.clear()
    execute(small_plan(**{"workload.generate": [1, 2, 3]}), tmp_path)
    assert len(worker._memos) == 1 and len(next(iter(worker._memos.values()))) > 0
    execute(small_plan(**{"clock": ["1 GHz", "2 GHz"]}), tmp_path / "b")
    assert len(worker._memos) == 3


def test_a_failing_point_is_recorded_and_the_sweep_goes_on(tmp_path):
    p = small_plan(**{"workload.batch": [1, 2, 3]})
    summary = execute(p, tmp_path, point_fn=sweep_helpers.fail_on_batch_2)
    assert (summary.ok, summary.failed, summary.exit_status) == (2, 1, 1)
    df = load_results(tmp_path)
    bad = df[df["status"] == "failed"]
    assert list(bad["workload.batch"]) == [2] and "batch 2 is cursed" in bad["error"].iloc[0]
    assert pd.isna(bad["latency_s"].iloc[0])
    assert "ValueError" in (tmp_path / "errors" / f"{bad['run_id'].iloc[0]}.txt").read_text()
    # resume retries only the failed point; once it succeeds the table is clean
    again = execute(p, tmp_path, resume=True)
    assert (again.skipped, again.ok, again.failed, again.exit_status) == (2, 1, 0, 0)
    assert set(load_results(tmp_path)["status"]) == {"ok"}


def test_a_results_folder_is_not_overwritten_without_resume(tmp_path):
    p = small_plan(**{"workload.batch": [1]})
    execute(p, tmp_path, point_fn=sweep_helpers.constant)
    with pytest.raises(PimsimError, match="--resume"):
        execute(p, tmp_path, point_fn=sweep_helpers.constant)
    assert execute(p, tmp_path, resume=True).skipped == 1


def test_a_killed_worker_fails_only_its_point(tmp_path):
    p = small_plan(**{"workload.batch": [1, 2, 3, 4, 5]})
    summary = execute(p, tmp_path, LocalExecutor(2), point_fn=sweep_helpers.die_on_batch_3)
    df = load_results(tmp_path)
    assert dict(zip(df["workload.batch"], df["status"], strict=True)) == {
        1: "ok",
        2: "ok",
        3: "failed",
        4: "ok",
        5: "ok",
    }
    assert "worker process died" in df.loc[df["workload.batch"] == 3, "error"].iloc[0]
    assert summary.exit_status == 1


def test_local_processes_and_dask_give_the_same_table(tmp_path):
    p = small_plan(**{"memory.hbm.bandwidth": ["1 TB/s", "3 TB/s"], "workload.batch": [1, 4]})
    execute(p, tmp_path / "local", LocalExecutor(2))
    dask = DaskExecutor.local(1, processes=False, threads_per_worker=2)
    summary = execute(p, tmp_path / "dask", dask)
    assert summary.exit_status == 0
    local, remote = comparable(load_results(tmp_path / "local")), comparable(load_results(tmp_path / "dask"))
    pd.testing.assert_frame_equal(local, remote)


def test_unreachable_scheduler_is_a_clear_error_before_any_work(tmp_path, capsys):
    rc = main(
        [
            "sweep",
            "--model",
            "gpt2",
            "--grid",
            "workload.batch=1,2",
            "--out",
            str(tmp_path / "o"),
            "--scheduler",
            "tcp://127.0.0.1:9",
            "--connect-timeout",
            "0.5",
        ]
    )
    assert rc == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--grid", "memory.2.bandwith=1TB/s"], "did you mean memory.2.bandwidth"),
        (["--grid", "memory.2.bandwidth=1GHz"], "is a frequency; expected a bandwidth"),
        (["--grid", "workload.batch="], "empty grid"),
        ([], "nothing to sweep"),
        (["--grid", "workload.batch=1", "--scheduler", "tcp://x:1", "--dask-local"], "one of --scheduler"),
    ],
)
def test_cli_bad_input_exits_2_and_runs_nothing(tmp_path, capsys, args, message):
    rc = main(["sweep", "--model", "gpt2", "--out", str(tmp_path / "o"), *args])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and err.count("\n") <= 2
    assert not (tmp_path / "o").exists()


def test_cli_exit_status_says_whether_a_point_failed(tmp_path, capsys, monkeypatch):
    import sim.sweep.runner as runner

    base = [
        "sweep",
        "--model",
        "gpt2",
        "--prompt",
        "16",
        "--generate",
        "1",
        "--workers",
        "0",
        "--grid",
        "workload.batch=1,2,3",
    ]
    monkeypatch.setattr(runner, "compute", sweep_helpers.fail_on_batch_2)
    assert main([*base, "--out", str(tmp_path / "a")]) == 1
    out = capsys.readouterr()
    assert "1 failed" in out.out and "batch 2 is cursed" in out.err
    monkeypatch.undo()
    assert main([*base, "--out", str(tmp_path / "a"), "--resume", "--json"]) == 0
    assert '"already_done": 2' in capsys.readouterr().out


def _start(out: Path, *extra: str) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "sim",
        "sweep",
        "--hw",
        "a100-80gb",
        "--model",
        "gpt2",
        "--prompt",
        "64",
        "--generate",
        "24",
        "--grid",
        "workload.batch=range(1,11)",
        "--workers",
        "1",
        "--out",
        str(out),
        *extra,
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def _wait_for_parts(out: Path, n: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        parts = out / "parts"
        if parts.is_dir() and len([p for p in parts.iterdir() if p.name.endswith(".ok.parquet")]) >= n:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError("the sweep did not get going")


def test_interrupted_and_killed_sweeps_resume_to_the_same_table(tmp_path):
    out = tmp_path / "run"
    # Ctrl-C: finished points are kept, the table is written, exit 130
    proc = _start(out)
    _wait_for_parts(out, 2, proc)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "--resume" in err
    after_int = load_results(out)
    assert 2 <= len(after_int) < 10 and set(after_int["status"]) == {"ok"}
    # kill -9 of the whole process group (sweep and workers) midway through the resumed run
    proc = _start(out, "--resume")
    _wait_for_parts(out, len(after_int) + 2, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    killed = load_results(out)
    assert len(after_int) + 2 <= len(killed) < 10
    # resume finishes the rest: no point is duplicated or missing
    assert (
        main(
            [
                "sweep",
                "--hw",
                "a100-80gb",
                "--model",
                "gpt2",
                "--prompt",
                "64",
                "--generate",
                "24",
                "--grid",
                "workload.batch=range(1,11)",
                "--workers",
                "0",
                "--out",
                str(out),
                "--resume",
            ]
        )
        == 0
    )
    resumed = load_results(out)
    assert sorted(resumed["workload.batch"]) == list(range(1, 11)) and resumed["run_id"].is_unique
    fresh = tmp_path / "fresh"
    assert (
        main(
            [
                "sweep",
                "--hw",
                "a100-80gb",
                "--model",
                "gpt2",
                "--prompt",
                "64",
                "--generate",
                "24",
                "--grid",
                "workload.batch=range(1,11)",
                "--workers",
                "0",
                "--out",
                str(fresh),
            ]
        )
        == 0
    )
    pd.testing.assert_frame_equal(comparable(resumed), comparable(load_results(fresh)))
