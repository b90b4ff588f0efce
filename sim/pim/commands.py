"""PIM command codes (from :data:`sim.dram.commands.PIM_BASE` = 16 on) and their properties, as data.

Every command, plain DRAM or PIM, is described by one :class:`CommandInfo`: what it does to the banks
(``kind``), which banks one command reaches (``reach``), which banks must hold the addressed row open
(``act_reach``, for commands that read or write a bank), the modes it is legal in (HBM-PIM), whether it
moves data over the chip interface, and which energy category it is charged to. The numba kernel reads
these properties as small integer arrays (:func:`property_arrays`); nothing in the kernel depends on a
command's name.

Two command sets name the commands (a trace may use either name of a command):

* ``aim`` (SK hynix GDDR6-AiM; also used for PIM-GPT's memory and for AttAcc-style HBM3-PIM):
  ``ACT4`` / ``ACT16`` (activate one row in the 4 banks of a bank group / in all banks), ``PRE4``,
  ``MAC_SBK`` / ``MAC_ABK`` (256-bit MAC in one / all banks against the global buffer), ``WR_GB`` (32 B
  into the global buffer), ``RD_MAC`` (read one result register of every bank: 16 banks x 2 B), ``WR_BIAS``
  (write the result registers), ``AF`` / ``RD_AF`` (activation function in all banks, read its results),
  ``EWMUL`` / ``EWADD`` (element-wise ops in all banks), ``COPY_BKGB`` / ``COPY_GBBK`` (bank <-> global
  buffer). aim_simulator's DRAM-level names (``MAC16``, ``WRGB``, ``RDMAC16``, ...) and AttAcc's
  (``ACTAB``, ``MACAB``, ``WRGB``) are accepted as aliases.
* ``hbm-pim`` (Samsung HBM-PIM / Aquabolt-XL, PIMSimulator): ``SB_TO_AB``, ``AB_TO_PIM``, ``PIM_TO_AB``,
  ``AB_TO_SB`` (mode changes: single-bank SB, all-bank AB, all-bank-PIM), ``ACT_AB`` (in AB/PIM mode one
  ACT opens the row in all banks), ``PIM_RD`` / ``PIM_WR`` (a column read / write in PIM mode: every PU
  executes its next CRF instruction, e.g. ``MAC GRF_B, BANK, GRF_A`` or ``MOV BANK, GRF_B``, on the even
  or odd bank of its pair), ``WR_GRF`` / ``WR_CRF`` / ``WR_SRF`` (32 B into every PU's GRF / CRF / SRF).

Plain DRAM commands (``ACT``, ``PRE``, ``PREA``, ``RD``, ``WR``, ``REF``) belong to both sets; they keep the
codes of :mod:`sim.dram.commands`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.dram.commands import ACT, N_COMMANDS, PIM_BASE, PRE, PREA, RD, REFAB, WR

# --- codes ----------------------------------------------------------------------------------------------
ACT4 = PIM_BASE + 0          #: activate one row in the 4 banks of a bank group (AiM)
ACT16 = PIM_BASE + 1         #: activate one row in every bank of the channel (AiM; AttAcc ACTAB)
PRE4 = PIM_BASE + 2          #: precharge the banks of one bank group (AiM)
MAC_SBK = PIM_BASE + 3       #: MAC of one column of one bank with the global buffer
MAC_ABK = PIM_BASE + 4       #: MAC of one column of every bank with the global buffer (AttAcc MACAB)
WR_GB = PIM_BASE + 5         #: write one burst into the global buffer
RD_MAC = PIM_BASE + 6        #: read one result register of every bank (one burst)
WR_BIAS = PIM_BASE + 7       #: write one burst into the result registers
AF = PIM_BASE + 8            #: activation function in every bank (LUT row)
RD_AF = PIM_BASE + 9         #: read activation-function results (one burst)
EWMUL = PIM_BASE + 10        #: element-wise multiply in every bank
EWADD = PIM_BASE + 11        #: element-wise add in every bank
COPY_BKGB = PIM_BASE + 12    #: copy one column of a bank into the global buffer
COPY_GBBK = PIM_BASE + 13    #: copy one column of the global buffer into a bank
ACT_AB = PIM_BASE + 14       #: HBM-PIM: activate one row in all banks (AB / PIM mode)
PIM_RD = PIM_BASE + 15       #: HBM-PIM: column read in PIM mode -> next CRF instruction on every PU
PIM_WR = PIM_BASE + 16       #: HBM-PIM: column write in PIM mode -> next CRF instruction on every PU
WR_GRF = PIM_BASE + 17       #: HBM-PIM: write one GRF register of every PU (32 B, broadcast)
WR_CRF = PIM_BASE + 18       #: HBM-PIM: write 8 CRF instructions of every PU (32 B, broadcast)
WR_SRF = PIM_BASE + 19       #: HBM-PIM: write the scalar registers of every PU (32 B, broadcast)
SB_TO_AB = PIM_BASE + 20     #: HBM-PIM mode change single-bank -> all-bank
AB_TO_PIM = PIM_BASE + 21    #: HBM-PIM mode change all-bank -> all-bank-PIM
PIM_TO_AB = PIM_BASE + 22    #: HBM-PIM mode change all-bank-PIM -> all-bank
AB_TO_SB = PIM_BASE + 23     #: HBM-PIM mode change all-bank -> single-bank
N_PIM_CODES = 24
if PIM_BASE + N_PIM_CODES > N_COMMANDS:
    raise AssertionError("PIM command codes exceed sim.dram.commands.N_COMMANDS")
NC = N_COMMANDS

# --- properties -------------------------------------------------------------------------------------------
#: kinds: what a command does to the bank state
K_CTRL, K_ACT, K_PRE, K_COL, K_REF = 0, 1, 2, 3, 4
#: reach: the banks one command addresses
R_BANK, R_GROUP, R_ALL, R_PARITY, R_CHANNEL = 0, 1, 2, 3, 4
#: HBM-PIM modes (bit i of a mode mask allows mode i); other memories stay in SB
SB, AB, PIM = 0, 1, 2
M_SB, M_AB, M_PIM, M_ANY = 1, 2, 4, 7
#: energy categories
E_NONE, E_ACT, E_MAC, E_RD, E_WR, E_IO, E_REF = 0, 1, 2, 3, 4, 5, 6


@dataclass(frozen=True)
class CommandInfo:
    """Static properties of one command (see the module docstring)."""

    code: int
    name: str
    kind: int                    #: K_CTRL / K_ACT / K_PRE / K_COL / K_REF
    reach: int                   #: R_BANK / R_GROUP / R_ALL / R_PARITY / R_CHANNEL
    act_reach: int = R_BANK      #: K_COL: banks whose row must be open (R_ALL: all banks, else the reach)
    modes: int = M_ANY           #: mode mask the command is legal in
    mode_set: int = -1           #: mode after the command (-1: unchanged)
    io: int = 0                  #: +1 moves one burst into the chip, -1 out of it, 0 none
    energy: int = E_NONE         #: energy category (per bank reached for E_ACT / E_MAC / E_WR on PIM_WR)
    macs: bool = False           #: performs lane MACs in the reached PUs
    description: str = ""


_INFO = [
    CommandInfo(ACT, "ACT", K_ACT, R_BANK, modes=M_SB, energy=E_ACT, description="activate a row in one bank"),
    CommandInfo(PRE, "PRE", K_PRE, R_BANK, description="precharge one bank"),
    CommandInfo(PREA, "PREA", K_PRE, R_ALL, description="precharge every bank"),
    CommandInfo(RD, "RD", K_COL, R_BANK, modes=M_SB, io=-1, energy=E_RD, description="column read (32 B out)"),
    CommandInfo(WR, "WR", K_COL, R_BANK, modes=M_SB, io=1, energy=E_WR, description="column write (32 B in)"),
    CommandInfo(REFAB, "REF", K_REF, R_ALL, energy=E_REF, description="all-bank refresh"),
    CommandInfo(ACT4, "ACT4", K_ACT, R_GROUP, energy=E_ACT, description="activate a row in a bank group"),
    CommandInfo(ACT16, "ACT16", K_ACT, R_ALL, energy=E_ACT, description="activate a row in every bank"),
    CommandInfo(PRE4, "PRE4", K_PRE, R_GROUP, description="precharge a bank group"),
    CommandInfo(MAC_SBK, "MAC_SBK", K_COL, R_BANK, energy=E_MAC, macs=True,
                description="MAC of one bank column with the global buffer"),
    CommandInfo(MAC_ABK, "MAC_ABK", K_COL, R_ALL, act_reach=R_ALL, energy=E_MAC, macs=True,
                description="MAC of one column of every bank with the global buffer"),
    CommandInfo(WR_GB, "WR_GB", K_CTRL, R_CHANNEL, io=1, energy=E_IO, description="one burst into the global buffer"),
    CommandInfo(RD_MAC, "RD_MAC", K_CTRL, R_CHANNEL, io=-1, energy=E_IO,
                description="read one result register of every bank"),
    CommandInfo(WR_BIAS, "WR_BIAS", K_CTRL, R_CHANNEL, io=1, energy=E_IO,
                description="write one burst into the result registers"),
    CommandInfo(AF, "AF", K_COL, R_ALL, act_reach=R_ALL, energy=E_MAC,
                description="activation function in every bank"),
    CommandInfo(RD_AF, "RD_AF", K_CTRL, R_CHANNEL, io=-1, energy=E_IO, description="read activation results"),
    CommandInfo(EWMUL, "EWMUL", K_COL, R_ALL, act_reach=R_ALL, energy=E_MAC, description="element-wise multiply"),
    CommandInfo(EWADD, "EWADD", K_COL, R_ALL, act_reach=R_ALL, energy=E_MAC, description="element-wise add"),
    CommandInfo(COPY_BKGB, "COPY_BKGB", K_COL, R_BANK, energy=E_RD, description="bank column -> global buffer"),
    CommandInfo(COPY_GBBK, "COPY_GBBK", K_COL, R_BANK, energy=E_WR, description="global buffer -> bank column"),
    CommandInfo(ACT_AB, "ACT_AB", K_ACT, R_ALL, modes=M_AB | M_PIM, energy=E_ACT,
                description="activate a row in every bank (AB/PIM mode)"),
    CommandInfo(PIM_RD, "PIM_RD", K_COL, R_PARITY, act_reach=R_ALL, modes=M_PIM, energy=E_MAC, macs=True,
                description="PIM-mode column read: every PU runs its next CRF instruction"),
    CommandInfo(PIM_WR, "PIM_WR", K_COL, R_PARITY, act_reach=R_ALL, modes=M_PIM, energy=E_WR,
                description="PIM-mode column write: every PU runs its next CRF instruction (store)"),
    CommandInfo(WR_GRF, "WR_GRF", K_CTRL, R_CHANNEL, modes=M_AB | M_PIM, io=1, energy=E_IO,
                description="32 B into one GRF register of every PU"),
    CommandInfo(WR_CRF, "WR_CRF", K_CTRL, R_CHANNEL, modes=M_AB, io=1, energy=E_IO,
                description="8 CRF instructions into every PU"),
    CommandInfo(WR_SRF, "WR_SRF", K_CTRL, R_CHANNEL, modes=M_AB, io=1, energy=E_IO,
                description="scalar registers of every PU"),
    CommandInfo(SB_TO_AB, "SB_TO_AB", K_CTRL, R_CHANNEL, modes=M_SB, mode_set=AB, description="mode SB -> AB"),
    CommandInfo(AB_TO_PIM, "AB_TO_PIM", K_CTRL, R_CHANNEL, modes=M_AB, mode_set=PIM, description="mode AB -> PIM"),
    CommandInfo(PIM_TO_AB, "PIM_TO_AB", K_CTRL, R_CHANNEL, modes=M_PIM, mode_set=AB, description="mode PIM -> AB"),
    CommandInfo(AB_TO_SB, "AB_TO_SB", K_CTRL, R_CHANNEL, modes=M_AB, mode_set=SB, description="mode AB -> SB"),
]
INFO: dict[int, CommandInfo] = {i.code: i for i in _INFO}
NAMES: dict[int, str] = {i.code: i.name for i in _INFO}

_PLAIN = ("ACT", "PRE", "PREA", "RD", "WR", "REF")
#: Command names of each command set.
COMMAND_SETS: dict[str, tuple[str, ...]] = {
    "aim": _PLAIN + ("ACT4", "ACT16", "PRE4", "MAC_SBK", "MAC_ABK", "WR_GB", "RD_MAC", "WR_BIAS", "AF", "RD_AF",
                     "EWMUL", "EWADD", "COPY_BKGB", "COPY_GBBK"),
    "hbm-pim": _PLAIN + ("ACT_AB", "PIM_RD", "PIM_WR", "WR_GRF", "WR_CRF", "WR_SRF", "SB_TO_AB", "AB_TO_PIM",
                         "PIM_TO_AB", "AB_TO_SB"),
}
#: Other names of the same commands (aim_simulator DRAM-level names, AttAcc names, ISR names).
ALIASES: dict[str, str] = {
    "MAC": "MAC_SBK", "MAC16": "MAC_ABK", "MACAB": "MAC_ABK", "ACTAB": "ACT16", "WRGB": "WR_GB",
    "RDMAC16": "RD_MAC", "RDMAC": "RD_MAC", "WRMAC16": "WR_BIAS", "AF16": "AF", "RDAF16": "RD_AF",
    "EWMUL16": "EWMUL", "RDCP": "COPY_BKGB", "WRCP": "COPY_GBBK", "REFAB": "REF", "REFab": "REF",
    "MAC_AB": "PIM_RD", "PREAB": "PREA", "PRE_AB": "PREA",
}
_BY_NAME = {i.name: i.code for i in _INFO}


def code_of(name: str, command_set: str) -> int | None:
    """The code of command ``name`` (or an alias) in ``command_set``; None if the set has no such command."""
    key = name.strip()
    key = ALIASES.get(key, ALIASES.get(key.upper(), key.upper()))
    if key not in COMMAND_SETS[command_set]:
        return None
    return _BY_NAME[key]


#: Multi-bank activate / precharge codes per command set: (one bank, bank group, all banks); -1 = none.
ACT_CODES = {"aim": (ACT, ACT4, ACT16), "hbm-pim": (ACT, -1, ACT_AB)}
PRE_CODES = {"aim": (PRE, PRE4, PREA), "hbm-pim": (PRE, -1, PREA)}


def property_arrays(command_set: str) -> dict[str, np.ndarray]:
    """The per-code property arrays the kernel reads (length :data:`NC`; unused codes are inert)."""
    kind = np.zeros(NC, np.int64)
    reach = np.full(NC, R_CHANNEL, np.int64)
    act_reach = np.zeros(NC, np.int64)
    modes = np.zeros(NC, np.int64)        # 0: not in this command set
    mode_set = np.full(NC, -1, np.int64)
    io = np.zeros(NC, np.int64)
    for name in COMMAND_SETS[command_set]:
        i = INFO[_BY_NAME[name]]
        kind[i.code], reach[i.code], modes[i.code], mode_set[i.code], io[i.code] = (
            i.kind, i.reach, i.modes, i.mode_set, i.io)
        act_reach[i.code] = R_ALL if i.act_reach == R_ALL else i.reach
    if command_set != "hbm-pim":          # only HBM-PIM has modes: everything is legal in SB
        modes[modes > 0] = M_ANY
    return {"kind": kind, "reach": reach, "act_reach": act_reach, "modes": modes, "mode_set": mode_set, "io": io}


__all__ = [n for n in dir() if n.isupper() and not n.startswith("_")] + [
    "CommandInfo", "code_of", "property_arrays"]
