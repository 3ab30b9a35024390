"""Stop words of a language, and whether a list can judge a text.

Language codes from language ID (`fra`, `swh`, `cmn`, `zho_Hans`) and from recipes (`fr`, `fra`, `fre`) are brought to
one key by `curate.core.languages.language_key` (ISO 639-1 where there is one, the main member of a macrolanguage folded
into it: `swh` and `swa` are both `sw`). Stop words come from `stopwordsiso` (the stopwords-iso collection, 58 languages, keyed by ISO
639-1). Space-delimited languages match stop words as whole tokens; Chinese, Japanese and the Southeast Asian scripts
are written without spaces, so their stop words are counted as substrings (leftmost-longest Aho-Corasick matches,
`str.extract_many`).
"""

from __future__ import annotations

from functools import cache

import polars as pl

from curate.core.errors import MissingDependencyError
from curate.langid.scripts import detect_scripts
from curate.quality.tokens import single_tokens

# Keys that stopwords-iso files under another code than langcodes gives (Bokmål/Nynorsk under Norwegian, Filipino
# under Tagalog).
FALLBACK = {"nb": "no", "nn": "no", "fil": "tl"}
# Languages written without spaces between words: their stop words are found as substrings.
SUBSTRING_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo"})


def key_chain(key: str | None) -> tuple[str, ...]:
    """The keys to try for a language, most specific first (`nb` -> `nb`, `no`)."""
    if key is None:
        return ()
    return (key, FALLBACK[key]) if key in FALLBACK else (key,)


def _stopwordsiso():
    try:
        import stopwordsiso
    except ImportError:
        raise MissingDependencyError("the quality step's stop-word rule", "stopwordsiso", "quality") from None
    return stopwordsiso


@cache
def stop_words(key: str) -> tuple[str, ...]:
    """Stop words of a language key (lower-cased, NFC, letters only), () if stopwords-iso has no list for it.

    Space-delimited languages keep only the entries that are one token (multi-word entries can't match a token);
    languages written without spaces keep every entry, matched as substrings."""
    module = _stopwordsiso()
    for candidate in key_chain(key):
        if module.has_lang(candidate):
            words = [w for w in module.stopwords(candidate) if any(ch.isalpha() for ch in w)]
            series = pl.Series(words, dtype=pl.String).str.normalize("NFC").str.to_lowercase().str.strip_chars()
            # stopwords-iso spells Thai SARA AM as NIKHAHIT + SARA AA; text uses the single character.
            series = series.str.replace_all("\u0e4d\u0e32", "\u0e33", literal=True)
            words = sorted(set(series.to_list()) - {""})
            if key in SUBSTRING_LANGUAGES:
                return tuple(sorted(words, key=lambda w: (-len(w), w)))  # longest first: leftmost-longest matches
            return tuple(single_tokens(words))
    return ()


@cache
def list_script(key: str) -> str | None:
    """The script a stop-word list is written in (ISO 15924, as `curate.langid.scripts.detect_scripts` names it), or
    None for no list. stopwords-iso's Kurdish list is Sorani in Arabic script, for instance: no evidence about Kurmanji
    written in Latin."""
    words = stop_words(key)
    if not words:
        return None
    return detect_scripts(pl.Series([" ".join(words)]))["script"][0]


def fitting_lists(keys: pl.Series, scripts: pl.Series) -> pl.Series:
    """The language keys whose stop-word list is written in the row's script; null elsewhere."""
    wanted = {key: list_script(key) for key in keys.drop_nulls().unique().to_list()}
    frame = pl.DataFrame({"key": keys, "script": scripts.cast(pl.String)})
    list_scripts = pl.col("key").replace_strict(wanted, default=None, return_dtype=pl.String)
    return frame.select(pl.when(list_scripts == pl.col("script")).then(pl.col("key")).alias(keys.name)).to_series()


def stop_word_languages() -> list[str]:
    """Language keys with a stop-word list."""
    return sorted(_stopwordsiso().langs())


def stop_word_counts(texts: pl.Series, keys: pl.Series, token_frame: pl.DataFrame) -> pl.Series:
    """Stop words per row (null where the language is unknown or has no list).

    `keys` are the rows' language keys; `token_frame` has one row per token: `row` (index into `texts`) and `tok`
    (lower-cased)."""
    present = [k for k in keys.drop_nulls().unique().sort().to_list() if stop_words(k)]
    counts = pl.Series("stop_words", [None] * len(texts), dtype=pl.UInt32)
    if not present:
        return counts
    spaced = [k for k in present if k not in SUBSTRING_LANGUAGES]
    if spaced:
        table = pl.DataFrame(
            {"lang": [k for k in spaced for _ in stop_words(k)], "tok": [w for k in spaced for w in stop_words(k)]},
            schema={"lang": pl.String, "tok": pl.String},
        )
        row_lang = pl.DataFrame({"row": pl.arange(0, len(texts), dtype=pl.UInt32, eager=True), "lang": keys})
        hits = (
            token_frame.select("row", "tok")
            .join(row_lang, on="row", how="left")
            .join(table, on=["lang", "tok"], how="semi")
            .group_by("row")
            .len()
        )
        counts = (
            row_lang.join(hits, on="row", how="left", maintain_order="left")
            .select(pl.when(pl.col("lang").is_in(spaced)).then(pl.col("len").fill_null(0)).cast(pl.UInt32))
            .to_series()
        )
    frame = pl.DataFrame({"text": texts.str.to_lowercase(), "lang": keys, "counts": counts})
    for key in (k for k in present if k in SUBSTRING_LANGUAGES):
        found_here = pl.col("text").str.extract_many(list(stop_words(key)), leftmost=True).list.len()
        frame = frame.with_columns(
            pl.when(pl.col("lang") == key).then(found_here.cast(pl.UInt32)).otherwise(pl.col("counts")).alias("counts")
        )
    return frame["counts"].alias("stop_words")
