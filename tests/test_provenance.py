"""The dataset card, the HTML report and row lineage."""

import json
import sys

import polars as pl
import pytest

from curate.outputs.trace import trace_row
from tests.conftest import write_jsonl, write_recipe


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prov")
    records = [
        {"text": f"  Phrase numéro {i}  avec &amp; du texte.", "lang": lang, "email": "x"}
        for lang, n in (("fra", 120), ("deu", 30), ("yid", 4))
        for i in range(n)
    ]
    records += ["{broken", {"text": "x", "lang": "fra"}]
    write_jsonl(tmp / "in.jsonl", records)
    write_jsonl(tmp / "more.jsonl", records)
    write_recipe(
        tmp / "r.yaml",
        """\
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
""",
    )
    from curate.cli import main

    with pytest.MonkeyPatch.context() as patch:  # a module fixture can't use `monkeypatch`: both are restored after
        patch.chdir(tmp)
        patch.setattr(sys, "argv", ["curate", "run", "r.yaml", "--quiet"])
        try:
            main()
        except SystemExit as exc:
            assert exc.code in (0, None)
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
    assert data["configs"][0]["data_files"] == [
        {"split": "train", "path": "data/train-*.parquet"},
        {"split": "test", "path": "data/test-*.parquet"},
    ]


def test_card_sections(run):
    text = (run / "README.md").read_text()
    manifest = json.loads((run / "manifest.json").read_text())
    for heading in (
        "## Splits",
        "## Sources",
        "## Processing funnel",
        "## Languages",
        "## Limitations",
        "## Recipe",
        "## Reproduce",
    ):
        assert heading in text
    assert manifest["recipe_hash"] in text and "- Made-up sentences." in text
    assert "`balance:over_quota` 200" in text  # (240 - 50) fra + (60 - 50) deu
    assert "| `yid` | 8 | 2.6% | 8 |" in text
    assert "No PII step ran" in text
    assert "Phrase numéro" not in text  # no row content in the card


def test_report_renders(run):
    from curate.outputs.report import build_report

    page = build_report(run)
    html = page.read_text()
    assert html.startswith("<!doctype html>") and html.count("data:image/png;base64,") == 4
    assert sorted(p.name for p in (run / "report").glob("*.png")) == [
        "funnel.png",
        "languages.png",
        "lengths.png",
        "reasons.png",
    ]


def test_funnel_bars_add_up_to_their_input_and_carry_their_counts(run):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from curate.outputs.report import funnel_label, funnel_segments, plot_funnel

    # balance: 146 in, 26 copies made; backtranslate: 1,125 in, 84 made, 78 of them rejected with 3 rows read
    assert funnel_segments(
        {"rows_in": 146, "rows_added": 26, "added_rejected": 0, "rows_out": 172, "rows_rejected": 0}
    ) == {"kept": 146, "rejected": 0, "added, kept": 26, "added, rejected": 0}
    assert funnel_segments(
        {"rows_in": 1125, "rows_added": 84, "added_rejected": 78, "rows_out": 1128, "rows_rejected": 81}
    ) == {"kept": 1122, "rejected": 3, "added, kept": 6, "added, rejected": 78}
    assert (
        funnel_label({"rows_in": 1125, "rows_added": 84, "rows_out": 1128, "rows_rejected": 81})
        == "1,125 in + 84 added: 1,128 kept, 81 rejected"
    )
    manifest = json.loads((run / "manifest.json").read_text())
    fig = plot_funnel(plt, manifest)
    ax = fig.axes[0]
    assert [t.get_text().strip() for t in ax.texts] == [funnel_label(s) for s in manifest["steps"][::-1]]
    fig.canvas.draw()
    legend, axes = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert legend.y1 < axes.y0  # below the plot: it covers no bar
    plt.close(fig)


def test_lengths_show_every_language_on_its_own_scale(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from curate.outputs.report import plot_lengths, text_lengths

    langs = [f"l{i:02d}" for i in range(12)]
    rows = pl.DataFrame(
        {
            "text": ["x" * (5 + i) for i in range(12)] * 2 + ["y" * 3000],
            "text_lang": langs * 2 + ["l00"],
            "_repeat": [0] * 24 + [1],
        }
    )
    rows.write_parquet(tmp_path / "train.parquet")
    by, groups = text_lengths([tmp_path / "train.parquet"])
    assert by == "text_lang" and list(groups) == langs  # all 12 (the copy of 3,000 characters is not counted)
    assert groups["l03"].tolist() == [8, 8]
    fig = plot_lengths(plt, [tmp_path / "train.parquet"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"{g} (n=2)" for g in langs[::-1]]
    assert ax.get_xlim()[0] == pytest.approx(5 / 1.3) and ax.get_xscale() == "log"
    plt.close(fig)


def test_reason_labels_name_the_step_once(run):
    from curate.outputs.report import reason_labels

    manifest = json.loads((run / "manifest.json").read_text())
    # a broken line and a 1-character text in each of the two files; (240 - 50) fra + (60 - 50) deu over the cap
    assert reason_labels(manifest) == [("read: unparseable", 2), ("length:too_short", 2), ("balance:over_quota", 200)]
    twice = {
        "steps": [
            {"index": 1, "name": "dedup", "reasons": {"exact_duplicate": 3}},
            {"index": 2, "name": "dedup", "reasons": {"near_duplicate": 1}},
        ]
    }
    assert reason_labels(twice) == [("1. dedup: exact_duplicate", 3), ("2. dedup: near_duplicate", 1)]


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
    from curate.outputs.card import card_header
    from curate.outputs.summary import card_languages

    rows = pl.DataFrame(
        {
            "text": ["Good bye!", "A sentence long enough to trust.", None, "Une phrase assez longue pour y croire."],
            "text_lang": ["lug", "eng", "und", "fra"],  # "Good bye!" is under min_chars 20: tagged, not a language
            "target": ["Kwaheri!", "Sentensi ndefu ya kutosha kuaminiwa.", "Ok", "Short"],
            "target_lang": ["swh", "swh", "eng", "ita"],  # min_chars 10 on target: "Ok", "Short" add nothing
            "tgt_lang": ["yid", "gla", None, "yid"],
        }
    )
    rows.write_parquet(tmp_path / "train.parquet")
    files = [tmp_path / "train.parquet"]
    langid = [{"langid": {"field": "text", "min_chars": 20}}, {"langid": {"field": "target", "min_chars": 10}}]
    found = card_languages(files, {"steps": langid, "card": {}})
    assert found == {
        "languages": ["eng", "fra", "swh"],
        "from": ["`text_lang` (texts of 20+ characters)", "`target_lang` (texts of 10+ characters)"],
    }
    named = card_languages(files, {"steps": langid, "card": {"language_columns": ["tgt_lang"]}})
    assert named["languages"] == ["eng", "fra", "gla", "swh", "yid"]
    # no langid step: the column the recipe names, or the languages it declares
    assert card_languages(files, {"steps": [], "card": {"language_columns": ["tgt_lang"]}}) == {
        "languages": ["gla", "yid"],
        "from": ["`tgt_lang`"],
    }
    declared = card_languages(files, {"steps": [], "card": {"languages": ["yi", "en"]}})
    assert declared == {"languages": ["en", "yi"], "from": ["`card.languages` in the recipe"]}
    manifest = {
        "recipe": {"card": {}},
        "inputs": [],
        "accounting": {"rows_out": 4},
        "splits": {"train": 4},
        "card_languages": named,
    }
    assert card_header(manifest)["language"] == ["en", "fr", "gd", "sw", "yi"]


def test_card_language_columns_are_validated(tmp_path, cli):
    write_jsonl(tmp_path / "in.jsonl", [{"text": "Hello there.", "tgt_lang": "yid"}])
    write_recipe(
        tmp_path / "r.yaml",
        "name: c\nsources:\n  - path: in.jsonl\noutput:\n  dir: out\ncard:\n  language_columns: [tgt_lng]\n",
    )
    result = cli("validate", "r.yaml", cwd=tmp_path)
    assert result.code == 2
    assert result.err.splitlines()[1] == (
        "  r.yaml:7:22: card.language_columns[0]: no column 'tgt_lng'; did you mean "
        "'tgt_lang'? (columns: _id, _row, _source, text, tgt_lang)"
    )


def test_input_encodings_in_the_summary_manifest_card_and_inspect(tmp_path, cli):
    """A windows-1251 CSV with no `encoding:` is read, not rejected line by line, and the run says so; a UTF-8 file
    with windows-1252 records (`encoding: auto`) has them decoded on their own; the manifest, the card and
    `curate inspect` record each file's encoding and the records that needed the fallback."""
    russian = ["Добрый день", "Спасибо большое", "До свидания", "Как дела?", "Всё хорошо, спасибо."]
    (tmp_path / "ru.csv").write_bytes(
        ("id,text\n" + "".join(f'{i},"{t}"\n' for i, t in enumerate(russian))).encode("cp1251")
    )
    french = ["Où est la gare ?", "Très bien, merci.", "Le café est prêt.", "À bientôt !", "Ça va très bien."]
    lines = [
        (json.dumps({"text": t}, ensure_ascii=False) + "\n").encode("cp1252" if i in (1, 3) else "utf-8")
        for i, t in enumerate(french)
    ]
    (tmp_path / "fr.jsonl").write_bytes(b"".join(lines))
    write_recipe(
        tmp_path / "r.yaml",
        """\
name: encodings
sources:
  - path: ru.csv
  - path: fr.jsonl
    encoding: auto
output: {dir: out}
""",
    )
    done = cli("run", "r.yaml", cwd=tmp_path)
    assert done.code == 0, done
    log = " ".join(done.err.split())
    assert (
        "note: not UTF-8, so read with the encoding detected (set `encoding:` on the source to choose one): "
        "ru.csv (cp1251, chardet, confidence" in log
    )
    assert (
        "note: records in another encoding than their file's, decoded on their own: fr.jsonl (utf-8): 2 "
        "(cp1252 2)" in log
    )
    data = pl.read_parquet(tmp_path / "out" / "data" / "*.parquet").sort("_source", "_row")
    assert data["text"].to_list() == french + russian
    inputs = {i["path"]: i["encoding"] for i in json.loads((tmp_path / "out" / "manifest.json").read_text())["inputs"]}
    assert inputs["fr.jsonl"] == {
        "declared": "auto",
        "encoding": "utf-8",
        "how": "UTF-8",
        "fallback": 2,
        "fallback_encodings": {"cp1252": 2},
        "undecodable": 0,
    }
    assert inputs["ru.csv"]["declared"] is None and inputs["ru.csv"]["encoding"] == "cp1251"
    assert inputs["ru.csv"]["how"].startswith("chardet, confidence ") and inputs["ru.csv"]["fallback"] == 0
    card = (tmp_path / "out" / "README.md").read_text()
    assert "| `fr.jsonl` | jsonl | utf-8 (detected: UTF-8); 2 records decoded on their own (cp1252 2) |" in card
    assert f"| `ru.csv` | csv | cp1251 (detected: {inputs['ru.csv']['how']}) |" in card
    shown = " ".join(cli("inspect", tmp_path / "out").out.split())
    assert "input encodings" in shown and "cp1251 (detected: chardet, confidence" in shown
    assert "│ fr.jsonl │ utf-8 (detected: UTF-8); 2 records decoded on their" in shown and "own (cp1252 2)" in shown
