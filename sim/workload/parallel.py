"""How a model is split over parallel ranks (hardware-free): tensor, pipeline, expert, data parallelism.

Ranks are numbered tensor-parallel innermost::

    rank = (stage x dp + replica) x tp + tp_rank

* **Tensor parallelism** (``tp``, Megatron-LM style): q/k/v, gate/up and the LM head are split by columns
  (heads, FFN width, vocabulary over ``tp``), the output and down projections by rows, each followed by
  an all-reduce of the block's output over the ``tp`` ranks of its replica; norms, residuals and the
  embedding are replicated. With fewer KV heads than ranks, each rank keeps one KV head (replicated).
  The LM head's vocabulary slices are all-gathered.
* **Pipeline parallelism** (``pp``): consecutive blocks of layers per stage; the embedding on the first
  stage, the final norm and LM head on the last; a step's batch is cut into ``microbatches`` that flow
  through the stages one after another (GPipe-style forward pipelining; activations cross stages as
  ordinary transfers).
* **Data parallelism** (``dp``): replicas, each with ``batch / dp`` sequences.
* **Expert parallelism** (``ep`` = tp x dp): each MoE layer's routed experts are sharded over the tp x dp
  ranks of a stage in contiguous blocks (expert e on stage rank ``e // (E / ep)``). Tokens are dispatched
  to their experts' ranks by an all-to-all whose per-pair volume comes from the routing, and brought back
  by a second one (combine); with tensor-parallel attention each rank sends only its 1/tp share of its
  replica's tokens and an all-gather restores them after the combine (DeepSpeed-MoE's coordinated
  communication).

Checks (:class:`ParallelError`): tp divides the heads (and the FFN widths), the KV heads divide tp or tp
divides them, pp divides the layers, ep divides the routed experts and equals tp x dp, dp x microbatches
divides the batch.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from sim.errors import PimsimError
from sim.workload.models import ModelSpec


class ParallelError(PimsimError):
    """A parallel split that does not fit the model or the workload."""


@dataclass(frozen=True)
class Parallel:
    """A parallel split; ``symmetric`` emits only tensor-parallel rank 0 of replica 0 (exact without EP)."""

    tp: int = 1
    pp: int = 1
    ep: int = 1
    dp: int = 1
    microbatches: int = 1
    symmetric: bool = False
    kv_transfer: str | None = None  # disaggregated serving: "serial" or "layerwise"

    @property
    def world(self) -> int:
        """Ranks in all: tp x pp x dp."""
        return self.tp * self.pp * self.dp

    @property
    def stage_width(self) -> int:
        """Ranks per pipeline stage: tp x dp."""
        return self.tp * self.dp

    @property
    def active(self) -> bool:
        """True when the run is split over more than one rank (or disaggregated)."""
        return self.world > 1 or self.kv_transfer is not None

    def rank(self, stage: int, replica: int, t: int) -> int:
        """Global rank of tensor-parallel rank ``t`` of ``replica`` in ``stage``."""
        return (stage * self.dp + replica) * self.tp + t

    def stage_ranks(self, stage: int) -> tuple[int, ...]:
        """The ranks a stage's ops are emitted for (all of them, or one when symmetric)."""
        if self.symmetric:
            return (self.rank(stage, 0, 0),)
        return tuple(self.rank(stage, d, t) for d in range(self.dp) for t in range(self.tp))

    def tp_group(self, stage: int, replica: int) -> tuple[int, ...]:
        """The tensor-parallel ranks of ``replica`` in ``stage``."""
        return tuple(self.rank(stage, replica, t) for t in range(self.tp))

    def stages(self, layers: int) -> list[range]:
        """Layer ranges of the pipeline stages."""
        per = layers // self.pp
        return [range(s * per, (s + 1) * per) for s in range(self.pp)]

    def check(self, m: ModelSpec, batch: int) -> None:
        """Raise ParallelError if the split does not divide the model or the batch."""
        name = m.name
        if m.heads % self.tp:
            raise ParallelError(f"tensor parallelism {self.tp} does not divide the {m.heads} attention heads of "
                                f"{name}; choose a tp that divides {m.heads}")
        if m.kv_heads % self.tp and self.tp % m.kv_heads:
            raise ParallelError(f"tensor parallelism {self.tp} and the {m.kv_heads} KV heads of {name} do not "
                                "divide one another; choose a tp that divides or is a multiple of the KV heads")
        for label, width in (("FFN width", m.ffn), ("shared-expert width", m.shared_expert_ffn)):
            if width and width % self.tp:
                raise ParallelError(f"tensor parallelism {self.tp} does not divide the {label} {width} of {name}")
        if m.num_experts and self.ep == 1 and m.expert_ffn % self.tp:
            raise ParallelError(f"tensor parallelism {self.tp} does not divide the expert width {m.expert_ffn} "
                                f"of {name}")
        if m.layers % self.pp:
            raise ParallelError(f"pipeline parallelism {self.pp} does not divide the {m.layers} layers of {name}; "
                                f"choose a pp that divides {m.layers}")
        if self.ep > 1:
            if not m.num_experts:
                raise ParallelError(f"expert parallelism {self.ep} needs an MoE model; {name} has no experts")
            if m.num_experts % self.ep:
                raise ParallelError(f"expert parallelism {self.ep} does not divide the {m.num_experts} routed "
                                    f"experts of {name}")
            if self.ep != self.stage_width:
                raise ParallelError(f"expert parallelism {self.ep} must equal tp x dp = {self.stage_width} (experts "
                                    "are sharded over every rank of a pipeline stage); set --dp accordingly")
            if self.symmetric:
                raise ParallelError("a symmetric (one-rank) simulation cannot run expert parallelism: ranks "
                                    "receive different tokens; turn `symmetric` off")
        if batch % (self.dp * self.microbatches):
            raise ParallelError(f"data parallelism {self.dp} x {self.microbatches} micro-batches does not divide "
                                f"the batch of {batch} sequences")

    def shard(self, m: ModelSpec) -> ModelSpec:
        """The model as one tensor-parallel rank sees it: heads, FFN widths and vocabulary / tp."""
        if self.tp == 1:
            return m
        tp = self.tp
        return dataclasses.replace(
            m,
            heads=m.heads // tp,
            kv_heads=max(1, m.kv_heads // tp),
            ffn=m.ffn // tp,
            expert_ffn=m.expert_ffn // tp if self.ep == 1 else m.expert_ffn,
            shared_expert_ffn=m.shared_expert_ffn // tp,
            vocab=math.ceil(m.vocab / tp),
        )


def resolve(tp: int = 1, pp: int = 1, ep: int = 1, dp: int = 1, microbatches: int = 1, *,
            symmetric: bool = False, kv_transfer: str | None = None) -> Parallel:
    """A :class:`Parallel`, with ``dp`` set to ``ep`` when experts are sharded without tp or dp."""
    for key, v in (("tp", tp), ("pp", pp), ("ep", ep), ("dp", dp), ("microbatches", microbatches)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ParallelError(f"parallel degree {key} must be an integer >= 1 (got {v!r})")
    if ep > 1 and tp * dp == 1:
        dp = ep
    return Parallel(tp, pp, ep, dp, microbatches, symmetric, kv_transfer)


__all__ = ["Parallel", "ParallelError", "resolve"]
