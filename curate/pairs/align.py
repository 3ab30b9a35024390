"""How well two sides translate each other, learned from the corpus itself: word alignment with a diagonal prior.

The model is fast_align's reparameterised IBM Model 2 (Dyer, Chahuneau and Smith 2013): a target word f at relative
place j/n aligns to source word e at place i/m with prior weight exp(-tension * |i/m - j/n|) (or to NULL with
probability `null`), and translation probabilities t(f | e) are estimated from the sentence pairs of one language
pair by expectation-maximisation. A translation's words align near the diagonal to words they often appear with; the
translation of another sentence can only align them at random. eflomal, which OpusFilter uses, adds a fertility model
and samples; it is GPL-3.0 and seeds its sampler from /dev/urandom (its scores change from run to run), while curate
is Apache-2.0 and its outputs are the same on every run: this EM is deterministic, and eflomal is an optional backend.

Everything is a polars frame: one row per (pair, target token, source token) co-occurrence, never a Python loop per
pair. A pair's score, per direction, is the mean over target tokens of log(sum over source tokens and NULL of
t(f | e) * prior); its score is the mean of the two directions (a translation also explains its source).
"""

from __future__ import annotations

import polars as pl

from curate.quality.tokens import tokens

NULL = "\u0000"  # the NULL source word
FLOOR = 1e-7  # probability of a word pair never seen together
ITERATIONS = 5  # EM iterations (fast_align's default)
TENSION = 4.0  # how sharply the prior favours the diagonal (fast_align's default)
NULL_PROBABILITY = 0.08  # prior probability that a word aligns to nothing (fast_align's default)
PRUNE = 1e-4  # translation probabilities below this are not kept (they change no score beyond the floor)
TABLE = {"e": pl.String, "f": pl.String, "t": pl.Float64}


def token_lists(texts: pl.Series) -> pl.Series:
    """Lower-cased word tokens of any script (one per Han or kana character), without punctuation."""
    return pl.select(tokens(pl.lit(texts.cast(pl.String).fill_null("")))).to_series()


def _links(src: pl.Series, tgt: pl.Series) -> pl.DataFrame:
    """(pair, at, f, e, prior): every target token (`at`: its place) with every source token of its pair and NULL,
    weighted by the diagonal prior."""
    frame = pl.DataFrame({"pair": pl.int_range(len(src), dtype=pl.UInt32, eager=True), "src": src, "f": tgt})
    frame = frame.with_columns(
        m=pl.col("src").list.len().fill_null(0).cast(pl.Float64),
        n=pl.col("f").list.len().fill_null(0).cast(pl.Float64),
        at=pl.int_ranges(pl.col("f").list.len().fill_null(0), dtype=pl.UInt32),
        e=pl.concat_list(pl.lit([NULL]), pl.col("src").fill_null([])),
        i=pl.int_ranges(pl.col("src").list.len().fill_null(0) + 1, dtype=pl.UInt32),
    )
    links = frame.drop("src").explode("f", "at").drop_nulls("f").explode("e", "i")
    distance = ((pl.col("i") - 0.5) / pl.col("m") - (pl.col("at") + 0.5) / pl.col("n")).abs()
    weight = (-TENSION * distance).exp()
    words = pl.col("i") > 0
    prior = pl.when(words).then((1 - NULL_PROBABILITY) * weight / weight.filter(words).sort().sum().over("pair", "at"))
    return links.with_columns(prior=prior.otherwise(NULL_PROBABILITY)).select("pair", "at", "f", "e", "prior")


def train(src: pl.Series, tgt: pl.Series, iterations: int = ITERATIONS) -> pl.DataFrame:
    """The translation table (e, f, t) = t(f | e) learned from token lists of the pairs (one direction)."""
    links = _links(src, tgt)
    table = links.select("e", "f").unique().with_columns(t=pl.lit(1.0))
    for _ in range(iterations):
        # (sums over sorted values and joins that keep the left order: the same floats on every run)
        weighted = links.join(table, on=["e", "f"], how="left", maintain_order="left").with_columns(
            c=pl.col("t").fill_null(FLOOR) * pl.col("prior")
        )
        # E step: each target token's alignment over its pair's source tokens
        weighted = weighted.with_columns(c=pl.col("c") / pl.col("c").sort().sum().over("pair", "at"))
        counts = weighted.group_by("e", "f").agg(pl.col("c").sort().sum()).sort("e", "f")
        # M step: normalise per source word
        table = counts.with_columns(t=pl.col("c") / pl.col("c").sort().sum().over("e")).select("e", "f", "t")
    return table.filter(pl.col("t") >= PRUNE).sort("e", "f").cast(TABLE)  # type: ignore[arg-type]


def score(src: pl.Series, tgt: pl.Series, table: pl.DataFrame) -> pl.Series:
    """Per pair, the mean log-probability of its target tokens given its source tokens (null without target tokens)."""
    links = _links(src, tgt).join(table, on=["e", "f"], how="left", maintain_order="left")
    probability = (pl.col("t").fill_null(0.0) * pl.col("prior")).sort().sum().clip(FLOOR)
    per_token = links.group_by("pair", "at").agg(p=probability)
    per_pair = per_token.group_by("pair").agg(score=pl.col("p").log().sort().mean())
    every = pl.DataFrame({"pair": pl.int_range(len(src), dtype=pl.UInt32, eager=True)})
    return every.join(per_pair, on="pair", how="left")["score"]


def both_ways(src: pl.Series, tgt: pl.Series, forward: pl.DataFrame, backward: pl.DataFrame) -> pl.Series:
    """The mean of the two directions' scores."""
    frame = pl.DataFrame({"a": score(src, tgt, forward), "b": score(tgt, src, backward)})
    return frame.select(((pl.col("a") + pl.col("b")) / 2).alias("align")).to_series()
