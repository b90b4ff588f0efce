"""Memory descriptions: presets, the DRAMsim3 / Ramulator 2.0 importers (dram.md section 1 and its
traps), the pimsim memory YAML schema, and its error messages."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from sim.config import list_presets, load_hw
from sim.config.memory import MemoryConfig, to_cycles
from sim.dram.configs import import_notes, load_memory, load_memory_config, spec_from_config
from sim.dram.import_ramulator2 import jedec_rounding
from sim.errors import ConfigError

DATA = Path("/work/shared/data/dram_configs")
if not DATA.is_dir():  # the repository's own copy, when the shared folder is elsewhere
    DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "dram_configs"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared DRAM configs not available")

D3_DDR4 = DATA / "dramsim3_DDR4_8Gb_x8_2400.ini"
D3_HBM2 = DATA / "dramsim3_HBM2_8Gb_x128.ini"
D3_GDDR6 = DATA / "dramsim3_GDDR6_8Gb_x16.ini"
R2_DDR4 = DATA / "ramulator2_DDR4_8Gb_x8_2400U_1ch2ra.yaml"
R2_HBM2 = DATA / "ramulator2_HBM2_8Gb_2Gbps_8ch.yaml"
R2_HBM2_256 = DATA / "ramulator2_HBM2_8Gb_2Gbps_8ch_cw256.yaml"

REQUIRED_PRESETS = {"ddr4-2400", "ddr4-2666", "ddr4-3200", "ddr5-4800", "lpddr5-6400", "hbm2", "hbm2e", "hbm3",
                    "gddr6", "dramsim3-ddr4-2400", "dramsim3-hbm2", "dramsim3-gddr6", "ramulator2-ddr4-2400",
                    "ramulator2-hbm2", "ramulator2-hbm2-cw256"}


def _timing(spec, **expected):
    for k, v in expected.items():
        assert getattr(spec.timing, k) == v, k


def _org(spec, **expected):
    for k, v in expected.items():
        assert getattr(spec.org, k) == v, k


# --- dram.md section 1: DRAMsim3 -----------------------------------------------------------------
@needs_data
def test_dramsim3_ddr4_effective_values():
    s = load_memory(str(D3_DDR4))
    _org(s, standard="DDR4", channels=1, ranks=2, bankgroups=4, banks_per_group=4, rows=65536, columns=1024,
         bus_width_bits=64, burst_length=8, tx_bytes=64)
    _timing(s, tCK_ns=0.83, CL=17, CWL=12, tRCD_RD=17, tRCD_WR=17, tRP=17, tRAS=39, tRC=56, tBL=4, tCCD_S=4,
            tCCD_L=6, tRRD_S=4, tRRD_L=6, tFAW=26, tWR=18, tWTR_S=3, tWTR_L=9, tRTP=9, tREFI=9360, tRFC=420,
            tRTRS=1)
    c = s.controller
    assert (c.address_mapping, c.compat, c.refresh, c.page_policy) == ("rochrababgco", "dramsim3", "staggered",
                                                                       "open")
    assert (c.read_queue, c.write_queue, c.cmd_queue_size) == (32, 32, 8)
    assert s.power.IDD0 == 48 and s.power.VDD == 1.2 and s.power.IDD5AB == 250
    assert any("ranks = channel_size 16384 MB / 8192 MB" in n for n in import_notes(str(D3_DDR4)))


@needs_data
def test_dramsim3_hbm2_traps():
    s = load_memory(str(D3_HBM2))
    _org(s, standard="HBM2", channels=8, pseudo_channels=1, ranks=1, bankgroups=4, banks_per_group=4,
         rows=32768, bus_width_bits=128, burst_length=4, tx_bytes=64)
    assert s.org.columns == 64            # the .ini value; DRAMsim3 doubles it internally (see notes)
    # tRTP_L/tRTP_S are never read: tRTP stays at DRAMsim3's default 5; HBM uses tRCDRD/tRCDWR
    _timing(s, tCK_ns=1.0, CL=14, CWL=4, tRCD_RD=14, tRCD_WR=14, tRP=14, tRAS=34, tRC=48, tBL=2, tCCD_S=1,
            tCCD_L=2, tRRD_S=4, tRRD_L=6, tFAW=30, tWR=16, tWTR_S=6, tWTR_L=8, tRTP=5, tREFI=3900, tRFC=260,
            tRTRS=2)
    assert s.controller.address_mapping == "rorabgbachco"
    notes = " ".join(import_notes(str(D3_HBM2)))
    assert "tRTP stays 5" in notes and "dual command" in notes and "x 2" in notes


@needs_data
def test_dramsim3_gddr6_traps():
    s = load_memory(str(D3_GDDR6))
    # channel_size 4096 MB is raised to one 8192 MB rank; bank groups off -> 1 x 16 banks
    _org(s, standard="GDDR6", channels=1, ranks=1, bankgroups=1, banks_per_group=16, rows=16384, columns=128,
         bus_width_bits=128, burst_length=16, tx_bytes=256)
    _timing(s, tCK_ns=0.66, CL=24, CWL=16, tRCD_RD=24, tRCD_WR=20, tRP=24, tRAS=54, tRC=78, tBL=1,
            tCCD_S=3, tCCD_L=3, tRRD_S=9, tRRD_L=9, tFAW=32, t32AW=420, tWR=16, tWTR_S=7, tWTR_L=7, tRTP=5,
            tREFI=11862, tRFC=126, tPPD=2)
    notes = " ".join(import_notes(str(D3_GDDR6)))
    assert "raises it to 8192 MB" in notes and "tRTP stays 5" in notes


# --- dram.md section 1: Ramulator 2.0 --------------------------------------------------------------
@needs_data
def test_ramulator2_ddr4_effective_values():
    s = load_memory(str(R2_DDR4))
    _org(s, channels=1, ranks=2, bankgroups=4, banks_per_group=4, rows=65536, columns=1024, tx_bytes=64)
    # nRFC / nREFI recomputed from ns tables at the preset tCK: 433 / 9364 (DRAMsim3: 420 / 9360)
    _timing(s, tCK_ns=0.833, CL=17, CWL=12, tRCD_RD=17, tRP=17, tRAS=39, tRC=56, tBL=4, tCCD_S=4, tCCD_L=6,
            tRRD_S=4, tRRD_L=6, tFAW=26, tWR=18, tWTR_S=3, tWTR_L=9, tRTP=9, tREFI=9364, tRFC=433, tRTRS=2)
    c = s.controller
    assert (c.address_mapping, c.compat, c.refresh, c.scheduler) == ("robabgracoch", "ramulator2", "allbank",
                                                                     "frfcfs")
    assert s.power.IDD0 > 0  # drampower_enable with the Default current preset


@needs_data
def test_ramulator2_hbm2_traps():
    s = load_memory(str(R2_HBM2))
    _org(s, standard="HBM2", channels=8, pseudo_channels=2, ranks=1, bankgroups=4, banks_per_group=4,
         rows=32768, columns=64, bus_width_bits=64, burst_length=2, tx_bytes=16)
    _timing(s, tCK_ns=1.0, CL=7, CWL=2, tRCD_RD=7, tRCD_WR=7, tRP=7, tRAS=17, tRC=19, tBL=4, tCCD_S=1,
            tCCD_L=2, tRRD_S=2, tRRD_L=3, tFAW=15, tWR=8, tWTR_S=3, tWTR_L=4, tRTP=3, tREFI=3900, tRFC=350)
    assert s.controller.refresh == "none"                 # AllBank refresh never reaches HBM2
    assert s.controller.address_mapping == "robabgpccoch"
    wide = load_memory(str(R2_HBM2_256))
    assert wide.org.tx_bytes == 64 and wide.org.bus_width_bits == 256


def test_jedec_rounding():
    assert jedec_rounding(7800, 833) == 9364
    assert jedec_rounding(360, 833) == 433
    assert jedec_rounding(350, 1000) == 350


# --- presets -------------------------------------------------------------------------------------
def test_every_memory_preset_loads():
    names = set(list_presets()["memories"])
    assert REQUIRED_PRESETS <= names
    for name in names:
        spec = load_memory(name)
        assert spec.name == name and spec.org.units >= 1 and spec.timing.tCK_ns > 0
        assert isinstance(load_hw(name), MemoryConfig)         # also through the generic loader


def test_presets_cite_sources():
    from sim.config.loader import find_preset

    for name in REQUIRED_PRESETS:
        text = find_preset(name).read_text()
        assert text.startswith("#") and any(w in text for w in ("JEDEC", "dram.md", "pim.md", "datasheet",
                                                                 "DRAMsim3", "Ramulator")), name


def _same_parameters(a, b):
    strip = {"name": "", "source": ""}
    return dataclasses.replace(a, **strip) == dataclasses.replace(b, **strip)


@needs_data
@pytest.mark.parametrize("preset,path", [("dramsim3-ddr4-2400", D3_DDR4), ("dramsim3-hbm2", D3_HBM2),
                                         ("dramsim3-gddr6", D3_GDDR6), ("ramulator2-ddr4-2400", R2_DDR4),
                                         ("ramulator2-hbm2", R2_HBM2), ("ramulator2-hbm2-cw256", R2_HBM2_256)])
def test_reference_presets_equal_their_imports(preset, path):
    assert _same_parameters(load_memory(preset), load_memory(str(path)))


def test_time_strings_round_up_to_cycles():
    s = load_memory("ddr4-2400")
    assert s.timing.tRFC == 421 and s.timing.tREFI == 9364        # 350 ns, 7.8 us at 0.833 ns
    assert to_cycles("13.75 ns", 0.625e-9) == 22                 # exact multiple stays exact
    assert to_cycles("13.76 ns", 0.625e-9) == 23
    assert to_cycles(17, 1e-9) == 17 and to_cycles("17", 1e-9) == 17


def test_overrides_and_compat():
    s = load_memory("ddr4-2400", ["timing.tRCD=20", "controller.page_policy=closed"], compat="ramulator2")
    assert s.timing.tRCD_RD == 20 and s.timing.tRCD_WR == 20
    assert s.controller.page_policy == "closed" and s.controller.compat == "ramulator2"
    assert load_memory("ddr4-2400", ["timing.tRFC=400 ns"]).timing.tRFC == 481


@needs_data
def test_overrides_apply_to_imports():
    s = load_memory(str(D3_DDR4), ["timing.tRP=20", "timing.tRC=59"])
    assert s.timing.tRP == 20 and s.timing.tRC == 59


# --- bad input -----------------------------------------------------------------------------------
BASE = """\
kind: memory
name: test-mem
standard: DDR4
org: {channels: 1, ranks: 1, bankgroups: 4, banks_per_group: 4, rows: 65536, columns: 1024,
      device_width: 8, bus_width: 64, burst_length: 8}
timing: {tCK: 1 ns, CL: 14, CWL: 10, tRCD: 14, tRP: 14, tRAS: 33, tCCD_S: 4, tCCD_L: 6, tRRD_S: 4,
         tRRD_L: 6, tFAW: 20, tWR: 15, tWTR_S: 3, tWTR_L: 8, tRTP: 8, tREFI: 7.8 us, tRFC: 350 ns}
power: {VDD: 1.2 V, IDD0: 48 mA}
"""


def _write(tmp_path: Path, text: str, name: str = "mem.yaml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def _error(path: Path, overrides=()) -> str:
    with pytest.raises(ConfigError) as info:
        load_memory(str(path), overrides)
    return str(info.value)


def test_base_file_is_valid(tmp_path):
    s = load_memory(str(_write(tmp_path, BASE)))
    assert s.timing.tRC == 47 and s.timing.tBL == 4 and s.power.IDD0 == 48


@pytest.mark.parametrize("override,key,words", [
    ("timing.tRAS=10", "timing.tRAS", ["tRAS (10 cycles) is shorter than tRCD (14 cycles)"]),
    ("timing.tRC=40", "timing.tRC", ["tRC (40 cycles) is shorter than tRAS + tRP", "47"]),
    ("org.rows=1000", "org.rows", ["power of two", "1000"]),
    ("org.bus_width=48", "org.bus_width", ["48"]),
    ("org.burst_length=2048", "org.burst_length", ["does not fit in a row"]),
    ("org.ranks=2", "controller", ["'ra'", "2 ranks"]),
    ("timing.tRCDD=14", "timing.tRCDD", ["unknown key", "tRCD"]),
    ("power.IDD0=48", "power.IDD0", ["no unit", "mA"]),
    ("timing.tCK=1", "timing.tCK", ["no unit", "ns"]),
    ("timing.tRP=14.5", "timing.tRP", ["whole", "14.5 ns"]),
    ("controller.address_mapping=rochrazzco", "controller.address_mapping", ["zz"]),
])
def test_bad_values_give_one_clear_error(tmp_path, override, key, words):
    path = _write(tmp_path, BASE)
    base_mapping = "controller.address_mapping=rochbgbaco"
    overrides = [override] if override.startswith("controller") else [base_mapping, override]
    msg = _error(path, overrides)
    assert f"key '{key}'" in msg, msg
    assert "\n" not in msg, msg
    assert str(path) in msg or "--set" in msg, msg
    for w in words:
        assert w in msg, msg


def test_error_names_the_file_that_set_the_key(tmp_path):
    path = _write(tmp_path, BASE.replace("tRAS: 33", "tRAS: 10"))
    msg = _error(path)
    assert str(path) in msg and "key 'timing.tRAS'" in msg and "(got 10)" in msg


def test_wrong_kind_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not a memory"):
        load_memory("a100-40gb")
    with pytest.raises(ConfigError, match="not found"):
        load_memory(str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigError, match="compatibility profile"):
        load_memory("ddr4-2400", compat="gem5")


def test_unsupported_import_inputs(tmp_path):
    ini = _write(tmp_path, "[dram_structure]\nprotocol = LPDDR4\n", "x.ini")
    with pytest.raises(ConfigError, match="LPDDR4 is not modelled"):
        load_memory(str(ini))
    ram = _write(tmp_path, """\
        MemorySystem:
          DRAM:
            impl: DDR4
            org: {preset: DDR4_9Gb_x8, channel: 1, rank: 1}
            timing: {preset: DDR4_2400U}
        """, "r.yaml")
    msg = str(pytest.raises(ConfigError, load_memory, str(ram)).value)
    assert "DDR4_9Gb_x8" in msg and "MemorySystem.DRAM.org.preset" in msg


def test_ramulator_ns_overrides_use_jedec_rounding(tmp_path):
    ram = _write(tmp_path, """\
        MemorySystem:
          DRAM:
            impl: DDR4
            org: {preset: DDR4_8Gb_x8, channel: 1, rank: 1}
            timing: {preset: DDR4_2400U, tRCD: 15.0, nRP: 20}
          AddrMapper: {impl: ChRaBaRoCo}
        """, "r.yaml")
    s = load_memory(str(ram))
    assert s.timing.tRCD_RD == jedec_rounding(15.0, 833) == 18 and s.timing.tRP == 20
    assert s.controller.address_mapping == "chrabgbaroco" and s.org.ranks == 1


def test_memory_config_direct_validation():
    cfg = load_memory_config("hbm3")
    spec = spec_from_config(cfg)
    assert spec.power.e_act_J == pytest.approx(0.9e-9) and spec.power.io_pJ_per_bit == pytest.approx(0.3)
    assert spec.org.tx_bytes == 32 and spec.peak_bandwidth_Bps == pytest.approx(665.8e9, rel=1e-3)
