"""The tiny local models: laid out as the real families are, built once, never half-built, the same on every build."""

from __future__ import annotations

import json

import pytest

from curate.models import tiny
from tests.augment import models


def test_read_pairs_skips_what_is_not_a_pair(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(
        b'{"src": "a", "tgt": "b"}\nnot json\n\n{"src": null, "tgt": "c"}\n\xff\xfe\n'
        b'{"src": "a", "tgt": "b"}\n{"tgt": "d"}\n[1, 2]\n{"src": "e", "tgt": "f"}\n'
    )
    assert tiny.read_pairs(path, "src", "tgt") == [("a", "b"), ("e", "f")]
    assert tiny.read_pairs(path, "tgt", "src") == [("b", "a"), ("f", "e")]


def test_build_once_builds_once_and_never_leaves_half_a_model(tmp_path):
    calls = []

    def build(folder):
        calls.append(folder)
        (folder / "config.json").write_text("{}")

    target = tmp_path / "m"
    assert tiny.build_once(target, "k1", build) == target and (target / "config.json").is_file()
    tiny.build_once(target, "k1", build)
    assert len(calls) == 1
    tiny.build_once(target, "k2", build)  # another key: built again
    assert len(calls) == 2 and (target / tiny.DONE).read_text() == "k2"

    def broken(folder):
        (folder / "config.json").write_text("{}")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        tiny.build_once(tmp_path / "n", "k", broken)
    assert not (tmp_path / "n").exists() and [p.name for p in tmp_path.iterdir()] == ["m"]


def test_marian_layout_as_opus_mt():
    pytest.importorskip("transformers")
    import torch
    from safetensors.torch import load_file

    path = models.model("marian-yid-eng")
    vocab = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
    assert vocab["</s>"] == 0 and vocab["<unk>"] == 1 and vocab["<pad>"] == len(vocab) - 1
    config = json.loads((path / "config.json").read_text())
    assert config["decoder_start_token_id"] == vocab["<pad>"] and config.get("forced_eos_token_id") is None
    weights = load_file(path / "model.safetensors")
    shared = next(v for k, v in weights.items() if k.endswith(("shared.weight", "embed_tokens.weight")))
    assert torch.count_nonzero(shared[vocab["<pad>"]]) == 0  # the decoder starts from a zero vector in both engines


def test_causal_tokenizers_and_chat_templates():
    pytest.importorskip("transformers")
    from transformers import AutoTokenizer

    qwen = AutoTokenizer.from_pretrained(models.model("qwen2-yid"))
    llama = AutoTokenizer.from_pretrained(models.model("llama"))
    assert qwen.bos_token is None and qwen.eos_token == "<|im_end|>" and qwen.pad_token == "<|endoftext|>"
    assert llama.bos_token == "<s>"  # CTranslate2's Generator fails on a Llama tokenizer without one
    chat = [{"role": "user", "content": "שלום"}]
    assert (
        qwen.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        == "<|im_start|>user\nשלום<|im_end|>\n<|im_start|>assistant\n"
    )
    assert llama.apply_chat_template(chat, tokenize=False).startswith("<s><|im_start|>user")
    # byte-level: any text round-trips, whatever its script
    text = "Ωμέγα 漢字 ײִדיש 🙂"
    assert qwen.decode(qwen(text, add_special_tokens=False)["input_ids"]) == text


def test_readme_and_recipe_give_the_same_command():
    from tests.conftest import ROOT

    command = "python -m curate.models.tiny augment out/models/tiny && curate run recipes/augment.yaml"
    assert command in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert f"#     {command}" in (ROOT / "recipes" / "augment.yaml").read_text(encoding="utf-8").splitlines()


def test_base_model_builder_is_deterministic_and_its_command_says_what_it_did(tmp_path, capsys):
    pytest.importorskip("transformers")
    data = tmp_path / "data"
    data.mkdir()
    (data / "pairs.jsonl").write_text(
        "".join(json.dumps({"text": a, "target": b}, ensure_ascii=False) + "\n" for a, b in models.pairs()),
        encoding="utf-8",
    )
    texts = tiny.texts_from(data)
    assert len(texts) == 2 * len(models.pairs())
    a = tiny.build_tiny("marian", tmp_path / "a", texts, vocab_size=300)
    assert tiny.main(["base", str(tmp_path / "b"), "--kind", "marian", "--data", str(data), "--vocab-size", "300"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"building a tiny random marian model (d_model 32, 2 layers, vocabulary 300) from {len(texts):,} texts of {data}",
        f"wrote a tiny marian model to {tmp_path / 'b'}; train on it with `base_model: {tmp_path / 'b'}` (it shows the "
        "mechanics, it does not translate)",
    ]
    assert tiny.main(["base", str(tmp_path / "c"), "--data", str(tmp_path / "empty")]) == 1
    assert capsys.readouterr().err == f"error: {tmp_path / 'empty'}: no text found to train a tokenizer on\n"
    for name in ("tokenizer.json", "model.safetensors", "config.json"):
        assert (a / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (a / "model.safetensors").stat().st_size < 400_000  # a few hundred kB
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging folder left
