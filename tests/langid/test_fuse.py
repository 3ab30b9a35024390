"""The decision rules of `curate.langid.fuse` on hand-made detector output, with figures computed by hand."""

import math
from typing import ClassVar

import polars as pl
import pytest

pytest.importorskip("langcodes")
pytest.importorskip("language_data")

from curate.langid.detectors import CANDIDATES, Detection, Detector
from curate.langid.fuse import expect_prior, fuse, knowledge


class Known(Detector):
    """A detector that knows some languages; no calibration is measured for it, so its confidence in its answer is
    sigmoid(signal): a signal of logit(p) means p."""

    name: ClassVar[str] = "unused"

    def __init__(self, name: str, codes: list[str]):
        self.name = name  # type: ignore[misc]
        self.labels = {c: (c, None) for c in codes}


def said(rows: list[tuple[int, list[tuple[str, float]]]], n_units: int, confidence: dict[int, float]) -> Detection:
    """Candidates (unit -> ranked (code, weight)) and the detector's confidence in its answer per unit."""
    flat = [(unit, rank, code, None, w) for unit, cands in rows for rank, (code, w) in enumerate(cands)]
    frame = pl.DataFrame(flat, schema=CANDIDATES, orient="row")
    logit = [math.log(confidence[u] / (1 - confidence[u])) if u in confidence else None for u in range(n_units)]
    return Detection(frame, pl.Series("signal", logit, dtype=pl.Float64))


A = Known("a", ["eng", "fra", "yor"])
B = Known("b", ["eng", "fra"])
LATIN = pl.DataFrame({"unit": [0], "unit_script": ["Latn"]}, schema={"unit": pl.UInt32, "unit_script": pl.String})


def test_each_language_judged_by_the_detectors_that_know_it():
    # a: yor, confident (0.9), runner-up fra; b (no Yoruba): fra 0.6, runner-up eng. Per family, log(q * |K|):
    #   yor: a log(0.9 * 3) = 0.993; b knows no Yoruba, its silence is no evidence         -> 0.993
    #   fra: a log(0.05 * 3) = -1.897; b log(0.6 * 2) = 0.182                               -> -1.715
    #   eng: a (not listed: its spread doubt 0.05) log(0.15) = -1.897; b log(0.2 * 2) = -0.916 -> -2.813
    detections = {
        "a": said([(0, [("yor", 0.9), ("fra", 0.1)])], 1, {0: 0.9}),
        "b": said([(0, [("fra", 0.6), ("eng", 0.4)])], 1, {0: 0.6}),
    }
    out = fuse(detections, {"a": A, "b": B}, LATIN)
    posterior = 1 / (1 + math.exp(-1.715 - 0.993) + math.exp(-2.813 - 0.993))
    # support: the weakest confidence among the detectors that know Yoruba: a alone, 0.9
    assert out.rows() == [(0, "yor", pytest.approx(posterior, abs=1e-3), pytest.approx(0.9))]


def test_expected_languages_are_prior_knowledge():
    # expect [fra] with prior 0.9 over the 3 families the detectors know: fra +log(0.9), others +log(0.05):
    #   yor 0.993 - 2.996 = -2.003; fra -1.715 - 0.105 = -1.820: the detectors' shortlist had French, so it wins
    detections = {
        "a": said([(0, [("yor", 0.9), ("fra", 0.1)])], 1, {0: 0.9}),
        "b": said([(0, [("fra", 0.6), ("eng", 0.4)])], 1, {0: 0.6}),
    }
    assert fuse(detections, {"a": A, "b": B}, LATIN, ["fra"], 0.9)["lang"].to_list() == ["fra"]
    # ...but not against clear evidence: both detectors sure of English
    clear = {
        "a": said([(0, [("eng", 0.99), ("fra", 0.01)])], 1, {0: 0.99}),
        "b": said([(0, [("eng", 0.99), ("fra", 0.01)])], 1, {0: 0.99}),
    }
    assert fuse(clear, {"a": A, "b": B}, LATIN, ["fra"], 0.9)["lang"].to_list() == ["eng"]
    # ...and never a language no detector proposed
    assert fuse(clear, {"a": A, "b": B}, LATIN, ["yor"], 0.99)["lang"].to_list() == ["eng"]


def test_expect_prior_values():
    table, outside = expect_prior(["fra", "yor"], knowledge([A, B]), 0.9)
    assert table.rows() == [("fra", pytest.approx(math.log(0.45))), ("yor", pytest.approx(math.log(0.45)))]
    assert outside == pytest.approx(math.log(0.1))  # one other family (eng) holds the rest
    assert expect_prior([], knowledge([A, B]), 0.9) is None and expect_prior(["fra"], knowledge([A]), 0) is None


def test_script_rules_out_languages_not_written_in_it():
    russian = Known("c", ["rus", "fra", "bul"])
    detections = {"c": said([(0, [("fra", 0.7), ("rus", 0.2), ("bul", 0.1)])], 1, {0: 0.7})}
    cyrillic = LATIN.with_columns(unit_script=pl.lit("Cyrl"))
    assert fuse(detections, {"c": russian}, cyrillic)["lang"].to_list() == ["rus"]
    assert fuse(detections, {"c": russian}, LATIN)["lang"].to_list() == ["fra"]  # Latin rules nothing out


def test_members_of_a_macrolanguage_fold_unless_the_detectors_agree():
    x, y = Known("x", ["hrv", "bos", "srp", "slv"]), Known("y", ["hbs", "slv"])
    units = pl.DataFrame({"unit": [0, 1, 2], "unit_script": ["Latn"] * 3}, schema=LATIN.schema)
    detections = {
        # 0: x splits Croatian and Bosnian (hrv holds 0.6 of the family), 1: x is sure of hrv but y, which cannot
        # name members, says hbs: hrv's share is (0.95 + 0) / 2; 2: both Slovenian
        "x": said(
            [(0, [("hrv", 0.6), ("bos", 0.4)]), (1, [("hrv", 0.95), ("srp", 0.05)]), (2, [("slv", 0.9)])],
            3,
            {0: 0.6, 1: 0.95, 2: 0.9},
        ),
        "y": said([(0, [("hbs", 0.9)]), (1, [("hbs", 0.9)]), (2, [("slv", 0.8)])], 3, {0: 0.9, 1: 0.9, 2: 0.8}),
    }
    assert fuse(detections, {"x": x, "y": y}, units)["lang"].to_list() == ["hbs", "hbs", "slv"]
    only_x = {"x": detections["x"]}
    out = fuse(only_x, {"x": x}, units)
    assert out["lang"].to_list() == ["hbs", "hrv", "slv"]  # hrv holds 0.95 of x's weight in the family: >= 0.8
    assert fuse(only_x, {"x": x}, units, fold=0.5)["lang"].to_list() == ["hrv", "hrv", "slv"]


def test_a_detector_that_said_nothing_abstains():
    # b said nothing about unit 0 (null signal): yor is judged by a alone, and fra gets no evidence from b
    detections = {"a": said([(0, [("yor", 0.6), ("fra", 0.4)])], 1, {0: 0.6}), "b": said([], 1, {})}
    assert fuse(detections, {"a": A, "b": B}, LATIN)["lang"].to_list() == ["yor"]


def test_support_is_the_weakest_detector_that_knows_the_language():
    # Both detectors know French. 0: both answer it (0.95 and 0.6): support 0.6. 1: b answers English: support 0 (a
    # detector that could have recognised French did not), though French still wins on a's confidence.
    units = pl.DataFrame({"unit": [0, 1], "unit_script": ["Latn"] * 2}, schema=LATIN.schema)
    detections = {
        "a": said([(0, [("fra", 1.0)]), (1, [("fra", 1.0)])], 2, {0: 0.95, 1: 0.99}),
        "b": said([(0, [("fra", 1.0)]), (1, [("eng", 0.6), ("fra", 0.4)])], 2, {0: 0.6, 1: 0.6}),
    }
    out = fuse(detections, {"a": A, "b": B}, units)
    assert out["lang"].to_list() == ["fra", "fra"]
    assert out["support"].to_list() == [pytest.approx(0.6), 0.0]
