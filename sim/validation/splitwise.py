"""Sanity check against measured whole-model times (not a calibration target).

SplitwiseSim's measured Llama-2-70B runs on DGX-A100 / DGX-H100 nodes (``../shared/data/
splitwise_sim_perf_model/perf_model.csv``: prompt time and time per generated token, batch 1, tensor
parallelism 2/4/8) are compared with this simulator's single-device engine on a *scaled* GPU: one device
with ``tp`` times the SMs, peaks, bandwidths and capacities of one GPU (tensor parallelism without any
communication). The interconnect issue models the real tensor-parallel split and its all-reduces; until
then the comparison shows two things only: whether prompt time *scales* with prompt length as measured
(ratios to the 1024-token prompt), and how much of the measured per-token time is not weight streaming
(communication, framework and launch overheads the single-device model leaves out).
"""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from sim.config import load_hw
from sim.config.hardware import DeviceConfig
from sim.engine.replay import run_system
from sim.engine.system import build_system

PERF_MODEL = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "splitwise_sim_perf_model" / "perf_model.csv"
)
HARDWARE = {"a100-80gb": "a100-80gb", "h100-sxm": "h100-80gb"}


def scaled(cfg: DeviceConfig, k: int) -> DeviceConfig:
    """``cfg`` with ``k`` times the cores, peaks, bandwidths and capacities (per-instance sizes kept)."""
    mem = [
        lvl.model_copy(
            update={
                "capacity": lvl.capacity * k,
                "bandwidth": lvl.bandwidth * k,
                "instances": lvl.instances * k if lvl.instances > 1 else 1,
            }
        )
        for lvl in cfg.memory
    ]
    return cfg.model_copy(
        update={
            "name": f"{cfg.name}x{k}",
            "cores": cfg.cores * k,
            "memory": mem,
            "compute": {d: v * k for d, v in cfg.compute.items()},
            "vector_compute": {d: v * k for d, v in cfg.vector_compute.items()},
        }
    )


def measured(path: Path = PERF_MODEL) -> dict[tuple[str, int, int], tuple[float, float]]:
    """Median (prompt time, time per token) in seconds of Llama-2-70B, batch 1, by (hardware, tp, prompt)."""
    acc: dict[tuple[str, int, int], list[tuple[float, float]]] = defaultdict(list)
    with open(path, encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["model"] == "llama2-70b" and r["batch_size"] == "1":
                key = (r["hardware"], int(r["tensor_parallel"]), int(r["prompt_size"]))
                acc[key].append((float(r["prompt_time"]) * 1e-3, float(r["token_time"]) * 1e-3))
    return {
        k: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for k, v in acc.items()
    }


def compare(device: str = "a100-80gb", tp: int = 8) -> list[dict[str, Any]]:
    """Measured vs simulated prompt and token times of Llama-2-70B at every measured prompt length."""
    meas = measured()
    system = build_system(scaled(load_hw(device), tp))
    out = []
    for (hw, t, prompt), (p_s, tok_s) in sorted(meas.items()):
        if hw != HARDWARE[device] or t != tp:
            continue
        r = run_system(system, "llama-2-70b", 1, prompt, 1)
        out.append(
            {
                "prompt": prompt,
                "measured_prompt_s": p_s,
                "simulated_prompt_s": r.ttft_s,
                "measured_token_s": tok_s,
                "simulated_token_s": r.tbt_s,
            }
        )
    base = next((x for x in out if x["prompt"] == 1024), None)
    for x in out:
        if base:
            x["measured_ratio_to_1024"] = x["measured_prompt_s"] / base["measured_prompt_s"]
            x["simulated_ratio_to_1024"] = x["simulated_prompt_s"] / base["simulated_prompt_s"]
    return out
