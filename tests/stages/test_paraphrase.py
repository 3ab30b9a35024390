"""`paraphrase`: LLM rewrites over an OpenAI-compatible endpoint (scripted loopback server: exact reasons), and with
the tiny local Qwen2 chat model on CTranslate2 and Transformers."""

from __future__ import annotations

import re

import polars as pl
import pytest

from curate.stages.base import StepContext
from curate.stages.registry import get_step
from tests.augment.servers import ScriptedServer

# Tatoeba-style German sentences and what the scripted "LLM" answers for each
SCRIPT = {
    "Alle Änderungen werden protokolliert.": (200, "Alle Änderungen werden aufgezeichnet."),  # a paraphrase
    "Schau dir das an.": (200, "„Schau dir das an!“"),  # the input again
    "Alle Hunde sind gute Hunde.": (200, "All dogs are good dogs."),  # English
    "Der Zug fährt um acht Uhr ab.": (200, "Meine Katze schläft den ganzen Tag auf dem Sofa."),  # something else
    "Ich habe heute keine Zeit.": (400, "context length exceeded"),  # refused
    "Er liest jeden Abend ein Buch.": (200, "Jeden Abend liest er ein Buch."),  # a paraphrase
    "Sie liest jeden Abend ein Buch.": (200, "Jeden Abend liest er ein Buch."),  # the same answer again
    "Das ist alles.": (200, "Das ist wirklich absolut alles, was wir heute noch zu sagen haben."),  # too long
}


def answer(prompt: str, attempt: int):
    text = prompt.split(": ", 1)[1]
    status, reply = SCRIPT[text]
    return status, reply, {}


def german() -> pl.DataFrame:
    texts = list(SCRIPT)
    return pl.DataFrame(
        {
            "_id": [f"de{i}" for i in range(len(texts))],
            "_source": "x",
            "_row": list(range(len(texts))),
            "text": texts,
            "text_lang": ["deu"] * len(texts),
        }
    )


def http_step(url, tmp_path, **params):
    config = {
        "backend": "http",
        "base_url": url,
        "model": "scripted",
        "retries": 0,
        "cache_dir": str(tmp_path),
        "prompts": {"deu": "Formuliere um auf {language}: {text}"},
        "system": "Du bist ein Lektor.",
        **params,
    }
    instance = get_step("paraphrase").from_dict(config, StepContext(seed=13))
    instance.setup()
    return instance


def test_exact_reasons_for_each_kind_of_answer(tmp_path):
    batch = german()
    with ScriptedServer(answer) as server:
        result = http_step(server.url, tmp_path).process(batch)
    assert result.kept.filter(~pl.col("_synthetic")).drop("_synthetic", "_parent_id", "_origin").equals(batch)
    kept = result.kept.filter(pl.col("_synthetic"))
    assert kept.select("_parent_id", "text").rows() == [
        ("de0", "Alle Änderungen werden aufgezeichnet."),
        ("de5", "Jeden Abend liest er ein Buch."),
    ]
    assert (kept["text_lang"] == "deu").all()
    rejected = result.rejected.sort("_parent_id")
    assert rejected.select("_parent_id", "_reason").rows() == [
        ("de1", "synthetic:copy"),
        ("de2", "synthetic:wrong_language"),
        ("de3", "synthetic:drift"),
        ("de4", "synthetic:empty"),
        ("de6", "synthetic:duplicate"),
        ("de7", "synthetic:too_long"),
    ]
    details = dict(rejected.select("_parent_id", "_detail").rows())
    assert details["de4"] == 'request failed: HTTP 400: {"error": {"message": "context length exceeded"}}'
    assert details["de6"] == "equals an earlier synthetic text" and details["de2"].startswith("detected eng")
    assert re.fullmatch(r"paraphrase:scripted#[0-9a-f]{8}", kept["_origin"][0])
    first = next(r for r in server.requests if r["messages"][1]["content"].endswith("protokolliert."))
    assert first["messages"] == [
        {"role": "system", "content": "Du bist ein Lektor."},
        {"role": "user", "content": "Formuliere um auf German: Alle Änderungen werden protokolliert."},
    ]
    assert first["temperature"] == 0.8 and first["top_p"] == 0.95 and first["max_tokens"] == 256
    assert len({r["seed"] for r in server.requests}) == len(SCRIPT)
    assert result.stats["paraphrase:requests_sent"] == len(SCRIPT)


def test_a_rerun_sends_nothing_it_sent_before(tmp_path):
    batch = german()
    with ScriptedServer(answer) as server:
        first = http_step(server.url, tmp_path).process(batch)
        again = http_step(server.url, tmp_path).process(batch)
    assert again.stats["paraphrase:answers_from_cache"] == len(SCRIPT) - 1
    assert again.stats["paraphrase:requests_sent"] == 1  # only the refused one is asked again
    assert len(server.requests) == len(SCRIPT) + 1
    assert first.kept.equals(again.kept) and first.rejected.equals(again.rejected)


def test_variants_selection_and_rows_without_language(tmp_path):
    batch = german().with_columns(
        pl.when(pl.col("_id") == "de0").then(None).otherwise(pl.col("text_lang")).alias("text_lang")
    )
    with ScriptedServer(answer) as server:
        result = http_step(server.url, tmp_path, n=2, only={"_id": ["de0", "de1", "de5"]}).process(batch)
    assert result.stats["synthetic:rows_selected"] == 2 and result.stats["synthetic:rows_without_language"] == 1
    assert len(server.requests) == 4 and len({r["seed"] for r in server.requests}) == 4
    # two variants of de5 with the same answer: the second is a duplicate of the first
    rows = pl.concat([result.kept.filter(pl.col("_synthetic")), result.rejected.drop("_reason", "_detail")])
    assert sorted(rows["_parent_id"]) == ["de1", "de1", "de5", "de5"] and rows["_id"].n_unique() == 4


def test_config_errors():
    from pydantic import ValidationError

    cls = get_step("paraphrase").Config
    with pytest.raises(ValidationError, match="needs `base_url`"):
        cls(model="m", backend="http")
    with pytest.raises(ValidationError, match="no \\{text\\} placeholder"):
        cls(model="m", prompts={"deu": "Umformulieren bitte"})


def test_local_chat_model_on_ctranslate2_and_transformers():
    pytest.importorskip("ctranslate2")
    pytest.importorskip("transformers")
    from tests.augment import models

    path = str(models.model("qwen2-yid"))
    batch = models.batch()[:10]

    def run(**params):
        config = {
            "field": "target",
            "lang": "yid",
            "model": path,
            "cache_dir": str(models.ct2_cache()),
            "max_new_tokens": 48,
            **params,
        }
        instance = get_step("paraphrase").from_dict(config, StepContext(seed=13))
        instance.setup()
        return instance.process(batch)

    fast = run(temperature=0, compute_type="float32")
    reference = run(temperature=0, engine="transformers")
    assert fast.rejected.select("_parent_id", "target", "_reason").equals(
        reference.rejected.select("_parent_id", "target", "_reason")
    )
    # the tiny model echoes its training sentences: greedy answers are copies
    assert fast.rejected.filter(pl.col("_reason") == "synthetic:copy").height >= 7
    sampled = run(temperature=1.0, top_k=20, n=3)
    rows = pl.concat([sampled.kept.filter(pl.col("_synthetic")), sampled.rejected.drop("_reason", "_detail")])
    assert rows.height == 30 and rows["_id"].n_unique() == 30
