"""The PIM API the system level calls: the validation targets (AiM peak rate, HBM-PIM vs a streaming read,
PIM-GPT row-hit rates), energy, memoisation, attention and KV writes, capacity and fit errors, mapping
choices."""

from __future__ import annotations

import pytest

from sim.errors import PimsimError
from sim.pim.api import (
    MappingConfig,
    PimFitError,
    PimOpCost,
    attention_cost,
    capacity_check,
    gemv_cost,
    kv_write_cost,
    load_pim,
)
from sim.pim.baseline import streaming_read
from sim.pim.energy import CATEGORIES

GPT2_XL_GEMVS = [(4800, 1600), (1600, 1600), (6400, 1600), (1600, 6400)]   # QKV, proj, FC1, FC2 (d=1600)


def test_aim_long_gemv_approaches_1_tflops_less_activate_and_refresh_overhead():
    """1 TFLOPS per chip = 2 channels x 16 banks x 16 BF16 lanes x 2 FLOP x 1 GHz. A long GEMV issues one
    MAC_ABK per ns while a row is open; each 2 KB row (64 MACs) also costs the row cycle tRCD_MAC +
    tRTP + tRP around its MACs, and refresh takes tRFC (plus re-activation) every tREFI."""
    spec = load_pim("gddr6-aim")
    assert spec.peak_macs_per_s("bf16") * 2 == pytest.approx(1.024e12)
    cost = gemv_cost(spec, 4096, 8192)
    t, p = spec.dram.timing, spec.pim.timing
    mac_cycles = 64 * p.tCCDAB
    row_period = p.tRCD_MAC + 63 * p.tCCDAB + t.tRTP + t.tRP            # ACT .. last MAC .. PREA .. next ACT
    refresh_loss = (t.tRFC + t.tRP + p.tRCD_MAC) / t.tREFI               # refresh + re-activating the row
    expected = mac_cycles / row_period * (1 - refresh_loss)
    attained = cost.macs_per_s / spec.peak_macs_per_s("bf16")
    assert attained == pytest.approx(expected, rel=0.03)
    assert 0.5 < attained < 0.6
    assert cost.row_hit_rate == pytest.approx(63 / 64, abs=0.002)         # one miss per 64-column row
    assert cost.detail["refreshes"] == pytest.approx(2 * cost.cycles / t.tREFI, abs=2)


def test_hbm_pim_gemv_at_least_twice_a_streaming_read():
    """PIMSimulator's GEMV test: 4096 x 4096 FP16 on 64 pseudo-channels, PIM >= 2x faster than streaming
    the weights through the plain DRAM path (sim.dram.engine, same memory, one pseudo-channel's share)."""
    spec = load_pim("hbm2-pim", ["org.channels=32"])
    assert spec.units == 64 and spec.pus_per_unit == 8
    pim = gemv_cost(spec, 4096, 4096, dtype="fp16")
    base = streaming_read(spec, 4096 * 4096 * 2)
    assert base.cycles / pim.cycles >= 2.0
    assert base.bandwidth_GBps > 0.85 * spec.dram.peak_bandwidth_Bps / 1e9      # the baseline streams well
    assert pim.macs == 4096 * 4096 and pim.detail["hardware_macs"] == 4096 * 4096


@pytest.mark.parametrize("rows,cols", GPT2_XL_GEMVS)
def test_pim_gpt_gemv_row_hit_rate_near_98_percent(rows, cols):
    """PIM-GPT reports ~98 % row hits. Here it follows from the schedule: each 2 KB row serves 64 MAC_ABK
    (1024 BF16 weights per bank) and a 1600-wide row's tail chunk 36, so one miss per 64 or 36 accesses."""
    spec = load_pim("pim-gpt-gddr6")
    cost = gemv_cost(spec, rows, cols)
    assert 0.975 <= cost.row_hit_rate <= 0.985
    hits_expected = 1 - cost.commands["ACT16"] / cost.commands["MAC_ABK"]
    assert cost.row_hit_rate == pytest.approx(hits_expected, abs=0.002)


def test_energy_is_the_sum_of_its_parts_and_scales_with_work():
    spec = load_pim("pim-gpt-gddr6")
    small, big = gemv_cost(spec, 1600, 1600), gemv_cost(spec, 6400, 1600)
    for c in (small, big, attention_cost(spec, 25, 64, 300, kind="score"), kv_write_cost(spec, 25, 64)):
        assert set(c.energy_J) == set(CATEGORIES) | {"total"}
        assert c.energy_J["total"] == pytest.approx(sum(c.energy_J[k] for k in CATEGORIES))
        assert all(v >= 0 for v in c.energy_J.values())
    e = spec.pim.energy
    assert small.energy_J["activate"] == pytest.approx(small.commands["ACT16"] * 16 * e.act_J)
    assert small.energy_J["mac"] == pytest.approx(small.commands["MAC_ABK"] * 16 * e.mac_J)
    assert small.energy_J["refresh"] == pytest.approx(small.commands["REF"] * e.ref_J)
    assert small.energy_J["io"] == pytest.approx(small.offchip_bytes * 8 * e.io_J_per_bit)
    # 1600 outputs on 128 PUs take 13 lockstep steps (the last half empty), 6400 take 50
    assert small.commands["MAC_ABK"] == 8 * 13 * 100 and big.commands["MAC_ABK"] == 8 * 50 * 100
    assert big.energy_J["mac"] / small.energy_J["mac"] == pytest.approx(50 / 13)
    # ~5 pJ per BF16 MAC for the column read + MAC (CENT's 1.31 nJ per MAC16), plus activation
    assert big.energy_J["mac"] / big.macs * 1e12 == pytest.approx(82 / 16, rel=0.05)


def test_costs_are_memoised():
    spec = load_pim("pim-gpt-gddr6")
    a = gemv_cost(spec, 1600, 1600)
    assert gemv_cost(load_pim("pim-gpt-gddr6"), 1600, 1600) is a
    assert attention_cost(spec, 25, 64, 77, kind="score") is attention_cost(spec, 25, 64, 77, kind="score")
    assert gemv_cost(spec, 1600, 1600, mapping=MappingConfig(partition="bank-first")) is not a
    assert isinstance(a, PimOpCost) and a.seconds == pytest.approx(a.cycles * spec.dram.timing.tCK_ns * 1e-9)


def test_attention_grows_with_kv_len_and_stays_cheap():
    spec = load_pim("pim-gpt-gddr6")
    for kind in ("score", "context"):
        short = attention_cost(spec, 25, 64, 65, kind=kind)
        long = attention_cost(spec, 25, 64, 1088, kind=kind)
        assert long.cycles > short.cycles and long.macs == 25 * 64 * 1088
        assert long.energy_J["total"] > short.energy_J["total"]
    score = attention_cost(spec, 25, 64, 1088, kind="score")
    # K row-major with heads concatenated: one 2 KB row holds a token's keys for 16 heads
    assert score.row_misses <= score.commands["ACT16"] and score.row_hit_rate > 0.975


def test_attention_context_with_reserved_capacity_and_head_concat():
    """V column-major: a short reserved capacity lets several heads share a row (fewer activates)."""
    spec = load_pim("pim-gpt-gddr6")
    roomy = attention_cost(spec, 25, 64, 100, kind="context")                        # 1024 tokens reserved
    packed = attention_cost(spec, 25, 64, 100, kind="context", mapping=MappingConfig(kv_capacity=128))
    assert packed.commands["ACT16"] < roomy.commands["ACT16"]
    assert packed.row_hit_rate > roomy.row_hit_rate
    with pytest.raises(PimFitError, match="kv_len 200 exceeds the reserved KV capacity of 128 tokens by 72"):
        attention_cost(spec, 25, 64, 200, kind="context", mapping=MappingConfig(kv_capacity=128))


def test_kv_write_costs_wr_commands():
    spec = load_pim("pim-gpt-gddr6")
    one = kv_write_cost(spec, 25, 64)
    # K: 25 heads x 64 BF16 = 100 bursts into one bank; V: one masked burst per (head, element)
    assert one.commands["WR"] == 100 + 25 * 64
    assert one.offchip_bytes == one.commands["WR"] * 32 and one.detail["kv_write_bytes"] == 2 * 25 * 64 * 2
    assert one.macs == 0 and one.cycles > 0
    two = kv_write_cost(spec, 25, 64, tokens=2)
    assert two.commands["WR"] > one.commands["WR"]


def test_kv_write_multi_bank_activates():
    """V's column-major rows of one head sit at the same row in every bank of a channel: AiM opens them with
    one ACT16 instead of 16 ACTs spaced tRRD, which shortens the write; energy keeps one activate per bank."""
    spec = load_pim("pim-gpt-gddr6")
    multi = kv_write_cost(spec, 16, 128)
    single = kv_write_cost(spec, 16, 128, mapping=MappingConfig(kv_multi_activate=False))
    assert multi.commands["WR"] == single.commands["WR"]
    assert multi.commands.get("ACT16", 0) > 0 and single.commands.get("ACT16", 0) == 0
    banks_opened = multi.commands.get("ACT", 0) + 16 * multi.commands["ACT16"] + 4 * multi.commands.get("ACT4", 0)
    assert banks_opened >= 16 * 128                 # every (head, output) row of V opened, no fewer
    assert multi.energy_J["activate"] <= single.energy_J["activate"]  # single re-opens rows after more refreshes
    assert multi.seconds < 0.5 * single.seconds
    assert abs(multi.energy_J["total"] - sum(v for k, v in multi.energy_J.items() if k != "total")) < 1e-15


def test_mapping_choices_change_the_schedule():
    spec = load_pim("hbm2-pim")            # 16 pseudo-channels x 8 PUs: 32 outputs per PU, 8 result registers
    base = gemv_cost(spec, 4096, 4096, dtype="fp16")
    row_major = gemv_cost(spec, 4096, 4096, dtype="fp16", mapping=MappingConfig(tiling="row-major"))
    # column-major loads each of the 32 input chunks once but reads partial sums out per chunk;
    # row-major reloads GRF_A for each of the 4 tiles of 8 outputs and reads each output once
    assert row_major.commands["WR_GRF"] == 4 * base.commands["WR_GRF"] == 4 * 16 * 32 * 8
    assert row_major.detail["result_bytes"] * 32 == base.detail["result_bytes"]
    aim = load_pim("pim-gpt-gddr6")
    col = gemv_cost(aim, 1600, 6400)
    chunked = gemv_cost(aim, 1600, 6400, mapping=MappingConfig(vector_chunk=512))
    assert chunked.commands["ACT16"] > col.commands["ACT16"] and chunked.row_hit_rate < col.row_hit_rate
    no_concat = attention_cost(aim, 25, 64, 1088, kind="score", mapping=MappingConfig(head_concat=False))
    concat = attention_cost(aim, 25, 64, 1088, kind="score")
    assert no_concat.detail["input_bytes"] != concat.detail["input_bytes"]
    # 200 outputs: channel-first gives every channel 25 (2 steps each), bank-first fills 12.5 channels of 16
    # banks (channels 0-4 take 2 steps, 5-7 idle): the same latency, fewer MAC commands
    bank_first = gemv_cost(aim, 200, 1600, mapping=MappingConfig(partition="bank-first"))
    channel_first = gemv_cost(aim, 200, 1600)
    assert bank_first.cycles == channel_first.cycles
    assert bank_first.commands["MAC_ABK"] < channel_first.commands["MAC_ABK"]
    assert bank_first.energy_J["mac"] < channel_first.energy_J["mac"]


def test_result_bytes_leave_the_chip_for_the_host_reduction():
    aim = load_pim("pim-gpt-gddr6")
    c = gemv_cost(aim, 1600, 6400)          # 7 chunks of the input: partial sums per chunk, reduced on the ASIC
    assert c.detail["result_bytes"] == c.commands["RD_MAC"] * 32
    assert c.detail["result_bytes"] >= 1600 * 7 * 2
    assert c.offchip_bytes == c.detail["result_bytes"] + c.detail["input_bytes"]


def test_capacity_check_names_what_does_not_fit():
    spec = load_pim("pim-gpt-gddr6")
    assert spec.capacity_bytes == 4 * 2**30
    capacity_check(spec, 3_100_000_000, 330_000_000)
    with pytest.raises(PimFitError, match=r"weights 4\.000 GB \+ KV cache 0\.500 GB = 4\.500 GB .* 0\.205 GB too much"):
        capacity_check(spec, 4_000_000_000, 500_000_000)
    assert issubclass(PimFitError, PimsimError)


def test_fit_errors():
    aim = load_pim("gddr6-aim")
    with pytest.raises(PimFitError, match=r"needs 32768 rows per bank but a bank has 16384 \(16384 too many\)"):
        gemv_cost(aim, 32 * 32768, 1024)
    with pytest.raises(PimFitError, match=r"head_dim 2048 needs 128 buffer entries but the buffer holds 64 \(64 too"):
        attention_cost(aim, 1, 2048, 10, kind="score")
    with pytest.raises(PimFitError, match="the PUs do not compute in int8"):
        gemv_cost(aim, 16, 16, dtype="int8")
    with pytest.raises(PimFitError, match="kind must be"):
        attention_cost(aim, 1, 64, 10, kind="values")
