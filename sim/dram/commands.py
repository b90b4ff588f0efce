"""DRAM (and, later, PIM) command codes and the command-log record layout.

The codes are small integers so that numba kernels can use them as array indices. The command log
is a numpy structured array with one row per issued command; the engine writes it, the protocol
checker and the energy model read it, and ``pimsim dram --command-log`` saves it as CSV.
"""

from __future__ import annotations

import numpy as np

ACT = 0      #: activate a row in one bank
PRE = 1      #: precharge one bank
RD = 2       #: column read
WR = 3       #: column write
RDA = 4      #: read with auto-precharge
WRA = 5      #: write with auto-precharge
PREA = 6     #: precharge all banks of a rank
REFAB = 7    #: all-bank refresh of a rank
REFPB = 8    #: per-bank refresh
N_DRAM_COMMANDS = 9
#: Codes from 16 on are reserved for PIM commands (the DRAM-PIM issue).
PIM_BASE = 16
N_COMMANDS = 48

NAMES: dict[int, str] = {
    ACT: "ACT", PRE: "PRE", RD: "RD", WR: "WR", RDA: "RDA", WRA: "WRA",
    PREA: "PREA", REFAB: "REF", REFPB: "REFpb",
}
CODES: dict[str, int] = {v: k for k, v in NAMES.items()}

#: One row per issued command. ``channel`` is the flat (pseudo-)channel index used by the engine;
#: ``-1`` in a field means "not applicable" (e.g. row of a REF).
LOG_DTYPE = np.dtype([
    ("cycle", np.int64),
    ("cmd", np.int16),
    ("channel", np.int16),
    ("rank", np.int16),
    ("bankgroup", np.int16),
    ("bank", np.int16),
    ("row", np.int32),
    ("column", np.int32),
])
