"""Numba kernels of the DRAM engine: shared timing-state machinery and one scheduler per profile.

``common`` holds the struct-of-arrays device state (next-allowed cycles per bank/rank and command,
open rows, activate windows, counters, the command log) and the generic application of a
:class:`~sim.dram.timing.TimingTable`; ``default``, ``ramulator2`` and ``dramsim3`` are the
controller profiles; ``trace_scan`` reads well-formed request-trace files byte by byte. Nothing here knows a
DRAM standard.
"""
