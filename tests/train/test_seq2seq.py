"""LoRA on a tiny MarianMT end to end: the loss goes down, the adapter reloads and reproduces the trained model's
outputs, the merged model equals base + adapter, the CTranslate2 export translates like it."""

import json

import numpy as np
import pytest

from tests.train.conftest import needs_train, train_config

pytestmark = [needs_train, pytest.mark.slow, pytest.mark.filterwarnings("ignore::FutureWarning")]


@pytest.fixture(scope="module")
def trained(curated, tiny_marian, tmp_path_factory):
    from curate.train.runner import TrainOptions, run_training

    out = tmp_path_factory.mktemp("seq2seq") / "run"
    config = train_config(tiny_marian, curated, out, sampling={"temperature": 2.0})
    result = run_training(config, TrainOptions(merge=True))
    return config, result


def config_dir(trained):
    """The curated output the model was trained on."""
    from pathlib import Path

    return Path(trained[0].data.dir)


def eval_inputs(config):
    """The trainer's own evaluation rows and encoding, rebuilt the way it builds them."""
    from curate.models.hf import load_tokenizer
    from curate.train.data import build_examples, cap_per_language, encode, read_split

    examples = build_examples(read_split(config.data.dir, "validation"), config, evaluation=True)
    examples = cap_per_language(examples, config.data.max_eval_rows_per_language)
    tokenizer = load_tokenizer(str(config.output_dir))
    return examples, tokenizer, encode(examples, tokenizer, "seq2seq", 48, 48)


def losses(model, tokenizer, encoded):
    from curate.train.evaluate import example_losses

    sums, counts = example_losses(model, encoded, "seq2seq", "cpu", None, tokenizer.pad_token_id, 16)
    return sums / counts


def test_outputs_and_metrics(trained):
    _, result = trained
    out = result.output
    for name in (
        "adapter_model.safetensors",
        "adapter_config.json",
        "tokenizer.json",
        "metrics.json",
        "eval_table.md",
        "samples.jsonl",
        "train_config.yaml",
        "README.md",
        "merged/model.safetensors",
    ):
        assert (out / name).is_file(), name
    assert not (out / "checkpoints").exists()
    m = json.loads((out / "metrics.json").read_text())
    assert (m["task"], m["method"], m["train"]["steps"]) == ("seq2seq", "lora", 30)
    assert 0 < m["parameters"]["trainable_share"] < 0.2
    # the training rows are the curated train split's rows that have a target, by their target language
    import polars as pl

    train = pl.read_parquet(config_dir(trained) / "data" / "train-*.parquet")
    expected = dict(train.filter(pl.col("target").is_not_null())["tgt_lang"].value_counts().iter_rows())
    assert m["data"]["languages"] == expected and set(expected) == {"deu", "fra", "gla", "spa", "swh", "yid"}
    assert m["data"]["skipped"] == {"no target": train["target"].null_count()}
    counts = list(expected.values())
    assert m["data"]["sampling_shares"]["yid"] == pytest.approx(np.sqrt(expected["yid"]) / sum(np.sqrt(counts)))
    assert m["data"]["recipe_hash"] and m["data"]["card"].endswith("README.md")
    assert set(m["eval"]["languages"]) == {"deu", "fra", "gla", "spa", "swh", "yid"}
    assert [row["lang"] for row in map(json.loads, (out / "samples.jsonl").read_text().splitlines())] == [
        "deu",
        "fra",
        "gla",
        "spa",
        "swh",
        "yid",
    ]
    table = (out / "eval_table.md").read_text()
    assert table.splitlines()[0] == "| set | language | name | rows | loss | chrF | BLEU |"
    assert "| validation | `gla` | Scottish Gaelic | " in table
    card = (out / "README.md").read_text()
    assert card.startswith("---\nbase_model: ") and "library_name: peft" in card and m["data"]["recipe_hash"] in card
    assert "[dataset card](" in card and "## Evaluation (validation split)" in card


def test_loss_goes_down(trained, tiny_marian):
    from curate.train.model import load_model

    config, result = trained
    _, tokenizer, encoded = eval_inputs(config)
    base = losses(load_model(str(tiny_marian), "seq2seq", "cpu"), tokenizer, encoded)
    tuned = result.metrics["eval"]["overall"]["loss"]
    assert tuned < base.mean() - 0.2, (tuned, base.mean())
    history = result.metrics["train"]["history"]
    assert history[-1]["loss"] < history[0]["loss"]


def test_adapter_reloads_and_reproduces_the_trained_outputs(trained, tiny_marian):
    from peft import PeftModel

    from curate.train.evaluate import example_losses, generate
    from curate.train.model import load_model

    config, result = trained
    examples, tokenizer, encoded = eval_inputs(config)
    model = PeftModel.from_pretrained(load_model(str(tiny_marian), "seq2seq", "cpu"), str(result.output))
    # the same generations as the trained model in memory wrote to samples.jsonl
    outputs = dict(zip(examples.sources, generate(model, tokenizer, encoded, "seq2seq", "cpu", None, 16, 8)))
    recorded = [json.loads(line) for line in (result.output / "samples.jsonl").read_text().splitlines()]
    assert [outputs[s["input"]] for s in recorded] == [s["output"] for s in recorded]
    # and the same per-language losses
    sums, counts = example_losses(model, encoded, "seq2seq", "cpu", None, tokenizer.pad_token_id, 16)
    for lang, scores in result.metrics["eval"]["languages"].items():
        mask = examples.langs == lang
        assert scores["rows"] == int(mask.sum())
        assert sums[mask].sum() / counts[mask].sum() == pytest.approx(scores["loss"], abs=1e-4)


def test_merged_model_equals_base_plus_adapter(trained, tiny_marian):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForSeq2SeqLM

    from curate.train.data import collate
    from curate.train.evaluate import generate, to_device
    from curate.train.model import load_model

    config, result = trained
    _, tokenizer, encoded = eval_inputs(config)
    adapted = PeftModel.from_pretrained(load_model(str(tiny_marian), "seq2seq", "cpu"), str(result.output)).eval()
    merged = AutoModelForSeq2SeqLM.from_pretrained(result.output / "merged").eval()
    batch = to_device(collate(encoded, list(range(8)), tokenizer.pad_token_id, "seq2seq"), "cpu")
    with torch.no_grad():
        a = adapted(**batch).logits
        b = merged(**batch).logits
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert generate(adapted, tokenizer, encoded, "seq2seq", "cpu", None, 16, 8) == generate(
        merged, tokenizer, encoded, "seq2seq", "cpu", None, 16, 8
    )


def test_ct2_export_translates_like_the_merged_model(trained, tmp_path):
    ctranslate2 = pytest.importorskip("ctranslate2")
    import torch
    from transformers import AutoModelForSeq2SeqLM

    from curate.train.export import export_ct2

    config, result = trained
    _, tokenizer, encoded = eval_inputs(config)
    converted = export_ct2(result.output / "merged", tmp_path / "ct2")
    translator = ctranslate2.Translator(str(converted), device="cpu")
    sources = [tokenizer.convert_ids_to_tokens(ids) for ids in encoded.input_ids[:6]]
    hyps = translator.translate_batch(sources, beam_size=1, max_decoding_length=8)
    merged = AutoModelForSeq2SeqLM.from_pretrained(result.output / "merged").eval()
    for ids, hyp in zip(encoded.input_ids[:6], hyps):
        with torch.no_grad():
            out = merged.generate(input_ids=torch.tensor([ids]), max_new_tokens=8, num_beams=1, do_sample=False)
        expected = [t for t in out[0].tolist()[1:] if t not in (tokenizer.eos_token_id, tokenizer.pad_token_id)]
        assert tokenizer.convert_tokens_to_ids(hyp.hypotheses[0])[: len(expected)] == expected[: len(hyp.hypotheses[0])]
