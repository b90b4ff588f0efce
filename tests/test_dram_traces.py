"""Request-trace readers and writers: the neutral CSV, DRAMsim3 and Ramulator 2.0 formats."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.dram.traces import (
    check_capacity,
    read_trace,
    sniff_format,
    write_csv,
    write_dramsim3,
    write_ramulator,
)
from sim.errors import TraceError


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _random(n: int = 500, seed: int = 0):
    rng = np.random.default_rng(seed)
    arrive = np.sort(rng.integers(0, 10 * n, n)).astype(np.int64)
    addr = (rng.integers(0, 1 << 40, n).astype(np.uint64) & ~np.uint64(63))
    return arrive, addr, rng.random(n) < 0.4


@pytest.mark.parametrize("writer,fmt", [("csv", "csv"), ("dramsim3", "dramsim3"), ("ramulator", "ramulator")])
def test_round_trip_and_sniffing(tmp_path, writer, fmt):
    arrive, addr, w = _random()
    path = tmp_path / f"t.{fmt}"
    if writer == "csv":
        write_csv(path, arrive, addr, w)
    elif writer == "dramsim3":
        write_dramsim3(path, arrive, addr, w)
    else:
        write_ramulator(path, addr, w)
    assert sniff_format(path) == fmt
    tr = read_trace(path)
    assert tr.fmt == fmt and len(tr) == arrive.size
    a, d, iw = tr                                   # unpacks as three arrays
    assert a.dtype == np.int64 and d.dtype == np.uint64 and iw.dtype == bool
    assert np.array_equal(d, addr) and np.array_equal(iw, w)
    # Ramulator's LoadStoreTrace has no timestamps: one request per frontend tick
    assert np.array_equal(a, np.arange(arrive.size) if fmt == "ramulator" else arrive)


def test_csv_variants(tmp_path):
    p = _write(tmp_path, "a.csv", "# comment\n\n0, 0x40 ,R\n3,128,w\n3,0X1F,r\n")
    a, d, w = read_trace(p)
    assert a.tolist() == [0, 3, 3] and d.tolist() == [64, 128, 31] and w.tolist() == [False, True, False]
    q = _write(tmp_path, "b.csv", "op,cycle_issued,address\nW,5,0x100\nR,7,256\n")
    a, d, w = read_trace(q)
    assert a.tolist() == [5, 7] and d.tolist() == [256, 256] and w.tolist() == [True, False]
    g = tmp_path / "c.csv.gz"
    with gzip.open(g, "wt") as f:
        f.write("cycle_issued,address,op\n1,0x40,R\n")
    assert read_trace(g, "csv").addr.tolist() == [64]


def test_dramsim3_op_tokens_and_no_eof_reread(tmp_path):
    text = "0x40 READ 0\n80 WRITE 1\n0xc0 write 2\n100 P_MEM_WR 3\n140 BOFF 4\n180 P_MEM_RD 5\n1c0 FOO 6\n"
    a, d, w = read_trace(_write(tmp_path, "t.trace", text))
    assert d.tolist() == [0x40, 0x80, 0xC0, 0x100, 0x140, 0x180, 0x1C0]       # addresses are hex
    assert w.tolist() == [False, True, True, True, True, False, False]       # any other token reads
    assert a.size == 7            # DRAMsim3 would re-add the last line as an extra read; we do not


def test_ramulator_addresses(tmp_path):
    a, d, w = read_trace(_write(tmp_path, "t.txt", "LD 0x40\nST 128\nLD 0X80\n"))
    assert a.tolist() == [0, 1, 2] and d.tolist() == [64, 128, 128] and w.tolist() == [False, True, False]


@pytest.mark.parametrize("fmt,text,line,words", [
    ("csv", "cycle_issued,address,op\n0,0x40,R\n5,0x80,X\n", 3, ["'5,0x80,X'"]),
    ("csv", "0,0x40,R\n1,0xZZ,R\n", 2, ["0xZZ"]),
    ("csv", "0,0x40\n", 1, ["expected"]),
    ("csv", "0,0x40,R,7\n", 1, []),
    ("csv", "-1,0x40,R\n", 1, []),
    ("csv", "0,0x40,R\n1,123456789012345678901234,R\n", 2, ["64 bits"]),
    ("dramsim3", "0x40 READ 0\n0x80 WRITE\n", 2, ["<hex address>"]),
    ("dramsim3", "0x40 READ 0\nzz READ 5\n", 2, []),
    ("ramulator", "LD 0x40\nLOAD 0x80\n", 2, ["LD <address>"]),
    ("ramulator", "LD 0x40\n\nST 0x40 7\n", 3, []),
])
def test_malformed_lines_name_file_and_line(tmp_path, fmt, text, line, words):
    p = _write(tmp_path, "bad.txt", text)
    with pytest.raises(TraceError) as info:
        read_trace(p, fmt)
    msg = str(info.value)
    assert msg.startswith(f"{p}:{line}:"), msg
    for w in words:
        assert w in msg, msg


@pytest.mark.parametrize("fmt,text,line", [
    ("csv", "0,0x40,R\n10,0x80,R\n9,0xc0,W\n", 3),
    ("dramsim3", "0x40 READ 10\n\n0x80 WRITE 5\n", 3),
])
def test_backwards_timestamps(tmp_path, fmt, text, line):
    p = _write(tmp_path, "t.txt", text)
    with pytest.raises(TraceError, match=rf"{p.name}:{line}: timestamp \d+ is earlier"):
        read_trace(p, fmt)


def test_unreadable_inputs(tmp_path):
    with pytest.raises(TraceError, match="not found"):
        read_trace(tmp_path / "missing.csv")
    with pytest.raises(TraceError, match="cannot tell the trace format"):
        read_trace(_write(tmp_path, "x.txt", "hello\n"))
    with pytest.raises(TraceError, match="no requests"):
        read_trace(_write(tmp_path, "e.csv", "cycle_issued,address,op\n"), "csv")
    with pytest.raises(TraceError, match="must name the columns"):
        read_trace(_write(tmp_path, "h.csv", "cycle,addr,op\n0,0,R\n"), "csv")
    with pytest.raises(TraceError, match="unknown trace format"):
        read_trace(_write(tmp_path, "f.csv", "0,0,R\n"), "vcd")


def test_capacity_check_names_the_line(tmp_path):
    p = _write(tmp_path, "t.csv", "0,0x40,R\n\n1,0x100000000,R\n2,0x200000000,W\n")
    tr = read_trace(p)
    check_capacity(tr, 1 << 40)
    with pytest.raises(TraceError, match=rf"{p.name}:3: address 0x100000000 is beyond .* \(2 such requests\)"):
        check_capacity(tr, 1 << 32)


def test_engine_reports_out_of_range_addresses(tmp_path):
    engine = pytest.importorskip("sim.dram.engine")
    from sim.dram.configs import load_memory

    spec = load_memory("ramulator2-ddr4-2400")
    cap = spec.org.capacity_bytes
    with pytest.raises(TraceError, match="beyond the capacity"):
        engine.simulate(spec, np.array([0, 1]), np.array([0, cap], dtype=np.uint64), np.array([False, False]))


def test_large_trace_round_trips(tmp_path):
    n = 200_000
    arrive, addr, w = _random(n, seed=3)
    p = tmp_path / "big.csv"
    write_csv(p, arrive, addr, w)
    tr = read_trace(p)
    assert len(tr) == n and np.array_equal(tr.addr, addr)


def _slow(p: Path, fmt: str):
    """The numpy reader alone (what the byte-level kernel must agree with)."""
    from sim.dram.traces import _read_checked, _read_text

    return _read_checked(p, _read_text(p), fmt)


@pytest.mark.parametrize("fmt,text", [
    ("csv", "# a comment\n\ncycle_issued,address,op\r\n0, 0x40 ,r\r\n\t3,64,W\n  # indented comment\n9,0X1F,R"),
    ("csv", "op,address,cycle_issued\nR,0x40,0\nw,18446744073709551615,4611686018427387904\n"),
    ("dramsim3", "0x40 READ 0\n\n0x80\tWRITE  5\n1f P_MEM_WR 7\nffffffffffffffff BOFF 7\n0x0 write 9\n0xc0 RD 9\n"),
    ("ramulator", "LD 0x40\n# c\nST 128\n  LD\t0xffffffffffffffff  \n"),
])
def test_byte_reader_takes_well_formed_files_and_agrees(tmp_path, fmt, text):
    from sim.dram.traces import _scan

    p = _write(tmp_path, "t.txt", text)
    raw = p.read_bytes()
    assert _scan(raw, [x.decode() for x in raw.split(b"\n", 200)[:200]], fmt) is not None
    fast, slow = read_trace(p, fmt), _slow(p, fmt)
    for a, b in zip(fast, slow, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)


_CYCLES = (["0", "3", "17", "4611686018427387904"], ["4611686018427387905", "0x10", "-1", "1e3", "", "٣"])
_ADDRS = (["0x40", "64", "0X1f", "0xffffffffffffffff", "18446744073709551615", "00000000000000000000000001"],
          ["ff", "18446744073709551616", "0x10000000000000000", "0x", "0xg", "-8", "é", "4 0"])
_OPS = {"csv": (["R", "W", "r", "w"], ["X", "RW", ""]),
        "dramsim3": (["READ", "WRITE", "write", "P_MEM_WR", "BOFF", "RD"], ["WRITEX", "é"]),
        "ramulator": (["LD", "ST"], ["ld", "LOAD", ""])}
_FILLERS = ["", "# comment", "  \t ", "\r", "\x0b", "\xa0# nbsp", "#é"]


def _token(draw, choices):
    good, odd = choices
    return draw(st.sampled_from(good if draw(st.integers(0, 11)) else odd))


@st.composite
def _trace_lines(draw, fmt):
    """Lines of a trace in ``fmt``: mostly well formed, with odd tokens, blanks, separators and fillers."""
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.integers(0, 7)) == 0:
            lines.append(draw(st.sampled_from(_FILLERS)))
            continue
        cyc, adr, op = _token(draw, _CYCLES), _token(draw, _ADDRS), _token(draw, _OPS[fmt])
        sep = draw(st.sampled_from([" ", "  ", "\t", " \t"]) if fmt != "csv" else st.sampled_from([",", ", ", " ,"]))
        fields = {"csv": [cyc, adr, op], "dramsim3": [adr, op, cyc], "ramulator": [op, adr]}[fmt]
        if draw(st.integers(0, 15)) == 0:
            fields = fields[:-1] if draw(st.booleans()) else fields + ["7"]
        pad = draw(st.sampled_from(["", " ", "\t", "\r"]))
        lines.append(draw(st.sampled_from(["", " "])) + sep.join(fields) + pad)
    return lines


@settings(max_examples=400, deadline=None)
@given(st.data(), st.sampled_from(["csv", "dramsim3", "ramulator"]), st.booleans())
def test_byte_reader_matches_the_numpy_reader(tmp_path_factory, data, fmt, header):
    """On drawn traces (well formed, malformed, odd bytes), reading gives what the numpy reader gives: the same
    arrays or the same error message."""
    lines = data.draw(_trace_lines(fmt))
    if header and fmt == "csv":
        lines.insert(0, "op,cycle_issued,address" if len(lines) % 2 else "cycle_issued,address,op")
        lines[1:] = [",".join([r.split(",")[2], *r.split(",")[:2]]) if len(lines) % 2 and r.count(",") == 2
                     else r for r in lines[1:]]
    p = tmp_path_factory.mktemp("t") / "t.txt"
    p.write_bytes("\n".join(lines).encode())
    outcomes = []
    for reader in (read_trace, _slow):
        try:
            outcomes.append(tuple(reader(p, fmt)))
        except TraceError as exc:
            outcomes.append(str(exc))
    fast, slow = outcomes
    if isinstance(slow, str) or isinstance(fast, str):
        assert fast == slow
    else:
        for a, b in zip(fast, slow, strict=True):
            assert a.dtype == b.dtype and np.array_equal(a, b)
