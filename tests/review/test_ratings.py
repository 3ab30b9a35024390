"""The ratings queue of a model's outputs: which outputs, what raters see, how their ratings meet the judge's."""

import polars as pl
import pytest

from curate.review import ratings
from curate.review import records as rec

ROWS = [
    {"set": "test", "_id": f"r{i}", "lang": lang, "input": f"source {i}", "reference": f"ref {i}", "output": f"out {i}"}
    for i, lang in enumerate(["fra"] * 5 + ["swh"] * 2)
]
JUDGED = [
    {"set": "test", "_id": "r1", "model": "tuned", "score": 4.5},
    {"set": "test", "_id": "r3", "model": "tuned", "score": 2.0},
    {"set": "test", "_id": "r1", "model": "base", "score": 1.0},
]


def test_sample_per_language_judged_first_and_stable():
    queue = ratings.sample_outputs(ROWS, JUDGED, per_language=3, seed=13)
    assert queue.group_by("lang").len().sort("lang").rows() == [("fra", 3), ("swh", 2)]
    french = queue.filter(pl.col("lang") == "fra")
    assert set(french["row_id"].to_list()[:2]) == {"r1", "r3"}  # the judged outputs come first
    assert dict(zip(queue["row_id"], queue["_suggest_rating"])) == {
        **{r: None for r in queue["row_id"]},
        "r1": 4,
        "r3": 2,
    }
    again = ratings.sample_outputs(list(reversed(ROWS)), JUDGED, per_language=3, seed=13)
    assert sorted(again["_id"].to_list()) == sorted(queue["_id"].to_list())  # the input's order does not matter
    assert all(len(i) == 16 for i in queue["_id"]) and queue["_id"].n_unique() == 5


def test_records_raters_see_and_the_settings_asked(tmp_path):
    assert ratings.write_rating_queue(tmp_path, ROWS, JUDGED, 2, name="m", seed=1) == 4
    store = ratings.store_for(tmp_path)
    spec, queue = store.spec(), store.queue()
    assert (
        spec["kind"] == "ratings" and spec["dataset"] == "m-ratings" and rec.question_names(spec) == ["rating", "note"]
    )
    assert [f["name"] for f in spec["fields"]] == ["source", "output", "reference"]
    judged = rec.record_dicts(queue.filter(pl.col("row_id") == "r1"), spec)[0]
    assert judged["fields"] == {"source": "source 1", "output": "out 1", "reference": "ref 1"}
    assert judged["metadata"] == {"lang": "fra", "set": "test", "judge_score": 4.5}
    assert judged["suggestions"] == [{"question": "rating", "value": 4, "score": None}]
    assert "Give one **rating** from 1 to 5" in spec["guidelines"]
    assert ratings.store_for(tmp_path / "elsewhere") is None


def answers(rows: list[tuple[str, str, int | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"_id": i, "annotator": who, "origin": "file", "status": "submitted", "rating": r, "note": None}
            for i, who, r in rows
        ],
        schema=ratings.RATING_SCHEMA,
    )


def test_report_means_correlations_and_the_judges_kindness():
    queue = pl.DataFrame(
        {"_id": ["a", "b", "c", "d"], "lang": ["fra"] * 3 + ["swh"], "judge_score": [5.0, 4.0, 3.0, None]}
    )
    found = ratings.report(queue, answers([("a", "x", 4), ("a", "y", 5), ("b", "x", 4), ("c", "x", 1), ("d", "x", 2)]))
    fra, swh = found["languages"]
    # humans: a 4.5, b 4, c 1: the judge's order (5, 4, 3), so rank correlations of 1; the judge is higher on a and c
    assert fra == {
        "lang": "fra",
        "queued": 3,
        "rated": 3,
        "ratings": 4,
        "human": round(9.5 / 3, 3),
        "judge": 4.0,
        "paired": 3,
        "spearman": 1.0,
        "kendall": 1.0,
        "judge_higher": round(2 / 3, 4),
    }
    assert (swh["rated"], swh["human"], swh["judge"], swh["spearman"], swh["judge_higher"]) == (
        1,
        2.0,
        None,
        None,
        None,
    )
    assert found["overall"]["rated"] == 4 and found["raters"] == ["x", "y"]
    reverse = ratings.report(queue, answers([("a", "x", 1), ("b", "x", 2), ("c", "x", 5)]))["languages"][0]
    assert (reverse["spearman"], reverse["kendall"]) == (-1.0, -1.0)
    flat = ratings.report(queue, answers([("a", "x", 3), ("b", "x", 3), ("c", "x", 3)]))["languages"][0]
    assert (flat["spearman"], flat["kendall"]) == (None, None)  # undefined for a constant side, not a number


def test_a_filled_in_file_is_checked():
    spec = {"kind": "ratings"}
    where = "r.csv, row 2"
    assert ratings.parse_answer({"_id": "a", "rating": ""}, where, spec, {"a"}, None) is None
    assert ratings.parse_answer({"_id": "a", "rating": "4", "note": " ok "}, where, spec, {"a"}, "olga") == {
        "_id": "a",
        "annotator": "olga",
        "origin": "file",
        "status": "submitted",
        "rating": 4,
        "note": "ok",
    }
    assert ratings.parse_answer({"_id": "a", "rating": "4.0"}, where, spec, {"a"}, None)["annotator"] == "file"
    assert ratings.parse_answer({"_id": "z", "rating": "4"}, where, spec, {"a"}, None) == (
        "r.csv, row 2: `_id` 'z' is not in the ratings queue"
    )
    for bad in ("0", "3.5", "good"):
        assert ratings.parse_answer({"_id": "a", "rating": bad}, where, spec, {"a"}, None) == (
            f"r.csv, row 2: rating {bad!r} must be a whole number from 1 to 5 (or empty: not rated)"
        )


@pytest.mark.parametrize("value,expected", [(3, {"rating": 3, "note": None}), (None, {"rating": None, "note": None})])
def test_argilla_answers(value, expected):
    assert rec.answer_values(lambda q: value if q == "rating" else None, {"kind": "ratings"}) == expected
