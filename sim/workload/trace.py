"""Operator trace IR and its JSON Lines file format (schema: docs/trace-format.md).

A trace file is JSON Lines, optionally gzip-compressed (``.gz``): a header record
``{"format": "pimsim-trace", "version": 1, ...}`` followed by one record per operator, in an order where
every op follows the ops it depends on and ids strictly increase.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sim.errors import TraceError
from sim.workload.dtypes import DTYPES, DTypes

FORMAT = "pimsim-trace"
VERSION = 1

KINDS: dict[str, str] = {
    "embedding": "token or learned-position embedding lookup (a gather of weight rows)",
    "norm": "LayerNorm or RMSNorm",
    "linear": "dense weight GEMM/GEMV: projections, dense MLP, shared experts, MLA projections",
    "positional": "rotary embedding of q/k, or ALiBi bias added to the scores",
    "attn_score": "Q·K^T for one layer, batched over (sequence, KV-head group)",
    "softmax": "softmax over the attention scores",
    "attn_context": "P·V for one layer, batched over (sequence, KV-head group)",
    "kv_write": "store the new tokens' K/V (MLA: compressed latent + rope key) into the KV cache",
    "activation": "MLP nonlinearity (GELU/SiLU/ReLU), including the gate multiply of a gated MLP",
    "elementwise": "residual add, MoE weighted combine, shared-expert gating",
    "moe_gate": "MoE router: logits GEMM + scoring + top-k selection",
    "expert_linear": "one GEMM of a routed expert (expert id set), or of all touched experts (expert null)",
    "lm_head": "projection of the final hidden state onto the vocabulary",
    "collective": "inter-device communication of a group of parallel ranks (all-reduce, all-to-all...)",
}
GEMM_KINDS = frozenset({"linear", "attn_score", "attn_context", "moe_gate", "expert_linear", "lm_head"})
PHASES = ("prefill", "decode")
COLLECTIVES = ("all_reduce", "all_gather", "reduce_scatter", "all_to_all", "broadcast")
BYTE_FIELDS = ("load_weight_bytes", "load_act_bytes", "store_act_bytes", "load_kv_bytes", "store_kv_bytes")


@dataclass(frozen=True, slots=True)
class Shape:
    """GEMM kinds: ``count`` independent (m×k)·(k×n) products. Other kinds: ``elements`` processed."""

    m: int = 0
    n: int = 0
    k: int = 0
    count: int = 1
    elements: int = 0

    def to_dict(self, gemm: bool) -> dict[str, int]:
        if gemm:
            return {"m": self.m, "n": self.n, "k": self.k, "count": self.count}
        return {"elements": self.elements}


@dataclass(slots=True)
class Op:
    """One operator of one step. FLOPs count 2 per multiply-accumulate; byte fields are DRAM traffic.

    ``batch``: sequences in the step; ``tokens``: new tokens per sequence in the step (prompt length in
    prefill, 1 in decode); ``kv_len``: keys each new token attends over in this step; ``heads``: query
    heads of the model. ``experts_active`` is set only on grouped expert ops (expected routing): the
    expected number of distinct experts whose weights the op reads.

    Parallel runs: ``rank`` is the parallel rank that runs the op (-1: not split, the placement policy
    decides). A ``collective`` op is one operation of its whole ``group`` of ranks: ``collective`` names it,
    ``shape.elements`` is the message size per rank in activation elements (see
    :mod:`sim.interconnect.collectives`), and an uneven all-to-all gives ``matrix``, the elements rank
    ``group[i]`` sends to ``group[j]`` at ``i * len(group) + j``.
    """

    id: int
    name: str
    kind: str
    phase: str
    step: int
    layer: int
    shape: Shape
    dtypes: DTypes
    flops: int
    load_weight_bytes: int = 0
    load_act_bytes: int = 0
    store_act_bytes: int = 0
    load_kv_bytes: int = 0
    store_kv_bytes: int = 0
    deps: tuple[int, ...] = ()
    batch: int = 1
    tokens: int = 1
    kv_len: int = 0
    heads: int = 0
    expert: int | None = None
    experts_active: float | None = field(default=None)
    rank: int = -1
    collective: str = ""
    group: tuple[int, ...] = ()
    matrix: tuple[int, ...] = ()

    @property
    def bytes(self) -> int:
        """Total DRAM bytes: the sum of the five byte fields."""
        return (self.load_weight_bytes + self.load_act_bytes + self.store_act_bytes
                + self.load_kv_bytes + self.store_kv_bytes)

    def to_dict(self) -> dict[str, Any]:
        """The JSON record of this op (schema in docs/trace-format.md)."""
        d: dict[str, Any] = {
            "id": self.id, "name": self.name, "kind": self.kind, "phase": self.phase,
            "step": self.step, "layer": self.layer, "expert": self.expert,
            "shape": self.shape.to_dict(self.kind in GEMM_KINDS),
            "dtypes": self.dtypes.to_dict(), "flops": self.flops, "bytes": self.bytes,
            "load_weight_bytes": self.load_weight_bytes, "load_act_bytes": self.load_act_bytes,
            "store_act_bytes": self.store_act_bytes, "load_kv_bytes": self.load_kv_bytes,
            "store_kv_bytes": self.store_kv_bytes, "deps": list(self.deps),
            "batch": self.batch, "tokens": self.tokens, "kv_len": self.kv_len, "heads": self.heads,
        }
        if self.experts_active is not None:
            d["experts_active"] = self.experts_active
        if self.rank >= 0:
            d["rank"] = self.rank
        if self.collective:
            d["collective"] = self.collective
            d["group"] = list(self.group)
            if self.matrix:
                d["matrix"] = list(self.matrix)
        return d

    @classmethod
    def from_dict(cls, d: Any, *, where: str = "<op>") -> Op:
        """Validate and build an op from its JSON record; TraceError names ``where``, field, value."""
        return _parse_op(d, where, {})


# --------------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------------
_REQUIRED = ("id", "name", "kind", "phase", "step", "layer", "expert", "shape", "dtypes", "flops",
             "bytes", *BYTE_FIELDS, "deps", "batch", "tokens", "kv_len", "heads")
_REQUIRED_SET = frozenset(_REQUIRED)
_ALLOWED = frozenset((*_REQUIRED, "experts_active", "rank", "collective", "group", "matrix"))


def _bad(where: str, key: str, value: Any, expected: str) -> TraceError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return TraceError(f"{where}: field '{key}': got {shown}; expected {expected}")


def _int(d: dict[str, Any], key: str, where: str, minimum: int = 0, label: str | None = None) -> int:
    v = d[key]
    if type(v) is not int or v < minimum:  # bool is rejected too (type(True) is bool)
        raise _bad(where, label or key, v, f"an integer >= {minimum}")
    return v


def _parse_op(d: Any, where: str, dtype_cache: dict[tuple[str, str, str], DTypes]) -> Op:
    if not isinstance(d, dict):
        raise TraceError(f"{where}: record is {type(d).__name__}; expected a JSON object (an op)")
    keys = d.keys()
    if not _REQUIRED_SET <= keys:
        key = next(k for k in _REQUIRED if k not in d)
        raise TraceError(f"{where}: missing field '{key}'; expected all of {', '.join(_REQUIRED)}")
    if not keys <= _ALLOWED:
        key = next(k for k in d if k not in _ALLOWED)
        raise TraceError(f"{where}: unknown field '{key}'; expected only {', '.join(sorted(_ALLOWED))}")
    oid = _int(d, "id", where)
    name = d["name"]
    if not isinstance(name, str) or not name:
        raise _bad(where, "name", name, "a non-empty string")
    kind = d["kind"]
    if kind not in KINDS:
        raise _bad(where, "kind", kind, "one of " + ", ".join(KINDS))
    phase = d["phase"]
    if phase not in PHASES:
        raise _bad(where, "phase", phase, "'prefill' or 'decode'")
    step = _int(d, "step", where)
    if (phase == "prefill") != (step == 0):
        raise _bad(where, "step", step, f"0 for prefill and >= 1 for decode (phase is '{phase}')")
    layer = _int(d, "layer", where, minimum=-1)
    expert = d["expert"]
    if expert is not None and (isinstance(expert, bool) or not isinstance(expert, int) or expert < 0):
        raise _bad(where, "expert", expert, "null or an integer >= 0")

    shp = d["shape"]
    gemm = kind in GEMM_KINDS
    want = ("m", "n", "k", "count") if gemm else ("elements",)
    if not isinstance(shp, dict) or set(shp) != set(want):
        raise _bad(where, "shape", shp, f"an object with keys {', '.join(want)} for kind '{kind}'")
    for key in want:
        _int(shp, key, where, minimum=1 if key == "count" else 0, label=f"shape.{key}")
    shape = Shape(**shp)

    dt = d["dtypes"]
    if not isinstance(dt, dict) or set(dt) != {"weight", "act", "kv"}:
        raise _bad(where, "dtypes", dt, "an object with keys weight, act, kv")
    for key in ("weight", "act", "kv"):
        if dt[key] not in DTYPES:
            raise _bad(where, f"dtypes.{key}", dt[key], "one of " + ", ".join(DTYPES))
    tkey = (dt["weight"], dt["act"], dt["kv"])
    dtypes = dtype_cache.get(tkey)
    if dtypes is None:
        dtypes = dtype_cache[tkey] = DTypes(*tkey)

    flops = _int(d, "flops", where)
    b = [_int(d, key, where) for key in BYTE_FIELDS]
    total = _int(d, "bytes", where)
    if total != sum(b):
        raise _bad(where, "bytes", total, f"the sum of the five byte fields ({sum(b)})")
    deps = d["deps"]
    if not isinstance(deps, list):
        raise _bad(where, "deps", deps, "a list of op ids")
    for x in deps:
        if type(x) is not int or not 0 <= x < oid:
            raise _bad(where, "deps", x, f"ids of earlier ops (integers in 0..{oid - 1})")
    batch = _int(d, "batch", where, minimum=1)
    tokens = _int(d, "tokens", where, minimum=1)
    kv_len = _int(d, "kv_len", where)
    heads = _int(d, "heads", where)
    act = d.get("experts_active")
    if act is not None and (isinstance(act, bool) or not isinstance(act, int | float)
                            or not math.isfinite(act) or act < 0):
        raise _bad(where, "experts_active", act, "a non-negative number")
    rank = d.get("rank", -1)
    if type(rank) is not int or rank < -1:
        raise _bad(where, "rank", rank, "an integer >= 0 (or absent)")
    coll = d.get("collective", "")
    group: tuple[int, ...] = ()
    matrix: tuple[int, ...] = ()
    if kind == "collective":
        if coll not in COLLECTIVES:
            raise _bad(where, "collective", coll, "one of " + ", ".join(COLLECTIVES))
        g = d.get("group")
        if (not isinstance(g, list) or not g or any(type(x) is not int or x < 0 for x in g)
                or len(set(g)) != len(g)):
            raise _bad(where, "group", g, "a non-empty list of distinct ranks (integers >= 0)")
        group = tuple(g)
        mx = d.get("matrix")
        if mx is not None:
            if (not isinstance(mx, list) or len(mx) != len(g) ** 2
                    or any(type(x) is not int or x < 0 for x in mx)):
                raise _bad(where, "matrix", mx, f"{len(g) ** 2} non-negative integers (group size squared)")
            matrix = tuple(mx)
    elif coll or "group" in d or "matrix" in d:
        raise _bad(where, "collective", coll, "no collective/group/matrix fields on a non-collective op")
    return Op(id=oid, name=name, kind=kind, phase=phase, step=step, layer=layer, shape=shape,
              dtypes=dtypes, flops=flops, load_weight_bytes=b[0], load_act_bytes=b[1],
              store_act_bytes=b[2], load_kv_bytes=b[3], store_kv_bytes=b[4], deps=tuple(deps),
              batch=batch, tokens=tokens, kv_len=kv_len, heads=heads, expert=expert,
              experts_active=act, rank=rank, collective=coll, group=group, matrix=matrix)


# --------------------------------------------------------------------------------------------------
# file I/O
# --------------------------------------------------------------------------------------------------
def _open(path: Path, mode: str) -> IO[str]:
    if path.suffix == ".gz":
        raw = gzip.open(path, mode + "b", compresslevel=6) if "w" in mode else gzip.open(path, mode + "b")
        return io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
    return open(path, mode, encoding="utf-8", newline="\n")


def write_trace(path: str | os.PathLike[str], ops: Iterable[Op], *,
                meta: dict[str, Any] | None = None) -> int:
    """Write a header and ``ops`` as JSON Lines (gzip if ``path`` ends in .gz); return the op count.

    ``ops`` is consumed lazily, so a generator of any length streams to disk in constant memory.
    ``meta`` (JSON-serialisable) is stored in the header record.
    """
    p = Path(path)
    header: dict[str, Any] = {"format": FORMAT, "version": VERSION}
    if meta:
        header.update({k: v for k, v in meta.items() if k not in header})
    n = 0
    last = -1
    with _open(p, "w") as f:
        f.write(json.dumps(header, separators=(",", ":")) + "\n")
        for op in ops:
            if op.id <= last:
                raise TraceError(f"{p}: op {op.name!r}: id {op.id} does not increase (previous {last}); "
                                 "expected strictly increasing op ids")
            last = op.id
            f.write(json.dumps(op.to_dict(), separators=(",", ":")) + "\n")
            n += 1
    return n


def _records(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with _open(path, "r") as f:
            yield from enumerate(f, 1)
    except FileNotFoundError:
        raise TraceError(f"{path}: trace file not found") from None
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise TraceError(f"{path}: cannot read trace ({e}); expected JSON Lines, "
                         "optionally gzip-compressed (.gz)") from None


def _parse_header(path: Path, lineno: int, line: str) -> dict[str, Any]:
    try:
        h = json.loads(line)
    except json.JSONDecodeError as e:
        raise TraceError(f"{path}:{lineno}: invalid JSON ({e.msg} at column {e.colno}); expected the "
                         f"header record {{\"format\": \"{FORMAT}\", \"version\": {VERSION}}}") from None
    if not isinstance(h, dict) or h.get("format") != FORMAT:
        got = h.get("format") if isinstance(h, dict) else h
        raise TraceError(f"{path}:{lineno}: field 'format': got {got!r}; expected the header record "
                         f"with \"format\": \"{FORMAT}\" as the first line")
    v = h.get("version")
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= VERSION:
        raise TraceError(f"{path}:{lineno}: field 'version': got {v!r}; expected an integer "
                         f"1..{VERSION} (this pimsim reads trace format version {VERSION})")
    return h


def read_trace_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The header record of a trace file (format, version and the writer's metadata)."""
    p = Path(path)
    for lineno, line in _records(p):
        if line.strip():
            return _parse_header(p, lineno, line)
    raise TraceError(f"{p}: empty trace; expected a header record and op records")


def read_trace(path: str | os.PathLike[str]) -> Iterator[Op]:
    """Yield the ops of a trace file one by one, validating each; TraceError names file, line, field."""
    p = Path(path)
    header_seen = False
    last = -1
    cache: dict[tuple[str, str, str], DTypes] = {}
    for lineno, line in _records(p):
        if not line.strip():
            continue
        if not header_seen:
            _parse_header(p, lineno, line)
            header_seen = True
            continue
        where = f"{p}:{lineno}"
        try:
            d = json.loads(line)
        except json.JSONDecodeError as e:
            raise TraceError(f"{where}: invalid JSON ({e.msg} at column {e.colno}); expected one op "
                             "record per line") from None
        op = _parse_op(d, where, cache)
        if op.id <= last:
            raise _bad(where, "id", op.id, f"an id greater than the previous op's ({last})")
        last = op.id
        yield op
    if not header_seen:
        raise TraceError(f"{p}: empty trace; expected a header record and op records")


# --------------------------------------------------------------------------------------------------
# totals
# --------------------------------------------------------------------------------------------------
TOTAL_FIELDS = ("flops", *BYTE_FIELDS, "bytes")


def phase_totals(ops: Iterable[Op]) -> dict[str, dict[str, int]]:
    """Sum FLOPs and bytes per phase: ``{"prefill": {...}, "decode": {...}, "total": {...}}``.

    Each inner dict has ``flops``, the five byte fields, ``bytes``, ``ops`` (op count) and ``steps``
    (distinct steps seen).
    """
    out: dict[str, dict[str, int]] = {}
    steps: dict[str, set[int]] = {}
    for ph in (*PHASES, "total"):
        out[ph] = dict.fromkeys((*TOTAL_FIELDS, "ops", "steps"), 0)
        steps[ph] = set()
    for op in ops:
        for ph in (op.phase, "total"):
            t = out[ph]
            t["flops"] += op.flops
            t["load_weight_bytes"] += op.load_weight_bytes
            t["load_act_bytes"] += op.load_act_bytes
            t["store_act_bytes"] += op.store_act_bytes
            t["load_kv_bytes"] += op.load_kv_bytes
            t["store_kv_bytes"] += op.store_kv_bytes
            t["bytes"] += op.bytes
            t["ops"] += 1
            steps[ph].add(op.step)
    for ph in out:
        out[ph]["steps"] = len(steps[ph])
    return out
