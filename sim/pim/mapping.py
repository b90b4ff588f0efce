"""Where a GEMV's data lives in a PIM memory: mapping choices and the row-group layout.

Vocabulary (all counts per (pseudo-)channel unless said otherwise):

* **PU**: a processing unit (one per bank, or per bank pair). All PUs of a channel execute the same
  all-bank command in lockstep, each on its own bank's data.
* **buffer**: what a MAC multiplies the bank data with: AiM's global buffer (per channel) or HBM-PIM's
  GRF_A (per PU, written by broadcast). It holds ``G = buffer bytes / access bytes`` column-sized entries;
  a MAC on bank column ``c`` uses buffer entry ``c mod G``, so a row of ``row_columns`` columns has
  ``row_columns / G`` *windows* aligned with the buffer.
* **image**: one content of the buffer: a list of *slots* ``(first entry, width)``, each holding a piece
  of an input vector (a chunk of ``x``, one head's ``q`` or ``p``). Several slots of one image hold either
  copies of one vector (short dot products: several outputs per window) or different heads' vectors
  (*head concatenation*, PIM-GPT).
* **row-group**: the data one PU multiplies with one image: one window of one row, one segment per slot.
  Row-groups are dealt to the channels' PUs (``partition``) and stacked in each PU's rows: row-group ``k``
  of a PU sits in window ``k mod W`` of virtual row ``k div W``; virtual row ``v`` is bank ``v mod
  banks_per_pu`` of the PU, DRAM row ``v div banks_per_pu``.

The row-hit rate is not an input anywhere: it follows from how many columns each opened row serves
in the schedule the compiler emits (:mod:`sim.pim.compiler`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sim.config.dram_terms import PIM_DTYPE_BYTES
from sim.pim.errors import PimFitError
from sim.pim.spec import PimSpec

PARTITIONS = ("channel-first", "bank-first")
TILINGS = ("auto", "column-major", "row-major")


@dataclass(frozen=True)
class MappingConfig:
    """How the compiler lays a GEMV out (hashable: part of the cost memo key).

    * ``partition``: how row-groups (outputs, tokens) are dealt to PUs: ``channel-first`` (consecutive
      row-groups go to different channels, then banks: balances channels) or ``bank-first`` (fill the PUs
      of one channel first).
    * ``tiling``: the traversal of a matrix longer than the buffer. ``column-major``: one vector chunk at a
      time across all output rows (the buffer is loaded once per chunk; with more outputs per PU than
      result registers every chunk's partial sums leave the chip). ``row-major``: one tile of outputs (as
      many per PU as it has result registers) through all chunks, accumulating in the registers (the
      buffer is reloaded for every tile). ``auto``: column-major.
    * ``head_concat``: concatenate attention heads in the buffer and in the rows (PIM-GPT), instead of
      replicating one head's vector.
    * ``vector_chunk``: elements of the input vector per buffer image (default: a full buffer).
    * ``kv_capacity``: tokens reserved per head for K and V (default: ``kv_len`` rounded up to whole rows).
    * ``early_activate``: issue each phase's first activate before the buffer load, so they overlap.
    * ``kv_multi_activate``: KV writes open a row that several banks write with one multi-bank activate
      (AiM ``ACT16`` / ``ACT4``) instead of one ``ACT`` per bank (AiM only; HBM-PIM ignores it).
    """

    partition: Literal["channel-first", "bank-first"] = "channel-first"
    tiling: Literal["auto", "column-major", "row-major"] = "auto"
    head_concat: bool = True
    vector_chunk: int | None = None
    kv_capacity: int | None = None
    early_activate: bool = True
    kv_multi_activate: bool = True

    def __post_init__(self) -> None:
        from sim.errors import ConfigError

        if self.partition not in PARTITIONS:
            raise ConfigError("unknown PIM partition", key="mapping.partition", value=self.partition,
                              expected=" or ".join(PARTITIONS))
        if self.tiling not in TILINGS:
            raise ConfigError("unknown PIM tiling", key="mapping.tiling", value=self.tiling,
                              expected=", ".join(TILINGS))
        for name in ("vector_chunk", "kv_capacity"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or v < 1):
                raise ConfigError("must be a positive whole number", key=f"mapping.{name}", value=v)


@dataclass(frozen=True)
class Geometry:
    """The numbers of a PIM memory the mapping needs, for one operand data type."""

    units: int             #: channels (pseudo-channels)
    pus: int               #: PUs per channel
    banks_per_pu: int
    row_cols: int          #: column accesses per row
    buf_cols: int          #: buffer entries (G)
    windows: int           #: buffer windows per row (W)
    elems: int             #: elements per column access
    rows: int              #: rows per bank

    @property
    def chunk_elems(self) -> int:
        """Elements of one full buffer image."""
        return self.buf_cols * self.elems


def geometry_of(spec: PimSpec, dtype: str) -> Geometry:
    """The mapping geometry of ``spec`` for operands of ``dtype``."""
    if dtype not in PIM_DTYPE_BYTES:
        raise PimFitError(f"{spec.name}: unknown data type {dtype!r}; expected one of {', '.join(PIM_DTYPE_BYTES)}")
    if spec.pim.lanes_for(dtype) is None:
        raise PimFitError(f"{spec.name}: the PUs do not compute in {dtype} (they support "
                          f"{', '.join(d for d, _ in spec.pim.lanes)})")
    g = min(spec.buffer_columns, spec.row_columns)
    return Geometry(units=spec.units, pus=spec.pus_per_unit, banks_per_pu=spec.pim.banks_per_pu,
                    row_cols=spec.row_columns, buf_cols=g, windows=max(1, spec.row_columns // g),
                    elems=max(1, spec.access_bytes // PIM_DTYPE_BYTES[dtype]), rows=spec.dram.org.rows)


def per_channel(n: int, geo: Geometry, partition: str) -> list[int]:
    """Row-groups each channel receives when ``n`` are dealt out (see :class:`MappingConfig`)."""
    U, P = geo.units, geo.pus
    if partition == "channel-first":
        return [n // U + (1 if ch < n % U else 0) for ch in range(U)]
    full, rem = divmod(n, U * P)
    return [full * P + min(P, max(0, rem - ch * P)) for ch in range(U)]


def steps_per_channel(n: int, geo: Geometry, partition: str) -> list[int]:
    """Lockstep steps per channel for ``n`` row-groups: the most any PU of the channel holds."""
    P = geo.pus
    if partition == "channel-first":
        return [-(-c // P) for c in per_channel(n, geo, partition)]
    full, rem = divmod(n, geo.units * P)
    return [full + (1 if rem > ch * P else 0) for ch in range(geo.units)]


def place(g: int, geo: Geometry, partition: str) -> tuple[int, int, int]:
    """``(channel, pu, k)`` of row-group ``g``: its channel, PU and index among that PU's row-groups."""
    U, P = geo.units, geo.pus
    if partition == "channel-first":
        ch, rest = g % U, g // U
        return ch, rest % P, rest // P
    pu, rest = g % P, g // P
    return rest % U, pu, rest // U


def slot_position(k: int, geo: Geometry) -> tuple[int, int, int]:
    """``(bank of the PU, DRAM row, first column)`` of a PU's ``k``-th row-group (window-aligned)."""
    window, vrow = k % geo.windows, k // geo.windows
    return vrow % geo.banks_per_pu, vrow // geo.banks_per_pu, window * geo.buf_cols


def rows_needed(row_groups_per_pu: int, geo: Geometry) -> int:
    """DRAM rows per bank that ``row_groups_per_pu`` row-groups occupy."""
    vrows = -(-row_groups_per_pu // geo.windows)
    return -(-vrows // geo.banks_per_pu)


__all__ = ["Geometry", "MappingConfig", "PARTITIONS", "TILINGS", "geometry_of", "per_channel", "place",
           "rows_needed", "slot_position", "steps_per_channel"]
