"""Operator trace IR: JSON Lines round trip, validation of malformed records, laziness."""

from __future__ import annotations

import gzip
import itertools
import json
import tracemalloc
from collections.abc import Iterator

import pytest

from sim.errors import TraceError
from sim.workload.dtypes import DTypes
from sim.workload.generator import generate_trace, trace_meta
from sim.workload.models import load_model
from sim.workload.trace import KINDS, Op, Shape, phase_totals, read_trace, read_trace_header, write_trace


def _ops() -> list[Op]:
    dense = list(generate_trace("gpt2", 2, 8, 3, dtypes=DTypes("int4", "bf16", "fp8")))
    moe = list(generate_trace("olmoe-1b-7b", 2, 4, 1, routing="uniform-sampled", seed=3))
    moe_expected = list(generate_trace("deepseek-v2-lite", 1, 4, 1))
    # renumber so the concatenation keeps ids strictly increasing
    out: list[Op] = []
    base = 0
    for part in (dense, moe, moe_expected):
        for op in part:
            d = op.to_dict()
            d["id"] += base
            d["deps"] = [x + base for x in d["deps"]]
            out.append(Op.from_dict(d))
        base = out[-1].id + 1
    return out


@pytest.fixture(scope="module")
def ops() -> list[Op]:
    return _ops()


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_round_trip_identical(tmp_path, ops, suffix) -> None:
    p = tmp_path / f"t{suffix}"
    meta = trace_meta(load_model("gpt2"), 2, 8, 3)
    assert write_trace(p, iter(ops), meta=meta) == len(ops)
    back = list(read_trace(p))
    assert back == ops
    assert any(op.experts_active is not None for op in back)
    assert any(op.expert is not None for op in back)
    hdr = read_trace_header(p)
    assert hdr["format"] == "pimsim-trace" and hdr["version"] == 1 and hdr["model"] == "gpt2"
    # writing what was read gives the same bytes
    p2 = tmp_path / f"u{suffix}"
    write_trace(p2, back, meta=meta)
    raw = (lambda q: gzip.open(q).read()) if suffix.endswith(".gz") else (lambda q: q.read_bytes())
    assert raw(p) == raw(p2)
    if suffix.endswith(".gz"):
        assert p.read_bytes()[:2] == b"\x1f\x8b"


def test_record_schema(ops) -> None:
    d = ops[5].to_dict()
    assert d["bytes"] == sum(d[k] for k in ("load_weight_bytes", "load_act_bytes", "store_act_bytes",
                                             "load_kv_bytes", "store_kv_bytes"))
    assert set(d["dtypes"]) == {"weight", "act", "kv"}
    linear = next(o for o in ops if o.kind == "linear").to_dict()
    assert set(linear["shape"]) == {"m", "n", "k", "count"}
    norm = next(o for o in ops if o.kind == "norm").to_dict()
    assert set(norm["shape"]) == {"elements"}
    assert {o.kind for o in ops} <= set(KINDS)


def _write_lines(path, records) -> None:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n")


HEADER = {"format": "pimsim-trace", "version": 1}


def _good(ops) -> dict:
    return ops[1].to_dict()  # a norm op that depends on op 0


@pytest.mark.parametrize(("mutate", "pattern"), [
    (lambda d: d.update(kind="matmull"), r"field 'kind': got 'matmull'; expected one of"),
    (lambda d: d.update(flops=-5), r"field 'flops': got -5; expected an integer >= 0"),
    (lambda d: d.update(flops=1.5), r"field 'flops': got 1.5"),
    (lambda d: d.update(bytes=d["bytes"] + 1), r"field 'bytes'.*expected the sum"),
    (lambda d: d.update(deps=[99]), r"field 'deps': got 99; expected ids of earlier ops"),
    (lambda d: d.update(phase="decoding"), r"field 'phase': got 'decoding'"),
    (lambda d: d.update(step=3), r"field 'step': got 3; expected 0 for prefill"),
    (lambda d: d.update(shape={"m": 1}), r"field 'shape'.*keys elements"),
    (lambda d: d.update(dtypes={"weight": "fp12", "act": "fp16", "kv": "fp16"}),
     r"field 'dtypes.weight': got 'fp12'"),
    (lambda d: d.pop("load_kv_bytes"), r"missing field 'load_kv_bytes'"),
    (lambda d: d.update(colour="red"), r"unknown field 'colour'"),
    (lambda d: d.update(expert=-2), r"field 'expert': got -2"),
])
def test_malformed_record_names_file_line_field_value(tmp_path, ops, mutate, pattern) -> None:
    first = ops[0].to_dict()
    bad = _good(ops)
    mutate(bad)
    p = tmp_path / "bad.jsonl"
    _write_lines(p, [HEADER, first, bad])
    with pytest.raises(TraceError, match=r"bad\.jsonl:3: " + pattern):
        list(read_trace(p))


def test_malformed_lines_and_headers(tmp_path, ops) -> None:
    p = tmp_path / "t.jsonl"
    _write_lines(p, [HEADER, ops[0].to_dict(), '{"id": 1, "name": '])
    with pytest.raises(TraceError, match=r"t\.jsonl:3: invalid JSON"):
        list(read_trace(p))
    _write_lines(p, [HEADER, ops[0].to_dict(), ops[0].to_dict()])
    with pytest.raises(TraceError, match=r"t\.jsonl:3: field 'id': got 0; expected an id greater"):
        list(read_trace(p))
    _write_lines(p, [ops[0].to_dict()])
    with pytest.raises(TraceError, match=r"t\.jsonl:1: field 'format'.*header record"):
        list(read_trace(p))
    _write_lines(p, [{"format": "pimsim-trace", "version": 7}])
    with pytest.raises(TraceError, match=r"field 'version': got 7"):
        read_trace_header(p)
    p.write_text("")
    with pytest.raises(TraceError, match="empty trace"):
        list(read_trace(p))
    with pytest.raises(TraceError, match="not found"):
        list(read_trace(tmp_path / "nope.jsonl"))
    g = tmp_path / "broken.jsonl.gz"
    g.write_bytes(b"not gzip at all")
    with pytest.raises(TraceError, match=r"broken\.jsonl\.gz: cannot read trace"):
        list(read_trace(g))


def test_good_lines_before_a_bad_one_are_yielded(tmp_path, ops) -> None:
    p = tmp_path / "t.jsonl"
    _write_lines(p, [HEADER, ops[0].to_dict(), ops[1].to_dict(), "[1, 2]"])
    it = read_trace(p)
    assert next(it) == ops[0] and next(it) == ops[1]
    with pytest.raises(TraceError, match=r"t\.jsonl:4: record is list"):
        next(it)


def test_writer_rejects_non_increasing_ids(tmp_path, ops) -> None:
    with pytest.raises(TraceError, match="does not increase"):
        write_trace(tmp_path / "x.jsonl", [ops[1], ops[0]])


def test_from_dict_direct(ops) -> None:
    for op in ops[:50]:
        assert Op.from_dict(op.to_dict()) == op
    with pytest.raises(TraceError, match=r"<op>: record is str"):
        Op.from_dict("x")


def test_generation_is_lazy() -> None:
    gen = generate_trace("gpt2-xl", 1, 64, 1024)
    assert isinstance(gen, Iterator) and not isinstance(gen, list | tuple)
    first = list(itertools.islice(gen, 1000))
    assert [o.id for o in first] == list(range(1000))
    # memory stays bounded while streaming several whole steps (about 820 ops each)
    tracemalloc.start()
    try:
        count = 0
        for _ in itertools.islice(generate_trace("gpt2-xl", 1, 64, 1024), 6000):
            count += 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 6000
    assert peak < 2_000_000  # a materialised list of 6000 ops would need several MB


def test_write_streams_a_generator(tmp_path) -> None:
    p = tmp_path / "s.jsonl.gz"
    n = write_trace(p, generate_trace("gpt2", 1, 4, 5))
    totals = phase_totals(read_trace(p))
    direct = phase_totals(generate_trace("gpt2", 1, 4, 5))
    assert totals == direct
    assert n == direct["total"]["ops"] and direct["decode"]["steps"] == 5 and direct["prefill"]["steps"] == 1


def test_shape_to_dict() -> None:
    assert Shape(m=2, n=3, k=4, count=5).to_dict(True) == {"m": 2, "n": 3, "k": 4, "count": 5}
    assert Shape(elements=7).to_dict(False) == {"elements": 7}
