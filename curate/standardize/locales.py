"""CLDR locales (through Babel) for a row: what its language code names, and what the locale data says.

A row's language is an ISO 639 code (`deu`, `de`) or a locale (`en_GB`, `fr-CA`). A bare language means all of its
regional locales: month names and date patterns are gathered from every one of them, and the order of a numeric
date (03/07/2024) is taken as settled only where the language's default locale agrees with most of its regions
(German: day first everywhere; English: en_US puts the month first, most English locales the day, so it is not).
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache

from curate.core.errors import MissingDependencyError


def _babel():
    try:
        import babel
        import babel.dates
        import babel.localedata
        import babel.numbers
    except ImportError:
        raise MissingDependencyError("the standardize step", "babel", "standardize") from None
    return babel


@cache
def parse_locale(code: str | None):
    """A Babel `Locale` for a language code or locale name (`fra`, `fr`, `fr_CA`, `pt-BR`), or None."""
    if code is None or not str(code).strip() or str(code) in ("und", "zxx", "mul"):
        return None
    babel = _babel()
    text = str(code).strip().replace("-", "_")
    if "_" not in text:  # a bare language: ISO 639-3 `deu` or 639-1 `de`, never maximised to a region (de_DE)
        from curate.core.languages import language_key

        text = language_key(text) or text
    try:
        return babel.Locale.parse(text)
    except (ValueError, TypeError, babel.UnknownLocaleError):
        return None


@cache
def regional_locales(name: str) -> tuple[str, ...]:
    """`de` -> every CLDR locale of German (de, de_AT, de_CH, ...); a regional locale (`en_GB`) -> itself."""
    locale = parse_locale(name)
    if locale is None:
        return ()
    if locale.territory:
        return (str(locale),)
    ids = _babel().localedata.locale_identifiers()
    return tuple(sorted(i for i in ids if i.split("_")[0] == locale.language and _same_script(i, locale)))


def _same_script(identifier: str, locale) -> bool:
    """sr_Latn is not sr (Cyrillic): regions of another script are another way of writing."""
    other = _babel().Locale.parse(identifier)
    return (other.script or "") == (locale.script or "")


def field_order(pattern: str) -> str | None:
    """`dd.MM.yy` -> `dmy`, `M/d/yy` -> `mdy`, `y/M/d` -> `ymd`: the order of day, month and year in a CLDR
    pattern (quoted literals ignored)."""
    letters = re.sub(r"'[^']*'", "", pattern)
    seen = [c for c in dict.fromkeys(ch for ch in letters if ch in "dMLy")]
    order = "".join({"d": "d", "M": "m", "L": "m", "y": "y"}[c] for c in seen)
    return order if sorted(order) == ["d", "m", "y"] else None


@cache
def numeric_date_order(name: str) -> str | None:
    """The order of a numeric date in this locale (`dmy`, `mdy`, `ymd`), or None when the locale does not settle
    it: a bare language whose default locale disagrees with the order most of its regions use."""
    locale = parse_locale(name)
    if locale is None:
        return None
    dates = _babel().dates
    own = field_order(dates.get_date_format("short", locale).pattern)
    if locale.territory:
        return own
    orders = Counter(field_order(dates.get_date_format("short", i).pattern) for i in regional_locales(name))
    common = orders.most_common(1)[0][0] if orders else own
    return own if own == common else None
