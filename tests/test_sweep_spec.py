"""Sweep specification: the value grammar, axes (grid, zip, random), sweep files and their errors."""

import textwrap

import pytest

from sim.errors import ConfigError
from sim.sweep.spec import RandomSpec, SweepSpec, parse_assignment
from sim.sweep.values import draw_samples, expand_values, parse_distribution, split_top


def test_split_top_keeps_calls_and_lists_whole():
    assert split_top("1,range(1,3),[4,5],'a,b'") == ["1", "range(1,3)", "[4,5]", "'a,b'"]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("1,2,4", [1, 2, 4]),
        ("1.5, 2", [1.5, 2]),
        ("1TB/s,2 TB/s", ["1TB/s", "2 TB/s"]),
        ("fp16,int8", ["fp16", "int8"]),
        ("range(1,9)", [1, 2, 3, 4, 5, 6, 7, 8]),
        ("range(4)", [0, 1, 2, 3]),
        ("range(8,0,-3)", [8, 5, 2]),
        ("1,range(4,6),16", [1, 4, 5, 16]),
        ("linspace(1, 9, 5)", [1, 3, 5, 7, 9]),
        ("linspace(1 TB/s, 2 TB/s, 3)", ["1 TB/s", "1.5 TB/s", "2 TB/s"]),
        ("geomspace(1, 64, 7)", [1, 2, 4, 8, 16, 32, 64]),
        ("geomspace(1 GHz, 4 GHz, 3)", ["1 GHz", "2 GHz", "4 GHz"]),
    ],
)
def test_expand_values(text, expected):
    assert expand_values(text, "k") == expected


def test_yaml_lists_are_taken_as_values_and_generators_expand():
    assert expand_values(["1 TB/s", "range(2,4)", 8], "k") == ["1 TB/s", 2, 3, 8]
    assert expand_values(5, "k") == [5]


@pytest.mark.parametrize(
    "text,message",
    [
        ("", "empty"),
        ("1,,2", "empty value"),
        ("range(1,9,0)", "step must not be 0"),
        ("range(a)", "whole number"),
        ("linspace(1 TB/s, 2 GB/s, 3)", "same unit"),
        ("linspace(1, 2)", "takes (start, stop, count)"),
        ("geomspace(0, 4, 3)", "positive"),
        ("uniform(1, 2)", "random"),
    ],
)
def test_expand_values_errors(text, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        expand_values(text, "memory.2.bandwidth")


def test_random_draws_are_seeded_and_in_range():
    dists = {
        "a": parse_distribution("uniform(1 TB/s, 2 TB/s)", "a"),
        "b": parse_distribution("randint(1, 4)", "b"),
        "c": parse_distribution("choice(fp16, int8)", "c"),
        "d": parse_distribution("loguniform(1, 100)", "d"),
    }
    rows = draw_samples(dists, 50, seed=3)
    assert rows == draw_samples(dists, 50, seed=3)
    assert rows != draw_samples(dists, 50, seed=4)
    for a, b, c, d in rows:
        assert a.endswith(" TB/s") and 1 <= float(a.split()[0]) <= 2
        assert b in (1, 2, 3, 4) and c in ("fp16", "int8") and 1 <= d <= 100
    assert {r[1] for r in rows} == {1, 2, 3, 4}


@pytest.mark.parametrize(
    "text", ["normal(0,1)", "uniform(1)", "randint(4,1)", "loguniform(0, 1)", "choice()"]
)
def test_bad_distributions(text):
    with pytest.raises(ConfigError):
        parse_distribution(text, "k")


def test_points_are_the_cartesian_product_of_grid_zip_and_random_axes():
    spec = SweepSpec(
        grid={"a": [1, 2], "b": ["x", "y", "z"]},
        zips=[{"c": [10, 20], "d": [0.1, 0.2]}],
        random=RandomSpec(samples=2, seed=0, keys={"e": "randint(1, 9)"}),
    )
    pts = spec.points()
    assert len(pts) == 2 * 3 * 2 * 2
    assert pts[0]["a"] == 1 and pts[-1]["a"] == 2  # first axis varies slowest
    assert all((p["c"], p["d"]) in ((10, 0.1), (20, 0.2)) for p in pts)  # zipped keys move together
    assert spec.keys() == ["a", "b", "c", "d", "e"]


@pytest.mark.parametrize(
    "spec,message",
    [
        (SweepSpec(), "nothing to sweep"),
        (SweepSpec(grid={"a": []}), "empty grid"),
        (SweepSpec(zips=[{"a": [1, 2], "b": [1]}]), "same length"),
        (SweepSpec(grid={"a": [1]}, zips=[{"a": [1]}]), "two axes"),
        (SweepSpec(random=RandomSpec(samples=0, keys={"a": "randint(1,2)"})), "--sample N"),
        (SweepSpec(random=RandomSpec(samples=3)), "at least one key"),
    ],
)
def test_axis_errors(spec, message):
    with pytest.raises(ConfigError, match=message):
        spec.points()


def test_sweep_file_round_trips(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        textwrap.dedent("""
        name: bw
        hw: h100-sxm
        model: gpt2
        workload: {batch: 2, prompt: 64}
        set: ["power.static=50 W"]
        grid:
          memory.hbm.bandwidth: [2 TB/s, 3 TB/s]
          workload.generate: "range(1,3)"
        zip:
          - {compute.fp16: [100 TFLOPS, 200 TFLOPS], power.peak: [400 W, 700 W]}
        random: {samples: 2, seed: 5, keys: {clock: "uniform(1 GHz, 2 GHz)"}}
    """)
    )
    spec = SweepSpec.from_yaml(path)
    assert spec.hw == "h100-sxm" and spec.workload == {"batch": 2, "prompt": 64, "model": "gpt2"}
    assert spec.grid["workload.generate"] == [1, 2] and len(spec.points()) == 2 * 2 * 2 * 2
    again = SweepSpec.from_dict(spec.to_dict())
    assert again.points() == spec.points()


@pytest.mark.parametrize(
    "text,message",
    [
        ("grd: {a: [1]}", "did you mean grid"),
        ("grid: [1, 2]", "expected a mapping"),
        ("random: {samples: 2, sed: 1}", "random.sed"),
        ("set: 5", "key.path=value"),
    ],
)
def test_sweep_file_errors_name_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as exc:
        SweepSpec.from_yaml(path)
    assert "bad.yaml" in str(exc.value) or "grid" in message


def test_parse_assignment():
    assert parse_assignment("a.b=1,2", "--grid") == ("a.b", "1,2")
    with pytest.raises(ConfigError, match="empty grid"):
        parse_assignment("a.b=", "--grid")
    with pytest.raises(ConfigError, match="KEY=VALUES"):
        parse_assignment("a.b", "--grid")
