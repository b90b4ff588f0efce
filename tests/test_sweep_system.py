"""Sweeps of whole systems: device keys by entry name, validated before any work, hashed into run ids;
each point equals a ``pimsim run`` of the same resolved config; local processes and Dask agree."""

import json

import pytest

import sim
from sim.cli import main
from sim.engine.system import ResolvedSystem, build_system, load_system, resolve_system
from sim.errors import PimsimError
from sim.sweep import DaskExecutor, LocalExecutor, SerialExecutor, execute, load_config, load_results, plan_sweep
from sim.sweep.spec import SweepSpec

SMALL = {"model": "gpt2", "prompt": 8, "generate": 3}
GRID = {"pim.channels": [8, 16], "asic.clock": ["1GHz", "2GHz"]}
RUN_COLUMNS = ["elapsed_s", "worker", "finished_at"]


def system_plan(grid=None, **workload):
    return plan_sweep(SweepSpec(hw="pim-gpt", workload={**SMALL, **workload}, grid=grid or GRID))


def test_system_keys_resolve_per_device_entry_and_go_into_the_run_id():
    plan = system_plan()
    assert len(plan.points) == 4 and len(set(plan.run_ids)) == 4
    p = plan.points[3]
    assert isinstance(p.config, ResolvedSystem)
    assert p.config.devices["pim"].channels == 16 and p.config.devices["asic"].clock == 2e9
    assert p.columns == {"pim.channels": 16, "asic.clock": 2e9}
    resolved = p.resolved()["config"]
    assert resolved["pim"]["channels"] == 16 and resolved["asic"]["clock"] == 2e9
    assert resolved["kind"] == "system" and resolved["name"] == "pim-gpt"
    # the same design written with a --set override instead of a grid value has the same run id
    same = plan_sweep(SweepSpec(hw="pim-gpt", workload=dict(SMALL), grid={"asic.clock": ["2GHz"]},
                                overrides=["pim.channels=16"]))
    assert same.points[0].run_id == p.run_id
    # a system-file key is sweepable too
    net = system_plan({"network.mode": ["analytic", "contention"]})
    assert len({q.run_id for q in net.points}) == 2


@pytest.mark.parametrize(
    ("grid", "needle"),
    [
        ({"pim.chanels": [8]}, "did you mean pim.channels"),
        ({"asic.clck": ["1GHz"]}, "did you mean asic.clock"),
        ({"gpu.clock": ["1GHz"]}, "unknown key 'gpu.clock'"),
        ({"pim.channels": ["many"]}, "device entry 'pim'"),
        ({"pim.channels": [12]}, "power of two"),
    ],
)
def test_bad_system_keys_and_values_fail_before_any_work(grid, needle):
    with pytest.raises(PimsimError, match=needle.replace("(", r"\(")):
        system_plan(grid)


def test_cli_rejects_an_unknown_system_key_with_exit_2(tmp_path, capsys):
    rc = main(["sweep", "--hw", "pim-gpt", "--model", "gpt2", "--prompt", "8", "--generate", "2",
               "--grid", "pim.bank_per_channel=8,16", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "pim.banks_per_channel" in err and "hw show pim-gpt --json" in err
    assert not (tmp_path / "o").exists()


def test_hw_show_prints_a_systems_devices_under_their_entry_names(capsys):
    assert main(["hw", "show", "pim-gpt", "--json", "--set", "pim.channels=16"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["kind"] == "system" and d["pim"]["channels"] == 16 and d["asic"]["clock"] == 1e9
    plan = system_plan({"pim.channels": [16]})
    assert plan.points[0].resolved()["config"] == d  # the keys a sweep takes are the keys hw show prints


def test_a_sweep_point_equals_pimsim_run_of_the_same_config(tmp_path, capsys):
    plan = system_plan()
    summary = execute(plan, tmp_path / "s", SerialExecutor())
    assert summary.ok == 4
    df = load_results(tmp_path / "s")
    for _, row in df.iterrows():
        sets = [f"pim.channels={int(row['pim.channels'])}", f"asic.clock={row['asic.clock'] / 1e9:g} GHz"]
        args = ["run", "--hw", "pim-gpt", "--model", "gpt2", "--prompt", "8", "--generate", "3", "--json",
                "--no-chart"]
        for s in sets:
            args += ["--set", s]
        assert main(args) == 0
        ref = json.loads(capsys.readouterr().out)
        for k in ("latency_s", "ttft_s", "tbt_s", "energy_J", "tokens_per_s"):
            assert row[k] == ref[k], k
        for comp, joules in ref["breakdown"].items():
            assert row[f"energy_J.{comp}"] == joules
        cfg = load_config(tmp_path / "s", row["run_id"])["config"]
        assert cfg["pim"]["channels"] == int(row["pim.channels"])
    # and sim.simulate gives the same run
    r = sim.simulate("pim-gpt", "gpt2", prompt=8, generate=3, overrides=["pim.channels=16", "asic.clock=2GHz"])
    last = df[(df["pim.channels"] == 16) & (df["asic.clock"] == 2e9)].iloc[0]
    assert (r.latency_s, r.energy_J) == (last["latency_s"], last["energy_J"])
    assert r.device == "pim" and r.placements and r.ceilings() is not None


def test_local_workers_and_dask_give_identical_system_sweeps(tmp_path):
    plan = system_plan({"pim.channels": [8, 16], "pim.mac_lanes": [8, 16]}, generate=2)
    a = execute(plan, tmp_path / "local", LocalExecutor(2))
    dask = DaskExecutor.local(1, processes=False, threads_per_worker=2)
    b = execute(plan, tmp_path / "dask", dask)
    assert a.ok == b.ok == 4

    def comparable(df):
        return df.drop(columns=RUN_COLUMNS).sort_values("run_id").reset_index(drop=True)

    left, right = comparable(load_results(tmp_path / "local")), comparable(load_results(tmp_path / "dask"))
    assert left.equals(right)


def test_build_system_takes_a_resolved_system():
    resolved = resolve_system("pim-gpt", ["pim.channels=16"])
    system = build_system(resolved)
    assert system.devices["pim"].config.channels == 16
    assert load_system("pim-gpt", ["pim.channels=16"]).devices["pim"].config == system.devices["pim"].config
    with pytest.raises(ValueError):
        build_system(resolved, ["pim.channels=8"])


def test_points_are_handed_out_in_blocks_each_exactly_once():
    from types import SimpleNamespace

    from sim.sweep.runner import _Order

    pts = [SimpleNamespace(run_id=f"r{i}", index=i) for i in range(10)]
    order = _Order(pts)
    first = [order.take(None, 2), order.take(None, 2)]
    assert [p.index for p in first] == [0, 5]  # two workers start two blocks
    assert order.take(first[1], 2).index == 6 and order.take(first[0], 2).index == 1  # each continues its own
    seen = [0, 5, 6, 1]
    last = {0: pts[1], 1: pts[6]}
    w = 0
    while order:
        p = order.take(last[w], 2)
        seen.append(p.index)
        last[w] = p
        w = 1 - w
    assert sorted(seen) == list(range(10))  # every point once, none twice
    serial = _Order(pts)
    got = [serial.take(None, 1)]
    while serial:
        got.append(serial.take(got[-1], 1))
    assert [p.index for p in got] == list(range(10))  # one worker: sweep order
