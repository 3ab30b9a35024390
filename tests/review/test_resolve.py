import polars as pl
import pytest

from curate.review.resolve import agreement, counts, krippendorff_alpha, resolve
from curate.review.state import empty_answers

QUEUE = pl.DataFrame(
    {
        "_id": ["a", "b", "c", "d", "e"],
        "target": ["Merci beaucoup.", "Wie alt bist du", "Nina njaa.", "Доброе утро.", "駅はどこですか。"],
    }
)


def _answers(rows: list[tuple]) -> pl.DataFrame:
    """(id, annotator, status, decision, issues, note, corrected_target)"""
    frame = pl.DataFrame(
        [dict(zip(("_id", "annotator", "status", "decision", "issues", "note", "corrected_target"), r)) for r in rows],
        schema={
            "_id": pl.String,
            "annotator": pl.String,
            "status": pl.String,
            "decision": pl.String,
            "issues": pl.List(pl.String),
            "note": pl.String,
            "corrected_target": pl.String,
        },
    )
    return pl.concat(
        [empty_answers(["target"]), frame.with_columns(pl.lit("argilla").alias("origin"))], how="diagonal_relaxed"
    )


ANSWERS = _answers(
    [
        ("a", "ann1", "submitted", "reject", ["wrong_language"], None, None),
        ("a", "ann2", "submitted", "reject", ["wrong_language", "other"], "Spanish", None),
        ("b", "ann1", "submitted", "accept", [], None, "Wie alt bist du?"),
        ("b", "ann2", "submitted", "accept", [], None, "Wie alt bist du?  "),
        ("b", "ann3", "submitted", "accept", [], None, "Wie alt bist du ?"),
        ("c", "ann1", "submitted", "accept", [], None, "Nina njaa."),  # unchanged: no correction
        ("c", "ann2", "submitted", "reject", ["bad_translation"], "wrong", None),
        ("d", "ann1", "discarded", None, [], None, None),
        ("d", "ann2", "draft", "accept", [], None, None),
    ]
)


def test_majority_ties_corrections_and_details():
    d = resolve(QUEUE, ANSWERS, ["target"]).sort("_id")
    assert d["_decision"].to_list() == ["reject", "accept", "reject", "pending", "pending"]
    assert d["_votes_accept"].to_list() == [0, 3, 1, 0, 0] and d["_votes_reject"].to_list() == [2, 0, 1, 0, 0]
    assert d["corrected_target"].to_list() == [None, "Wie alt bist du?", None, None, None]  # 2 of 3 said so
    assert d["_detail"].to_list() == [
        "2 of 2 reviewers rejected; issues: other, wrong_language; note: Spanish",
        None,
        "1 of 2 reviewers rejected; issues: bad_translation; note: wrong",
        None,
        None,
    ]
    assert d["_agreement"].to_list() == [1.0, 1.0, 0.5, None, None]
    assert resolve(QUEUE, ANSWERS, ["target"], ties="accept").sort("_id")["_decision"][2] == "accept"
    assert resolve(QUEUE, ANSWERS, ["target"], ties="pending").sort("_id")["_decision"][2] == "pending"
    # disjoint, adding up to the 5 rows queued: b was accepted with a correction
    assert counts(d, ["target"]) == {"accepted": 0, "corrected": 1, "rejected": 2, "pending": 2}


def test_a_correction_tie_goes_to_the_first_annotator_by_name():
    answers = _answers(
        [
            ("b", "zoe", "submitted", "accept", [], None, "Wie alt bist du?"),
            ("b", "amy", "submitted", "accept", [], None, "Wie alt bist Du?"),
        ]
    )
    assert (
        resolve(QUEUE, answers, ["target"]).filter(pl.col("_id") == "b")["corrected_target"].item()
        == "Wie alt bist Du?"
    )


def test_krippendorff_alpha_matches_the_worked_example():
    # 2 coders, 4 units: (a,a), (a,a), (r,r), (a,r) -> o_ar = 1, n_a = 5, n_r = 3, n = 8 -> 1 - 7/15
    tally = pl.DataFrame({"_votes_accept": [2, 2, 0, 1], "_votes_reject": [0, 0, 2, 1]})
    assert krippendorff_alpha(tally) == pytest.approx(1 - 7 / 15)
    assert krippendorff_alpha(pl.DataFrame({"_votes_accept": [2, 3], "_votes_reject": [0, 0]})) is None
    assert krippendorff_alpha(pl.DataFrame({"_votes_accept": [1], "_votes_reject": [0]})) is None
    perfect = pl.DataFrame({"_votes_accept": [2, 0], "_votes_reject": [0, 2]})
    assert krippendorff_alpha(perfect) == pytest.approx(1.0)


def test_agreement_figures():
    d = resolve(QUEUE, ANSWERS, ["target"])
    figures = agreement(d, ANSWERS)
    assert figures["rows_with_votes"] == 3 and figures["rows_with_several_votes"] == 3
    assert figures["unanimous"] == pytest.approx(2 / 3, abs=1e-4)
    assert figures["pairwise_agreement"] == pytest.approx((1 + 1 + 0) / 3, abs=1e-4)
    assert figures["annotators"]["ann1"] == {
        "votes": 3,
        "accepted": 2,
        "rejected": 1,
        "with_majority": pytest.approx(2 / 3, abs=1e-4),
    }
    assert figures["annotators"]["ann3"]["with_majority"] == 1.0
    assert "ann1" in figures["annotators"] and set(figures["annotators"]) == {"ann1", "ann2", "ann3"}
