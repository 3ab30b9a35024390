"""`quality`: Gopher / C4 / FineWeb heuristic filters, made to work for every script and tuned per language.

Every rule has its own reason and a fixed place in the order below; a dropped row gets the reason of the first rule
that fires (and the score and limit in `_detail`). With `action: tag` nothing is dropped: the scores are written
as `{field}_quality_<metric>` columns with the list of reasons that would fire in `{field}_quality_flags`, so
thresholds can be changed later with a `filter` step, without computing anything again.

Order: short_doc, long_doc, mean_word_length, symbol_ratio, digit_ratio, duplicate_paragraphs, duplicate_lines,
repetition, punctuation_endings, stop_words, bullets, ellipsis.

Sentence pairs and documents both pass through: the rules that only mean something on a document (word length,
repetition, stop words, line shares) apply only to texts of at least `doc_min_words` words (and `doc_min_lines`
lines for the line shares); the character ratios apply from `ratio_min_chars`; the rest apply to every text.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any, Literal

import polars as pl
from pydantic import BaseModel, Field, create_model, field_validator, model_validator

from curate.core.languages import is_valid_language, language_key
from curate.core.rows import DETAIL, REASON, partition
from curate.langid.scripts import detect_scripts
from curate.quality import measures
from curate.quality.stopwords import FALLBACK, fitting_lists, stop_word_counts
from curate.stages.base import BatchStep, StepConfig, StepResult
from curate.stages.registry import register

LANG = "__quality_lang"  # the row's language key for language-specific rules (null: only universal rules)
TAG = "__quality_tag"  # the row's language as tagged
STOP_FITS = "__quality_stop_fits"  # a stop-word list of the row's language, in its script, judges it
UNSURE = "__quality_unsure"  # the row's language is not known well enough for language-specific rules

GOPHER_TOP_NGRAM = {2: 0.20, 3: 0.18, 4: 0.16}
GOPHER_DUPLICATE_NGRAM = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}

# Built-in per-language defaults, from how the languages are written (a recipe's `per_language` goes on top). They
# apply only to rows whose language is known well enough (`language_min_support`).
# - Chinese and Japanese tokens are characters and Vietnamese tokens are syllables, about half a word each: an n-gram
#   of n tokens is held to Gopher's limit for n/2 words (Gopher's limits fall about 0.01-0.02 per word: 0.2 at 2
#   words, 0.15 at 5, 0.1 at 10).
# - Lojban marks a sentence with `.i` at its start, not with punctuation at its end.
SYLLABLE_TOP_NGRAM = {2: 0.22, 3: 0.21, 4: 0.20}
SYLLABLE_DUPLICATE_NGRAM = {5: 0.19, 6: 0.18, 7: 0.17, 8: 0.16, 9: 0.155, 10: 0.15}
_SYLLABLE_TOKENS = {"max_top_ngram": SYLLABLE_TOP_NGRAM, "max_duplicate_ngram": SYLLABLE_DUPLICATE_NGRAM}
LANGUAGE_DEFAULTS: dict[str, dict[str, Any]] = {
    "vi": dict(_SYLLABLE_TOKENS),
    **{key: dict(_SYLLABLE_TOKENS) for key in ("zh", "ja", "yue", "wuu", "lzh")},
    "jbo": {"min_punctuation_endings": None},
}
# Tokens are characters because of the script, whatever the language: text in Han (with or without kana) gets the
# limits of Chinese or Japanese even when its language is not known well enough for language-specific rules.
SCRIPT_KEYS = {"Hani": "zh", "Jpan": "ja"}


def _check_ngram_table(value: dict[int, float | None] | None) -> dict[int, float | None] | None:
    """n-gram sizes from 2 to 20, limits from 0 to 1."""
    bad = [n for n in (value or {}) if not 2 <= n <= 20]
    if bad:
        raise ValueError(f"n-gram sizes must be between 2 and 20, got {bad}")
    bad = [v for v in (value or {}).values() if v is not None and not 0 <= v <= 1]
    if bad:
        raise ValueError(f"n-gram limits are shares between 0 and 1, got {bad}")
    return value


class _Target(StepConfig):
    field: str = Field("text", description="text column to judge")
    action: Literal["drop", "tag"] = Field(
        "drop",
        description="drop: reject rows with the first reason that fires (score and limit in `_detail`); tag: keep "
        "every row and write the scores (`{field}_quality_<metric>`) and the reasons that would fire "
        "(`{field}_quality_flags`)",
    )
    lang_column: str | None = Field(
        None, description="column with each row's language (any ISO 639 code); default `{field}_lang` when present"
    )
    language_min_support: float = Field(
        0.5,
        ge=0,
        le=1,
        description="language-specific rules (stop words, `per_language` limits, the built-in per-language limits) "
        "judge a row only when its language is known well enough: its `{lang_column}_support` (from `langid`: the "
        "weakest confidence among the detectors that know the language) is at least this. Below it, or for `und`, "
        "only the rules that hold for every language judge the row. A language column of your own without a "
        "`_support` column is trusted",
    )


class Thresholds(StepConfig):
    """The limits of every rule; any of them can be set per language. `null` turns a rule off."""

    doc_min_words: int = Field(
        50,
        ge=0,
        description="document rules (mean word length, repetition, stop words, line shares) apply only to texts with "
        "at least this many words (Gopher's minimum document length): short sentences and sentence pairs are never "
        "judged by measures that need a document to mean anything",
    )
    doc_min_lines: int = Field(
        3,
        ge=1,
        description="the line shares (punctuation endings, bullets, ellipsis) also need at least this many non-empty "
        "lines: in a one-line paragraph they are all or nothing",
    )
    ratio_min_chars: int = Field(
        20,
        ge=0,
        description="the symbol and digit ratios apply to texts with at least this many non-space characters",
    )
    min_words: int | None = Field(
        None,
        ge=0,
        description="fewer words: `quality:short_doc`. Off by default, as sentence pairs are short by nature; set 50 "
        "(Gopher) for web documents. Words are counted for scripts without spaces too",
    )
    max_words: int | None = Field(100_000, ge=1, description="more words: `quality:long_doc` (Gopher: 100,000)")
    min_mean_word_length: float | None = Field(
        2.0,
        ge=0,
        description="mean word length below this: `quality:mean_word_length`. Measured on the words of "
        "space-delimited scripts, once a text has `doc_min_words` of them, in the letters a reader sees: letters, "
        "digits and spacing marks (a Devanagari vowel sign that takes its own place counts, a virama does not; a "
        "Hangul block counts as its jamo). Gopher's 3 is for English (mean about 4.7); natural text in any language "
        "stays above 2 (Vietnamese, whose words are syllables, and Hindi about 2.7 at their lowest); spaced-out "
        "letters and lists of single characters fall under it",
    )
    max_mean_word_length: float | None = Field(
        10.0,
        ge=0,
        description="mean word length above this: `quality:mean_word_length` (Gopher: 10; agglutinative "
        "languages such as Quechua and Malayalam stay under 9): run-together words, URLs, hashes, base64",
    )
    max_symbol_ratio: float | None = Field(
        0.15,
        ge=0,
        le=1,
        description="share of non-space characters that are symbols (Unicode symbols and emoji, `# * | _ \\ { } [ ] "
        "< > @ ~`) above this: `quality:symbol_ratio`. Prose has under 0.02, a sentence with an amount or a unit "
        "under 0.1; markup, tables of symbols and emoji strings score higher",
    )
    max_digit_ratio: float | None = Field(
        0.5,
        ge=0,
        le=1,
        description="share of non-space characters that are digits above this: `quality:digit_ratio`. Set high because "
        "Chinese and Japanese write a date in few characters (`2015年`): tables and lists of numbers score higher",
    )
    max_duplicate_lines: float | None = Field(
        0.30,
        ge=0,
        le=1,
        description="share of lines that repeat an earlier line above this: `quality:duplicate_lines` (Gopher: 0.3). "
        "Applies to every text: a one-line text has no duplicate lines",
    )
    max_duplicate_line_chars: float | None = Field(
        0.20,
        ge=0,
        le=1,
        description="share of characters in repeated lines above this: `quality:duplicate_lines` (0.2)",
    )
    max_duplicate_paragraphs: float | None = Field(
        0.30,
        ge=0,
        le=1,
        description="share of paragraphs (separated by blank lines) that repeat an earlier one above this: "
        "`quality:duplicate_paragraphs` (Gopher: 0.3)",
    )
    max_duplicate_paragraph_chars: float | None = Field(
        0.20,
        ge=0,
        le=1,
        description="share of characters in repeated paragraphs above this: `quality:duplicate_paragraphs` (0.2)",
    )
    max_top_ngram: dict[int, float | None] = Field(
        default_factory=lambda: dict(GOPHER_TOP_NGRAM),
        description="n -> limit on the share of the text's characters taken by the most frequent repeated n-gram: "
        "`quality:repetition` (Gopher: 2: 0.2, 3: 0.18, 4: 0.16). Tokens are words, one Han/kana character each "
        "in Chinese and Japanese, and space-separated phrases in Thai, Lao, Khmer, Myanmar",
    )
    max_duplicate_ngram: dict[int, float | None] = Field(
        default_factory=lambda: dict(GOPHER_DUPLICATE_NGRAM),
        description="n -> limit on the share of the text's characters inside n-grams that repeat an earlier one: "
        "`quality:repetition` (Gopher: 5: 0.15 ... 10: 0.1). Built in for Chinese, Japanese and Vietnamese, whose "
        "tokens are about half a word: Gopher's limit for n/2 words (2: 0.22 ... 4: 0.2; 5: 0.19 ... 10: 0.15)",
    )
    min_punctuation_endings: float | None = Field(
        0.12,
        ge=0,
        le=1,
        description="share of lines ending in sentence punctuation (of any script: . ! ? 。 । ؟ ။ ...; Thai and Lao "
        "lines, which end without a mark, count as ended) below this: `quality:punctuation_endings` (FineWeb: 0.12)",
    )
    min_stop_words: int | None = Field(
        2,
        ge=0,
        description="fewer stop words of the row's language: `quality:stop_words` (Gopher: 2). Needs the language "
        "(`{field}_lang`, from `langid`) and one of the 58 stop-word lists of stopwords-iso; skipped otherwise",
    )
    max_bullets: float | None = Field(
        0.9, ge=0, le=1, description="share of lines starting with a bullet above this: `quality:bullets` (Gopher: 0.9)"
    )
    max_ellipsis: float | None = Field(
        0.3, ge=0, le=1, description="share of lines ending in an ellipsis above this: `quality:ellipsis` (Gopher: 0.3)"
    )

    _ngram_tables = field_validator("max_top_ngram", "max_duplicate_ngram")(_check_ngram_table)


def _optional(model: type[BaseModel], name: str) -> type[StepConfig]:
    """`model` with every field optional and unset by default (only the fields a user sets override)."""
    fields = {}
    for key, info in model.model_fields.items():
        annotation = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        fields[key] = (annotation | None, Field(None, description=info.description))
    validators = {"_ngram_tables": field_validator("max_top_ngram", "max_duplicate_ngram")(_check_ngram_table)}
    return create_model(
        name, __base__=StepConfig, __doc__="Thresholds for one language.", __validators__=validators, **fields
    )


LanguageThresholds = _optional(Thresholds, "LanguageThresholds")


class QualityConfig(Thresholds, _Target):  # _Target's fields come first in the reference
    per_language: dict[str, LanguageThresholds] = Field(  # type: ignore[valid-type]
        default_factory=dict,
        description="language -> thresholds that differ for it, e.g. `{fra: {min_stop_words: 3}, th: "
        "{max_top_ngram: {2: 0.3}}}`; keys are ISO 639-1 or 639-3 codes (`fr`, `fra`, `swh`); n-gram maps merge "
        "with the defaults; `null` turns a rule off for that language",
    )

    @field_validator("per_language")
    @classmethod
    def _language_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for code, thresholds in value.items():
            if not is_valid_language(code):
                raise ValueError(f"per_language: unknown language code {code!r} (use an ISO 639-1 or 639-3 code)")
            key = language_key(code)
            if key in out:
                raise ValueError(f"per_language: {code!r} names the same language as another key ({key})")
            out[key] = thresholds
        return out

    @model_validator(mode="after")
    def _bounds(self) -> QualityConfig:
        lo, hi = self.min_mean_word_length, self.max_mean_word_length
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"min_mean_word_length ({lo}) is larger than max_mean_word_length ({hi})")
        return self


# The rules in their fixed order: (reason, [(metric, limit name, "min"/"max", gate)]). Repeated paragraphs are
# repeated lines too: the paragraph rule comes first so that the more telling reason is the one given (as datatrove).
DOC, LINES, RATIO, ALWAYS, SPACED = "doc", "lines", "ratio", "always", "spaced"
RULES: list[tuple[str, list[tuple[str, str, str, str]]]] = [
    ("quality:short_doc", [("words", "min_words", "min", ALWAYS)]),
    ("quality:long_doc", [("words", "max_words", "max", ALWAYS)]),
    (
        "quality:mean_word_length",
        [
            ("mean_word_length", "min_mean_word_length", "min", SPACED),
            ("mean_word_length", "max_mean_word_length", "max", SPACED),
        ],
    ),
    ("quality:symbol_ratio", [("symbol_ratio", "max_symbol_ratio", "max", RATIO)]),
    ("quality:digit_ratio", [("digit_ratio", "max_digit_ratio", "max", RATIO)]),
    (
        "quality:duplicate_paragraphs",
        [
            ("duplicate_paragraphs", "max_duplicate_paragraphs", "max", ALWAYS),
            ("duplicate_paragraph_chars", "max_duplicate_paragraph_chars", "max", ALWAYS),
        ],
    ),
    (
        "quality:duplicate_lines",
        [
            ("duplicate_lines", "max_duplicate_lines", "max", ALWAYS),
            ("duplicate_line_chars", "max_duplicate_line_chars", "max", ALWAYS),
        ],
    ),
    ("quality:repetition", []),  # filled per config: one limit per n-gram size
    ("quality:punctuation_endings", [("punctuation_endings", "min_punctuation_endings", "min", LINES)]),
    ("quality:stop_words", [("stop_words", "min_stop_words", "min", DOC)]),
    ("quality:bullets", [("bullets", "max_bullets", "max", LINES)]),
    ("quality:ellipsis", [("ellipsis", "max_ellipsis", "max", LINES)]),
]
REASONS = [reason for reason, _ in RULES]
# Counts the rules are gated on: written with the scores so a gate can be changed later too.
GATE_METRICS = ["words", "spaced_words", "chars", "lines"]


@register("quality")
class Quality(BatchStep):
    """Gopher/C4/FineWeb heuristic filters for every script, with per-language thresholds: drop rows or tag scores.

    Rules: length, word length, symbols, digits, duplicate lines and paragraphs, repeated n-grams, punctuation
    endings, stop words, bullets, ellipsis."""

    Config = QualityConfig
    config: QualityConfig
    version = "1"
    _cached_overrides: dict[str, dict[str, Any]] | None = None

    def requires(self) -> list[str]:
        return [self.config.field] + ([self.config.lang_column] if self.config.lang_column else [])

    def produces(self) -> list[str]:
        if self.config.action != "tag":
            return []
        return [self._column(m) for m in self.metrics()] + [self._column("flags")]

    def _column(self, metric: str) -> str:
        return f"{self.config.field}_quality_{metric}"

    # thresholds ---------------------------------------------------------------------------------------------------
    def _overrides(self) -> dict[str, dict[str, Any]]:
        """language key -> the limits set for it: the built-in defaults (for the limits the recipe leaves at their
        default), then the recipe's `per_language`, then `nb`/`nn` rows get `no` settings (and `fil` `tl`)."""
        if self._cached_overrides is not None:
            return self._cached_overrides
        chosen = self.config.model_fields_set
        out = {
            key: {name: value for name, value in values.items() if name not in chosen}
            for key, values in LANGUAGE_DEFAULTS.items()
        }
        for key, thresholds in self.config.per_language.items():
            given = {name: getattr(thresholds, name) for name in thresholds.model_fields_set}
            merged = out.setdefault(key, {})
            for name in ("max_top_ngram", "max_duplicate_ngram"):
                if name in given and given[name] is not None:
                    given[name] = {**merged.get(name, getattr(self.config, name)), **given[name]}
            merged.update(given)
        for specific, general in FALLBACK.items():  # `nor` settings also hold for `nob` rows
            if general in out and specific not in out:
                out[specific] = out[general]
        self._cached_overrides = {key: values for key, values in out.items() if values}
        return self._cached_overrides

    def _limit_value(self, name: str, overrides: dict[str, Any]) -> Any:
        """A limit by name (`max_top_ngram:3` for one n-gram size) under `overrides`, else the recipe's."""
        field, _, n = name.partition(":")
        value = overrides[field] if field in overrides else getattr(self.config, field)
        if n:
            return None if value is None else value.get(int(n))
        return value

    def limit(self, name: str) -> pl.Expr:
        """The limit `name` for each row: its language's when set, else the recipe's (null: the rule is off)."""
        base = self._limit_value(name, {})
        per_language = {key: self._limit_value(name, o) for key, o in self._overrides().items()}
        per_language = {k: v for k, v in per_language.items() if v != base}
        default = pl.lit(base, dtype=pl.Float64)
        if not per_language:
            return default
        return pl.col(LANG).replace_strict(
            list(per_language), list(per_language.values()), default=default, return_dtype=pl.Float64
        )

    def ngram_sizes(self) -> tuple[list[int], list[int]]:
        """The n-gram sizes some language has a limit for (top, duplicate)."""
        tables = [{}] + list(self._overrides().values())
        sizes = []
        for field in ("max_top_ngram", "max_duplicate_ngram"):
            limits = [self._limit_value(field, t) or {} for t in tables]
            sizes.append(sorted({n for table in limits for n, v in table.items() if v is not None}))
        return sizes[0], sizes[1]

    def rules(self) -> list[tuple[str, list[tuple[str, str, str, str]]]]:
        top, dup = self.ngram_sizes()
        ngrams = [(f"top_{n}gram", f"max_top_ngram:{n}", "max", DOC) for n in top]
        ngrams += [(f"duplicate_{n}gram", f"max_duplicate_ngram:{n}", "max", DOC) for n in dup]
        return [(reason, ngrams if reason == "quality:repetition" else limits) for reason, limits in RULES]

    def metrics(self) -> list[str]:
        seen = dict.fromkeys(GATE_METRICS)
        for _, limits in self.rules():
            seen.update(dict.fromkeys(metric for metric, *_ in limits))
        return list(seen)

    # measuring ----------------------------------------------------------------------------------------------------
    def _lang_column(self) -> str:
        return self.config.lang_column or f"{self.config.field}_lang"

    def _language_keys(self, batch: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
        """(tag, key) per row: the row's language as written, and its key for the language-specific rules, null
        where the language is unknown or not known well enough (see `language_min_support`)."""
        column = self._lang_column()
        if column not in batch.columns:
            empty = pl.Series(LANG, [None] * batch.height, dtype=pl.String)
            return empty.alias("tag"), empty
        values = batch[column].cast(pl.String)
        codes = values.drop_nulls().unique().to_list()
        mapping = {code: language_key(code) for code in codes}
        keys = values.replace_strict(mapping, default=None, return_dtype=pl.String)
        support = f"{column}_support"
        if support in batch.columns:
            sure = batch[support].cast(pl.Float64).fill_null(0.0) >= self.config.language_min_support
            keys = pl.select(pl.when(sure).then(keys)).to_series()
        return values.alias("tag"), keys.alias(LANG)

    def _text_scripts(self, batch: pl.DataFrame, text: pl.Series) -> pl.Series:
        column = f"{self._lang_column()}_script"
        if column in batch.columns:
            return batch[column].cast(pl.String)
        return detect_scripts(text)["script"]

    def measure(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Every score of every row (one row per input row, in order), with the language key in `LANG`."""
        field = self.config.field
        # A source without the column (a sentence-pair file next to a paragraph file) has no text to judge here.
        text = (
            batch[field].cast(pl.String)
            if field in batch.columns
            else pl.Series([None] * batch.height, dtype=pl.String)
        )
        wanted = set(self.metrics())
        frame = pl.LazyFrame({"text": text}).select(**measures.row_measures("text")).collect()
        for unit, name in (("line", "duplicate_lines"), ("paragraph", "duplicate_paragraphs")):
            if name in wanted:
                parts = measures.duplicate_parts(text, unit)
                frame = frame.with_columns(parts["frac"].alias(name), parts["char_frac"].alias(name[:-1] + "_chars"))
        tags, keys = self._language_keys(batch)
        scripts = self._text_scripts(batch, text)
        top, dup = self.ngram_sizes()
        stop_limits = [self._limit_value("min_stop_words", o) for o in [{}, *self._overrides().values()]]
        need_stop = any(v is not None for v in stop_limits) and keys.null_count() < len(keys)
        stop_keys = fitting_lists(keys, scripts) if need_stop else keys
        # per-language limits: the language's, else those its script implies (the stop-word rule needs the language)
        by_script = scripts.replace_strict(SCRIPT_KEYS, default=None, return_dtype=pl.String)
        limit_keys = pl.select(pl.coalesce(pl.lit(keys), pl.lit(by_script))).to_series().alias(LANG)
        if top or dup or need_stop:
            toks = measures.token_frame(text)
            frame = frame.with_columns(**measures.ngram_repetition(text.fill_null("").str.len_chars(), toks, top, dup))
            if need_stop:  # a list is evidence only about text in its own script
                frame = frame.with_columns(stop_word_counts(text, stop_keys, toks))
        if "stop_words" not in frame.columns:
            frame = frame.with_columns(stop_words=pl.lit(None, dtype=pl.UInt32))
        present = pl.lit(text.is_not_null())  # a missing text has no scores, and no rule fires on it
        return frame.select([pl.when(present).then(pl.col(m)).alias(m) for m in self.metrics()]).with_columns(
            limit_keys, tags.alias(TAG), keys.is_null().alias(UNSURE), stop_keys.is_not_null().alias(STOP_FITS)
        )

    # deciding -----------------------------------------------------------------------------------------------------
    def _limits(self, scores: pl.DataFrame) -> pl.DataFrame:
        """Every limit (and gate) for every row, resolved once: `limit()` maps the row's language for each."""
        names = ["doc_min_words", "doc_min_lines", "ratio_min_chars"]
        names += [limit for _, limits in self.rules() for _, limit, _, _ in limits]
        exprs = {f"limit:{name}": self.limit(name) for name in dict.fromkeys(names)}
        # with_columns, not select: a limit that is the same for every row is a literal, broadcast to the batch
        return scores.with_columns(**exprs).select(list(exprs))

    @staticmethod
    def _gate(gate: str) -> pl.Expr:
        doc = pl.col("words") >= pl.col("limit:doc_min_words")
        return {
            ALWAYS: pl.lit(True),
            DOC: doc,
            SPACED: pl.col("spaced_words") >= pl.col("limit:doc_min_words"),
            LINES: pl.col("lines") >= pl.col("limit:doc_min_lines"),
            RATIO: pl.col("chars") >= pl.col("limit:ratio_min_chars"),
        }[gate]

    @classmethod
    def _fires(cls, metric: str, limit: str, side: str, gate: str) -> pl.Expr:
        value, bound = pl.col(metric), pl.col(f"limit:{limit}")
        broken = value < bound if side == "min" else value > bound
        return (cls._gate(gate) & broken).fill_null(False)

    def decide(self, scores: pl.DataFrame) -> pl.DataFrame:
        """`_reason` (first rule that fires), `_detail` and `flags` (every rule that fires) for each row."""
        limits = self._limits(scores)
        frame = pl.concat([scores.select(self.metrics()), limits], how="horizontal")
        checks = [(name, *check) for name, rules in self.rules() for check in rules]
        frame = frame.with_columns(self._fires(*check[1:]).alias(f"fires:{i}") for i, check in enumerate(checks))
        reason, detail = pl.lit(None, dtype=pl.String), pl.lit(None, dtype=pl.String)
        for i, (name, metric, limit, side, _) in reversed(list(enumerate(checks))):
            score = pl.format(
                "{}={} ({} {})", pl.lit(metric), pl.col(metric).round(4), pl.lit(side), pl.col(f"limit:{limit}")
            )
            reason = pl.when(pl.col(f"fires:{i}")).then(pl.lit(name)).otherwise(reason)
            detail = pl.when(pl.col(f"fires:{i}")).then(score).otherwise(detail)
        flags = [
            pl.when(pl.any_horizontal(f"fires:{i}" for i, check in enumerate(checks) if check[0] == name)).then(
                pl.lit(name)
            )
            for name in dict.fromkeys(check[0] for check in checks)
        ]
        flag_list = pl.concat_list(flags).list.drop_nulls() if flags else pl.lit([], dtype=pl.List(pl.String))
        return frame.select(reason.alias(REASON), detail.alias(DETAIL), flag_list.alias("flags"))

    def language_stats(self, scores: pl.DataFrame) -> Counter:
        """Rows per tagged language judged without language-specific rules (`unsure_language:<tag>`: its language
        not known well enough) or without a stop-word list (`no_stop_words:<tag>`: none in stopwords-iso, or one in
        another script), for the card."""
        tagged = scores.filter(pl.col(TAG).is_not_null() & (pl.col(TAG) != "und"))
        unsure = tagged.filter(pl.col(UNSURE))[TAG].value_counts().iter_rows()
        out = Counter({f"unsure_language:{tag}": int(n) for tag, n in unsure})
        if self.config.min_stop_words is not None:
            unfit = tagged.filter(~pl.col(UNSURE) & ~pl.col(STOP_FITS))[TAG].value_counts().iter_rows()
            out.update({f"no_stop_words:{tag}": int(n) for tag, n in unfit})
        return out

    @classmethod
    def card_section(cls, params: dict, stats: dict[str, int]) -> str | None:
        """The languages the quality rules judged without their language-specific rules, and why."""
        unsure = {k.split(":", 1)[1]: v for k, v in stats.items() if k.startswith("unsure_language:")}
        unfit = {k.split(":", 1)[1]: v for k, v in stats.items() if k.startswith("no_stop_words:")}
        if not unsure and not unfit:
            return None
        langs = sorted(set(unsure) | set(unfit), key=lambda k: (-(unsure.get(k, 0) + unfit.get(k, 0)), k))
        rows = [
            "| language (as tagged) | rows judged without language-specific rules: language not sure | rows "
            "without a stop-word list in their script |",
            "|---|---|---|",
        ]
        rows += [f"| `{k}` | {unsure.get(k, 0):,} | {unfit.get(k, 0):,} |" for k in langs]
        return (
            "The `quality` rules that hold for every language judged every row; the language-specific ones (stop "
            f"words, per-language limits) only rows whose language was known well enough (support >= "
            f"{params.get('language_min_support', 0.5)}) and, for stop words, had a list in their script.\n\n"
            + "\n".join(rows)
        )

    def process(self, batch: pl.DataFrame) -> StepResult:
        scores = self.measure(batch)
        decided = self.decide(scores)
        stats = Counter(
            {
                f"flagged:{reason}": int(n)
                for reason, n in decided["flags"].explode().drop_nulls().value_counts().iter_rows()
            }
        )
        stats.update(self.language_stats(scores))
        if self.config.action == "tag":
            columns = [scores[m].alias(self._column(m)) for m in self.metrics()]
            tagged = batch.with_columns(*columns, decided["flags"].alias(self._column("flags")))
            return StepResult(
                kept=tagged, rejected=tagged.clear().with_columns(pl.lit(None, pl.String).alias(REASON)), stats=stats
            )
        result = StepResult(*partition(batch.with_columns(decided[REASON], decided[DETAIL])))
        result.kept = result.kept.drop(DETAIL)
        result.stats.update(stats)
        return result


def reasons() -> list[str]:
    """Every reason the step can give, in the order the rules are tried."""
    return list(REASONS)
