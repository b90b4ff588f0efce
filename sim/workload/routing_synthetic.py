"""A seeded synthetic MoE router: depth-sharpening popularity, token affinity, temporal locality.

Token ``t`` of sequence ``b`` in MoE layer ``l`` picks the top-k experts of the scores::

    score_e = s(x) (z_{l,e} + pool_boost [e in pool_{l,b}])      popularity: global z ~ N(0, 1), the sequence's pool
            + locality (k/8)^locality_power [e in P_{l,b,seg(t)}]  temporal locality (segments of tokens)
            + affinity [e in A_{l,type(t)}]                        token-to-expert affinity
            + g_{l,b,t,e}                                          Gumbel noise (sampling)

* **Popularity sharpening with depth**: ``x`` is the layer's depth (0 at the first MoE layer, 1 at the last)
  and ``s(x) = skew_first + (skew_last - skew_first) x^depth_power``: near-uniform routing at the first
  layer, concentrated deep (the real traces: top-8 share 0.21 at layer 0, 0.4-0.8 deeper).
  Each sequence (its topic) favours a pool of ``max(4k, pool x E x sqrt(k/8))`` experts, the top of its own
  draw around the global popularity.
* **Temporal locality**: positions are cut into segments of ``segment`` tokens (a random phase per
  sequence); each segment has a preferred set P of k experts (top-k of its own popularity draw), so
  consecutive tokens share experts beyond what popularity gives (lag-1 overlap above the i.i.d. level).
* **Affinity**: each position has a token type (Zipf(1.1) over ``types`` types, like token frequencies);
  every type prefers a set A of k experts in every layer, whatever the context (Sem-MoE's observation that
  token-to-expert affinity is context-independent).

Every random number is a hash of (seed, layer, sequence, position, expert), so a route depends only on
its arguments, never on call order. The default parameters are fitted (``fit``, ``python
benchmarks/calibrate_routing.py``) to the decode tokens of the real Qwen3-30B-A3B, Gemma-4-26B-A4B and
gpt-oss-120b traces (../shared/data/moe_route_traces_bigmoeonedge); docs/interconnect.md shows the fit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sim.workload.routing import Routing

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        x = x + _GOLD
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def _hash(*keys: np.ndarray | int) -> np.ndarray:
    h = np.uint64(0x243F6A8885A308D3)
    for k in keys:
        h = _mix(np.bitwise_xor(h, np.asarray(k, dtype=np.uint64)))
    return h


def _uniform(*keys: np.ndarray | int) -> np.ndarray:
    """Uniform in (0, 1) from a hash of ``keys`` (broadcast)."""
    h = _hash(*keys)
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / (1 << 53))


def _normal(*keys: np.ndarray | int) -> np.ndarray:
    u1 = _uniform(*keys, 1)
    u2 = _uniform(*keys, 2)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def _gumbel(*keys: np.ndarray | int) -> np.ndarray:
    return -np.log(-np.log(_uniform(*keys)))


@dataclass(frozen=True)
class SyntheticParams:
    """Parameters of the synthetic router (see the module docstring)."""

    skew_first: float = 0.305
    skew_last: float = 0.985
    depth_power: float = 0.237
    pool: float = 0.42
    pool_boost: float = 3.07
    locality: float = 2.42
    locality_power: float = 0.227
    segment: float = 8.15
    affinity: float = 0.529
    types: int = 1024


def _topk(scores: np.ndarray, k: int) -> np.ndarray:
    return np.argpartition(-scores, k - 1, axis=1)[:, :k]


class SyntheticRouting:
    """The synthetic routing source (``routing: synthetic``)."""

    accepts_sequences = True

    def __init__(self, seed: int = 0, params: SyntheticParams | None = None) -> None:
        self.seed = int(seed) & 0xFFFFFFFF
        self.params = params or SyntheticParams()
        self.name = "synthetic"
        self._depth: dict[int, float] = {}
        self._prompt = 0
        self._cache: dict[tuple, np.ndarray] = {}

    def with_params(self, **kw: float) -> SyntheticRouting:
        """A copy with some parameters replaced."""
        return SyntheticRouting(self.seed, replace(self.params, **kw))

    def bind(self, model) -> None:  # noqa: ANN001 - a ModelSpec
        """Learn the model's MoE layers (the depth of each)."""
        moe = [i for i in range(model.layers) if model.is_moe_layer(i)]
        n = max(1, len(moe) - 1)
        self._depth = {layer: i / n for i, layer in enumerate(moe)}

    def depth(self, layer: int) -> float:
        """Depth fraction of decoder layer ``layer`` (0 first MoE layer, 1 last)."""
        if layer in self._depth:
            return self._depth[layer]
        return min(1.0, layer / 31.0)

    # ------------------------------------------------------------------ pieces
    def _popularity(self, layer: int, seqs: np.ndarray, E: int, k: int) -> np.ndarray:
        """``(len(seqs), E)`` popularity scores of the sequences in ``layer``."""
        p = self.params
        s = p.skew_first + (p.skew_last - p.skew_first) * self.depth(layer) ** p.depth_power
        key = ("pop", layer, E)
        z = self._cache.get(key)
        if z is None:
            z = self._cache[key] = _normal(self.seed, 11, layer, np.arange(E, dtype=np.uint64))
        e = np.arange(E, dtype=np.uint64)[None, :]
        # the sequence's pool: the top pool x E experts of its own draw around the global popularity
        w = z[None, :] + _gumbel(self.seed, 12, layer, seqs.astype(np.uint64)[:, None], e)
        m = min(E, max(4 * k, int(round(p.pool * E * np.sqrt(k / 8.0)))))
        pool = np.zeros((len(seqs), E), dtype=bool)
        np.put_along_axis(pool, _topk(w, m), True, axis=1)
        return s * (z[None, :] + p.pool_boost * pool)

    def _segment_sets(self, layer: int, seqs: np.ndarray, segs: np.ndarray, pop: np.ndarray, k: int
                      ) -> np.ndarray:
        """Preferred k experts of each (sequence, segment): one-hot ``(n, E)``."""
        E = pop.shape[1]
        e = np.arange(E, dtype=np.uint64)[None, :]
        g = _gumbel(self.seed, 13, layer, seqs.astype(np.uint64)[:, None], segs.astype(np.uint64)[:, None], e)
        top = _topk(pop + g, k)
        hot = np.zeros((len(seqs), E), dtype=bool)
        np.put_along_axis(hot, top, True, axis=1)
        return hot

    def _type_sets(self, layer: int, types: np.ndarray, E: int, k: int) -> np.ndarray:
        key = ("types", layer, E, k)
        table = self._cache.get(key)
        if table is None:
            e = np.arange(E, dtype=np.uint64)[None, :]
            tt = np.arange(self.params.types, dtype=np.uint64)[:, None]
            top = _topk(_gumbel(self.seed, 14, layer, tt, e), k)
            table = np.zeros((self.params.types, E), dtype=bool)
            np.put_along_axis(table, top, True, axis=1)
            self._cache[key] = table
        return table[types]

    def _token_types(self, seqs: np.ndarray, pos: np.ndarray) -> np.ndarray:
        u = _uniform(self.seed, 15, seqs.astype(np.uint64), pos.astype(np.uint64))
        n = self.params.types
        # Zipf(1.1) by inverting the continuous approximation of its CDF over 1..n
        a = 1.1
        hi = n ** (1 - a)
        r = (1 + u * (hi - 1)) ** (1 / (1 - a))
        return np.clip(r.astype(np.int64) - 1, 0, n - 1)

    # ------------------------------------------------------------------ the source
    def assign(self, layer: int, seqs: np.ndarray, pos: np.ndarray, E: int, k: int) -> np.ndarray:
        """Experts ``(n, k)`` of the tokens at (``seqs``, ``pos``) in ``layer``."""
        p = self.params
        out = np.empty((len(seqs), k), dtype=np.int64)
        chunk = max(1, (1 << 19) // E)
        for lo in range(0, len(seqs), chunk):
            sq, ps = seqs[lo:lo + chunk], pos[lo:lo + chunk]
            uniq, inv = np.unique(sq, return_inverse=True)
            score = self._popularity(layer, uniq, E, k)[inv]
            if p.locality:
                phase = np.floor(_uniform(self.seed, 16, sq.astype(np.uint64)) * p.segment)
                seg = np.floor((ps + phase) / p.segment).astype(np.int64)
                pairs = sq.astype(np.int64) * (1 << 32) + seg
                up, pinv = np.unique(pairs, return_inverse=True)
                useq = up >> 32
                hot = self._segment_sets(layer, useq, up & 0xFFFFFFFF, self._popularity(layer, useq, E, k), k)
                score = score + p.locality * (k / 8.0) ** p.locality_power * hot[pinv]
            if p.affinity:
                score = score + p.affinity * self._type_sets(layer, self._token_types(sq, ps), E, k)
            e = np.arange(E, dtype=np.uint64)[None, :]
            score = score + _gumbel(self.seed, 17, layer, sq.astype(np.uint64)[:, None],
                                    ps.astype(np.uint64)[:, None], e)
            out[lo:lo + chunk] = _topk(score, k)
        return out

    def route(self, layer: int, step: int, tokens: int, num_experts: int, top_k: int, *,
              sequences: int = 1, first_sequence: int = 0) -> Routing:
        """Route a step's tokens (sequence-major, sequences ``first_sequence``...; prefill positions 0..,
        decode at prompt + step - 1)."""
        n_seq = max(1, sequences)
        per = max(1, tokens // n_seq)
        seqs = np.repeat(np.arange(n_seq), per)[:tokens] + first_sequence
        if step == 0:
            self._prompt = per
            pos = np.tile(np.arange(per), n_seq)[:tokens]
        else:
            pos = np.full(tokens, self._prompt + step - 1)
        if len(seqs) < tokens:  # tokens not a multiple of sequences: the rest to the last sequence
            seqs = np.concatenate([seqs, np.full(tokens - len(seqs), first_sequence + n_seq - 1)])
            pos = np.concatenate([pos, np.arange(tokens - len(pos)) + per])
        assign = self.assign(layer, seqs, pos, num_experts, top_k)
        counts = np.bincount(assign.ravel(), minlength=num_experts)
        return Routing(tokens, top_k, num_experts, float(np.count_nonzero(counts)),
                       tuple(int(x) for x in counts), assign)

    def decode_sets(self, layers: int, tokens: int, num_experts: int, top_k: int, *, sequence: int = 0,
                    start: int = 0) -> np.ndarray:
        """Expert sets ``(layers, tokens, k)`` of ``tokens`` consecutive positions of one sequence, with
        layers 0..layers-1 at depths 0..1 (for statistics and calibration)."""
        saved = self._depth
        self._depth = {i: i / max(1, layers - 1) for i in range(layers)}
        try:
            seqs = np.full(tokens, sequence)
            pos = np.arange(start, start + tokens)
            return np.stack([self.assign(i, seqs, pos, num_experts, top_k) for i in range(layers)])
        finally:
            self._depth = saved


__all__ = ["SyntheticParams", "SyntheticRouting"]
