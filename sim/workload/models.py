"""Model architectures read from Hugging Face ``config.json`` files.

A preset is a small JSON file in ``traces/models/NAME.json`` holding HF config field names plus a
``"_source"`` entry (HF id, revision, URL). :func:`load_model` also accepts the path of any real HF
``config.json``: per-family key aliases are normalised (``n_embd``/``hidden_size``, ``n_layer``/
``num_hidden_layers``, ``num_local_experts``/``num_experts``/``n_routed_experts``, ...) and defaults
that live in the HF modelling code (``head_dim``, ``n_inner=None`` -> 4·d, biases, norms) are applied.
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from sim.errors import ModelError

# --------------------------------------------------------------------------------------------------
# Family table: architecture facts that are not in config.json but in the HF modelling code.
# gated: SwiGLU-style gate*up MLP; norm; positions; tie: default of tie_word_embeddings;
# qkv_bias / out_bias / ffn_bias: biases of attention q/k/v, attention output, MLP linears.
# --------------------------------------------------------------------------------------------------
_FAMILIES: dict[str, dict[str, Any]] = {
    "gpt2": dict(gated=False, norm="layernorm", positions="learned", tie=True,
                 qkv_bias=True, out_bias=True, ffn_bias=True),
    "opt": dict(gated=False, norm="layernorm", positions="learned", tie=True,
                qkv_bias=True, out_bias=True, ffn_bias=True),
    "gptj": dict(gated=False, norm="layernorm", positions="rope", tie=False,
                 qkv_bias=False, out_bias=False, ffn_bias=True, parallel=True, lm_head_bias=True),
    "gpt_neox": dict(gated=False, norm="layernorm", positions="rope", tie=False,
                     qkv_bias=True, out_bias=True, ffn_bias=True),
    "bloom": dict(gated=False, norm="layernorm", positions="alibi", tie=True,
                  qkv_bias=True, out_bias=True, ffn_bias=True, embedding_norm=True),
    "falcon": dict(gated=False, norm="layernorm", positions="rope", tie=True,
                   qkv_bias=False, out_bias=False, ffn_bias=False, parallel=True),
    "llama": dict(gated=True, norm="rmsnorm", positions="rope", tie=False,
                  qkv_bias=False, out_bias=False, ffn_bias=False),
    "mistral": dict(gated=True, norm="rmsnorm", positions="rope", tie=False,
                    qkv_bias=False, out_bias=False, ffn_bias=False),
    "mixtral": dict(gated=True, norm="rmsnorm", positions="rope", tie=False,
                    qkv_bias=False, out_bias=False, ffn_bias=False),
    "qwen2": dict(gated=True, norm="rmsnorm", positions="rope", tie=False,
                  qkv_bias=True, out_bias=False, ffn_bias=False),
    "qwen2_moe": dict(gated=True, norm="rmsnorm", positions="rope", tie=False,
                      qkv_bias=True, out_bias=False, ffn_bias=False),
    "qwen3": dict(gated=True, norm="rmsnorm", positions="rope", tie=False,
                  qkv_bias=False, out_bias=False, ffn_bias=False, qk_norm="head"),
    "qwen3_moe": dict(gated=True, norm="rmsnorm", positions="rope", tie=False,
                      qkv_bias=False, out_bias=False, ffn_bias=False, qk_norm="head"),
    "olmoe": dict(gated=True, norm="rmsnorm", positions="rope", tie=False,
                  qkv_bias=False, out_bias=False, ffn_bias=False, qk_norm="full"),
    "deepseek_v2": dict(gated=True, norm="rmsnorm", positions="rope", tie=False,
                        qkv_bias=False, out_bias=False, ffn_bias=False),
    "deepseek_v3": dict(gated=True, norm="rmsnorm", positions="rope", tie=False,
                        qkv_bias=False, out_bias=False, ffn_bias=False, router_bias=True),
}
# Unknown model types are read as a Llama-like decoder (rmsnorm, rope, no biases, gated if SiLU).
_GENERIC = dict(gated=None, norm="rmsnorm", positions="rope", tie=False,
                qkv_bias=False, out_bias=False, ffn_bias=False)

_ACT_ALIASES = {
    "gelu": "gelu", "gelu_new": "gelu", "gelu_fast": "gelu", "gelu_pytorch_tanh": "gelu",
    "gelu_python": "gelu", "gelu_accurate": "gelu", "quick_gelu": "gelu",
    "silu": "silu", "swish": "silu", "swiglu": "silu",
    "relu": "relu",
}
_FAMILY_ACT = {"gpt2": "gelu_new", "opt": "relu", "gptj": "gelu_new", "gpt_neox": "gelu",
               "bloom": "gelu", "falcon": "gelu"}


@dataclass(frozen=True)
class ModelSpec:
    """Architecture of a decoder-only transformer, normalised across HF families.

    Sizes are element counts (not bytes). ``ffn`` is the dense MLP intermediate width; MoE layers use
    ``expert_ffn`` per routed expert and ``shared_expert_ffn`` (total width) for the shared expert(s).
    MLA (DeepSeek) is active when ``kv_lora_rank > 0``; ``q_lora_rank == 0`` means a direct q projection.
    """

    name: str
    hf_id: str
    model_type: str
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    ffn: int
    vocab: int
    max_positions: int
    act: str = "silu"
    gated_ffn: bool = True
    norm: str = "rmsnorm"
    positions: str = "rope"
    tie_embeddings: bool = False
    qkv_bias: bool = False
    attn_out_bias: bool = False
    ffn_bias: bool = False
    lm_head_bias: bool = False
    parallel_block: bool = False
    rotary_dim: int = 0
    position_offset: int = 0
    embedding_norm: bool = False
    qk_norm: str = ""  # "" | "full" (norm over heads*head_dim, OLMoE) | "head" (per head, Qwen3)
    embed_proj_dim: int = 0  # OPT word_embed_proj_dim; 0 or == hidden means no projection
    # MoE
    num_experts: int = 0
    top_k: int = 0
    expert_ffn: int = 0
    shared_experts: int = 0
    shared_expert_ffn: int = 0
    shared_expert_gate: bool = False
    router_bias: bool = False
    moe_rule: str = "none"  # none | all | deepseek | qwen
    first_k_dense: int = 0
    moe_layer_freq: int = 1
    decoder_sparse_step: int = 1
    mlp_only_layers: tuple[int, ...] = ()
    # MLA
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int = 0
    source: str = ""
    revision: str | None = field(default=None, compare=False)

    # ---------------------------------------------------------------- structure
    @property
    def is_moe(self) -> bool:
        return self.num_experts > 0 and self.moe_rule != "none"

    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank > 0

    @property
    def qk_head_dim(self) -> int:
        """Per-head dimension of queries and keys (MLA: nope + rope part)."""
        return self.qk_nope_head_dim + self.qk_rope_head_dim if self.is_mla else self.head_dim

    @property
    def v_dim(self) -> int:
        """Per-head dimension of values."""
        return self.v_head_dim if self.is_mla else self.head_dim

    def is_moe_layer(self, i: int) -> bool:
        """True if decoder layer ``i`` (0-based) has a routed-expert MLP, per the family's rule."""
        if not self.is_moe:
            return False
        if self.moe_rule == "all":
            return True
        if self.moe_rule == "deepseek":
            return i >= self.first_k_dense and i % self.moe_layer_freq == 0
        if self.moe_rule == "qwen":
            return i not in self.mlp_only_layers and (i + 1) % self.decoder_sparse_step == 0
        return False

    @property
    def moe_layers(self) -> int:
        return sum(self.is_moe_layer(i) for i in range(self.layers))

    @property
    def kv_elems_per_token_per_layer(self) -> int:
        """Elements cached per token per layer: 2·kv_heads·head_dim (MLA: kv_lora_rank + rope dim)."""
        if self.is_mla:
            return self.kv_lora_rank + self.qk_rope_head_dim
        return 2 * self.kv_heads * self.head_dim

    # ---------------------------------------------------------------- parameters
    def _norm_params(self, width: int) -> int:
        return 2 * width if self.norm == "layernorm" else width

    def attention_params(self) -> int:
        """Parameters of one attention block (projections, biases, q/k norms)."""
        h = self.hidden
        if self.is_mla:
            qd = self.heads * self.qk_head_dim
            if self.q_lora_rank:
                n = h * self.q_lora_rank + self.q_lora_rank + self.q_lora_rank * qd
            else:
                n = h * qd
            n += h * (self.kv_lora_rank + self.qk_rope_head_dim) + self.kv_lora_rank
            n += self.kv_lora_rank * self.heads * (self.qk_nope_head_dim + self.v_head_dim)
            n += self.heads * self.v_head_dim * h
            return n
        q = self.heads * self.head_dim
        kv = self.kv_heads * self.head_dim
        n = h * (q + 2 * kv) + q * h
        if self.qkv_bias:
            n += q + 2 * kv
        if self.attn_out_bias:
            n += h
        if self.qk_norm == "full":
            n += q + kv
        elif self.qk_norm == "head":
            n += 2 * self.head_dim
        return n

    def mlp_params(self, width: int, *, bias: bool | None = None) -> int:
        """Parameters of one MLP of intermediate width ``width`` (gated: 3 matrices, else 2)."""
        h = self.hidden
        bias = self.ffn_bias if bias is None else bias
        n = (3 if self.gated_ffn else 2) * h * width
        if bias:
            n += (2 * width if self.gated_ffn else width) + h
        return n

    def expert_params(self) -> int:
        """Parameters of one routed expert."""
        return self.mlp_params(self.expert_ffn, bias=False)

    def layer_params(self, i: int) -> tuple[int, int]:
        """(total, active per token) parameters of decoder layer ``i``."""
        h = self.hidden
        n = self.attention_params()
        n += self._norm_params(h) * (1 if self.parallel_block else 2)
        if self.is_mla:
            pass  # q_a / kv_a norms are counted in attention_params
        if not self.is_moe_layer(i):
            n += self.mlp_params(self.ffn)
            return n, n
        router = self.num_experts * h + (self.num_experts if self.router_bias else 0)
        shared = self.mlp_params(self.shared_expert_ffn, bias=False) if self.shared_expert_ffn else 0
        if self.shared_expert_gate:
            shared += h
        total = n + router + shared + self.num_experts * self.expert_params()
        active = n + router + shared + self.top_k * self.expert_params()
        return total, active

    def embedding_params(self) -> int:
        """Token and position embeddings, embedding norm, final norm and LM head (with tying)."""
        h = self.hidden
        emb_dim = self.embed_proj_dim or h
        n = self.vocab * emb_dim
        if emb_dim != h:
            n += 2 * emb_dim * h  # OPT project_in / project_out (no bias)
        if self.positions == "learned":
            n += (self.max_positions + self.position_offset) * h
        if self.embedding_norm:
            n += self._norm_params(h)
        n += self._norm_params(h)  # final norm
        if not self.tie_embeddings:
            n += self.vocab * emb_dim
        if self.lm_head_bias:
            n += self.vocab
        return n

    def param_count(self) -> tuple[int, int]:
        """(total parameters, parameters active per token) - MoE counts only top-k routed experts."""
        total = active = self.embedding_params()
        for i in range(self.layers):
            t, a = self.layer_params(i)
            total += t
            active += a
        return total, active


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------
def models_dir() -> Path:
    """Directory of the shipped model presets (``traces/models``); env ``PIMSIM_MODELS`` overrides."""
    env = os.environ.get("PIMSIM_MODELS")
    if env:
        return Path(env)
    import sim

    return Path(sim.__file__).resolve().parent.parent / "traces" / "models"


def list_models() -> list[str]:
    """Names of the shipped model presets, sorted."""
    d = models_dir()
    return sorted(p.stem for p in d.glob("*.json")) if d.is_dir() else []


def load_model(name_or_path: str | os.PathLike[str]) -> ModelSpec:
    """Load a preset by name (e.g. ``"llama-2-7b"``) or any HF ``config.json`` by path."""
    text = os.fspath(name_or_path)
    path = Path(text)
    looks_like_path = text.endswith(".json") or os.sep in text or "/" in text
    if looks_like_path or (path.suffix and path.exists()):
        if path.is_dir():
            path = path / "config.json"
        if not path.is_file():
            raise ModelError(f"{path}: model file not found; expected a preset name or the path of an "
                             f"HF config.json (presets: {', '.join(list_models())})")
        name = path.parent.name if path.name == "config.json" else path.stem
        return spec_from_config(_read_json(path), name=name, file=str(path))
    names = list_models()
    lowered = {n.lower(): n for n in names}
    if text.lower() not in lowered:
        near = difflib.get_close_matches(text.lower(), list(lowered), n=5, cutoff=0.4)
        hint = f"; nearest: {', '.join(lowered[n] for n in near)}" if near else ""
        raise ModelError(f"unknown model {text!r}{hint}; expected one of {', '.join(names)} "
                         f"(in {models_dir()}) or the path of an HF config.json")
    p = models_dir() / f"{lowered[text.lower()]}.json"
    return spec_from_config(_read_json(p), name=p.stem, file=str(p))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ModelError(f"{path}: line {e.lineno} column {e.colno}: invalid JSON ({e.msg}); "
                         "expected an HF config.json object") from None
    except OSError as e:
        raise ModelError(f"{path}: cannot read model file ({e.strerror})") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: top level is {type(data).__name__}; expected a JSON object")
    return data


class _Reader:
    """Reads typed values from a config dict, naming the file and key in every error."""

    def __init__(self, cfg: dict[str, Any], file: str) -> None:
        self.cfg, self.file = cfg, file

    def has(self, *keys: str) -> bool:
        return any(self.cfg.get(k) is not None for k in keys)

    def int(self, *keys: str, default: int | None = None, what: str = "a positive integer",
            minimum: int = 1) -> int:
        for k in keys:
            v = self.cfg.get(k)
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
                raise ModelError(f"{self.file}: key '{k}': got {v!r}; expected {what}")
            return v
        if default is None:
            alt = f" (or {', '.join(keys[1:])})" if len(keys) > 1 else ""
            raise ModelError(f"{self.file}: missing key '{keys[0]}'{alt}; expected {what}")
        return default

    def bool(self, key: str, default: bool) -> bool:
        v = self.cfg.get(key)
        if v is None:
            return default
        if not isinstance(v, bool):
            raise ModelError(f"{self.file}: key '{key}': got {v!r}; expected true or false")
        return v

    def str(self, *keys: str, default: str | None = None) -> str | None:
        for k in keys:
            v = self.cfg.get(k)
            if v is None:
                continue
            if not isinstance(v, str):
                raise ModelError(f"{self.file}: key '{k}': got {v!r}; expected a string")
            return v
        return default


def spec_from_config(cfg: dict[str, Any], *, name: str = "model", file: str = "<config>") -> ModelSpec:
    """Build a :class:`ModelSpec` from a parsed HF config dict (see :func:`load_model`)."""
    r = _Reader(cfg, file)
    mtype = r.str("model_type", default="") or ""
    fam = _FAMILIES.get(mtype, _GENERIC)
    src = cfg.get("_source") or {}
    if not isinstance(src, dict):
        raise ModelError(f"{file}: key '_source': got {src!r}; expected an object with hf_id, url")
    hf_id = src.get("hf_id") or r.str("_name_or_path", default="") or ""

    hidden = r.int("hidden_size", "n_embd", "d_model", "n_embed", what="the hidden size (positive integer)")
    layers = r.int("num_hidden_layers", "n_layer", "num_layers", what="the number of layers")
    heads = r.int("num_attention_heads", "n_head", "num_heads", what="the number of attention heads")
    if r.has("num_key_value_heads", "num_kv_heads"):
        kv_heads = r.int("num_key_value_heads", "num_kv_heads", what="the number of KV heads")
    elif cfg.get("multi_query"):
        kv_heads = 1
    else:
        kv_heads = heads
    if heads % kv_heads:
        raise ModelError(f"{file}: key 'num_key_value_heads': got {kv_heads}; expected a divisor of "
                         f"num_attention_heads ({heads})")
    if r.has("head_dim"):
        head_dim = r.int("head_dim", what="the per-head dimension")
    else:
        if hidden % heads:
            raise ModelError(f"{file}: key 'num_attention_heads': got {heads}; expected a divisor of the "
                             f"hidden size {hidden} (or give 'head_dim')")
        head_dim = hidden // heads

    # dense MLP width; GPT-2 style n_inner=None and BLOOM/Falcon mean 4*d
    ffn = r.int("intermediate_size", "n_inner", "ffn_dim", default=4 * hidden,
                what="the MLP intermediate size")
    vocab = r.int("vocab_size", what="the vocabulary size")
    positions = fam["positions"]
    if cfg.get("alibi") is True:
        positions = "alibi"
    max_pos = r.int("max_position_embeddings", "n_positions", "n_ctx", "seq_length",
                    default=0 if positions == "alibi" else None, minimum=0,
                    what="the maximum number of positions")

    act_raw = r.str("hidden_act", "activation_function", default=_FAMILY_ACT.get(mtype, "silu"))
    if act_raw not in _ACT_ALIASES:
        raise ModelError(f"{file}: key 'hidden_act': got {act_raw!r}; expected one of "
                         f"{', '.join(sorted(_ACT_ALIASES))}")
    act = _ACT_ALIASES[act_raw]
    gated = fam["gated"] if fam["gated"] is not None else act == "silu"

    rotary_dim = 0
    if positions == "rope":
        if r.has("rotary_dim"):
            rotary_dim = r.int("rotary_dim", what="the rotary dimension")
        elif "rotary_pct" in cfg or "partial_rotary_factor" in cfg:
            frac = cfg.get("rotary_pct", cfg.get("partial_rotary_factor"))
            if not isinstance(frac, int | float) or not 0 < frac <= 1:
                raise ModelError(f"{file}: key 'rotary_pct': got {frac!r}; expected a number in (0, 1]")
            rotary_dim = int(head_dim * frac)
        else:
            rotary_dim = head_dim

    qkv_bias = fam["qkv_bias"]
    out_bias = fam["out_bias"]
    ffn_bias = fam["ffn_bias"]
    if "attention_bias" in cfg:
        qkv_bias = out_bias = r.bool("attention_bias", qkv_bias)
    if "qkv_bias" in cfg:
        qkv_bias = r.bool("qkv_bias", qkv_bias)
    if "mlp_bias" in cfg:
        ffn_bias = r.bool("mlp_bias", ffn_bias)
    if "enable_bias" in cfg:  # OPT
        qkv_bias = out_bias = ffn_bias = r.bool("enable_bias", True)
    if "bias" in cfg and isinstance(cfg["bias"], bool):  # Falcon-style
        qkv_bias = out_bias = ffn_bias = cfg["bias"]

    parallel = bool(fam.get("parallel", False))
    if "use_parallel_residual" in cfg:
        parallel = r.bool("use_parallel_residual", parallel)
    if "parallel_attn" in cfg:
        parallel = r.bool("parallel_attn", parallel)

    # MoE
    num_experts = r.int("num_local_experts", "num_experts", "n_routed_experts", default=0, minimum=0,
                        what="the number of routed experts")
    top_k = expert_ffn = shared_n = shared_ffn = 0
    shared_gate = False
    moe_rule = "none"
    first_k = r.int("first_k_dense_replace", default=0, minimum=0, what="a non-negative integer")
    freq = r.int("moe_layer_freq", default=1, what="a positive integer")
    sparse_step = r.int("decoder_sparse_step", default=1, what="a positive integer")
    mlp_only = cfg.get("mlp_only_layers") or []
    if not isinstance(mlp_only, list) or not all(isinstance(i, int) for i in mlp_only):
        raise ModelError(f"{file}: key 'mlp_only_layers': got {mlp_only!r}; expected a list of layer indices")
    if num_experts:
        top_k = r.int("num_experts_per_tok", "top_k", "moe_top_k", what="experts per token (top-k)")
        if top_k > num_experts:
            raise ModelError(f"{file}: key 'num_experts_per_tok': got {top_k}; expected at most the "
                             f"number of experts ({num_experts})")
        expert_ffn = r.int("moe_intermediate_size", "intermediate_size", what="the expert MLP width")
        if r.has("n_shared_experts"):
            shared_n = r.int("n_shared_experts", minimum=0, what="a non-negative integer")
            shared_ffn = shared_n * expert_ffn
        if r.has("shared_expert_intermediate_size"):
            shared_ffn = r.int("shared_expert_intermediate_size", minimum=0, what="a non-negative integer")
            shared_n = 1 if shared_ffn else 0
            shared_gate = shared_ffn > 0
        if mtype.startswith("deepseek") or "first_k_dense_replace" in cfg:
            moe_rule = "deepseek"
        elif "decoder_sparse_step" in cfg or mtype.startswith("qwen"):
            moe_rule = "qwen"
        else:
            moe_rule = "all"

    # MLA
    kv_lora = r.int("kv_lora_rank", default=0, minimum=0, what="a non-negative integer")
    q_lora = r.int("q_lora_rank", default=0, minimum=0, what="a non-negative integer")
    nope = rope_d = v_hd = 0
    if kv_lora:
        nope = r.int("qk_nope_head_dim", what="the no-position query/key head dim")
        rope_d = r.int("qk_rope_head_dim", what="the rotary query/key head dim")
        v_hd = r.int("v_head_dim", what="the value head dim")
        rotary_dim = rope_d
        head_dim = nope + rope_d

    proj = r.int("word_embed_proj_dim", default=0, minimum=0, what="a non-negative integer")
    if proj == hidden:
        proj = 0

    return ModelSpec(
        name=name, hf_id=str(hf_id), model_type=mtype or "unknown",
        hidden=hidden, layers=layers, heads=heads, kv_heads=kv_heads, head_dim=head_dim,
        ffn=ffn, vocab=vocab, max_positions=max_pos, act=act, gated_ffn=gated, norm=fam["norm"],
        positions=positions, tie_embeddings=r.bool("tie_word_embeddings", fam["tie"]),
        qkv_bias=qkv_bias, attn_out_bias=out_bias, ffn_bias=ffn_bias,
        lm_head_bias=bool(fam.get("lm_head_bias", False)), parallel_block=parallel,
        rotary_dim=rotary_dim, position_offset=2 if mtype == "opt" else 0,
        embedding_norm=bool(fam.get("embedding_norm", False)), qk_norm=fam.get("qk_norm", ""),
        embed_proj_dim=proj,
        num_experts=num_experts, top_k=top_k, expert_ffn=expert_ffn, shared_experts=shared_n,
        shared_expert_ffn=shared_ffn, shared_expert_gate=shared_gate,
        router_bias=bool(fam.get("router_bias", False)) and num_experts > 0, moe_rule=moe_rule,
        first_k_dense=first_k, moe_layer_freq=freq, decoder_sparse_step=sparse_step,
        mlp_only_layers=tuple(mlp_only),
        q_lora_rank=q_lora, kv_lora_rank=kv_lora, qk_nope_head_dim=nope, qk_rope_head_dim=rope_d,
        v_head_dim=v_hd, source=str(src.get("url", "")), revision=src.get("revision"),
    )


def spec_fields() -> list[str]:
    """Names of the :class:`ModelSpec` fields (for reports)."""
    return [f.name for f in fields(ModelSpec)]
