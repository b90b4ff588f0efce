"""The DRAM vocabulary a memory config may use: standards, PIM data types, the address-mapping grammar.

It lives with the config layer because the YAML schema validates against it; ``sim.dram`` and ``sim.pim``
import it from here (data flows one way: configs know no engine).
"""

from __future__ import annotations

import re

from sim.errors import ConfigError

#: DRAM standards a memory config may name
STANDARDS = ("DDR4", "DDR5", "LPDDR5", "HBM2", "HBM3", "GDDR6")
#: bytes per element of the PIM number formats
PIM_DTYPE_BYTES = {"bf16": 2, "fp16": 2, "int8": 1, "fp32": 4}

#: address-mapping fields (channel, pseudo-channel, rank, bank group, bank, row, column) and the organisation
#: count each one selects among
FIELD_LEVELS = {"ch": "channels", "pc": "pseudo_channels", "ra": "ranks", "bg": "bankgroups",
                "ba": "banks_per_group", "ro": "rows", "co": "columns"}
FIELDS = tuple(FIELD_LEVELS)
_RAMULATOR_TOKENS = {"Ch": "ch", "Pc": "pc", "Pch": "pc", "Ra": "ra", "Bg": "bg", "Ba": "ba", "Ro": "ro",
                     "Co": "co"}
_RAMULATOR_NAMED = {
    "RoBaRaCoCh": ("ro", "ba", "bg", "pc", "ra", "co", "ch"),
    "ChRaBaRoCo": ("ch", "pc", "ra", "bg", "ba", "ro", "co"),
}


def parse_scheme(scheme: str) -> tuple[str, ...]:
    """Field names (``ch pc ra bg ba ro co``) of a mapping string, most significant first.

    The grammar (two-letter DRAMsim3-style fields or capitalised Ramulator names) is described in
    :mod:`sim.dram.mapping`. Raises :class:`~sim.errors.ConfigError` on a malformed string."""
    s = scheme.strip()
    if s in _RAMULATOR_NAMED:
        return _RAMULATOR_NAMED[s]
    if s and s[0].isupper():
        tokens = re.findall(r"[A-Z][a-z]*", s)
        if "".join(tokens) != s or any(t not in _RAMULATOR_TOKENS for t in tokens):
            raise ConfigError("unknown Ramulator-style address mapping", key="controller.address_mapping",
                              value=scheme, expected="names from Ro Ba Bg Ra Pc Co Ch (e.g. RoBaRaCoCh)")
        out: list[str] = []
        has_bg = "Bg" in tokens
        has_pc = "Pc" in tokens or "Pch" in tokens
        for t in tokens:
            f = _RAMULATOR_TOKENS[t]
            if f == "ba" and not has_bg:
                out += ["ba", "bg"]
            elif f == "ra" and not has_pc:
                out += ["pc", "ra"]
            else:
                out.append(f)
        fields = tuple(out)
    else:
        if len(s) % 2 or not s:
            raise ConfigError("address mapping must be two-letter fields", key="controller.address_mapping",
                              value=scheme, expected="e.g. rochrababgco")
        fields = tuple(s[i:i + 2].lower() for i in range(0, len(s), 2))
        bad = [f for f in fields if f not in FIELDS]
        if bad:
            raise ConfigError("unknown address-mapping field", key="controller.address_mapping",
                              value=scheme, expected="fields from ro ch pc ra bg ba co")
        if "pc" not in fields and "ch" in fields:
            i = fields.index("ch")
            fields = fields[:i + 1] + ("pc",) + fields[i + 1:]
    if len(set(fields)) != len(fields):
        raise ConfigError("address mapping names a field twice", key="controller.address_mapping",
                          value=scheme)
    return fields


__all__ = ["FIELDS", "FIELD_LEVELS", "PIM_DTYPE_BYTES", "STANDARDS", "parse_scheme"]
