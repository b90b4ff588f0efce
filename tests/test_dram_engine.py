"""DRAM engine: protocol legality of every profile, input validation, and the behaviours each
compat profile reproduces (queues, merging, forwarding, write drain, refresh, dual issue)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from dram_specs import (
    check_log,
    ddr4_2400,
    ddr4_2400_ramulator,
    gddr6_dramsim3,
    hbm2_dramsim3,
    hbm2_ramulator,
    with_profile,
)

from sim.dram.commands import ACT, LOG_DTYPE, N_COMMANDS, PRE, RD, RDA, REFPB, WR, WRA
from sim.dram.engine import simulate
from sim.dram.mapping import build_mapping, encode
from sim.dram.timing import build_table
from sim.errors import ConfigError, TraceError

SPECS = {
    "default-ddr4": lambda: ddr4_2400("default"),
    "default-ddr4-closed": lambda: ddr4_2400("default", page_policy="closed"),
    "default-ddr4-timeout": lambda: ddr4_2400("default", page_policy="timeout", page_timeout=50),
    "default-ddr4-fcfs": lambda: ddr4_2400("default", scheduler="fcfs"),
    "default-hbm2": lambda: with_profile(hbm2_dramsim3(), "default"),
    "default-gddr6": lambda: with_profile(gddr6_dramsim3(), "default"),
    "dramsim3-ddr4": lambda: ddr4_2400("dramsim3"),
    "dramsim3-ddr4-closed": lambda: ddr4_2400("dramsim3", page_policy="closed"),
    "dramsim3-hbm2": hbm2_dramsim3,
    "dramsim3-gddr6": gddr6_dramsim3,
    "ramulator2-ddr4": ddr4_2400_ramulator,
    "ramulator2-hbm2": hbm2_ramulator,
}


def _mixed(spec, n=1500, seed=3, span=1 << 22):
    rng = np.random.default_rng(seed)
    cap = build_mapping(spec).capacity_bytes
    addr = (rng.integers(0, min(cap, span) >> 6, n).astype(np.uint64) << np.uint64(6))
    w = rng.random(n) < 0.3
    arrive = np.cumsum(rng.integers(0, 5, n))
    return arrive, addr, w


@pytest.mark.parametrize("case", sorted(SPECS))
def test_command_log_obeys_the_timing_table(case):
    spec = SPECS[case]()
    arrive, addr, w = _mixed(spec)
    run = simulate(spec, arrive, addr, w, log_commands=True)
    dual = spec.org.standard.startswith("HBM") and spec.controller.compat != "ramulator2"
    assert check_log(spec, run.command_log, max_cmds_per_cycle=2 if dual else 1) == []
    # every request either completed or is reported as unfinished
    assert run.unfinished == int(np.sum(run.done_cycles < 0))
    assert run.cycles == int(run.done_cycles.max())
    lg = run.command_log
    assert lg.dtype == LOG_DTYPE and len(lg) == sum(run.commands.values())
    assert np.all(np.diff(lg["cycle"]) >= 0)
    assert run.cmd_counts.shape == (spec.org.units, spec.org.ranks, N_COMMANDS)
    col = run.commands["RD"] + run.commands["RDA"] + run.commands["WR"] + run.commands["WRA"]
    assert run.row_hits + run.row_misses + run.row_conflicts == col
    assert np.all(run.rank_active_cycles <= run.cycles) and run.rank_active_cycles.sum() > 0


def test_checker_catches_a_violation():
    spec = ddr4_2400("default")
    arrive, addr, w = _mixed(spec, n=300)
    lg = simulate(spec, arrive, addr, w, log_commands=True).command_log.copy()
    i = int(np.flatnonzero(lg["cmd"] == RD)[5])
    lg["cycle"][i:] -= 3          # pull a RD (and all after it) three cycles earlier
    assert check_log(spec, lg)


def test_trace_validation():
    spec = ddr4_2400()
    with pytest.raises(TraceError):
        simulate(spec, np.array([5, 3]), np.array([0, 64]), np.array([False, False]))
    with pytest.raises(TraceError):
        simulate(spec, np.array([0]), np.array([build_mapping(spec).capacity_bytes]), np.array([False]))
    with pytest.raises(TraceError):
        simulate(spec, np.array([0, 1]), np.array([0]), np.array([False, False]))
    with pytest.raises(ConfigError):
        simulate(spec.with_controller(compat="dramsim2"), np.array([0]), np.array([0]), np.array([False]))
    with pytest.raises(ConfigError):
        simulate(ddr4_2400_ramulator(page_policy="closed"), np.array([0]), np.array([0]), np.array([False]))
    empty = simulate(spec, np.zeros(0, np.int64), np.zeros(0, np.uint64), np.zeros(0, bool))
    assert empty.requests == 0 and empty.cycles == 0 and empty.bandwidth_GBps == 0.0


def _same_bank_burst(spec, n, row_of=lambda i: 1 + i, write=False, arrive=None):
    m = build_mapping(spec)
    addr = np.array([encode(m, row=row_of(i)) for i in range(n)], dtype=np.uint64)
    a = np.zeros(n, np.int64) if arrive is None else arrive
    return simulate(spec, a, addr, np.full(n, write), log_commands=True)


@pytest.mark.parametrize("case,capacity", [("default", 32), ("dramsim3", 40), ("ramulator2", 34)])
def test_read_queue_capacity_stalls_the_frontend(case, capacity):
    """Requests at cycle 0 to one bank, slow tRCD so none completes early: the frontend stalls after
    the read queue fills. default: 32 entries; DRAMsim3: 32 + the 8-entry bank command queue;
    Ramulator: ``size <= max_size`` admits 33, plus the request whose ACT moved it to the active buffer."""
    spec = ddr4_2400_ramulator() if case == "ramulator2" else ddr4_2400(case)
    spec = replace(spec, timing=replace(spec.timing, tRCD_RD=200, tRCD_WR=200, tRAS=300, tRC=320))
    run = _same_bank_burst(spec, 60)
    acc = run.accept_cycles
    lag = 1 if case == "dramsim3" else 0      # accept stamps: DRAMsim3 added_cycle, Ramulator arrive
    assert acc[:capacity].tolist() == [i + lag for i in range(capacity)]
    assert acc[capacity] > acc[capacity - 1] + 100


def test_dramsim3_merges_duplicate_reads_and_forwards_from_writes():
    spec = ddr4_2400("dramsim3")
    addr = np.array([4096, 4096, 4096, 8192, 8192], dtype=np.uint64)
    w = np.array([False, False, False, True, False])
    run = simulate(spec, np.arange(5, dtype=np.int64), addr, w, log_commands=True)
    assert run.commands["RD"] == 1 and run.merged_requests == 2 and run.forwarded_reads == 1
    lat = run.read_latencies.tolist()
    assert lat[3] == 1                                      # forwarded: the next cycle
    assert run.done_cycles[0] == run.done_cycles[1] == run.done_cycles[2]


def test_dramsim3_small_write_batches_are_never_drained():
    """DRAMsim3 drains the write buffer only when full, or with > 8 writes and empty command queues."""
    spec = ddr4_2400("dramsim3")
    few = _same_bank_burst(spec, 8, write=True)
    assert few.commands["WR"] == 0 and few.extra["writes_undrained"] == 8 and few.unfinished == 8
    many = _same_bank_burst(spec, 9, write=True)
    assert many.commands["WR"] == 9 and many.unfinished == 0


@pytest.mark.parametrize("rtp,first_run", [(2, 4), (9, 11)])
def test_dramsim3_four_hit_precharge_cap(rtp, first_run):
    """Queue [row1, row2, row1 x 10] in one bank. A PRE for the row-2 entry is allowed once row 1
    served 4 hits *and* the PRE is timing-ready; with tRTP > tCCD_L every RD pushes the PRE back, so
    all row-1 hits go first."""
    spec = ddr4_2400("dramsim3", refresh="none")
    spec = replace(spec, timing=replace(spec.timing, tRTP=rtp))
    m = build_mapping(spec)
    rows = [1, 2] + [1] * 10
    addr = np.array([encode(m, row=r, column=i) for i, r in enumerate(rows)], dtype=np.uint64)
    run = simulate(spec, np.zeros(len(rows), np.int64), addr, np.zeros(len(rows), bool), log_commands=True)
    rd_rows = run.command_log[run.command_log["cmd"] == RD]["row"].tolist()
    assert rd_rows[:first_run] == [1] * first_run and rd_rows[first_run] == 2


def test_dramsim3_hbm_dual_issue_pairs_a_column_with_a_row_command():
    spec = hbm2_dramsim3()
    arrive, addr, w = _mixed(spec, n=3000, span=1 << 20)
    lg = simulate(spec, arrive, addr, w, log_commands=True).command_log
    key = lg["channel"].astype(np.int64) * (1 << 40) + lg["cycle"]
    uniq, cnt = np.unique(key, return_counts=True)
    doubles = np.isin(key, uniq[cnt == 2])
    assert doubles.sum() > 0
    col = np.isin(lg["cmd"], [RD, WR, RDA, WRA])
    for k in uniq[cnt == 2]:
        assert col[key == k].sum() == 1
    ddr = replace(spec, org=replace(spec.org, standard="DDR4"))        # no dual issue outside HBM
    assert check_log(ddr, simulate(ddr, arrive, addr, w, log_commands=True).command_log) == []


def test_ramulator_forwards_reads_from_the_write_buffer():
    """Two reads to two rows of one bank keep read mode; the write waits in the write buffer and
    the read of its address departs the next cycle."""
    spec = ddr4_2400_ramulator()
    m = build_mapping(spec)
    x = encode(m, bankgroup=2, row=9)
    addr = np.array([encode(m, row=1), encode(m, row=2), x, x], dtype=np.uint64)
    run = simulate(spec, np.zeros(4, np.int64), addr, np.array([False, False, True, False]))
    assert run.forwarded_reads == 1 and run.commands["RD"] == 2
    assert run.read_latencies[-1] == 1


def test_ramulator_hbm2_16B_transactions_reach_two_channels_only():
    spec = hbm2_ramulator()
    n = 512
    addr = np.arange(n, dtype=np.uint64) * np.uint64(64)
    run = simulate(spec, np.zeros(n, np.int64), addr, np.zeros(n, bool), log_commands=True)
    ch = set((run.command_log["channel"] // spec.org.pseudo_channels).tolist())
    assert ch == {0, 4}
    wide = simulate(hbm2_ramulator(channel_width=256), np.zeros(n, np.int64), addr, np.zeros(n, bool),
                    log_commands=True)
    assert set((wide.command_log["channel"] // 2).tolist()) == set(range(8))


@pytest.mark.parametrize("n_w,late", [(10, True), (30, False)])
def test_ramulator_write_mode_watermarks(n_w, late):
    """Writes inserted into a read stream: below 0.8 x 32 buffered writes they wait until the read
    buffer empties; above it the controller switches to write mode mid-stream."""
    spec = ddr4_2400_ramulator(refresh="none")
    m = build_mapping(spec)
    reads = [encode(m, bankgroup=i % 4, bank=(i // 4) % 4, row=1 + i // 16) for i in range(300)]
    writes = [encode(m, rank=1, bankgroup=i % 4, row=900 + i) for i in range(n_w)]
    addr = np.array(reads[:20] + writes + reads[20:], dtype=np.uint64)
    w = np.array([False] * 20 + [True] * n_w + [False] * 280)
    run = simulate(spec, np.zeros(len(addr), np.int64), addr, w)
    first_write = run.done_cycles[w].min()
    rd = np.sort(run.done_cycles[~w])
    if late:
        assert first_write > rd[int(0.9 * len(rd))]
    else:
        assert first_write < rd[len(rd) // 2]


def test_default_closed_page_uses_auto_precharge():
    spec = ddr4_2400("default", page_policy="closed")
    arrive, addr, w = _mixed(spec, n=500)
    run = simulate(spec, arrive, addr, w)
    assert run.commands["RDA"] + run.commands["WRA"] > 0.5 * run.requests


def test_default_timeout_page_policy_closes_idle_rows():
    spec = ddr4_2400("default", page_policy="timeout", page_timeout=200, refresh="none")
    far = encode(build_mapping(spec), bankgroup=3, row=5)
    run = simulate(spec, np.array([0, 1000]), np.array([0, far], dtype=np.uint64), np.array([False, False]),
                   log_commands=True)
    lg = run.command_log
    assert lg["cmd"].tolist()[:3] == [ACT, RD, PRE]
    assert lg["cycle"][2] == lg["cycle"][1] + 200


def test_default_per_bank_refresh():
    spec = ddr4_2400("default", refresh="perbank")
    spec = replace(spec, timing=replace(spec.timing, tREFIpb=9360 // 16, tRFCpb=120))
    arrive = np.arange(400, dtype=np.int64) * 50
    rng = np.random.default_rng(2)
    addr = rng.integers(0, 1 << 22, 400).astype(np.uint64) << np.uint64(6)
    run = simulate(spec, arrive, addr, np.zeros(400, bool), log_commands=True)
    assert run.commands["REF"] == 0
    per_rank = run.cmd_counts[..., REFPB]
    assert np.all(np.abs(per_rank - run.cycles // (9360 // 16)) <= 1)
    assert check_log(spec, run.command_log) == []


def test_default_write_forwarding_and_merging():
    spec = ddr4_2400("default")
    addr = np.array([4096, 4096 + 8, 4096], dtype=np.uint64)      # same 64 B line
    run = simulate(spec, np.array([0, 1, 2]), addr, np.array([True, True, False]))
    assert run.merged_requests == 1 and run.forwarded_reads == 1 and run.read_latencies.tolist() == [1]


def test_low_load_latency_and_idle_skipping():
    """One read every 1000 cycles to random rows: the kernel only works around the requests."""
    spec = ddr4_2400("default")
    n = 200
    rng = np.random.default_rng(4)
    addr = rng.integers(0, 1 << 26, n).astype(np.uint64) << np.uint64(6)
    run = simulate(spec, np.arange(n, dtype=np.int64) * 1000, addr, np.zeros(n, bool))
    t = spec.timing
    assert run.read_latency_p50_cycles <= t.tRP + t.tRCD_RD + t.CL + t.tBL
    assert run.extra["kernel_iterations"] < 20 * n


def test_summary_and_units():
    spec = ddr4_2400("default")
    arrive, addr, w = _mixed(spec, n=400)
    run = simulate(spec, arrive, addr, w)
    s = run.summary()
    assert s["requests"] == 400 and s["reads"] + s["writes"] == 400
    assert run.seconds == pytest.approx(run.cycles * spec.timing.tCK_ns * 1e-9)
    assert run.bandwidth_GBps == pytest.approx(400 * 64 / run.seconds / 1e9)
    assert run.read_latency_mean_ns == pytest.approx(run.read_latency_mean_cycles * spec.timing.tCK_ns)
    assert run.sim_wall_s > 0


def test_timing_tables_are_data():
    for make in (ddr4_2400, lambda: ddr4_2400("dramsim3"), ddr4_2400_ramulator, hbm2_ramulator):
        spec = make()
        tb = build_table(spec)
        assert tb.rows.shape[1] == 4 and tb.start[-1] == len(tb.rows)
        assert tb.levels.shape[1] == 4 and tb.level_start[-1, -1] == len(tb.levels)
        assert any("ACT window" in line for line in tb.describe())
    d = build_table(ddr4_2400("dramsim3"))
    t = ddr4_2400().timing
    assert d.delay(RD, WR, 1) == t.CL + t.tBL - t.CWL + t.tRTRS
    assert d.delay(WR, RD, 8) == max(0, t.CWL + t.tBL + t.tRTRS - t.CL)
    assert d.delay(ACT, ACT, 1) == t.tRAS + t.tRP


@pytest.mark.parametrize("case", ["default-ddr4", "default-hbm2", "default-ddr4-timeout", "dramsim3-ddr4",
                                  "dramsim3-hbm2", "ramulator2-ddr4", "ramulator2-hbm2"])
def test_idle_skipping_is_exact(case):
    """Jumping over cycles in which nothing can happen gives the same commands as ticking every cycle."""
    spec = SPECS[case]()
    arrive, addr, w = _mixed(spec, n=800, span=1 << 20)
    a = simulate(spec, arrive, addr, w, log_commands=True)
    b = simulate(spec, arrive, addr, w, log_commands=True, idle_skip=False)
    assert np.array_equal(a.command_log, b.command_log)
    assert np.array_equal(a.done_cycles, b.done_cycles) and np.array_equal(a.accept_cycles, b.accept_cycles)
    assert a.extra["unit_ticks"] < b.extra["unit_ticks"]
