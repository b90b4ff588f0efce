"""The DRAMsim3 / Ramulator 2.0 reference configurations as the engine runs them: every shipped
``dramsim3-*`` / ``ramulator2-*`` preset and every shared reference file loads, runs a mixed trace under
its own profile and yields a command log that the independent checker accepts under that profile's
rules; and the capacity equals the reference simulator's, so every address it accepts is accepted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.config import list_presets
from sim.dram.checker import check_log, format_violations
from sim.dram.configs import load_memory
from sim.dram.engine import simulate
from sim.dram.mapping import build_mapping

DATA = Path("/work/shared/data/dram_configs")
if not DATA.is_dir():  # the repository's own copy, when the shared folder is elsewhere
    DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "dram_configs"

PRESETS = sorted(n for n in list_presets()["memories"] if n.startswith(("dramsim3-", "ramulator2-")))
FILES = sorted(str(p) for p in DATA.glob("*")) if DATA.is_dir() else []

#: DRAMsim3: channels x channel_size (MB), with GDDR6's 4096 MB raised to one 8192 MB rank.
DRAMSIM3_CAPACITY = {"DDR4_8Gb_x8_2400": 1 * 16384 << 20, "HBM2_8Gb_x128": 8 * 1024 << 20,
                     "GDDR6_8Gb_x16": 1 * 8192 << 20}
DRAMSIM3_PRESET = {"DDR4_8Gb_x8_2400": "dramsim3-ddr4-2400", "HBM2_8Gb_x128": "dramsim3-hbm2",
                   "GDDR6_8Gb_x16": "dramsim3-gddr6"}


def _mixed_trace(capacity: int, n: int = 700, seed: int = 5) -> tuple[np.ndarray, ...]:
    """70/30 reads/writes, half of them in a few hot rows, arrivals 0-3 cycles apart, addresses over
    the whole capacity (the last line included)."""
    rng = np.random.default_rng(seed)
    lines = capacity // 64
    addr = rng.integers(0, lines, n).astype(np.uint64)
    hot = rng.random(n) < 0.5
    addr[hot] = rng.integers(0, 4, int(hot.sum())).astype(np.uint64) * np.uint64(4096) + np.arange(
        int(hot.sum()), dtype=np.uint64) % np.uint64(64)
    addr[-1] = lines - 1
    arrive = np.cumsum(rng.integers(0, 4, n)).astype(np.int64)
    return arrive, addr * np.uint64(64), rng.random(n) < 0.3


@pytest.mark.parametrize("ref", PRESETS + FILES, ids=lambda r: Path(r).name)
def test_reference_config_logs_pass_the_checker_under_their_profile(ref):
    spec = load_memory(ref)
    assert spec.controller.compat in ("dramsim3", "ramulator2")
    cap = build_mapping(spec).capacity_bytes
    arrive, addr, w = _mixed_trace(cap)
    run = simulate(spec, arrive, addr, w, log_commands=True)
    assert run.command_log.size > arrive.size // 2
    # unfinished requests only where DRAMsim3 leaves writes in its buffer (docs/dram.md)
    assert run.unfinished == 0 or (spec.controller.compat == "dramsim3" and run.extra["writes_undrained"] > 0)
    violations = check_log(run.command_log, spec, profile=spec.controller.compat, end_cycle=run.cycles)
    assert not violations, format_violations(violations, run.command_log)


def test_every_reference_preset_and_file_is_covered():
    assert {"dramsim3-ddr4-2400", "dramsim3-hbm2", "dramsim3-gddr6", "ramulator2-ddr4-2400", "ramulator2-hbm2",
            "ramulator2-hbm2-cw256"} <= set(PRESETS)
    if DATA.is_dir():
        assert len(FILES) == 6


@pytest.mark.skipif(not DATA.is_dir(), reason="shared DRAM configs not available")
@pytest.mark.parametrize("stem", sorted(DRAMSIM3_CAPACITY))
def test_dramsim3_capacity_accounts_for_the_column_normalisation(stem):
    """DRAMsim3 keeps raw .ini columns and normalises them internally (x2 HBM, x BL GDDR): the capacity,
    under every profile's address rule, is DRAMsim3's channels x channel_size, and its top line decodes."""
    expected = DRAMSIM3_CAPACITY[stem]
    for compat in ("dramsim3", "default", "ramulator2"):
        spec = load_memory(str(DATA / f"dramsim3_{stem}.ini"), compat=compat)
        assert spec.org.capacity_bytes == expected
        m = build_mapping(spec)
        assert m.capacity_bytes == expected, compat
    spec = load_memory(DRAMSIM3_PRESET[stem])
    assert spec.org.capacity_bytes == expected
    assert spec.org.row_bytes * spec.org.rows * spec.org.banks * spec.org.ranks * spec.org.units == expected
    top = np.array([expected - 64], dtype=np.uint64)
    run = simulate(spec, np.zeros(1, np.int64), top, np.zeros(1, bool))
    assert run.unfinished == 0 and run.reads == 1


def test_ramulator2_hbm2_presets_are_8_channels_of_2_pseudo_channels():
    for name, tx in (("ramulator2-hbm2", 16), ("ramulator2-hbm2-cw256", 64)):
        spec = load_memory(name)
        o = spec.org
        assert (o.channels, o.pseudo_channels, o.ranks, o.burst_length, o.tx_bytes) == (8, 2, 1, 2, tx)
        assert o.bus_width_bits == tx * 8 // 2
        assert spec.timing.tRTRS == 2 and spec.timing.tRTP == 3 and spec.timing.tRC == 19
        assert spec.controller.page_policy == "open" and spec.controller.refresh == "none"
