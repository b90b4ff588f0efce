"""Memory-request traces: readers for three formats and writers, as numpy arrays.

A trace is three equal-length arrays: ``arrive`` (int64, the memory cycle at which the request is
issued to the controller), ``addr`` (uint64, byte address) and ``is_write`` (bool).

Formats (``fmt``):

``csv`` (pimsim's neutral format)
    ``cycle_issued,address,op`` per line; ``address`` hex (``0x1f40``) or decimal, ``op`` ``R`` or
    ``W`` (either case). An optional first line names the columns (``cycle_issued,address,op`` in any
    order). Blank lines and lines starting with ``#`` are skipped.
``dramsim3``
    ``<hex address> <op> <cycle>`` separated by blanks, as DRAMsim3's trace CPU reads it. ``op`` is
    a write when it is ``WRITE``, ``write``, ``P_MEM_WR`` or ``BOFF``; *any other token is a read*
    (DRAMsim3's rule). DRAMsim3 itself re-adds the last line as an extra read at end of file (its
    ``while (!eof)`` loop reads past the last line); this reader does not reproduce that bug.
``ramulator``
    Ramulator 2.0's LoadStoreTrace: ``LD <address>`` or ``ST <address>`` (hex with ``0x``, else
    decimal). There are no timestamps: Ramulator offers one request per frontend tick, so
    ``arrive`` is the request's index (request ``i`` arrives at cycle ``i``).

The format is taken from ``fmt`` or sniffed from the first data lines. Malformed lines raise
:class:`TraceError` naming the file and line number; so does a timestamp smaller than the previous
one. Files ending in ``.gz`` are decompressed. A well-formed file is parsed by a byte-level numba kernel
(about 0.1 s per million lines); a file it does not accept is parsed again with numpy string functions
(2-3 s per million lines), which find and name the bad line.
"""

from __future__ import annotations

import gzip
import locale
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.errors import TraceError

FORMATS = ("csv", "dramsim3", "ramulator")
#: DRAMsim3 op tokens that mean a write (everything else is a read).
DRAMSIM3_WRITE_OPS = frozenset({"WRITE", "write", "P_MEM_WR", "BOFF"})
CSV_COLUMNS = ("cycle_issued", "address", "op")



@dataclass
class RequestTrace:
    """Requests as arrays; unpacks as ``arrive, addr, is_write = trace``."""

    arrive: np.ndarray      #: int64, cycle issued to the controller
    addr: np.ndarray        #: uint64, byte address
    is_write: np.ndarray    #: bool
    source: str = ""        #: file it was read from
    fmt: str = ""           #: format it was read as

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.arrive, self.addr, self.is_write))

    def __len__(self) -> int:
        return int(self.arrive.size)

    def line_of(self, index: int) -> int:
        """Line number (1-based) in :attr:`source` of request ``index`` (0 if unknown)."""
        if not self.source:
            return 0
        text = _read_text(Path(self.source))
        return _data_line_numbers(text, self.fmt, upto=index + 1)[index]


def _read_text(path: Path) -> str:
    return _decode(_read_bytes(path))


def _decode(raw: bytes) -> str:
    """A trace file's text as a text-mode read gives it: locale encoding (bad bytes replaced), universal
    newlines."""
    text = raw.decode(locale.getpreferredencoding(False), errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _is_skipped(line: str) -> bool:
    s = line.strip()
    return not s or s.startswith("#")


def _has_header(line: str) -> bool:
    """A CSV first line that names columns rather than holding numbers."""
    return "cycle" in line.lower() or "address" in line.lower()


def sniff_format(path: str | Path, text: str | None = None) -> str:
    """Guess the format of a trace file from its first data line; TraceError if it cannot tell."""
    path = Path(path)
    if text is None:
        text = _read_text(path)
    for line in text.split("\n", 200)[:200]:
        if _is_skipped(line):
            continue
        s = line.strip()
        if "," in s:
            return "csv"
        tokens = s.split()
        if tokens[0] in ("LD", "ST"):
            return "ramulator"
        if len(tokens) == 3 and tokens[2].isdigit():
            return "dramsim3"
        break
    raise TraceError(f"{path}: cannot tell the trace format from its first line; give --trace-format "
                     f"({', '.join(FORMATS)})")


@dataclass
class _Lines:
    """The lines of a trace as a numpy string array, with the indices of the data lines."""

    text: np.ndarray        #: stripped lines (str array)
    data: np.ndarray        #: indices of data lines (int64)

    def line_number(self, k: int) -> int:
        """1-based line number of data line ``k``."""
        return int(self.data[k]) + 1


def _split_lines(text: str) -> _Lines:
    lines = np.strings.strip(np.array(text.split("\n")))
    keep = (np.strings.str_len(lines) > 0) & ~np.strings.startswith(lines, "#")
    return _Lines(text=lines, data=np.flatnonzero(keep))


def _data_line_numbers(text: str, fmt: str, upto: int | None = None) -> list[int]:
    """1-based line numbers of the data lines (skipping blanks, comments and a CSV header)."""
    lines = _split_lines(text)
    data = lines.data
    if fmt == "csv" and data.size and _has_header(str(lines.text[data[0]])):
        data = data[1:]
    out = (data + 1).tolist()
    return out if upto is None else out[:upto]


def read_trace(path: str | Path, fmt: str | None = None) -> RequestTrace:
    """Read a request trace (see module doc); TraceError with file and line on any problem.

    A well-formed file is read by the byte-level kernel :func:`sim.dram.kernels.trace_scan.scan`; anything
    that kernel does not accept is read again by the numpy reader below, which names the bad line."""
    path = Path(path)
    if not path.is_file():
        raise TraceError(f"{path}: trace file not found")
    raw = _read_bytes(path)
    head = [p.decode(errors="replace") for p in raw.split(b"\n", 200)[:200]]
    if fmt is None or fmt == "auto":
        fmt = sniff_format(path, "\n".join(head))
    if fmt not in FORMATS:
        raise TraceError(f"{path}: unknown trace format {fmt!r}; expected one of {', '.join(FORMATS)}")
    fast = _scan(raw, head, fmt)
    if fast is not None:
        arrive, addr, is_write = fast
        if arrive.size and bool(np.all(arrive[1:] >= arrive[:-1])):
            return RequestTrace(arrive=arrive, addr=addr, is_write=is_write, source=str(path), fmt=fmt)
    return _read_checked(path, _decode(raw), fmt)


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError) as exc:
        raise TraceError(f"{path}: cannot read trace: {getattr(exc, 'strerror', None) or exc}") from None


def _scan(raw: bytes, head: list[str], fmt: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The trace read by the byte-level kernel, or None where the numpy reader must decide."""
    from sim.dram.kernels.trace_scan import FMT_CSV, FMT_DRAMSIM3, FMT_RAMULATOR, scan

    order, skip = (0, 1, 2), 0
    if fmt == "csv":
        first = next((x for x in head if not _is_skipped(x)), None)
        if first is None:
            return None
        if _has_header(first):
            names = [c.strip().lower() for c in first.split(",")]
            if sorted(names) != sorted(CSV_COLUMNS):
                return None
            order, skip = tuple(names.index(c) for c in CSV_COLUMNS), 1
    buf = np.frombuffer(raw, dtype=np.uint8)
    n = int(np.count_nonzero(buf == 10)) + 1
    arrive = np.empty(n, np.int64)
    addr = np.empty(n, np.uint64)
    is_write = np.empty(n, np.bool_)
    code = {"csv": FMT_CSV, "dramsim3": FMT_DRAMSIM3, "ramulator": FMT_RAMULATOR}[fmt]
    k = scan(buf, code, np.array(order, np.int64), skip, arrive, addr, is_write)
    if k <= 0:
        return None
    return arrive[:k].copy(), addr[:k].copy(), is_write[:k].copy()


def _read_checked(path: Path, text: str, fmt: str) -> RequestTrace:
    """The numpy reader: every line checked, TraceError naming the first bad one."""
    lines = _split_lines(text)
    if lines.data.size == 0 or (fmt == "csv" and lines.data.size == 1
                                and _has_header(str(lines.text[lines.data[0]]))):
        raise TraceError(f"{path}: the trace holds no requests")
    parse = {"csv": _parse_csv, "dramsim3": _parse_dramsim3, "ramulator": _parse_ramulator}[fmt]
    arrive, addr, is_write, lines = parse(path, lines)
    if arrive.size == 0:
        raise TraceError(f"{path}: the trace holds no requests")
    if arrive.size > 1:
        back = np.flatnonzero(arrive[1:] < arrive[:-1])
        if back.size:
            i = int(back[0]) + 1
            raise TraceError(f"{path}:{lines.line_number(i)}: timestamp {int(arrive[i])} is earlier than the "
                             f"previous request's {int(arrive[i - 1])}; requests must be in time order")
    return RequestTrace(arrive=arrive, addr=addr, is_write=is_write, source=str(path), fmt=fmt)


_LUT = np.full(256, 255, dtype=np.uint8)
_LUT[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10, dtype=np.uint8)
_LUT[np.frombuffer(b"abcdef", np.uint8)] = np.arange(10, 16, dtype=np.uint8)
_LUT[np.frombuffer(b"ABCDEF", np.uint8)] = np.arange(10, 16, dtype=np.uint8)


def _parse_uints(col: np.ndarray, *, bare_hex: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse decimal or ``0x`` hex strings (all hex with ``bare_hex``, ``0x`` optional) to uint64.

    Returns ``(values, valid, overflow)``: ``valid`` is False where a string is not a number of that
    form, ``overflow`` True where it does not fit in 64 bits.
    """
    n = col.size
    if n == 0:
        z = np.zeros(0, dtype=bool)
        return np.zeros(0, dtype=np.uint64), z, z
    raw = np.strings.encode(col, "ascii", "replace")    # a non-ASCII character becomes '?', a bad digit
    width = max(raw.dtype.itemsize, 2)
    raw = raw.astype(f"S{width}")
    m = raw.view(np.uint8).reshape(n, width)
    has_0x = (m[:, 0] == 48) & ((m[:, 1] | 32) == 120)
    is_hex = np.ones(n, dtype=bool) if bare_hex else has_0x
    start = np.where(has_0x, 2, 0)
    digits = _LUT[m]
    pos = np.arange(width)[None, :]
    in_number = (pos >= start[:, None]) & (m != 0)
    ndig = in_number.sum(axis=1)
    base = np.where(is_hex, 16, 10).astype(np.uint8)
    bad_digit = (in_number & (digits >= base[:, None])).any(axis=1)
    valid = (ndig > 0) & ~bad_digit
    lead = np.argmax(in_number & (m != 48), axis=1)      # first non-zero digit
    sig = np.where((in_number & (m != 48)).any(axis=1), ndig - (lead - start), 0)
    overflow = valid & np.where(is_hex, sig > 16, sig > 20)
    big = valid & ~is_hex & (sig == 20)                   # 20 decimal digits: may exceed 2**64 - 1
    acc = np.zeros(n, dtype=np.uint64)
    base64 = base.astype(np.uint64)
    for j in range(width):
        sel = in_number[:, j]
        if sel.any():
            acc = np.where(sel, acc * base64 + digits[:, j].astype(np.uint64), acc)
    if big.any():
        for i in np.flatnonzero(big):
            if int(col[i]) >= 1 << 64:
                overflow[i] = True
    return acc, valid, overflow


def _fail(path: Path, fmt: str, lines: _Lines, k: int, expected: str) -> TraceError:
    shown = str(lines.text[lines.data[k]])
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return TraceError(f"{path}:{lines.line_number(k)}: malformed {fmt} trace line {shown!r}; "
                      f"expected {expected}")


def _check(path: Path, fmt: str, lines: _Lines, ok: np.ndarray, expected: str) -> None:
    if not ok.all():
        raise _fail(path, fmt, lines, int(np.argmin(ok)), expected)


def _overflow(path: Path, lines: _Lines, overflow: np.ndarray, what: str, values: np.ndarray) -> None:
    if overflow.any():
        k = int(np.argmax(overflow))
        raise TraceError(f"{path}:{lines.line_number(k)}: {what} {values[k]} does not fit in 64 bits")


def _cycles(path: Path, lines: _Lines, col: np.ndarray, fmt: str, expected: str) -> np.ndarray:
    values, valid, overflow = _parse_uints(col)
    is_dec = ~np.strings.startswith(col, "0x") & ~np.strings.startswith(col, "0X")
    _check(path, fmt, lines, valid & is_dec, expected)
    too_big = overflow | (values > np.uint64(2**62))
    if too_big.any():
        k = int(np.argmax(too_big))
        raise TraceError(f"{path}:{lines.line_number(k)}: cycle {col[k]} is too large")
    return values.astype(np.int64)


def _parse_csv(path: Path, lines: _Lines) -> tuple[np.ndarray, np.ndarray, np.ndarray, _Lines]:
    expected = "'cycle,address,op' with a decimal cycle, a hex (0x..) or decimal address and op R or W"
    order = (0, 1, 2)
    if lines.data.size and _has_header(str(lines.text[lines.data[0]])):
        first = int(lines.data[0])
        names = [c.strip().lower() for c in str(lines.text[first]).split(",")]
        if sorted(names) != sorted(CSV_COLUMNS):
            raise TraceError(f"{path}:{first + 1}: CSV header {str(lines.text[first])!r} must name the "
                             f"columns {', '.join(CSV_COLUMNS)}")
        order = tuple(names.index(c) for c in CSV_COLUMNS)
        lines = _Lines(text=lines.text, data=lines.data[1:])
    rows = lines.text[lines.data]
    a, sep1, rest = np.strings.partition(rows, ",")
    b, sep2, c = np.strings.partition(rest, ",")
    cols = [np.strings.strip(a), np.strings.strip(b), np.strings.strip(c)]
    shape_ok = (sep1 == ",") & (sep2 == ",") & (np.strings.find(c, ",") < 0)
    _check(path, "csv", lines, shape_ok, expected)
    cyc, adr, op = cols[order[0]], cols[order[1]], cols[order[2]]
    _check(path, "csv", lines, np.isin(op, ["R", "W", "r", "w"]), expected)
    arrive = _cycles(path, lines, cyc, "csv", expected)
    addr, valid, overflow = _parse_uints(adr)
    _check(path, "csv", lines, valid, expected)
    _overflow(path, lines, overflow, "address", adr)
    is_write = (op == "W") | (op == "w")
    return arrive, addr, is_write, lines


def _split2(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First blank-separated token, whether a separator followed, and the rest (left-stripped)."""
    rows = np.strings.replace(rows, "\t", " ")
    head, sep, rest = np.strings.partition(rows, " ")
    return head, sep == " ", np.strings.lstrip(rest)


def _parse_dramsim3(path: Path, lines: _Lines) -> tuple[np.ndarray, np.ndarray, np.ndarray, _Lines]:
    expected = "'<hex address> <READ|WRITE> <cycle>'"
    rows = lines.text[lines.data]
    adr, sep1, rest = _split2(rows)
    op, sep2, cyc = _split2(rest)
    _check(path, "dramsim3", lines, sep1 & sep2 & (np.strings.find(cyc, " ") < 0), expected)
    addr, valid, overflow = _parse_uints(adr, bare_hex=True)
    _check(path, "dramsim3", lines, valid, expected)
    _overflow(path, lines, overflow, "address", adr)
    arrive = _cycles(path, lines, cyc, "dramsim3", expected)
    is_write = np.isin(op, list(DRAMSIM3_WRITE_OPS))
    return arrive, addr, is_write, lines


def _parse_ramulator(path: Path, lines: _Lines) -> tuple[np.ndarray, np.ndarray, np.ndarray, _Lines]:
    expected = "'LD <address>' or 'ST <address>' (hex with 0x, or decimal)"
    rows = lines.text[lines.data]
    op, sep, adr = _split2(rows)
    _check(path, "ramulator", lines, sep & np.isin(op, ["LD", "ST"]) & (np.strings.find(adr, " ") < 0),
           expected)
    addr, valid, overflow = _parse_uints(adr)
    _check(path, "ramulator", lines, valid, expected)
    _overflow(path, lines, overflow, "address", adr)
    return np.arange(rows.size, dtype=np.int64), addr, op == "ST", lines


def _open_out(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "wt")
    return path.open("w")


def write_csv(path: str | Path, arrive: np.ndarray, addr: np.ndarray, is_write: np.ndarray, *,
              header: bool = True) -> None:
    """Write requests in the neutral CSV format (hex addresses, ``R``/``W``)."""
    a, d, w = _check_columns(arrive, addr, is_write)
    with _open_out(Path(path)) as f:
        if header:
            f.write(",".join(CSV_COLUMNS) + "\n")
        f.writelines(f"{c},{x:#x},{'W' if y else 'R'}\n" for c, x, y in zip(a.tolist(), d.tolist(),
                                                                             w.tolist(), strict=True))


def write_dramsim3(path: str | Path, arrive: np.ndarray, addr: np.ndarray, is_write: np.ndarray) -> None:
    """Write requests in DRAMsim3's ``<hex addr> <READ|WRITE> <cycle>`` format."""
    a, d, w = _check_columns(arrive, addr, is_write)
    with _open_out(Path(path)) as f:
        f.writelines(f"{x:#x} {'WRITE' if y else 'READ'} {c}\n" for c, x, y in zip(a.tolist(), d.tolist(),
                                                                                    w.tolist(), strict=True))


def write_ramulator(path: str | Path, addr: np.ndarray, is_write: np.ndarray) -> None:
    """Write requests as a Ramulator 2.0 LoadStoreTrace (``LD``/``ST`` and a hex address)."""
    d = np.asarray(addr, dtype=np.uint64)
    w = np.asarray(is_write, dtype=bool)
    with _open_out(Path(path)) as f:
        f.writelines(f"{'ST' if y else 'LD'} {x:#x}\n" for x, y in zip(d.tolist(), w.tolist(), strict=True))


def _check_columns(arrive: np.ndarray, addr: np.ndarray,
                   is_write: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = np.asarray(arrive, dtype=np.int64)
    d = np.asarray(addr, dtype=np.uint64)
    w = np.asarray(is_write, dtype=bool)
    if not (a.shape == d.shape == w.shape):
        raise ValueError(f"arrive, addr and is_write must have equal lengths ({a.size}, {d.size}, {w.size})")
    return a, d, w


def check_capacity(trace: RequestTrace, capacity_bytes: int) -> None:
    """TraceError naming file and line of the first address at or beyond ``capacity_bytes``."""
    if trace.addr.size == 0 or capacity_bytes >= 1 << 64:
        return
    over = np.flatnonzero(trace.addr >= np.uint64(capacity_bytes))
    if over.size:
        i = int(over[0])
        line = trace.line_of(i)
        where = f"{trace.source}:{line}" if line else trace.source or "trace"
        raise TraceError(f"{where}: address {int(trace.addr[i]):#x} is beyond the memory's capacity of "
                         f"{capacity_bytes:#x} bytes ({over.size} such requests)")


__all__ = ["CSV_COLUMNS", "DRAMSIM3_WRITE_OPS", "FORMATS", "RequestTrace", "check_capacity", "read_trace",
           "sniff_format", "write_csv", "write_dramsim3", "write_ramulator"]
