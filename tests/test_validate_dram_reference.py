"""The pure parts of benchmarks/validate_dram_reference.py (no DRAMsim3 / Ramulator binary needed)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import validate_dram_reference as v  # noqa: E402
from benchmarks.dram_speed import hbm2  # noqa: E402
from sim.dram.commands import CODES, LOG_DTYPE  # noqa: E402
from sim.dram.configs import load_memory  # noqa: E402
from sim.dram.mapping import build_mapping, decode  # noqa: E402


@pytest.fixture(scope="module")
def ddr4():
    return load_memory("ddr4-2400", compat="dramsim3")


def test_traces_are_what_they_claim(ddr4) -> None:
    n = 1000
    m = build_mapping(ddr4)
    tr = v.make_traces(ddr4, n)
    assert set(tr) == set(v.TRACES)
    for name, (arr, addr, w) in tr.items():
        assert arr.size == addr.size == w.size == n, name
        assert np.all(np.diff(arr) >= 0), name
        assert np.all(addr % m.tx_bytes == 0) and int(addr.max()) < m.capacity_bytes, name
    arr, addr, w = tr["stream"]
    assert np.array_equal(addr, np.arange(n, dtype=np.uint64) * np.uint64(m.tx_bytes)) and not w.any()
    assert np.all(np.diff(tr["stride4k"][1].astype(np.int64)) == 4096)
    d = decode(m, tr["rowconflict"][1])
    bank = (d.channel, d.pseudo_channel, d.rank, d.bankgroup, d.bank)
    assert all(np.unique(x).size == 1 for x in bank)
    assert np.array_equal(d.row, np.arange(n) % 2)               # two rows alternating
    assert np.unique(tr["rowconflict"][1]).size > 2              # walking the columns
    assert 0.25 < tr["mixed"][2].mean() < 0.35 and not tr["random"][2].any()
    assert np.array_equal(tr["lowload"][0], 100 * np.arange(n))
    assert np.unique(tr["hot"][1]).size <= 64 and tr["hot"][2].any()
    arr, addr, w = tr["raw"]
    assert np.array_equal(w, np.arange(n) % 2 == 0)
    assert 0.6 < np.mean(addr[1::2] == addr[0::2]) < 0.8         # reads of the line just written
    arr = tr["bursty"][0]
    assert np.unique(arr).size == -(-n // 256) and np.all(np.diff(np.unique(arr)) == 20000)
    again = v.make_traces(ddr4, n, names=("random",))            # fixed seeds
    assert list(again) == ["random"] and np.array_equal(again["random"][1], tr["random"][1])


def test_parse_dramsim3_log() -> None:
    sample = """\
2                  activate               0   1   2   3   0x1a2b      0x0
19                 read                   0   1   2   3   0x1a2b     0x10
41                 precharge              0   1   2   3   0x1a2b      0x0
50                 refresh                0   1   0   0      0x0      0x0
60                 write_p                0   0   3   1      0x5     0x7f
"""
    log = v.parse_dramsim3_log(sample.splitlines(), channel=4)
    assert log == [(2, "ACT", 4, 1, 2, 3, 0x1A2B, 0), (19, "RD", 4, 1, 2, 3, 0x1A2B, 0x10),
                   (41, "PRE", 4, 1, 2, 3, 0x1A2B, 0), (50, "REF", 4, 1, -1, -1, -1, -1),
                   (60, "WRA", 4, 0, 3, 1, 5, 0x7F)]


def test_read_dramsim3_logs_merges_channels(tmp_path: Path) -> None:
    (tmp_path / "dramsim3ch_0cmd.trace").write_text("5 activate 0 0 0 0 0x1 0x0\n9 read 0 0 0 0 0x1 0x4\n")
    (tmp_path / "dramsim3ch_1cmd.trace").write_text("5 activate 1 0 0 0 0x2 0x0\n7 read 1 0 0 0 0x2 0x4\n")
    log = v.read_dramsim3_logs(tmp_path)
    assert [(c[0], c[2]) for c in log] == [(5, 0), (5, 1), (7, 1), (9, 0)]


def test_parse_ramulator2_log() -> None:
    sample = "1,ACT,0,1,1,2,27303,6\n3,RD,0,1,1,2,27303,6\n900,REFab,0,1,-1,-1,-1,-1\n901,PREA,0,0,-1,-1,-1,-1\n"
    log = v.parse_ramulator2_log(sample.splitlines())
    assert log == [(1, "ACT", 0, 1, 1, 2, 27303, 6), (3, "RD", 0, 1, 1, 2, 27303, 6),
                   (900, "REF", 0, 1, -1, -1, -1, -1), (901, "PREA", 0, 0, -1, -1, -1, -1)]


def test_pimsim_log_pseudo_channels() -> None:
    log = np.zeros(3, dtype=LOG_DTYPE)
    log["cycle"] = [4, 1, 1]
    log["cmd"] = [CODES["RD"], CODES["ACT"], CODES["ACT"]]
    log["channel"] = [5, 5, 2]          # flat (channel * 2 + pseudo-channel)
    log["bankgroup"], log["bank"], log["row"], log["column"] = 1, 2, 7, [3, -1, -1]
    assert hbm2("ramulator2").org.pseudo_channels == 2
    assert v.pimsim_log(log, 2) == [(1, "ACT", 1, 0, 1, 2, 7, -1), (1, "ACT", 2, 1, 1, 2, 7, -1),
                                    (4, "RD", 2, 1, 1, 2, 7, 3)]
    assert v.pimsim_log(log, 1)[0][2:4] == (2, 0)


def test_first_divergence() -> None:
    ref = [(1, "ACT", 0, 0, 1, 2, 7, 0), (18, "RD", 0, 0, 1, 2, 7, 3), (900, "REF", 0, 0, -1, -1, -1, -1)]
    sim = [(1, "ACT", 0, 0, 1, 2, 7, -1), (18, "RD", 0, 0, 1, 2, 7, 3), (900, "REF", 0, 0, 0, 0, -1, -1)]
    assert v.first_divergence(ref, sim) is None                  # -1 = not logged, matches anything
    assert v.first_divergence(ref, sim[:2]) == 2                 # one log is a prefix of the other
    late = [sim[0], (19, "RD", 0, 0, 1, 2, 7, 3), sim[2]]
    assert v.first_divergence(ref, late) == 1
    other_bank = [sim[0], (18, "RD", 0, 0, 1, 3, 7, 3), sim[2]]
    assert v.first_divergence(ref, other_bank) == 1
    assert v.first_divergence(ref, [(1, "PRE", *ref[0][2:])]) == 0


def test_counts_and_errors() -> None:
    ref = v.group_counts({"ACT": 10, "PRE": 8, "PREA": 2, "RD": 5, "RDA": 1, "WR": 0, "REF": 2})
    assert ref == {"ACT": 10, "PRE": 10, "RD": 6, "REF": 2}
    assert v.max_count_error(ref, dict(ref)) == 0.0
    assert v.max_count_error(ref, {**ref, "RD": 3}) == pytest.approx(0.5)
    assert v.max_count_error(ref, {**ref, "WR": 1}) == float("inf")
    assert v.rel(0, 0) == 0.0 and v.rel(11, 10) == pytest.approx(0.1)
