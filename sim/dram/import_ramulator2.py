"""Import a Ramulator 2.0 YAML configuration as a pimsim memory tree, with Ramulator's effective values.

Ramulator 2.0 names built-in organisation and timing presets (``org.preset: DDR4_8Gb_x8``,
``timing.preset: DDR4_2400U``) and lets fields override them (``nXX`` in cycles, ``tXX`` in ns rounded
with JEDEC's rule, ``channel``/``rank``/``channel_width`` counts). The tables below carry the preset
values (facts read from Ramulator 2.0's ``src/dram/impl``), and the importer reproduces the values
Ramulator derives:

* tCK is ``int(1e6 / (rate / 2))`` picoseconds (2400 MT/s -> 833 ps).
* DDR4 nRRDS/nRRDL/nFAW come from JEDEC tables by device width and rate; nRFC and nREFI are recomputed
  from ns tables at the preset tCK with JEDEC rounding (``(t_ps * 1000 // tCK_ps + 974) // 1000``):
  DDR4 8 Gb: 360 ns -> 433 cycles, 7800 ns -> 9364 cycles (DRAMsim3's file has 420/9360).
* HBM2: nRFC from its table (8 Gb: 350 ns); the AllBank refresh manager iterates the "rank" level,
  which HBM2 does not have, so **HBM2 is never refreshed** (``refresh: none``).
* HBM2 transaction size = prefetch (2) x ``channel_width`` (default 64) / 8 = 16 B; ``channel_width:
  256`` gives 64 B. nRTPS and nRTPL both constrain RD->PRE in a bank, so the effective tRTP is nRTPL.
* Rank switching uses nCS (our tRTRS, 2; HBM2 has no rank level and carries the same 2).
* Only the open row policy is reproduced: ClosedRowPolicy with its default cap of 10^7 column accesses
  per bank is an open page and imports as ``open``; a smaller ``cap`` is refused.
* RoBaRaCoCh puts (LSB first) channel, column, then the levels below the channel up to the row:
  DDR4 MSB->LSB ``ro ba bg ra co ch``, HBM2 ``ro ba bg pc co ch``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim.config.loader import read_yaml
from sim.dram.import_dramsim3 import ImportResult
from sim.errors import ConfigError

# --- DDR4 -------------------------------------------------------------------------------------------
#: name -> (density Mb, DQ, [channel, rank, bankgroup, bank, row, column])
DDR4_ORG = {
    "DDR4_2Gb_x4": (2 << 10, 4, [1, 1, 4, 4, 1 << 15, 1 << 10]),
    "DDR4_2Gb_x8": (2 << 10, 8, [1, 1, 4, 4, 1 << 14, 1 << 10]),
    "DDR4_2Gb_x16": (2 << 10, 16, [1, 1, 2, 4, 1 << 14, 1 << 10]),
    "DDR4_4Gb_x4": (4 << 10, 4, [1, 1, 4, 4, 1 << 16, 1 << 10]),
    "DDR4_4Gb_x8": (4 << 10, 8, [1, 1, 4, 4, 1 << 15, 1 << 10]),
    "DDR4_4Gb_x16": (4 << 10, 16, [1, 1, 2, 4, 1 << 15, 1 << 10]),
    "DDR4_8Gb_x4": (8 << 10, 4, [1, 1, 4, 4, 1 << 17, 1 << 10]),
    "DDR4_8Gb_x8": (8 << 10, 8, [1, 1, 4, 4, 1 << 16, 1 << 10]),
    "DDR4_8Gb_x16": (8 << 10, 16, [1, 1, 2, 4, 1 << 16, 1 << 10]),
    "DDR4_16Gb_x4": (16 << 10, 4, [1, 1, 4, 4, 1 << 18, 1 << 10]),
    "DDR4_16Gb_x8": (16 << 10, 8, [1, 1, 4, 4, 1 << 17, 1 << 10]),
    "DDR4_16Gb_x16": (16 << 10, 16, [1, 1, 2, 4, 1 << 17, 1 << 10]),
}
DDR4_TIMING_NAMES = ("rate", "nBL", "nCL", "nRCD", "nRP", "nRAS", "nRC", "nWR", "nRTP", "nCWL", "nCCDS",
                     "nCCDL", "nRRDS", "nRRDL", "nWTRS", "nWTRL", "nFAW", "nRFC", "nREFI", "nCS", "tCK_ps")
_X = -1
DDR4_TIMING = {
    "DDR4_1600J": (1600, 4, 10, 10, 10, 28, 38, 12, 6, 9, 4, 5, _X, _X, 2, 6, _X, _X, _X, 2, 1250),
    "DDR4_1600K": (1600, 4, 11, 11, 11, 28, 39, 12, 6, 9, 4, 5, _X, _X, 2, 6, _X, _X, _X, 2, 1250),
    "DDR4_1600L": (1600, 4, 12, 12, 12, 28, 40, 12, 6, 9, 4, 5, _X, _X, 2, 6, _X, _X, _X, 2, 1250),
    "DDR4_1866L": (1866, 4, 12, 12, 12, 32, 44, 14, 7, 10, 4, 5, _X, _X, 3, 7, _X, _X, _X, 2, 1071),
    "DDR4_1866M": (1866, 4, 13, 13, 13, 32, 45, 14, 7, 10, 4, 5, _X, _X, 3, 7, _X, _X, _X, 2, 1071),
    "DDR4_1866N": (1866, 4, 14, 14, 14, 32, 46, 14, 7, 10, 4, 5, _X, _X, 3, 7, _X, _X, _X, 2, 1071),
    "DDR4_2133N": (2133, 4, 14, 14, 14, 36, 50, 16, 8, 11, 4, 6, _X, _X, 3, 8, _X, _X, _X, 2, 937),
    "DDR4_2133P": (2133, 4, 15, 15, 15, 36, 51, 16, 8, 11, 4, 6, _X, _X, 3, 8, _X, _X, _X, 2, 937),
    "DDR4_2133R": (2133, 4, 16, 16, 16, 36, 52, 16, 8, 11, 4, 6, _X, _X, 3, 8, _X, _X, _X, 2, 937),
    "DDR4_2400P": (2400, 4, 15, 15, 15, 39, 54, 18, 9, 12, 4, 6, _X, _X, 3, 9, _X, _X, _X, 2, 833),
    "DDR4_2400R": (2400, 4, 16, 16, 16, 39, 55, 18, 9, 12, 4, 6, _X, _X, 3, 9, _X, _X, _X, 2, 833),
    "DDR4_2400U": (2400, 4, 17, 17, 17, 39, 56, 18, 9, 12, 4, 6, _X, _X, 3, 9, _X, _X, _X, 2, 833),
    "DDR4_2400T": (2400, 4, 18, 18, 18, 39, 57, 18, 9, 12, 4, 6, _X, _X, 3, 9, _X, _X, _X, 2, 833),
    "DDR4_2666T": (2666, 4, 17, 17, 17, 43, 60, 20, 10, 14, 4, 7, _X, _X, 4, 10, _X, _X, _X, 2, 750),
    "DDR4_2666U": (2666, 4, 18, 18, 18, 43, 61, 20, 10, 14, 4, 7, _X, _X, 4, 10, _X, _X, _X, 2, 750),
    "DDR4_2666V": (2666, 4, 19, 19, 19, 43, 62, 20, 10, 14, 4, 7, _X, _X, 4, 10, _X, _X, _X, 2, 750),
    "DDR4_2666W": (2666, 4, 20, 20, 20, 43, 63, 20, 10, 14, 4, 7, _X, _X, 4, 10, _X, _X, _X, 2, 750),
    "DDR4_2933V": (2933, 4, 19, 19, 19, 47, 66, 22, 11, 16, 4, 8, _X, _X, 4, 11, _X, _X, _X, 2, 682),
    "DDR4_2933W": (2933, 4, 20, 20, 20, 47, 67, 22, 11, 16, 4, 8, _X, _X, 4, 11, _X, _X, _X, 2, 682),
    "DDR4_2933Y": (2933, 4, 21, 21, 21, 47, 68, 22, 11, 16, 4, 8, _X, _X, 4, 11, _X, _X, _X, 2, 682),
    "DDR4_2933AA": (2933, 4, 22, 22, 22, 47, 69, 22, 11, 16, 4, 8, _X, _X, 4, 11, _X, _X, _X, 2, 682),
    "DDR4_3200W": (3200, 4, 20, 20, 20, 52, 72, 24, 12, 16, 4, 8, _X, _X, 4, 12, _X, _X, _X, 2, 625),
    "DDR4_3200AA": (3200, 4, 22, 22, 22, 52, 74, 24, 12, 16, 4, 8, _X, _X, 4, 12, _X, _X, _X, 2, 625),
    "DDR4_3200AC": (3200, 4, 24, 24, 24, 52, 76, 24, 12, 16, 4, 8, _X, _X, 4, 12, _X, _X, _X, 2, 625),
}
_DDR4_RATES = (1600, 1866, 2133, 2400, 2666, 2933, 3200)
#: JEDEC secondary timings by device width (x4, x8, x16) and rate, cycles.
_DDR4_NRRDS = {4: (4,) * 7, 8: (4,) * 7, 16: (5, 5, 6, 7, 8, 8, 9)}
_DDR4_NRRDL = {4: (5, 5, 6, 6, 7, 8, 8), 8: (5, 5, 6, 6, 7, 8, 8), 16: (6, 6, 7, 8, 9, 10, 11)}
_DDR4_NFAW = {4: (16,) * 7, 8: (20, 22, 23, 26, 28, 31, 34), 16: (28, 28, 32, 36, 40, 44, 48)}
#: Ramulator's DDR4 normal-refresh tRFC table, ns, by density (Mb); note 360 ns at 8 Gb.
_DDR4_TRFC_NS = {2048: 160, 4096: 260, 8192: 360, 16384: 550}
_DDR4_TREFI_NS = 7800
#: DRAMPower "Default" voltage/current preset of Ramulator's DDR4 (V, mA).
DDR4_POWER_DEFAULT = {"VDD": 1.2, "VPP": 2.5, "IDD0": 60, "IDD2N": 50, "IDD3N": 55, "IDD4R": 145,
                      "IDD4W": 145, "IDD5AB": 362, "IPP0": 3}

# --- HBM2 -------------------------------------------------------------------------------------------
#: name -> (density Mb, DQ, [channel, pseudochannel, bankgroup, bank, row, column])
HBM2_ORG = {
    "HBM2_2Gb": (2 << 10, 128, [1, 2, 4, 2, 1 << 14, 1 << 6]),
    "HBM2_4Gb": (4 << 10, 128, [1, 2, 4, 4, 1 << 14, 1 << 6]),
    "HBM2_8Gb": (8 << 10, 128, [1, 2, 4, 4, 1 << 15, 1 << 6]),
}
HBM2_TIMING_NAMES = ("rate", "nBL", "nCL", "nRCDRD", "nRCDWR", "nRP", "nRAS", "nRC", "nWR", "nRTPS", "nRTPL",
                     "nCWL", "nCCDS", "nCCDL", "nRRDS", "nRRDL", "nWTRS", "nWTRL", "nRTW", "nFAW", "nRFC",
                     "nRFCSB", "nREFI", "nREFISB", "nRREFD", "tCK_ps")
HBM2_TIMING = {
    "HBM2_2Gbps": (2000, 4, 7, 7, 7, 7, 17, 19, 8, 2, 3, 2, 1, 2, 2, 3, 3, 4, 3, 15, _X, 160, 3900, _X, 8,
                   1000),
}
_HBM2_TRFC_NS = {2048: 160, 4096: 260, 8192: 350, 16384: 450}

_LEVELS = {"DDR4": ("channel", "rank", "bankgroup", "bank", "row", "column"),
           "HBM2": ("channel", "pseudochannel", "bankgroup", "bank", "row", "column")}
_FIELD = {"channel": "ch", "rank": "ra", "pseudochannel": "pc", "bankgroup": "bg", "bank": "ba",
          "row": "ro", "column": "co"}
_PREFETCH = {"DDR4": 8, "HBM2": 2}
#: ClosedRowPolicy's default ``cap`` (column accesses to a bank before it is closed).
_CLOSED_ROW_DEFAULT_CAP = 10_000_000
#: Ramulator's DDR4 nCS (rank switch); its HBM2 model has no rank level, tRTRS carries the same value.
_NCS = 2


def jedec_rounding(t_ns: float, tck_ps: int) -> int:
    """Ramulator's ns -> cycles conversion: ``(int(t_ns * 1000) * 1000 // tCK_ps + 974) // 1000``."""
    t_ps = int(t_ns * 1000)
    return (t_ps * 1000 // tck_ps + 974) // 1000


def is_ramulator2(data: dict[str, Any]) -> bool:
    """True for a Ramulator 2.0 config (a top-level ``MemorySystem`` key)."""
    return isinstance(data, dict) and "MemorySystem" in data


def _group(node: Any, key: str, where: str) -> dict[str, Any]:
    value = node.get(key, {}) if isinstance(node, dict) else None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError("expected a mapping", file=where, key=key, value=value)
    return value


def _impl(node: dict[str, Any], where: str, key: str) -> str | None:
    sub = node.get(key)
    if sub is None:
        return None
    if not isinstance(sub, dict) or "impl" not in sub:
        raise ConfigError("expected a mapping with an 'impl' key", file=where, key=key, value=sub)
    return str(sub["impl"])


def _mapping(impl: str, levels: tuple[str, ...], where: str) -> str:
    """Our MSB->LSB mapping string for a Ramulator linear address mapper."""
    if impl == "RoBaRaCoCh":
        # LSB first: channel, column, then levels 1..row in order.
        lsb_first = [levels[0], levels[-1], *levels[1:-1]]
    elif impl == "ChRaBaRoCo":
        lsb_first = list(reversed(levels))
    else:
        raise ConfigError(f"address mapper {impl} is not supported", file=where, key="AddrMapper.impl",
                          value=impl, expected="RoBaRaCoCh or ChRaBaRoCo")
    return "".join(_FIELD[lv] for lv in reversed(lsb_first))


def import_ramulator2(path: str | Path, data: dict[str, Any] | None = None) -> ImportResult:
    """Read a Ramulator 2.0 YAML; return the equivalent pimsim memory tree (Ramulator's effective values)."""
    path = Path(path)
    if data is None:
        data = read_yaml(path)
    where = str(path)
    notes: list[str] = []
    ms = _group(data, "MemorySystem", where)
    dram = _group(ms, "DRAM", where)
    impl = str(dram.get("impl", ""))
    if impl not in ("DDR4", "HBM2"):
        raise ConfigError("this DRAM standard is not supported by the Ramulator importer", file=where,
                          key="MemorySystem.DRAM.impl", value=impl or None, expected="DDR4 or HBM2")
    levels = _LEVELS[impl]
    org_node = _group(dram, "org", where)
    timing_node = _group(dram, "timing", where)

    org_table = DDR4_ORG if impl == "DDR4" else HBM2_ORG
    preset = org_node.get("preset")
    if preset is None:
        raise ConfigError("an org preset is required", file=where, key="MemorySystem.DRAM.org.preset",
                          expected=", ".join(org_table))
    if preset not in org_table:
        raise ConfigError(f"unknown {impl} organisation preset", file=where,
                          key="MemorySystem.DRAM.org.preset", value=preset, expected=", ".join(org_table))
    density, dq, counts = org_table[preset]
    counts = list(counts)
    dq = int(org_node.get("dq", dq))
    for i, level in enumerate(levels):
        if level in org_node:
            counts[i] = int(org_node[level])
    density = int(org_node.get("density", density))
    channel_width = int(org_node.get("channel_width", 64))
    known_org = {"preset", "dq", "density", "channel_width", *levels}
    extra = sorted(set(org_node) - known_org)
    if extra:
        raise ConfigError("unknown org key", file=where, key=f"MemorySystem.DRAM.org.{extra[0]}",
                          expected=", ".join(sorted(known_org)))

    if impl == "DDR4":
        t_table, t_names = DDR4_TIMING, DDR4_TIMING_NAMES
    else:
        t_table, t_names = HBM2_TIMING, HBM2_TIMING_NAMES
    tpreset = timing_node.get("preset")
    if tpreset is not None and tpreset not in t_table:
        raise ConfigError(f"unknown {impl} timing preset", file=where, key="MemorySystem.DRAM.timing.preset",
                          value=tpreset, expected=", ".join(t_table))
    vals: dict[str, int] = dict(zip(t_names, t_table[tpreset] if tpreset else (_X,) * len(t_names),
                                    strict=True))
    if "rate" in timing_node:
        if tpreset is not None:
            raise ConfigError("cannot change the rate of a speed preset", file=where,
                              key="MemorySystem.DRAM.timing.rate", value=timing_node["rate"])
        vals["rate"] = int(timing_node["rate"])
    if vals["rate"] <= 0:
        raise ConfigError("a timing preset or a rate is required", file=where, key="MemorySystem.DRAM.timing")
    tck_ps = int(1e6 / (vals["rate"] / 2))
    vals["tCK_ps"] = tck_ps

    if impl == "DDR4":
        if dq in _DDR4_NRRDS and vals["rate"] in _DDR4_RATES:
            r = _DDR4_RATES.index(vals["rate"])
            vals["nRRDS"], vals["nRRDL"] = _DDR4_NRRDS[dq][r], _DDR4_NRRDL[dq][r]
            vals["nFAW"] = _DDR4_NFAW[dq][r]
        if density in _DDR4_TRFC_NS:
            vals["nRFC"] = jedec_rounding(_DDR4_TRFC_NS[density], tck_ps)
            notes.append(f"nRFC = JEDEC rounding of {_DDR4_TRFC_NS[density]} ns at {tck_ps} ps "
                         f"= {vals['nRFC']}")
        vals["nREFI"] = jedec_rounding(_DDR4_TREFI_NS, tck_ps)
        notes.append(f"nREFI = JEDEC rounding of {_DDR4_TREFI_NS} ns at {tck_ps} ps = {vals['nREFI']}")
    else:
        if density in _HBM2_TRFC_NS:
            vals["nRFC"] = jedec_rounding(_HBM2_TRFC_NS[density], tck_ps)

    for name in t_names[1:-1]:
        if name in timing_node:
            vals[name] = int(timing_node[name])
        elif "t" + name[1:] in timing_node:
            vals[name] = jedec_rounding(float(timing_node["t" + name[1:]]), tck_ps)
    known_t = {"preset", "rate", *t_names[1:-1], *("t" + n[1:] for n in t_names[1:-1])}
    extra = sorted(set(timing_node) - known_t)
    if extra:
        raise ConfigError("unknown timing key", file=where, key=f"MemorySystem.DRAM.timing.{extra[0]}",
                          expected="a timing name of the standard (nXX in cycles or tXX in ns)")
    missing = [n for n in t_names if vals.get(n, _X) == _X and n not in ("nRFCSB", "nREFISB")]
    if missing:
        raise ConfigError(f"timing {missing[0]} is not specified", file=where, key="MemorySystem.DRAM.timing")

    ctrl = _group(ms, "Controller", where)
    sched = _impl(ctrl, where, "Scheduler") or "FRFCFS"
    if sched != "FRFCFS":
        raise ConfigError("scheduler not supported", file=where, key="MemorySystem.Controller.Scheduler.impl",
                          value=sched, expected="FRFCFS")
    row_policy = _impl(ctrl, where, "RowPolicy") or "OpenRowPolicy"
    if row_policy not in ("OpenRowPolicy", "ClosedRowPolicy"):
        raise ConfigError("row policy not supported", file=where,
                          key="MemorySystem.Controller.RowPolicy.impl", value=row_policy,
                          expected="OpenRowPolicy or ClosedRowPolicy")
    if row_policy == "ClosedRowPolicy":
        # Ramulator's ClosedRowPolicy closes a bank only after `cap` column accesses (default 10^7), so by
        # default it behaves as an open page; a small cap is not reproduced by the ramulator2 profile.
        cap = ctrl["RowPolicy"].get("cap", _CLOSED_ROW_DEFAULT_CAP)
        if int(cap) < _CLOSED_ROW_DEFAULT_CAP:
            raise ConfigError("ClosedRowPolicy with a small cap is not reproduced (the ramulator2 profile has "
                              "the open row policy only)", file=where,
                              key="MemorySystem.Controller.RowPolicy.cap", value=cap,
                              expected=f"no cap (Ramulator's default {_CLOSED_ROW_DEFAULT_CAP}) or OpenRowPolicy")
        notes.append(f"ClosedRowPolicy closes a bank only after {int(cap)} column accesses: an open page")
    page = "open"
    refresh_impl = _impl(ctrl, where, "RefreshManager")
    if refresh_impl not in (None, "AllBank"):
        raise ConfigError("refresh manager not supported", file=where,
                          key="MemorySystem.Controller.RefreshManager.impl", value=refresh_impl,
                          expected="AllBank")
    if refresh_impl == "AllBank" and "rank" in levels:
        refresh = "allbank"
    else:
        refresh = "none"
        if refresh_impl == "AllBank":
            notes.append(f"AllBank refresh walks the 'rank' level, which {impl} lacks: never refreshed")
    mapper = _impl(ms, where, "AddrMapper") or "RoBaRaCoCh"
    mapping = _mapping(mapper, levels, where)
    if ctrl.get("plugins"):
        notes.append("controller plugins are ignored")

    prefetch = _PREFETCH[impl]
    channels = counts[0]
    if impl == "DDR4":
        pseudo, ranks = 1, counts[1]
    else:
        pseudo, ranks = counts[1], 1
    tx = prefetch * channel_width // 8
    notes.append(f"transaction size = prefetch {prefetch} x channel_width {channel_width} / 8 = {tx} B")
    org = {"channels": channels, "pseudo_channels": pseudo, "ranks": ranks, "bankgroups": counts[2],
           "banks_per_group": counts[3], "rows": counts[4], "columns": counts[5], "device_width": dq,
           "bus_width": channel_width, "burst_length": prefetch}
    common = {"tCK": f"{tck_ps / 1000:g} ns", "CL": vals["nCL"], "CWL": vals["nCWL"], "tRP": vals["nRP"],
              "tRAS": vals["nRAS"], "tRC": vals["nRC"], "tBL": vals["nBL"], "tCCD_S": vals["nCCDS"],
              "tCCD_L": vals["nCCDL"], "tRRD_S": vals["nRRDS"], "tRRD_L": vals["nRRDL"], "tFAW": vals["nFAW"],
              "tWR": vals["nWR"], "tWTR_S": vals["nWTRS"], "tWTR_L": vals["nWTRL"], "tREFI": vals["nREFI"],
              "tRFC": vals["nRFC"]}
    if impl == "DDR4":
        timing = {**common, "tRCD_RD": vals["nRCD"], "tRCD_WR": vals["nRCD"], "tRTP": vals["nRTP"],
                  "tRTRS": vals["nCS"]}
    else:
        rtp = max(vals["nRTPS"], vals["nRTPL"])
        notes.append(f"nRTPS {vals['nRTPS']} and nRTPL {vals['nRTPL']} both apply to RD->PRE in a bank: "
                     f"tRTP = {rtp}")
        timing = {**common, "tRCD_RD": vals["nRCDRD"], "tRCD_WR": vals["nRCDWR"], "tRTP": rtp, "tRTRS": _NCS}
    if timing["tRC"] < timing["tRAS"] + timing["tRP"]:
        timing["allow_short_tRC"] = True
        bound = timing["tRAS"] + timing["tRP"]
        notes.append(f"nRC {timing['tRC']} < nRAS {timing['tRAS']} + nRP {timing['tRP']}: kept as Ramulator "
                     f"has it (open-page traffic is bound by ACT->PRE->ACT = {bound})")
    power: dict[str, Any] = {}
    if impl == "DDR4" and dram.get("drampower_enable"):
        for key, v in DDR4_POWER_DEFAULT.items():
            power[key] = f"{v:g} {'V' if key.startswith('V') else 'mA'}"
    name = path.stem
    out = {
        "kind": "memory", "name": name,
        "description": f"Ramulator 2.0 {impl} configuration imported from {path.name}",
        "standard": impl, "org": org, "timing": timing, "power": power,
        "controller": {"address_mapping": mapping, "scheduler": "frfcfs", "page_policy": page,
                       "read_queue": 32, "write_queue": 32, "write_high": 0.8, "write_low": 0.2,
                       "refresh": refresh, "compat": "ramulator2"},
    }
    prov = {f"org.{k}": f"{where} (MemorySystem.DRAM.org)" for k in org}
    prov.update({f"timing.{k}": f"{where} (MemorySystem.DRAM.timing)" for k in timing})
    return ImportResult(data=out, provenance=prov, notes=notes)


__all__ = ["import_ramulator2", "is_ramulator2", "jedec_rounding"]
