"""Placement: which device (and stream) runs each op. Policies: :mod:`sim.placement.registry`."""
