"""Errors of the calibrated GPU models against the measurements, on the calibration and held-out parts.

:func:`evaluate` predicts every measured op with the device model built from the device preset (the
YAML values, not the fitter's in-memory ones), re-runs the fit to check that the preset holds what the
data give, and reports:

* per operator class (qkv/o/gate-up/down projections, RMSNorm, rotary, SiLU-and-multiply, residual add,
  LLMCompass matmuls): mean and maximum absolute percentage error, calibration and held-out;
* per layer (the non-attention ops of one Llama-2-7B layer, the residual add counted twice, at each
  measured tensor-parallel degree and token count): the same;
* the linear layers of tensor parallelism 1 at 1 and 1024 tokens (held out), measured vs predicted.

Percentage errors are ``|predicted / measured - 1|``.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from sim.config import load_hw
from sim.devices.registry import build_device
from sim.validation import calibrate, data
from sim.workload.conventions import get_conventions

CONV = get_conventions("default").with_(act_traffic="every_op")


def _stats(errs: list[float]) -> dict[str, float]:
    a = np.array(errs, dtype=float)
    if a.size == 0:
        return {"n": 0, "mean_pct": float("nan"), "max_pct": float("nan")}
    return {"n": int(a.size), "mean_pct": float(a.mean() * 100), "max_pct": float(a.max() * 100)}


def evaluate(device: str) -> dict[str, Any]:
    """All error figures of ``device`` (``a100-80gb`` or ``h100-sxm``)."""
    gpu = calibrate.GPUS[device]
    cfg = load_hw(device)
    rows = data.load(gpu)
    fitted = calibrate.fit(cfg, rows)
    model = build_device(cfg)
    # the LLMCompass data set's card: the same model with its tensor peaks x the fitted data-set speed
    host_model = build_device(
        cfg.model_copy(update={"compute": {k: v * fitted.host_speed for k, v in cfg.compute.items()}})
    )
    preds = []
    for m in rows:
        if m.dataset == "llmcompass":
            t = host_model.cost(m.op, CONV, launches=True).time_s + fitted.host_s
        else:
            t = model.cost(m.op, CONV, launches=True).time_s
        preds.append(t)
    out: dict[str, Any] = {
        "device": device,
        "gpu": gpu,
        "host_overhead_s": fitted.host_s,
        "host_speed": fitted.host_speed,
        "yaml_matches_fit": _matches(cfg, fitted),
        "rows": [],
    }
    by_class: dict[tuple[str, bool], list[float]] = defaultdict(list)
    for m, p in zip(rows, preds, strict=True):
        cal = data.is_calibration(m)
        err = abs(p / m.measured_s - 1)
        by_class[(m.op_class, cal)].append(err)
        by_class[("all", cal)].append(err)
        out["rows"].append(
            {
                "label": m.label,
                "class": m.op_class,
                "tp": m.tp,
                "tokens": m.tokens,
                "calibration": cal,
                "measured_s": m.measured_s,
                "predicted_s": p,
            }
        )
    classes = sorted({c for c, _ in by_class})
    out["classes"] = {
        c: {"calibration": _stats(by_class[(c, True)]), "held_out": _stats(by_class[(c, False)])}
        for c in classes
    }
    # per layer
    layer: dict[tuple[int, int], list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for m, p in zip(rows, preds, strict=True):
        if m.dataset != "vidur":
            continue
        k = data.LAYER_OPS[m.op_name]
        acc = layer[(m.tp, m.tokens)]
        acc[0] += k * m.measured_s
        acc[1] += k * p
        acc[2] += 1
    lay_err: dict[bool, list[float]] = defaultdict(list)
    out["layers"] = []
    for (tp, tok), (meas, pred, n) in sorted(layer.items()):
        if n != len(data.LAYER_OPS):
            continue
        cal = tp in (2, 8)
        lay_err[cal].append(abs(pred / meas - 1))
        out["layers"].append(
            {"tp": tp, "tokens": tok, "calibration": cal, "measured_s": meas, "predicted_s": pred}
        )
    out["layer"] = {"calibration": _stats(lay_err[True]), "held_out": _stats(lay_err[False])}
    out["linear_tp1"] = [
        r
        for r in out["rows"]
        if r["tp"] == 1
        and r["tokens"] in (1, 1024)
        and r["class"] in ("qkv_proj", "o_proj", "gate_up_proj", "down_proj")
    ]
    return out


def _matches(cfg: Any, f: calibrate.Fit) -> bool:
    """True when the preset's curves and launch overheads equal the fit (same 3-digit rounding)."""
    applied = calibrate.apply(cfg, f)
    keys = ("kernel_launch", "compute_efficiency", "memory_efficiency", "kernel_efficiency", "tiling")
    return all(getattr(applied, k) == getattr(cfg, k) for k in keys)


def plot(results: list[dict[str, Any]], folder: str | Path) -> list[Path]:
    """Charts for docs/validation.md: predicted vs measured per op, and per-layer time vs tokens."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for res in results:
        fig, ax = plt.subplots(figsize=(7, 6), dpi=110)
        classes = sorted({r["class"] for r in res["rows"]})
        colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for i, c in enumerate(classes):
            for cal, marker in ((True, "o"), (False, "^")):
                sel = [r for r in res["rows"] if r["class"] == c and r["calibration"] == cal]
                if sel:
                    ax.scatter(
                        [r["measured_s"] * 1e6 for r in sel],
                        [r["predicted_s"] * 1e6 for r in sel],
                        s=16,
                        marker=marker,
                        color=colours[i % len(colours)],
                        alpha=0.8,
                        label=f"{c} ({'cal' if cal else 'held out'})",
                    )
        lo, hi = 0.5, 1e5
        ax.plot([lo, hi], [lo, hi], color="k", lw=1)
        ax.plot([lo, hi], [lo * 1.15, hi * 1.15], color="0.6", lw=0.8, ls="--")
        ax.plot([lo, hi], [lo / 1.15, hi / 1.15], color="0.6", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_xlabel("measured kernel time (us)")
        ax.set_ylabel("simulated (us)")
        ax.set_title(f"{res['device']}: every measured operator (dashed: +-15 %)")
        ax.legend(fontsize=6, ncol=2, loc="upper left")
        fig.tight_layout()
        p = folder / f"ops_{res['device']}.png"
        fig.savefig(p)
        plt.close(fig)
        paths.append(p)
        fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
        for i, tp in enumerate(sorted({x["tp"] for x in res["layers"]})):
            sel = [x for x in res["layers"] if x["tp"] == tp]
            ax.plot(
                [x["tokens"] for x in sel],
                [x["measured_s"] * 1e3 for x in sel],
                "o",
                color=colours[i],
                label=f"tp{tp} measured",
            )
            ax.plot(
                [x["tokens"] for x in sel],
                [x["predicted_s"] * 1e3 for x in sel],
                "-",
                color=colours[i],
                label=f"tp{tp} simulated",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("tokens")
        ax.set_ylabel("layer time without attention (ms)")
        ax.set_title(f"{res['device']}: one Llama-2-7B layer (tp 2, 8 calibrate; 1, 4 held out)")
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        p = folder / f"layers_{res['device']}.png"
        fig.savefig(p)
        plt.close(fig)
        paths.append(p)
    return paths
