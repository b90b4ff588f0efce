"""PIM memory presets and the optional ``pim:`` section of the memory schema."""

from __future__ import annotations

import pytest

from sim.config.loader import find_preset
from sim.dram.configs import load_memory
from sim.errors import ConfigError
from sim.pim.api import MappingConfig, load_pim
from sim.pim.configs import pim_presets
from sim.pim.timing import build_pim_table

PIM_PRESETS = ("gddr6-aim", "hbm2-pim", "hbm3-pim", "pim-gpt-gddr6")


def test_pim_presets_load_and_cite_sources():
    assert set(PIM_PRESETS) <= set(pim_presets())
    for name in PIM_PRESETS:
        spec = load_pim(name)
        assert spec.name == name and spec.pus_per_unit * spec.pim.banks_per_pu == spec.banks
        text = find_preset(name).read_text()
        assert text.startswith("#") and "pim.md" in text
        assert any(w in text for w in ("aim_simulator", "PIMSimulator", "AttAcc", "PIM-GPT"))
        assert load_memory(name).name == name                          # still a valid plain memory
        assert build_pim_table(spec, spec.pim.lanes[0][0]).rows.shape[1] == 4


def test_preset_values():
    aim = load_pim("gddr6-aim")
    t, p = aim.dram.timing, aim.pim.timing
    assert (aim.units, aim.banks, aim.row_columns, aim.buffer_columns) == (2, 16, 64, 64)
    assert (t.tCK_ns, t.CL, t.tRCD_RD, t.tRP, t.tRAS, t.tCCD_L, t.tREFI, t.tRFC) == (0.5, 50, 36, 32, 54, 2, 3333, 210)
    assert (p.tRCD_MAC, p.tCCDAB, p.tRCD_EW, p.tRCD_AF, p.CL_REG, p.CWL_GB) == (56, 2, 25, 86, 0, 1)
    assert aim.pim.lanes == (("bf16", 16),) and aim.pim.pu_clock_Hz == 1e9 and aim.pu_cycles == 2
    gpt = load_pim("pim-gpt-gddr6")
    assert (gpt.units, gpt.banks, gpt.pim.banks_per_pu) == (8, 16, 1) and gpt.pim.timing == aim.pim.timing
    assert gpt.peak_macs_per_s() * 2 == pytest.approx(4.096e12)
    hbm = load_pim("hbm2-pim")
    assert (hbm.units, hbm.pus_per_unit, hbm.pim.reduce, hbm.pim.result_registers) == (16, 8, "lanes", 8)
    assert hbm.pim.lanes_for("fp16") == 16 and hbm.pim.pu_clock_Hz == 300e6 and hbm.pu_cycles == 4
    h3 = load_pim("hbm3-pim")
    assert (h3.units, h3.banks, h3.pim.timing.tCCDAB, h3.pu_cycles) == (32, 32, 6, 4)


def test_plain_memories_are_not_pim():
    assert load_memory("gddr6").name == "gddr6"
    with pytest.raises(ConfigError, match="has no pim: section.*gddr6-aim"):
        load_pim("gddr6")


def test_pim_timings_accept_times_and_overrides():
    spec = load_pim("gddr6-aim", ["pim.timing.tRCD_MAC=30 ns", "org.channels=32", "pim.timing.tCCDAB=null"])
    assert spec.pim.timing.tRCD_MAC == 60 and spec.units == 32
    assert spec.pim.timing.tCCDAB == spec.pim.timing.tCCD_MAC            # default: the MAC cadence


@pytest.mark.parametrize("override,message", [
    ("pim.lanes={bf16: 16, fp64: 4}", "unknown data type 'fp64'"),
    ("pim.banks_per_pu=3", "less than or equal to 2"),
    ("pim.buffer=16 B", "holds less than one 32-byte access"),
    ("pim.timing.tRCD_MAC=fast", "tRCD_MAC"),
    ("pim.pu_clock=1 GB", "pu_clock"),
    ("pim.command_set=upmem", "command_set"),
    ("pim.timing.AAW_banks=8", "needs pim.timing.tAAW"),
])
def test_pim_section_errors_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        load_pim("gddr6-aim", [override])


def test_specs_are_hashable_and_compare_by_value():
    assert load_pim("hbm2-pim") == load_pim("hbm2-pim") and hash(load_pim("hbm2-pim")) == hash(load_pim("hbm2-pim"))
    assert load_pim("hbm2-pim") != load_pim("hbm2-pim", ["org.channels=32"])


def test_mapping_config_validates():
    assert MappingConfig() == MappingConfig(partition="channel-first", tiling="auto")
    with pytest.raises(ConfigError, match="mapping.partition"):
        MappingConfig(partition="row-first")
    with pytest.raises(ConfigError, match="mapping.vector_chunk"):
        MappingConfig(vector_chunk=0)
