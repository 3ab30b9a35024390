"""The dataset card, the HTML report and row lineage."""

import json

import polars as pl
import pytest

from curate.trace import trace_row
from tests.conftest import write_jsonl, write_recipe


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prov")
    records = [{"text": f"  Phrase numéro {i}  avec &amp; du texte.", "lang": lang, "email": "x"}
               for lang, n in (("fra", 120), ("deu", 30), ("yid", 4)) for i in range(n)]  # fmt: skip
    records += ["{broken", {"text": "x", "lang": "fra"}]
    write_jsonl(tmp / "in.jsonl", records)
    write_jsonl(tmp / "more.jsonl", records)
    write_recipe(tmp / "r.yaml", """\
name: prov
description: A test corpus.
seed: 2
sources:
  - path: in.jsonl
    columns: {text: text, text_lang: lang}
    meta: {license: CC-BY-4.0, origin: made up for a test}
  - path: more.jsonl
    columns: {text_lang: lang}
    meta: {license: MIT}
steps:
  - normalize: {}
  - length: {min_chars: 3}
  - balance: {by: text_lang, strategy: cap, cap: 50}
output:
  dir: out
  splits: {train: 0.8, test: 0.2}
card:
  pretty_name: Provenance test
  task_categories: [translation]
  limitations: [Made-up sentences.]
""")
    from curate.cli import main
    import os, sys

    cwd = os.getcwd()
    os.chdir(tmp)
    sys.argv = ["curate", "run", "r.yaml", "--quiet"]
    try:
        main()
    except SystemExit as exc:
        assert exc.code in (0, None)
    finally:
        os.chdir(cwd)
    return tmp / "out"


def test_card_parses_as_a_hugging_face_card(run):
    huggingface_hub = pytest.importorskip("huggingface_hub")
    card = huggingface_hub.DatasetCard.load(run / "README.md")
    data = card.data.to_dict()
    assert data["pretty_name"] == "Provenance test"
    assert data["language"] == ["de", "fr", "yi"]
    assert data["license"] == ["cc-by-4.0", "mit"]
    assert data["task_categories"] == ["translation"]
    assert data["size_categories"] == ["n<1K"]
    assert data["configs"][0]["data_files"] == [{"split": "train", "path": "data/train-*.parquet"},
                                                {"split": "test", "path": "data/test-*.parquet"}]  # fmt: skip


def test_card_sections(run):
    text = (run / "README.md").read_text()
    manifest = json.loads((run / "manifest.json").read_text())
    for heading in ("## Splits", "## Sources", "## Processing funnel", "## Languages", "## Limitations", "## Recipe",
                    "## Reproduce"):  # fmt: skip
        assert heading in text
    assert manifest["recipe_hash"] in text and "- Made-up sentences." in text
    assert "`balance:over_quota` 200" in text  # (240 - 50) fra + (60 - 50) deu
    assert "| `yid` | 8 | 2.6% | 8 |" in text
    assert "No PII step ran" in text
    assert "Phrase numéro" not in text  # no row content in the card


def test_report_renders(run):
    from curate.report import build_report

    page = build_report(run)
    html = page.read_text()
    assert html.startswith("<!doctype html>") and html.count("data:image/png;base64,") == 4
    assert sorted(p.name for p in (run / "report").glob("*.png")) == ["funnel.png", "languages.png", "lengths.png",
                                                                       "reasons.png"]  # fmt: skip


def test_trace_shows_each_step(run):
    data = pl.read_parquet(run / "data" / "*.parquet")
    row_id = data.filter(pl.col("_source") == "in.jsonl")["_id"][0]
    lineage = trace_row(run, row_id)
    assert lineage["status"] == "curated" and lineage["split"] in ("train", "test")
    assert lineage["line"].startswith('{"text": "  Phrase numéro')
    steps = {s["step"]: s["what"] for s in lineage["steps"]}
    assert steps["read"] == ["read"]
    assert steps["normalize"][0].startswith("changed text: '  Phrase numéro")
    assert steps["normalize"][0].endswith("avec & du texte.'")
    assert steps["length"] == ["unchanged"]
    rejected = pl.read_parquet(run / "rejects" / "02-length.parquet")["_id"][0]
    lineage = trace_row(run, rejected)
    assert lineage["status"] == "rejected" and lineage["steps"][-1]["what"] == ["rejected: length:too_short"]


def test_trace_cli_errors(run, cli):
    result = cli("trace", str(run), "nope")
    assert result.code == 1 and "no row with _id 'nope'" in result.err


def test_card_languages_come_from_every_identified_field_and_named_columns(tmp_path):
    from curate.card import card_header
    from curate.summary import card_languages

    rows = pl.DataFrame({
        "text": ["Good bye!", "A sentence long enough to trust.", None, "Une phrase assez longue pour y croire."],
        "text_lang": ["lug", "eng", "und", "fra"],  # "Good bye!" is under min_chars 20: tagged, not a language
        "target": ["Kwaheri!", "Sentensi ndefu ya kutosha kuaminiwa.", "Ok", "Short"],
        "target_lang": ["swh", "swh", "eng", "ita"],  # min_chars 10 on target: "Ok", "Short" add nothing
        "tgt_lang": ["yid", "gla", None, "yid"],
    })  # fmt: skip
    rows.write_parquet(tmp_path / "train.parquet")
    files = [tmp_path / "train.parquet"]
    langid = [{"langid": {"field": "text", "min_chars": 20}}, {"langid": {"field": "target", "min_chars": 10}}]
    found = card_languages(files, {"steps": langid, "card": {}})
    assert found == {"languages": ["eng", "fra", "swh"],
                     "from": ["`text_lang` (texts of 20+ characters)", "`target_lang` (texts of 10+ characters)"]}
    named = card_languages(files, {"steps": langid, "card": {"language_columns": ["tgt_lang"]}})
    assert named["languages"] == ["eng", "fra", "gla", "swh", "yid"]
    # no langid step: the column the recipe names, or the languages it declares
    assert card_languages(files, {"steps": [], "card": {"language_columns": ["tgt_lang"]}}) == {
        "languages": ["gla", "yid"], "from": ["`tgt_lang`"]}
    declared = card_languages(files, {"steps": [], "card": {"languages": ["yi", "en"]}})
    assert declared == {"languages": ["en", "yi"], "from": ["`card.languages` in the recipe"]}
    manifest = {"recipe": {"card": {}}, "inputs": [], "accounting": {"rows_out": 4}, "splits": {"train": 4},
                "card_languages": named}  # fmt: skip
    assert card_header(manifest)["language"] == ["en", "fr", "gd", "sw", "yi"]


def test_card_language_columns_are_validated(tmp_path, cli):
    write_jsonl(tmp_path / "in.jsonl", [{"text": "Hello there.", "tgt_lang": "yid"}])
    write_recipe(tmp_path / "r.yaml", "name: c\nsources:\n  - path: in.jsonl\noutput:\n  dir: out\ncard:\n"
                                      "  language_columns: [tgt_lng]\n")  # fmt: skip
    result = cli("validate", "r.yaml", cwd=tmp_path)
    assert result.code == 2
    assert result.err.splitlines()[1] == ("  r.yaml:7:22: card.language_columns[0]: no column 'tgt_lng'; did you mean "
                                          "'tgt_lang'? (columns: _id, _row, _source, text, tgt_lang)")
