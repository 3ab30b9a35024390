import json
from pathlib import Path

import polars as pl
import pytest

from curate.stages.boilerplate import Boilerplate
from tests.conftest import SHARED_EVAL

NAV = "Home | News | Sport | Contact"
SHARE = "Share this article"
FOOTER = "© 2024 Example News Ltd. All rights reserved."


def page(body: str) -> str:
    return f"{NAV}\n{body}\n{SHARE}\n{FOOTER}"


def frame(texts, sources=None, langs=None):
    data = {
        "_id": [f"r{i}" for i in range(len(texts))],
        "text": texts,
        "_source": sources or ["site.jsonl"] * len(texts),
    }
    if langs:
        data["text_lang"] = langs
    return pl.DataFrame(data, schema_overrides={"text": pl.String})


def run(data: pl.DataFrame, batches=2, **params):
    step = Boilerplate.from_dict(params)
    size = max(1, data.height // batches)
    state = step.fit(iter([data.slice(i, size) for i in range(0, data.height, size)]))
    return step, state, step.apply(data, state)


BODIES = [
    "Der Stadtrat hat gestern getagt.",
    "مجلس المدينة اجتمع أمس.",
    "市议会昨天开会。",
    "Le conseil s'est réuni hier.",
]


def test_lines_repeated_across_documents_of_a_source_are_removed():
    data = frame([page(b) for b in BODIES] + [f"{NAV}\n{SHARE}", "One line only", "Unique\ntwo lines", None])
    _, state, result = run(data)
    assert state.stats == {"boilerplate_distinct_lines": 3, "distinct_lines_seen": 9, "documents_seen": 6}
    assert result.kept["text"].to_list() == BODIES + ["One line only", "Unique\ntwo lines", None]
    assert result.kept["text_boilerplate"].to_list() == [[0, 2, 3]] * 4 + [[], [], None]
    assert result.rejected.select("_id", "_reason", "_detail").rows() == [
        ("r4", "boilerplate:only_boilerplate", "2 lines, all boilerplate")
    ]
    assert result.stats == {"lines_removed": 14, "rows_with_boilerplate": 5}


def test_tag_keeps_the_text_and_lists_the_lines():
    data = frame([page(b) for b in BODIES])
    _, _, result = run(data, action="tag")
    assert result.kept["text"].to_list() == [page(b) for b in BODIES]
    assert result.kept["text_boilerplate"].to_list() == [[0, 2, 3]] * 4
    assert result.rejected.height == 0 and result.stats == {"lines_found": 12, "rows_with_boilerplate": 4}


def test_lines_count_per_source_and_need_enough_documents():
    data = frame([page(b) for b in BODIES], sources=["a.jsonl", "a.jsonl", "b.jsonl", "b.jsonl"])
    _, state, result = run(data)
    assert state.stats["boilerplate_distinct_lines"] == 0  # two documents per source: under min_docs (3)
    assert result.kept["text"].to_list() == [page(b) for b in BODIES]
    _, state, _ = run(data, by=None)  # the whole corpus as one source
    assert state.stats["boilerplate_distinct_lines"] == 3
    _, state, _ = run(frame([page(b) for b in BODIES]), min_share=0.9, min_docs=2)
    assert state.stats["boilerplate_distinct_lines"] == 3


def test_one_line_documents_are_never_boilerplate_and_whitespace_and_case_are_folded():
    data = frame(
        ["Thank you."] * 5
        + [f"home | news\nBody {i}." for i in range(2)]
        + [f"HOME  |  NEWS\nBody {i}." for i in range(2, 4)]
    )
    _, _, result = run(data)
    assert result.kept["text"].to_list() == ["Thank you."] * 5 + [f"Body {i}." for i in range(4)]


def test_counts_per_language_and_card():
    data = frame([page(b) for b in BODIES], langs=["deu", "arb", "cmn", "fra"])
    step, state, result = run(data)
    stats = {**result.stats, **state.stats}
    assert {k: v for k, v in stats.items() if k.startswith("lines:")} == {
        "lines:deu": 3,
        "lines:arb": 3,
        "lines:cmn": 3,
        "lines:fra": 3,
    }
    card = Boilerplate.card_section(step.config.model_dump(), stats)
    assert card.startswith(
        "Lines that repeat in at least 3 documents of a source (sources: `_source`) are boilerplate: "
        "3 distinct lines, 12 occurrences removed in 4 rows; per language:"
    )


@pytest.mark.skipif(
    not (SHARED_EVAL / "dedup" / "xquad_paragraphs.jsonl").exists(), reason="shared eval data not present"
)
def test_real_paragraphs_in_twelve_languages_keep_every_line_but_the_planted_boilerplate():
    """XQuAD paragraphs (Arabic, Chinese, Thai, ...: 12 languages), three per page, with a site's navigation and footer
    lines added to every page: exactly the planted lines go, and no line of the real text."""
    rows = [json.loads(line) for line in (SHARED_EVAL / "dedup" / "xquad_paragraphs.jsonl").open(encoding="utf-8")]
    by_lang: dict[str, list[str]] = {}
    for row in rows:
        by_lang.setdefault(row["lang"], []).append(row["text"].strip())
    pages, bodies, sources = [], [], []
    for lang, texts in sorted(by_lang.items()):
        for i in range(0, 30, 3):
            body = "\n".join(texts[i : i + 3])
            bodies.append(body)
            pages.append(f"{NAV}\n{body}\n{SHARE}\n{FOOTER}")
            sources.append(f"{lang}.example.org")
    _, state, result = run(frame(pages, sources=sources), batches=4)
    assert state.stats["boilerplate_distinct_lines"] == 3 * 12
    assert result.kept["text"].to_list() == bodies
    assert result.stats == {"lines_removed": 3 * len(pages), "rows_with_boilerplate": len(pages)}


@pytest.mark.slow
def test_web_recipe_accounting(tmp_path):
    """recipes/web.yaml end to end: every page read is curated or rejected, counted from the files it wrote."""
    import subprocess
    import sys

    from tests.conftest import check_accounting, check_progress

    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "curate", "run", "recipes/web.yaml", "--out", str(out)],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    pages = sum(
        1 for line in (root / "data" / "web" / "pages.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()
    )
    check_accounting(out, pages, done.stderr)
    check_progress(done.stderr)
