"""Collectives on topologies: alpha-beta formulas (ASTRA-sim's HGX-H100 network), contention, schedules, energy."""

import math

import pytest

from sim.config.hardware import NetworkSpec
from sim.engine.simulator import Simulator
from sim.engine.system import load_system
from sim.interconnect import collectives as C
from sim.interconnect.network import collective_time
from sim.workload.conventions import get_conventions
from sim.workload.dtypes import DTypes
from sim.workload.trace import Op, Shape

B = 400e9  # ASTRA-sim HGX-H100 validated: 400 GB/s per link
ALPHA = 2 * 936.25e-9  # a step crosses the switch: two links of 936.25 ns
P = 8
SIZES = [1 << 10, 1 << 14, 1 << 20, 1 << 24, 1 << 30]  # 1 KiB .. 1 GiB
FORMULA = {
    "all_reduce": lambda n: 2 * (P - 1) * ALPHA + 2 * (P - 1) / P * n / B,
    "all_gather": lambda n: (P - 1) * ALPHA + (P - 1) / P * n / B,
    "all_to_all": lambda n: (P - 1) * ALPHA + (P - 1) / P * n / B,
}
STEPS = {"all_reduce": 2 * (P - 1), "all_gather": P - 1, "all_to_all": P - 1}


@pytest.fixture(scope="module")
def hgx():
    return load_system("hgx-h100-astra")


def devs(n=P):
    return [f"gpu[{i}]" for i in range(n)]


@pytest.mark.parametrize("kind", sorted(FORMULA))
def test_analytic_mode_equals_the_formulas_from_1kib_to_1gib(hgx, kind):
    for n in SIZES:
        got = collective_time(hgx.topology, kind, devs(), n, NetworkSpec(mode="analytic")).time_s
        assert got == pytest.approx(FORMULA[kind](n), rel=1e-12), n


def collective_op(kind, n_bytes, group=tuple(range(P))):
    return Op(0, f"test.{kind}", "collective", "decode", 1, 0, Shape(elements=int(n_bytes // 2)), DTypes(), 0,
              rank=group[0], collective=kind, group=tuple(group))


@pytest.mark.parametrize("kind", sorted(FORMULA))
def test_the_engine_runs_a_collective_op_in_the_formula_time(hgx, kind):
    for n in (1 << 10, 1 << 30):
        r = Simulator(hgx, get_conventions("default"), keep_ops=True).run([collective_op(kind, n)])
        assert r.latency_s == pytest.approx(FORMULA[kind](n), rel=1e-12)
        c = r.collectives[kind]
        assert c.calls == 1 and c.algorithms == {"ring" if kind != "all_to_all" else "direct": 1}
        # every simulated device took part and waited the whole time: all of it exposed
        assert r.communication["gpu[0]"].exposed_s == pytest.approx(r.latency_s)
        # volume: each rank injects its algorithm's bytes; energy = bytes x 2 links x 1.3 pJ/bit
        per_rank = C.volume_per_rank(kind, "ring" if kind != "all_to_all" else "direct", n, P)
        assert c.bytes == pytest.approx(P * per_rank)
        assert c.energy_J == pytest.approx(P * per_rank * 2 * 8 * 1.3e-12)


@pytest.mark.parametrize("kind", sorted(FORMULA))
@pytest.mark.parametrize("chunk", [None, 1 << 20])
def test_contention_mode_adds_exactly_the_store_and_forward_at_the_switch(hgx, kind, chunk):
    """Alone on the switch no link carries two flows: the only difference from the formula is that each step's
    message (or its last chunk) is serialised twice, on the way in and out of the switch."""
    spec = NetworkSpec(mode="contention", chunk=f"{chunk} B" if chunk else None)
    for n in SIZES:
        got = collective_time(hgx.topology, kind, devs(), n, spec).time_s
        msg = n / P
        extra = STEPS[kind] * min(msg, chunk or msg) / B
        assert got == pytest.approx(FORMULA[kind](n) + extra, rel=1e-9), n


def test_contention_mode_shares_links_between_concurrent_collectives(hgx):
    """Two all-gathers over the same GPUs at once: in contention mode each link direction carries both, so
    the bandwidth term doubles; the analytic mode ignores the other collective."""
    n = 1 << 26
    ops = [collective_op("all_gather", n), collective_op("all_gather", n)]
    ops[1].id = 1
    ops[1].name = "test.second"
    for mode in ("analytic", "contention"):
        system = load_system("hgx-h100-astra", [f"network.mode={mode}", "network.chunk='1 MiB'",
                                                "devices.gpu.streams=2"])
        r = Simulator(system, get_conventions("default")).run(ops)
        single = collective_time(system.topology, "all_gather", devs(), n, system.network).time_s
        bw = (P - 1) / P * n / B
        if mode == "analytic":
            assert r.latency_s == pytest.approx(single, rel=1e-12)
        else:  # both share every link: twice the serialisation (one's latencies hide behind the other's sends)
            assert 2 * bw <= r.latency_s <= 2 * bw + 7 * ALPHA + 7 * (1 << 20) / B
            assert r.latency_s > single + 0.8 * bw


@pytest.mark.parametrize("kind,algo", [("all_reduce", "halving-doubling"), ("all_reduce", "ring"),
                                       ("reduce_scatter", "ring"), ("broadcast", "tree")])
def test_other_algorithms_follow_their_formulas(kind, algo):
    system = load_system("hgx-h100-astra", [f"network.collective.algorithms.{kind}={algo}"])
    n = 1 << 24
    got = collective_time(system.topology, kind, devs(), n, system.network).time_s
    assert got == pytest.approx(C.formula(kind, algo, n, P, ALPHA, B), rel=1e-12)
    if algo == "halving-doubling":
        assert got == pytest.approx(2 * 3 * ALPHA + 2 * 7 / 8 * n / B)


def test_schedules_move_the_formula_volume():
    for kind, algo in (("all_reduce", "ring"), ("all_reduce", "halving-doubling"), ("all_gather", "ring"),
                       ("reduce_scatter", "ring"), ("all_to_all", "direct")):
        sends = C.schedule(kind, algo, list(range(P)), 1.0)
        assert sum(s.bytes for s in sends) == pytest.approx(P * C.volume_per_rank(kind, algo, 1.0, P))
        for i, s in enumerate(sends):
            assert all(d < i for d in s.deps)


def test_hierarchical_collectives_across_two_nodes():
    system = load_system("dgx-h100-2node", ["network.collective.efficiency=1", "network.collective.launch_cycles=0",
                                            "network.collective.step_cycles=0"])
    net = system.network
    group = devs(16)
    n = 1 << 26
    nv, ib = 450e9, 50e9
    a1, a2 = 2e-6, 3e-6  # NVSwitch: 2 x 1 us; InfiniBand switch: 2 x 1.5 us
    ar = collective_time(system.topology, "all_reduce", group, n, net)
    assert ar.algorithm == "hierarchical"
    want = 2 * (7 * a1 + 7 / 8 * n / nv) + 2 * a2 + 2 * 1 / 2 * (n / 8) / ib
    assert ar.time_s == pytest.approx(want, rel=1e-12)
    a2a = collective_time(system.topology, "all_to_all", group, n, net)
    assert a2a.time_s == pytest.approx(7 * a1 + 7 / 8 * n / nv + a2 + 1 / 2 * n / ib, rel=1e-12)
    flat = load_system("dgx-h100-2node", ["network.collective.algorithms.all_to_all=direct"]).network
    flat = flat.model_copy(update={"collective": flat.collective.model_copy(
        update={"efficiency": 1.0, "launch": 0.0, "step_latency": 0.0})})
    direct = collective_time(system.topology, "all_to_all", group, n, flat)
    assert direct.time_s == pytest.approx(15 * a2 + 15 / 16 * n / ib, rel=1e-12)
    assert a2a.time_s < direct.time_s


def test_both_modes_count_the_same_bytes_for_a_hierarchical_uneven_all_to_all():
    """Injected bytes are a property of the schedule (each stage's sends), not of the network mode."""
    system = load_system("dgx-h100-2node")
    group = devs(16)
    m = [[0.0 if i == j else 1e5 * (1 + (i * 7 + j * 3) % 5) for j in range(16)] for i in range(16)]
    got = {mode: collective_time(system.topology, "all_to_all", group, 0.0,
                                 system.network.model_copy(update={"mode": mode}), m)
           for mode in ("analytic", "contention")}
    payload = sum(sum(row) for row in m)
    sends = C.schedule("all_to_all", "hierarchical", list(range(16)), 0.0, m, [list(range(8)), list(range(8, 16))])
    assert got["analytic"].algorithm == "hierarchical"
    assert got["analytic"].bytes == pytest.approx(sum(s.bytes for s in sends), rel=1e-12)
    assert got["contention"].bytes == pytest.approx(got["analytic"].bytes, rel=1e-12)
    assert got["analytic"].bytes > payload  # data for the other node crosses NVLink first, then InfiniBand


def test_uneven_all_to_all_is_bounded_by_the_busiest_rank(hgx):
    m = [[0.0] * P for _ in range(P)]
    for i in range(P):
        m[i][0] = 8e6  # everyone sends to rank 0 (a hot expert)
    got = collective_time(hgx.topology, "all_to_all", devs(), 0.0, NetworkSpec(mode="analytic"), m)
    assert got.time_s == pytest.approx(7 * ALPHA + 7 * 8e6 / B)


def test_a_collective_over_unconnected_devices_is_a_clear_error(tmp_path, capsys):
    from sim.cli import main

    sysf = tmp_path / "islands.yaml"
    sysf.write_text(
        "kind: system\nname: islands\ndevices:\n  gpu: {preset: h100-sxm, count: 4}\n"
        "topology:\n  - {kind: switch, devices: [gpu], link: nvlink4, group_size: 2}\n"
        "parallel: {tp: 4}\n"
    )
    assert main(["run", "--hw", str(sysf), "--model", "gpt2", "--prompt", "8", "--generate", "1", "--no-chart"]) == 2
    err = capsys.readouterr().err
    assert "no link path" in err and "all_reduce spans" in err
    assert "Traceback" not in err


def test_ring_topology_routes_the_short_way_round():
    from sim.config.hardware import LinkConfig
    from sim.interconnect.topology import build_topology

    cfg = LinkConfig(name="l", type="nvlink", bandwidth="100 GB/s", latency="1 us")
    names = devs(6)
    from sim.config.hardware import TopologySpec

    t = build_topology(names, {"gpu": names}, [], [TopologySpec(kind="ring", devices=["gpu"], link="l")],
                       lambda ref, key: cfg)
    assert len(t.route("gpu[0]", "gpu[5]")) == 1
    assert len(t.route("gpu[0]", "gpu[3]")) == 3
    assert math.isinf(t.path_bandwidth([]))
