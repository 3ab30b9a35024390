"""Phone numbers with Google's libphonenumber (`phonenumbers`), in three modes of increasing reach.

- `strict`: numbers written with `+` and a country code, anywhere; numbers written the national way ("06 12 34 56
  78") when libphonenumber says they are valid in one of the row's regions: its country or language column, then
  the recipe's `regions`.
- `text`: also the regions the text itself points at: the country codes of its `+` numbers, country-code domains of
  its addresses, country names and its script (`curate.pii.regions`).
- `lenient`: also a number that is only phone-shaped (digit groups, 7 to 15 digits, not a date, an amount or a
  version; maybe with an extension) when a word such as "tel", "appelez" or "電話" in the row's language stands near
  it (`curate.pii.context`) or names its column ("phone", "tel_mobile"), when it is written with + and a country
  code and has a length that country's numbers can have, or when it is written exactly the way a region writes its
  national numbers and is valid there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import cache, lru_cache
from typing import Literal

from curate.pii.context import phone_context
from curate.pii.scan import Detector, Hints, Span, blank

PhoneMode = Literal["strict", "text", "lenient"]
MODES: tuple[str, ...] = ("strict", "text", "lenient")
MAX_REGIONS = 6  # regions tried per row, each one pass of the matcher over the digits no earlier one explained
CONTEXT_BEFORE = 40  # characters before a number searched for a context word (fitted: bench/pii.py --fit)
CONTEXT_AFTER = 16  # and after it ("0612345678 (mobile)")


@lru_cache(maxsize=1)
def _phonenumbers():
    """The library, with its compiled-pattern cache on: checking numbers of many regions otherwise overflows the
    `re` module's cache and recompiles the same metadata patterns again and again (5-10x slower)."""
    import phonenumbers
    from phonenumbers import re_util

    enable = getattr(re_util, "enable_pattern_cache", None)  # phonenumbers >= 9.0.x; older ones just run slower
    if enable is not None:
        enable()
    return phonenumbers


@cache
def _min_digits(region: str | None) -> int:
    """The fewest digits a valid national number of `region` has (its shortest possible length)."""
    if region is None:
        return 10**6  # no region: only numbers written with + count
    metadata = _phonenumbers().PhoneMetadata.metadata_for_region(region)
    lengths = metadata.general_desc.possible_length if metadata is not None else ()
    return min(lengths) if lengths else 1


_RUN = re.compile(r"(\+\s?\(?)?[0-9](?:[\s().\-/]{0,3}[0-9])*")


def _may_hold_number(text: str, region: str | None) -> bool:
    """Is there a run of digits written with a + or long enough to be a national number of `region`? (Cheap: the
    matcher parses every candidate, which costs far more.)"""
    least = _min_digits(region)
    return any(m.group(1) or sum(c.isdigit() for c in m.group()) >= least for m in _RUN.finditer(text))


def _matches(text: str, region: str | None) -> list[Span]:
    phonenumbers = _phonenumbers()
    return [
        Span("phone", m.start, m.end, phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164))
        for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
    ]


def _regions_of(spans: list[Span]) -> list[str]:
    """The main region of each country code of the numbers already found (+33 -> FR, +1 -> US)."""
    phonenumbers = _phonenumbers()
    out: list[str] = []
    for s in spans:
        code = phonenumbers.parse(s.key).country_code
        out += phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ())[:1]
    return out


# -- lenient: phone-shaped numbers near a context word, or in a region's own national format -------------------------
# Digit groups joined by one separator (space, dash, dot, slash), the first maybe in parentheses, maybe after a +, a
# later one maybe in parentheses with no separator ("+90(395)486-2057"); or one run of digits (a context word must
# stand near either). Then maybe an extension the way libphonenumber reads one ("x342", "ext. 12", "#4").
_SHAPE = re.compile(
    r"(?<![\w+.,/-])(?P<number>(\+\s?)?(?:\(\d{1,5}\)[ .\-]?\d{1,8}|\d{1,15})"
    r"(?:\s?\(\d{1,5}\)[ .\-]?\d{1,12}|(?:[ .\-/]|\s?[/-]\s?)\(?\d{1,12}\)?)*)"
    r"(?P<extension>\s?(?i:x|ext\.?|extn\.?|extension|#)\s?\d{1,7})?(?![\w]|[.,/-]\d)"
)
_IDD = "00"  # the international prefix ITU-T recommends and most countries dial ("00420 605 372 159")
_TRUNK_IN_BRACKETS = "(0)"  # "+44 (0)20 7946 0958": the trunk prefix that only a caller inside the country dials
_DATE = re.compile(r"(\d{1,2})[./-](\d{1,2})[./-](?:\d{2}|\d{4})|(\d{4})[./-](\d{1,2})[./-](\d{1,2})")
_YEARS = re.compile(r"((?:1\d|20)\d\d)\s?[-/–]\s?((?:1\d|20)\d\d)")  # 1600-1800: a span of years
_CURRENCY = "$€£¥₹₽₩₺₫₱₪฿¢"  # the currency signs in common use (Unicode category Sc)
_AMOUNT_BEFORE = re.compile(rf"[{_CURRENCY}]\s?$")
_AMOUNT_AFTER = re.compile(rf"^\s?(?:[{_CURRENCY}%‰]|(?:k|m|bn|mn)\b)")
_VERSION_BEFORE = re.compile(r"(?:\b[vV]|\bversion|\bver\.?|\brelease|\bbuild)\s?$", re.IGNORECASE)
MIN_DIGITS, MAX_DIGITS = 7, 15  # ITU-T E.164: at most 15 digits; hardly any national number has fewer than 7


def _is_date(value: str) -> bool:
    m = _DATE.fullmatch(value)
    if m is None:
        years = _YEARS.fullmatch(value)
        return years is not None and int(years.group(1)) < int(years.group(2))
    day_month = (m.group(1), m.group(2)) if m.group(1) else (m.group(5), m.group(4))
    a, b = int(day_month[0]), int(day_month[1])
    return (1 <= a <= 31 and 1 <= b <= 12) or (1 <= a <= 12 and 1 <= b <= 31)


def phone_shaped(text: str, start: int, end: int) -> bool:
    """Digit groups that could be a phone number: 7-15 digits, no one-digit group after the first (or after the
    country code), and not a date, a year range, an amount or a version number."""
    value = text[start:end]
    international = value.startswith("+")
    if international:
        value = value.replace(_TRUNK_IN_BRACKETS, " ", 1)
    groups = re.findall(r"\d+", value)
    digits = sum(len(g) for g in groups)
    # a one-digit group only first, or after a country code ("+33 6 12 34 56 78")
    if not MIN_DIGITS <= digits <= MAX_DIGITS or any(len(g) == 1 for g in groups[2 if international else 1 :]):
        return False
    if _is_date(value):
        return False
    before, after = text[max(0, start - 8) : start], text[end : end + 6]
    return not (_AMOUNT_BEFORE.search(before) or _AMOUNT_AFTER.search(after) or _VERSION_BEFORE.search(before))


# Words of column names that hold phone numbers: whole words, and stems that may go on ("phone_number", "Telefonnr").
_PHONE_COLUMN_WORDS = frozenset(
    {
        "tel",
        "tlf",
        "telnr",
        "telno",
        "fax",
        "mob",
        "gsm",
        "msisdn",
        "cell",
        "mobile",
        "mobil",
        "mobiel",
        "móvil",
        "portable",
        "handy",
    }
)
_PHONE_COLUMN_STEMS = ("phone", "telephon", "téléphon", "telefon", "teléfon", "cellphone")


def is_phone_column(name: str) -> bool:
    """Does a column's name say it holds phone numbers? ("phone", "Tel.", "mobile_no", "contact-phone")"""
    words = re.findall(r"[^\W\d_]+", name.lower())
    return any(w in _PHONE_COLUMN_WORDS or w.startswith(_PHONE_COLUMN_STEMS) for w in words)


def _near_context(text: str, start: int, end: int, language: str | None) -> bool:
    window = text[max(0, start - CONTEXT_BEFORE) : start] + " " + text[end : end + CONTEXT_AFTER]
    return phone_context(language).search(window) is not None


@cache
def _regions_by_length() -> dict[tuple[str, int], tuple[str, ...]]:
    """(trunk prefix written or '', national number length) -> the regions where such a number can exist."""
    phonenumbers = _phonenumbers()
    index: dict[tuple[str, int], list[str]] = {}
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        for length in metadata.general_desc.possible_length if metadata else ():
            index.setdefault(("", length), []).append(region)
            if metadata.national_prefix:
                index.setdefault((metadata.national_prefix, length), []).append(region)
    return {key: tuple(regions) for key, regions in index.items()}


_POSTAL_CODE = re.compile(r"\d{5}-\d{3,4}")  # Brazil's CEP (01310-100) and the US ZIP+4 (02134-1234)


def _thousands(groups: list[str]) -> bool:
    """1 234 567 or 12.345.678: grouped like a count, not like a phone number (a count never starts with 0)."""
    return not groups[0].startswith("0") and len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])


@lru_cache(maxsize=65536)
def national_format_regions(candidate: str) -> tuple[str, ...]:
    """The regions where `candidate` is a valid number written exactly the way the region writes its national
    numbers: the same digit groups as libphonenumber's national format (with or without the trunk prefix).
    Needs real grouping and not a count's: three groups, or two after an area code in parentheses or after the
    region's trunk prefix written out ("0664 123456"; "712 345" alone could be anything)."""
    groups = re.findall(r"\d+", candidate)
    if len(groups) < 2 or _thousands(groups):
        return ()
    two_groups = len(groups) == 2 and not candidate.startswith("(")
    if two_groups and _POSTAL_CODE.fullmatch(candidate):
        return ()
    phonenumbers = _phonenumbers()
    digits = "".join(groups)
    index = _regions_by_length()
    tries = list(index.get(("", len(digits)), ()))
    for prefix in {p for p, _ in index if p and digits.startswith(p)}:
        tries += index.get((prefix, len(digits) - len(prefix)), ())
    out = []
    for region in sorted(set(tries)):
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if not phonenumbers.is_valid_number_for_region(number, region):
            continue
        expected = re.findall(r"\d+", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
        prefix = phonenumbers.PhoneMetadata.metadata_for_region(region).national_prefix or ""
        if two_groups:
            if prefix and groups[0].startswith(prefix) and groups == expected:
                out.append(region)
        elif groups == expected or (prefix and _with_prefix(groups, prefix) == expected):
            out.append(region)
    return tuple(out)


def _with_prefix(groups: list[str], prefix: str) -> list[str]:
    """The groups with the trunk prefix joined to the area code, whether it was left out ("532 123 45 67") or
    written apart ("0 532 123 45 67", "0 (917) 123 4567")."""
    if groups[0] == prefix and len(groups) > 2:
        return [prefix + groups[1]] + groups[2:]
    return [prefix + groups[0]] + groups[1:]


def international_form(candidate: str) -> str | None:
    """The number with + in front when it is written internationally: with + ("+44 (0)20 7946 0958", the trunk
    prefix in brackets left out) or with the international prefix 00 and digit groups ("00420 605 372 159"; one run
    of digits after 00 is more often a zero-padded code)."""
    if candidate.startswith("+"):
        return candidate.replace(_TRUNK_IN_BRACKETS, " ", 1)
    if candidate.startswith(_IDD) and len(re.findall(r"\d+", candidate)) > 1:
        return "+" + candidate.removeprefix(_IDD)
    return None


def possible_international(candidate: str) -> bool:
    """Written internationally and as long as the country code's numbers can be (libphonenumber's possible
    lengths): the notation of ITU-T E.123, which nothing but a phone number uses. Unlike `strict`, the number need
    not be one libphonenumber knows to be assigned."""
    phonenumbers = _phonenumbers()
    international = international_form(candidate)
    if international is None:
        return False
    try:
        number = phonenumbers.parse(international, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_possible_number_with_reason(number) == phonenumbers.ValidationResult.IS_POSSIBLE


def _lenient(text: str, hints: Hints) -> Iterator[Span]:
    for m in _SHAPE.finditer(text):
        start, end, number = m.start(), m.end(), m.group("number")
        if not phone_shaped(text, start, m.end("number")):
            continue
        if (
            hints.phone_column
            or _near_context(text, start, end, hints.language)
            or possible_international(number)
            or national_format_regions(number)
        ):
            extension = re.sub(r"\D", "", m.group("extension") or "")
            key = re.sub(r"[^\d+]", "", international_form(number) or number)
            yield Span("phone", start, end, key + (f"x{extension}" if extension else ""))


def find_phone(text: str, hints: Hints, mode: PhoneMode = "lenient") -> Iterator[Span]:
    """Phone numbers in `text`; key: E.164 for numbers libphonenumber validated, the digits for lenient ones. A
    region is tried only while digits are left that no earlier one explained."""
    taken: list[Span] = []
    regions = list(hints.regions)
    if mode != "strict":
        taken = _matches(text, None) if "+" in text else []  # + numbers first: their country is a clue
        regions += _regions_of(taken) + list(hints.clues)
    regions += hints.fallback
    for region in list(dict.fromkeys(regions))[:MAX_REGIONS] or [None]:
        rest = blank(text, taken) if taken else text
        if _may_hold_number(rest, region):
            taken += _matches(rest, region)
    if mode == "lenient":
        taken += _lenient(blank(text, taken) if taken else text, hints)
    yield from sorted(taken, key=lambda s: s.start)


def detector(mode: PhoneMode = "lenient") -> Detector:
    finder: Callable[[str, Hints], Iterator[Span]] = lambda text, hints: find_phone(text, hints, mode)  # noqa: E731
    return Detector(
        "phone",
        PHONE_PREFILTER,
        finder,
        "phone numbers: international (+..) anywhere, national ones valid for the row's regions (libphonenumber); "
        "in `text` mode also regions the text points at, in `lenient` mode phone-shaped numbers near a context word "
        "or in a region's national format",
        after_others=True,
    )


# Something a number could start with: '+' and a digit, or five digits with at most three separators between each.
PHONE_PREFILTER = r"\+\s?\(?[0-9]|[0-9](?:[\s().\-/]{0,3}[0-9]){4,}"

DETECTOR = detector()
