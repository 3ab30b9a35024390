"""The decision: several detectors' candidates, the script and the recipe's expected languages, to one language.

Each detector knows its own set of languages and is right more or less often; its silence about a language it has
no label for is no evidence. So each language is judged by the detectors that know it, with the evidence each one
gives, and the answers are combined as independent pieces of evidence (naive Bayes):

1. A detector's answer is right with probability `c = sigmoid(a + b * signal)` (its calibration, measured on half of
   `shared/eval/lid` by `bench/langid.py --fit`, on the rows whose language it knows). Its distribution over the
   languages it knows: `c` on its answer, half of the rest on its runners-up (in proportion to their weights), the
   other half spread evenly over every other language it knows.
2. Script: a candidate never written in the unit's script is dropped (Latin and unknown scripts rule nothing out; see
   `curate.langid.scripts`).
3. Languages are compared as macrolanguage families (`hbs` = bos, hrv, srp, hbs): a detector that names a member
   gives evidence for the family. Family `F` scores `sum over detectors that know F of log(q_d(F) * |K_d|)`, the
   log-ratio of the detector's probability for `F` to its uniform prior over the `|K_d|` families it knows; plus,
   when the recipe lists the languages it expects, a prior: the expected families share `expect_prior` of the
   probability and all the others the rest. Only families that some detector proposed compete.
4. The family with the highest score wins; its score is its share of the candidates' posterior. A member is written
   instead of the family when the detectors that proposed the family give it at least `fold` of their weight in the
   family, on average; otherwise the macrolanguage is written (`nor` for Norwegian the detectors cannot split, `zho`
   for Chinese that one detector calls `cmn` and the others `zh`).
5. Support: the weakest confidence in the chosen language among the detectors that know it (0 when one of them
   answered another language). The posterior says which known language fits best; support says whether every
   detector that could have recognised the language did: the `quality` step applies language-specific rules only
   where it is high.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import polars as pl

from curate.core.languages import macrolanguages
from curate.langid.detectors import Detection, Detector, calibration_of
from curate.langid.scripts import writable_in

RUNNER_UP_SHARE = 0.5  # of a detector's doubt (1 - c), the part on its runners-up; the rest is spread evenly
FLOOR = 1e-9


def family_of(codes: pl.Expr) -> pl.Expr:
    return codes.replace(macrolanguages())


def knowledge(detectors: Iterable[Detector]) -> pl.DataFrame:
    """(detector, code, family, size): every language each detector can name, and how many families it knows."""
    rows = [(d.name, code) for d in detectors for code in sorted(d.languages)]
    frame = pl.DataFrame(rows, schema={"detector": pl.String, "code": pl.String}, orient="row")
    frame = frame.with_columns(family=family_of(pl.col("code")))
    sizes = frame.group_by("detector").agg(size=pl.col("family").n_unique())
    return frame.join(sizes, on="detector")


def writable_table(detections: dict[str, Detection]) -> pl.DataFrame:
    """(code, script, classes): the text classes each proposed (language, label script) can be written in."""
    pairs = pl.concat([d.candidates.select("code", "script") for d in detections.values()]).unique()
    classes = [
        sorted(c) if (c := writable_in(code, script)) is not None else None for code, script in pairs.iter_rows()
    ]
    return pairs.with_columns(classes=pl.Series(classes, dtype=pl.List(pl.String)))


def calibrated(name: str, detection: Detection, ab: tuple[float, float]) -> pl.DataFrame:
    """The detector's candidates with `q`, its calibrated probability for each (step 1 of the module doc)."""
    a, b = ab
    signal = pl.DataFrame(
        {"unit": pl.int_range(detection.signal.len(), dtype=pl.UInt32, eager=True), "signal": detection.signal}
    )
    conf = 1.0 / (1.0 + (-(a + b * pl.col("signal"))).exp())
    runners = pl.col("weight").filter(pl.col("rank") > 0).sum().over("unit")
    share = pl.when(runners > 0).then(pl.col("weight") / runners).otherwise(0.0)
    return (
        detection.candidates.join(signal, on="unit", how="left")
        .with_columns(conf=conf)
        .with_columns(
            detector=pl.lit(name),
            q=pl.when(pl.col("rank") == 0)
            .then(pl.col("conf"))
            .otherwise((1 - pl.col("conf")) * RUNNER_UP_SHARE * share),
        )
        .select("unit", "detector", "rank", "code", "script", "weight", "q")
    )


def in_script(candidates: pl.DataFrame, unit_scripts: pl.DataFrame, writable: pl.DataFrame) -> pl.DataFrame:
    """Candidates written in their unit's script (step 2)."""
    frame = candidates.join(unit_scripts, on="unit", how="left").join(
        writable, on=["code", "script"], how="left", nulls_equal=True
    )
    ok = (
        pl.col("unit_script").is_null()
        | (pl.col("unit_script") == "Latn")
        | pl.col("classes").is_null()
        | pl.col("classes").list.contains(pl.col("unit_script")).fill_null(True)
    )
    return frame.filter(ok).drop("unit_script", "classes")


def doubt(candidates: pl.DataFrame, kept: pl.DataFrame) -> pl.DataFrame:
    """(unit, detector, listed, n, dropped): per detector and unit, the probability on its candidates and how many
    families they are (before the script rule), and the probability on those the script rules out."""
    before = candidates.group_by("unit", "detector").agg(listed=pl.col("q").sum(), n=pl.col("family").n_unique())
    after = kept.group_by("unit", "detector").agg(left=pl.col("q").sum())
    return before.join(after, on=["unit", "detector"], how="left").select(
        "unit", "detector", "listed", "n", dropped=pl.col("listed") - pl.col("left").fill_null(0.0)
    )


def family_scores(
    candidates: pl.DataFrame,
    doubts: pl.DataFrame,
    answered: pl.DataFrame,
    known: pl.DataFrame,
    prior: tuple[pl.DataFrame, float] | None = None,
    row_prior: tuple[pl.DataFrame, float, float] | None = None,
) -> pl.DataFrame:
    """(unit, family, score): the log evidence for each proposed family (step 3). A detector's probabilities are
    renormalised to what its script leaves possible: divided by 1 - the probability on the candidates ruled out."""
    fam = candidates.group_by("unit", "detector", "family").agg(q=pl.col("q").sum())
    sizes = known.select("detector", "size").unique()
    known_families = known.select("detector", "family").unique()
    proposed = fam.select("unit", "family").unique()
    grid = (
        proposed.join(answered, on="unit")
        .join(known_families, on=["detector", "family"], how="semi")
        .join(fam, on=["unit", "detector", "family"], how="left")
        .join(doubts, on=["unit", "detector"], how="left")
        .join(sizes, on="detector", how="left")
    )
    listed, n = pl.col("listed").fill_null(0.0), pl.col("n").fill_null(0)
    unlisted = pl.col("size") - n  # families the detector knows and did not list: its leftover doubt is on them
    spread = pl.when(unlisted > 0).then((1 - listed) / unlisted).otherwise(0.0).clip(FLOOR)
    possible = (1 - pl.col("dropped").fill_null(0.0)).clip(FLOOR)
    term = (pl.max_horizontal(pl.col("q").fill_null(0.0), spread) / possible * pl.col("size")).log()
    scores = grid.group_by("unit", "family").agg(score=term.sum())
    if prior is not None:
        table, outside = prior
        scores = (
            scores.join(table, on="family", how="left")
            .with_columns(score=pl.col("score") + pl.col("log_prior").fill_null(outside))
            .drop("log_prior")
        )
    if row_prior is not None:  # each unit's own expected language (a pair's declared target language)
        expected, inside, outside = row_prior
        scores = (
            scores.join(expected.rename({"family": "expected"}), on="unit", how="left")
            .with_columns(
                score=pl.col("score")
                + pl.when(pl.col("expected").is_null())
                .then(0.0)
                .when(pl.col("family") == pl.col("expected"))
                .then(inside)
                .otherwise(outside)
            )
            .drop("expected")
        )
    return scores


def row_expect_prior(
    expected: pl.DataFrame, known: pl.DataFrame, share: float
) -> tuple[pl.DataFrame, float, float] | None:
    """(unit, family) of units with one expected language each: it gets `share` of the prior, every other family the
    detectors know shares the rest."""
    if expected.height == 0 or share <= 0:
        return None
    total = max(known["family"].n_unique(), 2)
    return expected, math.log(share), math.log(max(1 - share, FLOOR) / (total - 1))


def expect_prior(expected_families: list[str], known: pl.DataFrame, share: float) -> tuple[pl.DataFrame, float] | None:
    """((family, log_prior), log prior of any other family): the expected families share `share` of the prior
    evenly, every other family the detectors know shares the rest."""
    if not expected_families or share <= 0:
        return None
    n = len(expected_families)
    total = max(known["family"].n_unique(), n + 1)
    inside = math.log(share / n)
    outside = math.log(max(1 - share, FLOOR) / (total - n))
    return pl.DataFrame({"family": expected_families, "log_prior": [inside] * n}), outside


def choose_family(scores: pl.DataFrame) -> pl.DataFrame:
    """(unit, family, posterior): the best family and its share of the candidates' posterior."""
    top = pl.col("score").max().over("unit")
    return (
        scores.with_columns(posterior=1.0 / (pl.col("score") - top).exp().sum().over("unit"))
        .sort(["unit", "score", "family"], descending=[False, True, False])
        .group_by("unit", maintain_order=True)
        .first()
        .select("unit", "family", "posterior")
    )


def support(proposed: pl.DataFrame, chosen: pl.DataFrame, answered: pl.DataFrame, known: pl.DataFrame) -> pl.DataFrame:
    """(unit, support): the weakest confidence in the chosen language among the detectors that know it: a detector
    whose answer is in the chosen family gives its calibrated confidence, one that answered another language 0. Low
    when the detectors that could have named the language did not, or only weakly: the mark of a text in a language
    none of them knows that they took for a neighbour."""
    answers = proposed.filter(pl.col("rank") == 0).select("unit", "detector", answer="family", conf="q")
    judges = (
        chosen.select("unit", "family")
        .join(answered, on="unit")
        .join(known.select("detector", "family").unique(), on=["detector", "family"], how="semi")
        .join(answers, on=["unit", "detector"], how="left")
    )
    agreed = pl.when(pl.col("answer") == pl.col("family")).then(pl.col("conf")).otherwise(0.0)
    return judges.group_by("unit").agg(support=agreed.min())


def choose_member(candidates: pl.DataFrame, chosen: pl.DataFrame, fold: float) -> pl.DataFrame:
    """(unit, lang, score): a member of the chosen family where the detectors agree on it (step 4). Every detector that
    proposed the family counts: one that named the macrolanguage itself, or cannot name this member, could not tell
    the members apart, and gives the member no share."""
    inside = candidates.join(chosen.select("unit", "family"), on=["unit", "family"])
    weights = inside.group_by("unit", "detector", "code").agg(w=pl.col("weight").sum())
    totals = weights.group_by("unit", "detector").agg(total=pl.col("w").sum()).filter(pl.col("total") > 0)
    members = inside.filter(pl.col("code") != pl.col("family")).select("unit", "code").unique()
    shares = (
        members.join(totals, on="unit")
        .join(weights, on=["unit", "detector", "code"], how="left")
        .group_by("unit", "code")
        .agg(share=(pl.col("w").fill_null(0.0) / pl.col("total")).mean())
        .sort(["unit", "share", "code"], descending=[False, True, False])
        .group_by("unit", maintain_order=True)
        .first()
    )
    take = pl.col("share").fill_null(0.0) >= fold
    return chosen.join(shares, on="unit", how="left").select(
        "unit",
        lang=pl.when(take).then(pl.col("code")).otherwise(pl.col("family")),
        score=pl.when(take).then(pl.col("posterior") * pl.col("share")).otherwise(pl.col("posterior")).clip(0.0, 1.0),
    )


def fuse(
    detections: dict[str, Detection],
    detectors: dict[str, Detector],
    unit_scripts: pl.DataFrame,
    expected_families: list[str] | None = None,
    expect_share: float = 0.0,
    fold: float = 0.8,
    known: pl.DataFrame | None = None,
    unit_expected: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """(unit, lang, score, support) for every unit some detector proposed a language for that is written in its script.

    `unit_scripts`: (unit, unit_script); `known`: `knowledge(detectors)`, when the caller keeps it; `unit_expected`:
    (unit, family), one expected language for some units (instead of, or besides, the recipe's list)."""
    known = knowledge(detectors.values()) if known is None else known
    writable = writable_table(detections)
    parts = [calibrated(name, d, calibration_of(detectors[name])) for name, d in detections.items()]
    proposed = pl.concat(parts).with_columns(family=family_of(pl.col("code")))
    candidates = in_script(proposed, unit_scripts, writable)
    answered = pl.concat(
        [
            pl.DataFrame({"unit": pl.int_range(d.signal.len(), dtype=pl.UInt32, eager=True), "signal": d.signal})
            .filter(pl.col("signal").is_not_null())
            .select("unit", detector=pl.lit(name))
            for name, d in detections.items()
        ]
    )
    prior = expect_prior(expected_families or [], known, expect_share)
    per_unit = row_expect_prior(unit_expected, known, expect_share) if unit_expected is not None else None
    chosen = choose_family(family_scores(candidates, doubt(proposed, candidates), answered, known, prior, per_unit))
    decided = choose_member(candidates, chosen, fold)
    return decided.join(support(proposed, chosen, answered, known), on="unit", how="left").with_columns(
        pl.col("support").fill_null(0.0)
    )


__all__ = [
    "fuse",
    "knowledge",
    "calibrated",
    "in_script",
    "family_scores",
    "choose_family",
    "choose_member",
    "expect_prior",
    "doubt",
    "support",
]
