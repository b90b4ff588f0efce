"""Operator-trace generator: model + workload -> a lazy stream of :class:`~sim.workload.trace.Op`.

A run is one prefill step (step 0, the whole prompt of every sequence) followed by ``generate`` decode
steps (step s >= 1 feeds one token per sequence; ``s`` tokens have then been generated). Ops are produced
layer by layer, so only one layer of one step is ever held in memory.

Accounting rules (what each op reads, writes and computes) follow a :class:`Conventions` preset; the
formulas are listed per op in docs/conventions.md.

Parallel runs (a :class:`~sim.workload.parallel.Parallel` split): every op is emitted once per parallel
rank that runs it (``Op.rank``), with the shapes of that rank's shard, and ``collective`` ops join the
ranks (tensor-parallel all-reduces, expert-parallel all-to-alls, the LM head's all-gather); see
:mod:`sim.workload.parallel`. Internally every value is a *handle*: the tuple of op ids that hold it, one
per rank of the builder (a single id, rank -1, for an unsplit run).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.errors import ConfigError
from sim.workload.conventions import Conventions, get_conventions
from sim.workload.dtypes import DTypes, nbytes
from sim.workload.models import ModelSpec, load_model
from sim.workload.parallel import Parallel
from sim.workload.routing import Routing, RoutingSource, expected_distinct, get_routing
from sim.workload.trace import Op, Shape

H = tuple[int, ...]  # a handle: one op id per rank of the builder (-1: none)
UNSPLIT = Parallel()

PHASES = ("prefill", "decode")


def _positive(value: Any, key: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError("bad workload value", key=key, value=value, expected=f"an integer >= {minimum}")
    return value


@dataclass(frozen=True)
class _Ctx:
    """Everything fixed for one step."""

    m: ModelSpec
    c: Conventions
    dt: DTypes
    routing: RoutingSource
    phase: str
    step: int
    batch: int
    tq: int  # new tokens per sequence
    cached: int  # tokens already in the KV cache before this step
    lkv: int  # keys each new token attends over
    par: Parallel = UNSPLIT
    full: ModelSpec | None = None  # the unsplit model (m is one tensor-parallel rank's shard)
    mb: int = 0  # micro-batch index
    kv_out: dict | None = None  # prefill of disaggregated serving: (micro-batch, layer) -> KV handle
    kv_in: dict | None = None  # first decode step: (micro-batch, layer) -> the prefill's KV handle

    @property
    def rows(self) -> int:
        return self.batch * self.tq

    @property
    def pairs(self) -> int:
        """(query, key) pairs per sequence and head whose scores are computed."""
        if self.phase == "prefill" and self.c.causal_prefill:
            return self.tq * self.cached + self.tq * (self.tq + 1) // 2
        return self.tq * self.lkv


class _Builder:
    """Emits ops of one step with consecutive ids; ops collect in ``buf`` until drained.

    ``ranks`` are the parallel ranks the builder emits for (``(-1,)``: an unsplit run); ``stage`` the
    pipeline stage. Every method takes and returns handles (one op id per rank).
    """

    def __init__(self, ctx: _Ctx, next_id: int, ranks: tuple[int, ...] = (-1,), stage: int = 0) -> None:
        self.x = ctx
        self.next_id = next_id
        self.buf: list[Op] = []
        self.fused = ctx.c.fused
        self.ranks = ranks
        self.stage = stage
        self.none: H = (-1,) * len(ranks)

    # ------------------------------------------------------------------ primitives
    def emit(self, name: str, kind: str, layer: int, shape: Shape, flops: int, deps: tuple[H, ...], *,
             lw: int = 0, la: int = 0, sa: int = 0, lk: int = 0, sk: int = 0, lw_bytes: int | None = None,
             expert: int | None = None, experts_active: float | None = None) -> H:
        """Append the op on every rank; traffic arguments are element counts (weights, activations, KV)."""
        x = self.x
        dt = x.dt
        lwb = nbytes(lw, dt.w) if lw_bytes is None else lw_bytes
        lab, sab, lkb, skb = nbytes(la, dt.a), nbytes(sa, dt.a), nbytes(lk, dt.k), nbytes(sk, dt.k)
        if len(self.ranks) == 1:  # the common case: one rank (or an unsplit run)
            oid = self.next_id
            self.buf.append(Op(
                id=oid, name=name, kind=kind, phase=x.phase, step=x.step, layer=layer, shape=shape,
                dtypes=dt, flops=int(flops), load_weight_bytes=lwb, load_act_bytes=lab, store_act_bytes=sab,
                load_kv_bytes=lkb, store_kv_bytes=skb, deps=tuple([h[0] for h in deps if h[0] >= 0]),
                batch=x.batch, tokens=x.tq, kv_len=x.lkv, heads=x.m.heads, expert=expert,
                experts_active=experts_active, rank=self.ranks[0],
            ))
            self.next_id = oid + 1
            return (oid,)
        out = []
        for i, r in enumerate(self.ranks):
            op = Op(
                id=self.next_id, name=name, kind=kind, phase=x.phase, step=x.step, layer=layer, shape=shape,
                dtypes=dt, flops=int(flops), load_weight_bytes=lwb, load_act_bytes=lab, store_act_bytes=sab,
                load_kv_bytes=lkb, store_kv_bytes=skb, deps=tuple(h[i] for h in deps if h[i] >= 0),
                batch=x.batch, tokens=x.tq, kv_len=x.lkv, heads=x.m.heads, expert=expert,
                experts_active=experts_active, rank=r,
            )
            self.buf.append(op)
            out.append(self.next_id)
            self.next_id += 1
        return tuple(out)

    def collective(self, name: str, coll: str, layer: int, elements: int, inp: tuple[H, ...],
                   groups: list[tuple[int, ...]], matrix: tuple[int, ...] = ()) -> H:
        """One ``coll`` op per group (its ranks' ``inp`` ops as deps); returns the handle of the results."""
        x = self.x
        pos = {r: i for i, r in enumerate(self.ranks)}
        out = list(self.none)
        for g in groups:
            here = [pos[r] for r in g if r in pos]
            if not here:
                continue
            deps = tuple(sorted({h[i] for h in inp for i in here if h[i] >= 0}))
            op = Op(id=self.next_id, name=name, kind="collective", phase=x.phase, step=x.step, layer=layer,
                    shape=Shape(elements=int(elements)), dtypes=x.dt, flops=0, deps=deps, batch=x.batch,
                    tokens=x.tq, kv_len=x.lkv, heads=x.m.heads, rank=g[0], collective=coll, group=tuple(g),
                    matrix=matrix)
            self.buf.append(op)
            for i in here:
                out[i] = self.next_id
            self.next_id += 1
        return tuple(out)

    def tp_groups(self) -> list[tuple[int, ...]]:
        """The tensor-parallel groups of this stage (one per replica)."""
        par = self.x.par
        if par.symmetric:
            return [par.tp_group(self.stage, 0)]
        return [par.tp_group(self.stage, d) for d in range(par.dp)]

    def all_reduce(self, name: str, layer: int, h: H) -> H:
        """Sum a row-parallel output over the tensor-parallel ranks (rows x hidden elements)."""
        if self.x.par.tp == 1:
            return h
        return self.collective(name, "all_reduce", layer, self.x.rows * self.x.m.hidden, (h,), self.tp_groups())

    def linear(self, name: str, layer: int, rows: int, n: int, k: int, deps: tuple[H, ...], *,
               bias: bool = False, store: bool = True, count: int = 1, kind: str = "linear",
               expert: int | None = None, experts_active: float | None = None, sk: int = 0) -> H:
        """A GEMM ``count`` x (rows x k)·(k x n) reading its input and (if ``store``) writing its output."""
        with_bias = bias and self.x.c.bias
        flops = 2 * rows * n * k * count + (rows * n * count if with_bias else 0)
        w = n * k * count + (n * count if with_bias else 0)
        lw_bytes = None
        if experts_active is not None:  # grouped experts: expected number of distinct weight sets
            lw_bytes = round(experts_active * w * self.x.dt.w.bits / 8)
        return self.emit(name, kind, layer, Shape(m=rows, n=n, k=k, count=count), flops, deps,
                         lw=w, lw_bytes=lw_bytes, la=rows * k * count, sa=rows * n * count if store else 0,
                         sk=sk, expert=expert, experts_active=experts_active)

    def pointwise(self, name: str, kind: str, layer: int, elements: int, ops_per_elem: int,
                  deps: tuple[H, ...], *, reads: int, writes: int, fused_reads: int = 0,
                  fused_writes: int = 0, flops: int | None = None, expert: int | None = None,
                  experts_active: float | None = None) -> H:
        """A non-GEMM op; traffic differs between "every_op" (reads/writes) and "fused" (fused_*)."""
        la, sa = (fused_reads, fused_writes) if self.fused else (reads, writes)
        f = elements * ops_per_elem if flops is None else flops
        return self.emit(name, kind, layer, Shape(elements=elements), f, deps, la=la, sa=sa,
                         expert=expert, experts_active=experts_active)

    def norm(self, name: str, layer: int, elements: int, deps: tuple[H, ...]) -> H:
        c = self.x.c
        per = c.layernorm_ops if self.x.m.norm == "layernorm" else c.rmsnorm_ops
        return self.pointwise(name, "norm", layer, elements, per, deps, reads=elements, writes=elements)

    def act_ops(self) -> int:
        c, m = self.x.c, self.x.m
        per = {"gelu": c.gelu_ops, "silu": c.silu_ops, "relu": c.relu_ops}[m.act]
        return per + (c.gate_mul_ops if m.gated_ffn else 0)

    # ------------------------------------------------------------------ model parts
    def embedding(self, deps: tuple[H, ...]) -> H:
        x, m, c = self.x, self.x.m, self.x.c
        r, h = x.rows, m.hidden
        e = m.embed_proj_dim or h
        last = self.emit("embed.tokens", "embedding", -1, Shape(elements=r * e), 0, deps, lw=r * e, sa=r * e)
        if m.embed_proj_dim:
            last = self.linear("embed.project_in", -1, r, h, e, (last,))
        if m.positions == "learned" and c.positional:
            act = 0 if self.fused else r * h
            last = self.emit("embed.positions", "embedding", -1, Shape(elements=r * h), r * h * c.add_ops,
                             (last,), lw=x.tq * h, la=act, sa=act)
        if m.embedding_norm:
            last = self.norm("embed.norm", -1, r * h, (last,))
        return last

    def attention(self, L: int, inp: H) -> H:
        if self.x.m.is_mla:
            return self.mla(L, inp)
        x, m, c = self.x, self.x.m, self.x.c
        r, h, H, Hk, d = x.rows, m.hidden, m.heads, m.kv_heads, m.head_dim
        p = f"layer{L}.attn."
        kv_direct = c.kv_via_projection
        kv_out = r * Hk * d
        q = self.linear(p + "q_proj", L, r, H * d, h, (inp,), bias=m.qkv_bias)
        k = self.linear(p + "k_proj", L, r, Hk * d, h, (inp,), bias=m.qkv_bias,
                        store=not (kv_direct or self.fused), sk=kv_out if kv_direct else 0)
        v = self.linear(p + "v_proj", L, r, Hk * d, h, (inp,), bias=m.qkv_bias,
                        store=not (kv_direct or self.fused), sk=kv_out if kv_direct else 0)
        qk = (q, k)
        if m.qk_norm:
            n = r * (H + Hk) * d
            qk = (self.norm(p + "qk_norm", L, n, qk),)
        if m.positions == "rope" and c.positional:
            n = r * (H + Hk) * d
            qk = (self.pointwise(p + "rope", "positional", L, r * (H + Hk) * m.rotary_dim, c.rope_ops, qk,
                                 reads=n, writes=n),)
        kv_src = v  # the op whose result the attention's V read waits for
        if not kv_direct:
            kv_src = self.emit(p + "kv_write", "kv_write", L, Shape(elements=2 * kv_out), 0, (*qk, v),
                               la=0 if self.fused else 2 * kv_out, sk=2 * kv_out)
        if x.kv_out is not None:
            x.kv_out[(x.mb, L)] = kv_src
        q_heads = Hk if (x.phase == "prefill" and c.prefill_q_kv_heads) else H  # LLM-Viewer quirk
        kv_read = x.batch * x.lkv * Hk * d
        return self._core(L, p, (*qk, kv_src), H, Hk, d, d, q_read=r * q_heads * d,
                          k_kv=kv_read, v_kv=kv_read)

    def _core(self, L: int, p: str, deps: tuple[H, ...], H: int, Hk: int, dqk: int, dv: int, *,
              q_read: int, k_kv: int, v_kv: int, k_act: int = 0, v_act: int = 0) -> H:
        """Scores, positional bias, softmax and context; returns the context op id."""
        x, m, c = self.x, self.x.m, self.x.c
        g = H // Hk
        s = x.batch * H * x.pairs  # score elements
        kv_prev = (x.kv_in[(x.mb, L)],) if x.kv_in is not None and (x.mb, L) in x.kv_in else ()
        score = self.emit(p + "score", "attn_score", L, Shape(m=g * x.tq, n=x.lkv, k=dqk, count=x.batch * Hk),
                          2 * s * dqk, deps + kv_prev, la=q_read + k_act, sa=0 if self.fused else s, lk=k_kv)
        last = score
        if m.positions == "alibi" and c.positional:
            last = self.pointwise(p + "alibi", "positional", L, s, c.alibi_ops, (last,), reads=s, writes=s)
        last = self.pointwise(p + "softmax", "softmax", L, s, c.softmax_ops, (last,), reads=s, writes=s)
        shape = Shape(m=g * x.tq, n=dv, k=x.lkv, count=x.batch * Hk)
        return self.emit(p + "context", "attn_context", L, shape, 2 * s * dv, (last, *deps[-1:]),
                         la=v_act + (0 if self.fused else s), sa=x.rows * H * dv, lk=v_kv)

    def mla(self, L: int, inp: H) -> H:
        """DeepSeek multi-head latent attention (cache: kv_lora_rank + rope dims per token)."""
        x, m, c = self.x, self.x.m, self.x.c
        r, h, H, B = x.rows, m.hidden, m.heads, x.batch
        nope, rd, vd, kvl = m.qk_nope_head_dim, m.qk_rope_head_dim, m.v_head_dim, m.kv_lora_rank
        dqk = nope + rd
        p = f"layer{L}.attn."
        if m.q_lora_rank:
            qa = self.linear(p + "q_a_proj", L, r, m.q_lora_rank, h, (inp,))
            qn = self.norm(p + "q_a_norm", L, r * m.q_lora_rank, (qa,))
            q = self.linear(p + "q_b_proj", L, r, H * dqk, m.q_lora_rank, (qn,))
        else:
            q = self.linear(p + "q_proj", L, r, H * dqk, h, (inp,))
        lat = kvl + rd
        kva = self.linear(p + "kv_a_proj", L, r, lat, h, (inp,), store=not self.fused)
        kvn = self.norm(p + "kv_a_norm", L, r * kvl, (kva,))
        qk: tuple[int, ...] = (q, kvn)
        if c.positional:
            n = r * (H * dqk + rd)
            qk = (self.pointwise(p + "rope", "positional", L, r * (H + 1) * rd, c.rope_ops, qk,
                                 reads=n, writes=n),)
        kw = self.emit(p + "kv_write", "kv_write", L, Shape(elements=r * lat), 0, qk,
                       la=0 if self.fused else r * lat, sk=r * lat)
        if x.kv_out is not None:
            x.kv_out[(x.mb, L)] = kw
        lkv = x.lkv
        if not c.mla_absorb:
            # naive path: up-project the cached latent of every attended token with kv_b each step
            kvb = self.emit(p + "kv_b_proj", "linear", L, Shape(m=B * lkv, n=H * (nope + vd), k=kvl),
                            2 * B * lkv * kvl * H * (nope + vd), (kw,), lw=kvl * H * (nope + vd),
                            lk=B * lkv * kvl, sa=B * lkv * H * (nope + vd))
            return self._core(L, p, (*qk, kvb), H, H, dqk, vd, q_read=r * H * dqk,
                              k_kv=B * lkv * rd, v_kv=0, k_act=B * lkv * H * nope, v_act=B * lkv * H * vd)
        # absorbed path: queries move into latent space, attention runs as MQA over the latent cache
        qa = self.linear(p + "q_absorb", L, r, kvl, nope, qk, count=H)
        ctx = self._core(L, p, (qa, kw), H, 1, kvl + rd, kvl, q_read=r * H * (kvl + rd),
                         k_kv=B * lkv * lat, v_kv=0 if self.fused else B * lkv * kvl)
        return self.linear(p + "v_up", L, r, vd, kvl, (ctx,), count=H)

    def out_proj(self, L: int, ctx: H) -> H:
        m = self.x.m
        o = self.linear(f"layer{L}.attn.o_proj", L, self.x.rows, m.hidden, m.heads * m.v_dim, (ctx,),
                        bias=m.attn_out_bias)
        return self.all_reduce(f"layer{L}.attn.all_reduce", L, o)

    def residual(self, name: str, L: int, deps: tuple[H, ...]) -> H:
        x, c = self.x, self.x.c
        n = x.rows * x.m.hidden
        operands = len(deps)
        return self.pointwise(name, "elementwise", L, n, c.add_ops * (operands - 1), deps,
                              reads=n * (operands if c.residual_reads_all else 1), writes=n,
                              fused_reads=n * (operands - 1), fused_writes=0)

    def mlp(self, L: int, inp: H, rows: int, width: int, prefix: str, *, bias: bool, kind: str = "linear",
            expert: int | None = None, experts_active: float | None = None,
            extra_deps: tuple[H, ...] = ()) -> H:
        """Dense / expert / shared MLP of intermediate ``width`` on ``rows`` rows; returns the last op."""
        m, c = self.x.m, self.x.c
        h = m.hidden
        kw = dict(bias=bias, kind=kind, expert=expert, experts_active=experts_active)
        aw = rows * (width if c.act_width == "ffn" else h)
        deps = (inp, *extra_deps)
        if m.gated_ffn:
            g = self.linear(prefix + "gate_proj", L, rows, width, h, deps, **kw)
            u = self.linear(prefix + "up_proj", L, rows, width, h, deps, **kw)
            a = self.pointwise(prefix + "act", "activation", L, aw, self.act_ops(), (g, u), reads=2 * aw,
                               writes=aw, fused_reads=rows * width, expert=expert,
                               experts_active=experts_active)
            return self.linear(prefix + "down_proj", L, rows, h, width, (a,), **kw)
        f1 = self.linear(prefix + "fc1", L, rows, width, h, deps, **kw)
        a = self.pointwise(prefix + "act", "activation", L, aw, self.act_ops(), (f1,),
                           reads=aw * (2 if c.act_reads_two else 1), writes=aw, expert=expert,
                           experts_active=experts_active)
        return self.linear(prefix + "fc2", L, rows, h, width, (a,), **kw)

    def route(self, L: int, tokens: int, sequences: int, first: int = 0) -> Routing:
        """The routing source's decision for ``tokens`` tokens of ``sequences`` sequences in layer ``L``."""
        x, m = self.x, self.x.m
        rs = x.routing
        if getattr(rs, "accepts_sequences", False):
            rt = rs.route(L, x.step, tokens, m.num_experts, m.top_k, sequences=sequences,  # type: ignore[call-arg]
                          first_sequence=first)
        else:
            rt = rs.route(L, x.step, tokens, m.num_experts, m.top_k)
        k = rt.top_k
        if not 1 <= k <= m.num_experts or (rt.counts is not None and (
                len(rt.counts) != m.num_experts or sum(rt.counts) != tokens * k)):
            raise ConfigError("routing source returned inconsistent counts", key="routing",
                              value=getattr(rs, "name", rs),
                              expected=f"{m.num_experts} per-expert counts summing to tokens*top_k = {tokens * k}")
        return rt

    def moe(self, L: int, inp: H) -> H:
        x, m, c = self.x, self.x.m, self.x.c
        if x.par.ep > 1:
            return self.moe_ep(L, inp)
        r, h = x.rows, m.hidden
        p = f"layer{L}.moe."
        router = self.router(L, inp)
        rt = self.route(L, r, x.batch, x.mb * x.batch)
        outs: list[H] = []
        if rt.counts is not None:
            for e, cnt in enumerate(rt.counts):
                if cnt:
                    outs.append(self.mlp(L, inp, cnt, m.expert_ffn, f"{p}expert{e}.", bias=False,
                                         kind="expert_linear", expert=e, extra_deps=(router,)))
        elif rt.pairs:
            outs.append(self.mlp(L, inp, rt.pairs, m.expert_ffn, f"{p}experts.", bias=False,
                                 kind="expert_linear", experts_active=rt.distinct, extra_deps=(router,)))
        shared_rows = 0
        if m.shared_expert_ffn:
            outs.append(self.shared(L, inp))
            shared_rows = r
        n = r * h
        return self.emit(p + "combine", "elementwise", L, Shape(elements=n),
                         rt.pairs * h * c.combine_ops + shared_rows * h * c.add_ops, tuple(outs) or (router,),
                         la=(rt.pairs + shared_rows) * h, sa=n)

    def router(self, L: int, inp: H) -> H:
        x, m, c = self.x, self.x.m, self.x.c
        r, h, E = x.rows, m.hidden, m.num_experts
        gate_w = E * h + (E if m.router_bias else 0)
        return self.emit(f"layer{L}.moe.router", "moe_gate", L, Shape(m=r, n=E, k=h),
                         2 * r * h * E + c.router_ops * r * E, (inp,), lw=gate_w, la=r * h, sa=r * E)

    def shared(self, L: int, inp: H) -> H:
        x, m, c = self.x, self.x.m, self.x.c
        r, h = x.rows, m.hidden
        p = f"layer{L}.moe."
        s = self.mlp(L, inp, r, m.shared_expert_ffn, p + "shared.", bias=False)
        if m.shared_expert_gate:
            sg = self.linear(p + "shared_gate", L, r, 1, h, (inp,))
            s = self.pointwise(p + "shared_gate_mul", "elementwise", L, r * h, 0, (s, sg),
                               flops=r * h * c.gate_mul_ops + r * c.silu_ops,
                               reads=r * h + r, writes=r * h)
        return s

    def moe_ep(self, L: int, inp: H) -> H:
        """Expert parallelism: route every rank's tokens, all-to-all to the experts' ranks and back."""
        x, m, c, par = self.x, self.x.m, self.x.c, self.x.par
        r, h, E = x.rows, m.hidden, m.num_experts
        W, tp = par.stage_width, par.tp
        per = E // W
        p = f"layer{L}.moe."
        router = self.router(L, inp)
        total = par.dp * r
        rt = self.route(L, total, par.dp * x.batch, x.mb * par.dp * x.batch)
        k = rt.top_k
        # tokens each stage rank sends: its replica's rows split over the replica's tp ranks
        src_tokens = np.zeros(W, dtype=np.int64)
        for d in range(par.dp):
            for t in range(tp):
                src_tokens[d * tp + t] = (r * (t + 1)) // tp - (r * t) // tp
        pairs = np.zeros((W, W))
        counts = np.zeros((W, per))
        if rt.assignment is not None:
            tok = np.arange(total)
            q = tok % r
            src = (tok // r) * tp + (q * tp) // r
            a = np.asarray(rt.assignment)
            np.add.at(pairs, (np.repeat(src, k), (a // per).ravel()), 1)
            cnt = np.bincount(a.ravel(), minlength=E)
            counts = cnt.reshape(W, per)
            grouped = None
        else:  # expected routing: every source spreads its pairs evenly
            pairs = np.repeat((src_tokens * k / W)[:, None], W, axis=1)
            grouped = (total * k / W, expected_distinct(E, k, total) / W)
        elems = np.rint(pairs * h).astype(np.int64)
        groups = [tuple(self.ranks)]
        dispatch = self.collective(p + "dispatch", "all_to_all", L, int(elems.sum() // W), (router,), groups,
                                   tuple(int(v) for v in elems.ravel()))
        saved = (self.ranks, self.none)
        last: list[H] = []
        for w, rank in enumerate(saved[0]):
            self.ranks, self.none = (rank,), (-1,)
            dep = (dispatch[w],)
            outs: list[int] = []
            if grouped is not None:
                rows = int(round(grouped[0]))
                if rows:
                    outs.append(self.mlp(L, dep, rows, m.expert_ffn, f"{p}experts.", bias=False,
                                         kind="expert_linear", experts_active=grouped[1])[0])
            else:
                for j in range(per):
                    cnt_e = int(counts[w][j])
                    if cnt_e:
                        e = w * per + j
                        outs.append(self.mlp(L, dep, cnt_e, m.expert_ffn, f"{p}expert{e}.", bias=False,
                                             kind="expert_linear", expert=e)[0])
            for o in outs or [dispatch[w]]:
                hnd = [-1] * len(saved[0])
                hnd[w] = o
                last.append(tuple(hnd))
        self.ranks, self.none = saved
        back = tuple(int(v) for v in elems.T.ravel())
        combine = self.collective(p + "combine_all_to_all", "all_to_all", L, int(elems.sum() // W), tuple(last),
                                  groups, back)
        shared = None
        if m.shared_expert_ffn:
            shared = self.all_reduce(p + "shared.all_reduce", L, self.shared(L, inp))
        outs_h = []
        for w, rank in enumerate(saved[0]):
            self.ranks, self.none = (rank,), (-1,)
            rows = int(src_tokens[w])
            deps: tuple[H, ...] = ((combine[w],),) + (((shared[w],),) if shared is not None else ())
            sr = rows if shared is not None else 0
            outs_h.append(self.emit(p + "combine", "elementwise", L, Shape(elements=max(1, rows) * h),
                                    rows * k * h * c.combine_ops + sr * h * c.add_ops, deps,
                                    la=(rows * k + sr) * h, sa=rows * h)[0])
        self.ranks, self.none = saved
        out = tuple(outs_h)
        if tp > 1:
            out = self.collective(p + "all_gather", "all_gather", L, r * h, (out,), self.tp_groups())
        return out

    def layer(self, L: int, inp: H) -> H:
        m = self.x.m
        n = self.x.rows * m.hidden
        n1 = self.norm(f"layer{L}.attn_norm", L, n, (inp,))
        a = self.out_proj(L, self.attention(L, n1))
        if m.parallel_block:
            f = self.ffn(L, n1)
            return self.residual(f"layer{L}.residual", L, (inp, a, f))
        r1 = self.residual(f"layer{L}.attn_residual", L, (inp, a))
        n2 = self.norm(f"layer{L}.mlp_norm", L, n, (r1,))
        return self.residual(f"layer{L}.mlp_residual", L, (r1, self.ffn(L, n2)))

    def ffn(self, L: int, inp: H) -> H:
        if self.x.m.is_moe_layer(L):
            out = self.moe(L, inp)
            if self.x.par.ep > 1:
                return out
            return self.all_reduce(f"layer{L}.moe.all_reduce", L, out)
        out = self.mlp(L, inp, self.x.rows, self.x.m.ffn, f"layer{L}.mlp.", bias=self.x.m.ffn_bias)
        return self.all_reduce(f"layer{L}.mlp.all_reduce", L, out)

    def head(self, inp: H) -> H:
        x, m, c = self.x, self.x.m, self.x.c
        h, V = m.hidden, m.vocab
        last = inp
        if c.final_norm:
            last = self.norm("final_norm", -1, x.rows * h, (last,))
        rows = x.batch if (x.phase == "decode" or c.lm_head_prefill == "last") else x.rows
        e = h
        if m.embed_proj_dim:
            e = m.embed_proj_dim
            last = self.linear("lm_head.project_out", -1, rows, e, h, (last,))
        bias = m.lm_head_bias and c.bias
        flops = c.lm_head_flops_per_mac * rows * e * V + (rows * V if bias else 0)
        act_rows = rows if c.lm_head_act_per_sequence else 1
        out = self.emit("lm_head", "lm_head", -1, Shape(m=rows, n=V, k=e), flops, (last,),
                        lw=V * e + (V if bias else 0), la=act_rows * e, sa=act_rows * V)
        if x.par.tp > 1:  # the vocabulary slices of the logits, gathered
            out = self.collective("lm_head.all_gather", "all_gather", -1, rows * V * x.par.tp, (out,),
                                  self.tp_groups())
        return out

    def kv_send(self, handles: list[H]) -> H:
        """Serial KV transfer (disaggregated serving): one op per rank holding the stage's whole KV cache."""
        x, m = self.x, self.x.m
        layers = len(handles)
        per = m.kv_elems_per_token_per_layer * x.rows * layers
        deps = tuple(handles)
        return self.emit("kv_cache.send", "kv_write", -1, Shape(elements=per), 0, deps)


def _resolve(model: ModelSpec | str, dtypes: DTypes | str | None, conventions: Conventions | str,
             routing: RoutingSource | str, seed: int) -> tuple[ModelSpec, DTypes, Conventions, RoutingSource]:
    m = load_model(model) if isinstance(model, str) else model
    if dtypes is None:
        dt = DTypes()
    elif isinstance(dtypes, str):
        dt = DTypes.uniform(dtypes)
    else:
        dt = dtypes
    rs = get_routing(routing, seed=seed)
    bind = getattr(rs, "bind", None)
    if bind is not None:
        bind(m)
    return m, dt, get_conventions(conventions), rs


def _step(m: ModelSpec, dt: DTypes, c: Conventions, rs: RoutingSource, phase: str, step: int, batch: int,
          prompt: int, next_id: int, prev: dict[int, H], par: Parallel = UNSPLIT,
          out: dict | None = None, kv: dict | None = None) -> Iterator[Op]:
    """The ops of one step. ``prev`` maps each micro-batch to the previous step's LM-head handle; the step's
    own LM-head handles go to ``out["prev"]`` and (disaggregated prefill) its KV handles to ``kv``."""
    if phase == "prefill":
        tq, cached = prompt, 0
        lkv = prompt
    else:
        tq, cached = 1, prompt + step - 1
        lkv = cached + 1 if c.decode_attends_self else cached
    ms = par.shard(m)
    split = par.active
    stages = par.stages(m.layers) if split else [range(m.layers)]
    mbs = par.microbatches if split else 1
    per = batch // (par.dp * mbs) if split else batch
    kv_out = kv if (par.kv_transfer and phase == "prefill" and kv is not None) else None
    kv_in = kv if (par.kv_transfer and step == 1 and kv) else None
    heads: dict[int, H] = {}
    for mb in range(mbs):
        ctx = _Ctx(ms, c, dt, rs, phase, step, per, tq, cached, lkv, par, m, mb, kv_out, kv_in)
        inp: H = ()
        for si, layers in enumerate(stages):
            ranks = par.stage_ranks(si) if split else (-1,)
            b = _Builder(ctx, next_id, ranks, si)
            if si == 0:
                p = prev.get(mb, b.none)
                # the first layer's input: the embedding, else the previous step's LM head (-1: none)
                inp = b.embedding((p,)) if c.embedding else p
                yield from b.buf
                b.buf.clear()
            for L in layers:
                inp = b.layer(L, inp)
                yield from b.buf
                b.buf.clear()
            if kv_out is not None and par.kv_transfer == "serial":
                send = b.kv_send([kv_out[(mb, L)] for L in layers])
                for L in layers:
                    kv_out[(mb, L)] = send
                yield from b.buf
                b.buf.clear()
            if si == len(stages) - 1:
                heads[mb] = b.head(inp)
                yield from b.buf
                b.buf.clear()
            next_id = b.next_id
    if out is not None:
        out["prev"] = heads
        out["next_id"] = next_id


def step_ops(model: ModelSpec | str, phase: str, batch: int, prompt_len: int, step: int = 1, *,
             dtypes: DTypes | str | None = None, conventions: Conventions | str = "default",
             routing: RoutingSource | str = "uniform", seed: int = 0, start_id: int = 0,
             parallel: Parallel | None = None) -> list[Op]:
    """The ops of one step: ``phase="prefill"`` (the prompt) or ``"decode"`` step ``step`` (1 = the first
    token after a ``prompt_len``-token prompt, attending over prompt_len (+1) keys)."""
    if phase not in PHASES:
        raise ConfigError("bad phase", key="phase", value=phase, expected="'prefill' or 'decode'")
    _positive(batch, "batch")
    _positive(prompt_len, "prompt")
    _positive(step, "step")
    m, dt, c, rs = _resolve(model, dtypes, conventions, routing, seed)
    par = parallel or Parallel()
    par.check(m, batch)
    s = 0 if phase == "prefill" else step
    return list(_step(m, dt, c, rs, phase, s, batch, prompt_len, start_id, {}, par))


def generate_trace(model: ModelSpec | str, batch: int, prompt: int, generate: int, *,
                   dtypes: DTypes | str | None = None, conventions: Conventions | str = "default",
                   routing: RoutingSource | str = "uniform", seed: int = 0,
                   parallel: Parallel | None = None) -> Iterator[Op]:
    """Lazily yield the ops of a prefill of ``prompt`` tokens then ``generate`` decode steps, for
    ``batch`` sequences. Each decode step's first op depends on the previous step's LM head.

    ``parallel`` splits the model over ranks (:mod:`sim.workload.parallel`); ParallelError if it does not
    divide the model or the batch."""
    _positive(batch, "batch")
    _positive(prompt, "prompt")
    _positive(generate, "generate", minimum=0)
    m, dt, c, rs = _resolve(model, dtypes, conventions, routing, seed)
    par = parallel or Parallel()
    par.check(m, batch)
    return _generate(m, dt, c, rs, batch, prompt, generate, par)


def _generate(m: ModelSpec, dt: DTypes, c: Conventions, rs: RoutingSource, batch: int, prompt: int,
              generate: int, par: Parallel = UNSPLIT) -> Iterator[Op]:
    next_id = 0
    prev: dict[int, H] = {}
    kv: dict = {}
    for s in range(generate + 1):
        out: dict = {}
        yield from _step(m, dt, c, rs, "prefill" if s == 0 else "decode", s, batch, prompt, next_id, prev, par,
                         out, kv)
        next_id = out["next_id"]
        prev = out["prev"]
        if s >= 1:
            kv = {}


def trace_meta(model: ModelSpec, batch: int, prompt: int, generate: int, *, dtypes: DTypes | None = None,
               conventions: Conventions | str = "default", routing: RoutingSource | str = "uniform",
               seed: int = 0) -> dict[str, Any]:
    """Header metadata describing a generated trace (for :func:`~sim.workload.trace.write_trace`)."""
    c = get_conventions(conventions)
    rs = get_routing(routing, seed=seed)
    return {"model": model.name, "hf_id": model.hf_id, "batch": batch, "prompt": prompt,
            "generate": generate, "dtypes": (dtypes or DTypes()).to_dict(), "conventions": c.name,
            "routing": rs.name, "seed": seed}
