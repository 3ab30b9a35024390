"""The `review` step without a server: the queue goes out as a file and comes back (`push: false`), the run stops and
resumes, pending rows follow the policy. The Argilla side is in tests/review/test_argilla_e2e.py."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl
import pytest

from curate.stages.review import Review
from tests.conftest import write_jsonl, write_recipe

ROWS = [  # real sentence pairs (Tatoeba), several scripts; `score` stands in for a language-ID score
    ("Good morning.", "Доброе утро.", "rus", 0.99),
    ("Where is the station?", "Где вокзал?", "rus", 0.97),
    ("I don't know.", "Я не знаю.", "rus", 0.40),
    ("Thank you very much.", "どうもありがとう。", "jpn", 0.98),
    ("It is raining again.", "また雨だ。", "jpn", 0.96),
    ("That's true.", "本当です。", "jpn", 0.95),
    ("I like tea.", "Me gusta el té.", "fra", 0.31),
    ("Good evening.", "Bonsoir.", "fra", 0.99),
]


def _setup(tmp_path: Path, review: str) -> tuple[Path, Path]:
    data = write_jsonl(
        tmp_path / "pairs.jsonl", [{"en": t, "xx": x, "lang": lang, "score": s} for t, x, lang, s in ROWS]
    )
    out = tmp_path / "out"
    recipe = write_recipe(
        tmp_path / "recipe.yaml",
        f"""
name: review-test
seed: 5
sources:
  - path: {data}
    columns: {{text: en, target: xx}}
steps:
  - normalize: {{fields: [text, target]}}
  - review: {review}
output:
  dir: {out}
""",
    )
    return recipe, out


BASE = "{sample: 1, by: lang, low_confidence: 1.0, confidence: score, below: 0.5, push: false, correct: [target]"


def _answer(cli, out: Path, tmp_path: Path, answers: dict[str, dict], annotator: str = "olga") -> str:
    """Export the queue, fill in answers by text, import it."""
    path = tmp_path / f"queue-{annotator}.csv"
    assert cli("review", "export", out, path).code == 0
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    for row in rows:
        row.update(answers.get(row["text"], {}))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = cli("review", "import", out, path, "--annotator", annotator)
    assert result.code == 0, result
    return result.out


def _queued(out: Path) -> pl.DataFrame:
    return pl.read_parquet(next(out.glob(".curate/*-review-*/review/queue.parquet")))


def test_file_review_loop_stops_resumes_and_applies(tmp_path, cli):
    recipe, out = _setup(tmp_path, BASE + "}")
    stopped = cli("run", recipe)
    assert stopped.code == 3, stopped
    assert (
        "rows chosen for review" in stopped.err and "curate review export" in stopped.err and "--resume" in stopped.err
    )
    queue = _queued(out)
    texts = set(queue["text"])
    assert {"I don't know.", "I like tea."} <= texts  # both scores under 0.5
    assert queue.filter(pl.col("_why").list.contains("sample")).group_by("lang").len().height == 3
    status = cli("review", "status", out)
    assert f"{queue.height} rows queued" in status.out and "not pushed to Argilla" in status.out

    imported = _answer(
        cli,
        out,
        tmp_path,
        {
            "I like tea.": {"decision": "reject", "issues": "wrong_language", "note": "Spanish"},
            "I don't know.": {"decision": "accept", "corrected_target": "Я не знаю!"},
        },
    )
    assert "--resume" in imported
    # outcomes that add up to the rows queued: one rejected, one accepted with a correction (not also "accepted")
    lines = imported.splitlines()
    assert lines[1] == "rows (queued = accepted + corrected + rejected + pending)"
    assert [c.strip() for c in lines[4].split("│")] == [str(queue.height), "0", "1", "1", str(queue.height - 2)]
    resumed = cli("run", recipe, "--resume")
    assert resumed.code == 0, resumed

    data = pl.read_parquet(str(out / "data" / "*.parquet"))
    fixed = data.filter(pl.col("text") == "I don't know.").row(0, named=True)
    assert (fixed["target"], fixed["target_before_review"], fixed["_reviewed"]) == ("Я не знаю!", "Я не знаю.", True)
    assert data["_reviewed"].sum() == 1 and data.height == len(ROWS) - 1
    assert data.filter(pl.col("text") == "Good evening.")["target_before_review"].to_list() == [None]
    rejects = pl.read_parquet(next((out / "rejects").glob("*review*.parquet")))
    assert rejects.select("text", "_step", "_reason", "_detail").rows() == [
        ("I like tea.", "review", "review:rejected", "1 of 1 reviewers rejected; issues: wrong_language; note: Spanish")
    ]
    manifest = json.loads((out / "manifest.json").read_text())
    step = next(s for s in manifest["steps"] if s["name"] == "review")
    assert step["stats"] == {
        "review:corrected": 1,
        "review:pending_kept": queue.height - 2,
    }  # disjoint: none accepted as is
    summary = json.loads((out / "review.json").read_text())
    assert (summary["queued"], summary["accepted"], summary["corrected"], summary["rejected"]) == (
        queue.height,
        0,
        1,
        1,
    )
    assert summary["pending"] == queue.height - 2
    trace = cli("trace", out, fixed["_id"])
    assert "changed target: 'Я не знаю.' -> 'Я не знаю!'" in trace.out

    # a second reviewer on the finished run: the run is reopened and --resume applies the new majority
    again = _answer(
        cli, out, tmp_path, {"I like tea.": {"decision": "accept"}, "Good morning.": {"decision": "reject"}}, "ivan"
    )
    assert "reopened from the review step on" in again
    assert not (out / "manifest.json").exists()
    assert cli("run", recipe, "--resume").code == 0
    rejects = pl.read_parquet(next((out / "rejects").glob("*review*.parquet")))
    assert "I like tea." in rejects["text"].to_list()  # 1 accept, 1 reject: a tie rejects


def test_pending_drop_rejects_unanswered_rows(tmp_path, cli):
    recipe, out = _setup(tmp_path, BASE + ", pending: drop, wait: false}")
    result = cli("run", recipe)
    assert result.code == 0, result
    queue = _queued(out)
    rejects = pl.read_parquet(next((out / "rejects").glob("*review*.parquet")))
    assert sorted(rejects["_id"]) == sorted(queue["_id"]) and set(rejects["_reason"]) == {"review:pending"}


def test_pending_hold_stops_until_every_row_is_answered(tmp_path, cli):
    recipe, out = _setup(tmp_path, BASE + ", pending: hold}")
    assert cli("run", recipe).code == 3
    queue = _queued(out)
    _answer(cli, out, tmp_path, {queue["text"][0]: {"decision": "accept"}})
    held = cli("run", recipe, "--resume")
    assert held.code == 3 and f"{queue.height - 1} of {queue.height} rows still wait for an answer" in held.err, held
    _answer(cli, out, tmp_path, {t: {"decision": "accept"} for t in queue["text"]}, "ivan")
    assert cli("run", recipe, "--resume").code == 0
    assert pl.read_parquet(str(out / "data" / "*.parquet"))["_reviewed"].sum() == queue.height


def test_without_resume_the_run_starts_over_and_waits_again(tmp_path, cli):
    recipe, out = _setup(tmp_path, BASE + "}")
    assert cli("run", recipe).code == 3
    first = _queued(out)
    again = cli("run", recipe)
    assert again.code == 3 and "review starts over (use --resume to continue from the last finished batch)" in again.err
    assert _queued(out).equals(first)  # the same rows: the choice is seeded


def test_wait_false_goes_on_and_keeps_rows_unreviewed(tmp_path, cli):
    recipe, out = _setup(tmp_path, BASE + ", wait: false}")
    assert cli("run", recipe).code == 0
    data = pl.read_parquet(str(out / "data" / "*.parquet"))
    assert data.height == len(ROWS) and data["_reviewed"].sum() == 0


def test_push_needs_the_server_settings_before_any_work(tmp_path, cli, monkeypatch):
    monkeypatch.delenv("ARGILLA_API_URL", raising=False)
    monkeypatch.delenv("ARGILLA_API_KEY", raising=False)
    recipe, _ = _setup(tmp_path, "{sample: 2, by: lang}")
    result = cli("run", recipe)
    assert result.code in (1, 2), result
    assert "set ARGILLA_API_URL and ARGILLA_API_KEY" in result.err or "pip install 'curate[review]'" in result.err


@pytest.mark.parametrize(
    "review, message",
    [
        ("{}", "choose rows to review"),
        ("{sample: 2, pending: hold, wait: false}", "`pending: hold` stops the run"),
        ("{sample: 2, correct: [context]}", "`correct` names context"),
        ("{sample: 0}", "a count must be at least 1"),
        ("{sample: 1.5}", "a fraction must be in (0, 1]"),
        ("{where: {column: score, lt: 0.5, reason: x}}", "not `reason`"),
        ("{where: {column: score, lower: 0.5}}", "lower"),
    ],
)
def test_config_errors(tmp_path, cli, review, message):
    recipe, _ = _setup(tmp_path, review)
    result = cli("run", recipe)
    assert result.code == 2 and message in result.err, result


def test_columns_it_needs_and_adds():
    step = Review.from_dict(
        {"sample": 2, "by": "text_lang", "low_confidence": 10, "pii": 1.0, "where": {"column": "q", "lt": 1}}
    )
    assert step.requires() == ["text", "text_lang", "text_lang_score", "text_pii", "q"]
    assert Review.from_dict({"sample": 2}).requires() == ["text"]  # the default `by` may be absent: one group
    assert step.produces() == ["_reviewed", "text_before_review"]


def test_cli_commands_need_a_review_queue(tmp_path, cli):
    recipe, out = _setup(tmp_path, BASE + ", wait: false}")
    missing = cli("review", "status", tmp_path / "nowhere")
    assert missing.code == 1 and "no work folder .curate/" in missing.err
    assert cli("run", recipe).code == 0
    pulled = cli("review", "pull", out)
    assert pulled.code == 1 and "was not pushed to Argilla yet" in pulled.err
