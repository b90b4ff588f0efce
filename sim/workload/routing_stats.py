"""Statistics of expert routing: the three figures the synthetic generator is calibrated on.

Input: per MoE layer, the expert sets of consecutive tokens of one sequence, ``(layers, tokens, k)``.

* **lag-1 overlap** — ``|S_t ∩ S_{t-1}| / k`` averaged over consecutive token pairs and layers (random
  routing gives k/E);
* **top-8 share** — per layer, the share of the tokens' k·T activations that go to that layer's 8 most
  used experts, averaged over layers;
* **distinct experts** — per layer, the number of experts touched by the T tokens, averaged over layers.

These are the statistics of ../shared/reference/systems.md section 2 (decode tokens of the BigMoeOnEdge
traces: Qwen3-30B-A3B 38.0 %, 44.5 %, 63.7; Gemma 35.7 %, 46.5 %, 66.9; gpt-oss 17.9 %, 59.5 %, 35.9).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RoutingStats:
    """Averages over layers: lag-1 overlap (fraction), top-8 share (fraction), distinct experts."""

    lag1_overlap: float
    top8_share: float
    distinct: float
    per_layer_top8: tuple[float, ...] = ()

    def as_dict(self) -> dict[str, float]:
        """The three figures (fractions as fractions)."""
        return {"lag1_overlap": self.lag1_overlap, "top8_share": self.top8_share, "distinct": self.distinct}


def routing_stats(sets: np.ndarray, num_experts: int, top: int = 8) -> RoutingStats:
    """Statistics of ``sets`` ``(layers, tokens, k)`` of expert ids (see the module docstring)."""
    sets = np.asarray(sets)
    layers, tokens, k = sets.shape
    overlaps, shares, distinct = [], [], []
    for li in range(layers):
        s = sets[li]
        onehot = np.zeros((tokens, num_experts), dtype=bool)
        np.put_along_axis(onehot, s, True, axis=1)
        if tokens > 1:
            overlaps.append((onehot[1:] & onehot[:-1]).sum(axis=1).mean() / k)
        counts = onehot.sum(axis=0)
        shares.append(np.sort(counts)[::-1][:top].sum() / counts.sum())
        distinct.append(np.count_nonzero(counts))
    return RoutingStats(float(np.mean(overlaps)) if overlaps else 0.0, float(np.mean(shares)),
                        float(np.mean(distinct)), tuple(float(x) for x in shares))


__all__ = ["RoutingStats", "routing_stats"]
