"""Interconnects: links, topologies, collectives and the network that times them (docs/interconnect.md).

:mod:`~sim.interconnect.link` (link models), :mod:`~sim.interconnect.topology` (switches, rings, cliques,
routes, node groups), :mod:`~sim.interconnect.collectives` (alpha-beta formulas, send schedules),
:mod:`~sim.interconnect.contention` (chunks queued per link direction) and :mod:`~sim.interconnect.network`
(transfers and collectives in ``analytic`` or ``contention`` mode; :func:`collective_time` runs one alone).
"""
