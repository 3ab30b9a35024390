"""Decimal and grouping separators, read with the row's CLDR locale (Babel's strict parser) and written in one
convention.

A number is read only when the locale's own format accepts it as written (`1.234,5` in German, `1 234,5` in French,
`12,34,567.89` in Hindi; Babel's `parse_decimal(strict=True)` checks the separators and the grouping), so `3,5` in
English or `3.10` in German are left alone, not guessed. Only the separators change: the digits, the number of
decimals and whether the number was grouped stay, so a year, an ID or a count written without separators is never
touched. Never read: numbers inside words or codes (`A4`, `J45.909`, `v1.2.3`), joined to other numbers by `-`, `/`
or `:` (dates, ranges, ISBNs, times), after `#`, `№` or `+`, with a leading zero in a group (`01,234`), and numbers
that libphonenumber takes for a valid phone number of the row's regions.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache

from curate.standardize import Change
from curate.standardize.locales import _babel

SPACES = "\u0020\u00a0\u202f\u2009"
# A run of digits and separators: the candidates one row holds.
# Spaces join digits only before a group of exactly three (`1 234 567`), so `2019 300` is two numbers.
NUMBER = re.compile(rf"(?<![\w.,'’#№+/:\-])\d+(?:[.,'’]\d+|[{SPACES}]\d{{3}}(?!\d))*(?![\w'’]|[.,/:\-]\w)")
# What the polars pre-filter looks for: digits on both sides of a separator.
CANDIDATE = rf"\d[.,'’{SPACES}]\d"


@cache
def symbols(locale_name: str) -> tuple[str, str]:
    """(decimal, group) symbols of a locale, e.g. (',', '\u202f') for French."""
    numbers = _babel().numbers
    return numbers.get_decimal_symbol(locale_name), numbers.get_group_symbol(locale_name)


@cache
def _parse_locale(name: str):
    return _babel().Locale.parse(name)


def read_number(text: str, locale_name: str) -> Decimal | None:
    """The value of `text` written in the locale's format, or None when the locale's format does not accept it."""
    numbers = _babel().numbers
    decimal, group = symbols(locale_name)
    candidate = text
    if group in SPACES:  # writers use a plain space where CLDR has a no-break space
        candidate = re.sub(f"[{SPACES}]", group, candidate)
    elif any(s in candidate for s in SPACES):
        return None
    if re.search(rf"(^|[^\d])0\d*[{re.escape(group)}]", candidate) and group in candidate:
        return None  # a leading zero before a group separator: a code, not a grouped number
    try:
        return numbers.parse_decimal(candidate, _parse_locale(locale_name), strict=True)
    except (numbers.NumberFormatError, ValueError):
        return None


def write_number(text: str, value: Decimal, source: str, target: str | None) -> str:
    """`value` with the decimals and grouping (or not) of `text`: `target` None is plain (`1234.5`), else the
    separators and grouping pattern of that locale."""
    decimal, group = symbols(source)
    _, _, fraction = text.rpartition(decimal) if decimal in text else ("", "", "")
    places = len(fraction)
    grouped = any(ch in text for ch in (group, *SPACES)) if group in SPACES else group in text
    if target is None:
        return f"{value:.{places}f}"
    numbers = _babel().numbers
    locale = _parse_locale(target)
    pattern = locale.decimal_formats[None].pattern.split(";")[0] if grouped else "0"
    pattern = pattern.split(".")[0] + ("." + "0" * places if places else "")
    return numbers.format_decimal(value, format=pattern, locale=locale, decimal_quantization=True)


def find_numbers(text: str, locale_name: str | None, target: str | None, is_phone=None) -> list[Change]:
    """Every number with a separator in `text`, with what it becomes (or `no_locale` / `unreadable` / `phone`)."""
    found = []
    for match in NUMBER.finditer(text):
        raw = match.group(0)
        if not re.search(rf"[.,'’{SPACES}]", raw):
            continue
        if locale_name is None:
            found.append(Change("number", match.start(), match.end(), raw, None, "no_locale"))
            continue
        value = read_number(raw, locale_name)
        if value is None:
            found.append(Change("number", match.start(), match.end(), raw, None, "unreadable"))
            continue
        if is_phone is not None and is_phone(raw):
            found.append(Change("number", match.start(), match.end(), raw, None, "phone"))
            continue
        after = write_number(raw, value, locale_name, target)
        if after != raw:
            found.append(Change("number", match.start(), match.end(), raw, after))
    return found
