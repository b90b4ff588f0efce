"""Device cost models (GPU, CPU, generic ASIC/PIM): an op's duration, bytes per memory level and roofline.

Build one with :func:`sim.devices.registry.build_device`; see :mod:`sim.devices.hierarchy` for the model.
"""
