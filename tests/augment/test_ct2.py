"""CTranslate2: conversion once with a cache, loading, length-sorted batches, and the same output as Transformers.

The tiny models (see tests/augment/models.py) are built locally: nothing is downloaded.
"""

from __future__ import annotations

import os

import pytest

pytest.importorskip("ctranslate2")
pytest.importorskip("transformers")

from curate.augment import ct2
from curate.augment.llm import ChatRequest, GenParams, LocalLLM
from curate.augment.translate import Decoding, Seq2SeqModel, match_language_code
from tests.augment import models


@pytest.fixture(scope="module")
def marian():
    return models.model("marian-yid-eng")


def yiddish() -> list[str]:
    return [b for _, b in models.pairs()]


def test_length_sorted_batches_and_back_in_order():
    lengths = [3, 9, 1, 9, 5, 2, 7]
    batches = ct2.length_sorted_batches(lengths, 3)
    assert batches == [[1, 3, 6], [4, 0, 5], [2]]
    results = [[f"r{i}" for i in batch] for batch in batches]
    assert ct2.in_order(batches, results, len(lengths)) == [f"r{i}" for i in range(len(lengths))]
    assert ct2.length_sorted_batches([], 4) == []


def test_conversion_is_cached_and_redone_when_the_model_changes(marian, tmp_path):
    first = ct2.convert(marian, "int8", tmp_path)
    stamp = (first / "model.bin").stat().st_mtime_ns
    assert ct2.is_ct2_model(first) and (first / "tokenizer_config.json").is_file()
    assert ct2.convert(marian, "int8", tmp_path) == first
    assert (first / "model.bin").stat().st_mtime_ns == stamp  # loaded from the cache, not converted again
    assert ct2.convert(marian, "float32", tmp_path) != first  # another quantization, another copy
    assert ct2.convert(first, "int8", tmp_path) == first  # a CTranslate2 folder is used as it is
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in marian.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    converted = ct2.convert(copy, "int8", tmp_path)
    os.utime(copy / "config.json", ns=(1, 1))
    assert ct2.convert(copy, "int8", tmp_path) != converted
    assert not [p for p in (tmp_path / "ct2").iterdir() if p.name.startswith(".")]  # no staging folder left behind


def test_ctranslate2_float32_equals_transformers_greedy_on_a_tiny_marian(marian):
    texts = yiddish()
    fast = Seq2SeqModel(str(marian), engine="ctranslate2", compute_type="float32", cache_dir=models.ct2_cache())
    reference = Seq2SeqModel(str(marian), engine="transformers")
    greedy = Decoding(beam_size=1, max_length=64, batch_size=8)
    got, expected = fast.translate(texts, greedy), reference.translate(texts, greedy)
    assert got == expected
    # trained to memorise the pairs: most translations are the English of the sample data
    english = {b: a for a, b in models.pairs()}
    assert sum(g[0] == english[t] for g, t in zip(got, texts)) >= 20


def test_n_best_and_samples(marian):
    from curate.augment.translate import set_seed

    def fresh():
        return Seq2SeqModel(
            str(marian), engine="ctranslate2", compute_type="int8", workers=1, cache_dir=models.ct2_cache()
        )

    texts = yiddish()[:5]
    best = fresh().translate(texts, Decoding(beam_size=4, n=3, max_length=48))
    assert [len(b) for b in best] == [3] * 5 and all(len(set(b)) == 3 for b in best)
    sampling = Decoding(beam_size=1, n=4, sampling_topk=0, sampling_temperature=1.5, max_length=48)
    # CTranslate2 seeds a worker's random generator at its first use: a fresh run with the same seed samples alike
    set_seed(7)
    first = fresh().translate(texts, sampling)
    set_seed(7)
    assert fresh().translate(texts, sampling) == first
    assert [len(s) for s in first] == [4] * 5 and len({s for group in first for s in group}) > 5


def test_target_prefix_of_a_multilingual_model():
    path = models.model("m2m100")
    fast = Seq2SeqModel(str(path), engine="ctranslate2", compute_type="float32", cache_dir=models.ct2_cache())
    reference = Seq2SeqModel(str(path), engine="transformers")
    assert fast.family == "m2m_100" and len(fast.codes) == 100
    assert fast._target_prefix("yid") == "__yi__" and fast._source_tokens(["Hi"], "eng", "yid")[0][0] == "__en__"
    greedy = Decoding(beam_size=1, max_length=8)
    texts = [a for a, _ in models.pairs()][:6]
    assert fast.translate(texts, greedy, "eng", "yid") == reference.translate(texts, greedy, "eng", "yid")
    with pytest.raises(Exception, match="multilingual: give the target language"):
        fast.translate(texts, greedy, "eng", None)
    with pytest.raises(Exception, match="no language token for target language 'tlh'"):
        fast.translate(texts, greedy, "eng", "tlh")


def test_source_language_token_of_a_multilingual_marian():
    path = models.model("marian-mul")
    model = Seq2SeqModel(str(path), engine="ctranslate2", compute_type="float32", cache_dir=models.ct2_cache())
    assert model.codes == [">>yid<<", ">>deu<<"]
    assert model._source_tokens(["Hello"], None, "de")[0][0] == ">>deu<<"
    assert model._target_prefix("deu") is None


def test_language_codes_of_the_model_families():
    nllb = ["eng_Latn", "yid_Hebr", "zho_Hans", "zho_Hant", "srp_Cyrl"]
    assert match_language_code("yi", nllb) == "yid_Hebr"
    assert match_language_code("zho", nllb) == "zho_Hans" and match_language_code("zh-Hant", nllb) == "zho_Hant"
    assert match_language_code("yid_Hebr", nllb) == "yid_Hebr"
    m2m = ["__en__", "__yi__", "__de__"]
    assert match_language_code("yid", m2m) == "__yi__" and match_language_code("de", m2m) == "__de__"
    mbart = ["en_XX", "de_DE", "fr_XX"]
    assert match_language_code("deu", mbart) == "de_DE" and match_language_code("yid", mbart) is None
    assert match_language_code("fra", [">>fra<<", ">>deu<<"]) == ">>fra<<"


@pytest.mark.parametrize("arch", ["qwen2-yid", "llama"])
def test_ctranslate2_generator_float32_equals_transformers_greedy(arch):
    path = models.model(arch)
    fast = LocalLLM(str(path), engine="ctranslate2", compute_type="float32", cache_dir=models.ct2_cache(), batch_size=8)
    reference = LocalLLM(str(path), engine="transformers", batch_size=8)
    from curate.models.prompts import render_prompt

    requests = [
        ChatRequest([{"role": "user", "content": render_prompt(None, t, "yid")}], seed=i)
        for i, t in enumerate(yiddish()[:10])
    ]
    greedy = GenParams(temperature=0, max_new_tokens=32)
    got = [c.text for c in fast.complete(requests, greedy)]
    assert got == [c.text for c in reference.complete(requests, greedy)]
    if arch == "qwen2-yid":  # trained to echo: the answer is the Yiddish sentence itself
        assert sum(g == t for g, t in zip(got, yiddish()[:10])) >= 8


def test_a_model_without_a_chat_template_is_refused(marian):
    from curate.core.errors import CurateError

    with pytest.raises(CurateError, match="has no chat template"):
        LocalLLM(str(marian), engine="transformers")
