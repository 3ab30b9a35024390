"""No raw personal data leaves a run with a `pii` step: PII planted in rows that every step before it rejects, and in
a column the recipe never names, is found in no file under OUT, not even in the work folder after the run."""

import json
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import write_jsonl, write_recipe

PLANTED = {  # value -> the row it is planted in, and where that row must end up
    "+44 20 7946 0958": "read: unparseable JSON",
    "4111 1111 1111 1111": "read: invalid UTF-8",
    "missing.text@example.org": "read: no text",
    "empty.text@example.org": "read: empty text",
    "GB82 WEST 1234 5698 7654 32": "read: too large",
    "ab@cd.io": "length",
    "spam.sender@example.net": "filter",
    "adebayo.ola@meeli.ng": "langid",
    "0803 123 4567": "langid (a Nigerian number, found by its context word)",
    "+33 6 12 34 56 78": "quality",
    "dup.person@example.com": "dedup exact",
    "near.person@example.com": "dedup minhash",
    "over.quota@example.com": "balance",
    "192.0.2.146": "pii itself drops it",
    "author.column@example.org": "a column the recipe never names, in a curated row",
    "nested.value@example.org": "inside a struct column, in a curated row",
}

ENGLISH = [
    "The committee met on Tuesday to discuss the budget for the coming year.",
    "She walked along the river and watched the boats drift slowly past the old mill.",
    "Our team will publish the results of the survey at the end of the month.",
    "He repaired the bicycle in the garage before the rain started in the evening.",
    "The library opens early on weekdays and stays open late on Thursdays.",
]


def planted_inputs(folder: Path) -> None:
    rows = [{"text": t, "author": "Staff", "domain": "news"} for t in ENGLISH]
    rows[0]["author"] = "author.column@example.org"
    rows[1]["meta"] = {"contacts": ["nested.value@example.org"], "source": "newsletter"}
    rows += [
        '{"text": "call me on +44 20 7946 0958 today", "domain": "news"',  # broken JSON
        b'{"text": "my card is 4111 1111 1111 1111 \xff", "domain": "news"}',  # invalid UTF-8
        {"author": "missing.text@example.org", "domain": "news"},
        {"text": "   ", "author": "empty.text@example.org", "domain": "news"},
        {
            "text": "My IBAN is GB82 WEST 1234 5698 7654 32. " + "The weather stays mild all week. " * 12,
            "domain": "news",
        },
        {"text": "Mail ab@cd.io", "domain": "news"},
        {"text": "Buy now from spam.sender@example.net, the best offers of the season are here.", "domain": "spam"},
        {
            "text": "Écrivez-moi à adebayo.ola@meeli.ng ou appelez le 0803 123 4567 demain matin, s'il vous plaît.",
            "domain": "news",
        },
        {"text": " ".join(["Call me at +33 6 12 34 56 78 now."] * 8), "domain": "news"},
        {"text": "Write to dup.person@example.com about the meeting notes from last week.", "domain": "news"},
        {"text": "Write to dup.person@example.com about the meeting notes from last week.", "domain": "news"},
        {
            "text": "Please forward the quarterly report to near.person@example.com before Friday noon, thanks a lot.",
            "domain": "blog",
        },
        {
            "text": "Please forward the quarterly report to near.person@example.com before Friday noon, thanks a lot "
            "and best regards.",
            "domain": "blog",
        },
        {"text": "You can also write to over.quota@example.com for questions about the blog posts.", "domain": "blog"},
        {"text": "The server at 192.0.2.146 stopped answering requests during the night.", "domain": "news"},
    ]
    for i, row in enumerate(rows):  # balance caps rows per topic at 1: only the two blog rows share one
        if isinstance(row, dict):
            row["topic"] = "blog" if row.get("domain") == "blog" else f"t{i}"
    write_jsonl(folder / "in" / "rows.jsonl", rows)


RECIPE = """\
name: planted
seed: 3
sources:
  - path: in/rows.jsonl
max_record_bytes: 400
steps:
  - normalize: {{fields: [text]}}
  - length: {{field: text, min_chars: 20}}
  - filter: {{column: domain, in: [news, blog]}}
  - langid: {{field: text, expect: [en], min_chars: 20}}
  - quality: {{field: text}}
  - dedup: {{method: exact, fields: [text]}}
  - dedup: {{method: minhash, field: text, threshold: 0.7}}
  - balance: {{by: topic, strategy: cap, cap: 1}}
  - pii: {{action: mask, actions: {{ip: drop}}{pii_extra}}}
output:
  dir: out
  keep_work: {keep_work}
"""

STEP_REASONS = {
    "read": {"unparseable", "missing_field:text", "empty_field:text", "too_large"},
    "length": {"length:too_short"},
    "filter": {"filter:domain"},
    "langid": {"langid:unexpected"},
    "dedup": {"exact_duplicate", "near_duplicate"},
    "balance": {"balance:over_quota"},
    "pii": {"pii:ip"},
}


def everything_in(folder: Path) -> dict[str, str]:
    """Every file under a folder as text: parquet files decoded row by row (their bytes are compressed)."""
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            text = json.dumps(pl.read_parquet(path).to_dicts(), ensure_ascii=False, default=str)
        else:
            text = path.read_bytes().decode("utf-8", "replace")
        out[path.relative_to(folder).as_posix()] = text
    return out


def leaks(folder: Path) -> dict[str, list[str]]:
    return {value: [name for name, text in everything_in(folder).items() if value in text] for value in PLANTED}


def run_planted(tmp_path: Path, cli, keep_work: str = "auto", pii_extra: str = ""):
    recipe = write_recipe(tmp_path / "r.yaml", RECIPE.format(keep_work=keep_work, pii_extra=pii_extra))
    result = cli("run", str(recipe), cwd=tmp_path)
    assert result.code == 0, result
    return result


def test_planted_pii_leaves_no_trace_in_out(tmp_path, cli):
    planted_inputs(tmp_path)
    result = run_planted(tmp_path, cli)
    out = tmp_path / "out"
    rejects = pl.concat([pl.read_parquet(p) for p in sorted((out / "rejects").glob("*.parquet"))], how="diagonal")
    reasons: dict[str, set[str]] = {}
    for step, reason in rejects.select("_step", "_reason").iter_rows():
        reasons.setdefault(step, set()).add(reason.split(":")[0] if reason.startswith("quality:") else reason)
    assert reasons == {**STEP_REASONS, "quality": {"quality"}}  # every step that can reject a row did
    data = pl.read_parquet(out / "data" / "*.parquet")
    assert "<EMAIL>" in data["author"].to_list()  # a column the recipe never names is scanned too
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["accounting"]["ok"]
    # the value is nowhere: data, rejects (fields and `_raw`), manifest, card, the work folder, the log
    assert leaks(out) == {value: [] for value in PLANTED}
    assert not any(value in result.out + result.err for value in PLANTED)
    # the stages before pii keep their figures and scrubbed rejects only
    work = sorted(p.name for p in (out / ".curate").iterdir())
    raw_removed = [name for name in work if (out / ".curate" / name / "_RAW_REMOVED.json").exists()]
    assert [name.split("-")[1] for name in raw_removed] == [
        "read",
        "normalize",
        "length",
        "filter",
        "langid",
        "quality",
        "dedup",
        "dedup",
        "balance",
    ]


@pytest.mark.slow
def test_work_folder_reruns_and_keep_work(tmp_path, cli):
    planted_inputs(tmp_path)
    run_planted(tmp_path, cli)
    out = tmp_path / "out"
    first = (out / "rejects" / "03-filter.parquet").read_bytes()
    # the same recipe again: nothing to do
    assert "nothing to do" in cli("run", str(tmp_path / "r.yaml"), cwd=tmp_path).err
    # a change after the pii step (here the split fractions) keeps every cached stage
    recipe = (
        (tmp_path / "r.yaml").read_text().replace("  keep_work: auto", "  keep_work: auto\n  splits: {a: 0.5, b: 0.5}")
    )
    (tmp_path / "r.yaml").write_text(recipe)
    again = cli("run", str(tmp_path / "r.yaml"), cwd=tmp_path)
    assert again.code == 0 and again.err.count("(cached)") == 10, again.err
    assert (out / "rejects" / "03-filter.parquet").read_bytes() == first
    # a change to the pii step needs the raw rows again: they are read from the inputs anew
    changed = run_planted(tmp_path, cli, pii_extra=", pseudonymize_key_env: OTHER_KEY")
    assert "(cached)" not in changed.err, changed.err
    assert leaks(out) == {value: [] for value in PLANTED}
    # keep_work: true keeps the raw caches, says so, and still writes nothing raw outside .curate
    kept = run_planted(tmp_path, cli, keep_work="true", pii_extra=", phones: text")
    assert "holds raw, unscrubbed rows of 9 stage(s) before the pii step" in kept.err
    found = leaks(out)
    assert all(name.startswith(".curate/") for names in found.values() for name in names)
    assert found["adebayo.ola@meeli.ng"]  # the raw caches are there, as the warning says


def test_tags_of_earlier_steps_are_not_scanned_but_their_text_is(tmp_path):
    from curate.core.progress import Reporter
    from curate.run.engine import Run, RunOptions
    from curate.run.recipe import load_recipe

    recipe = write_recipe(
        tmp_path / "r.yaml",
        """\
name: tags
sources:
  - path: in.jsonl
steps:
  - langid: {field: text, on_fail: tag}
  - dedup: {method: exact, fields: [text], action: tag}
  - review: {sample: 5, correct: [text], push: false}
  - pii: {}
output:
  dir: out
""",
    )
    run = Run(load_recipe(recipe), [], RunOptions(out=tmp_path / "out"), Reporter())
    tags = run.tags_before(3)  # langid's tags (text_lang...), dedup's cluster, review's flag; not its text
    assert {"text_lang", "dup_cluster", "_reviewed"} <= tags and "text_before_review" not in tags
    assert "dup_cluster" not in run.tags_before(1) and "text_lang" in run.tags_before(1)


@pytest.mark.slow
def test_a_review_queue_before_pii_is_named_and_the_report_holds_no_value(tmp_path, cli):
    pytest.importorskip("matplotlib")
    planted_inputs(tmp_path)
    recipe = RECIPE.format(keep_work="auto", pii_extra="").replace(
        "  - pii:",
        "  - review: {{sample: 2, push: false, wait: false}}\n  - pii:".replace("{{", "{").replace("}}", "}"),
    )
    write_recipe(tmp_path / "r.yaml", recipe)
    result = cli("run", str(tmp_path / "r.yaml"), cwd=tmp_path)
    assert result.code == 0, result
    assert "holds rows from before the pii step, unscrubbed" in result.err and "/review" in result.err
    assert cli("report", str(tmp_path / "out")).code == 0
    found = leaks(tmp_path / "out")
    assert all("/review/" in name for names in found.values() for name in names)  # only the named queue
