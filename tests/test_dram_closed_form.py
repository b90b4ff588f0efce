"""Closed-form checks of the DRAM engine: numbers a DRAM timing sheet predicts, per profile.

Each test states the prediction and the tolerance; every one of them fails if a constraint is
dropped or applied twice.
"""

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

from sim.dram.commands import ACT, REFAB
from sim.dram.engine import simulate
from sim.dram.mapping import build_mapping, encode


def _one_channel_hbm2(compat: str):
    s = hbm2_dramsim3()
    return with_profile(replace(s, org=replace(s.org, channels=1)), compat)


def _stream(spec, n=12000):
    addr = np.arange(n, dtype=np.uint64) * np.uint64(build_mapping(spec).tx_bytes)
    return simulate(spec, np.zeros(n, np.int64), addr, np.zeros(n, bool))


def _trc_eff(spec) -> int:
    """ACT-to-ACT in one bank when every access needs a new row: tRC, or tRAS + tRP if longer
    (DRAMsim3 recomputes tRC = tRAS + tRP; Ramulator's PRE still waits tRAS)."""
    t = spec.timing
    return t.tRAS + t.tRP if spec.controller.compat == "dramsim3" else max(t.tRC, t.tRAS + t.tRP)


PEAK_CASES = {
    # bank groups interleaved at the lowest address bits, so tCCD_S = tBL limits the stream
    "default-ddr4": lambda: ddr4_2400("default", address_mapping="rochrabacobg"),
    "dramsim3-ddr4": lambda: ddr4_2400("dramsim3", address_mapping="rochrabacobg"),
    "ramulator2-ddr4": lambda: ddr4_2400_ramulator(address_mapping="RoBaRaCoBg"),
    "default-hbm2": lambda: _one_channel_hbm2("default"),
    "dramsim3-hbm2": lambda: _one_channel_hbm2("dramsim3"),
}


@pytest.mark.parametrize("case", sorted(PEAK_CASES))
def test_streaming_reads_reach_bus_peak_less_refresh(case):
    """Bandwidth = tx_bytes / (tBL tCK) x units x (1 - tRFC / tREFI), within 2 %."""
    spec = PEAK_CASES[case]()
    run = _stream(spec)
    t = spec.timing
    expect = spec.peak_bandwidth_Bps / 1e9 * (1 - t.tRFC / t.tREFI)
    assert run.unfinished == 0 and run.row_hits > 0.9 * run.requests
    assert run.bandwidth_GBps == pytest.approx(expect, rel=0.02)


def test_streaming_without_refresh_is_the_bus_peak():
    spec = ddr4_2400("default", address_mapping="rochrabacobg", refresh="none")
    run = _stream(spec)
    assert run.commands["REF"] == 0
    assert run.bandwidth_GBps == pytest.approx(spec.peak_bandwidth_Bps / 1e9, rel=0.01)


def test_same_bank_stream_is_limited_by_tccd_l():
    """Consecutive lines in one open row: one RD per max(tBL, tCCD_L) = 6 cycles (4 would be the bus)."""
    spec = ddr4_2400("default", address_mapping="chrabgbaroco", refresh="none")
    n = 2000
    addr = np.arange(n, dtype=np.uint64) * np.uint64(64)
    run = simulate(spec, np.zeros(n, np.int64), addr, np.zeros(n, bool), log_commands=True)
    rd = run.command_log[run.command_log["cmd"] == 2]
    t = spec.timing
    same_row = np.diff(rd["row"]) == 0
    assert np.all(np.diff(rd["cycle"])[same_row] == max(t.tBL, t.tCCD_L))


def _bursts_per_row(spec) -> int:
    return 1 << build_mapping(spec).widths["co"]


def _pingpong(spec, n=256):
    m = build_mapping(spec)
    per_row = _bursts_per_row(spec)
    addr = np.array([encode(m, row=1 + 7 * (i % 2), column=(i // 2) % per_row) for i in range(n)],
                    dtype=np.uint64)
    return simulate(spec, np.zeros(n, np.int64), addr, np.zeros(n, bool), log_commands=True)


def test_two_row_pingpong_fcfs_costs_trc_per_access():
    """Strict FCFS alternation between two rows of one bank: one access per tRC."""
    spec = ddr4_2400("default", scheduler="fcfs", refresh="none")
    run = _pingpong(spec)
    assert run.commands["ACT"] == run.requests
    assert run.cycles == pytest.approx(run.requests * spec.timing.tRC, rel=0.02)


ONE_BANK = {
    "default": lambda: ddr4_2400("default", refresh="none"),
    "dramsim3-ddr4": lambda: ddr4_2400("dramsim3", refresh="none"),
    "ramulator2-ddr4": lambda: ddr4_2400_ramulator(refresh="none"),
    "dramsim3-hbm2": lambda: hbm2_dramsim3(refresh="none"),
    "ramulator2-hbm2": hbm2_ramulator,
    "dramsim3-gddr6": lambda: gddr6_dramsim3(refresh="none"),
}


@pytest.mark.parametrize("case", sorted(ONE_BANK))
def test_two_row_pingpong_is_bounded_by_trc(case):
    """Row switches in one bank are at least tRC apart (schedulers that reorder batch the hits)."""
    spec = ONE_BANK[case]()
    run = _pingpong(spec)
    lg = run.command_log
    acts = lg[lg["cmd"] == ACT]["cycle"]
    assert len(acts) >= 3 and len(set(lg["channel"].tolist())) == 1
    assert np.diff(acts).min() >= _trc_eff(spec)
    assert run.cycles >= (len(acts) - 1) * _trc_eff(spec)


@pytest.mark.parametrize("case", sorted(ONE_BANK))
def test_row_miss_stream_in_one_bank_runs_at_trc(case):
    """Every request a new row of the same bank: one access per tRC (tRAS + tRP when longer)."""
    spec = ONE_BANK[case]()
    m = build_mapping(spec)
    n = 300
    per_row = _bursts_per_row(spec)
    addr = np.array([encode(m, row=1 + i, column=i % per_row) for i in range(n)], dtype=np.uint64)
    run = simulate(spec, np.zeros(n, np.int64), addr, np.zeros(n, bool), log_commands=True)
    acts = run.command_log[run.command_log["cmd"] == ACT]["cycle"]
    assert len(acts) == n
    assert set(np.diff(acts).tolist()) == {_trc_eff(spec)}
    assert run.cycles == pytest.approx(n * _trc_eff(spec), rel=0.02)


FAW = {
    "default": lambda: ddr4_2400("default", refresh="none"),
    "dramsim3": lambda: ddr4_2400("dramsim3", refresh="none"),
    "ramulator2": lambda: ddr4_2400_ramulator(refresh="none"),
}


@pytest.mark.parametrize("case", sorted(FAW))
def test_four_activate_window(case):
    """Row misses spread over the 16 banks of a rank: ACTs at 4 per tFAW (tFAW > 4 tRRD_S here)."""
    spec = FAW[case]()
    m = build_mapping(spec)
    n = 1200
    addr = np.array([encode(m, bankgroup=i % 4, bank=(i // 4) % 4, row=1 + i // 16) for i in range(n)],
                    dtype=np.uint64)
    run = simulate(spec, np.zeros(n, np.int64), addr, np.zeros(n, bool), log_commands=True)
    acts = run.command_log[run.command_log["cmd"] == ACT]["cycle"]
    t = spec.timing
    assert t.tFAW > 4 * t.tRRD_S
    assert (acts[4:] - acts[:-4]).min() == t.tFAW
    per_act = (acts[-1] - acts[0]) / (len(acts) - 1)
    assert per_act == pytest.approx(t.tFAW / 4, rel=0.03)


def test_gddr6_32_activate_window():
    """GDDR6 (DRAMsim3 config): t32AW = 420 binds before tFAW: 32 ACTs per 420 cycles."""
    spec = gddr6_dramsim3(refresh="none")
    m = build_mapping(spec)
    n = 1200
    addr = np.array([encode(m, bank=i % 16, row=1 + i // 16) for i in range(n)], dtype=np.uint64)
    run = simulate(spec, np.zeros(n, np.int64), addr, np.zeros(n, bool), log_commands=True)
    acts = run.command_log[run.command_log["cmd"] == ACT]["cycle"]
    assert (acts[32:] - acts[:-32]).min() >= spec.timing.t32AW
    assert (acts[4:] - acts[:-4]).min() >= spec.timing.tFAW
    assert (acts[-1] - acts[0]) / (len(acts) - 1) == pytest.approx(spec.timing.t32AW / 32, rel=0.03)


REFRESH = {
    "default-allbank": lambda: ddr4_2400("default", refresh="allbank"),
    "default-staggered": lambda: ddr4_2400("default", refresh="staggered"),
    "dramsim3": lambda: ddr4_2400("dramsim3"),
    "ramulator2": ddr4_2400_ramulator,
    "dramsim3-hbm2": hbm2_dramsim3,
}


@pytest.mark.parametrize("case", sorted(REFRESH))
def test_refresh_share_is_trfc_over_trefi(case):
    """A sparse trace over ~12 tREFI: one REF per rank per tREFI, busy tRFC each."""
    spec = REFRESH[case]()
    t = spec.timing
    n = 1100
    rng = np.random.default_rng(5)
    addr = (rng.integers(0, 1 << 24, n).astype(np.uint64) << np.uint64(6))
    arrive = np.arange(n, dtype=np.int64) * 100
    run = simulate(spec, arrive, addr, np.zeros(n, bool), log_commands=True)
    refs = run.cmd_counts[..., REFAB]
    expect = run.cycles // t.tREFI
    assert np.all(np.abs(refs - expect) <= 1)
    share = run.rank_refresh_cycles / run.cycles
    assert np.allclose(share, t.tRFC / t.tREFI, rtol=0.1)
    assert not check_log(spec, run.command_log, max_cmds_per_cycle=2)


def test_ramulator_hbm2_is_never_refreshed():
    run = _stream(hbm2_ramulator(), n=4000)
    assert run.commands["REF"] == 0 and run.commands["PREA"] == 0


IDLE = {
    "default-ddr4": (lambda: ddr4_2400("default"), 0),
    "dramsim3-ddr4": (lambda: ddr4_2400("dramsim3"), 1),
    "ramulator2-ddr4": (ddr4_2400_ramulator, 1),
    "default-hbm2": (lambda: with_profile(hbm2_dramsim3(), "default"), 0),
    "dramsim3-hbm2": (hbm2_dramsim3, 1),
    "ramulator2-hbm2": (hbm2_ramulator, 1),
    "dramsim3-gddr6": (gddr6_dramsim3, 1),
}


@pytest.mark.parametrize("case", sorted(IDLE))
def test_idle_bank_read_latency(case):
    """tRCD + CL + tBL; the DRAMsim3 and Ramulator frontends add one cycle before the first command."""
    make, extra = IDLE[case]
    spec = make()
    t = spec.timing
    m = build_mapping(spec)
    arrive = np.array([0, 1000], dtype=np.int64)
    addr = np.array([0, encode(m, bank=1, row=3)], dtype=np.uint64)
    run = simulate(spec, arrive, addr, np.zeros(2, bool))
    assert run.read_latencies.tolist() == [t.tRCD_RD + t.CL + t.tBL + extra] * 2
    assert run.row_misses == 2


@pytest.mark.parametrize("compat", ["default", "dramsim3", "ramulator2"])
def test_deterministic(compat):
    spec = ddr4_2400_ramulator() if compat == "ramulator2" else ddr4_2400(compat)
    rng = np.random.default_rng(11)
    n = 3000
    addr = rng.integers(0, 1 << 26, n).astype(np.uint64) << np.uint64(6)
    w = rng.random(n) < 0.3
    arrive = np.cumsum(rng.integers(0, 4, n))
    a = simulate(spec, arrive, addr, w, log_commands=True)
    b = simulate(spec, arrive, addr, w, log_commands=True)
    assert a.cycles == b.cycles
    assert np.array_equal(a.done_cycles, b.done_cycles)
    assert np.array_equal(a.command_log, b.command_log)
