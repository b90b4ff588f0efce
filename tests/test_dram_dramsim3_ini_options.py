"""DRAMsim3 .ini options the dramsim3 profile must honour or refuse, and the end of a run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.dram.commands import REFAB
from sim.dram.configs import load_memory
from sim.dram.engine import simulate
from sim.errors import ConfigError

CFG = Path("/work/shared/data/dram_configs")
if not CFG.is_dir():  # the shared folder beside this checkout
    CFG = Path(__file__).resolve().parents[2] / "shared" / "data" / "dram_configs"
HBM2 = "dramsim3_HBM2_8Gb_x128.ini"
DDR4 = "dramsim3_DDR4_8Gb_x8_2400.ini"


def _ini(tmp_path: Path, base: str, section: str, line: str) -> Path:
    src = CFG / base
    if not src.exists():
        pytest.skip("shared DRAMsim3 configs not available")
    text = src.read_text().replace(f"[{section}]\n", f"[{section}]\n{line}\n", 1)
    p = tmp_path / base
    p.write_text(text)
    return p


def test_hbm_dual_cmd_false_is_honoured(tmp_path):
    off = load_memory(str(_ini(tmp_path, HBM2, "dram_structure", "hbm_dual_cmd = false")))
    on = load_memory(str(CFG / HBM2))
    assert on.controller.hbm_dual_cmd and not off.controller.hbm_dual_cmd
    rng = np.random.default_rng(1)
    n = 400
    addr = rng.integers(0, 1 << 30, n) // 64 * 64
    arrive = np.zeros(n, dtype=np.int64)
    w = np.zeros(n, dtype=bool)
    lg = simulate(off, arrive, addr, w, log_commands=True).command_log
    per_cycle = np.unique(lg["cycle"] * 64 + lg["channel"], return_counts=True)[1]
    assert per_cycle.max() == 1          # one command per channel and cycle without dual issue


@pytest.mark.parametrize("section,line", [("system", "unified_queue = true"),
                                          ("system", "enable_self_refresh = true")])
def test_unreproduced_options_are_refused(tmp_path, section, line):
    with pytest.raises(ConfigError):
        load_memory(str(_ini(tmp_path, DDR4, section, line)))


def test_per_rank_queue_structure_is_refused(tmp_path):
    p = _ini(tmp_path, DDR4, "system", "")
    p.write_text(p.read_text().replace("queue_structure = PER_BANK", "queue_structure = PER_RANK"))
    with pytest.raises(ConfigError):
        load_memory(str(p))


def test_refresh_due_while_the_last_read_is_in_flight_is_issued(tmp_path):
    # DDR4, 2 ranks: a refresh is inserted every tREFI / 2 = 4680 cycles. A read arriving so that
    # its RD (rank 1) issues just before 4680 completes after it: the controller keeps ticking to the
    # completion, so the REF (due at 4680) is in the log, as in DRAMsim3.
    if not (CFG / DDR4).exists():
        pytest.skip("no configs")
    spec = load_memory(str(CFG / DDR4))
    run = simulate(spec, np.array([4680 - 2 - 17 - 1], dtype=np.int64), np.array([1 << 17], dtype=np.uint64),
                   np.array([False]), log_commands=True)
    assert run.cycles > 4680
    assert run.commands["REF"] == 1


def test_simultaneous_refresh_refreshes_rank_0_only_as_dramsim3(tmp_path):
    """RANK_LEVEL_SIMULTANEOUS: DRAMsim3 inserts one refresh per tREFI, for rank 0 (its loop over ranks
    stops after the first); the default profile refreshes every rank."""
    p = _ini(tmp_path, DDR4, "system", "")
    p.write_text(p.read_text().replace("RANK_LEVEL_STAGGERED", "RANK_LEVEL_SIMULTANEOUS"))
    spec = load_memory(str(p))
    assert spec.org.ranks == 2 and spec.controller.refresh == "allbank"
    arrive = np.arange(0, 40_000, 100, dtype=np.int64)
    addr = np.arange(arrive.size, dtype=np.uint64) * np.uint64(64)
    w = np.zeros(arrive.size, dtype=bool)
    ds3 = simulate(spec, arrive, addr, w, log_commands=True).command_log
    run = simulate(spec, arrive, addr, w)
    n_ref = 40_000 // spec.timing.tREFI
    assert run.commands["REF"] == n_ref
    ranks = _ref_ranks(ds3)
    assert set(ranks) == {0}
    dflt = simulate(spec.with_controller(compat="default"), arrive, addr, w, log_commands=True).command_log
    assert sorted(set(_ref_ranks(dflt))) == [0, 1] and len(_ref_ranks(dflt)) == 2 * n_ref


def _ref_ranks(log) -> list[int]:
    return log["rank"][log["cmd"] == REFAB].tolist()
