"""The decision: from each detector's ranked candidates to one language and a score, as polars frames.

Candidates come as a long frame `(unit, rank, label, code, prob)`: the top-k labels of one detector per text unit, most
likely first. Three rules turn them into a language:

- script: a candidate whose language is never written in the unit's script is dropped and the others are
  renormalised (`prob / (1 - dropped mass)`); when none is left, the script's likely language is taken (CLDR), scored
  by the share of the letters in that script;
- macrolanguage folding: the top candidate's macrolanguage group (`hbs` = bos, hrv, srp, hbs) collects the mass of
  its members; when the top member holds less than `fold` of that mass, the model cannot tell the members apart and
  the macrolanguage is written, scored by the group's mass (a macrolanguage label, e.g. lid.176's `no`, always
  collects its members);
- second opinion: where the first detector's score is below `second_below` and the language is one the second
  detector knows (it cannot judge the others), the second one chooses among a shortlist (the first one's top
  candidates and the languages the first model cannot name; see `LanguageIdentifier._second`), the two
  distributions are averaged (`average`: a language one of them does not list counts 0 there) and the same folding
  picks the answer; or, with `merge: max`, the more confident of the two answers is kept (`merge_second`).
"""

from __future__ import annotations

from itertools import chain

import numpy as np
import polars as pl

from curate.langid.codes import family, macrolanguages

CANDIDATES = {"unit": pl.UInt32, "rank": pl.UInt32, "label": pl.String, "code": pl.String, "prob": pl.Float64}


def flatten(units: list[int], predictions: list[list[tuple[float, str]]], codes: dict[str, str] | None = None
            ) -> pl.DataFrame:  # fmt: skip
    """The long candidates frame from per-unit lists of (probability, label); `codes` maps labels to ISO 639-3."""
    lengths = np.fromiter((len(p) for p in predictions), dtype=np.int64, count=len(predictions))
    pairs = list(chain.from_iterable(predictions))
    probs, labels = (list(x) for x in zip(*pairs)) if pairs else ([], [])
    starts = np.cumsum(lengths) - lengths
    rank = np.arange(len(pairs), dtype=np.int64) - np.repeat(starts, lengths)
    return pl.DataFrame(
        {
            "unit": pl.Series(np.repeat(np.asarray(units, dtype=np.uint32), lengths), dtype=pl.UInt32),
            "rank": pl.Series(rank, dtype=pl.UInt32),
            "label": pl.Series(labels, dtype=pl.String),
            "code": pl.Series([codes[label] for label in labels] if codes is not None else labels, dtype=pl.String),
            "prob": pl.Series(probs, dtype=pl.Float64),
        }
    )


def restrict_to_script(candidates: pl.DataFrame, unit_scripts: pl.DataFrame, writable: pl.DataFrame) -> pl.DataFrame:
    """Drop candidates not written in their unit's script and renormalise the rest.

    `unit_scripts`: (unit, script); `writable`: (label, classes) with classes null when any script is possible.
    Latin and unknown scripts rule nothing out.
    """
    frame = candidates.join(unit_scripts.select("unit", "script"), on="unit", how="left").join(
        writable, on="label", how="left"
    )
    ok = (
        pl.col("script").is_null()
        | (pl.col("script") == "Latn")
        | pl.col("classes").is_null()
        | pl.col("classes").list.contains(pl.col("script")).fill_null(True)
    )
    frame = frame.with_columns(ok=ok)
    dropped = pl.col("prob").filter(~pl.col("ok")).sum().over("unit")
    return (
        frame.with_columns(prob=(pl.col("prob") / (1.0 - dropped)).clip(0.0, 1.0))
        .filter(pl.col("ok"))
        .select(list(CANDIDATES))
    )


def choose(candidates: pl.DataFrame, fold: float) -> pl.DataFrame:
    """One language per unit: (unit, lang, score, folded), with macrolanguage folding (see the module doc)."""
    table = macrolanguages()
    macros = sorted(set(table.values()))
    frame = candidates.with_columns(macro=pl.col("code").replace(table))
    top = frame.filter(pl.col("rank") == pl.col("rank").min().over("unit"))
    top = top.group_by("unit", maintain_order=True).first()
    mass = (
        frame.join(top.select("unit", top_macro="macro"), on="unit")
        .filter(pl.col("macro") == pl.col("top_macro"))
        .group_by("unit")
        .agg(group=pl.col("prob").sum())
    )
    top = top.join(mass, on="unit", how="left").with_columns(pl.col("group").fill_null(pl.col("prob")))
    is_member = pl.col("macro") != pl.col("code")
    is_macro = pl.col("code").is_in(macros)
    fold_it = is_macro | (is_member & (pl.col("prob") < fold * pl.col("group")))
    return top.select(
        "unit",
        lang=pl.when(fold_it).then(pl.col("macro")).otherwise(pl.col("code")),
        score=pl.when(fold_it).then(pl.col("group")).otherwise(pl.col("prob")).clip(0.0, 1.0),
        folded=fold_it & is_member,
    )


def known_to(languages: frozenset[str] | set[str]) -> list[str]:
    """Codes a detector can judge: its languages with their macrolanguages and members."""
    return sorted(family(languages))


def average(first: pl.DataFrame, second: pl.DataFrame) -> pl.DataFrame:
    """The mean of two detectors' distributions per unit, as candidates (a language one of them does not list counts
    0 there). Only units present in both are returned."""
    units = first.select("unit").unique().join(second.select("unit").unique(), on="unit")
    both = pl.concat([first.select("unit", "code", "prob"), second.select("unit", "code", "prob")]).join(
        units, on="unit"
    )
    summed = (
        both.group_by("unit", "code")
        .agg(prob=pl.col("prob").sum() / 2)
        .sort(["unit", "prob", "code"], descending=[False, True, False])
    )
    return summed.with_columns(rank=pl.int_range(pl.len(), dtype=pl.UInt32).over("unit"), label=pl.col("code")).select(
        list(CANDIDATES)
    )


def merge_second(first: pl.DataFrame, second: pl.DataFrame) -> pl.DataFrame:
    """Keep, per unit, the more confident of the two answers; `second` covers only the units it was asked about.
    Adds `second` (bool): the second detector's answer was taken."""
    joined = first.join(second.select("unit", lang2="lang", score2="score"), on="unit", how="left")
    take = pl.col("score2").is_not_null() & (pl.col("score2") > pl.col("score"))
    return joined.with_columns(
        lang=pl.when(take).then(pl.col("lang2")).otherwise(pl.col("lang")),
        score=pl.when(take).then(pl.col("score2")).otherwise(pl.col("score")),
        second=take.fill_null(False),
    ).drop("lang2", "score2")


__all__ = ["CANDIDATES", "average", "choose", "flatten", "known_to", "merge_second", "restrict_to_script"]
