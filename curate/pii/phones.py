"""Phone numbers with Google's libphonenumber (`phonenumbers`), guided by region hints.

Numbers written with a `+` and a country code are found anywhere. A number written the national way ("06 12 34 56
78") only means something within a region, so each row gets its likely regions: from a country column (ISO 3166-1
alpha-2, or a locale such as `fr_CA`), else from the row's language (ISO 639-1 or 639-3, as `text_lang` holds it),
else the step's default region. A candidate counts when libphonenumber says it is a valid number there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache, lru_cache

from curate.pii.scan import Detector, Hints, Span, blank

# Official or majority languages -> the regions where most of their speakers live, most populous first (after
# CLDR's territory-language data). Only the first few are tried for a row, so the lists stay short.
LANGUAGE_REGIONS: dict[str, tuple[str, ...]] = {
    "eng": ("US", "GB", "IN", "CA", "AU", "NG", "PH", "ZA", "IE", "NZ"),
    "fra": ("FR", "CA", "BE", "CH", "CI", "SN", "MA", "LU"),
    "deu": ("DE", "AT", "CH", "LU", "LI"),
    "spa": ("ES", "MX", "CO", "AR", "US", "PE", "VE", "CL"),
    "por": ("BR", "PT", "AO", "MZ"),
    "ita": ("IT", "CH", "SM"),
    "nld": ("NL", "BE", "SR"),
    "pol": ("PL",),
    "rus": ("RU", "BY", "KZ", "UA"),
    "ukr": ("UA",),
    "bel": ("BY",),
    "tur": ("TR", "CY"),
    "ara": ("EG", "SA", "DZ", "MA", "IQ", "AE", "JO", "TN", "LB", "KW", "QA"),
    "zho": ("CN", "TW", "HK", "SG"),
    "cmn": ("CN", "TW", "SG"),
    "yue": ("HK", "CN"),
    "jpn": ("JP",),
    "kor": ("KR",),
    "hin": ("IN",),
    "ben": ("BD", "IN"),
    "urd": ("PK", "IN"),
    "pan": ("IN", "PK"),
    "tam": ("IN", "LK", "SG"),
    "tel": ("IN",),
    "mar": ("IN",),
    "guj": ("IN",),
    "kan": ("IN",),
    "mal": ("IN",),
    "nep": ("NP",),
    "sin": ("LK",),
    "fas": ("IR", "AF"),
    "pes": ("IR",),
    "prs": ("AF",),
    "pus": ("AF", "PK"),
    "heb": ("IL",),
    "yid": ("IL", "US"),
    "ell": ("GR", "CY"),
    "swe": ("SE", "FI"),
    "nor": ("NO",),
    "nob": ("NO",),
    "nno": ("NO",),
    "dan": ("DK",),
    "fin": ("FI",),
    "isl": ("IS",),
    "ces": ("CZ",),
    "slk": ("SK",),
    "hun": ("HU",),
    "ron": ("RO", "MD"),
    "bul": ("BG",),
    "hrv": ("HR", "BA"),
    "srp": ("RS", "BA", "ME"),
    "bos": ("BA",),
    "slv": ("SI",),
    "mkd": ("MK",),
    "sqi": ("AL", "XK"),
    "als": ("AL", "XK"),
    "lit": ("LT",),
    "lav": ("LV",),
    "est": ("EE",),
    "kat": ("GE",),
    "hye": ("AM",),
    "aze": ("AZ",),
    "kaz": ("KZ",),
    "uzb": ("UZ",),
    "mon": ("MN",),
    "tha": ("TH",),
    "lao": ("LA",),
    "khm": ("KH",),
    "mya": ("MM",),
    "vie": ("VN",),
    "ind": ("ID",),
    "msa": ("MY", "SG", "BN"),
    "zsm": ("MY",),
    "fil": ("PH",),
    "tgl": ("PH",),
    "swa": ("TZ", "KE", "UG"),
    "swh": ("TZ", "KE", "UG"),
    "amh": ("ET",),
    "som": ("SO", "ET", "KE"),
    "hau": ("NG", "NE"),
    "yor": ("NG",),
    "ibo": ("NG",),
    "afr": ("ZA", "NA"),
    "zul": ("ZA",),
    "xho": ("ZA",),
    "cat": ("ES", "AD"),
    "eus": ("ES",),
    "glg": ("ES",),
    "gle": ("IE",),
    "gla": ("GB",),
    "cym": ("GB",),
    "ltz": ("LU",),
    "mlt": ("MT",),
    # individual languages that language-ID models report in place of their macrolanguage
    "arb": ("EG", "SA", "DZ", "MA", "IQ", "AE", "JO", "TN", "LB", "KW", "QA"),
    "arz": ("EG",),
    "ary": ("MA",),
    "apc": ("SY", "LB", "JO"),
    "acm": ("IQ",),
    "ekk": ("EE",),
    "lvs": ("LV",),
    "npi": ("NP",),
    "azj": ("AZ",),
    "uzn": ("UZ",),
    "khk": ("MN",),
    "ydd": ("IL", "US"),
    "pbt": ("AF", "PK"),
    "hbs": ("RS", "HR", "BA"),
}

# ISO 639-1 -> ISO 639-3 for the languages above.
_ISO1 = {
    "en": "eng", "fr": "fra", "de": "deu", "es": "spa", "pt": "por", "it": "ita", "nl": "nld", "pl": "pol",
    "ru": "rus", "uk": "ukr", "be": "bel", "tr": "tur", "ar": "ara", "zh": "zho", "ja": "jpn", "ko": "kor",
    "hi": "hin", "bn": "ben", "ur": "urd", "pa": "pan", "ta": "tam", "te": "tel", "mr": "mar", "gu": "guj",
    "kn": "kan", "ml": "mal", "ne": "nep", "si": "sin", "fa": "fas", "ps": "pus", "he": "heb", "iw": "heb",
    "yi": "yid", "el": "ell", "sv": "swe", "no": "nor", "nb": "nob", "nn": "nno", "da": "dan", "fi": "fin",
    "is": "isl", "cs": "ces", "sk": "slk", "hu": "hun", "ro": "ron", "bg": "bul", "hr": "hrv", "sr": "srp",
    "bs": "bos", "sl": "slv", "mk": "mkd", "sq": "sqi", "lt": "lit", "lv": "lav", "et": "est", "ka": "kat",
    "hy": "hye", "az": "aze", "kk": "kaz", "uz": "uzb", "mn": "mon", "th": "tha", "lo": "lao", "km": "khm",
    "my": "mya", "vi": "vie", "id": "ind", "ms": "msa", "tl": "tgl", "sw": "swa", "am": "amh", "so": "som",
    "ha": "hau", "yo": "yor", "ig": "ibo", "af": "afr", "zu": "zul", "xh": "xho", "ca": "cat", "eu": "eus",
    "gl": "glg", "ga": "gle", "gd": "gla", "cy": "cym", "lb": "ltz", "mt": "mlt",
}  # fmt: skip

MAX_REGIONS = 3  # regions tried per row: each is one pass of the matcher over the row


@cache
def _supported() -> frozenset[str]:
    import phonenumbers

    return frozenset(phonenumbers.SUPPORTED_REGIONS)


def _parts(value: str) -> list[str]:
    return [p for p in re.split(r"[-_@.\s]+", value.strip()) if p]


@lru_cache(maxsize=4096)
def regions_of_country(value: str | None) -> tuple[str, ...]:
    """A country code ('FR', 'fr') or a locale with a region ('fr_CA', 'pt-BR') -> that region, if known."""
    if not value:
        return ()
    parts = _parts(value)
    candidates = [parts[0]] if len(parts) == 1 else parts[1:]
    for part in candidates:
        code = "GB" if part.upper() == "UK" else part.upper()
        if len(code) == 2 and code in _supported():
            return (code,)
    return ()


@lru_cache(maxsize=4096)
def regions_of_language(value: str | None) -> tuple[str, ...]:
    """A language ('fra', 'fr', 'fr-CA', 'eng_Latn') -> likely regions: the tag's own region first, then the
    language's main regions."""
    if not value:
        return ()
    parts = _parts(value)
    lang = parts[0].lower()
    lang = _ISO1.get(lang, lang)
    own = [p.upper() for p in parts[1:] if len(p) == 2 and p.upper() in _supported()]
    out = list(dict.fromkeys(own + list(LANGUAGE_REGIONS.get(lang, ()))))
    return tuple(out[:MAX_REGIONS])


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
    for m in _RUN.finditer(text):
        if m.group(1) or sum(c.isdigit() for c in m.group()) >= least:
            return True
    return False


def find_phone(text: str, hints: Hints) -> Iterator[Span]:
    """Valid numbers for the row's regions, tried in order (international numbers whatever the region); key: E.164.
    A region is tried only while digits are left that no earlier region explained."""
    phonenumbers = _phonenumbers()
    regions = hints.regions or hints.fallback or (None,)
    taken: list[Span] = []
    for region in regions:
        rest = blank(text, taken) if taken else text
        if not _may_hold_number(rest, region):
            continue
        for m in phonenumbers.PhoneNumberMatcher(rest, region, leniency=phonenumbers.Leniency.VALID):
            key = phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164)
            taken.append(Span("phone", m.start, m.end, key))
    yield from taken


# Something a number could start with: '+' and a digit, or five digits with at most three separators between each.
PHONE_PREFILTER = r"\+\s?\(?[0-9]|[0-9](?:[\s().\-/]{0,3}[0-9]){4,}"

DETECTOR = Detector(
    "phone",
    PHONE_PREFILTER,
    find_phone,
    "phone numbers valid for the row's region hints (libphonenumber); international (+..) numbers anywhere",
    after_others=True,
)
