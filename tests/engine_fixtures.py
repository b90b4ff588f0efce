"""Toy hardware for the engine tests: round numbers so that expected times are exact."""

from __future__ import annotations

import textwrap
from pathlib import Path

from sim.workload.dtypes import DTypes
from sim.workload.trace import Op, Shape

TOY_GPU = """
kind: device
name: toy-gpu
type: gpu
clock: 1 GHz
cores: 4
compute: {fp16: 100 TFLOPS, fp32: 50 TFLOPS}
memory:
  - {name: l1, kind: sram, capacity: 1 MiB, bandwidth: 100 TB/s, instances: 4, read_energy: 0.1 pJ/bit}
  - {name: l2, kind: cache, capacity: 8 MiB, bandwidth: 20 TB/s, read_energy: 0.2 pJ/bit}
  - {name: dram, kind: dram, capacity: 16 GiB, bandwidth: 1 TB/s, read_energy: 4 pJ/bit}
power: {static: 10 W, peak: 100 W}
energy_per_op: {fp16: 1 pJ}
kernel_launch: 5 us
"""

TOY_CPU = """
kind: device
name: toy-cpu
type: cpu
clock: 2 GHz
cores: 8
simd_width_bits: 512
compute: {fp32: 1 TFLOPS, fp64: 0.5 TFLOPS}
memory:
  - {name: l2, kind: cache, capacity: 8 MiB, bandwidth: 2 TB/s, instances: 8}
  - {name: ddr, kind: dram, capacity: 64 GiB, bandwidth: 100 GB/s, read_energy: 10 pJ/bit}
power: {static: 20 W, peak: 100 W}
energy_per_op: {fp32: 10 pJ}
"""

TOY_PIM = """
kind: device
name: toy-pim
type: pim
clock: 1 GHz
cores: 1
compute: {fp16: 4 TFLOPS}
memory:
  - {name: banks, kind: dram, capacity: 32 GiB, bandwidth: 4 TB/s, read_energy: 1 pJ/bit}
power: {static: 5 W, peak: 40 W}
supported_kinds: [linear, attn_score, attn_context, kv_write, softmax, lm_head]
"""

FP64_ONLY = """
kind: device
name: fp64-only
type: asic
clock: 1 GHz
cores: 1
compute: {fp64: 1 TFLOPS}
memory:
  - {name: dram, kind: dram, capacity: 16 GiB, bandwidth: 100 GB/s}
power: {static: 1 W, peak: 10 W}
"""

LINK = """
kind: link
name: toy-link
type: pcie
bandwidth: 10 GB/s
latency: 2 us
energy: 5 pJ/bit
"""


def write(folder: Path, name: str, text: str) -> Path:
    """Write ``text`` (dedented) to ``folder/name`` and return the path."""
    p = folder / name
    p.write_text(textwrap.dedent(text))
    return p


def toy_files(folder: Path) -> dict[str, Path]:
    """Write every toy preset into ``folder``."""
    return {
        "gpu": write(folder, "toy-gpu.yaml", TOY_GPU),
        "cpu": write(folder, "toy-cpu.yaml", TOY_CPU),
        "pim": write(folder, "toy-pim.yaml", TOY_PIM),
        "fp64": write(folder, "fp64-only.yaml", FP64_ONLY),
        "link": write(folder, "toy-link.yaml", LINK),
    }


def system_file(
    folder: Path,
    devices: dict[str, str],
    links: list[tuple[str, str]],
    *,
    placement: str = "single",
    options: str = "{}",
    streams: dict[str, int] | None = None,
    name: str = "toy-system",
) -> Path:
    """A system YAML over the toy presets (devices: entry name -> toy file stem)."""
    toy_files(folder)
    streams = streams or {}
    devs = "\n".join(
        f"  {n}: {{preset: {stem}.yaml, streams: {streams.get(n, 1)}}}" for n, stem in devices.items()
    )
    lks = "\n".join(f"  - {{between: [{a}, {b}], preset: toy-link.yaml}}" for a, b in links) or "  []"
    text = (
        f"kind: system\nname: {name}\ndevices:\n{devs}\nlinks:\n{lks}\nplacement:\n  policy: {placement}\n"
        f"  options: {options}\n"
    )
    p = folder / f"{name}.yaml"
    p.write_text(text)
    return p


DT = DTypes()


def gemm(
    i: int,
    name: str,
    m: int,
    n: int,
    k: int,
    deps: tuple[int, ...] = (),
    *,
    step: int = 0,
    kind: str = "linear",
) -> Op:
    """A fp16 GEMM op reading its weights and input, writing its output."""
    return Op(
        id=i,
        name=name,
        kind=kind,
        phase="prefill" if step == 0 else "decode",
        step=step,
        layer=0,
        shape=Shape(m=m, n=n, k=k),
        dtypes=DT,
        flops=2 * m * n * k,
        load_weight_bytes=2 * n * k,
        load_act_bytes=2 * m * k,
        store_act_bytes=2 * m * n,
        deps=deps,
        batch=1,
        tokens=m,
    )


def pointwise(
    i: int, name: str, elements: int, deps: tuple[int, ...] = (), *, kind: str = "elementwise", step: int = 0
) -> Op:
    """A fp16 element-wise op reading and writing ``elements`` values."""
    return Op(
        id=i,
        name=name,
        kind=kind,
        phase="prefill" if step == 0 else "decode",
        step=step,
        layer=0,
        shape=Shape(elements=elements),
        dtypes=DT,
        flops=elements,
        load_act_bytes=2 * elements,
        store_act_bytes=2 * elements,
        deps=deps,
        batch=1,
        tokens=1,
    )
