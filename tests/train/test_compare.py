"""The base/tuned comparison: differences, forgetting flags on retain sets only, the table as the card shows it."""

import polars as pl
import pytest

from curate.train.compare import compare, forgetting_lines, is_drop, markdown
from curate.train.data import Examples
from curate.train.evaluate import EvalResult, LanguageScore
from curate.train.sets import EvalSet


def result(name: str, scores: dict[str, tuple[float, float, float]]) -> EvalResult:
    """(loss, chrF, BLEU) per language; the overall row is their plain mean (as a macro average)."""
    langs = [LanguageScore(lang, lang.upper(), 2, loss, chrf, bleu) for lang, (loss, chrf, bleu) in scores.items()]
    mean = lambda i: round(sum(v[i] for v in scores.values()) / len(scores), 4)  # noqa: E731
    return EvalResult(name, langs, LanguageScore("all", "macro average", 2 * len(langs), mean(0), mean(1), mean(2)))


def eval_set(name: str, kind: str, langs: list[str]) -> EvalSet:
    frame = pl.DataFrame({"lang": [lang for lang in langs for _ in range(2)]})
    return EvalSet(name, kind, Examples(frame), "out/x", "validation")


SETS = [eval_set("validation", "eval", ["swh"]), eval_set("retain:old", "retain", ["deu", "fra"])]
BASE = {
    "validation": result("validation", {"swh": (5.0, 10.0, 1.0)}),
    "retain:old": result("retain:old", {"deu": (3.0, 40.0, 12.0), "fra": (3.2, 35.0, 9.0)}),
}
TUNED = {
    "validation": result("validation", {"swh": (4.0, 18.5, 3.0)}),
    "retain:old": result("retain:old", {"deu": (3.1, 39.5, 11.0), "fra": (3.6, 30.0, 8.0)}),
}


def test_differences_and_flags():
    c = compare(SETS, TUNED, BASE, metric="chrf", tolerance=1.0, reference="the base model")
    assert c["metrics"] == ["loss", "chrf", "bleu"] and c["compared"] is True
    (swh,) = [r for r in c["sets"][0]["rows"] if r["lang"] == "swh"]
    assert swh["delta"] == {"loss": -1.0, "chrf": 8.5, "bleu": 2.0, "judge": None} and swh["forgetting"] is False
    deu, fra, overall = c["sets"][1]["rows"]
    assert (deu["delta"]["chrf"], deu["forgetting"]) == (-0.5, False)  # within the tolerance
    assert (fra["delta"]["chrf"], fra["forgetting"]) == (-5.0, True)
    assert (overall["lang"], overall["delta"]["chrf"], overall["forgetting"]) == ("all", -2.75, True)
    assert c["forgetting"] == [
        {"set": "retain:old", "lang": "fra", "metric": "chrf", "base": 35.0, "tuned": 30.0, "delta": -5.0},
        {"set": "retain:old", "lang": "all", "metric": "chrf", "base": 37.5, "tuned": 34.75, "delta": -2.75},
    ]
    assert forgetting_lines(c) == [
        "forgetting on retain:old `fra`: chrF 35.0 → 30.0 (-5.0; tolerance 1)",
        "forgetting on retain:old `all`: chrF 37.5 → 34.8 (-2.8; tolerance 1)",
    ]


def test_loss_as_the_retain_metric_flags_a_rise():
    c = compare(SETS, TUNED, BASE, metric="loss", tolerance=0.2, reference="the base model")
    assert [(f["lang"], f["delta"]) for f in c["forgetting"]] == [("fra", 0.4), ("all", 0.25)]
    assert is_drop(0.3, "loss", 0.2) and not is_drop(-3.0, "loss", 0.2) and is_drop(-0.3, "bleu", 0.2)
    assert not is_drop(None, "chrf", 0.0)


def test_markdown_table():
    c = compare(SETS, TUNED, BASE, metric="chrf", tolerance=1.0, reference="the base model")
    assert markdown(c) == (
        "| set | language | name | rows | loss | chrF | BLEU | forgetting |\n"
        "|---|---|---|---|---|---|---|---|\n"
        "| validation | `swh` | SWH | 2 | 5.000 → 4.000 (-1.000) | 10.0 → 18.5 (+8.5) | 1.0 → 3.0 (+2.0) |  |\n"
        "| validation | all | macro average | 2 | 5.000 → 4.000 (-1.000) | 10.0 → 18.5 (+8.5) | 1.0 → 3.0 (+2.0) |  |\n"
        "| retain:old | `deu` | DEU | 2 | 3.000 → 3.100 (+0.100) | 40.0 → 39.5 (-0.5) | 12.0 → 11.0 (-1.0) | no |\n"
        "| retain:old | `fra` | FRA | 2 | 3.200 → 3.600 (+0.400) | 35.0 → 30.0 (-5.0) | 9.0 → 8.0 (-1.0) | yes |\n"
        "| retain:old | all | macro average | 4 | 3.100 → 3.350 (+0.250) | 37.5 → 34.8 (-2.8) | 10.5 → 9.5 (-1.0) | yes |\n"
    )


def test_without_the_base_only_the_tuned_figures():
    c = compare(SETS, TUNED, None, metric="chrf", tolerance=1.0, reference="the base model")
    assert c["compared"] is False and c["forgetting"] == []
    assert markdown(c).splitlines()[:3] == [
        "| set | language | name | rows | loss | chrF | BLEU |",
        "|---|---|---|---|---|---|---|",
        "| validation | `swh` | SWH | 2 | 4.000 | 18.5 | 3.0 |",
    ]


def test_a_judge_column_appears_when_judged():
    tuned = {"validation": result("validation", {"swh": (4.0, 18.5, 3.0)})}
    base = {"validation": result("validation", {"swh": (5.0, 10.0, 1.0)})}
    tuned["validation"].languages[0].judge, base["validation"].languages[0].judge = 3.5, 2.25
    c = compare(SETS[:1], tuned, base, metric="chrf", tolerance=1.0, reference="the base model")
    assert c["metrics"] == ["loss", "chrf", "bleu", "judge"]
    assert markdown(c).splitlines()[2].endswith("| 2.25 → 3.50 (+1.25) |")


@pytest.mark.parametrize("value,shown", [(-0.04, "+0.0"), (0.05, "+0.1"), (-1.25, "-1.2")])
def test_signs_never_show_minus_zero(value, shown):
    from curate.train.compare import _number

    assert _number(value, 1, sign=True) == shown
