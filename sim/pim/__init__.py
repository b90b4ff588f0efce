"""DRAM-PIM at command level: PIM command sets (GDDR6-AiM, HBM-PIM), PIM timing as data, an in-order PIM
controller kernel (numba), a GEMV / attention mapping compiler, an independent protocol checker, and the
cost API the system level calls (:mod:`sim.pim.api`). See docs/pim.md.

Modules: ``spec`` (PimSpec), ``configs`` (load_pim), ``commands`` (codes and properties), ``timing``
(constraint rows), ``kernel`` (numba), ``engine`` (streams -> PimRun), ``energy``, ``mapping``
(MappingConfig, layout), ``compiler`` (ops -> streams), ``hbm_isa`` (CRF programs), ``trace`` (CSV command
traces), ``checker``, ``api``, ``errors``.
"""
