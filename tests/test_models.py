"""Model presets and HF config.json loading."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from sim.errors import ModelError, PimsimError
from sim.workload.models import ModelSpec, list_models, load_model, models_dir

# Published sizes (total, active) in units of 1e9 parameters. The tolerance is the rounding interval of
# the published figure (half a unit of its last digit), capped at 1 %. GPT-3 Medium ("350M"), GPT-3 XL
# and OPT-1.3B ("1.3B") are nominal size labels, not counts: the architectures give 356 M and 1.316 B
# (OPT's exact count is 1,315,758,080), so those three get a 2 % band.
PUBLISHED: dict[str, tuple[str, str | None]] = {
    "gpt2": ("0.124", None),
    "gpt2-medium": ("0.355", None),
    "gpt2-large": ("0.774", None),
    "gpt2-xl": ("1.558", None),
    "gpt3-small": ("0.125", None),
    "gpt3-medium": ("0.350", None),
    "gpt3-large": ("0.760", None),
    "gpt3-xl": ("1.3", None),
    "opt-1.3b": ("1.3", None),
    "gpt-j-6b": ("6.05", None),
    "bloom-176b": ("176.2", None),
    "llama-2-7b": ("6.738", None),
    "llama-2-70b": ("68.98", None),
    "llama-3-8b": ("8.030", None),
    "mixtral-8x7b": ("46.70", "12.88"),
    "deepseek-v2-lite": ("15.71", "2.66"),
    "deepseek-v3": ("671.0", "37.6"),
    "qwen1.5-moe-a2.7b": ("14.32", "2.69"),
    "qwen2-57b-a14b": ("57.41", "14.25"),
    "olmoe-1b-7b": ("6.92", "1.28"),
    "qwen3-30b-a3b": ("30.5", "3.3"),  # Qwen3 model card: 30.5 B in total, 3.3 B activated
}
NOMINAL_LABELS = {"gpt3-medium", "gpt3-xl", "opt-1.3b"}
# published active counts rounded to two digits: 2 % band (Qwen3-30B-A3B: 3.35 B computed)
ROUNDED_ACTIVE = {"qwen3-30b-a3b"}


def _tolerance(text: str) -> float:
    """Relative half-unit of the last published digit, capped at 1 %."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    return min(0.5 * 10 ** -decimals / float(text), 0.01)


def test_every_preset_is_listed_and_checked() -> None:
    assert set(list_models()) == set(PUBLISHED)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_param_counts_match_published(name: str) -> None:
    total, active = load_model(name).param_count()
    pub_total, pub_active = PUBLISHED[name]
    tol = 0.02 if name in NOMINAL_LABELS else _tolerance(pub_total)
    assert total / 1e9 == pytest.approx(float(pub_total), rel=tol), (name, total)
    if pub_active is None:
        assert active == total
    else:
        tol_active = 0.02 if name in ROUNDED_ACTIVE else _tolerance(pub_active)
        assert active / 1e9 == pytest.approx(float(pub_active), rel=tol_active), (name, active)
        assert active < total


def test_exact_counts_with_enough_digits() -> None:
    # exact parameter counts known from the released checkpoints
    assert load_model("gpt2").param_count()[0] == 124_439_808
    assert load_model("opt-1.3b").param_count()[0] == 1_315_758_080
    assert load_model("llama-2-7b").param_count()[0] == 6_738_415_616


def test_family_defaults_and_aliases() -> None:
    g = load_model("gpt2-xl")
    assert (g.hidden, g.layers, g.heads, g.ffn, g.head_dim) == (1600, 48, 25, 6400, 64)
    assert g.norm == "layernorm" and g.positions == "learned" and not g.gated_ffn and g.tie_embeddings
    assert g.act == "gelu" and g.qkv_bias and g.ffn_bias
    j = load_model("gpt-j-6b")
    assert j.parallel_block and j.rotary_dim == 64 and j.ffn == 16384 and j.lm_head_bias
    assert not j.qkv_bias and j.ffn_bias and not j.tie_embeddings
    o = load_model("opt-1.3b")
    assert o.act == "relu" and o.position_offset == 2 and o.ffn == 8192 and o.tie_embeddings
    b = load_model("bloom-176b")
    assert b.positions == "alibi" and b.embedding_norm and b.ffn == 4 * 14336 and b.max_positions == 0
    l70 = load_model("llama-2-70b")
    assert (l70.kv_heads, l70.head_dim, l70.kv_elems_per_token_per_layer) == (8, 128, 2 * 8 * 128)
    mx = load_model("mixtral-8x7b")
    assert (mx.num_experts, mx.top_k, mx.expert_ffn, mx.shared_expert_ffn) == (8, 2, 14336, 0)
    q = load_model("qwen2-57b-a14b")
    assert (q.num_experts, q.expert_ffn, q.shared_expert_ffn, q.shared_expert_gate) == (64, 2560, 20480, True)
    assert q.qkv_bias and not q.attn_out_bias
    ds = load_model("deepseek-v2-lite")
    assert ds.is_mla and ds.q_lora_rank == 0 and ds.kv_elems_per_token_per_layer == 576
    assert (ds.shared_experts, ds.shared_expert_ffn, ds.qk_head_dim, ds.v_dim) == (2, 2 * 1408, 192, 128)
    assert load_model("olmoe-1b-7b").qk_norm == "full"


def test_moe_layer_rules() -> None:
    v3 = load_model("deepseek-v3")
    assert [v3.is_moe_layer(i) for i in range(5)] == [False, False, False, True, True]
    assert v3.moe_layers == 58
    assert not load_model("deepseek-v2-lite").is_moe_layer(0)
    assert load_model("deepseek-v2-lite").moe_layers == 26
    assert load_model("mixtral-8x7b").moe_layers == 32
    assert not load_model("llama-2-7b").is_moe_layer(3)
    q = load_model("qwen1.5-moe-a2.7b")
    assert q.moe_layers == 24
    q2 = replace(q, decoder_sparse_step=2, mlp_only_layers=(5,))
    assert [q2.is_moe_layer(i) for i in range(8)] == [False, True, False, True, False, False, False, True]
    ds = replace(v3, first_k_dense=1, moe_layer_freq=2)
    assert [ds.is_moe_layer(i) for i in range(5)] == [False, False, True, False, True]


# A verbatim-style Hugging Face config.json (extra keys the loader must ignore).
LLAMA_CONFIG = {
    "_name_or_path": "meta-llama/Llama-2-7b-hf", "architectures": ["LlamaForCausalLM"],
    "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 4096,
    "initializer_range": 0.02, "intermediate_size": 11008, "max_position_embeddings": 4096,
    "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 32,
    "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_scaling": None, "tie_word_embeddings": False,
    "torch_dtype": "float16", "transformers_version": "4.31.0.dev0", "use_cache": True, "vocab_size": 32000,
}
QWEN_MOE_CONFIG = {
    "architectures": ["Qwen2MoeForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
    "decoder_sparse_step": 1, "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 2048,
    "initializer_range": 0.02, "intermediate_size": 5632, "max_position_embeddings": 8192,
    "max_window_layers": 21, "model_type": "qwen2_moe", "moe_intermediate_size": 1408,
    "norm_topk_prob": False,
    "num_attention_heads": 16, "num_experts": 60, "num_experts_per_tok": 4, "num_hidden_layers": 24,
    "num_key_value_heads": 16, "output_router_logits": False, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
    "router_aux_loss_coef": 0.001, "shared_expert_intermediate_size": 5632, "sliding_window": 32768,
    "tie_word_embeddings": False, "torch_dtype": "bfloat16", "transformers_version": "4.40.0.dev0",
    "use_cache": True, "use_sliding_window": False, "vocab_size": 151936,
}


def _same_arch(a: ModelSpec, b: ModelSpec) -> bool:
    return replace(a, name="", hf_id="", source="") == replace(b, name="", hf_id="", source="")


def test_load_real_config_json(tmp_path) -> None:
    d = tmp_path / "Llama-2-7b-hf"
    d.mkdir()
    (d / "config.json").write_text(json.dumps(LLAMA_CONFIG))
    m = load_model(str(d / "config.json"))
    assert m.name == "Llama-2-7b-hf" and m.hf_id == "meta-llama/Llama-2-7b-hf"
    assert _same_arch(m, load_model("llama-2-7b"))
    assert load_model(str(d)).param_count() == m.param_count()  # a directory holding config.json
    p = tmp_path / "qwen.json"
    p.write_text(json.dumps(QWEN_MOE_CONFIG))
    q = load_model(p)
    assert _same_arch(q, load_model("qwen1.5-moe-a2.7b"))
    assert q.param_count()[1] / 1e9 == pytest.approx(2.69, abs=0.005)


def test_gpt2_style_keys_and_defaults(tmp_path) -> None:
    cfg = {"model_type": "gpt2", "n_embd": 256, "n_layer": 2, "n_head": 4, "n_inner": None,
           "n_positions": 128, "vocab_size": 1000, "activation_function": "gelu_new"}
    p = tmp_path / "tiny.json"
    p.write_text(json.dumps(cfg))
    m = load_model(p)
    assert (m.ffn, m.head_dim, m.kv_heads, m.tie_embeddings) == (1024, 64, 4, True)
    h, V, P = 256, 1000, 128
    per_layer = 12 * h * h + 13 * h
    assert m.param_count() == (V * h + P * h + 2 * per_layer + 2 * h,) * 2


def test_unknown_name_lists_nearest() -> None:
    with pytest.raises(ModelError) as e:
        load_model("llama-2-7")
    msg = str(e.value)
    assert "llama-2-7b" in msg and "nearest" in msg
    assert isinstance(e.value, PimsimError)


def test_bad_config_errors_name_file_key_value(tmp_path) -> None:
    p = tmp_path / "bad.json"
    p.write_text(json.dumps({**LLAMA_CONFIG, "num_attention_heads": "thirty-two"}))
    with pytest.raises(ModelError, match=r"bad\.json.*'num_attention_heads'.*thirty-two.*expected"):
        load_model(p)
    cfg = dict(LLAMA_CONFIG)
    del cfg["hidden_size"]
    p.write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match=r"bad\.json.*missing key 'hidden_size'"):
        load_model(p)
    p.write_text(json.dumps({**LLAMA_CONFIG, "num_key_value_heads": 5}))
    with pytest.raises(ModelError, match="num_key_value_heads.*5.*divisor"):
        load_model(p)
    p.write_text('{"hidden_size": 4096,\n "x": }')
    with pytest.raises(ModelError, match=r"bad\.json: line 2.*invalid JSON"):
        load_model(p)
    with pytest.raises(ModelError, match="not found"):
        load_model(str(tmp_path / "missing.json"))


def test_models_dir_env_override(tmp_path, monkeypatch) -> None:
    assert (models_dir() / "gpt2.json").is_file()
    (tmp_path / "mine.json").write_text(json.dumps(LLAMA_CONFIG))
    monkeypatch.setenv("PIMSIM_MODELS", str(tmp_path))
    assert list_models() == ["mine"]
    assert load_model("mine").hidden == 4096
    with pytest.raises(ModelError):
        load_model("gpt2")


def test_presets_cite_sources() -> None:
    for name in list_models():
        data = json.loads((models_dir() / f"{name}.json").read_text())
        src = data["_source"]
        assert src["url"].startswith("https://"), name
        assert "hf_id" in src and "revision" in src, name
