"""Unit strings in configs are converted once, to SI, and wrong dimensions are rejected."""

import pytest

from sim.config.units import UnitError, format_quantity, parse_quantity


@pytest.mark.parametrize("text,dim,expected", [
    ("1.555 TB/s", "bandwidth", 1.555e12),
    ("900 GiB/s", "bandwidth", 900 * 2**30),
    ("200 Gb/s", "bandwidth", 25e9),
    ("312 TFLOPS", "compute", 312e12),
    ("624 TOPS", "compute", 624e12),
    ("40 MiB", "size", 40 * 2**20),
    ("40 MB", "size", 40e6),
    ("128 bit", "size", 16),
    ("1.41 GHz", "frequency", 1.41e9),
    ("14 ns", "time", 14e-9),
    ("7.8 us", "time", 7.8e-6),
    ("5.5 pJ/bit", "energy_per_bit", 5.5e-12),
    ("4 pJ/B", "energy_per_bit", 0.5e-12),
    ("300 W", "power", 300.0),
    ("1350 mV", "voltage", 1.35),
    ("48 mA", "current", 0.048),
    ("2.95 nJ", "energy", 2.95e-9),
])
def test_parse(text, dim, expected):
    assert parse_quantity(text, dim) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("text,dim", [
    ("1555 GB", "bandwidth"),       # a size where a bandwidth is expected
    ("1555", "bandwidth"),          # no unit
    ("14 parsecs", "time"),         # unknown unit
    ("fast", "frequency"),          # not a number
])
def test_rejects(text, dim):
    with pytest.raises(UnitError) as err:
        parse_quantity(text, dim)
    assert "expected" in str(err.value)


def test_bare_number_is_an_error_unless_allowed():
    with pytest.raises(UnitError):
        parse_quantity(17, "time")
    assert parse_quantity(17, "time", allow_bare=True) == 17.0


def test_format_round_trip():
    for text, dim in [("1.555 TB/s", "bandwidth"), ("40 MiB", "size"), ("14 ns", "time"), ("312 TFLOP/s", "compute")]:
        value = parse_quantity(text, dim)
        assert parse_quantity(format_quantity(value, dim), dim) == pytest.approx(value)
