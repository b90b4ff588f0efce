"""The system replay engine: an operator trace on a system of devices and links (docs/engine.md).

``load_system`` / ``build_system`` (:mod:`sim.engine.system`) make a :class:`~sim.engine.system.System`;
``run_system`` (:mod:`sim.engine.replay`) replays a model's generation on it with the simpy
:class:`~sim.engine.simulator.Simulator`.
"""
