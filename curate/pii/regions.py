"""Where a row's phone numbers are likely from, from CLDR data (as shipped in `language_data` and `langcodes`).

A number written the national way ("06 12 34 56 78") only means something within a region, so each row gets
candidate regions from what is known about it: a country value, its language (CLDR territoryInfo: the territories
where the language is official), and, read from the text itself, its script (CLDR likely subtags: Hangul -> KR),
country codes and the names of countries and languages in the 119 languages official somewhere ("France",
"Frankreich", "法国", "Japanese"), and the country-code top-level domains of its email addresses and URLs. Only
regions libphonenumber knows are returned.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from functools import cache, lru_cache

import polars as pl

from curate.langid.scripts import CJK_PART_CODES, LATIN
from curate.langid.scripts import SCRIPTS as ALL_SCRIPTS
from curate.pii.context import unspaced

MAX_LANGUAGE_REGIONS = 3  # regions a language contributes: each one is a pass of the matcher over the row
OFFICIAL = frozenset({"official", "de_facto_official"})


@cache
def supported() -> frozenset[str]:
    import phonenumbers

    return frozenset(phonenumbers.SUPPORTED_REGIONS)


def _parts(value: str) -> list[str]:
    return [p for p in re.split(r"[-_@.\s]+", value.strip()) if p]


def region_code(code: str) -> str | None:
    """An ISO 3166-1 alpha-2 code libphonenumber knows ('UK', the exceptional reservation, is GB)."""
    code = "GB" if code.upper() == "UK" else code.upper()
    return code if len(code) == 2 and code in supported() else None


@lru_cache(maxsize=4096)
def regions_of_country(value: str | None) -> tuple[str, ...]:
    """A country code ('FR', 'fr') or a locale with a region ('fr_CA', 'pt-BR') -> that region, if known."""
    if not value:
        return ()
    parts = _parts(value)
    for part in [parts[0]] if len(parts) == 1 else parts[1:]:
        region = region_code(part)
        if region:
            return (region,)
    return ()


@cache
def _territory_languages() -> dict[str, tuple[str, ...]]:
    """CLDR territoryInfo: language -> the territories where it is official or de facto official, ordered by the
    economic weight of the language there (GDP x share of the population that speaks it), a proxy for how much
    text, and so how many phone numbers, come from each."""
    import language_data

    path = os.path.join(os.path.dirname(language_data.__file__), "data", "supplementalData.xml")
    weights: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for territory in ElementTree.parse(path).getroot().iter("territory"):
        code, gdp = territory.get("type", ""), float(territory.get("gdp", 0) or 0)
        for entry in territory.iter("languagePopulation"):
            if entry.get("officialStatus") in OFFICIAL and region_code(code):
                share = float(entry.get("populationPercent", 0)) / 100
                weights[entry.get("type", "").split("_")[0]].append((gdp * share, code))
    return {lang: tuple(dict.fromkeys(c for _, c in sorted(w, key=lambda x: -x[0]))) for lang, w in weights.items()}


@lru_cache(maxsize=4096)
def _language_tag(value: str | None):
    """A language value as langcodes reads it ('fra', 'eng_Latn', 'arb' -> fr, en, ar), or None."""
    import langcodes

    if not value or not value.strip():
        return None
    try:
        tag = langcodes.Language.get(langcodes.standardize_tag(value.strip().replace("_", "-"), macro=True))
    except (ValueError, LookupError):
        return None
    return None if tag.language in (None, "und", "zxx", "mul") else tag


def language_code(value: str | None) -> str | None:
    """The language of a value ('fra', 'fr-CA', 'nob') as its shortest ISO 639 code ('fr', 'nb')."""
    tag = _language_tag(value)
    return None if tag is None else {"no": "nb"}.get(tag.language, tag.language)


@lru_cache(maxsize=4096)
def regions_of_language(value: str | None) -> tuple[str, ...]:
    """A language ('fra', 'fr', 'fr-CA', 'eng_Latn', a macrolanguage member such as 'arb') -> likely regions: the
    tag's own region, then where CLDR says the language is official, else its likely territory."""
    tag = _language_tag(value)
    if tag is None:
        return ()
    regions = [tag.territory or ""]
    regions += _territory_languages().get(tag.language, ())[:MAX_LANGUAGE_REGIONS]
    regions.append(_likely_territory(tag.language))
    return tuple(dict.fromkeys(r for r in map(region_code, regions) if r))


def _likely_territory(language: str) -> str:
    """CLDR likely subtags' territory for a language ('yue' -> HK), or '' when CLDR has none for it (langcodes'
    `maximize` would fall back to en-Latn-US there)."""
    from langcodes.data_dicts import LIKELY_SUBTAGS

    likely = LIKELY_SUBTAGS.get(language)
    return likely.rsplit("-", 1)[-1] if likely and likely.count("-") == 2 else ""


# Unicode script property names -> ISO 15924 codes of the scripts whose CLDR likely region says something: every
# script the language ID knows, CJK's parts apart; Latin, written everywhere, says nothing.
SCRIPTS = {name: code for name, code in {**ALL_SCRIPTS, **CJK_PART_CODES}.items() if code != LATIN}
MIN_SCRIPT_LETTERS = 2  # letters of a script before it counts as a clue (one stray character says little)


@cache
def region_of_script(script: str) -> str | None:
    """CLDR likely subtags: the territory most associated with a script (Hang -> KR, Hani -> CN)."""
    from langcodes.data_dicts import LIKELY_SUBTAGS

    likely = LIKELY_SUBTAGS.get(f"und-{script}", "")
    return region_code(likely.rsplit("-", 1)[-1]) if likely.count("-") == 2 else None


@cache
def _place_names() -> dict[str, str]:
    """Names of territories, and of languages official somewhere, in the languages official somewhere (CLDR) ->
    region ("Frankreich" -> FR, "Japanese" -> JP: the language's first region). Names two regions share, short ones
    in scripts with spaces and ones written in lower case (common words more often than places) are left out."""
    from language_data.name_data import CODE_TO_NAMES

    names: dict[str, str] = {}
    shared: set[str] = set()
    languages = _territory_languages()
    for code, by_language in CODE_TO_NAMES.items():
        if len(code) == 2 and code.isupper() and code in supported():
            region = code
        elif code in languages:
            region = languages[code][0]
        else:
            continue
        for written_in, name in by_language.items():
            if written_in.split("-")[0] not in languages:
                continue  # names in the languages official somewhere: half the names, most of the text
            for part in name.split(" / "):
                part = part.strip()
                if len(part) < (2 if unspaced(part) else 4) or part[0].islower():
                    continue
                if names.get(part, region) != region:
                    shared.add(part)
                names[part] = region
    kept = {name: code for name, code in names.items() if name not in shared}
    return dict(sorted(kept.items(), key=lambda kv: -len(kv[0])))  # longest first: "Guinea-Bissau" before "Guinea"


# Country-code TLDs that Google Search treats as generic (Search Central, "Managing multi-regional sites"): their
# sites are not local, so they say nothing about a country.
GENERIC_CCTLDS = frozenset(
    [
        "ad",
        "as",
        "bz",
        "cc",
        "cd",
        "co",
        "dj",
        "fm",
        "io",
        "la",
        "me",
        "ms",
        "nu",
        "sc",
        "sr",
        "su",
        "tv",
        "tk",
        "ws",
        "ai",
    ]
)
_DOMAIN = r"(?:@|https?://|www\.)(?:[\w-]+\.)+[A-Za-z]{2}\b"


def _tld_region(domain: str) -> str | None:
    tld = domain.rsplit(".", 1)[-1].lower()
    return None if tld in GENERIC_CCTLDS else region_code(tld)


def text_regions(values: pl.Series) -> list[tuple[str, ...]]:
    """Regions each text points at, strongest first: country-code TLDs of its addresses, country codes ("US",
    except in texts written in capitals), names of countries and languages, then its scripts (most letters first).
    Vectorised: polars finds every clue in the whole series at once."""
    names = _place_names()
    v = pl.col("v")
    frame = pl.DataFrame({"v": values.cast(pl.String)}).select(
        v.str.extract_all(_DOMAIN).alias("domains"),
        pl.when(
            (v.str.count_matches(r"\p{Lu}") * 2 < v.str.count_matches(r"\p{L}")) | (v.str.count_matches(r"\p{L}") < 12)
        )
        .then(v.str.extract_all(r"\b[A-Z]{2}\b"))
        .alias("codes"),
        v.str.extract_many(list(names), overlapping=True).alias("names"),
        *[v.str.count_matches(rf"\p{{{name}}}").alias(name) for name in SCRIPTS],
    )
    out: list[tuple[str, ...]] = []
    texts = values.to_list()
    for text, (domains, codes, found, *counts) in zip(texts, frame.iter_rows()):
        regions = [_tld_region(d) for d in domains or ()] + [region_code(c) for c in codes or ()]
        found = [n for n in dict.fromkeys(found or ()) if unspaced(n) or _whole_word(text, n)]
        regions += [names[n] for n in found if not any(n != other and n in other for other in found)]
        scripts = sorted((-n, SCRIPTS[s]) for s, n in zip(SCRIPTS, counts) if n and n >= MIN_SCRIPT_LETTERS)
        regions += [region_of_script(code) for _, code in scripts]
        out.append(tuple(dict.fromkeys(r for r in regions if r)))
    return out


def _whole_word(text: str, name: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text) is not None
