"""Hardware configs: extends, overrides, validation errors that name file, key, value and expectation."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sim.config import list_presets, load_hw
from sim.config.hardware import DeviceConfig
from sim.errors import ConfigError

BASE = """
kind: device
name: base
type: gpu
clock: 1 GHz
cores: 4
compute: {fp16: 100 TFLOPS, fp32: 10 TFLOPS}
memory:
  - {name: l2, capacity: 4 MiB, bandwidth: 4 TB/s}
  - {name: dram, kind: dram, capacity: 8 GiB, bandwidth: 1 TB/s}
power: {static: 10 W, peak: 100 W}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_every_preset_loads():
    presets = list_presets()
    assert {"a100-40gb", "a100-80gb", "h100-sxm", "t4", "rtx-a6000", "xeon-gold-6154",
            "xeon-gold-5220r"} <= set(presets["devices"])
    assert {"pcie3-x16", "pcie4-x16", "pcie5-x16", "nvlink3", "nvlink4", "ib-hdr", "ib-ndr",
            "cxl"} <= set(presets["links"])
    for names in presets.values():
        for name in names:
            load_hw(name)


@pytest.mark.parametrize("name,ridge", [("a100-40gb", 200.6), ("a100-80gb", 153.0), ("h100-sxm", 295.0)])
def test_ridge_points_match_datasheet(name, ridge):
    dev = load_hw(name)
    assert dev.compute["fp16"] / dev.main_memory.bandwidth == pytest.approx(ridge, rel=2e-3)


def test_extends_deep_merges_and_replaces_lists(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    child = write(tmp_path, "child.yaml", """
        extends: base.yaml
        name: child
        compute: {fp16: 200 TFLOPS}
        memory:
          - {name: hbm, kind: dram, capacity: 16 GiB, bandwidth: 2 TB/s}
    """)
    dev = load_hw(str(child))
    assert isinstance(dev, DeviceConfig)
    assert dev.compute == {"fp16": 200e12, "fp32": 10e12}        # dicts merge
    assert [m.name for m in dev.memory] == ["hbm"]               # lists replace
    assert dev.clock == 1e9                                      # inherited scalar


def test_extends_list_in_order(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    write(tmp_path, "fast.yaml", "clock: 2 GHz\n")
    child = write(tmp_path, "child.yaml", "extends: [base.yaml, fast.yaml]\nname: c\n")
    assert load_hw(str(child)).clock == 2e9


def test_overrides(tmp_path):
    base = write(tmp_path, "base.yaml", BASE)
    dev = load_hw(str(base), ["compute.fp16=50 TFLOPS", "memory.1.bandwidth=3 TB/s", "cores=8"])
    assert dev.compute["fp16"] == 50e12 and dev.memory[1].bandwidth == 3e12 and dev.cores == 8


def test_unknown_key_names_file_and_key(tmp_path):
    bad = write(tmp_path, "bad.yaml", BASE + "clok: 2 GHz\n")
    with pytest.raises(ConfigError) as err:
        load_hw(str(bad))
    text = str(err.value)
    assert "bad.yaml" in text and "clok" in text and "unknown key" in text and "clock" in text


def test_error_in_parent_names_the_parent_file(tmp_path):
    write(tmp_path, "base.yaml", BASE.replace("bandwidth: 1 TB/s", "bandwidth: 1 TB"))
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nname: c\n")
    with pytest.raises(ConfigError) as err:
        load_hw(str(child))
    text = str(err.value)
    assert "base.yaml" in text and "memory.1.bandwidth" in text and "'1 TB'" in text and "bandwidth" in text


def test_bandwidth_in_bytes_is_rejected(tmp_path):
    bad = write(tmp_path, "bad.yaml", BASE.replace("bandwidth: 4 TB/s", "bandwidth: 4 TB"))
    with pytest.raises(ConfigError, match=r"memory\.0\.bandwidth.*TB/s"):
        load_hw(str(bad))


def test_negative_size_is_rejected(tmp_path):
    bad = write(tmp_path, "bad.yaml", BASE.replace("capacity: 4 MiB", "capacity: -4 MiB"))
    with pytest.raises(ConfigError, match=r"memory\.0\.capacity.*negative"):
        load_hw(str(bad))


def test_malformed_yaml_names_line(tmp_path):
    bad = write(tmp_path, "bad.yaml", "kind: device\nname: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml:\d+:\d+.*malformed YAML"):
        load_hw(str(bad))


def test_duplicate_key_is_an_error_naming_both_lines(tmp_path):
    bad = write(tmp_path, "dup.yaml", "kind: device\nname: a\ncompute:\n  fp16: 1 TFLOPS\nname: b\n")
    with pytest.raises(ConfigError, match=r"dup\.yaml:5:1.*duplicate key 'name' \(first at line 2"):
        load_hw(str(bad))
    nested = write(tmp_path, "dup2.yaml", "kind: device\ntiling:\n  a: 1\n  a: 2\n")
    with pytest.raises(ConfigError, match=r"dup2\.yaml:4:3.*duplicate key 'a'"):
        load_hw(str(nested))


def test_missing_extends_target(tmp_path):
    bad = write(tmp_path, "bad.yaml", "extends: nothere.yaml\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*extends.*nothere"):
        load_hw(str(bad))


def test_extends_cycle(tmp_path):
    write(tmp_path, "a.yaml", "extends: b.yaml\n")
    write(tmp_path, "b.yaml", "extends: a.yaml\n")
    with pytest.raises(ConfigError, match="cycle of extends: a.yaml -> b.yaml -> a.yaml"):
        load_hw(str(tmp_path / "a.yaml"))


def test_unknown_preset_suggests():
    with pytest.raises(ConfigError, match="a100-40gb"):
        load_hw("a100-40")


def test_cli_error_is_one_message_exit_2(tmp_path):
    bad = write(tmp_path, "bad.yaml", BASE + "clok: 2 GHz\n")
    proc = subprocess.run([sys.executable, "-m", "sim", "hw", "show", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "clok" in proc.stderr


def test_validator_message_names_the_bad_value_once():
    with pytest.raises(ConfigError) as err:
        load_hw("ddr4-2400", ["controller.address_mapping=rochxx"])
    text = str(err.value)
    assert "controller.address_mapping" in text and text.count("'rochxx'") == 1
