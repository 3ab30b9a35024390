"""Language codes and names, for the whole package: model labels to ISO 639-3, macrolanguages, the languages a recipe
names, English names, the keys other libraries use (ISO 639-1 for the Hub and stopwords-iso).

Every language the step writes is an ISO 639-3 code (`fra`, `swh`, or the macrolanguage `swa` where the model cannot
tell the members apart), or `und` when there is nothing to identify. Codes are read with `langcodes`; the
macrolanguage table is the IANA language subtag registry that `language_data` (langcodes' data package) ships.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache, lru_cache

from curate.core.errors import MissingDependencyError

UND = "und"

# lid.176 labels languages by their Wikipedia subdomain, and a few of those are not the ISO code of the language (or
# are no ISO code at all): `als` is the Alemannic Wikipedia (ISO `als` is Tosk Albanian), `eml` the retired code of
# Emilian-Romagnol. Only applied to bare labels (no script part): GlotLID and OpenLID write `als_Latn` for Tosk Albanian.
WIKIPEDIA_LABELS = {
    "als": "gsw",
    "eml": "egl",
    "bat-smg": "sgs",
    "be-x-old": "bel",
    "be-tarask": "bel",
    "fiu-vro": "vro",
    "map-bms": "jav",
    "nds-nl": "nds",
    "roa-rup": "rup",
    "roa-tara": "nap",
    "zh-classical": "lzh",
    "zh-min-nan": "nan",
    "zh-yue": "yue",
    "simple": "eng",
    "cbk-zam": "cbk",
}
# Codes that mean "no language here" in some models' label sets.
NO_LANGUAGE = {"und", "zxx", "mis", "mul"}
_CODE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$")


def _langcodes():
    try:
        import langcodes  # a dependency of the `langid` extra; imported late so `import curate.stages` never needs it
    except ImportError:
        raise MissingDependencyError("language codes", "langcodes", "langid") from None
    return langcodes


def _alpha3(tag: str) -> str | None:
    """ISO 639-3 code of a language subtag without folding members into macrolanguages (`cmn` stays `cmn`)."""
    try:
        return _langcodes().Language.get(tag, normalize=False).to_alpha3()
    except (LookupError, ValueError):
        return None


@cache
def normalize_label(label: str) -> tuple[str, str | None]:
    """A model label as (ISO 639-3 code, ISO 15924 script or None).

    `__label__fr` -> (`fra`, None); `__label__fra_Latn` -> (`fra`, `Latn`); `__label__als` (lid.176) -> (`gsw`, None);
    `__label__sh` -> (`hbs`, None); `__label__zxx_Zxxx` -> (`und`, `Zxxx`). A label no table knows keeps its
    lower-cased language part, so a model with private codes still works.
    """
    text = label.strip()
    text = text.removeprefix("__label__")
    tag = text.replace("_", "-")
    head, _, rest = tag.partition("-")
    script = rest[:1].upper() + rest[1:4].lower() if len(rest) == 4 and rest.isalpha() else None
    if not rest or script is None:
        wiki = WIKIPEDIA_LABELS.get(tag.lower())
        if wiki:
            return wiki, None
    language = head.lower()
    if language in NO_LANGUAGE:
        return UND, script
    try:
        parsed = _langcodes().Language.get(tag, normalize=False)
        code = parsed.to_alpha3() if parsed.language else None
        script = parsed.script or script
    except (LookupError, ValueError):
        code = _alpha3(language)
    return (code or language), script


@lru_cache(maxsize=1)
def macrolanguages() -> dict[str, str]:
    """Member -> macrolanguage, both ISO 639-3 (`nob` -> `nor`, `swh` -> `swa`, `bos` -> `hbs`, `cmn` -> `zho`)."""
    try:
        from language_data.registry_parser import parse_registry
    except ImportError:
        raise MissingDependencyError("langid", "language_data", "langid") from None

    table = {}
    for entry in parse_registry():
        if entry.get("Type") == "language" and "Macrolanguage" in entry:
            member, macro = _alpha3(entry["Subtag"]), _alpha3(entry["Macrolanguage"])
            if member and macro:
                table[member] = macro
    return table


def macro_of(code: str) -> str:
    """The macrolanguage a code belongs to, or the code itself."""
    return macrolanguages().get(code, code)


@lru_cache(maxsize=1)
def _members() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for member, macro in macrolanguages().items():
        out.setdefault(macro, set()).add(member)
    return {macro: frozenset(members) for macro, members in out.items()}


def members_of(code: str) -> frozenset[str]:
    """The members of a macrolanguage (empty for any other code)."""
    return _members().get(code, frozenset())


def family(codes: Iterable[str]) -> set[str]:
    """Codes with their macrolanguages and members: what matches them (`nor` -> nor, nob, nno; `nob` -> nob, nor).

    Siblings do not match each other: `nob` never matches `nno`.
    """
    out = set()
    for code in codes:
        out |= {code, macro_of(code)} | members_of(code)
    return out


@cache
def resolve_language(name: str) -> str:
    """What a recipe names (ISO 639-1 `fr`, 639-3 `fra`, a BCP 47 tag `fr-CA`, or an English name `French`) as ISO
    639-3; raises ValueError with what to write instead."""
    text = str(name).strip()
    if not text:
        raise ValueError("empty language name")
    langcodes = _langcodes()
    if _CODE.match(text):
        code = _alpha3(text.replace("_", "-").split("-")[0])
        try:
            valid = code is not None and langcodes.Language.get(text.replace("_", "-")).is_valid()
        except (LookupError, ValueError):
            valid = False
        if valid:
            return code
    try:
        found = langcodes.find(text)
    except LookupError:
        raise ValueError(
            f"unknown language {text!r}: use an ISO 639-1 or 639-3 code (fr, fra) or an English name (French)"
        ) from None
    except ModuleNotFoundError:  # langcodes needs language_data to look names up
        raise ValueError(
            f"language names such as {text!r} need the package 'language_data': pip install "
            "'curate[langid]', or give an ISO 639 code"
        ) from None
    return _alpha3(found.language) or found.language


@cache
def language_name(code: str) -> str:
    """The English name of an ISO 639 code (`yor` -> `Yoruba`, `swa` -> `Swahili`), or the code itself when it names
    no language."""
    try:
        language = _langcodes().Language.get(code)
        name = language.display_name("en") if language.is_valid() else code
    except (LookupError, ValueError, ModuleNotFoundError):
        return code
    if name.startswith("Unknown language"):
        return code
    return re.sub(r"\s*\((individual language|macrolanguage)\)$", "", name)


@cache
def iso639_3(code: str) -> str | None:
    """`en` -> `eng`, `yid` -> `yid`, `zh` -> `zho`, `iw` -> `heb`; None when it is not a language code."""
    try:
        language = _langcodes().Language.get(code)
        return language.to_alpha3() if language.language else None
    except (LookupError, ValueError):
        return None


@cache
def hub_code(code: str) -> str:
    """ISO 639-1 where the language has one (the Hugging Face Hub's preference), else the code as it is."""
    try:
        return _langcodes().Language.get(code).language or code
    except (LookupError, ValueError, MissingDependencyError):
        return code


@cache
def language_key(code: str | None) -> str | None:
    """One key per language for tables keyed by ISO 639-1 (stopwords-iso): `fra`, `fr`, `fre`, `fr-FR`, `fra_Latn`
    -> `fr`; the main member of a macrolanguage as CLDR names it folds into it (`swh` -> `sw`, `cmn` -> `zh`), the
    others keep their own code (`yue`, `arz`). None for a missing, undetermined or malformed code."""
    if code is None or not str(code).strip():
        return None
    langcodes = _langcodes()
    try:
        tag = langcodes.standardize_tag(str(code).strip().replace("_", "-"), macro=True)
        language = langcodes.Language.get(tag).language
    except (ValueError, LookupError):
        return None
    if not language or language in NO_LANGUAGE:
        return None
    return language


def is_valid_language(code: str) -> bool:
    """True for a code that names a real language (for checking recipe keys)."""
    key = language_key(code)
    return key is not None and _langcodes().Language.get(key).is_valid()


@cache
def same_language(detected: str, expected: str) -> bool:
    """Codes of one language, in any form: `yi` ~ `yid`, `en` ~ `eng`; a macrolanguage and its members match each
    other (`zho` ~ `cmn`, `yid` ~ `ydd`), siblings do not (`nob` !~ `nno`, `hrv` !~ `srp`). As `expect` matches."""
    a, b = iso639_3(detected), iso639_3(expected)
    if a is None or b is None:
        return detected == expected
    return a in family([b]) or b in family([a])


@cache
def likely_script(code: str) -> str | None:
    """The script a language is usually written in (ISO 15924, CLDR's likely subtags): `yid` -> `Hebr`, `srp` ->
    `Cyrl`, `sr-Latn` -> `Latn`; None when unknown."""
    try:
        return _langcodes().Language.get(code.replace("_", "-")).maximize().script
    except (LookupError, ValueError):
        return None
