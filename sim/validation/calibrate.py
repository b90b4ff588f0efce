"""Fit a GPU's efficiency curves and kernel-launch overhead to measured operator times.

The device model (:mod:`sim.devices.hierarchy`) predicts an op's time as::

    t = launch + max( compute_s / e_c(FLOPs),  dram_s / e_m(DRAM bytes),  on-chip level times )

where ``compute_s`` (with tile and wave quantization) and ``dram_s`` = bytes / peak bandwidth come from
the model itself with every efficiency at 1 and no launch overhead. Only the efficiencies and the
launch overhead are fitted:

* ``tiling.tile_overhead`` — the fixed time of one per-core work item of a matrix op (its waves add
  ``waves x overhead`` to the compute time; the tiles are those the model picks without it);
* ``kernel_launch`` — the fixed time per kernel of matrix ops, s, and
  ``kernel_efficiency.<kind>.launch`` the same for each element-wise kind (their kernels differ: a
  residual add takes 1-2 us, vLLM's SiLU-and-multiply 6-8 us at one token);
* ``compute_efficiency`` — knots at every decade of FLOPs spanned by the calibration data (FLOPs of one
  per-core work item for matrix ops, see :mod:`sim.devices.hierarchy`);
* ``memory_efficiency`` — knots at every decade of DRAM bytes, for matrix ops;
* ``kernel_efficiency.<kind>.memory`` — the same for each element-wise kind measured (``norm``,
  ``positional``, ``activation``, ``elementwise``): their kernels reach very different fractions of the
  bandwidth at equal sizes;
* a host-timing overhead for the LLMCompass data set only (its times are measured on the host); it
  is a property of the measurement, reported, and never written to a device config.

The objective is the mean absolute log error ``|ln(predicted / measured)|`` over the calibration rows
(:func:`sim.validation.data.is_calibration`), plus a small penalty on the squared log-difference of
neighbouring knots (it keeps knots that no measurement informs close to their neighbours). It is
minimised by coordinate descent: each parameter in turn is set to the best value of a grid (efficiencies
on 80 log-spaced values in [0.02, 1], launch overheads in steps of 0.1 us), until a sweep improves the
objective by less than 1e-7. Fitted values are rounded to 3 significant digits, the precision written to
the device YAML. Everything is deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim.config.hardware import DeviceConfig
from sim.devices.registry import build_device
from sim.validation.data import Measurement, is_calibration
from sim.workload.conventions import get_conventions
from sim.workload.trace import GEMM_KINDS

POINTWISE_KINDS = ("norm", "positional", "activation", "elementwise")
SMOOTHNESS = 0.002
EFF_GRID = np.geomspace(0.02, 1.0, 80)
LAUNCH_GRID = np.round(np.arange(0.0, 15e-6 + 1e-12, 0.1e-6), 12)
HOST_GRID = np.round(np.arange(0.0, 40e-6 + 1e-12, 0.25e-6), 12)
OVERHEAD_GRID = np.round(np.arange(0.0, 8e-6 + 1e-12, 0.1e-6), 12)
SPEED_GRID = np.round(np.arange(0.8, 1.6 + 1e-9, 0.01), 6)


def raw_config(cfg: DeviceConfig) -> DeviceConfig:
    """``cfg`` without efficiency curves and launch overheads (every peak attained); the structural
    ``row_parallel`` flags of ``kernel_efficiency`` are kept."""
    from sim.config.hardware import KernelEfficiency

    flags = {
        k: KernelEfficiency(row_parallel=True, block_threads=v.block_threads, blocks_per_core=v.blocks_per_core)
        for k, v in cfg.kernel_efficiency.items()
        if v.row_parallel
    }
    tiling = cfg.tiling.model_copy(update={"tile_overhead": 0.0})
    return cfg.model_copy(
        update={
            "compute_efficiency": None,
            "memory_efficiency": None,
            "kernel_efficiency": flags,
            "kernel_launch": 0.0,
            "tiling": tiling,
        }
    )


@dataclass
class Components:
    """Per measurement, the model's times at unit efficiency (arrays aligned with ``rows``)."""

    rows: list[Measurement]
    curve: list[str]  #: "memory" (matrix ops) or "memory.<kind>"
    flops: np.ndarray
    dram_bytes: np.ndarray
    compute_s: np.ndarray
    waves: np.ndarray  #: work-item waves of matrix ops (0 for others): compute_s grows by waves x overhead
    dram_s: np.ndarray
    inner_s: np.ndarray
    host: np.ndarray  #: 1 for host-timed measurements
    measured: np.ndarray


def components(cfg: DeviceConfig, rows: list[Measurement]) -> Components:
    """Evaluate the raw device model on every measured op."""
    dev = build_device(raw_config(cfg))
    conv = get_conventions("default").with_(act_traffic="every_op")
    dram = cfg.main_memory.name
    curve, fl, by, cs, wv, ds, inn, host, meas = [], [], [], [], [], [], [], [], []
    for m in rows:
        c = dev.cost(m.op, conv, launches=True)
        curve.append("memory" if m.op.kind in GEMM_KINDS else f"memory.{m.op.kind}")
        fl.append(float(c.detail.get("tile_flops", m.op.flops)))  # the size the compute curve is read at
        by.append(c.level_bytes[dram])
        cs.append(c.compute_s)
        wv.append(c.detail.get("waves", 0.0))
        ds.append(c.detail.get("dram_bandwidth_s", c.level_s[dram]))
        # on-chip levels and the latency floor of row-parallel kernels are not scaled by any efficiency
        inn.append(max([v for k, v in c.level_s.items() if k != dram] + [c.detail.get("row_latency_s", 0.0)]))
        host.append(1.0 if m.dataset == "llmcompass" else 0.0)
        meas.append(m.measured_s)
    a = np.array
    return Components(rows, curve, a(fl), a(by), a(cs), a(wv), a(ds), a(inn), a(host), a(meas))


@dataclass
class Fit:
    """Fitted parameters of one device (knot sizes: FLOPs for compute, bytes for memory curves)."""

    device: str
    launch_s: float
    host_s: float
    tile_overhead_s: float = 0.0
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # name -> (sizes, effs)
    objective: float = 0.0
    kind_launch: dict[str, float] = field(default_factory=dict)  # op kind -> fixed time per kernel, s
    row_parallel: tuple[str, ...] = ()  # kinds whose row_parallel flag the config sets (kept, not fitted)
    blocks: dict[str, tuple[int, int]] = field(default_factory=dict)  # kind -> (block_threads, blocks/core), kept
    host_speed: float = 1.0  #: tensor throughput of the LLMCompass data set's card over the preset's (data set)

    def points(self, name: str) -> list[list[float]]:
        """``[[size, efficiency], ...]`` of curve ``name``."""
        sizes, effs = self.curves[name]
        return [[float(s), float(e)] for s, e in zip(sizes, effs, strict=True)]

    def yaml(self) -> str:
        """The device-config block with the fitted values."""

        def fmt(pts: list[list[float]]) -> str:
            return "[" + ", ".join(f"[{s:.0e}, {e:g}]" for s, e in pts) + "]"

        lines = [
            f"kernel_launch: {self.launch_s * 1e6:g} us",
            f"tiling: {{tile_overhead: {self.tile_overhead_s * 1e6:g} us}}",
            f"compute_efficiency: {{points: {fmt(self.points('compute'))}}}",
            f"memory_efficiency: {{points: {fmt(self.points('memory'))}}}",
            "kernel_efficiency:",
        ]
        for kind in POINTWISE_KINDS:
            if f"memory.{kind}" in self.curves:
                launch = f"launch: {self.kind_launch[kind] * 1e6:g} us, " if kind in self.kind_launch else ""
                rp = "row_parallel: true, " if kind in self.row_parallel else ""
                if kind in self.blocks:
                    rp += f"block_threads: {self.blocks[kind][0]}, blocks_per_core: {self.blocks[kind][1]}, "
                lines.append(
                    f"  {kind}: {{{rp}{launch}memory: {{points: {fmt(self.points(f'memory.{kind}'))}}}}}"
                )
        return "\n".join(lines)


def _decades(values: np.ndarray) -> np.ndarray:
    v = values[values > 0]
    lo, hi = math.floor(math.log10(v.min())), math.ceil(math.log10(v.max()))
    return 10.0 ** np.arange(lo, hi + 1)


def _weights(sizes: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Matrix W (rows x knots) with ``W @ effs`` = the log-linear interpolation of the curve at ``x``."""
    lx = np.log10(np.maximum(x, 1e-30))
    ls = np.log10(sizes)
    w = np.zeros((x.size, sizes.size))
    for r, v in enumerate(lx):
        if v <= ls[0]:
            w[r, 0] = 1.0
        elif v >= ls[-1]:
            w[r, -1] = 1.0
        else:
            j = int(np.searchsorted(ls, v) - 1)
            f = (v - ls[j]) / (ls[j + 1] - ls[j])
            w[r, j], w[r, j + 1] = 1.0 - f, f
    return w


def _sig3(x: float) -> float:
    return float(f"{x:.3g}")


class _Problem:
    """The vectorised objective: parameters are launch times (per kernel class), the host overhead and
    the knot values of each curve; efficiencies are linear in knot values (weights matrices)."""

    def __init__(self, comp: Components) -> None:
        self.c = comp
        n = comp.measured.size
        names = np.array(comp.curve)
        self.launch_keys = ["launch"] + sorted(
            {f"launch.{k.split('.', 1)[1]}" for k in comp.curve if k != "memory"}
        )
        self.launch_of = np.array(
            [
                0 if k == "memory" else self.launch_keys.index(f"launch.{k.split('.', 1)[1]}")
                for k in comp.curve
            ]
        )
        self.sizes: dict[str, np.ndarray] = {"compute": _decades(comp.flops[names == "memory"])}
        for name in sorted(set(comp.curve)):
            self.sizes[name] = _decades(comp.dram_bytes[names == name])
        self.W: dict[str, np.ndarray] = {"compute": _weights(self.sizes["compute"], comp.flops)}
        for name in sorted(set(comp.curve)):
            w = _weights(self.sizes[name], comp.dram_bytes)
            w[names != name] = 0.0
            self.W[name] = w
        self.mem_rows = {name: names == name for name in set(comp.curve)}
        self.n = n

    def efficiencies(self, effs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(compute, memory) efficiency of every row."""
        ec = self.W["compute"] @ effs["compute"]
        em = np.zeros(self.n)
        for name, rows in self.mem_rows.items():
            em[rows] = (self.W[name] @ effs[name])[rows]
        return ec, em

    def losses(
        self,
        launch_row: np.ndarray,
        host: float,
        ec: np.ndarray,
        em: np.ndarray,
        ov: float | np.ndarray = 0.0,
        speed: float | np.ndarray = 1.0,
    ) -> np.ndarray:
        """Mean |log error| for each candidate (leading axis of any argument may be candidates)."""
        c = self.c
        comp = c.compute_s * (1.0 + c.host * (1.0 / np.asarray(speed) - 1.0))
        body = np.maximum(np.maximum((comp + c.waves * ov) / ec, c.dram_s / em), c.inner_s)
        pred = launch_row + host * c.host + body
        return np.abs(np.log(pred / c.measured)).mean(axis=-1)

    @staticmethod
    def penalty(effs: dict[str, np.ndarray]) -> float:
        return sum(float(np.sum(np.diff(np.log(e)) ** 2)) for e in effs.values())

    def predict(
        self, launches: np.ndarray, host: float, effs: dict[str, np.ndarray], ov: float = 0.0, speed: float = 1.0
    ) -> np.ndarray:
        ec, em = self.efficiencies(effs)
        c = self.c
        comp = c.compute_s * (1.0 + c.host * (1.0 / speed - 1.0))
        body = np.maximum(np.maximum((comp + c.waves * ov) / ec, c.dram_s / em), c.inner_s)
        return launches[self.launch_of] + host * c.host + body

    def objective(
        self, launches: np.ndarray, host: float, effs: dict[str, np.ndarray], ov: float = 0.0, speed: float = 1.0
    ) -> float:
        ec, em = self.efficiencies(effs)
        return float(
            self.losses(launches[self.launch_of], host, ec, em, ov, speed) + SMOOTHNESS * self.penalty(effs)
        )


def fit(cfg: DeviceConfig, rows: list[Measurement], *, max_sweeps: int = 30) -> Fit:
    """Fit launch overheads and efficiency curves of ``cfg`` on the calibration rows of ``rows``.

    Each coordinate step evaluates every grid value of one parameter at once (numpy broadcasting over a
    leading candidate axis); the first grid value reaching the minimum wins (deterministic).
    """
    cal = [m for m in rows if is_calibration(m)]
    prob = _Problem(components(cfg, cal))
    effs = {k: np.full(s.size, 0.7) for k, s in prob.sizes.items()}
    launches = np.full(len(prob.launch_keys), 2e-6)
    has_host = bool(prob.c.host.any())
    host = 10e-6 if has_host else 0.0
    ov, sp = 0.0, 1.0
    best = prob.objective(launches, host, effs, ov, sp)
    onehot = [(prob.launch_of == i).astype(float) for i in range(launches.size)]
    for _ in range(max_sweeps):
        start = best
        ec, em = prob.efficiencies(effs)
        pen = SMOOTHNESS * prob.penalty(effs)
        for i in range(launches.size):
            base = launches[prob.launch_of] - launches[i] * onehot[i]
            cand = base[None, :] + LAUNCH_GRID[:, None] * onehot[i][None, :]
            vals = prob.losses(cand, host, ec, em, ov, sp) + pen
            k = int(np.argmin(vals))
            if vals[k] < best - 1e-12:
                best, launches[i] = float(vals[k]), float(LAUNCH_GRID[k])
        if has_host:
            vals = prob.losses(launches[prob.launch_of], HOST_GRID[:, None], ec, em, ov, sp) + pen
            k = int(np.argmin(vals))
            if vals[k] < best - 1e-12:
                best, host = float(vals[k]), float(HOST_GRID[k])
            vals = prob.losses(launches[prob.launch_of], host, ec, em, ov, SPEED_GRID[:, None]) + pen
            k = int(np.argmin(vals))
            if vals[k] < best - 1e-12:
                best, sp = float(vals[k]), float(SPEED_GRID[k])
        lrow = launches[prob.launch_of]
        vals = prob.losses(lrow, host, ec, em, OVERHEAD_GRID[:, None], sp) + pen
        k = int(np.argmin(vals))
        if vals[k] < best - 1e-12:
            best, ov = float(vals[k]), float(OVERHEAD_GRID[k])
        for name, e in effs.items():
            W = prob.W[name]
            for i in range(e.size):
                ec, em = prob.efficiencies(effs)
                delta = (EFF_GRID - e[i])[:, None] * W[:, i][None, :]
                if name == "compute":
                    ecc, emc = ec[None, :] + delta, em[None, :]
                else:
                    ecc, emc = ec[None, :], em[None, :] + delta
                pens = np.empty(EFF_GRID.size)
                keep = e[i]
                for j, cand in enumerate(EFF_GRID):
                    e[i] = cand
                    pens[j] = prob.penalty(effs)
                e[i] = keep
                vals = prob.losses(lrow, host, ecc, emc, ov, sp) + SMOOTHNESS * pens
                k = int(np.argmin(vals))
                if vals[k] < best - 1e-12:
                    best, e[i] = float(vals[k]), float(EFF_GRID[k])
        if start - best < 1e-7:
            break
    rounded = {k: np.array([_sig3(min(1.0, x)) for x in e]) for k, e in effs.items()}
    rl = np.array([_sig3(x) for x in launches])
    host, ov, sp = _sig3(host), _sig3(ov), _sig3(sp)
    out = Fit(
        cfg.name,
        float(rl[0]),
        host,
        ov,
        {k: (prob.sizes[k], rounded[k]) for k in rounded},
        prob.objective(rl, host, rounded, ov, sp),
    )
    out.host_speed = sp
    out.kind_launch = {
        k.split(".", 1)[1]: float(v) for k, v in zip(prob.launch_keys[1:], rl[1:], strict=True)
    }
    out.row_parallel = tuple(k for k, v in cfg.kernel_efficiency.items() if v.row_parallel)
    out.blocks = {
        k: (v.block_threads, v.blocks_per_core) for k, v in cfg.kernel_efficiency.items() if v.block_threads
    }
    return out


def apply(cfg: DeviceConfig, f: Fit) -> DeviceConfig:
    """``cfg`` with the fitted launch overheads and curves (what the device YAML then holds)."""
    from sim.config.hardware import EfficiencyCurve, KernelEfficiency

    per = {}
    for kind in POINTWISE_KINDS:
        if f"memory.{kind}" in f.curves:
            launch = f.kind_launch.get(kind)
            old = cfg.kernel_efficiency.get(kind)
            per[kind] = KernelEfficiency(
                memory=EfficiencyCurve(points=f.points(f"memory.{kind}")),
                launch=None if launch is None else f"{launch * 1e6:g} us",
                row_parallel=bool(old and old.row_parallel),
                block_threads=old.block_threads if old else None,
                blocks_per_core=old.blocks_per_core if old else 1,
            )
    return cfg.model_copy(
        update={
            "kernel_launch": f.launch_s,
            "tiling": cfg.tiling.model_copy(update={"tile_overhead": f.tile_overhead_s}),
            "compute_efficiency": EfficiencyCurve(points=f.points("compute")),
            "memory_efficiency": EfficiencyCurve(points=f.points("memory")),
            "kernel_efficiency": per,
        }
    )


GPUS = {"a100-80gb": "a100", "h100-sxm": "h100"}


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.validation.calibrate --device a100-80gb``: print the fitted YAML block."""
    import argparse

    from sim.config import load_hw
    from sim.validation import data

    p = argparse.ArgumentParser(prog="python -m sim.validation.calibrate", description=__doc__.split("\n")[0])
    p.add_argument("--device", default="a100-80gb", choices=sorted(GPUS), help="device preset to fit")
    args = p.parse_args(argv)
    f = fit(load_hw(args.device), data.load(GPUS[args.device]))
    print(
        f"# {args.device}: objective {f.objective:.4f} (mean |ln(pred/meas)| + smoothness penalty); "
        f"host-timing overhead of the LLMCompass data set {f.host_s * 1e6:g} us"
    )
    print(f.yaml())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
