"""Writing systems: which script a text is in (polars regex counts) and which languages are written in it (CLDR).

The script of a text narrows the languages it can be in: Cyrillic text is not French, Han text without kana is not
Japanese, Hangul is Korean. Latin is never used to narrow (every language is romanised somewhere, and CLDR lists
few romanisations), and a language CLDR does not know is never ruled out.
"""

from __future__ import annotations

from functools import cache, lru_cache

import polars as pl

from curate.core.languages import UND, normalize_label

# Unicode script property (as the regex engine names it) -> ISO 15924. Han, Hiragana, Katakana and Hangul are
# counted apart and reported together as Jpan (Han + kana), Kore (Hangul + Han) or Hani (Han alone).
SCRIPTS = {
    "Latin": "Latn",
    "Cyrillic": "Cyrl",
    "Greek": "Grek",
    "Armenian": "Armn",
    "Georgian": "Geor",
    "Hebrew": "Hebr",
    "Arabic": "Arab",
    "Syriac": "Syrc",
    "Thaana": "Thaa",
    "Nko": "Nkoo",
    "Devanagari": "Deva",
    "Bengali": "Beng",
    "Gurmukhi": "Guru",
    "Gujarati": "Gujr",
    "Oriya": "Orya",
    "Tamil": "Taml",
    "Telugu": "Telu",
    "Kannada": "Knda",
    "Malayalam": "Mlym",
    "Sinhala": "Sinh",
    "Thai": "Thai",
    "Lao": "Laoo",
    "Tibetan": "Tibt",
    "Myanmar": "Mymr",
    "Khmer": "Khmr",
    "Ethiopic": "Ethi",
    "Mongolian": "Mong",
    "Tifinagh": "Tfng",
    "Cherokee": "Cher",
    "Canadian_Aboriginal": "Cans",
    "Ol_Chiki": "Olck",
    "Gothic": "Goth",
    "Runic": "Runr",
    "Coptic": "Copt",
    "Javanese": "Java",
    "Balinese": "Bali",
    "Sundanese": "Sund",
    "Vai": "Vaii",
    "Adlam": "Adlm",
    "Yi": "Yiii",
    "Bopomofo": "Bopo",
}
CJK_PARTS = ("Han", "Hiragana", "Katakana", "Hangul")
CJK_PART_CODES = {"Han": "Hani", "Hiragana": "Hira", "Katakana": "Kana", "Hangul": "Hang"}  # each part's own code
LATIN = "Latn"
# Text classes (what `dominant_script` returns for CJK) and the ISO 15924 codes a language may list for each.
_CLASS_OF = {
    "Hans": "Hani",
    "Hant": "Hani",
    "Hani": "Hani",
    "Jpan": "Jpan",
    "Hira": "Jpan",
    "Kana": "Jpan",
    "Hrkt": "Jpan",
    "Kore": "Kore",
    "Hang": "Kore",
}


def script_class(script: str) -> str:
    """The text class a language's script falls in: Hans/Hant -> Hani, Hira/Kana -> Jpan, Hang -> Kore."""
    return _CLASS_OF.get(script, script)


def detect_scripts(texts: pl.Series) -> pl.DataFrame:
    """Per text: `script` (ISO 15924 of its main script, null without letters) and `script_share` (the share of its
    letters in that script).

    Most texts have no letter outside Latin and are settled by two searches that stop at the first hit. In the others
    the letters are counted: where most are not Latin, the script is that of the first non-Latin letter and the share
    is that of all non-Latin letters (texts that mix two non-Latin scripts are rare enough for this to hold). Han with
    kana is Jpan, Hangul (with or without Han) is Kore, Han alone Hani.
    """
    frame = pl.DataFrame({"t": texts.cast(pl.String)}).select(
        any=pl.col("t").str.contains(r"\p{L}").fill_null(False),
        other=pl.col("t").str.contains(r"[\p{L}--\p{Latin}]").fill_null(False),
    )
    out = frame.select(
        script=pl.when(pl.col("any")).then(pl.lit(LATIN)).otherwise(None),
        script_share=pl.when(pl.col("any")).then(1.0).otherwise(0.0),
    )
    if not frame["other"].any():
        return out
    idx = frame["other"].arg_true()
    sub = pl.DataFrame({"t": texts.filter(frame["other"]).cast(pl.String)}).select(
        letters=pl.col("t").str.count_matches(r"\p{L}"),
        latin=pl.col("t").str.count_matches(r"\p{Latin}"),
        first=pl.col("t").str.extract(r"([\p{L}--\p{Latin}])", 1),
        kana=pl.col("t").str.contains(r"[\p{Hiragana}\p{Katakana}]"),
        hangul=pl.col("t").str.contains(r"\p{Hangul}"),
    )
    chars = sub["first"].unique().drop_nulls()
    names = [*SCRIPTS, *CJK_PARTS]
    groups = chars.str.extract_groups("^(?:" + "|".join(rf"(\p{{{name}}})" for name in names) + ")").struct.unnest()
    codes = [SCRIPTS.get(name, "CJK") for name in names]
    hits = [pl.when(pl.col(column).is_not_null()).then(pl.lit(code)) for column, code in zip(groups.columns, codes)]
    found = groups.select(pl.coalesce(hits)).to_series()
    of_char = {char: code for char, code in zip(chars.to_list(), found.to_list()) if code is not None}
    first = pl.col("first").replace_strict(of_char, default=None, return_dtype=pl.String)
    other = pl.col("letters") - pl.col("latin")
    decided = sub.select(
        script=pl.when(pl.col("latin") >= other)
        .then(pl.lit(LATIN))
        .when(first != "CJK")
        .then(first)
        .when(first.is_null())
        .then(None)
        .when(pl.col("kana"))
        .then(pl.lit("Jpan"))
        .when(pl.col("hangul"))
        .then(pl.lit("Kore"))
        .otherwise(pl.lit("Hani")),
        script_share=(pl.max_horizontal(pl.col("latin"), other) / pl.col("letters")).cast(pl.Float64),
    )
    return out.with_columns(
        out["script"].scatter(idx, decided["script"]), out["script_share"].scatter(idx, decided["script_share"])
    )


@lru_cache(maxsize=1)
def language_scripts() -> dict[str, frozenset[str]]:
    """ISO 639-3 -> the text classes CLDR says the language is written in (primary and secondary scripts)."""
    import xml.etree.ElementTree as ET

    try:
        from language_data.util import data_filename
    except ImportError:
        from curate.core.errors import MissingDependencyError

        raise MissingDependencyError("langid", "language_data", "langid") from None

    table: dict[str, set[str]] = {}
    root = ET.parse(data_filename("supplementalData.xml")).getroot()
    for element in root.iter("language"):
        tag, scripts = element.get("type"), element.get("scripts")
        if not tag or not scripts:
            continue
        code, _ = normalize_label(tag)
        table.setdefault(code, set()).update(script_class(s) for s in scripts.split())
    return {code: frozenset(classes) for code, classes in table.items()}


def writable_in(code: str, label_script: str | None) -> frozenset[str] | None:
    """The text classes a model label can be written in: its own script when the label names one (`srp_Cyrl`),
    else CLDR's list for the language; None (anything) when neither is known."""
    if label_script:
        return frozenset({script_class(label_script)})
    if code == UND:
        return None
    return language_scripts().get(code)


@cache
def likely_language(script: str) -> str:
    """The language a script most likely writes, from CLDR's likely subtags (Goth -> got, Hang -> kor, Jpan -> jpn)."""
    from curate.core.languages import _langcodes

    try:
        language = _langcodes().Language.get(f"und-{script}").maximize().language
    except (LookupError, ValueError):
        return UND
    return normalize_label(language)[0] if language else UND


# Chinese, Japanese and Korean mix Han with kana or Hangul: for the share of a text's letters in its script they are one
# class.
CJK_CLASS = "CJK"
_CJK_CODES = {"Hani", "Hans", "Hant", "Jpan", "Kore", "Hira", "Kana", "Hrkt", "Hang"}
_PROPERTY = {code: name for name, code in SCRIPTS.items()}


def share_class(script: str | None) -> str | None:
    """The class of a script for `letter_shares`: CJK scripts are one class; scripts this module can't count, None."""
    if script is None:
        return None
    if script in _CJK_CODES:
        return CJK_CLASS
    return script if script in _PROPERTY else None


def _letters_in(cls: str) -> pl.Expr:
    names = CJK_PARTS if cls == CJK_CLASS else (_PROPERTY[cls],)
    return pl.col("t").str.count_matches(r"[\p{L}&&[" + "".join(rf"\p{{{n}}}" for n in names) + "]]")


def letter_shares(texts: pl.Series, classes: list[str | None]) -> list[float | None]:
    """Share of each text's letters in its class (None where the class is unknown or there are no letters)."""
    frame = pl.DataFrame({"t": texts.cast(pl.String).fill_null(""), "c": pl.Series(classes, dtype=pl.String)})
    frame = frame.with_columns(letters=pl.col("t").str.count_matches(r"\p{L}"))
    share = pl.lit(None, pl.Float64)
    for cls in {c for c in classes if c}:
        share = pl.when(pl.col("c") == cls).then(_letters_in(cls) / pl.col("letters")).otherwise(share)
    return frame.select(pl.when(pl.col("letters") > 0).then(share).alias("s"))["s"].to_list()
