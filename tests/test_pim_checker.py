"""The independent PIM protocol checker accepts the kernel's command logs (every preset, every op) and
rejects mutated logs, naming the violated rule."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.errors import PimsimError
from sim.pim import commands as C
from sim.pim.api import load_pim
from sim.pim.checker import build_pim_rules, check_pim_log, format_pim_violations
from sim.pim.compiler import compile_attention, compile_gemv, compile_kv_write
from sim.pim.engine import run_streams
from sim.pim.mapping import MappingConfig

PRESETS = {"gddr6-aim": "bf16", "pim-gpt-gddr6": "bf16", "hbm2-pim": "fp16", "hbm3-pim": "fp16"}


def _ops(spec, dt):
    yield "gemv", compile_gemv(spec, 300, 2500, dt)
    yield "gemv-short", compile_gemv(spec, 600, 40, dt)
    yield "gemv-row-major", compile_gemv(spec, 200, 1200, dt, MappingConfig(tiling="row-major"))
    yield "score", compile_attention(spec, 5, 64, 300, "score", dt)
    yield "score-no-concat", compile_attention(spec, 3, 64, 200, "score", dt,
                                               MappingConfig(head_concat=False, partition="bank-first"))
    yield "context", compile_attention(spec, 4, 64, 1100, "context", dt)
    yield "kv", compile_kv_write(spec, 3, 64, 2, dt)
    yield "kv-all-banks", compile_kv_write(spec, 16, 128, 1, dt)
    yield "kv-single-activates", compile_kv_write(spec, 16, 128, 1, dt, MappingConfig(kv_multi_activate=False))


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_kernel_logs_pass(preset):
    spec, dt = load_pim(preset), PRESETS[preset]
    for name, comp in _ops(spec, dt):
        run = run_streams(spec, comp.streams, dtype=dt, log=True)
        assert run.command_log is not None and len(run.command_log) == int(run.counts.sum())
        v = check_pim_log(run.command_log, spec, dtype=dt, end_cycle=run.cycles)
        assert not v, (name, format_pim_violations(v, run.command_log))


def test_idle_channels_keep_refreshing():
    """A channel with almost no work in an op (a 1-row GEMV: two mode switches) still refreshes until the op
    ends on the other channel."""
    spec = load_pim("hbm2-pim", ["org.channels=1", "timing.tREFI=400"])
    comp = compile_gemv(spec, 1, 1, "fp16")
    run = run_streams(spec, comp.streams, dtype="fp16", log=True)
    assert not check_pim_log(run.command_log, spec, dtype="fp16", end_cycle=run.cycles)
    lg = run.command_log
    refs = [int(np.sum((lg["channel"] == ch) & (lg["cmd"] == C.REFAB))) for ch in range(2)]
    lengths = [len(s) for s in comp.streams]
    assert lengths[0] != lengths[1] and max(refs) >= 3 and abs(refs[0] - refs[1]) <= 1


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_property_random_ops_pass(data):
    """Random presets, channel counts, refresh intervals, mappings and op shapes: the checker accepts the log."""
    preset = data.draw(st.sampled_from(sorted(PRESETS)))
    dt = PRESETS[preset]
    try:
        spec = load_pim(preset, [f"org.channels={data.draw(st.sampled_from([1, 2]))}",
                                 f"timing.tREFI={data.draw(st.sampled_from([400, 1000, 3900]))}"])
    except PimsimError:
        return                                          # tREFI below tRFC: rejected at load, tested elsewhere
    m = MappingConfig(partition=data.draw(st.sampled_from(["channel-first", "bank-first"])),
                      tiling=data.draw(st.sampled_from(["auto", "column-major", "row-major"])),
                      head_concat=data.draw(st.booleans()), early_activate=data.draw(st.booleans()),
                      kv_multi_activate=data.draw(st.booleans()))
    kind = data.draw(st.sampled_from(["gemv", "score", "context", "kv"]))
    heads, dim = data.draw(st.integers(1, 20)), data.draw(st.sampled_from([32, 64, 128]))
    try:
        if kind == "gemv":
            comp = compile_gemv(spec, data.draw(st.integers(1, 700)), data.draw(st.integers(1, 3000)), dt, m)
        elif kind == "kv":
            comp = compile_kv_write(spec, heads, dim, data.draw(st.integers(1, 3)), dt, m)
        else:
            comp = compile_attention(spec, heads, dim, data.draw(st.integers(1, 1200)), kind, dt, m)
    except PimsimError:
        return                                          # does not fit: the compiler's errors are tested elsewhere
    run = run_streams(spec, comp.streams, dtype=dt, log=True)
    assert len(run.command_log) == int(run.counts.sum())
    v = check_pim_log(run.command_log, spec, dtype=dt, end_cycle=run.cycles)
    assert not v, (preset, m, kind, format_pim_violations(v, run.command_log))


@pytest.fixture(scope="module")
def aim_log():
    spec = load_pim("gddr6-aim", ["org.channels=1", "timing.tREFI=1000"])    # refresh often: a short log
    comp = compile_gemv(spec, 16 * 40, 2048)              # 80 rows per bank, ~18 refreshes
    run = run_streams(spec, comp.streams, log=True)
    assert not check_pim_log(run.command_log, spec, end_cycle=run.cycles)
    assert run.refreshes >= 5
    return spec, run.command_log, run.cycles


def _names(v):
    return {x.constraint for x in v}


def _resorted(log):
    return log[np.argsort(log["cycle"], kind="stable")]


def test_mutations_are_caught(aim_log):
    spec, log, end = aim_log
    t, p = spec.dram.timing, spec.pim.timing
    cmd = log["cmd"]
    mac = np.where(cmd == C.MAC_ABK)[0]
    act = np.where(cmd == C.ACT16)[0]
    # a MAC one cycle early: the all-bank MAC cadence
    m = log.copy()
    m["cycle"][mac[10]] -= 1
    assert "tCCDAB (all-bank MAC cadence)" in _names(check_pim_log(m, spec))
    # the first MAC of a row before tRCD_MAC
    first = mac[mac > act[3]][0]
    m = log.copy()
    m["cycle"][first] = m["cycle"][act[3]] + p.tRCD_MAC - 1
    assert "tRCD_MAC (activate to MAC)" in _names(check_pim_log(_resorted(m), spec))
    # a MAC whose row was never opened
    assert "MAC_ABK to a closed bank" in _names(check_pim_log(np.delete(log, act[3]), spec))
    # a precharge before tRAS
    pre = np.where(cmd == C.PREA)[0]
    m = log.copy()
    k = pre[pre > act[2]][0]
    m["cycle"][k] = m["cycle"][act[2]] + t.tRAS - 1
    assert "tRAS (activate to precharge)" in _names(check_pim_log(_resorted(m), spec))
    # the result read right after the last MAC
    rd = np.where(cmd == C.RD_MAC)[0][4]
    m = log.copy()
    m["cycle"][rd] = m["cycle"][rd - 1] + 1
    assert "tMAC_RD (MAC to result read/store)" in _names(check_pim_log(m, spec))
    # a buffer write beyond the buffer, two commands in one cycle, a MAC to another row
    m = log.copy()
    m["column"][np.where(cmd == C.WR_GB)[0][0]] = spec.buffer_columns
    assert "buffer write beyond the buffer" in _names(check_pim_log(m, spec))
    m = log.copy()
    m["cycle"][mac[20]] = m["cycle"][mac[20] - 1]
    assert "command bus (one command per cycle)" in _names(check_pim_log(m, spec))
    m = log.copy()
    m["row"][mac[30]] += 1
    assert "MAC_ABK to a row that is not open" in _names(check_pim_log(m, spec))
    # refreshes removed: the interval (and the end-of-run bound) fail
    v = check_pim_log(log[cmd != C.REFAB], spec, end_cycle=end)
    assert "refresh interval" in _names(v)
    # a refresh with rows open
    ref = np.where(cmd == C.REFAB)[0][0]
    assert "REF with banks open" in _names(check_pim_log(np.delete(log, ref - 1), spec))
    # an activate within tRRD_AB of the previous one: move an ACT16 next to the preceding REF
    m = log.copy()
    nxt = act[act > ref][0]
    m["cycle"][nxt] = m["cycle"][ref] + t.tRFC - 1
    assert "tRFC (REF to activate/REF)" in _names(check_pim_log(_resorted(m), spec))


def test_hbm_mode_and_parity_rules():
    spec = load_pim("hbm2-pim", ["org.channels=1"])
    comp = compile_gemv(spec, 256, 1024, "fp16")
    run = run_streams(spec, comp.streams, dtype="fp16", log=True)
    log = run.command_log
    assert not check_pim_log(log, spec, dtype="fp16")
    cmd = log["cmd"]
    # drop the switch into PIM mode: every PIM column command is in the wrong mode
    k = np.where(cmd == C.AB_TO_PIM)[0][0]
    v = check_pim_log(np.delete(log, k), spec, dtype="fp16")
    assert "command in the wrong mode" in _names(v)
    # PIM_RD cadence (tCCD_L = the 300 MHz PU period rounded up) on the odd banks
    rd = np.where(cmd == C.PIM_RD)[0]
    m = log.copy()
    m["cycle"][rd[7]] = m["cycle"][rd[6]] + 2
    assert "tCCDAB (PIM-mode column cadence)" in _names(check_pim_log(m, spec, dtype="fp16"))
    # the input written into GRF_A must land before the PIM ops use it
    g = np.where(cmd == C.WR_GRF)[0][-1]
    m = log.copy()
    nxt = rd[rd > g][0]
    m["cycle"][nxt] = m["cycle"][g] + 1
    assert "register write lands (WR_GRF/WR_SRF)" in _names(check_pim_log(_resorted(m), spec, dtype="fp16"))


def test_bank_activation_window():
    """An override that allows 32 bank activations per 300 cycles: at most two ACT16 in any window."""
    spec = load_pim("gddr6-aim", ["org.channels=1", "pim.timing.tAAW=300", "pim.timing.AAW_banks=32"])
    comp = compile_gemv(spec, 16 * 4, 16 * 64, mapping=MappingConfig(vector_chunk=128))   # 8-column rows
    run = run_streams(spec, comp.streams, log=True)
    log = run.command_log
    assert not check_pim_log(log, spec)
    acts = log[log["cmd"] == C.ACT16]["cycle"]
    assert np.all(acts[2:] - acts[:-2] >= 300) and np.any(acts[2:] - acts[:-2] == 300)   # the window binds
    m = log.copy()
    i = np.where(log["cmd"] == C.ACT16)[0][2]
    prev = np.where(log["cmd"] == C.ACT16)[0][0]
    m["cycle"][i] = m["cycle"][prev] + 299
    assert "tAAW" in _names(check_pim_log(_resorted(m), spec))


def test_rules_come_from_the_spec():
    spec = load_pim("gddr6-aim", ["pim.timing.tRCD_MAC=70", "pim.timing.tCCDAB=5"])
    rules = {r.name: r.delay for r in build_pim_rules(spec)}
    assert rules["tRCD_MAC (activate to MAC)"] == 70 and rules["tCCDAB (all-bank MAC cadence)"] == 5
    assert rules["tRCD (ACT to RD)"] == spec.dram.timing.tRCD_RD     # the plain JEDEC rules are included
