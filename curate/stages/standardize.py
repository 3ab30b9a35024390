"""`standardize`: dates, numbers and units in running text, read in each row's locale and written in one format.

polars finds the rows that may hold a candidate (a four-digit number for dates, digits around a separator for
numbers, a digit before a unit-like character for units); only those rows are read in Python, with the row's CLDR
locale (see `curate.standardize`). Every change is listed in `{field}_standardized` (`kind`, `start`, `end` in the
text as the step writes it, `before`, `after`); `action: tag` lists them without changing the text. What is left as
written is counted with the reason (`ambiguous`, `unreadable`, `phone`, `range`...), per kind and language.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from typing import Literal

import polars as pl
from pydantic import Field, field_validator, model_validator

from curate.core.markdown import table as markdown_table
from curate.core.rowlang import row_languages
from curate.stages.base import BatchStep, StepConfig, StepResult
from curate.stages.registry import register
from curate.standardize import Change, apply_changes

TAG_DTYPE = pl.List(
    pl.Struct({"kind": pl.String, "start": pl.Int64, "end": pl.Int64, "before": pl.String, "after": pl.String})
)
KINDS = ("date", "unit", "number")  # also the priority when candidates overlap: a date's digits are not a number
NO_LANGUAGE = "und"


class StandardizeConfig(StepConfig):
    fields: list[str] = Field(default_factory=lambda: ["text"], min_length=1, description="text columns to standardise")
    dates: str | None = Field(
        "iso",
        description="write full dates (day, month, four-digit year) as `iso` (2024-03-07) or a pattern of "
        "YYYY, MM, DD, M, D (`DD/MM/YYYY`); null leaves dates alone",
    )
    numbers: str | None = Field(
        None,
        description="write numbers that have a decimal or grouping separator as `plain` (1234.5: no grouping, "
        "a point) or in a locale's convention (`en`: 1,234.5; `de`: 1.234,5; `hi`: 12,34,567.5), keeping their "
        "decimals and whether they were grouped; null leaves them alone. Integers without separators (years, IDs, "
        "counts) are never touched",
    )
    units: Literal["metric", "imperial"] | None = Field(
        None,
        description="convert amounts with a unit to `metric` (5 ft 2 in -> 157 cm, 98.6 °F -> 37.0 °C) or "
        "`imperial`, to the precision of the original; null leaves them alone",
    )
    locale: str | None = Field(
        None,
        description="one locale for every row (`en_GB`, `de`, `fr_CA`): how its dates, numbers and units are "
        "read. Default: each row's language from `lang_column`",
    )
    lang_column: str | None = Field(
        None,
        description="column with each row's language or locale (ISO 639 `deu`, `de`, or `en_US`); default "
        "`{field}_lang` (from `langid`) for each field. Rows without a language known well enough get only what "
        "needs no locale (year-first and unambiguous dates)",
    )
    language_min_support: float = Field(
        0.5,
        ge=0,
        le=1,
        description="a language from `langid` is used only when its `{lang_column}_support` (the "
        "weakest confidence among the detectors that know it) is at least this; a column without `_support` is "
        "trusted",
    )
    day_first: bool | None = Field(
        None,
        description="numeric dates such as 03/07/2024: true reads the day first, false the month first; "
        "default: the locale's order, and a date whose order the locale does not settle (plain `en`: the US and "
        "most other English locales differ) is left as written and counted `ambiguous`",
    )
    years: tuple[int, int] = Field(
        (1000, 2200),
        description="only dates with a year in this range are rewritten (others, such as the Thai "
        "Buddhist era's 2567, are left and counted `out_of_range`)",
    )
    action: Literal["rewrite", "tag"] = Field(
        "rewrite",
        description="`rewrite` the text; `tag` only lists in `{field}_standardized` what it would change",
    )

    @field_validator("dates")
    @classmethod
    def _date_format(cls, value: str | None) -> str | None:
        if value is not None:
            from curate.standardize.dates import output_pattern

            output_pattern(value)
        return value

    @field_validator("numbers", "locale")
    @classmethod
    def _known_locale(cls, value: str | None, info) -> str | None:
        if value is None or (info.field_name == "numbers" and value == "plain"):
            return value
        from curate.standardize.locales import parse_locale

        if parse_locale(value) is None:
            hint = "`plain` or " if info.field_name == "numbers" else ""
            raise ValueError(f"unknown locale {value!r}: give {hint}a CLDR locale such as en, de, fr_CA, hi")
        return value

    @model_validator(mode="after")
    def _something_to_do(self) -> StandardizeConfig:
        if self.dates is None and self.numbers is None and self.units is None:
            raise ValueError("nothing to standardise: set dates, numbers or units")
        if self.years[0] > self.years[1]:
            raise ValueError(f"years {list(self.years)}: the first must not be after the second")
        return self


@register("standardize")
class Standardize(BatchStep):
    """Rewrite dates, numbers and units in running text in one format, read in each row's locale (CLDR via Babel)."""

    Config = StandardizeConfig
    config: StandardizeConfig
    version = "1"

    def requires(self) -> list[str]:
        return list(self.config.fields) + ([self.config.lang_column] if self.config.lang_column else [])

    def produces(self) -> list[str]:
        return [f"{f}_standardized" for f in self.config.fields]

    # locales ------------------------------------------------------------------------------------------------------
    def _row_languages(self, batch: pl.DataFrame, field: str) -> tuple[pl.Series, pl.Series]:
        """(tag, language): each row's language as written, for the counts, and the language used to read it (null
        where unknown or not known well enough)."""
        c = self.config
        if c.locale is not None:
            fixed = pl.Series([c.locale] * batch.height, dtype=pl.String)
            return fixed, fixed
        return row_languages(batch, c.lang_column or f"{field}_lang", c.language_min_support)

    # finding ------------------------------------------------------------------------------------------------------
    def _candidates(self, values: pl.Series) -> pl.Series:
        from curate.standardize import dates, numbers, units

        patterns = [
            p
            for p, on in (
                (dates.CANDIDATE, self.config.dates),
                (numbers.CANDIDATE, self.config.numbers),
                (units.CANDIDATE, self.config.units),
            )
            if on
        ]
        return values.str.contains("|".join(f"(?:{p})" for p in patterns)).fill_null(False)

    def changes(self, text: str, language: str | None) -> list[Change]:
        """What this step finds in one text of a row in `language` (an ISO 639 code or a locale, or None)."""
        finder = _finder(
            self.config.dates, self.config.numbers, self.config.units, self.config.day_first, tuple(self.config.years)
        )
        return finder(text, _locale_name(language))

    def process(self, batch: pl.DataFrame) -> StepResult:
        stats: Counter = Counter()
        columns = []
        for field in [f for f in self.config.fields if f in batch.columns]:
            values = batch[field].cast(pl.String)
            tags_written, languages = self._row_languages(batch, field)
            rows = self._candidates(values).arg_true().to_list()
            texts, langs = values.gather(rows).to_list(), languages.gather(rows).to_list()
            new_texts, tags, changed = [], [], []
            for row, text, language, written in zip(rows, texts, langs, tags_written.gather(rows).to_list()):
                found = self.changes(text, language)
                key = written or NO_LANGUAGE
                for change in found:
                    stats[
                        f"{change.kind}:{key}"
                        if change.after is not None
                        else f"left:{change.kind}:{change.skip}:{key}"
                    ] += 1
                rewritten, placed = apply_changes(text, found)
                if not placed:
                    continue
                tags.append(
                    (row, placed if self.config.action == "rewrite" else [(c, c.start, c.end) for c, _, _ in placed])
                )
                if self.config.action == "rewrite":
                    new_texts.append(rewritten)
                    changed.append(row)
            if changed:
                values = values.scatter(changed, pl.Series(new_texts, dtype=pl.String))
            stats[f"rows_changed:{field}"] += len(tags)
            columns += [values.alias(field), tag_column(values, tags).alias(f"{field}_standardized")]
        kept = batch.with_columns(columns) if columns else batch
        rejected = kept.clear().with_columns(pl.lit(None, pl.String).alias("_reason"))
        return StepResult(kept=kept, rejected=rejected, stats=Counter({k: v for k, v in stats.items() if v}))

    # the record ---------------------------------------------------------------------------------------------------
    @classmethod
    def figures(cls, stats: dict[str, int]) -> dict[str, dict[str, int]]:
        """language -> {`date`: rewritten, `left:date:ambiguous`: left as written, ...} from the stats."""
        out: dict[str, dict[str, int]] = {}
        for key, n in stats.items():
            head, _, language = key.rpartition(":")
            if head.split(":")[0] in KINDS or head.startswith("left:"):
                out.setdefault(language, {})[head] = n
        return out

    @classmethod
    def card_section(cls, params: dict, stats: dict[str, int]) -> str | None:
        figures = cls.figures(stats)
        if not figures:
            return None
        left = sorted({k for f in figures.values() for k in f if k.startswith("left:")})
        head = ["language", *(f"{k}s rewritten" for k in KINDS), *(f"`{k.removeprefix('left:')}` left" for k in left)]
        rows = [
            [f"`{lang}`", *(f"{f.get(k, 0):,}" for k in KINDS), *(f"{f.get(k, 0):,}" for k in left)]
            for lang, f in sorted(figures.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
        ]
        table = markdown_table(rows, head)
        what = ", ".join(f"{k} -> `{params.get(k)}`" for k in ("dates", "numbers", "units") if params.get(k))
        verb = "would change (`action: tag`: the text is unchanged)" if params.get("action") == "tag" else "changed"
        return (
            f"`standardize` ({what}) {verb} the candidates below, read in each row's locale; every change is listed "
            f"in `{{field}}_standardized`. Candidates left as written, by reason: `ambiguous` (a numeric date "
            "whose order the locale does not settle), `unreadable` (not a number in the row's locale), `no_locale` "
            "(the row's language is not known well enough), `phone`, `range`, `out_of_range`, `invalid`.\n\n" + table
        )

    @classmethod
    def notes(cls, params: dict, stats: dict[str, int]) -> list[str]:
        ambiguous = {k.rsplit(":", 1)[1]: n for k, n in stats.items() if k.startswith("left:date:ambiguous:")}
        if not ambiguous or params.get("day_first") is not None:
            return []
        where = ", ".join(f"`{lang}` {n:,}" for lang, n in sorted(ambiguous.items(), key=lambda kv: -kv[1]))
        return [
            f"{sum(ambiguous.values()):,} numeric dates were left as written because their order (day or month "
            f"first) is not settled by the row's locale ({where}); set `day_first`, or a regional `locale` such as "
            "en_GB or en_US, if you know it"
        ]


@lru_cache(maxsize=512)
def _locale_name(language: str | None) -> str | None:
    from curate.standardize.locales import parse_locale

    locale = parse_locale(language)
    return str(locale) if locale is not None else None


@lru_cache(maxsize=16)
def _finder(dates: str | None, numbers: str | None, units: str | None, day_first: bool | None, years: tuple[int, int]):
    """A function (text, locale name) -> the changes in it, for one configuration."""
    from curate.pii.regions import regions_of_language
    from curate.standardize import dates as d
    from curate.standardize import numbers as n
    from curate.standardize import units as u

    pattern = d.output_pattern(dates) if dates else None
    number_target = None if numbers in (None, "plain") else _locale_name(numbers)

    def write(locale: str | None):
        convention = number_target if numbers else locale

        def amount(value: float, places: int) -> str:
            text = f"{value:.{places}f}"
            if convention is None:
                return text
            return text.replace(".", n.symbols(convention)[0])

        return amount

    def find(text: str, locale: str | None) -> list[Change]:
        found: list[Change] = []
        if pattern is not None:
            found += d.find_dates(text, d.date_rules(locale), pattern, day_first, years)
        if units is not None:
            reader = (lambda raw: n.read_number(raw, locale)) if locale else (lambda raw: None)
            found += _outside(u.find_units(text, units, reader, write(locale)), found)
        if numbers is not None:
            phone = _phone_check(regions_of_language(locale)) if locale else None
            found += _outside(n.find_numbers(text, locale, number_target, phone), found)
        return sorted(found, key=lambda c: c.start)

    return find


def _outside(changes: list[Change], taken: list[Change]) -> list[Change]:
    """The changes that overlap none of those already taken."""
    return [c for c in changes if not any(t.start < c.end and c.start < t.end for t in taken)]


@lru_cache(maxsize=64)
def _phone_check(regions: tuple[str, ...]):
    """A number that libphonenumber takes for a valid phone number of one of these regions is a phone number."""
    import phonenumbers

    def is_phone(raw: str) -> bool:
        if sum(ch.isdigit() for ch in raw) < 6:
            return False
        for region in regions:
            try:
                if phonenumbers.is_valid_number(phonenumbers.parse(raw, region)):
                    return True
            except phonenumbers.NumberParseException:
                continue
        return False

    return is_phone


def tag_column(values: pl.Series, tags: list[tuple[int, list[tuple[Change, int, int]]]]) -> pl.Series:
    """`{field}_standardized`: the changes of each row (empty list where none, null where the text is null), built
    from flat columns and a join."""
    flat = [(row, c.kind, start, end, c.before, c.after) for row, placed in tags for c, start, end in placed]
    frame = pl.DataFrame({"v": values}).with_row_index("_i")
    if flat:
        names = ["_i", "kind", "start", "end", "before", "after"]
        schema = dict(zip(names, [pl.UInt32, pl.String, pl.Int64, pl.Int64, pl.String, pl.String]))
        found = (
            pl.DataFrame(dict(zip(names, map(list, zip(*flat)))), schema=schema)
            .group_by("_i", maintain_order=True)
            .agg(pl.struct(names[1:]).alias("t"))
        )
        frame = frame.join(found, on="_i", how="left", maintain_order="left")
    else:
        frame = frame.with_columns(pl.lit(None, dtype=TAG_DTYPE).alias("t"))
    empty = pl.lit([], dtype=TAG_DTYPE)
    return frame.select(pl.when(pl.col("v").is_null()).then(None).otherwise(pl.coalesce("t", empty)).alias("t"))["t"]
