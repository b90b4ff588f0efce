"""Address mapping: field parsing, the DRAMsim3 and linear (Ramulator) rules, decode/encode."""

from __future__ import annotations

import numpy as np
import pytest
from dram_specs import ddr4_2400, ddr4_2400_ramulator, gddr6_dramsim3, hbm2_dramsim3, hbm2_ramulator
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.dram import mapping as mp
from sim.errors import ConfigError, TraceError


def test_parse_dramsim3_and_ramulator_names():
    assert mp.parse_scheme("rochrababgco") == ("ro", "ch", "pc", "ra", "ba", "bg", "co")
    assert mp.parse_scheme("RoBaRaCoCh") == ("ro", "ba", "bg", "pc", "ra", "co", "ch")
    assert mp.parse_scheme("ChRaBaRoCo") == ("ch", "pc", "ra", "bg", "ba", "ro", "co")
    assert mp.parse_scheme("RoBaBgRaCoCh") == ("ro", "ba", "bg", "pc", "ra", "co", "ch")
    assert mp.parse_scheme("RoCoBaBgRaPcCh") == ("ro", "co", "ba", "bg", "ra", "pc", "ch")
    for bad in ("rochrababgc", "roxxrababgco", "RoBaRaCoXx", "rorochrababgco"):
        with pytest.raises(ConfigError):
            mp.parse_scheme(bad)


def test_dramsim3_rule_widths():
    m = mp.build_mapping(ddr4_2400("dramsim3"))
    assert m.shift == 6 and m.widths["co"] == 7 and m.widths["ra"] == 1 and m.widths["ro"] == 16
    assert m.capacity_bytes == 16 << 30          # 16384 MB channel_size, as DRAMsim3 reports
    g = mp.build_mapping(gddr6_dramsim3())       # columns x BL, shift log2(128/8*16)
    assert g.shift == 8 and g.widths["co"] == 7 and g.widths["bg"] == 0 and g.widths["ba"] == 4
    h = mp.build_mapping(hbm2_dramsim3())        # columns x 2, shift log2(128/8*4)
    assert h.shift == 6 and h.widths["co"] == 5 and h.widths["ch"] == 3


def test_ramulator_hbm2_16B_transactions_select_channels_with_bits_4_to_6():
    s = hbm2_ramulator()
    m = mp.build_mapping(s)
    assert m.shift == 4 and m.widths["co"] == 5 and m.positions()["ch"] == 0
    d = mp.decode(m, np.arange(0, 64 * 64, 64, dtype=np.uint64))
    assert set(d.channel.tolist()) == {0, 4}
    m256 = mp.build_mapping(hbm2_ramulator(channel_width=256))
    d = mp.decode(m256, np.arange(0, 64 * 64, 64, dtype=np.uint64))
    assert set(d.channel.tolist()) == set(range(8))


def test_decode_fields_rochrababgco_ddr4():
    s = ddr4_2400("dramsim3")
    m = mp.build_mapping(s)
    # LSB->MSB after 6 offset bits: co 7, bg 2, ba 2, ra 1, ch 0, ro 16
    addr = (5 << 6) | (2 << 13) | (3 << 15) | (1 << 17) | (1234 << 18)
    d = mp.decode(m, np.array([addr], dtype=np.uint64))
    assert (d.column[0], d.bankgroup[0], d.bank[0], d.rank[0], d.row[0]) == (5, 2, 3, 1, 1234)
    assert mp.decode(m, np.array([addr + 63], dtype=np.uint64)).column[0] == 5   # offset dropped


def test_beyond_capacity_and_negative_rejected():
    m = mp.build_mapping(ddr4_2400())
    with pytest.raises(TraceError):
        mp.decode(m, np.array([m.capacity_bytes], dtype=np.uint64))
    with pytest.raises(TraceError):
        mp.decode(m, np.array([-64], dtype=np.int64))


def test_bank_xor_spreads_a_row_stride():
    s = ddr4_2400().with_controller(bank_xor=True)
    m = mp.build_mapping(s)
    row_stride = 1 << (m.positions()["ro"] + m.shift)
    d = mp.decode(m, np.arange(16, dtype=np.uint64) * np.uint64(row_stride))
    flat = d.bankgroup * 4 + d.bank
    assert len(set(flat.tolist())) == 16
    d0 = mp.decode(mp.build_mapping(ddr4_2400()), np.arange(16, dtype=np.uint64) * np.uint64(row_stride))
    assert len(set((d0.bankgroup * 4 + d0.bank).tolist())) == 1


def test_missing_field_and_non_power_of_two():
    with pytest.raises(ConfigError):
        mp.build_mapping(ddr4_2400().with_controller(address_mapping="rochbabgco"))  # no ra, 2 ranks
    from dataclasses import replace
    s = ddr4_2400()
    with pytest.raises(ConfigError):
        mp.build_mapping(replace(s, org=replace(s.org, ranks=3)))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["rochrababgco", "rorabgbachco", "RoBaRaCoCh", "ChRaBaRoCo", "robabgrachco"]),
       st.booleans(), st.integers(0, 1), st.integers(0, 3), st.integers(0, 3), st.integers(0, 65535),
       st.integers(0, 127))
def test_encode_decode_roundtrip(scheme, xor, ra, bg, ba, ro, co):
    s = ddr4_2400_ramulator().with_controller(address_mapping=scheme, bank_xor=xor)
    m = mp.build_mapping(s)
    a = mp.encode(m, rank=ra, bankgroup=bg, bank=ba, row=ro, column=co)
    d = mp.decode(m, np.array([a], dtype=np.uint64))
    assert (d.rank[0], d.bankgroup[0], d.bank[0], d.row[0], d.column[0]) == (ra, bg, ba, ro, co)
