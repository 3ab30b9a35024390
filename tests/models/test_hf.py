"""The Transformers stack every model user shares: the device, the tokenizer and its errors."""

from __future__ import annotations

import pytest

from curate.core.errors import CurateError, MissingDependencyError

pytest.importorskip("transformers")


def test_device_rules():
    import torch

    from curate.models.hf import resolve_device

    assert resolve_device("cpu") == "cpu"
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "mps" if mps else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(CurateError, match=r"^device: cuda was asked for but no CUDA GPU is visible"):
            resolve_device("cuda")
    if not mps:
        with pytest.raises(CurateError, match=r"^device: mps was asked for but Apple's MPS is not available"):
            resolve_device("mps")


def test_device_rules_for_ctranslate2():
    ctranslate2 = pytest.importorskip("ctranslate2")
    from curate.models.hf import resolve_device

    gpus = ctranslate2.get_cuda_device_count() > 0
    assert resolve_device("auto", "ctranslate2") == ("cuda" if gpus else "cpu")
    if not gpus:
        with pytest.raises(CurateError, match="no CUDA GPU is visible"):
            resolve_device("cuda", "ctranslate2")


def test_a_tokenizer_that_is_not_here_is_a_clear_error(tmp_path, monkeypatch):
    from curate.models.hf import load_tokenizer

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(
        CurateError,
        match=r"^base model 'no-such-org/no-such-model' could not be loaded: .*"
        r"download it once with `hf download no-such-org/no-such-model`",
    ):
        load_tokenizer("no-such-org/no-such-model", "base model")
    with pytest.raises(CurateError, match=rf"^model '{tmp_path}' could not be loaded: "):
        load_tokenizer(str(tmp_path))


def test_a_tokenizer_without_padding_pads_with_its_end_token(tmp_path):
    from transformers import PreTrainedTokenizerFast

    from curate.models.hf import load_tokenizer
    from curate.models.tiny import train_byte_bpe

    backend = train_byte_bpe(["a few words to learn from", "and a few more"], 300, ["<|end|>"])
    PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|end|>").save_pretrained(tmp_path)
    tokenizer = load_tokenizer(str(tmp_path))
    assert tokenizer.pad_token == "<|end|>" and tokenizer.pad_token_id == tokenizer.eos_token_id == 0


def test_missing_extra_names_the_package(monkeypatch):
    import importlib.util

    from curate.models.hf import require

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "peft" else real(name, *a))
    with pytest.raises(MissingDependencyError, match=r"needs the Python package 'peft'.*pip install 'curate\[train\]'"):
        require()
