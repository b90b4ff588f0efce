"""Physical address -> (channel, pseudo-channel, rank, bank group, bank, row, column), vectorised.

A mapping is a list of bit fields, most significant first, written either DRAMsim3-style as
two-letter fields (``rochrababgco``, ``rorabgbachco``; ``pc`` = pseudo-channel) or Ramulator-style
as capitalised names (``RoBaRaCoCh``, ``ChRaBaRoCo``, ``RoBaBgRaCoCh``, ``RoCoBaBgRaPcCh``...).

The exact rule (all in bytes / bits):

1. The low ``shift`` bits are the offset inside one transaction and are dropped. They are *not*
   checked for alignment: two addresses in the same transaction map to the same column.
2. The remaining bits are cut into the fields, LSB first in the reverse of the written order.
   Field widths are log2 of the counts: channels, pseudo-channels, ranks, bank groups, banks per
   group, rows, and *column bursts* (the column field counts transactions, not device columns).
3. Optionally (``bank_xor``) the flat bank number (bank group, bank) is XORed with the low bits of
   the row, which spreads row-conflicting strides over the banks.
4. An address with a bit set at or above ``shift + total field bits`` is beyond the capacity.

Rule variants (``rule``):

* ``"linear"`` (profiles ``default`` and ``ramulator2``): ``shift = log2(tx_bytes)`` with
  ``tx_bytes = bus_width_bits / 8 * burst_length``; column bits =
  ``log2(columns * column_scale / burst_length)`` (``column_scale`` is 1 except for DRAMsim3 imports,
  whose rows then hold as many accesses as in DRAMsim3).
  This is Ramulator 2.0's rule (``tx = prefetch * channel_width / 8``; column bits minus the
  prefetch bits), so an HBM2 spec with a 64-bit pseudo-channel and prefetch 2 has 16 B
  transactions, and with RoBaRaCoCh address bits 4-6 select the channel, as in Ramulator.
* ``"dramsim3"``: ``shift = log2(bus_width_bits / 8 * burst_length)``; DRAMsim3 first normalises
  the column count (x burst length for GDDR, x2 for HBM), then column bits =
  ``log2(normalised columns) - log2(burst_length)``. ``org.columns`` must hold the ``.ini`` value.

Ramulator names without an explicit ``Bg`` follow Ramulator's own level order: ``RoBaRaCoCh`` is
``ro ba bg ra co ch`` and ``ChRaBaRoCo`` is ``ch ra bg ba ro co``; any other name without ``Bg``
places the bank-group bits directly below the bank bits. A Ramulator ``Ra`` also covers the
pseudo-channel (Ramulator's HBM2 has pseudo-channels where DDR has ranks): ``Ra`` -> ``pc ra``.
When a DRAMsim3 string has no ``pc`` field and the spec has pseudo-channels, ``ch`` covers both
(``ch`` -> ``ch pc``, the pseudo-channel being the low part).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config.dram_terms import FIELD_LEVELS, FIELDS, parse_scheme
from sim.dram.spec import DramSpec
from sim.errors import ConfigError, TraceError


def _log2(value: int, what: str) -> int:
    if value < 1 or value & (value - 1):
        raise ConfigError("DRAM organisation counts must be powers of two for address mapping",
                          key=f"org.{what}", value=value, expected="1, 2, 4, 8, ...")
    return value.bit_length() - 1


@dataclass(frozen=True)
class AddressMapping:
    """A resolved mapping: field order, widths (bits), low-bit shift, XOR option, capacity."""

    scheme: str
    rule: str
    fields: tuple[str, ...]          #: most significant first
    widths: dict[str, int]           #: bits per field
    shift: int                       #: dropped low bits (log2 of the transaction size)
    bank_xor: bool
    banks_per_group: int
    bankgroups: int

    @property
    def total_bits(self) -> int:
        """Address bits used above the transaction offset."""
        return sum(self.widths[f] for f in self.fields)

    @property
    def capacity_bytes(self) -> int:
        """Bytes addressable through this mapping."""
        return 1 << (self.total_bits + self.shift)

    @property
    def tx_bytes(self) -> int:
        """Bytes per transaction (the dropped offset range)."""
        return 1 << self.shift

    def positions(self) -> dict[str, int]:
        """Bit position (above ``shift``) of each field's least significant bit."""
        pos, out = 0, {}
        for f in reversed(self.fields):
            out[f] = pos
            pos += self.widths[f]
        return out


def default_rule(spec: DramSpec) -> str:
    """The address rule a profile uses: ``dramsim3`` for the dramsim3 profile, else ``linear``."""
    return "dramsim3" if spec.controller.compat == "dramsim3" else "linear"


def build_mapping(spec: DramSpec, rule: str | None = None) -> AddressMapping:
    """Resolve ``spec.controller.address_mapping`` under ``rule`` (default: by profile)."""
    o = spec.org
    rule = rule or default_rule(spec)
    if rule == "linear":
        shift = _log2(o.tx_bytes, "tx_bytes")
        col_bits = _log2(o.columns * o.column_scale, "columns") - _log2(o.burst_length, "burst_length")
    elif rule == "dramsim3":
        std = o.standard.upper()
        norm = o.burst_length if std.startswith("GDDR") else 2 if std.startswith("HBM") else 1
        shift = _log2(o.bus_width_bits // 8 * o.burst_length, "bus_width_bits")
        col_bits = _log2(o.columns * norm, "columns") - _log2(o.burst_length, "burst_length")
    else:
        raise ConfigError("unknown address rule", value=rule, expected="linear or dramsim3")
    if col_bits < 0:
        raise ConfigError("fewer columns than one burst", key="org.columns", value=o.columns)
    widths = {f: _log2(getattr(o, level), level) for f, level in FIELD_LEVELS.items() if f != "co"}
    widths["co"] = col_bits
    fields = parse_scheme(spec.controller.address_mapping)
    missing = [f for f in FIELDS if f not in fields and widths[f] > 0]
    if missing:
        raise ConfigError("address mapping lacks fields the organisation needs",
                          key="controller.address_mapping", value=spec.controller.address_mapping,
                          expected="also " + ", ".join(missing))
    return AddressMapping(scheme=spec.controller.address_mapping, rule=rule, fields=fields,
                          widths={f: widths[f] for f in fields}, shift=shift,
                          bank_xor=spec.controller.bank_xor, banks_per_group=o.banks_per_group,
                          bankgroups=o.bankgroups)


@dataclass(frozen=True)
class DecodedAddresses:
    """Per-request coordinates (int64 arrays of equal length)."""

    channel: np.ndarray
    pseudo_channel: np.ndarray
    rank: np.ndarray
    bankgroup: np.ndarray
    bank: np.ndarray
    row: np.ndarray
    column: np.ndarray


def as_uint64(addr: np.ndarray) -> np.ndarray:
    """Addresses as uint64; negative signed addresses are rejected."""
    a = np.asarray(addr)
    if a.dtype.kind == "i":
        if a.size and a.min() < 0:
            raise TraceError(f"negative DRAM address {int(a.min())}")
        return a.astype(np.uint64)
    if a.dtype.kind == "u":
        return a.astype(np.uint64)
    raise TraceError(f"DRAM addresses must be integers, got dtype {a.dtype}")


def decode(mapping: AddressMapping, addr: np.ndarray) -> DecodedAddresses:
    """Vectorised decode of byte addresses; raises TraceError for an address beyond capacity."""
    a = as_uint64(addr)
    limit = mapping.total_bits + mapping.shift
    if a.size and limit < 64 and int(a.max()) >> limit:
        bad = int(np.argmax((a >> np.uint64(limit)) != 0))
        raise TraceError(f"DRAM address {int(a[bad]):#x} (request {bad}) is beyond the capacity of "
                         f"{mapping.capacity_bytes} bytes")
    x = a >> np.uint64(mapping.shift)
    pos = mapping.positions()

    def field(name: str) -> np.ndarray:
        if name not in pos or mapping.widths[name] == 0:
            return np.zeros(a.shape, dtype=np.int64)
        mask = np.uint64((1 << mapping.widths[name]) - 1)
        return ((x >> np.uint64(pos[name])) & mask).astype(np.int64)

    bg, ba, ro = field("bg"), field("ba"), field("ro")
    if mapping.bank_xor:
        nbanks = mapping.bankgroups * mapping.banks_per_group
        flat = (bg * mapping.banks_per_group + ba) ^ (ro & (nbanks - 1))
        bg, ba = flat // mapping.banks_per_group, flat % mapping.banks_per_group
    return DecodedAddresses(channel=field("ch"), pseudo_channel=field("pc"), rank=field("ra"),
                            bankgroup=bg, bank=ba, row=ro, column=field("co"))


def encode(mapping: AddressMapping, channel: int = 0, pseudo_channel: int = 0, rank: int = 0,
           bankgroup: int = 0, bank: int = 0, row: int = 0, column: int = 0) -> int:
    """Byte address of a coordinate (inverse of :func:`decode`, offset 0), for tests and traces."""
    if mapping.bank_xor:
        nbanks = mapping.bankgroups * mapping.banks_per_group
        flat = (bankgroup * mapping.banks_per_group + bank) ^ (row & (nbanks - 1))
        bankgroup, bank = flat // mapping.banks_per_group, flat % mapping.banks_per_group
    values = {"ch": channel, "pc": pseudo_channel, "ra": rank, "bg": bankgroup, "ba": bank, "ro": row,
              "co": column}
    out = 0
    for name, p in mapping.positions().items():
        w = mapping.widths[name]
        v = values[name]
        if v >> w if w else v:
            raise ValueError(f"{name}={v} does not fit in {w} bits")
        out |= v << p
    return out << mapping.shift
