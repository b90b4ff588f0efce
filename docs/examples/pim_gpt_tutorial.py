"""Tutorial: reproduce PIM-GPT (docs/tutorials/pim-gpt.md).

Simulates GPT decoding on the ``pim-gpt`` system at command level, prints where time and energy go, then
compares it with the T4 and Xeon Gold 6154 baselines and charts the speedup and energy efficiency of each
model against the ranges the paper reports.

Run:  python docs/examples/pim_gpt_tutorial.py [--small] [--out DIR]

``--small`` runs GPT-2 (124 M) for 16 + 8 tokens (seconds); the default is the paper's eight models at
64 + 1024 tokens (minutes: it is ``pimsim compare``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import sim
from sim.engine.compare import compare

#: Ranges PIM-GPT reports (../shared/reference/pim.md 1.6): (low, high) per baseline and figure.
PAPER = {
    ("t4", "speedup"): (41, 137), ("t4", "energy_efficiency"): (123, 383),
    ("xeon-gold-6154", "speedup"): (631, 1074), ("xeon-gold-6154", "energy_efficiency"): (320, 602),
}
MODELS = ["gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl", "gpt3-small", "gpt3-medium", "gpt3-large", "gpt3-xl"]


def chart(records: list[dict], path: Path) -> Path:
    """Speedup and energy efficiency per model and baseline (log scale), the paper's ranges shaded."""
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.patches import Patch

    models = list(dict.fromkeys(r["model"] for r in records))
    baselines = list(dict.fromkeys(r["baseline"] for r in records))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    x = np.arange(len(models))
    width = 0.8 / len(baselines)
    colors = ["tab:green", "tab:blue", "tab:orange"]
    for ax, figure in zip(axes, ("speedup", "energy_efficiency"), strict=True):
        for i, (b, c) in enumerate(zip(baselines, colors, strict=False)):
            ours = [next(r[figure] for r in records if r["model"] == m and r["baseline"] == b) for m in models]
            hw = [next(r[f"{figure}_hardware_only"] for r in records if r["model"] == m and r["baseline"] == b)
                  for m in models]
            pos = x + (i - (len(baselines) - 1) / 2) * width
            ax.bar(pos, ours, width, color=c, label=f"pimsim vs {b} (with framework)")
            ax.scatter(pos, hw, marker="_", s=120, color="black", zorder=3,
                       label="hardware only" if i == 0 else None)
            lo, hi = PAPER.get((b, figure), (None, None))
            if lo:
                ax.axhspan(lo, hi, color=c, alpha=0.15)
        ax.set_yscale("log")
        ax.set_xticks(x, models, rotation=35, ha="right")
        ax.set_title(figure.replace("_", " ") + " of PIM-GPT (shaded: the paper's range)")
        ax.grid(axis="y", which="both", alpha=0.3)
    axes[0].set_ylabel("ratio over the baseline (x, log scale)")
    handles, labels = axes[0].get_legend_handles_labels()
    for b, c in zip(baselines, colors, strict=False):
        if (b, "speedup") in PAPER:
            (s_lo, s_hi), (e_lo, e_hi) = PAPER[(b, "speedup")], PAPER[(b, "energy_efficiency")]
            handles.append(Patch(color=c, alpha=0.15))
            labels.append(f"paper vs {b}: speedup {s_lo}-{s_hi}x, energy efficiency {e_lo}-{e_hi}x")
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--small", action="store_true", help="gpt2, 16 + 8 tokens (seconds)")
    ap.add_argument("--out", default="out/pim-gpt", help="folder for the chart")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes for the comparison")
    args = ap.parse_args(argv)
    models, prompt, generate = (["gpt2"], 16, 8) if args.small else (MODELS, 64, 1024)

    # 1. One run on the PIM-GPT system: every GEMV, attention GEMV and KV write at PIM command level.
    r = sim.simulate("pim-gpt", models[-1], prompt=prompt, generate=generate, dtype="bf16")
    print(f"{models[-1]} on pim-gpt: first token {r.ttft_s * 1e3:.3f} ms, per token {r.tbt_s * 1e3:.4f} ms, "
          f"energy {r.energy_J:.4g} J")
    print(r.to_dataframe("phase").to_string())

    # 2. The comparison the paper makes (pimsim compare): the same models on the T4 and the Xeon.
    res = compare("pim-gpt", ["t4", "xeon-gold-6154"], models, prompt=prompt, generate=generate, jobs=args.jobs)
    records = [rec for c in res for rec in c.records()]
    for rec in records:
        print(f"{rec['model']:12s} vs {rec['baseline']:15s} speedup {rec['speedup']:7.1f}x "
              f"(hardware only {rec['speedup_hardware_only']:6.1f}x)  energy efficiency "
              f"{rec['energy_efficiency']:7.1f}x")
    path = chart(records, Path(args.out) / "pim-gpt-vs-paper.png")
    return {"charts": [str(path)], "records": records}


if __name__ == "__main__":
    main()
