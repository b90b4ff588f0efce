"""Charts: every kind writes PNG, SVG or PDF; Pareto fronts; Chrome-trace reading; clear errors."""

import json

import numpy as np
import pytest

from sim.cli import main
from sim.errors import TraceError
from sim.plots.gantt import read_chrome_trace
from sim.plots.pareto import pareto_mask
from sim.sweep import execute, plan_sweep
from sim.sweep.spec import SweepSpec

MAGIC = {".png": b"\x89PNG", ".svg": b"<?xml", ".pdf": b"%PDF"}


def assert_chart(path):
    data = path.read_bytes()
    assert data.startswith(MAGIC[path.suffix]), path
    assert len(data) > 5000


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    spec = SweepSpec(
        hw="a100-80gb",
        workload={"model": "gpt2", "prompt": 16, "generate": 2},
        grid={
            "memory.hbm.bandwidth": ["1 TB/s", "2 TB/s", "4 TB/s"],
            "compute.fp16": ["100 TFLOPS", "300 TFLOPS"],
            "workload.batch": [1, 8],
        },
    )
    execute(plan_sweep(spec), out)
    return out


def test_pareto_mask():
    v = np.array([[1, 5], [2, 2], [3, 3], [5, 1], [2, 2], [6, 6]])
    assert pareto_mask(v).tolist() == [True, True, False, True, True, False]
    assert pareto_mask(v, [False, True]).tolist() == [True, False, False, False, False, True]
    three = np.array([[1, 1, 9], [2, 2, 1], [3, 3, 3]])
    assert pareto_mask(three).tolist() == [True, True, False]


def test_sweep_charts_in_every_format(sweep_dir, tmp_path, capsys):
    d = str(sweep_dir)
    commands = {
        "lines.png": [
            "plot",
            "sweep",
            d,
            "--x",
            "memory.hbm.bandwidth",
            "--y",
            "latency_s",
            "--hue",
            "compute.fp16",
            "--where",
            "workload.batch=8",
        ],
        "heat.svg": [
            "plot",
            "heatmap",
            d,
            "--x",
            "memory.hbm.bandwidth",
            "--y",
            "compute.fp16",
            "--z",
            "energy_J",
            "--where",
            "workload.batch=1",
        ],
        "pareto.pdf": ["plot", "pareto", d, "--color", "compute.fp16"],
        "bars.png": ["plot", "breakdown", "--sweep", d, "--where", "compute.fp16=300TFLOPS"],
    }
    for name, cmd in commands.items():
        out = tmp_path / name
        assert main([*cmd, "-o", str(out)]) == 0, capsys.readouterr().err
        assert_chart(out)


def test_device_charts(tmp_path):
    out = tmp_path / "roof.png"
    assert (
        main(
            [
                "plot",
                "roofline",
                "--hw",
                "a100-80gb",
                "--hw",
                "t4",
                "--model",
                "gpt2",
                "--prompt",
                "32",
                "--color-by",
                "phase",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert_chart(out)
    out = tmp_path / "bars.svg"
    assert (
        main(
            [
                "plot",
                "breakdown",
                "--hw",
                "a100-80gb",
                "--hw",
                "h100-sxm",
                "--model",
                "gpt2",
                "--prompt",
                "16",
                "--generate",
                "2",
                "--relative",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert_chart(out)


def test_api_charts(sweep_dir, tmp_path):
    import sim

    r = sim.simulate("a100-80gb", "gpt2", prompt=16, generate=1)
    assert_chart(sim.plot.roofline(r, tmp_path / "r.png", phase="decode"))
    assert_chart(sim.plot.breakdown([r], tmp_path / "b.png"))
    df = sim.sweep.load_results(sweep_dir)
    assert_chart(
        sim.plot.sweep(
            df, "workload.batch", "tokens_per_s", tmp_path / "s.png", where={"compute.fp16": "100 TFLOPS"}
        )
    )
    assert_chart(sim.plot.pareto(sweep_dir, tmp_path / "p.pdf", x="tokens_per_s", maximize=["tokens_per_s"]))


TRACE = {
    "traceEvents": [
        {"ph": "M", "name": "process_name", "pid": 1, "args": {"name": "gpu0"}},
        {"ph": "M", "name": "thread_name", "pid": 1, "tid": 7, "args": {"name": "stream"}},
        {"ph": "X", "name": "gemm", "cat": "linear", "pid": 1, "tid": 7, "ts": 10.0, "dur": 30.0},
        {"ph": "X", "name": "inner", "cat": "linear", "pid": 1, "tid": 7, "ts": 12.0, "dur": 5.0},
        {"ph": "B", "name": "copy", "cat": "link", "pid": 2, "tid": 0, "ts": 20.0},
        {"ph": "E", "pid": 2, "tid": 0, "ts": 50.0},
        {"ph": "C", "name": "queue", "pid": 1, "ts": 0, "args": {"depth": 3}},
    ]
}


def test_chrome_trace_reading(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(TRACE))
    tl = read_chrome_trace(path)
    spans = {s.name: s for s in tl.spans}
    assert set(spans) == {"gemm", "inner", "copy"}
    assert spans["gemm"].start_s == pytest.approx(10e-6) and spans["gemm"].dur_s == pytest.approx(30e-6)
    assert spans["copy"].dur_s == pytest.approx(30e-6) and spans["copy"].cat == "link"
    assert tl.process_names == {1: "gpu0"} and tl.thread_names == {(1, 7): "stream"}
    path.write_text(json.dumps(TRACE["traceEvents"]))  # a bare array works too
    assert len(read_chrome_trace(path).spans) == 3
    out = tmp_path / "g.png"
    assert main(["plot", "gantt", str(path), "-o", str(out)]) == 0
    assert_chart(out)


def test_gantt_of_a_simulated_timeline(tmp_path):
    timeline = tmp_path / "t.json"
    assert main(["run", "--hw", "a100-80gb", "--model", "gpt2", "--prompt", "16", "--generate", "1",
                 "--timeline", str(timeline), "--no-chart"]) == 0
    assert len(read_chrome_trace(timeline).spans) > 10
    out = tmp_path / "g.png"
    assert main(["plot", "gantt", str(timeline), "-o", str(out)]) == 0
    assert_chart(out)


@pytest.mark.parametrize(
    "content,message",
    [
        ("{not json", "not a JSON Chrome trace"),
        ('{"traceEvents": [{"ph": "C", "ts": 1}]}', "no duration events"),
        ('[{"ph": "X", "name": "a", "ts": "soon"}]', "numeric ts"),
        ('{"events": []}', "traceEvents"),
    ],
)
def test_bad_traces(tmp_path, content, message):
    path = tmp_path / "t.json"
    path.write_text(content)
    with pytest.raises(TraceError, match=message):
        read_chrome_trace(path)


@pytest.mark.parametrize(
    "args,message",
    [
        (["sweep", "{d}", "--x", "memory.hbm.bandwidth", "--y", "latency_ms"], "did you mean latency_s"),
        (
            ["heatmap", "{d}", "--x", "memory.hbm.bandwidth", "--y", "compute.fp16"],
            "workload.batch also vary",
        ),
        (["sweep", "{d}", "--x", "memory.hbm.bandwidth", "--where", "workload.batch=3"], "no point has"),
        (["sweep", "{d}", "--x", "workload.batch", "-o", "x.gif"], "cannot write a chart"),
        (["sweep", "{missing}", "--x", "workload.batch"], "no sweep results"),
        (["gantt", "{missing}"], "cannot read the trace"),
    ],
)
def test_plot_errors_exit_2(sweep_dir, tmp_path, capsys, args, message):
    args = [a.format(d=sweep_dir, missing=tmp_path / "nope") for a in args]
    if "-o" not in args:
        args += ["-o", str(tmp_path / "x.png")]
    assert main(["plot", *args]) == 2
    assert message in capsys.readouterr().err
