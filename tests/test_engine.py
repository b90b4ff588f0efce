"""The system replay engine: analytic cases, transfers, streams, determinism, energy, errors, timelines."""

import json

import pytest
from engine_fixtures import gemm, pointwise, system_file, toy_files

from sim.engine.replay import run_system
from sim.engine.simulator import Simulator, topo_order
from sim.engine.system import load_system
from sim.errors import TraceError
from sim.placement.base import PlacementError
from sim.workload.conventions import get_conventions

CONV = get_conventions("default")


def simulate(system, ops, **kw):
    return Simulator(system, CONV, keep_ops=True, **kw).run(ops)


def test_gemv_on_one_device_is_bytes_over_bandwidth_plus_launch(tmp_path):
    files = toy_files(tmp_path)
    op = gemm(0, "gemv", 1, 4096, 4096)
    r = simulate(load_system(str(files["gpu"])), [op])
    expected = op.bytes / 1e12 + 5e-6
    assert r.latency_s == pytest.approx(expected, rel=1e-12)
    assert r.ops[0].bound == "dram"
    assert r.ops[0].time_s == pytest.approx(expected, rel=1e-12)


def test_producer_and_consumer_on_two_devices_insert_one_exact_transfer(tmp_path):
    sysf = system_file(
        tmp_path,
        {"gpu": "toy-gpu", "cpu": "toy-cpu"},
        [("gpu", "cpu")],
        placement="rules",
        options="{default: gpu, rules: [{name: cons, device: cpu}]}",
    )
    system = load_system(str(sysf))
    a = pointwise(0, "prod", 1_000_000)
    b = pointwise(1, "cons", 1_000_000, (0,))
    r = simulate(system, [a, b])
    prod, cons = r.ops
    assert (prod.device, cons.device) == ("gpu", "cpu")
    assert len(r.transfers) == 1
    tr = r.transfers[0]
    nbytes = 2 * 1_000_000
    assert tr.bytes == nbytes
    assert tr.time_s == pytest.approx(nbytes / 10e9 + 2e-6, rel=1e-12)
    assert tr.start_s == pytest.approx(prod.end_s, rel=1e-12)
    assert cons.start_s == pytest.approx(prod.end_s + nbytes / 10e9 + 2e-6, rel=1e-12)
    assert r.links["gpu<->cpu"].energy_J == pytest.approx(nbytes * 8 * 5e-12)


def test_result_crosses_once_per_destination_and_routes_over_two_hops(tmp_path):
    sysf = system_file(
        tmp_path,
        {"gpu": "toy-gpu", "cpu": "toy-cpu", "pim": "toy-pim"},
        [("gpu", "cpu"), ("cpu", "pim")],
        placement="rules",
        options="{default: gpu, rules: [{kind: linear, device: pim}]}",
    )
    system = load_system(str(sysf))
    src = pointwise(0, "src", 4096)
    u1 = gemm(1, "u1", 1, 256, 4096, (0,))
    u2 = gemm(2, "u2", 1, 256, 4096, (0,))
    r = simulate(system, [src, u1, u2])
    assert [t.link for t in r.transfers] == ["gpu<->cpu", "cpu<->pim"]
    hop = 2 * 4096 / 10e9 + 2e-6
    first_user = min(r.ops[1:], key=lambda x: x.start_s)
    assert first_user.start_s == pytest.approx(r.ops[0].end_s + 2 * hop, rel=1e-12)


def test_streams_overlap_independent_ops_and_one_stream_serialises(tmp_path):
    ops = [gemm(0, "a", 1, 1024, 1024), gemm(1, "b", 1, 1024, 1024)]
    one = simulate(load_system(str(system_file(tmp_path, {"gpu": "toy-gpu"}, [], name="s1"))), ops)
    two = simulate(
        load_system(str(system_file(tmp_path, {"gpu": "toy-gpu"}, [], name="s2", streams={"gpu": 2}))), ops
    )
    t = one.ops[0].time_s
    assert one.latency_s == pytest.approx(2 * t)
    assert two.latency_s == pytest.approx(t)
    assert {o.stream for o in two.ops} == {0, 1}
    assert two.devices["gpu"].busy_s == pytest.approx(t)


def test_dependency_across_streams_waits_for_its_producer(tmp_path):
    system = load_system(str(system_file(tmp_path, {"gpu": "toy-gpu"}, [], streams={"gpu": 2})))
    a = gemm(0, "a", 1, 4096, 4096)  # long, stream 0
    b = gemm(1, "b", 1, 256, 256)  # short, independent: stream 1
    c = gemm(2, "c", 1, 256, 256, (0, 1))  # joins a's stream, waits for both
    r = simulate(system, [a, b, c])
    by = {o.name: o for o in r.ops}
    ra, rb, rc = by["a"], by["b"], by["c"]
    assert (ra.stream, rb.stream, rc.stream) == (0, 1, 0)
    assert rb.start_s == 0.0
    assert rc.start_s == pytest.approx(ra.end_s)
    assert r.latency_s == pytest.approx(ra.time_s + rc.time_s)


def test_single_stream_latency_is_the_sum_of_op_times():
    r = run_system(load_system("a100-80gb"), "gpt2", 1, 16, 3, keep_ops=True)
    assert r.latency_s == pytest.approx(sum(o.time_s for o in r.ops), rel=1e-9)
    starts = [o.start_s for o in r.ops]
    assert starts == sorted(starts)


def test_same_seed_same_result(tmp_path):
    rules = "{default: gpu, rules: [{name: 'layer*.moe.*', device: cpu}]}"
    sysf = system_file(
        tmp_path,
        {"gpu": "toy-gpu", "cpu": "toy-cpu"},
        [("gpu", "cpu")],
        placement="rules",
        options=rules,
        streams={"gpu": 2},
    )
    runs = [
        run_system(
            load_system(str(sysf)), "olmoe-1b-7b", 2, 8, 2, keep_ops=True, routing="uniform-sampled", seed=3
        ).to_dict(per_op=True)
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert runs[0]["links"]["gpu<->cpu"]["transfers"] > 0


def test_energy_is_the_sum_of_its_parts(tmp_path):
    files = toy_files(tmp_path)
    op = gemm(0, "gemv", 1, 1024, 1024)
    r = simulate(load_system(str(files["gpu"])), [op])
    bd = r.breakdown()
    assert r.energy_J == pytest.approx(sum(bd.values()), rel=1e-12)
    assert bd["compute"] == pytest.approx(op.flops * 1e-12)
    reads = op.bytes - op.store_act_bytes
    assert bd["dram"] == pytest.approx((reads + op.store_act_bytes) * 8 * 4e-12)
    assert bd["static"] == pytest.approx(10 * r.latency_s)
    assert r.ops[0].energy_J == pytest.approx(bd["compute"] + bd["dram"] + bd["l1"] + bd["l2"])
    big = run_system(load_system("gpu-node"), "gpt2", 1, 16, 2)
    per_device = sum(sum(d.energy_J.values()) for d in big.devices.values())
    assert big.energy_J == pytest.approx(per_device + sum(ln.energy_J for ln in big.links.values()))


def test_attained_never_exceeds_the_ceiling_or_any_peak():
    system = load_system("a100-80gb")
    cfg = system.devices["a100-80gb"].config
    r = run_system(system, "llama-2-7b", 2, 64, 2, keep_ops=True)
    assert r.ops
    for o in r.ops:
        assert o.attained_flops_per_s <= o.ceiling_flops_per_s * (1 + 1e-9)
        assert o.attained_flops_per_s <= o.peak_flops_per_s * (1 + 1e-9)
        for lvl in cfg.memory:
            assert o.level_bytes[lvl.name] / o.time_s <= lvl.bandwidth * (1 + 1e-9)


def test_cyclic_dependencies_are_one_clear_error():
    ops = [gemm(0, "a", 1, 64, 64, (2,)), gemm(1, "b", 1, 64, 64, (0,)), gemm(2, "c", 1, 64, 64, (1,))]
    with pytest.raises(TraceError, match="cycle: .*a \\(op 0\\)"):
        topo_order(ops, {})
    with pytest.raises(TraceError, match="depends on op 7"):
        topo_order([gemm(0, "a", 1, 64, 64, (7,))], {})


def test_out_of_order_dependencies_are_reordered():
    ops = [gemm(5, "late", 1, 64, 64, (6,)), gemm(6, "early", 1, 64, 64)]
    assert [o.name for o in topo_order(ops, {})] == ["early", "late"]


def test_unconnected_devices_are_a_placement_error(tmp_path):
    sysf = system_file(
        tmp_path,
        {"gpu": "toy-gpu", "cpu": "toy-cpu"},
        [],
        placement="rules",
        options="{default: gpu, rules: [{name: cons, device: cpu}]}",
    )
    with pytest.raises(PlacementError, match="no link path from device 'gpu' to 'cpu'"):
        simulate(load_system(str(sysf)), [pointwise(0, "prod", 10), pointwise(1, "cons", 10, (0,))])


def test_missing_datatype_and_unsupported_kind_are_placement_errors(tmp_path):
    files = toy_files(tmp_path)
    with pytest.raises(PlacementError, match="has no fp16 arithmetic"):
        simulate(load_system(str(files["fp64"])), [gemm(0, "g", 1, 64, 64)])
    with pytest.raises(PlacementError, match="cannot run op kind 'norm'"):
        simulate(load_system(str(files["pim"])), [pointwise(0, "n", 64, kind="norm")])


def test_model_that_does_not_fit_says_by_how_much(tmp_path):
    files = toy_files(tmp_path)
    with pytest.raises(PlacementError, match=r"does not fit .* short by 1[0-9]{2}\.[0-9]{2} GiB"):
        run_system(load_system(str(files["gpu"])), "llama-2-70b", 1, 16, 1)


def test_timeline_is_valid_json_with_one_track_per_stream_and_link(tmp_path):
    sysf = system_file(
        tmp_path,
        {"gpu": "toy-gpu", "cpu": "toy-cpu"},
        [("gpu", "cpu")],
        placement="rules",
        options="{default: gpu, rules: [{name: 'layer*.mlp.*', device: cpu}]}",
        streams={"gpu": 2},
    )
    out = tmp_path / "t.json"
    r = run_system(load_system(str(sysf)), "gpt2", 1, 8, 1, timeline=out)
    assert r.timeline == str(out)
    doc = json.loads(out.read_text())
    ev = doc["traceEvents"]
    procs = {e["pid"]: e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "process_name"}
    threads = {
        (procs[e["pid"]], e["args"]["name"]) for e in ev if e["ph"] == "M" and e["name"] == "thread_name"
    }
    assert threads == {
        ("gpu", "stream 0"),
        ("gpu", "stream 1"),
        ("cpu", "stream 0"),
        ("links", "gpu->cpu"),
        ("links", "cpu->gpu"),
    }
    slices = [e for e in ev if e["ph"] == "X"]
    assert slices and all(e["dur"] >= 0 and e["ts"] >= 0 for e in slices)
    assert any(e["cat"] == "transfer" for e in slices)
    counters = {e["name"] for e in ev if e["ph"] == "C"}
    assert "DRAM bandwidth (GB/s)" in counters and any(c.startswith("queue depth") for c in counters)
    # one track per (pid, tid): slices on a track never overlap (Perfetto needs nesting)
    by_track = {}
    for e in slices:
        by_track.setdefault((e["pid"], e["tid"]), []).append((e["ts"], e["ts"] + e["dur"]))
    for spans in by_track.values():
        spans.sort()
        assert all(a[1] <= b[0] + 1e-6 for a, b in zip(spans, spans[1:], strict=False))


def test_results_of_the_previous_step_cross_devices(tmp_path):
    sysf = system_file(tmp_path, {"gpu": "toy-gpu", "cpu": "toy-cpu"}, [("gpu", "cpu")], placement="rules",
                       options="{default: gpu, rules: [{kind: embedding, device: cpu}]}")
    r = run_system(load_system(str(sysf)), "gpt2", 1, 4, 3, keep_ops=True)
    # each decode step's embedding (on the cpu) waits for the previous step's LM head (on the gpu)
    by_step = {}
    for o in r.ops:
        by_step.setdefault(o.step, []).append(o)
    for s in (1, 2, 3):
        emb = next(o for o in by_step[s] if o.kind == "embedding")
        head = next(o for o in by_step[s - 1] if o.kind == "lm_head")
        assert emb.device == "cpu" and head.device == "gpu"
        assert emb.start_s > head.end_s
    assert any(t.producer == "lm_head" for t in r.transfers)
