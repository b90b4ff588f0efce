"""Workload description: models, datatypes, accounting conventions, routing and operator traces.

This package knows no hardware; it turns a model and a request shape into a stream of operators, each
with FLOPs and DRAM byte counts (see docs/trace-format.md and docs/conventions.md).
"""

from sim.workload.conventions import CONVENTIONS, Conventions, get_conventions, register_conventions
from sim.workload.dtypes import DTYPES, DType, DTypes, get_dtype, nbytes
from sim.workload.generator import generate_trace, step_ops, trace_meta
from sim.workload.models import ModelSpec, list_models, load_model, models_dir, spec_from_config
from sim.workload.routing import (
    ROUTING_SOURCES,
    Routing,
    RoutingSource,
    expected_distinct,
    get_routing,
    register_routing,
)
from sim.workload.trace import (
    GEMM_KINDS,
    KINDS,
    Op,
    Shape,
    phase_totals,
    read_trace,
    read_trace_header,
    write_trace,
)

__all__ = [
    "CONVENTIONS", "Conventions", "get_conventions", "register_conventions",
    "DTYPES", "DType", "DTypes", "get_dtype", "nbytes",
    "generate_trace", "step_ops", "trace_meta",
    "ModelSpec", "list_models", "load_model", "models_dir", "spec_from_config",
    "ROUTING_SOURCES", "Routing", "RoutingSource", "expected_distinct", "get_routing", "register_routing",
    "GEMM_KINDS", "KINDS", "Op", "Shape", "phase_totals", "read_trace", "read_trace_header", "write_trace",
]
