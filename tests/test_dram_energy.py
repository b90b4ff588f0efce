"""DRAM energy: IDD formulas in joules, per-command tables, sum of parts, the DRAMsim3 unit trap."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from sim.dram.commands import ACT, N_COMMANDS, PRE, RD, RDA, REFAB, WR
from sim.dram.configs import load_memory
from sim.dram.energy import COMPONENTS, average_power_W, dram_energy, energy_modelled


def _run(spec, counts: dict[int, int], cycles: int, active: int, refresh: int = 0):
    """A fake run: commands on (unit 0, rank 0), the other ranks idle."""
    o = spec.org
    cmd = np.zeros((o.units, o.ranks, N_COMMANDS), dtype=np.int64)
    for c, n in counts.items():
        cmd[0, 0, c] = n
    act = np.zeros((o.units, o.ranks), dtype=np.int64)
    ref = np.zeros((o.units, o.ranks), dtype=np.int64)
    act[0, 0], ref[0, 0] = active, refresh
    return SimpleNamespace(cmd_counts=cmd, rank_active_cycles=act, rank_refresh_cycles=ref, cycles=cycles,
                           seconds=cycles * spec.timing.tCK_ns * 1e-9)


def test_closed_form_idd_example():
    # DRAMsim3 DDR4_8Gb_x8_2400 currents; 1 channel x 2 ranks of 8 x8 devices.
    spec = load_memory("dramsim3-ddr4-2400", compat="default")
    t, dev, vdd, tck = spec.timing, 8, 1.2, 0.83e-9
    run = _run(spec, {ACT: 10, PRE: 10, RD: 100, RDA: 4, WR: 50, REFAB: 2}, cycles=10_000, active=6_000,
               refresh=840)
    e = dram_energy(spec, run, model="drampower")
    # activate/precharge: N * VDD * (IDD0*(tRAS+tRP) - IDD3N*tRAS - IDD2N*tRP) * tCK * devices
    act = 10 * vdd * (48e-3 * (39 + 17) - 43e-3 * 39 - 34e-3 * 17) * tck * dev
    rd = 104 * vdd * (135e-3 - 43e-3) * 4 * tck * dev
    wr = 50 * vdd * (123e-3 - 43e-3) * 4 * tck * dev
    ref = 2 * vdd * (250e-3 - 43e-3) * 420 * tck * dev
    # background: rank 0 active 6000 + refresh 840 cycles at IDD3N, the rest at IDD2N; rank 1 idle
    bg = vdd * (43e-3 * (6000 + 840) + 34e-3 * (10_000 - 6840) + 34e-3 * 10_000) * tck * dev
    assert e["activate_precharge"] == pytest.approx(act)
    assert e["read"] == pytest.approx(rd)
    assert e["write"] == pytest.approx(wr)
    assert e["refresh"] == pytest.approx(ref)
    assert e["background"] == pytest.approx(bg)
    assert e["io"] == 0.0
    assert e["total"] == pytest.approx(sum(e[k] for k in COMPONENTS))
    assert set(e) == set(COMPONENTS) | {"total"}
    assert t.tBL == 4
    # magnitudes in joules: one ACT/PRE pair of a DDR4 rank is a few nJ, one burst ~ 1 nJ
    assert 1e-9 < act / 10 < 10e-9 and 0.3e-9 < rd / 104 < 3e-9
    assert average_power_W(e, run) == pytest.approx(e["total"] / (10_000 * tck))


def test_dramsim3_units_trap():
    """DRAMsim3 reports V * mA * cycles as "pJ": times tCK (ns) it is pJ, which is what we compute."""
    spec = load_memory("dramsim3-ddr4-2400")
    run = _run(spec, {RD: 1}, cycles=0, active=0)
    dramsim3_label = 1.2 * (135 - 43) * 4 * 8           # read_energy_inc of DRAMsim3, "pJ"
    assert dram_energy(spec, run)["read"] == pytest.approx(dramsim3_label * 0.83 * 1e-12)


def test_refresh_background_models_differ_by_idd3n_minus_idd2n():
    spec = load_memory("dramsim3-ddr4-2400")
    run = _run(spec, {REFAB: 3}, cycles=5_000, active=0, refresh=3 * 420)
    a = dram_energy(spec, run, model="drampower")
    b = dram_energy(spec, run, model="dramsim3")
    assert dram_energy(spec, run) == b            # the dramsim3 profile picks DRAMsim3's accounting
    diff = 1.2 * (43e-3 - 34e-3) * 3 * 420 * 0.83e-9 * 8
    assert a["background"] - b["background"] == pytest.approx(diff)
    assert a["refresh"] == b["refresh"]


def test_per_command_table_and_io():
    spec = load_memory("hbm3")
    run = _run(spec, {ACT: 3, RD: 10, WR: 5}, cycles=1000, active=100)
    e = dram_energy(spec, run)
    assert e["activate_precharge"] == pytest.approx(3 * 0.9e-9)
    assert e["read"] == pytest.approx(10 * 0.814e-9) and e["write"] == pytest.approx(5 * 0.814e-9)
    assert e["io"] == pytest.approx(0.3e-12 * 15 * 32 * 8)
    assert e["background"] == 0.0 and e["total"] == pytest.approx(sum(e[k] for k in COMPONENTS))


def test_direct_background_power():
    spec = load_memory("ddr4-2400")
    spec = replace(spec, power=replace(spec.power, background_W=0.25))
    run = _run(spec, {}, cycles=1_000_000, active=0)
    seconds = 1_000_000 * spec.timing.tCK_ns * 1e-9
    assert dram_energy(spec, run)["background"] == pytest.approx(0.25 * 2 * seconds)


def test_unmodelled_memory_reports_zero():
    spec = load_memory("ddr5-4800")
    assert not energy_modelled(spec) and energy_modelled(load_memory("ddr4-2400"))
    e = dram_energy(spec, _run(spec, {ACT: 5, RD: 5}, cycles=100, active=50))
    assert e["total"] == 0.0
    with pytest.raises(ValueError, match="unknown energy model"):
        dram_energy(spec, _run(spec, {}, 1, 0), model="vampire")


def test_energy_of_a_real_run_is_plausible():
    engine = pytest.importorskip("sim.dram.engine")
    spec = load_memory("ramulator2-ddr4-2400")
    rng = np.random.default_rng(5)
    n = 2000
    run = engine.simulate(spec, np.sort(rng.integers(0, 4 * n, n)),
                          rng.integers(0, 1 << 28, n).astype(np.uint64) * np.uint64(64), rng.random(n) < 0.3)
    e = dram_energy(spec, run)
    assert all(e[k] >= 0 for k in COMPONENTS)
    assert e["total"] == pytest.approx(sum(e[k] for k in COMPONENTS))
    power = average_power_W(e, run)
    assert 0.5 < power < 20, power                 # a busy dual-rank DDR4 DIMM draws a few watts
