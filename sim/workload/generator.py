"""Operator-trace generator: model + workload -> a lazy stream of :class:`~sim.workload.trace.Op`.

A run is one prefill step (step 0, the whole prompt of every sequence) followed by ``generate`` decode
steps (step s >= 1 feeds one token per sequence; ``s`` tokens have then been generated). Ops are produced
layer by layer, so only one layer of one step is ever held in memory.

Accounting rules (what each op reads, writes and computes) follow a :class:`Conventions` preset; the
formulas are listed per op in docs/conventions.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sim.errors import ConfigError
from sim.workload.conventions import Conventions, get_conventions
from sim.workload.dtypes import DTypes, nbytes
from sim.workload.models import ModelSpec, load_model
from sim.workload.routing import RoutingSource, get_routing
from sim.workload.trace import Op, Shape

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
    """Emits ops of one step with consecutive ids; ops collect in ``buf`` until drained."""

    def __init__(self, ctx: _Ctx, next_id: int) -> None:
        self.x = ctx
        self.next_id = next_id
        self.buf: list[Op] = []
        self.fused = ctx.c.fused

    # ------------------------------------------------------------------ primitives
    def emit(self, name: str, kind: str, layer: int, shape: Shape, flops: int, deps: tuple[int, ...], *,
             lw: int = 0, la: int = 0, sa: int = 0, lk: int = 0, sk: int = 0, lw_bytes: int | None = None,
             expert: int | None = None, experts_active: float | None = None) -> int:
        """Append an op; traffic arguments are element counts (weights, activations, KV)."""
        x = self.x
        dt = x.dt
        op = Op(
            id=self.next_id, name=name, kind=kind, phase=x.phase, step=x.step, layer=layer, shape=shape,
            dtypes=dt, flops=int(flops),
            load_weight_bytes=nbytes(lw, dt.w) if lw_bytes is None else lw_bytes,
            load_act_bytes=nbytes(la, dt.a), store_act_bytes=nbytes(sa, dt.a),
            load_kv_bytes=nbytes(lk, dt.k), store_kv_bytes=nbytes(sk, dt.k),
            deps=tuple(d for d in deps if d >= 0), batch=x.batch, tokens=x.tq, kv_len=x.lkv,
            heads=x.m.heads, expert=expert, experts_active=experts_active,
        )
        self.buf.append(op)
        self.next_id += 1
        return op.id

    def linear(self, name: str, layer: int, rows: int, n: int, k: int, deps: tuple[int, ...], *,
               bias: bool = False, store: bool = True, count: int = 1, kind: str = "linear",
               expert: int | None = None, experts_active: float | None = None, sk: int = 0) -> int:
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
                  deps: tuple[int, ...], *, reads: int, writes: int, fused_reads: int = 0,
                  fused_writes: int = 0, flops: int | None = None, expert: int | None = None,
                  experts_active: float | None = None) -> int:
        """A non-GEMM op; traffic differs between "every_op" (reads/writes) and "fused" (fused_*)."""
        la, sa = (fused_reads, fused_writes) if self.fused else (reads, writes)
        f = elements * ops_per_elem if flops is None else flops
        return self.emit(name, kind, layer, Shape(elements=elements), f, deps, la=la, sa=sa,
                         expert=expert, experts_active=experts_active)

    def norm(self, name: str, layer: int, elements: int, deps: tuple[int, ...]) -> int:
        c = self.x.c
        per = c.layernorm_ops if self.x.m.norm == "layernorm" else c.rmsnorm_ops
        return self.pointwise(name, "norm", layer, elements, per, deps, reads=elements, writes=elements)

    def act_ops(self) -> int:
        c, m = self.x.c, self.x.m
        per = {"gelu": c.gelu_ops, "silu": c.silu_ops, "relu": c.relu_ops}[m.act]
        return per + (c.gate_mul_ops if m.gated_ffn else 0)

    # ------------------------------------------------------------------ model parts
    def embedding(self, deps: tuple[int, ...]) -> int:
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

    def attention(self, L: int, inp: int) -> int:
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
        q_heads = Hk if (x.phase == "prefill" and c.prefill_q_kv_heads) else H  # LLM-Viewer quirk
        kv_read = x.batch * x.lkv * Hk * d
        return self._core(L, p, (*qk, kv_src), H, Hk, d, d, q_read=r * q_heads * d,
                          k_kv=kv_read, v_kv=kv_read)

    def _core(self, L: int, p: str, deps: tuple[int, ...], H: int, Hk: int, dqk: int, dv: int, *,
              q_read: int, k_kv: int, v_kv: int, k_act: int = 0, v_act: int = 0) -> int:
        """Scores, positional bias, softmax and context; returns the context op id."""
        x, m, c = self.x, self.x.m, self.x.c
        g = H // Hk
        s = x.batch * H * x.pairs  # score elements
        score = self.emit(p + "score", "attn_score", L, Shape(m=g * x.tq, n=x.lkv, k=dqk, count=x.batch * Hk),
                          2 * s * dqk, deps, la=q_read + k_act, sa=0 if self.fused else s, lk=k_kv)
        last = score
        if m.positions == "alibi" and c.positional:
            last = self.pointwise(p + "alibi", "positional", L, s, c.alibi_ops, (last,), reads=s, writes=s)
        last = self.pointwise(p + "softmax", "softmax", L, s, c.softmax_ops, (last,), reads=s, writes=s)
        shape = Shape(m=g * x.tq, n=dv, k=x.lkv, count=x.batch * Hk)
        return self.emit(p + "context", "attn_context", L, shape, 2 * s * dv, (last, *deps[-1:]),
                         la=v_act + (0 if self.fused else s), sa=x.rows * H * dv, lk=v_kv)

    def mla(self, L: int, inp: int) -> int:
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

    def out_proj(self, L: int, ctx: int) -> int:
        m = self.x.m
        return self.linear(f"layer{L}.attn.o_proj", L, self.x.rows, m.hidden, m.heads * m.v_dim, (ctx,),
                           bias=m.attn_out_bias)

    def residual(self, name: str, L: int, deps: tuple[int, ...]) -> int:
        x, c = self.x, self.x.c
        n = x.rows * x.m.hidden
        operands = len(deps)
        return self.pointwise(name, "elementwise", L, n, c.add_ops * (operands - 1), deps,
                              reads=n * (operands if c.residual_reads_all else 1), writes=n,
                              fused_reads=n * (operands - 1), fused_writes=0)

    def mlp(self, L: int, inp: int, rows: int, width: int, prefix: str, *, bias: bool, kind: str = "linear",
            expert: int | None = None, experts_active: float | None = None,
            extra_deps: tuple[int, ...] = ()) -> int:
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

    def moe(self, L: int, inp: int) -> int:
        x, m, c = self.x, self.x.m, self.x.c
        r, h, E, k = x.rows, m.hidden, m.num_experts, m.top_k
        p = f"layer{L}.moe."
        gate_w = E * h + (E if m.router_bias else 0)
        router = self.emit(p + "router", "moe_gate", L, Shape(m=r, n=E, k=h),
                           2 * r * h * E + c.router_ops * r * E, (inp,), lw=gate_w, la=r * h, sa=r * E)
        rt = x.routing.route(L, x.step, r, E, k)
        if rt.counts is not None and (len(rt.counts) != E or sum(rt.counts) != r * k):
            raise ConfigError("routing source returned inconsistent counts", key="routing",
                              value=getattr(x.routing, "name", x.routing),
                              expected=f"{E} per-expert counts summing to tokens*top_k = {r * k}")
        outs: list[int] = []
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
            s = self.mlp(L, inp, r, m.shared_expert_ffn, p + "shared.", bias=False)
            if m.shared_expert_gate:
                sg = self.linear(p + "shared_gate", L, r, 1, h, (inp,))
                s = self.pointwise(p + "shared_gate_mul", "elementwise", L, r * h, 0, (s, sg),
                                   flops=r * h * c.gate_mul_ops + r * c.silu_ops,
                                   reads=r * h + r, writes=r * h)
            outs.append(s)
            shared_rows = r
        n = r * h
        return self.emit(p + "combine", "elementwise", L, Shape(elements=n),
                         rt.pairs * h * c.combine_ops + shared_rows * h * c.add_ops, tuple(outs) or (router,),
                         la=(rt.pairs + shared_rows) * h, sa=n)

    def layer(self, L: int, inp: int) -> int:
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

    def ffn(self, L: int, inp: int) -> int:
        if self.x.m.is_moe_layer(L):
            return self.moe(L, inp)
        return self.mlp(L, inp, self.x.rows, self.x.m.ffn, f"layer{L}.mlp.", bias=self.x.m.ffn_bias)

    def head(self, inp: int) -> int:
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
        return self.emit("lm_head", "lm_head", -1, Shape(m=rows, n=V, k=e), flops, (last,),
                         lw=V * e + (V if bias else 0), la=act_rows * e, sa=act_rows * V)


def _resolve(model: ModelSpec | str, dtypes: DTypes | str | None, conventions: Conventions | str,
             routing: RoutingSource | str, seed: int) -> tuple[ModelSpec, DTypes, Conventions, RoutingSource]:
    m = load_model(model) if isinstance(model, str) else model
    if dtypes is None:
        dt = DTypes()
    elif isinstance(dtypes, str):
        dt = DTypes.uniform(dtypes)
    else:
        dt = dtypes
    return m, dt, get_conventions(conventions), get_routing(routing, seed=seed)


def _step(m: ModelSpec, dt: DTypes, c: Conventions, rs: RoutingSource, phase: str, step: int, batch: int,
          prompt: int, next_id: int, prev: tuple[int, ...]) -> Iterator[Op]:
    if phase == "prefill":
        tq, cached = prompt, 0
        lkv = prompt
    else:
        tq, cached = 1, prompt + step - 1
        lkv = cached + 1 if c.decode_attends_self else cached
    ctx = _Ctx(m, c, dt, rs, phase, step, batch, tq, cached, lkv)
    b = _Builder(ctx, next_id)
    # the first layer's input: the embedding, else the previous step's LM head (-1: none)
    inp = b.embedding(prev) if c.embedding else (prev[0] if prev else -1)
    yield from b.buf
    b.buf.clear()
    for L in range(m.layers):
        inp = b.layer(L, inp)
        yield from b.buf
        b.buf.clear()
    b.head(inp)
    yield from b.buf


def step_ops(model: ModelSpec | str, phase: str, batch: int, prompt_len: int, step: int = 1, *,
             dtypes: DTypes | str | None = None, conventions: Conventions | str = "default",
             routing: RoutingSource | str = "uniform", seed: int = 0, start_id: int = 0) -> list[Op]:
    """The ops of one step: ``phase="prefill"`` (the prompt) or ``"decode"`` step ``step`` (1 = the first
    token after a ``prompt_len``-token prompt, attending over prompt_len (+1) keys)."""
    if phase not in PHASES:
        raise ConfigError("bad phase", key="phase", value=phase, expected="'prefill' or 'decode'")
    _positive(batch, "batch")
    _positive(prompt_len, "prompt")
    _positive(step, "step")
    m, dt, c, rs = _resolve(model, dtypes, conventions, routing, seed)
    s = 0 if phase == "prefill" else step
    return list(_step(m, dt, c, rs, phase, s, batch, prompt_len, start_id, ()))


def generate_trace(model: ModelSpec | str, batch: int, prompt: int, generate: int, *,
                   dtypes: DTypes | str | None = None, conventions: Conventions | str = "default",
                   routing: RoutingSource | str = "uniform", seed: int = 0) -> Iterator[Op]:
    """Lazily yield the ops of a prefill of ``prompt`` tokens then ``generate`` decode steps, for
    ``batch`` sequences. Each decode step's first op depends on the previous step's LM head."""
    _positive(batch, "batch")
    _positive(prompt, "prompt")
    _positive(generate, "generate", minimum=0)
    m, dt, c, rs = _resolve(model, dtypes, conventions, routing, seed)
    return _generate(m, dt, c, rs, batch, prompt, generate)


def _generate(m: ModelSpec, dt: DTypes, c: Conventions, rs: RoutingSource, batch: int, prompt: int,
              generate: int) -> Iterator[Op]:
    next_id = 0
    prev: tuple[int, ...] = ()
    for s in range(generate + 1):
        last = None
        for op in _step(m, dt, c, rs, "prefill" if s == 0 else "decode", s, batch, prompt, next_id, prev):
            last = op
            yield op
        assert last is not None
        next_id = last.id + 1
        prev = (last.id,)


def trace_meta(model: ModelSpec, batch: int, prompt: int, generate: int, *, dtypes: DTypes | None = None,
               conventions: Conventions | str = "default", routing: RoutingSource | str = "uniform",
               seed: int = 0) -> dict[str, Any]:
    """Header metadata describing a generated trace (for :func:`~sim.workload.trace.write_trace`)."""
    c = get_conventions(conventions)
    rs = get_routing(routing, seed=seed)
    return {"model": model.name, "hf_id": model.hf_id, "batch": batch, "prompt": prompt,
            "generate": generate, "dtypes": (dtypes or DTypes()).to_dict(), "conventions": c.name,
            "routing": rs.name, "seed": seed}
