"""A small compiler from GEMVs (weights, attention scores, attention context) and KV writes to per-channel
PIM command streams (:class:`~sim.pim.engine.ChannelStream`).

A GEMV becomes a list of *phases* (:class:`Phase`): one buffer image (:mod:`sim.pim.mapping`) and the
lockstep row-group steps that use it. Per channel the emitter writes, for each phase: the activate of
its first row (early, so it overlaps the buffer load), the buffer load (``WR_GB`` / ``WR_GRF`` bursts, only
when the image changes), then per step and per slot one MAC command repeated over the slot's columns
(``MAC_ABK`` or ``PIM_RD``), and the read-out of the result registers (``RD_MAC``; on HBM-PIM ``PIM_WR``
stores GRF_B into a result row that is read with ``RD`` at the end). Rows are opened by the kernel when a
MAC finds its row closed, so the row-hit rate is an outcome of this schedule.

Layouts (PIM-GPT, section 1.4 of ../shared/reference/pim.md):

* **weights**: each output row's weights lie in one PU, cut into chunks of one buffer image; rows shorter
  than half a buffer share a window with the same vector copied into the buffer.
* **attention scores** ``s = q . K^T``: K is stored row-major, one row-group per token; with head
  concatenation the buffer holds the ``q`` of as many heads as fit and the token's row-group the keys of
  the same heads (rows are filled); without it one head's ``q`` is copied into the buffer.
* **attention context** ``o = p . V``: V is stored column-major: one row-group per output element ``(h, o)``
  holding ``V[:, o]`` over the reserved tokens (``kv_capacity``), so the dot product runs along the row; the
  buffer holds ``p``. With head concatenation short columns of several heads share a row.
* **KV writes**: a new token's K goes contiguously into its row-group (one ``WR`` run per head group); its V
  goes element by element into the ``(h, o)`` rows (a masked ``WR`` each). A row that several banks of a
  channel write is opened with one AiM multi-bank activate (``ACT16`` / ``ACT4``, ``kv_multi_activate``);
  otherwise activates are issued per bank ahead of the writes, so that the banks' row cycles overlap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.config.dram_terms import PIM_DTYPE_BYTES
from sim.dram.commands import PREA, RD, WR
from sim.pim import commands as C
from sim.pim import hbm_isa
from sim.pim.engine import ChannelStream
from sim.pim.errors import PimFitError
from sim.pim.mapping import (
    Geometry,
    MappingConfig,
    geometry_of,
    place,
    rows_needed,
    slot_position,
    steps_per_channel,
)
from sim.pim.spec import PimSpec

#: one slot of a buffer image: (first buffer entry, reserved width, filled width) in columns
Slot = tuple[int, int, int]


@dataclass(frozen=True)
class Phase:
    """One image and its steps in one channel. ``flush`` = -1: every slot's result is read out (in
    batches of the register count); ``flush`` >= 0: results accumulate, ``flush`` registers are read after
    the phase."""

    image: int
    steps: int
    reserve: int
    flush: int = -1


@dataclass
class Compiled:
    """Per-channel streams of one op, with what the op computes."""

    streams: list[ChannelStream]
    macs: int = 0                     #: useful multiply-accumulates (rows x cols of the GEMV)
    rows_per_bank: int = 0            #: rows the op's data occupies in the fullest bank
    detail: dict = field(default_factory=dict)


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


class _Emitter:
    """Builds one channel's stream for a command set."""

    def __init__(self, spec: PimSpec, geo: Geometry, mapping: MappingConfig) -> None:
        self.spec, self.geo, self.mapping = spec, geo, mapping
        self.hbm = spec.pim.command_set == "hbm-pim"
        nb = spec.banks
        self.all = (1 << nb) - 1
        bpp = spec.pim.banks_per_pu
        self.parity = [sum(1 << b for b in range(nb) if b % bpp == p) for p in range(bpp)]
        self.rows: list[tuple[int, int, int, int, int]] = []
        self.pending = 0
        self.stored = 0               # HBM-PIM: results stored per PU
        self.loaded: object = None
        self.regs = spec.pim.result_registers
        self.triggers: list[tuple[int, int]] = []   # HBM-PIM: (mac triggers, store triggers) per program run
        self._macs_since = 0
        self.result_row = 0

    def add(self, cmd: int, mask: int, row: int, col: int, cnt: int) -> None:
        if cnt > 0:
            self.rows.append((cmd, mask, row, col, cnt))

    def act(self, row: int) -> None:
        self.add(C.ACT_AB if self.hbm else C.ACT16, self.all, row, -1, 1)

    def load(self, key: object, slots: list[Slot]) -> None:
        if key == self.loaded:
            return
        self.loaded = key
        code = C.WR_GRF if self.hbm else C.WR_GB
        runs: list[list[int]] = []
        for c0, _, w in sorted(slots):
            if w <= 0:
                continue
            if runs and runs[-1][0] + runs[-1][1] == c0:
                runs[-1][1] += w
            else:
                runs.append([c0, w])
        for c0, w in runs:
            self.add(code, self.all, -1, c0, w)

    def mac(self, parity: int, row: int, col: int, n: int) -> None:
        if self.hbm:
            self.add(C.PIM_RD, self.parity[parity], row, col, n)
        else:
            self.add(C.MAC_ABK, self.all, row, col, n)
        self._macs_since += n

    def flush(self, n: int) -> None:
        """Read ``n`` result registers out (HBM-PIM: store them into the result row)."""
        if n <= 0:
            return
        if not self.hbm:
            self.add(C.RD_MAC, self.all, -1, 0, n)
            return
        rc = self.geo.row_cols
        left = n
        while left:
            r, c = divmod(self.stored, rc)
            k = min(left, rc - c)
            self.add(C.PIM_WR, self.parity[0], self.result_row + r, c, k)
            self.stored += k
            left -= k
        self.triggers.append((self._macs_since, n))
        self._macs_since = 0
        # PC reset for the next program run (PIMSimulator toggles HAB <-> HAB_PIM per output tile)
        self.add(C.PIM_TO_AB, self.all, -1, -1, 1)
        self.add(C.AB_TO_PIM, self.all, -1, -1, 1)

    def prologue(self) -> int:
        if not self.hbm:
            return 0
        self.add(C.SB_TO_AB, self.all, -1, -1, 1)
        self._crf_at = len(self.rows)
        self.add(C.AB_TO_PIM, self.all, -1, -1, 1)
        return 0

    def epilogue(self) -> None:
        if self.pending:
            self.flush(self.pending)
            self.pending = 0
        if not self.hbm:
            return
        # the last flush left the channel in PIM mode after a PC reset: back to SB and read the results
        if self.rows and self.rows[-1][0] == C.AB_TO_PIM:
            self.rows.pop()
        else:
            self.add(C.PIM_TO_AB, self.all, -1, -1, 1)
        self.add(C.AB_TO_SB, self.all, -1, -1, 1)
        rc = self.geo.row_cols
        for pu in range(self.spec.pus_per_unit):
            bank = pu * self.spec.pim.banks_per_pu
            left, r = self.stored, 0
            while left > 0:
                k = min(left, rc)
                self.add(RD, 1 << bank, self.result_row + r, 0, k)
                left -= k
                r += 1
        # program the CRF: one burst set per distinct program, in AB mode before the first AB_TO_PIM
        progs = {t: hbm_isa.gemv_program(*t) for t in self.triggers}
        bursts = sum(hbm_isa.crf_bursts(p) for p in progs.values())
        if bursts:
            self.rows.insert(self._crf_at, (C.WR_CRF, self.all, -1, 0, bursts))
        for p in progs.values():
            if len(p) > self.spec.pim.crf_entries:
                raise PimFitError(f"{self.spec.name}: a CRF program of {len(p)} instructions does not fit the "
                                  f"{self.spec.pim.crf_entries}-entry CRF")

    def stream(self) -> ChannelStream:
        return ChannelStream.from_rows(self.rows)


def _emit(spec: PimSpec, geo: Geometry, mapping: MappingConfig, images: list[tuple[object, list[Slot]]],
          phases: list[Phase]) -> tuple[ChannelStream, _Emitter]:
    e = _Emitter(spec, geo, mapping)
    e.prologue()
    k = 0
    total_rg = sum(ph.reserve for ph in phases)
    e.result_row = rows_needed(total_rg, geo)
    for ph in phases:
        if ph.steps > 0:
            key, slots = images[ph.image]
            _, row0, _ = slot_position(k, geo)
            if mapping.early_activate:
                e.act(row0)
            e.load(key, slots)
            for s in range(ph.steps):
                par, row, col = slot_position(k + s, geo)
                for c0, _, w in slots:
                    if w <= 0:
                        continue
                    e.mac(par, row, col + c0, w)
                    if ph.flush < 0:
                        e.pending += 1
                        if e.pending >= e.regs:
                            e.flush(e.pending)
                            e.pending = 0
            if ph.flush > 0:
                e.flush(ph.flush)
        k += ph.reserve
    e.epilogue()
    return e.stream(), e


def _lower(spec: PimSpec, geo: Geometry, mapping: MappingConfig, images: list[tuple[object, list[Slot]]],
           phases_of: list[list[Phase]], what: str) -> tuple[list[ChannelStream], int, dict]:
    """Streams for every channel from its phase list; channels with equal phase lists share one stream.
    Raises :class:`PimFitError` (before emitting anything) when the data does not fit the banks' rows."""
    need = max((rows_needed(sum(ph.reserve for ph in phases), geo) for phases in phases_of), default=0)
    _check_rows(spec, need, what)
    cache: dict[tuple, tuple[ChannelStream, _Emitter]] = {}
    streams = []
    rows = 0
    for phases in phases_of:
        sig = tuple(phases)
        if sig not in cache:
            cache[sig] = _emit(spec, geo, mapping, images, phases)
        s, e = cache[sig]
        streams.append(s)
        rows = max(rows, rows_needed(sum(ph.reserve for ph in phases), geo) + (1 if e.stored else 0))
    programs = [e.triggers for _, e in cache.values()]
    return streams, rows, {"distinct_channel_streams": len(cache), "crf_runs": programs}


def _check_rows(spec: PimSpec, rows: int, what: str) -> None:
    if rows > spec.dram.org.rows:
        raise PimFitError(f"{spec.name}: {what} needs {rows} rows per bank but a bank has {spec.dram.org.rows} "
                          f"({rows - spec.dram.org.rows} too many); use more channels or split the operator")


def _chunks(n: int, chunk: int, elems: int) -> list[int]:
    """Column widths of the chunks of an ``n``-element vector cut every ``chunk`` elements."""
    return [_cdiv(min(chunk, n - j), elems) for j in range(0, n, chunk)]


def _chunk_elems(geo: Geometry, mapping: MappingConfig) -> int:
    full = geo.chunk_elems
    if mapping.vector_chunk is None:
        return full
    return max(geo.elems, min(full, _cdiv(mapping.vector_chunk, geo.elems) * geo.elems))


def _replicas(geo: Geometry, width: int, n_out: int) -> int:
    """Copies of a short vector (``width`` columns) in one image: as many as fit the buffer, but no more
    than keep every PU of the memory busy (a copy serves one output per PU per step)."""
    return max(1, min(geo.buf_cols // width, n_out // (geo.units * geo.pus)))


def _matrix_phases(spec: PimSpec, geo: Geometry, mapping: MappingConfig, n_out: int, widths: list[tuple[int, int]],
                   image_base: int, key: object) -> tuple[list[tuple[object, list[Slot]]], list[list[Phase]]]:
    """Images and per-channel phases of one matrix (``n_out`` outputs, chunks of (reserved, filled) widths)."""
    images: list[tuple[object, list[Slot]]] = []
    per_ch = [[] for _ in range(geo.units)]
    if len(widths) == 1 and _replicas(geo, widths[0][0], n_out) > 1:
        wres, wfill = widths[0]
        m = _replicas(geo, wres, n_out)
        images.append(((key, 0, m), [(s * wres, wres, wfill) for s in range(m)]))
        steps = steps_per_channel(_cdiv(n_out, m), geo, mapping.partition)
        for ch in range(geo.units):
            per_ch[ch].append(Phase(image_base, steps[ch], steps[ch], -1))
        return images, per_ch
    for j, (wres, wfill) in enumerate(widths):
        images.append(((key, j), [(0, wres, wfill)]))
    steps = steps_per_channel(n_out, geo, mapping.partition)
    regs = spec.pim.result_registers
    nimg = len(widths)
    for ch in range(geo.units):
        S = steps[ch]
        if mapping.tiling == "row-major" and nimg > 1:
            for p0 in range(0, S, regs):
                n = min(regs, S - p0)
                for j in range(nimg):
                    per_ch[ch].append(Phase(image_base + j, n, n, n if j == nimg - 1 else 0))
        else:
            accumulate = nimg > 1 and max(steps) <= regs
            for j in range(nimg):
                flush = (S if j == nimg - 1 else 0) if accumulate else -1
                per_ch[ch].append(Phase(image_base + j, S, S, flush))
    return images, per_ch


def compile_gemv(spec: PimSpec, rows: int, cols: int, dtype: str = "bf16",
                 mapping: MappingConfig | None = None) -> Compiled:
    """``y[rows] = W[rows x cols] x[cols]`` with the weights resident in the banks."""
    mapping = mapping or MappingConfig()
    if rows < 1 or cols < 1:
        raise PimFitError(f"{spec.name}: a GEMV needs rows >= 1 and cols >= 1 (got {rows} x {cols})")
    geo = geometry_of(spec, dtype)
    chunk = _chunk_elems(geo, mapping)
    widths = [(w, w) for w in _chunks(cols, chunk, geo.elems)]
    images, per_ch = _matrix_phases(spec, geo, mapping, rows, widths, 0, "x")
    streams, nrows, det = _lower(spec, geo, mapping, images, per_ch, f"a {rows} x {cols} {dtype} GEMV")
    _check_rows(spec, nrows, f"a {rows} x {cols} {dtype} GEMV with its results")
    det.update(chunks=len(widths), chunk_elems=chunk)
    return Compiled(streams, macs=rows * cols, rows_per_bank=nrows, detail=det)


def _capacity(geo: Geometry, mapping: MappingConfig, kv_len: int) -> int:
    if mapping.kv_capacity is not None:
        if mapping.kv_capacity < kv_len:
            raise PimFitError(f"kv_len {kv_len} exceeds the reserved KV capacity of {mapping.kv_capacity} tokens "
                              f"by {kv_len - mapping.kv_capacity}")
        return mapping.kv_capacity
    row_elems = geo.row_cols * geo.elems
    return _cdiv(max(kv_len, 1), row_elems) * row_elems


def _head_width(spec: PimSpec, geo: Geometry, head_dim: int) -> int:
    w = _cdiv(head_dim, geo.elems)
    if w > geo.buf_cols:
        raise PimFitError(f"{spec.name}: head_dim {head_dim} needs {w} buffer entries but the buffer holds "
                          f"{geo.buf_cols} ({w - geo.buf_cols} too many)")
    return w


def _score_layout(geo: Geometry, mapping: MappingConfig, heads: int, w: int,
                  tokens: int) -> tuple[list[list[int]], int]:
    """Head groups sharing one image, and tokens per row-group (1 with concatenation, else copies)."""
    if mapping.head_concat:
        hg = max(1, geo.buf_cols // w)
        return [list(range(h, min(heads, h + hg))) for h in range(0, heads, hg)], 1
    return [[h] for h in range(heads)], _replicas(geo, w, tokens)


def compile_attention(spec: PimSpec, heads: int, head_dim: int, kv_len: int, kind: str, dtype: str = "bf16",
                      mapping: MappingConfig | None = None) -> Compiled:
    """Attention GEMVs over a KV cache of ``kv_len`` tokens: ``kind="score"`` (q . K^T: heads x kv_len
    outputs of length head_dim) or ``"context"`` (p . V: heads x head_dim outputs of length kv_len)."""
    mapping = mapping or MappingConfig()
    if min(heads, head_dim, kv_len) < 1:
        raise PimFitError(f"{spec.name}: attention needs heads, head_dim and kv_len >= 1 "
                          f"(got {heads}, {head_dim}, {kv_len})")
    geo = geometry_of(spec, dtype)
    cap = _capacity(geo, mapping, kv_len)
    images: list[tuple[object, list[Slot]]] = []
    per_ch: list[list[Phase]] = [[] for _ in range(geo.units)]
    if kind == "score":
        w = _head_width(spec, geo, head_dim)
        groups, per_rg = _score_layout(geo, mapping, heads, w, cap)
        for gi, hs in enumerate(groups):
            if per_rg == 1:
                slots = [(s * w, w, w) for s in range(len(hs))]
            else:
                slots = [(s * w, w, w) for s in range(per_rg)]
            images.append((("q", tuple(hs)), slots))
            steps = steps_per_channel(_cdiv(kv_len, per_rg), geo, mapping.partition)
            reserve = steps_per_channel(_cdiv(cap, per_rg), geo, mapping.partition)
            for ch in range(geo.units):
                per_ch[ch].append(Phase(gi, steps[ch], reserve[ch], -1))
        macs = heads * kv_len * head_dim
    elif kind == "context":
        chunk = _chunk_elems(geo, mapping)
        res = _chunks(cap, chunk, geo.elems)
        fill = [_cdiv(max(0, min(chunk, kv_len - j * chunk)), geo.elems) for j in range(len(res))]
        widths = list(zip(res, fill, strict=True))
        if mapping.head_concat and len(widths) == 1 and widths[0][0] * 2 <= geo.buf_cols:
            wres, wfill = widths[0]
            hg = geo.buf_cols // wres
            for gi, h in enumerate(range(0, heads, hg)):
                hs = list(range(h, min(heads, h + hg)))
                images.append((("p", tuple(hs)), [(s * wres, wres, wfill) for s in range(len(hs))]))
                steps = steps_per_channel(head_dim, geo, mapping.partition)
                for ch in range(geo.units):
                    per_ch[ch].append(Phase(gi, steps[ch], steps[ch], -1))
        else:
            for h in range(heads):
                imgs, ph = _matrix_phases(spec, geo, mapping, head_dim, widths, len(images), ("p", h))
                images += imgs
                for ch in range(geo.units):
                    per_ch[ch] += ph[ch]
        macs = heads * kv_len * head_dim
    else:
        raise PimFitError(f"attention kind must be 'score' or 'context' (got {kind!r})")
    what = f"the {kind} GEMV of {heads} heads x {head_dim} over {kv_len} tokens ({cap} reserved)"
    streams, nrows, det = _lower(spec, geo, mapping, images, per_ch, what)
    _check_rows(spec, nrows, what + " with its results")
    det.update(kv_capacity=cap)
    return Compiled(streams, macs=macs, rows_per_bank=nrows, detail=det)


def compile_kv_write(spec: PimSpec, heads: int, head_dim: int, tokens: int = 1, dtype: str = "bf16",
                     mapping: MappingConfig | None = None) -> Compiled:
    """Write ``tokens`` new tokens' K (row-major, into their row-groups) and V (column-major, one element
    into each (head, output) row) at positions 0..tokens-1 of the layouts of :func:`compile_attention`."""
    mapping = mapping or MappingConfig()
    if min(heads, head_dim, tokens) < 1:
        raise PimFitError(f"{spec.name}: a KV write needs heads, head_dim and tokens >= 1")
    geo = geometry_of(spec, dtype)
    cap = _capacity(geo, mapping, tokens)
    bpp = spec.pim.banks_per_pu
    writes: list[dict[tuple[int, int], dict[int, int]]] = [dict() for _ in range(geo.units)]

    def put(ch: int, bank: int, row: int, col: int, n: int) -> None:
        cols = writes[ch].setdefault((bank, row), {})
        for c in range(col, col + n):
            cols[c] = cols.get(c, 0) + 1

    # K: the score layout
    w = _head_width(spec, geo, head_dim)
    groups, per_rg = _score_layout(geo, mapping, heads, w, cap)
    base = [0] * geo.units
    for hs in groups:
        reserve = steps_per_channel(_cdiv(cap, per_rg), geo, mapping.partition)
        for t in range(tokens):
            ch, pu, k = place(t // per_rg, geo, mapping.partition)
            par, row, col = slot_position(base[ch] + k, geo)
            c0 = 0 if per_rg == 1 else (t % per_rg) * w
            put(ch, pu * bpp + par, row, col + c0, w * len(hs) if per_rg == 1 else w)
        for ch in range(geo.units):
            base[ch] += reserve[ch]
    k_rows = max(rows_needed(b, geo) for b in base)
    # V: the context layout (column-major), rows after K's
    chunk = _chunk_elems(geo, mapping)
    res = _chunks(cap, chunk, geo.elems)
    vbase = [0] * geo.units
    if mapping.head_concat and len(res) == 1 and res[0] * 2 <= geo.buf_cols:
        hg = geo.buf_cols // res[0]
        for h0 in range(0, heads, hg):
            for t in range(tokens):
                for hi, _h in enumerate(range(h0, min(heads, h0 + hg))):
                    for o in range(head_dim):
                        ch, pu, k = place(o, geo, mapping.partition)
                        par, row, col = slot_position(vbase[ch] + k, geo)
                        put(ch, pu * bpp + par, k_rows + row, col + hi * res[0] + t // geo.elems, 1)
            st = steps_per_channel(head_dim, geo, mapping.partition)
            for ch in range(geo.units):
                vbase[ch] += st[ch]
    else:
        m = _replicas(geo, res[0], head_dim) if len(res) == 1 else 1
        for _h in range(heads):
            for j in range(len(res)):
                st = steps_per_channel(_cdiv(head_dim, m), geo, mapping.partition)
                for t in range(j * chunk, min(tokens, (j + 1) * chunk)):
                    for o in range(head_dim):
                        ch, pu, k = place(o // m, geo, mapping.partition)
                        par, row, col = slot_position(vbase[ch] + k, geo)
                        put(ch, pu * bpp + par, k_rows + row, col + (o % m) * res[j] + (t - j * chunk) // geo.elems, 1)
                for ch in range(geo.units):
                    vbase[ch] += st[ch]
    streams = []
    nrows = 0
    for ch in range(geo.units):
        rows_out = _kv_stream(spec, writes[ch], mapping.kv_multi_activate)
        if writes[ch]:
            nrows = max(nrows, max(row for _, row in writes[ch]) + 1)
        streams.append(ChannelStream.from_rows(rows_out))
    _check_rows(spec, nrows, f"the KV cache of {heads} heads x {head_dim} for {cap} tokens")
    return Compiled(streams, macs=0, rows_per_bank=nrows,
                    detail={"kv_bytes": 2 * tokens * heads * head_dim * PIM_DTYPE_BYTES[dtype], "kv_capacity": cap})


def _activates(spec: PimSpec, banks: list[int], row: int, multi: bool) -> list[tuple[int, int, int, int, int]]:
    """Activates that open ``row`` in ``banks`` of one channel: with ``multi`` on AiM, one ``ACT16`` when every
    bank of the channel needs the row, one ``ACT4`` per bank group all of whose banks need it (AiM's
    multi-bank activates, pim.md 2.1), single-bank ``ACT`` otherwise. HBM-PIM's all-bank activate needs AB
    mode, so its KV writes keep single-bank activates."""
    one, four, every = C.ACT_CODES[spec.pim.command_set]
    if not multi or spec.pim.command_set != "aim":
        return [(one, 1 << b, row, -1, 1) for b in banks]
    mask = sum(1 << b for b in banks)
    if mask == (1 << spec.banks) - 1:
        return [(every, mask, row, -1, 1)]
    per_group = spec.dram.org.banks_per_group
    out = []
    left = set(banks)
    for b in banks:
        if b not in left:
            continue
        g0 = b - b % per_group
        group = set(range(g0, g0 + per_group))
        if four >= 0 and group <= left:
            out.append((four, sum(1 << x for x in group), row, -1, 1))
            left -= group
        else:
            out.append((one, 1 << b, row, -1, 1))
            left.discard(b)
    return out


def _kv_stream(spec: PimSpec, writes: dict[tuple[int, int], dict[int, int]],
               multi: bool) -> list[tuple[int, int, int, int, int]]:
    """One channel's KV-write stream from ``{(bank, row): {column: writes}}``.

    Without ``multi``: in rounds, the ``r``-th row of every bank activated one bank at a time, then written,
    so the banks' row cycles overlap. With ``multi``: row by row, the banks that write the same row
    opened together (:func:`_activates`): V's column-major rows of one head sit at the same row in every
    bank of a channel (the channel-first partition deals consecutive outputs to the banks), so a token's
    V needs one ``ACT16`` per row instead of one ``ACT`` per bank, spaced tRRD."""
    out: list[tuple[int, int, int, int, int]] = []
    if multi and spec.pim.command_set == "aim":
        by_row: dict[int, list[tuple[int, dict[int, int]]]] = {}
        for (bank, row), cols in sorted(writes.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            by_row.setdefault(row, []).append((bank, cols))
        for row, todo in sorted(by_row.items()):
            out += _activates(spec, [b for b, _ in todo], row, True)
            for b, cols in todo:
                for c0, n in _runs(cols):
                    out.append((WR, 1 << b, row, c0, n))
    else:
        by_bank: dict[int, list[tuple[int, dict[int, int]]]] = {}
        for (bank, row), cols in sorted(writes.items()):
            by_bank.setdefault(bank, []).append((row, cols))
        rounds = max((len(v) for v in by_bank.values()), default=0)
        for r in range(rounds):
            todo2 = [(b, v[r]) for b, v in sorted(by_bank.items()) if r < len(v)]
            for b, (row, _) in todo2:
                out += _activates(spec, [b], row, False)
            for b, (row, cols) in todo2:
                for c0, n in _runs(cols):
                    out.append((WR, 1 << b, row, c0, n))
    if out:
        out.append((PREA, (1 << spec.banks) - 1, -1, -1, 1))
    return out


def _runs(cols: dict[int, int]) -> list[tuple[int, int]]:
    """Column runs ``(first, count)``; a column written k times (k elements of one burst) is one WR each."""
    out: list[tuple[int, int]] = []
    for c in sorted(cols):
        times = cols[c]
        if times == 1 and out and out[-1][0] + out[-1][1] == c and cols.get(c - 1) == 1:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((c, 1))
            out += [(c, 1)] * (times - 1)
    return out


def useful_bytes(rows: int, cols: int, dtype: str) -> int:
    """Bytes of a rows x cols matrix of ``dtype``."""
    return rows * cols * PIM_DTYPE_BYTES[dtype]


__all__ = ["Compiled", "Phase", "compile_attention", "compile_gemv", "compile_kv_write", "useful_bytes"]
