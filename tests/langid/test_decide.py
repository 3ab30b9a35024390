import polars as pl
import pytest

pytest.importorskip("langcodes")
pytest.importorskip("language_data")

from curate.langid.decide import average, choose, flatten, merge_second, restrict_to_script


def candidates(rows):
    """rows: unit -> [(prob, label)], labels already ISO 639-3."""
    units = sorted(rows)
    return flatten(units, [rows[u] for u in units])


def test_flatten_keeps_rank_and_maps_labels():
    frame = flatten([3, 7], [[(0.9, "__label__fr"), (0.05, "__label__en")], [(0.6, "__label__sh")]],
                    {"__label__fr": "fra", "__label__en": "eng", "__label__sh": "hbs"})  # fmt: skip
    assert frame.rows() == [
        (3, 0, "__label__fr", "fra", 0.9), (3, 1, "__label__en", "eng", 0.05), (7, 0, "__label__sh", "hbs", 0.6),
    ]  # fmt: skip


def test_choose_folds_members_the_model_cannot_tell_apart():
    out = choose(candidates({
        0: [(0.5, "hrv"), (0.3, "bos"), (0.1, "srp"), (0.05, "slv")],  # hrv holds 0.56 of hbs: fold
        1: [(0.9, "hrv"), (0.05, "bos")],  # clear: keep the member
        2: [(0.5, "nor"), (0.3, "nno")],  # a macrolanguage label collects its members
        3: [(0.7, "fra"), (0.2, "ita")],  # no macrolanguage
        4: [(0.45, "swh"), (0.1, "eng")],  # a member alone holds its whole group: keep it
    }), fold=0.8)  # fmt: skip
    assert out.sort("unit").rows() == [
        (0, "hbs", pytest.approx(0.9), True),
        (1, "hrv", 0.9, False),
        (2, "nor", pytest.approx(0.8), False),
        (3, "fra", 0.7, False),
        (4, "swh", 0.45, False),
    ]


def test_choose_without_folding():
    out = choose(candidates({0: [(0.5, "hrv"), (0.3, "bos")]}), fold=0.0)
    assert out.rows() == [(0, "hrv", 0.5, False)]


def test_restrict_to_script_drops_and_renormalises():
    cands = candidates({
        0: [(0.6, "jpn"), (0.3, "zho"), (0.05, "kor")],  # Han without kana: not Japanese
        1: [(0.5, "eng"), (0.4, "rus")],  # Latin: nothing ruled out
        2: [(0.7, "eng"), (0.2, "swe")],  # Gothic: nothing fits
        3: [(0.6, "xyz"), (0.4, "rus")],  # unknown language: never ruled out
    })  # fmt: skip
    scripts = pl.DataFrame({"unit": [0, 1, 2, 3], "script": ["Hani", "Latn", "Goth", "Cyrl"]},
                           schema={"unit": pl.UInt32, "script": pl.String})  # fmt: skip
    writable = pl.DataFrame(
        {"label": ["jpn", "zho", "kor", "eng", "rus", "swe"],
         "classes": [["Jpan"], ["Hani"], ["Kore"], ["Latn"], ["Cyrl"], ["Latn"]]},
        schema={"label": pl.String, "classes": pl.List(pl.String)},
    )  # fmt: skip
    out = restrict_to_script(cands, scripts, writable).sort("unit", "rank")
    assert out.select("unit", "code").rows() == [(0, "zho"), (1, "eng"), (1, "rus"), (3, "xyz"), (3, "rus")]
    assert out["prob"].to_list() == pytest.approx([0.3 / 0.35, 0.5, 0.4, 0.6, 0.4])


def test_merge_second_keeps_the_more_confident():
    first = pl.DataFrame({"unit": [0, 1, 2], "lang": ["eng", "ita", "fra"], "score": [0.2, 0.25, 0.9]},
                         schema_overrides={"unit": pl.UInt32})  # fmt: skip
    second = pl.DataFrame({"unit": [0, 1], "lang": ["zul", "spa"], "score": [0.8, 0.1]},
                          schema_overrides={"unit": pl.UInt32})  # fmt: skip
    out = merge_second(first, second)
    assert out.rows() == [(0, "zul", 0.8, True), (1, "ita", 0.25, False), (2, "fra", 0.9, False)]


def test_average_of_two_detectors():
    first = candidates({0: [(0.25, "eng"), (0.2, "yor")], 1: [(0.9, "fra")]})
    second = candidates({0: [(0.6, "zul"), (0.3, "eng")]})
    out = average(first, second)
    assert out.select("unit", "rank", "code").rows() == [(0, 0, "zul"), (0, 1, "eng"), (0, 2, "yor")]
    assert out["prob"].to_list() == pytest.approx([0.3, 0.275, 0.1])  # unit 1 was not asked: left out
