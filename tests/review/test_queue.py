import csv
import json

import polars as pl
import pytest

from curate.core.errors import CurateError
from curate.review.queue import export_queue, read_answers

SPEC = {
    "fields": [
        {"name": "text", "column": "text", "title": "Text", "required": True},
        {"name": "target", "column": "target", "title": "Target", "required": False},
    ],
    "correct": ["target"],
    "labels": ["wrong_language", "pii_left", "other"],
    "metadata": [
        {"name": "lang", "column": "lang", "kind": "terms"},
        {"name": "why", "column": "_why", "kind": "terms"},
        {"name": "score", "column": "score", "kind": "float"},
    ],
}
QUEUE = pl.DataFrame(
    {
        "_id": ["r1", "r2", "r3"],
        "_why": [["sample"], ["sample", "low_confidence"], ["pii"]],
        "text": ["Where is the station?", "I like tea.", "Call me, 0612345678."],
        "target": ["Где вокзал?", "Me gusta el té.", "電話して、0612345678。"],
        "lang": ["rus", "fra", "jpn"],
        "score": [0.99, 0.31, 0.9],
        "_suggest_decision": ["accept", "reject", "reject"],
        "_suggest_issues": [[], ["wrong_language"], ["pii_left"]],
    }
)
IDS = {"r1", "r2", "r3"}


@pytest.mark.parametrize("name", ["queue.jsonl", "queue.csv"])
def test_export_then_import_round_trip(tmp_path, name):
    path = tmp_path / name
    assert export_queue(QUEUE, SPEC, path) == 3
    if name.endswith(".jsonl"):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert rows[1] == {
            "_id": "r2",
            "why": ["sample", "low_confidence"],
            "text": "I like tea.",
            "target": "Me gusta el té.",
            "lang": "fra",
            "score": 0.31,
            "suggested_decision": "reject",
            "suggested_issues": ["wrong_language"],
            "decision": None,
            "corrected_target": None,
            "issues": [],
            "note": None,
            "annotator": None,
        }
        rows[0].update(decision="accept", corrected_target="Где же вокзал?")
        rows[1].update(decision="REJECT", issues=["wrong_language"], note="Spanish")
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    else:
        rows = list(csv.DictReader(path.open(encoding="utf-8")))
        assert rows[1]["why"] == "sample;low_confidence" and rows[1]["suggested_issues"] == "wrong_language"
        rows[0].update(decision="accept", corrected_target="Где же вокзал?")
        rows[1].update(decision="reject", issues="wrong_language", note="Spanish")
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    answers = read_answers(path, SPEC, IDS, annotator="olga")
    assert answers.select(
        "_id", "annotator", "origin", "status", "decision", "issues", "note", "corrected_target"
    ).rows() == [
        ("r1", "olga", "file", "submitted", "accept", [], None, "Где же вокзал?"),
        ("r2", "olga", "file", "submitted", "reject", ["wrong_language"], "Spanish", None),
    ]


def test_import_reports_every_problem_with_its_line(tmp_path):
    path = tmp_path / "answers.jsonl"
    lines = [
        {"_id": "r1", "decision": "maybe"},
        {"_id": "nope", "decision": "accept"},
        {"_id": "r3", "decision": "reject", "issues": "pii_left;rude"},
        {"_id": "r2", "decision": ""},
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    with pytest.raises(CurateError) as info:
        read_answers(path, SPEC, IDS, None)
    message = str(info.value)
    assert "3 answer(s) can't be imported" in message
    assert f"{path}, line 1: decision 'maybe' must be `accept` or `reject`" in message
    assert f"{path}, line 2: `_id` 'nope' is not in the review queue" in message
    assert f"{path}, line 3: unknown issue label(s) rude (allowed: other, pii_left, wrong_language)" in message


def test_import_needs_one_answer_per_reviewer_and_a_known_format(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(
        '{"_id": "r1", "decision": "accept", "annotator": "x"}\n{"_id": "r1", "decision": "reject", "annotator": "x"}\n'
    )
    with pytest.raises(CurateError, match="row r1 is answered twice by 'x'"):
        read_answers(path, SPEC, IDS, None)
    two = tmp_path / "b.jsonl"
    two.write_text(
        '{"_id": "r1", "decision": "accept", "annotator": "x"}\n{"_id": "r1", "decision": "reject", "annotator": "y"}\n'
    )
    assert read_answers(two, SPEC, IDS, None)["annotator"].to_list() == ["x", "y"]
    with pytest.raises(CurateError, match="as .jsonl or .csv"):
        export_queue(QUEUE, SPEC, tmp_path / "queue.xlsx")
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    with pytest.raises(CurateError, match="line 1: not JSON"):
        read_answers(tmp_path / "bad.jsonl", SPEC, IDS, None)
