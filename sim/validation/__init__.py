"""Validation of the device models against published measurements (see docs/validation.md).

``data`` reads the measured operator times saved under ``validation/data/`` and builds the matching
ops; ``calibrate`` fits a device's efficiency curves and launch overhead on one part of the data;
``report`` computes the errors (per operator class, per layer) on the rest.
"""
