"""The in-order PIM controller kernel: cycle counts against closed forms derived from the presets' timings,
the exactness of issuing repeats in closed form, refresh, channel de-duplication, the PU clock domain,
stream errors, and the HBM-PIM CRF interpreter."""

from __future__ import annotations

import numpy as np
import pytest

from sim.pim import commands as C
from sim.pim import hbm_isa
from sim.pim.api import gemv_cost, load_pim, run_commands
from sim.pim.engine import ChannelStream, run_streams
from sim.pim.errors import PimCommandError
from sim.pim.trace import read_pim_trace

AIM = load_pim("gddr6-aim")
ALL16 = (1 << 16) - 1


def _trace(tmp_path, lines: list[str], name: str = "prog.csv"):
    path = tmp_path / name
    path.write_text("order,command,channel,bank,row,column,count\n" + "\n".join(lines) + "\n")
    return path


def _log(spec, path):
    streams, _ = read_pim_trace(spec, path)
    return run_streams(spec, streams, dtype=spec.pim.lanes[0][0], log=True)


def test_aim_mac_abk_every_1ns_first_28ns_after_activate(tmp_path):
    run = _log(AIM, _trace(tmp_path, ["0,ACT16,0,all,3,-1", "1,MAC_ABK,0,all,3,0,64"]))
    log = run.command_log
    act = log[log["cmd"] == C.ACT16]["cycle"]
    macs = log[log["cmd"] == C.MAC_ABK]["cycle"]
    tck = AIM.dram.timing.tCK_ns
    assert tck == 0.5 and len(macs) == 64
    assert (macs[0] - act[0]) * tck == pytest.approx(28.0)           # tRCD_MAC 56 cycles
    assert np.all(np.diff(macs) * tck == pytest.approx(1.0))         # one MAC_ABK per ns
    assert run.row_misses == 1 and run.row_hits == 63


@pytest.mark.parametrize("cols", [128, 1024])
def test_gemv_one_row_one_channel_is_its_closed_form(cols):
    """16 outputs (one per bank), one row per bank, one channel: ACT16 at 0, the vector into the global
    buffer from cycle 1, the MACs once both the row (tRCD_MAC) and the buffer data are there, RD_MAC."""
    spec = load_pim("gddr6-aim", ["org.channels=1"])
    t, p = spec.dram.timing, spec.pim.timing
    n = cols // 16
    cost = gemv_cost(spec, 16, cols)
    buffer_ready = 1 + (n - 1) * max(t.tBL, t.tCCD_S) + p.CWL_GB + t.tBL
    first_mac = max(p.tRCD_MAC, buffer_ready)
    expect = first_mac + (n - 1) * max(p.tCCDAB, p.tCCD_MAC) + p.tMAC_RD + p.CL_REG + t.tBL
    assert cost.cycles == expect
    assert cost.commands == {"ACT16": 1, "WR_GB": n, "MAC_ABK": n, "RD_MAC": 1}
    assert (cost.row_misses, cost.row_hits) == (1, n - 1)
    assert cost.macs == 16 * cols and cost.offchip_bytes == (n + 1) * 32


def test_single_bank_mac_closed_form(tmp_path):
    """ACT + tRCD_MAC + (n - 1) * tCCD_MAC + drain (tMAC_RD + CL_REG + tBL) for MAC_SBK in one bank."""
    t, p = AIM.dram.timing, AIM.pim.timing
    n = 40
    cost = run_commands(AIM, _trace(tmp_path, ["0,ACT,0,5,7,-1", f"1,MAC_SBK,0,5,7,3,{n}", "2,RD_MAC,0,all,-1,0"]))
    assert cost.cycles == p.tRCD_MAC + (n - 1) * p.tCCD_MAC + p.tMAC_RD + p.CL_REG + t.tBL
    assert cost.macs == n * 16 and cost.commands == {"ACT": 1, "MAC_SBK": n, "RD_MAC": 1}


def test_hbm_pim_mode_sequence_and_pu_clock_domain(tmp_path):
    """HBM-PIM: mode changes cost tMODE; PIM_RD columns issue every max(tCCD_MAC, PU period); a slower PU
    clock (100 MHz = 10 DRAM cycles at 1 GHz) stretches the cadence."""
    lines = ["0,SB_TO_AB,0,all,-1,-1", "1,AB_TO_PIM,0,all,-1,-1", "2,ACT_AB,0,all,4,-1", "3,PIM_RD,0,even,4,0,16",
             "4,PIM_RD,0,odd,4,0,16"]
    for clock, cadence in (("300 MHz", None), ("100 MHz", 10)):
        spec = load_pim("hbm2-pim", [f"pim.pu_clock={clock}"])
        t, p = spec.dram.timing, spec.pim.timing
        step = cadence or max(p.tCCDAB, p.tCCD_MAC, spec.pu_cycles)
        assert step == (10 if cadence else 4)
        log = _log(spec, _trace(tmp_path, lines)).command_log
        log = log[log["channel"] == 0]
        cyc = {C.NAMES[int(c)]: [] for c in log["cmd"]}
        for c, k in zip(log["cmd"], log["cycle"], strict=True):
            cyc[C.NAMES[int(c)]].append(int(k))
        assert cyc["AB_TO_PIM"][0] - cyc["SB_TO_AB"][0] == p.tMODE
        assert cyc["PIM_RD"][0] - cyc["ACT_AB"][0] == max(p.tRCD_MAC, 1)
        assert set(np.diff(cyc["PIM_RD"])) == {step}
        assert len(cyc["PIM_RD"]) == 32
        del t


def _rows_stream(nrows: int, per_entry: int) -> ChannelStream:
    rows = []
    for r in range(nrows):
        rows.append((C.ACT16, ALL16, r, -1, 1))
        for c0 in range(0, 64, per_entry):
            rows.append((C.MAC_ABK, ALL16, r, c0, per_entry))
        rows.append((C.RD_MAC, ALL16, -1, 0, 1))
    return ChannelStream.from_rows(rows)


def test_repeats_in_closed_form_equal_the_expanded_stream():
    """A 64-column MAC run as one entry issues exactly as 64 single entries, refresh splits included."""
    spec = load_pim("gddr6-aim", ["org.channels=1"])
    for phase in (150, 1666, 3000):
        a = run_streams(spec, [_rows_stream(40, 64)], log=True, ref_phase=phase)
        b = run_streams(spec, [_rows_stream(40, 1)], log=True, ref_phase=phase)
        assert a.cycles == b.cycles and a.refreshes == b.refreshes >= 2
        assert np.array_equal(a.counts, b.counts) and (a.row_hits, a.row_misses) == (b.row_hits, b.row_misses)
        assert np.array_equal(a.command_log, b.command_log)


def test_refresh_every_tREFI_closes_and_reopens_rows():
    spec = load_pim("gddr6-aim", ["org.channels=1"])
    t = spec.dram.timing
    run = run_streams(spec, [_rows_stream(120, 64)], log=True, ref_phase=t.tREFI // 2)
    log = run.command_log
    refs = log[log["cmd"] == C.REFAB]["cycle"]
    due = t.tREFI // 2 + t.tREFI * np.arange(len(refs))
    last_other = int(log[log["cmd"] != C.REFAB]["cycle"].max())
    assert len(refs) == run.refreshes == (last_other - t.tREFI // 2) // t.tREFI + 1 >= 8
    # issued once due, as soon as the open rows can be precharged (after tRAS or tRTP) and tRP has passed
    assert np.all(refs >= due) and np.all(refs - due <= max(t.tRAS, t.tRTP) + t.tRP)
    # each refresh is preceded by a PREA and the interrupted row is activated again: one extra ACT16 each
    assert run.counts[C.ACT16] == 120 + run.refreshes - int(np.sum(_refresh_between_rows(log)))
    # a row miss is an activation that a MAC then used (a refresh can close a row before its first MAC)
    cmds = log["cmd"]
    used = sum(1 for i in np.where(cmds == C.ACT16)[0]
               if next(int(c) for c in cmds[i + 1:] if c in (C.MAC_ABK, C.PREA)) == C.MAC_ABK)
    assert run.row_misses == used <= run.counts[C.ACT16]


def _refresh_between_rows(log: np.ndarray) -> np.ndarray:
    """Refreshes that fell right after a row's read-out (no row to re-open)."""
    cmds = log["cmd"]
    idx = np.where(cmds == C.REFAB)[0]
    out = []
    for i in idx:
        j = i - 1
        while j >= 0 and cmds[j] == C.PREA:
            j -= 1
        out.append(j >= 0 and cmds[j] == C.RD_MAC)
    return np.array(out, bool)


def test_identical_channels_are_simulated_once():
    spec = load_pim("gddr6-aim")
    s = _rows_stream(3, 64)
    two = run_streams(spec, [s, s])
    one = run_streams(load_pim("gddr6-aim", ["org.channels=1"]), [s])
    assert two.distinct_streams == 1
    assert two.cycles == one.cycles and np.array_equal(two.counts, 2 * one.counts)


def test_stream_errors_name_the_entry(tmp_path):
    with pytest.raises(PimCommandError, match=r"prog.csv:3: MAC_ABK: column range beyond the end of the row"):
        run_commands(AIM, _trace(tmp_path, ["0,ACT16,0,all,1,-1", "1,MAC_ABK,0,all,1,60,8"]))
    with pytest.raises(PimCommandError, match=r"prog.csv:2: unknown PIM command 'MACX' for the aim command set"):
        run_commands(AIM, _trace(tmp_path, ["0,MACX,0,all,1,0"]))
    with pytest.raises(PimCommandError, match=r"prog.csv:2: unknown PIM command 'PIM_RD'"):
        run_commands(AIM, _trace(tmp_path, ["0,PIM_RD,0,even,1,0"]))
    with pytest.raises(PimCommandError, match=r"prog.csv:2: WR_GB: buffer range beyond the end of the buffer"):
        run_commands(AIM, _trace(tmp_path, ["0,WR_GB,0,all,-1,60,8"]))
    hbm = load_pim("hbm2-pim")
    with pytest.raises(PimCommandError, match=r"prog.csv:3: PIM_RD: command not allowed in the current mode"):
        run_commands(hbm, _trace(tmp_path, ["0,ACT,0,0,1,-1", "1,PIM_RD,0,even,1,0"]))
    with pytest.raises(PimCommandError, match="header must be"):
        (tmp_path / "bad.csv").write_text("cmd,channel\nACT,0\n")
        run_commands(AIM, tmp_path / "bad.csv")
    with pytest.raises(PimCommandError, match=r"prog.csv:2: channel 9 beyond the 2 channels"):
        run_commands(AIM, _trace(tmp_path, ["0,ACT16,9,all,1,-1"]))


def test_aliases_and_bank_notations(tmp_path):
    cost = run_commands(AIM, _trace(tmp_path, ["0,ACTAB,0,all,2,-1", "1,MAC16,0,0xffff,2,0,4", "2,ACT4,1,bg2,5,-1",
                                               "3,MAC,1,9,5,0,2", "4,RDMAC16,0,-,-1,0"]))
    assert cost.commands == {"ACT16": 1, "MAC_ABK": 4, "ACT4": 1, "MAC_SBK": 2, "RD_MAC": 1}


def test_hbm_crf_program_runs_to_exit():
    prog = hbm_isa.gemv_program(64, 8)
    assert [i.op for i in prog] == ["MAC", "JUMP", "MOV", "JUMP", "EXIT"] and hbm_isa.crf_bursts(prog) == 1
    assert hbm_isa.run_program(prog, ["read"] * 64 + ["write"] * 8) == {"MAC": 64, "MOV": 8}
    with pytest.raises(PimCommandError, match="end before the CRF program's EXIT"):
        hbm_isa.run_program(prog, ["read"] * 63)
    with pytest.raises(PimCommandError, match="after the CRF program's EXIT"):
        hbm_isa.run_program(prog, ["read"] * 64 + ["write"] * 9)
    with pytest.raises(PimCommandError, match="needs a read"):
        hbm_isa.run_program(prog, ["write"] + ["read"] * 63 + ["write"] * 8)
    with pytest.raises(PimCommandError, match="exceeds the 11-bit field"):
        hbm_isa.run_program(hbm_isa.gemv_program(5000, 1), ["read"] * 5000 + ["write"])
    nop = [hbm_isa.Instr("NOP", count=3), hbm_isa.Instr("ADD", "GRF_A", "BANK", "GRF_A"), hbm_isa.Instr("EXIT")]
    assert hbm_isa.run_program(nop, ["read", "write", "read", "read"]) == {"NOP": 3, "ADD": 1}
    with pytest.raises(PimCommandError, match="unknown HBM-PIM opcode"):
        hbm_isa.Instr("DIV")


def test_hbm_gemv_streams_drive_the_crf_programs():
    """Every PC-reset run of the HBM-PIM GEMV stream is exactly its CRF program's MACs then stores."""
    from sim.pim.compiler import compile_gemv

    spec = load_pim("hbm2-pim")
    comp = compile_gemv(spec, 1024, 2048, "fp16")
    s = comp.streams[0]
    runs, cur = [], []
    for c, n in zip(s.cmd.tolist(), s.cnt.tolist(), strict=True):
        if c == C.PIM_RD:
            cur += ["read"] * n
        elif c == C.PIM_WR:
            cur += ["write"] * n
        elif c == C.PIM_TO_AB and cur:
            runs.append(cur)
            cur = []
    assert runs and not cur
    for trig in runs:
        prog = hbm_isa.gemv_program(trig.count("read"), trig.count("write"))
        assert hbm_isa.run_program(prog, trig, spec.pim.crf_entries)["MAC"] == trig.count("read")
