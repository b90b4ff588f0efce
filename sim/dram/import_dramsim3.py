"""Import a DRAMsim3 ``.ini`` configuration as a pimsim memory tree, with DRAMsim3's effective values.

DRAMsim3 reads its ``.ini`` with fixed defaults and derives several values; to configure pimsim
identically the importer reproduces what DRAMsim3 *uses*, not what the file says:

* ``tRC`` is always ``tRAS + tRP`` (a ``tRC`` key is ignored).
* Only ``tRTP`` is read; ``tRTP_L``/``tRTP_S`` (present in the HBM2 and GDDR6 files) are ignored, so
  tRTP stays at its default of 5 cycles there.
* GDDR and HBM use ``tRCDRD``/``tRCDWR`` (defaults 24/20); ``tRCD`` is used only by the other protocols.
* ``burst_cycle`` (our tBL) is BL/2, except GDDR5 BL/4, GDDR5X BL/8, GDDR6 BL/16.
* Columns are normalised internally: x BL for GDDR, x 2 for HBM. ``org.columns`` keeps the ``.ini``
  value; the engine's ``dramsim3`` address rule applies the same factor (rank size is computed here
  with the normalised count, as DRAMsim3 does), and ``org.column_scale`` records it so that row size
  and capacity (and the other profiles' address rule) match DRAMsim3's.
* ``bankgroup_enable = false`` folds all banks into one group, and then the ``_L`` timings
  (tCCD_L, tWTR_L, tRRD_L) are replaced by their ``_S`` values.
* The number of ranks comes from ``channel_size`` (MB) / rank size; when the rank is larger than
  ``channel_size`` (GDDR6: 4096 MB asked, 8192 MB per rank) DRAMsim3 raises channel_size to one rank.
* ``t32AW`` and ``tPPD`` apply to GDDR only (and tPPD to LPDDR4), so they are dropped elsewhere.
* ``protocol = HBM`` selects the HBM code path (dual command issue on by default).

Values are parsed like inih/INIReader: keys are case-insensitive, integers accept C ``strtol`` syntax
(``0x`` hex), and text after a number (``1; comment``) is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.errors import ConfigError

#: DRAMsim3 protocol name -> pimsim standard (None: not supported by pimsim).
PROTOCOLS: dict[str, str | None] = {
    "DDR4": "DDR4", "HBM": "HBM2", "HBM2": "HBM2", "GDDR6": "GDDR6",
    "DDR3": None, "GDDR5": None, "GDDR5X": None, "LPDDR": None, "LPDDR3": None, "LPDDR4": None, "HMC": None,
}

#: DRAMsim3's defaults when a key is absent (configuration.cc).
TIMING_DEFAULTS = {
    "tck": 1.0, "al": 0, "cl": 12, "cwl": 12, "tccd_l": 6, "tccd_s": 4, "trtrs": 2, "trtp": 5,
    "twtr_l": 5, "twtr_s": 5, "twr": 10, "trp": 10, "trrd_l": 4, "trrd_s": 4, "tras": 24, "trcd": 10,
    "trfc": 74, "tcke": 6, "txp": 8, "trfcb": 20, "trefi": 7800, "trefib": 1950, "tfaw": 50, "tppd": 0,
    "t32aw": 330, "trcdrd": 24, "trcdwr": 20,
}
POWER_DEFAULTS = {
    "vdd": 1.2, "idd0": 48, "idd2p": 25, "idd2n": 34, "idd3n": 43, "idd4w": 123, "idd4r": 135,
    "idd5ab": 250, "idd5pb": 5,
}
_REFRESH = {"RANK_LEVEL_STAGGERED": "staggered", "RANK_LEVEL_SIMULTANEOUS": "allbank",
            "BANK_LEVEL_STAGGERED": "perbank"}
_PAGE = {"OPEN_PAGE": "open", "CLOSE_PAGE": "closed"}
#: Keys DRAMsim3 reads; anything else in [timing] is reported as ignored.
_TIMING_READ = set(TIMING_DEFAULTS) | {"trpre", "twpre", "tckesr", "txs"}


@dataclass
class IniFile:
    """A parsed ``.ini``: ``sections[section][key] = (raw value, line number)``, lower-case names."""

    path: Path
    sections: dict[str, dict[str, tuple[str, int]]] = field(default_factory=dict)

    def raw(self, section: str, key: str) -> tuple[str, int] | None:
        return self.sections.get(section, {}).get(key.lower())

    def where(self, section: str, key: str) -> str:
        found = self.raw(section, key)
        line = f":{found[1]}" if found else ""
        return f"{self.path}{line} [{section}] {key}"


def read_ini(path: Path) -> IniFile:
    """Parse an inih-style ``.ini`` (``[section]``, ``key = value``, ``;``/``#`` comment lines)."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror}", file=str(path)) from None
    ini = IniFile(path=path)
    section = ""
    for lineno, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s[0] in ";#":
            continue
        if s.startswith("["):
            if "]" not in s:
                raise ConfigError("malformed section header", file=f"{path}:{lineno}", value=s,
                                  expected="[section]")
            section = s[1:s.index("]")].strip().lower()
            ini.sections.setdefault(section, {})
            continue
        if "=" not in s and ":" not in s:
            raise ConfigError("malformed line", file=f"{path}:{lineno}", value=s, expected="key = value")
        sep = "=" if "=" in s else ":"
        key, _, value = s.partition(sep)
        # inih strips an inline comment only when ';' follows whitespace; values are read with strtol/strtod,
        # which stop at the first character that is not part of the number anyway.
        value = re.split(r"\s;", value, maxsplit=1)[0].strip()
        ini.sections.setdefault(section, {})[key.strip().lower()] = (value, lineno)
    return ini


_INT = re.compile(r"\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_REAL = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")


def _int(ini: IniFile, section: str, key: str, default: int) -> int:
    found = ini.raw(section, key)
    if found is None:
        return default
    m = _INT.match(found[0])
    if not m:
        return default  # INIReader::GetInteger falls back to the default
    sign = -1 if m.group(1) == "-" else 1
    digits = m.group(2)
    if digits.lower().startswith("0x"):
        return sign * int(digits, 16)
    if len(digits) > 1 and digits.startswith("0"):
        return sign * int(digits, 8)
    return sign * int(digits)


def _real(ini: IniFile, section: str, key: str, default: float) -> float:
    found = ini.raw(section, key)
    if found is None:
        return default
    m = _REAL.match(found[0])
    return float(m.group(1)) if m else default


def _bool(ini: IniFile, section: str, key: str, default: bool) -> bool:
    found = ini.raw(section, key)
    if found is None:
        return default
    v = found[0].strip().lower()
    if v in ("true", "yes", "on", "1"):
        return True
    if v in ("false", "no", "off", "0"):
        return False
    return default


def bus_width_of(ini: IniFile) -> int:
    """``[system] bus_width`` in bits (DRAMsim3 default 64)."""
    return _int(ini, "system", "bus_width", 64)


def _str(ini: IniFile, section: str, key: str, default: str) -> str:
    found = ini.raw(section, key)
    return found[0].strip() if found else default


@dataclass
class ImportResult:
    """A pimsim memory tree (``kind: memory`` dict), where each key came from, and notes on the traps."""

    data: dict[str, Any]
    provenance: dict[str, str]
    notes: list[str]


def import_dramsim3(path: str | Path) -> ImportResult:
    """Read a DRAMsim3 ``.ini`` and return the equivalent pimsim memory tree (DRAMsim3's effective values)."""
    path = Path(path)
    ini = read_ini(path)
    notes: list[str] = []
    prov: dict[str, str] = {}

    protocol = _str(ini, "dram_structure", "protocol", "DDR3")
    if protocol not in PROTOCOLS:
        raise ConfigError("unknown DRAMsim3 protocol", file=ini.where("dram_structure", "protocol"),
                          value=protocol, expected=", ".join(PROTOCOLS))
    standard = PROTOCOLS[protocol]
    if standard is None:
        supported = ", ".join(k for k, v in PROTOCOLS.items() if v)
        raise ConfigError(f"DRAMsim3 protocol {protocol} is not modelled by pimsim",
                          file=ini.where("dram_structure", "protocol"), value=protocol,
                          expected=f"one of {supported}")
    is_gddr = protocol.startswith("GDDR")
    is_hbm = protocol.startswith("HBM")

    bankgroups = _int(ini, "dram_structure", "bankgroups", 2)
    banks_per_group = _int(ini, "dram_structure", "banks_per_group", 2)
    bg_enable = _bool(ini, "dram_structure", "bankgroup_enable", True)
    if not bg_enable:
        banks_per_group *= bankgroups
        bankgroups = 1
        notes.append("bankgroup_enable = false: all banks in one group; _L timings take their _S values")
    rows = _int(ini, "dram_structure", "rows", 1 << 16)
    columns = _int(ini, "dram_structure", "columns", 1 << 10)
    device_width = _int(ini, "dram_structure", "device_width", 8)
    bl = _int(ini, "dram_structure", "BL", 8)
    if bl <= 0:
        raise ConfigError("BL = 0 (DRAMsim3's ideal bandwidth mode) is not supported",
                          file=ini.where("dram_structure", "BL"), value=bl, expected="a burst length >= 1")
    if protocol == "GDDR5":
        burst_cycle = bl // 4
    elif protocol == "GDDR5X":
        burst_cycle = bl // 8
    elif protocol == "GDDR6":
        burst_cycle = bl // 16
    else:
        burst_cycle = bl // 2
    # DRAMsim3 normalises "columns" (x BL for GDDR, x 2 for HBM) before sizing ranks and splitting
    # addresses. org.columns keeps the .ini value: the engine's dramsim3 address rule
    # (sim.dram.mapping, rule "dramsim3") applies the same normalisation.
    column_scale = bl if is_gddr else 2 if is_hbm else 1
    norm_columns = columns * column_scale
    if norm_columns != columns:
        tx = bus_width_of(ini) // 8 * bl
        notes.append(f"DRAMsim3 normalises columns x {column_scale}: {columns} -> {norm_columns} "
                     f"({norm_columns // bl} accesses of {tx} B per row); org.columns keeps {columns} and "
                     f"the dramsim3 address rule applies the factor (org.column_scale "
                     f"{column_scale} keeps the capacity DRAMsim3's under every profile)")
    hbm_dual = _bool(ini, "dram_structure", "hbm_dual_cmd", True)
    if is_hbm and hbm_dual:
        notes.append("protocol HBM: dual command issue (one row + one column command per cycle) is on")

    channel_size = _int(ini, "system", "channel_size", 1024)
    channels = _int(ini, "system", "channels", 1)
    bus_width = _int(ini, "system", "bus_width", 64)
    if device_width <= 0 or bus_width <= 0:
        raise ConfigError("bus_width and device_width must be positive", file=str(path),
                          value=(bus_width, device_width))
    devices_per_rank = max(1, bus_width // device_width)
    page_size = norm_columns * device_width // 8
    megs_per_bank = page_size * (rows // 1024) // 1024
    megs_per_rank = megs_per_bank * bankgroups * banks_per_group * devices_per_rank
    if megs_per_rank <= 0:
        raise ConfigError("the rank size computes to 0 MB", file=str(path),
                          expected="rows, columns and widths that make at least 1 MB per rank")
    if megs_per_rank > channel_size:
        notes.append(f"channel_size {channel_size} MB is smaller than one rank; DRAMsim3 raises it to "
                     f"{megs_per_rank} MB (1 rank)")
        ranks = 1
    else:
        ranks = channel_size // megs_per_rank
        notes.append(f"ranks = channel_size {channel_size} MB / {megs_per_rank} MB per rank = {ranks}")

    t = {k: _int(ini, "timing", k, v) for k, v in TIMING_DEFAULTS.items() if k != "tck"}
    tck_ns = _real(ini, "timing", "tCK", 1.0)
    if is_gddr or is_hbm:
        rcd_rd, rcd_wr = t["trcdrd"], t["trcdwr"]
        if ini.raw("timing", "tRCD") is not None:
            notes.append("tRCD is not used by the GDDR/HBM code path (tRCDRD/tRCDWR are)")
    else:
        rcd_rd = rcd_wr = t["trcd"]
    for k in ("tRTP_L", "tRTP_S"):
        if ini.raw("timing", k) is not None:
            notes.append(f"{k} is not read by DRAMsim3; tRTP stays {t['trtp']}")
    if ini.raw("timing", "tRC") is not None:
        notes.append("tRC is not read by DRAMsim3; it is tRAS + tRP")
    ignored = sorted(k for k in ini.sections.get("timing", {}) if k not in _TIMING_READ
                     and k not in ("trtp_l", "trtp_s", "trc", "trfc2", "trfc4", "twr2"))
    if ignored:
        notes.append(f"timing keys DRAMsim3 does not read: {', '.join(ignored)}")
    ccd_l, wtr_l, rrd_l = t["tccd_l"], t["twtr_l"], t["trrd_l"]
    if bankgroups == 1:
        ccd_l, wtr_l, rrd_l = t["tccd_s"], t["twtr_s"], t["trrd_s"]

    refresh_policy = _str(ini, "system", "refresh_policy", "RANK_LEVEL_STAGGERED")
    if refresh_policy not in _REFRESH:
        raise ConfigError("unknown refresh_policy", file=ini.where("system", "refresh_policy"),
                          value=refresh_policy, expected=", ".join(_REFRESH))
    if refresh_policy == "RANK_LEVEL_SIMULTANEOUS" and ranks > 1:
        notes.append(f"refresh_policy RANK_LEVEL_SIMULTANEOUS: DRAMsim3 refreshes rank 0 only (its InsertRefresh "
                     f"leaves the rank loop after the first rank); the dramsim3 profile does the same, the "
                     f"default profile refreshes all {ranks} ranks")
    page = _str(ini, "system", "row_buf_policy", "OPEN_PAGE")
    if page not in _PAGE:
        raise ConfigError("unknown row_buf_policy", file=ini.where("system", "row_buf_policy"), value=page,
                          expected=", ".join(_PAGE))
    # DRAMsim3 controller options the dramsim3 profile does not reproduce: refuse them rather than
    # simulate a different controller silently
    if _bool(ini, "system", "unified_queue", False):
        raise ConfigError("unified_queue = true is not reproduced by the dramsim3 profile",
                          file=ini.where("system", "unified_queue"), value=True, expected="false")
    queue_structure = _str(ini, "system", "queue_structure", "PER_BANK")
    if queue_structure != "PER_BANK":
        raise ConfigError("only queue_structure = PER_BANK is reproduced by the dramsim3 profile",
                          file=ini.where("system", "queue_structure"), value=queue_structure,
                          expected="PER_BANK")
    if _bool(ini, "system", "enable_self_refresh", False):
        raise ConfigError("enable_self_refresh = true is not reproduced by the dramsim3 profile",
                          file=ini.where("system", "enable_self_refresh"), value=True, expected="false")
    mapping = _str(ini, "system", "address_mapping", "chrobabgraco").lower()
    trans_queue = _int(ini, "system", "trans_queue_size", 32)

    timing: dict[str, Any] = {
        "tCK": f"{tck_ns:g} ns", "CL": t["cl"], "CWL": t["cwl"], "AL": t["al"],
        "tRCD_RD": rcd_rd, "tRCD_WR": rcd_wr, "tRP": t["trp"], "tRAS": t["tras"],
        "tRC": t["tras"] + t["trp"], "tBL": max(1, burst_cycle),
        "tCCD_S": t["tccd_s"], "tCCD_L": ccd_l, "tRRD_S": t["trrd_s"], "tRRD_L": rrd_l, "tFAW": t["tfaw"],
        "tWR": t["twr"], "tWTR_S": t["twtr_s"], "tWTR_L": wtr_l, "tRTP": t["trtp"], "tRTRS": t["trtrs"],
        "tREFI": t["trefi"], "tRFC": t["trfc"], "tREFIpb": t["trefib"], "tRFCpb": t["trfcb"],
        "t32AW": t["t32aw"] if is_gddr else 0, "tPPD": t["tppd"] if is_gddr else 0,
        "tCKE": t["tcke"], "tXP": t["txp"],
    }
    power: dict[str, Any] = {"VDD": f"{_real(ini, 'power', 'VDD', 1.2):g} V"}
    for key in ("IDD0", "IDD2P", "IDD2N", "IDD3N", "IDD4W", "IDD4R", "IDD5AB", "IDD5PB"):
        power[key] = f"{_real(ini, 'power', key, POWER_DEFAULTS[key.lower()]):g} mA"
    if ini.raw("power", "IDD3P") is not None:
        power["IDD3P"] = f"{_real(ini, 'power', 'IDD3P', 0.0):g} mA"
    data: dict[str, Any] = {
        "kind": "memory",
        "name": path.stem,
        "description": f"DRAMsim3 {protocol} configuration imported from {path.name}",
        "standard": standard,
        "org": {"channels": channels, "pseudo_channels": 1, "ranks": ranks, "bankgroups": bankgroups,
                "banks_per_group": banks_per_group, "rows": rows, "columns": columns,
                "device_width": device_width, "bus_width": bus_width, "burst_length": bl,
                "column_scale": column_scale},
        "timing": timing,
        "power": power,
        "controller": {"address_mapping": mapping, "scheduler": "frfcfs", "page_policy": _PAGE[page],
                       "read_queue": trans_queue, "write_queue": trans_queue,
                       "refresh": _REFRESH[refresh_policy],
                       "cmd_queue_size": _int(ini, "system", "cmd_queue_size", 16), "compat": "dramsim3",
                       "hbm_dual_cmd": hbm_dual},
    }
    where = {
        "org.channels": ("system", "channels"), "org.ranks": ("system", "channel_size"),
        "org.bankgroups": ("dram_structure", "bankgroups"),
        "org.banks_per_group": ("dram_structure", "banks_per_group"), "org.rows": ("dram_structure", "rows"),
        "org.columns": ("dram_structure", "columns"), "org.column_scale": ("dram_structure", "protocol"),
        "org.device_width": ("dram_structure", "device_width"),
        "org.bus_width": ("system", "bus_width"), "org.burst_length": ("dram_structure", "BL"),
        "controller.address_mapping": ("system", "address_mapping"),
        "controller.hbm_dual_cmd": ("dram_structure", "hbm_dual_cmd"),
        "standard": ("dram_structure", "protocol"),
        "timing.tRCD_RD": ("timing", "tRCDRD" if is_gddr or is_hbm else "tRCD"),
        "timing.tRCD_WR": ("timing", "tRCDWR" if is_gddr or is_hbm else "tRCD"),
        "timing.tRC": ("timing", "tRAS"), "timing.tBL": ("dram_structure", "BL"),
    }
    for key in timing:
        where.setdefault(f"timing.{key}", ("timing", key))
    for key in power:
        where.setdefault(f"power.{key}", ("power", key))
    for key, (section, ini_key) in where.items():
        prov[key] = ini.where(section, ini_key)
    return ImportResult(data=data, provenance=prov, notes=notes)


__all__ = ["ImportResult", "import_dramsim3", "read_ini"]
