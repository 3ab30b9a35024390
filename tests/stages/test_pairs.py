"""The `pairs` step on real Tatoeba pairs (English -> French, German, Swahili), some broken on purpose."""

from __future__ import annotations

import json
import random
from pathlib import Path

import polars as pl
import pytest
from pydantic import ValidationError

pytest.importorskip("pycld2")
pytest.importorskip("anyascii")
pytest.importorskip("sacrebleu")

from curate.stages.pairs import Pairs

DATA = Path(__file__).resolve().parents[1] / "pairs" / "data" / "pairs.jsonl"


def clean() -> pl.DataFrame:
    return pl.read_ndjson(DATA).with_columns(kind=pl.lit("clean"))


def broken() -> pl.DataFrame:
    """The clean pairs with every fourth row broken in one of the ways the step checks, and a row without target."""
    rows = clean().to_dicts()
    rnd = random.Random(13)
    by_lang = {}
    for r in rows:
        by_lang.setdefault(r["tgt_lang"], []).append(r["tgt"])
    kinds = ["copy", "untranslated", "wrong_language", "numbers", "truncated", "concatenated", "misaligned"]
    for i, r in enumerate(rows):
        if i % 4 != 1:
            continue
        kind = kinds[(i // 4) % len(kinds)]
        others = by_lang[r["tgt_lang"]]
        if kind == "copy":
            r["tgt"] = r["src"]
        elif kind == "untranslated":
            r["tgt"] = rows[(i + 40) % len(rows)]["src"]  # an English sentence
        elif kind == "wrong_language":
            r["tgt"] = rnd.choice(by_lang["deu" if r["tgt_lang"] != "deu" else "fra"])
        elif kind == "numbers":
            r["tgt"] = r["tgt"].rstrip(".!?") + f" ({1900 + i})."
        elif kind == "truncated":
            words = r["tgt"].split(" ")
            r["tgt"] = " ".join(words[: max(1, len(words) // 2)]).rstrip(".,!?")
        elif kind == "concatenated":
            r["tgt"] = r["tgt"] + " " + others[(i + 7) % len(others)]
        elif kind == "misaligned":
            r["tgt"] = others[(others.index(r["tgt"]) + 11) % len(others)]
        r["kind"] = kind
    rows.append(
        {
            "id": "paragraph",
            "src": "A paragraph with no translation beside it.",
            "tgt": None,
            "src_lang": "eng",
            "tgt_lang": None,
            "kind": "clean",
        }
    )
    return pl.DataFrame(rows)


def run(frame: pl.DataFrame, **config) -> tuple[Pairs, pl.DataFrame]:
    step = Pairs.from_dict(
        {
            "source": "src",
            "target": "tgt",
            "source_lang": "src_lang",
            "target_lang": "tgt_lang",
            "action": "tag",
            **config,
        }
    )
    frame = frame.with_columns(_id=pl.col("id"))
    state = step.fit(iter([frame.select(step.fit_columns())]))
    return step, step.apply(frame, state).kept.with_columns(first=pl.col("tgt_pair_flags").list.first())


@pytest.fixture(scope="module")
def tagged():
    return run(broken())[1]


def test_every_kind_of_break_gets_its_reason(tagged):
    expected = {
        "copy": "pairs:copy",
        "untranslated": "pairs:untranslated",
        "wrong_language": "pairs:wrong_language",
        "numbers": "pairs:numbers",
        "truncated": "pairs:truncated",
        "concatenated": "pairs:concatenated",
    }
    for kind, reason in expected.items():
        rows = tagged.filter(pl.col("kind") == kind)
        share = (rows["first"] == reason).mean()
        assert share >= 0.8, (kind, share, rows.select("src", "tgt", "first").rows()[:5])
    misaligned = tagged.filter(pl.col("kind") == "misaligned")
    assert misaligned["first"].is_not_null().mean() >= 0.6


def test_clean_pairs_are_kept(tagged):
    kept = tagged.filter(pl.col("kind") == "clean")
    assert kept["first"].is_null().mean() >= 0.93
    # the row without a target is no pair: nothing is said about it
    assert tagged.filter(pl.col("id") == "paragraph")["tgt_pair_flags"].to_list() == [[]]


def test_exact_reasons_on_chosen_rows():
    # among the clean pairs, so that the statistics of each language pair are those of real pairs; a target that is
    # its source with one word added is a near copy (chrF >= 90)
    cases = pl.DataFrame(
        [
            ("copy", "All of us stared at her.", "All of us stared at her.", "eng", "swh"),
            ("number", "He was born in 1985.", "Er wurde 1958 geboren.", "eng", "deu"),
            (
                "english",
                "Tom is reading a book in the garden.",
                "Tom is reading a book in the garden today.",
                "eng",
                "fra",
            ),
            ("question", "Where is the station?", "Où est la gare.", "eng", "fra"),
        ],
        schema=["id", "src", "tgt", "src_lang", "tgt_lang"],
        orient="row",
    )
    _, out = run(pl.concat([clean(), cases.with_columns(kind=pl.lit("case"))], how="diagonal_relaxed"))
    got = dict(out.filter(pl.col("kind") == "case").select("id", "first").iter_rows())
    assert got == {
        "copy": "pairs:copy",
        "number": "pairs:numbers",
        "english": "pairs:copy",
        "question": "pairs:punctuation",
    }


def test_drop_writes_reasons_and_details_and_counts_per_language_pair():
    frame = broken().with_columns(_id=pl.col("id"))
    step = Pairs.from_dict({"source": "src", "target": "tgt", "source_lang": "src_lang", "target_lang": "tgt_lang"})
    state = step.fit(iter([frame.select(step.fit_columns())]))
    result = step.apply(frame, state)
    assert result.kept.height + result.rejected.height == frame.height
    assert set(result.rejected["_reason"].unique()) <= {f"pairs:{c}" for c in step.config.checks}
    assert result.rejected["_detail"][0].startswith("misaligned 0.")
    stats = result.stats
    assert (
        stats["pairs:eng-fra:kept"]
        + sum(v for k, v in stats.items() if k.startswith("pairs:eng-fra:") and not k.endswith(":kept"))
        == 120
    )
    section = Pairs.card_section({}, dict(stats))
    assert "| English -> French (`eng-fra`) |" in section


def test_the_same_state_and_output_on_every_run():
    frame = broken().with_columns(_id=pl.col("id"))
    step = Pairs.from_dict({"source": "src", "target": "tgt", "source_lang": "src_lang", "target_lang": "tgt_lang"})
    first = step.fit(iter([frame.select(step.fit_columns())]))
    second = step.fit(iter([frame.select(step.fit_columns())]))
    assert first.stats.equals(second.stats) and first.forward.equals(second.forward)
    assert first.weights == second.weights and first.slipped.equals(second.slipped)
    assert step.apply(frame, first).kept.equals(step.apply(frame, second).kept)


def test_a_language_the_detectors_usually_take_for_another_is_not_wrong():
    """Kirundi, which the detectors mostly read as Kinyarwanda, its neighbour: that is the pair's usual reading."""
    rows = [
        {"id": f"k{i}", "src": s, "tgt": t, "src_lang": "eng", "tgt_lang": "run", "kind": "clean"}
        for i, (s, t) in enumerate(KIRUNDI)
    ]
    _, out = run(pl.concat([clean(), pl.DataFrame(rows)]))
    kirundi = out.filter(pl.col("tgt_lang") == "run")
    assert "pairs:wrong_language" not in kirundi["first"].to_list()


def test_config_errors():
    with pytest.raises(ValidationError, match="unknown checks"):
        Pairs.from_dict({"checks": ["copy", "vibes"]})
    with pytest.raises(ValidationError, match="not both"):
        Pairs.from_dict({"target_lang": "tgt_lang", "target_language": "fr"})
    assert Pairs.from_dict({"target_language": "French"}).config.target_language == "fra"


def test_recipe_end_to_end(tmp_path, cli):
    from tests.conftest import write_recipe

    (tmp_path / "pairs.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in broken().drop("kind").to_dicts()) + "\n", encoding="utf-8"
    )
    write_recipe(
        tmp_path / "r.yaml",
        """name: pairs
sources:
  - path: pairs.jsonl
    columns: {text: src, target: tgt}
steps:
  - pairs: {source: text, target: target, source_lang: src_lang, target_lang: tgt_lang}
output:
  dir: out
  splits: {train: 1.0}
""",
    )
    result = cli("run", tmp_path / "r.yaml", "--out", tmp_path / "out")
    assert result.code == 0, result
    rejects = pl.concat(
        [pl.read_parquet(p) for p in (tmp_path / "out" / "rejects").glob("*.parquet")], how="diagonal_relaxed"
    )
    assert {"pairs:copy", "pairs:numbers"} <= set(rejects["_reason"].to_list())
    card = (tmp_path / "out" / "README.md").read_text()
    assert "## Step 1: pairs" in card and "(`eng-swh`)" in card


# Kirundi sentences (Tatoeba, shared/eval/parallel/eng-run.jsonl, CC BY 2.0 FR)
KIRUNDI = [
    (json.loads(line)["src"], json.loads(line)["tgt"])
    for line in (Path(__file__).resolve().parents[1] / "pairs" / "data" / "run.jsonl")
    .read_text(encoding="utf-8")
    .splitlines()
]
