"""Multi-GPU validation: tensor-parallel Llama-2-70B and BLOOM-176B on DGX-A100 / DGX-H100 (docs/validation.md).

Measured: SplitwiseSim's profiled latencies (``../shared/data/splitwise_sim_perf_model/perf_model.csv``,
vLLM on DGX-A100 and DGX-H100, tensor parallelism 2/4/8): per (model, GPU, tp, batch, prompt) the median
``prompt_time`` (time to first token) and ``token_time`` (time per generated token). Left out: the
``h100-80gb-pcap`` rows (the reference marks them modelled: H100 prompt x 1.3), and points whose prompt time
falls as the batch doubles (Llama-2-70B tp 2 at batch 64, flagged noisy by the reference).

Simulated: each point is a prefill step (``batch`` prompts of ``prompt`` tokens) and one decode step at that
context on the ``dgx-a100`` / ``dgx-h100`` presets, one tensor-parallel rank simulated (symmetric, exact for
pure tensor parallelism), collectives in analytic mode. Every op and collective is serial on the rank, so a
step's time is linear in the calibrated parameters::

    T = T_device+links + launch_cycles * n_collectives / f + step_cycles * n_steps / f
        + (1/efficiency - 1) * bandwidth_time + prefill_overhead [prefill] + sequence_overhead * batch
        + over_budget * matrix_time * max(0, 1 - token_budget / tokens)

(``f``: the GPU clock; ``n_steps``: algorithm steps, 2(p-1) per ring all-reduce; ``bandwidth_time``: the
collectives' bytes / link bandwidth). The fit (:func:`fit`) is non-negative least squares of the relative
errors over the **A100 rows only**; the H100 rows are held out. ``token_budget`` is not fitted: 2048, the
prompt batch size beyond which Splitwise reports prompt throughput dropping (systems.md section 3.1). The
values live in ``hwconfigs/systems/_splitwise-vllm.yaml`` (both DGX presets extend it);
:func:`preset_matches_fit` checks them.
"""

from __future__ import annotations

import csv
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.engine.system import System, load_system
from sim.interconnect import collectives as coll
from sim.workload.conventions import get_conventions
from sim.workload.generator import step_ops

ROOT = Path(__file__).resolve().parents[2]
PERF_MODEL = ROOT / ".." / "shared" / "data" / "splitwise_sim_perf_model" / "perf_model.csv"
SYSTEMS = {"a100-80gb": "dgx-a100", "h100-80gb": "dgx-h100"}
MODELS = {"llama2-70b": "llama-2-70b", "bloom-176b": "bloom-176b"}
CALIBRATION_HW = "a100-80gb"
TOKEN_BUDGET = 2048
PRESET = ROOT / "hwconfigs" / "systems" / "_splitwise-vllm.yaml"
PARAMS = ("launch_cycles", "step_cycles", "bandwidth_factor", "prefill_overhead", "sequence_overhead",
          "over_budget")
_MATRIX = ("linear", "lm_head", "expert_linear")
#: calibration keys zeroed to get the raw (uncalibrated) model
RAW = (
    "network.collective.efficiency=1", "network.collective.launch_cycles=0", "network.collective.step_cycles=0",
    "network.collective.launch=0s", "network.collective.step_latency=0s", "runtime.prefill_overhead=0s",
    "runtime.sequence_overhead=0s", "runtime.step_overhead=0s", "runtime.over_budget=0",
)


@dataclass(frozen=True)
class Point:
    """One measured configuration: medians in seconds."""

    model: str
    hardware: str
    tp: int
    batch: int
    prompt: int
    prompt_s: float
    token_s: float


def measured(path: Path = PERF_MODEL) -> list[Point]:
    """The measured points (medians), without the modelled power-capped rows and the noisy ones."""
    acc: dict[tuple, list[tuple[float, float]]] = defaultdict(list)
    with open(path, encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["hardware"] not in SYSTEMS:
                continue  # h100-80gb-pcap: modelled by the reference (prompt x 1.3), not measured
            key = (r["model"], r["hardware"], int(r["tensor_parallel"]), int(r["batch_size"]), int(r["prompt_size"]))
            acc[key].append((float(r["prompt_time"]) * 1e-3, float(r["token_time"]) * 1e-3))
    pts = {k: Point(*k, statistics.median(x[0] for x in v), statistics.median(x[1] for x in v))
           for k, v in acc.items()}
    out = []
    for _, p in sorted(pts.items()):
        half = pts.get((p.model, p.hardware, p.tp, p.batch // 2, p.prompt))
        if p.batch > 1 and half is not None and p.prompt_s < half.prompt_s:
            continue  # prompt time falls as the batch doubles: the reference's noisy rows
        out.append(p)
    return out


@dataclass
class Components:
    """One phase of one point: the raw step time and the coefficient of every parameter (s per unit)."""

    raw_s: float
    coef: np.ndarray


def _system(hw: str, tp: int, overrides: tuple[str, ...] = RAW) -> System:
    return load_system(SYSTEMS[hw], [f"parallel.tp={tp}", "parallel.symmetric=true", *overrides])


def components(point: Point, system: System | None = None) -> dict[str, Components]:
    """The point's prefill and decode steps on the raw model and the coefficient of every parameter.

    One tensor-parallel rank runs every op and collective of a step in order on its one stream, so the
    engine's step time is the serial sum of the ops' device times and the collectives' analytic times;
    it is summed here directly (the test checks the engine agrees)."""
    from sim.devices.kernels import launches_kernel
    from sim.interconnect.network import Network

    system = system or _system(point.hardware, point.tp)
    conv = get_conventions("default")
    model = MODELS[point.model]
    layout = system.layout
    assert layout is not None
    dev = system.devices[layout.prefill[0]]
    clock = dev.config.clock
    import simpy

    net = Network(simpy.Environment(), system.topology, system.network)
    out = {}
    for phase in ("prefill", "decode"):
        ops = step_ops(model, phase, point.batch, point.prompt, 1, parallel=system.parallel)
        raw = matrix = n_coll = n_steps = bw = 0.0
        for op in ops:
            if op.kind == "collective":
                if len(op.group) < 2:
                    continue
                devs = tuple(layout.device(r, phase) for r in op.group)
                n = op.shape.elements * op.dtypes.a.bits / 8
                p = len(devs)
                plan = net._plan(op.collective, devs, False)
                raw += net.analytic_time(op.collective, devs, n)
                n_coll += 1
                n_steps += coll.formula(op.collective, plan.algorithm, n, p, 1.0, math.inf)
                bw += coll.formula(op.collective, plan.algorithm, n, p, 0.0, plan.beta[0])
                continue
            t = dev.model.cost(op, conv, launches=launches_kernel(op, conv)).time_s
            raw += t
            if op.kind in _MATRIX:
                matrix += t
        tokens = point.batch * (point.prompt if phase == "prefill" else 1)
        over = matrix * max(0.0, 1.0 - TOKEN_BUDGET / tokens)
        coef = np.array([n_coll / clock, n_steps / clock, bw, 1.0 if phase == "prefill" else 0.0,
                         float(point.batch), over])
        out[phase] = Components(raw, coef)
    return out


def all_components(points: list[Point]) -> dict[Point, dict[str, Components]]:
    """Components of every point (one raw system per hardware and tp)."""
    systems: dict[tuple[str, int], System] = {}
    out = {}
    for p in points:
        key = (p.hardware, p.tp)
        if key not in systems:
            systems[key] = _system(p.hardware, p.tp)
        out[p] = components(p, systems[key])
    return out


@dataclass
class Fit:
    """Fitted parameters (see the module docstring) and the preset values they give."""

    launch_cycles: float
    step_cycles: float
    bandwidth_factor: float  # 1/efficiency - 1
    prefill_overhead: float
    sequence_overhead: float
    over_budget: float
    values: dict[str, float] = field(default_factory=dict)

    @property
    def vector(self) -> np.ndarray:
        """The parameters in :data:`PARAMS` order."""
        return np.array([getattr(self, k) for k in PARAMS])

    @property
    def efficiency(self) -> float:
        """Collective bandwidth efficiency."""
        return 1.0 / (1.0 + self.bandwidth_factor)

    def preset(self) -> dict[str, Any]:
        """Rounded preset values (3 significant digits), keyed by config path."""
        return {
            "network.collective.efficiency": _sig(self.efficiency),
            "network.collective.launch_cycles": _sig(self.launch_cycles),
            "network.collective.step_cycles": _sig(self.step_cycles),
            "runtime.prefill_overhead": _sig(self.prefill_overhead),
            "runtime.sequence_overhead": _sig(self.sequence_overhead),
            "runtime.token_budget": TOKEN_BUDGET,
            "runtime.over_budget": _sig(self.over_budget),
        }

    def rounded(self) -> Fit:
        """The parameters the rounded preset values stand for (what the shipped presets run with)."""
        return Fit.from_preset(self.preset())

    @classmethod
    def from_preset(cls, values: dict[str, Any]) -> Fit:
        """The parameters a preset's values stand for."""
        return cls(values["network.collective.launch_cycles"], values["network.collective.step_cycles"],
                   1.0 / values["network.collective.efficiency"] - 1.0, values["runtime.prefill_overhead"],
                   values["runtime.sequence_overhead"], values["runtime.over_budget"], dict(values))


def _sig(x: float, digits: int = 3) -> float:
    if x == 0:
        return 0.0
    return float(f"{x:.{digits}g}")


def fit(comps: dict[Point, dict[str, Components]], hardware: str = CALIBRATION_HW) -> Fit:
    """Non-negative least squares of the relative errors of both phases over ``hardware``'s points."""
    from sim.validation.fitting import nnls

    rows, target = [], []
    for p, c in comps.items():
        if p.hardware != hardware:
            continue
        for phase, meas in (("prefill", p.prompt_s), ("decode", p.token_s)):
            rows.append(c[phase].coef / meas)
            target.append(1.0 - c[phase].raw_s / meas)
    w, _ = nnls(np.array(rows), np.array(target))
    f = Fit(*[float(x) for x in w])
    f.values = f.preset()
    return f


def predict(c: Components, params: np.ndarray) -> float:
    """A phase's step time with parameters ``params`` (:data:`PARAMS` order), s."""
    return float(c.raw_s + c.coef @ params)


def errors(comps: dict[Point, dict[str, Components]], f: Fit) -> list[dict[str, Any]]:
    """Measured and predicted times of every point (with the rounded preset values)."""
    params = f.rounded().vector
    out = []
    for p, c in comps.items():
        for phase, meas in (("prefill", p.prompt_s), ("decode", p.token_s)):
            pred = predict(c[phase], params)
            out.append({"model": p.model, "hardware": p.hardware, "tp": p.tp, "batch": p.batch, "prompt": p.prompt,
                        "phase": phase, "measured_s": meas, "predicted_s": pred,
                        "calibration": p.hardware == CALIBRATION_HW, "error": pred / meas - 1.0})
    return out


def summary(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Median and largest absolute error (%) by hardware and phase."""
    out: dict[str, dict[str, float]] = {}
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in rows:
        groups[(r["hardware"], r["phase"])].append(abs(r["error"]) * 100)
    for (hw, ph), errs in sorted(groups.items()):
        out[f"{hw}/{ph}"] = {"n": len(errs), "median_pct": statistics.median(errs), "max_pct": max(errs),
                             "mean_pct": statistics.fmean(errs)}
    return out


def ratios(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """H100 / A100 time ratios per phase over the points measured on both (median), predicted and measured."""
    by = {(r["model"], r["tp"], r["batch"], r["prompt"], r["phase"], r["hardware"]): r for r in rows}
    out: dict[str, dict[str, float]] = {}
    for phase, label in (("prefill", "ttft"), ("decode", "tbt")):
        pred, meas = [], []
        for (m, tp, b, pr, ph, hw), r in by.items():
            if ph != phase or hw != "a100-80gb":
                continue
            h = by.get((m, tp, b, pr, ph, "h100-80gb"))
            if h is None:
                continue
            pred.append(h["predicted_s"] / r["predicted_s"])
            meas.append(h["measured_s"] / r["measured_s"])
        out[label] = {"predicted": statistics.median(pred), "measured": statistics.median(meas), "n": len(pred)}
    return out


#: Splitwise's two workloads, median prompt tokens (systems.md section 3.3): (name, prompt)
WORKLOADS = (("conversation", 1020), ("coding", 1500))


def workload_ratios(f: Fit, models: tuple[str, ...] = tuple(MODELS), tp: int = 8) -> list[dict[str, Any]]:
    """H100 / A100 ratios of one request of each Splitwise workload's median prompt, simulated.

    Splitwise's machine comparison runs one model instance per DGX (tensor parallel 8, its default); a request
    alone is batch 1. Time to first token: the prefill of the prompt; time between tokens: one decode step at
    that context. Neither prompt length is a measured point: both come from the models with the fitted
    preset values ``f``."""
    params = f.rounded().vector
    systems = {hw: _system(hw, tp) for hw in SYSTEMS}
    out = []
    for model in models:
        for name, prompt in WORKLOADS:
            t = {}
            for hw, system in systems.items():
                c = components(Point(model, hw, tp, 1, prompt, math.nan, math.nan), system)
                t[hw] = {phase: predict(c[phase], params) for phase in c}
            a, h = t["a100-80gb"], t["h100-80gb"]
            out.append({"model": model, "workload": name, "prompt": prompt, "tp": tp,
                        "ttft": h["prefill"] / a["prefill"], "tbt": h["decode"] / a["decode"],
                        "a100_ttft_s": a["prefill"], "h100_ttft_s": h["prefill"],
                        "a100_tbt_s": a["decode"], "h100_tbt_s": h["decode"]})
    return out


def preset_values(system: str = "dgx-a100") -> dict[str, Any]:
    """The calibrated values a DGX preset resolves to (after ``extends:``), keyed by config path."""
    from sim.config import load_hw

    cfg = load_hw(system)
    c, r = cfg.network.collective, cfg.runtime
    return {
        "network.collective.efficiency": c.efficiency,
        "network.collective.launch_cycles": c.launch_cycles,
        "network.collective.step_cycles": c.step_cycles,
        "runtime.prefill_overhead": r.prefill_overhead,
        "runtime.sequence_overhead": r.sequence_overhead,
        "runtime.token_budget": r.token_budget,
        "runtime.over_budget": r.over_budget,
    }


def preset_matches_fit(f: Fit) -> bool:
    """True when both DGX presets hold the fit's rounded values."""
    want = f.preset()
    for system in SYSTEMS.values():
        have = preset_values(system)
        if not all(math.isclose(have[k], v, rel_tol=1e-6, abs_tol=1e-12) for k, v in want.items()):
            return False
    return True


def yaml_block(f: Fit) -> str:
    """The preset block with the fitted values."""
    v = f.preset()
    return (
        "network:\n"
        "  mode: analytic\n"
        "  collective:\n"
        f"    efficiency: {v['network.collective.efficiency']:g}\n"
        f"    launch_cycles: {v['network.collective.launch_cycles']:g}\n"
        f"    step_cycles: {v['network.collective.step_cycles']:g}\n"
        "runtime:\n"
        f"  prefill_overhead: {v['runtime.prefill_overhead'] * 1e3:g} ms\n"
        f"  sequence_overhead: {v['runtime.sequence_overhead'] * 1e3:g} ms\n"
        f"  token_budget: {v['runtime.token_budget']}\n"
        f"  over_budget: {v['runtime.over_budget']:g}\n"
    )


def evaluate(path: Path = PERF_MODEL) -> dict[str, Any]:
    """Fit on the A100 rows, report every row; the keys the script and the tests read."""
    pts = measured(path)
    comps = all_components(pts)
    f = fit(comps)
    rows = errors(comps, f)
    return {"fit": f, "rows": rows, "summary": summary(rows), "ratios": ratios(rows),
            "workload_ratios": workload_ratios(f), "preset_matches_fit": preset_matches_fit(f),
            "components": comps}


def plot(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Predicted vs measured step times (log-log), prefill and decode, A100 calibration and H100 held out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    for ax, phase, title in ((axes[0], "prefill", "time to first token"), (axes[1], "decode", "time per token")):
        sel = [r for r in rows if r["phase"] == phase]
        lo = min(min(r["measured_s"], r["predicted_s"]) for r in sel) * 0.8 * 1e3
        hi = max(max(r["measured_s"], r["predicted_s"]) for r in sel) * 1.25 * 1e3
        xs = np.geomspace(lo, hi, 10)
        ax.plot(xs, xs, color="black", lw=0.8)
        for k, style in ((1.15, "--"), (1.35, ":")):
            ax.plot(xs, xs * k, color="grey", lw=0.7, ls=style)
            ax.plot(xs, xs / k, color="grey", lw=0.7, ls=style)
        for hw, marker, color, label in (("a100-80gb", "o", "tab:blue", "A100 (calibration)"),
                                         ("h100-80gb", "^", "tab:orange", "H100 (held out)")):
            pts = [r for r in sel if r["hardware"] == hw]
            ax.scatter([r["measured_s"] * 1e3 for r in pts], [r["predicted_s"] * 1e3 for r in pts], marker=marker,
                       s=22, color=color, label=label, alpha=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_xlabel("measured (ms)")
        ax.set_ylabel("simulated (ms)")
        ax.set_title(f"{title}, tensor parallel 2/4/8")
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle("Llama-2-70B and BLOOM-176B on DGX-A100 / DGX-H100 (dashed ±15 %, dotted ±35 %)", fontsize=10)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


__all__ = ["Components", "Fit", "Point", "components", "errors", "evaluate", "fit", "measured", "plot",
           "preset_matches_fit", "ratios", "summary", "workload_ratios", "yaml_block"]
