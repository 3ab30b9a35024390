"""Model loading: LoRA targets per architecture, frozen layers, devices, QLoRA rules, clear errors."""

import pytest

from curate.core.errors import CurateError
from tests.train.conftest import needs_train

pytestmark = [needs_train, pytest.mark.filterwarnings("ignore::FutureWarning")]


def test_lora_targets_per_architecture(tiny_marian, tiny_qwen2):
    from curate.train.model import load_model, lora_targets

    marian = load_model(str(tiny_marian), "seq2seq", "cpu")
    qwen = load_model(str(tiny_qwen2), "causal", "cpu")
    assert lora_targets(marian, "auto") == ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"]
    assert lora_targets(qwen, "auto") == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    assert lora_targets(qwen, "all-linear") == "all-linear"
    assert lora_targets(qwen, ["q_proj", "v_proj"]) == ["q_proj", "v_proj"]
    with pytest.raises(
        CurateError, match=r"lora.target_modules: query not in the model \(its linear modules: down_proj,"
    ):
        lora_targets(qwen, ["query"])


def test_lora_share_and_freeze(tiny_marian):
    from curate.train.config import parse_config
    from curate.train.model import apply_freeze, apply_lora, load_model, parameter_counts

    config = parse_config({"base_model": str(tiny_marian), "lora": {"r": 4}})
    model = apply_lora(load_model(str(tiny_marian), "seq2seq", "cpu"), config, "seq2seq", False, False)
    trainable, _ = parameter_counts(model)
    # 2+2 layers; per layer r*(in+out) for q,k,v,out (32->32) and fc1 (32->64), fc2 (64->32); decoders add cross-attention
    per_linear = {"attn": 4 * (32 + 32), "fc": 4 * (32 + 64)}
    enc = 4 * per_linear["attn"] + 2 * per_linear["fc"]
    dec = 8 * per_linear["attn"] + 2 * per_linear["fc"]
    assert trainable == 2 * enc + 2 * dec
    frozen = apply_freeze(model, ["*decoder.layers.1.*"])
    assert frozen == 2 * (8 + 2) and parameter_counts(model)[0] == trainable - dec  # lora_A and lora_B of 10 linears
    with pytest.raises(CurateError, match="freeze: nothing.here matches no parameter"):
        apply_freeze(model, ["nothing.here"])


def test_precision_and_quantization_rules():
    import torch

    from curate.train.model import resolve_dtype, resolve_quantization

    assert resolve_dtype("fp32", "cpu") is None and resolve_dtype("auto", "cpu") is None
    assert resolve_dtype("bf16", "cpu") == torch.bfloat16
    with pytest.raises(CurateError, match="fp16 needs a GPU"):
        resolve_dtype("fp16", "cpu")
    assert resolve_quantization("auto", "cpu", full=False) == "none"
    with pytest.raises(CurateError, match="needs a CUDA GPU"):
        resolve_quantization("4bit", "cpu", full=False)
    with pytest.raises(CurateError, match="is for LoRA"):
        resolve_quantization("4bit", "cuda", full=True)


def test_missing_model_is_a_clear_error(tmp_path, monkeypatch):
    from curate.train.model import model_type

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CurateError, match=r"base model '.*nope' could not be loaded: .*hf download"):
        model_type(str(tmp_path / "nope"))
