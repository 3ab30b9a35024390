"""Dates in running text, found with the locale's own CLDR date patterns and month names (Babel), rewritten to one
format.

Textual dates (`7 March 2024`, `7. März 2024`, `7 de marzo de 2024`, `7 марта 2024 г.`, `2024年3月7日`) are matched by
regular expressions compiled from the locale's long and medium date patterns (UTS #35 field symbols), so every
language CLDR covers gets its own word order, connectors and month names (format and stand-alone, wide and
abbreviated, of every regional locale of the language). Numeric dates (`03/07/2024`, `2024-03-07`) are read
year-first when the year comes first, else in the locale's order (`locales.numeric_date_order`) or `day_first`; when
neither settles it and both numbers could be the month, the date is left as written and counted `ambiguous`. Only
full dates with a four-digit year in `years` are rewritten: two-digit years, partial dates and years of other
calendars (the Thai Buddhist era's 2567) are left alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import regex as re  # `regex`: Unicode script classes (\p{Han}) in boundaries

from curate.core.text import NO_SPACE
from curate.standardize import Change
from curate.standardize.locales import _babel, numeric_date_order, regional_locales

# Letters that may touch a date: scripts without spaces, and Hangul, whose particles attach to the word (`7일에`).
_ATTACHED = NO_SPACE + r"\p{Hangul}"

FORMATS = {"iso": "YYYY-MM-DD"}
_TOKENS = re.compile(r"YYYY|MM|DD|M|D")
_ORDINAL = r"(?:st|nd|rd|th|er|ᵉʳ|\.º|º|ª|η|ης)?"  # typographic ordinal marks after a day number
_BIDI = "[\u200e\u200f\u061c]?"
_SPACE = r"[\s\u00a0\u202f]*"
_PATTERN_PARTS = re.compile(r"'((?:[^']|'')*)'|(([a-zA-Z])\3*)|(.)", re.S)  # quoted literal | field | other
# A numeric date: three numbers with the same separator, not part of a longer run of numbers (versions, addresses).
NUMERIC = re.compile(r"(?<![\w.,/:-])(\d{1,4})([./-])(\d{1,2})\2(\d{1,4})(?![\w]|[.,/:-]\d)")
# What the polars pre-filter looks for: a row without a four-digit number has no full date in it.
CANDIDATE = r"\d{4}"


def output_pattern(fmt: str) -> str:
    """`iso` or a pattern of YYYY, MM, DD, M, D (`DD/MM/YYYY`); raises ValueError for anything else."""
    pattern = FORMATS.get(fmt, fmt)
    tokens = _TOKENS.findall(pattern)
    if sorted(t[0] for t in tokens) != ["D", "M", "Y"]:
        raise ValueError(
            f"date format {fmt!r}: use `iso` or a pattern with YYYY, MM (or M) and DD (or D) once each, e.g. DD/MM/YYYY"
        )
    return pattern


def format_date(date: dt.date, pattern: str) -> str:
    values = {
        "YYYY": f"{date.year:04d}",
        "MM": f"{date.month:02d}",
        "DD": f"{date.day:02d}",
        "M": str(date.month),
        "D": str(date.day),
    }
    return _TOKENS.sub(lambda m: values[m.group(0)], pattern)


@dataclass(frozen=True)
class DateRules:
    """What a locale knows about dates: compiled textual patterns, month names, the numeric order."""

    patterns: tuple[re.Pattern, ...]
    months: dict[str, int]
    order: str | None


def _alternation(names) -> str:
    return "|".join(re.escape(n) for n in sorted(set(names), key=lambda n: (-len(n), n)))


def _pattern_regex(pattern: str, month_names: str, era_names: str, year_words: str) -> str | None:
    """A CLDR date pattern as a regex with groups y, d and m (a number) or mn (a name); None for patterns without a
    day, a month and a year, or with a weekday or a two-digit-only field we cannot read. The language's words for
    "year" (`năm`, `عام`, `ปี`, `года`: dateparser's locale data) may stand before or after the year."""
    parts, fields = [], set()
    for quoted, letters, _, other in _PATTERN_PARTS.findall(pattern):
        if letters:
            symbol, width = letters[0], len(letters)
            if symbol == "y":
                word = rf"(?:(?:{year_words}){_SPACE})?" if year_words else ""
                parts.append(rf"{word}(?P<y>\d{{4}})")
                fields.add("y")
            elif symbol in "ML":
                parts.append(rf"(?P<mn>{month_names})\.?" if width >= 3 else r"(?P<m>\d{1,2})")
                fields.add("m")
            elif symbol == "d":
                parts.append(rf"(?P<d>\d{{1,2}}){_ORDINAL}")
                fields.add("d")
            elif symbol == "G":
                parts.append(rf"(?:{era_names})?" if era_names else "")
            else:  # weekday, time or anything else: patterns with them are not dates in running text
                return None
        elif quoted:
            parts.append(re.escape(quoted.replace("''", "'")))
        elif other.isspace():
            parts.append(_SPACE)
        elif other in "\u200e\u200f\u061c":
            parts.append(_BIDI)
        elif other == ",":
            parts.append(",?")
        else:
            parts.append(re.escape(other) + ("?" if other == "." else ""))
    if fields != {"d", "m", "y"}:
        return None
    parts = [p for p in parts if p and p != _SPACE]
    closing = []
    while parts and not parts[-1].startswith(("(?P<", "(?:(?:")):  # a closing literal (`г.`, `日`) may be left out
        closing.insert(0, parts.pop())
    tail = _SPACE.join(closing)
    if year_words and parts[-1].startswith(("(?P<y>", "(?:(?:")):
        tail = f"(?:{tail}|{year_words})" if tail else f"(?:{year_words})"
    body = f"{_SPACE},?{_SPACE}".join(parts)  # spacing (and a comma) is free between fields and literals
    end = rf"(?:{_SPACE}{tail}(?![^\W{_ATTACHED}]))?" if tail else ""
    return rf"(?<![^\W{_ATTACHED}]|[\d.]){body}{end}(?![^\W{_ATTACHED}]|\d)"


@cache
def date_rules(locale_name: str | None) -> DateRules:
    """The compiled date rules of a locale (cached: built once per locale per process)."""
    if locale_name is None:
        return DateRules((), {}, None)
    dates = _babel().dates
    babel = _babel()
    locales = [babel.Locale.parse(i) for i in regional_locales(locale_name)]
    months: dict[str, int] = {}
    eras: set[str] = set()
    patterns: set[str] = set()
    for locale in locales:
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for number, name in dates.get_month_names(width, context, locale).items():
                    months.setdefault(name.lower(), number)
                    months.setdefault(name.lower().rstrip("."), number)
        eras.update(locale.eras["abbreviated"].values())
        for length in ("long", "medium", "short"):
            patterns.add(dates.get_date_format(length, locale).pattern)
    month_names, era_names = _alternation(months), _alternation(eras)
    year_words = _alternation(_year_words(locales[0].language)) if locales else ""
    compiled = []
    for pattern in sorted(patterns):
        regex = _pattern_regex(pattern, month_names, era_names, year_words)
        if regex is None or not _readable_alone(pattern):
            continue
        compiled.append(re.compile(regex, re.IGNORECASE))
    return DateRules(tuple(compiled), months, numeric_date_order(locale_name))


def _year_words(language: str) -> set[str]:
    """The words a language writes with a year (`năm`, `عام`, `ปี`, `года`), from dateparser's locale data."""
    import importlib

    try:
        info = importlib.import_module(f"dateparser.data.date_translation_data.{language}").info
    except ImportError:
        return set()
    return {w for w in info.get("year", []) if len(w) > 1 or not w.isascii()}


def _readable_alone(pattern: str) -> bool:
    """A pattern settles which number is which when it names the month or writes the year first or puts other
    characters than . / - between its fields (年, 월); numeric day-month patterns go through `NUMERIC`."""
    letters = re.sub(r"'[^']*'", "", pattern)
    if re.search(r"[ML]{3,}", letters):
        return True
    stripped = letters.strip()
    if stripped.startswith("y"):
        return True
    return bool(re.search(r"[^\sdMLy./\-,\u200e\u200f\u061c]", stripped))


def _valid(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def read_numeric(
    a: str, b: str, c: str, order: str | None, day_first: bool | None
) -> tuple[dt.date | None, str | None]:
    """(date, None), or (None, why it is left): `ambiguous`, `invalid` or `two_digit_year`."""
    if len(a) == 4:
        date = _valid(int(a), int(b), int(c))
        return (date, None) if date else (None, "invalid")
    if len(c) != 4:
        return None, "two_digit_year"
    first, second, year = int(a), int(b), int(c)
    as_dmy, as_mdy = _valid(year, second, first), _valid(year, first, second)
    if as_dmy and as_mdy and as_dmy != as_mdy:
        wanted = {True: "dmy", False: "mdy"}.get(day_first) if day_first is not None else order
        if wanted == "dmy":
            return as_dmy, None
        if wanted == "mdy":
            return as_mdy, None
        return None, "ambiguous"
    date = as_dmy or as_mdy
    return (date, None) if date else (None, "invalid")


def find_dates(
    text: str, rules: DateRules, pattern: str, day_first: bool | None = None, years: tuple[int, int] = (1000, 2200)
) -> list[Change]:
    """Every full date in `text` with what it becomes in `pattern` (or why it is left)."""
    found: list[Change] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, date: dt.date | None, skip: str | None) -> None:
        if any(s < end and start < e for s, e in taken):
            return
        taken.append((start, end))
        if date is not None and not years[0] <= date.year <= years[1]:
            date, skip = None, "out_of_range"
        before = text[start:end]
        after = format_date(date, pattern) if date is not None else None
        found.append(
            Change("date", start, end, before, None if after == before else after, skip if after is None else None)
        )

    for regex in rules.patterns:
        for match in regex.finditer(text):
            groups = match.groupdict()
            month = rules.months.get(groups["mn"].lower()) if groups.get("mn") else int(groups["m"])
            date = _valid(int(groups["y"]), month or 0, int(groups["d"]))
            add(match.start(), match.end(), date, None if date else "invalid")
    for match in NUMERIC.finditer(text):
        date, skip = read_numeric(match.group(1), match.group(3), match.group(4), rules.order, day_first)
        if skip != "two_digit_year":
            add(match.start(), match.end(), date, skip)
    return [c for c in found if c.after is not None or c.skip is not None]
