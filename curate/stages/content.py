"""`content`: tag or drop offensive, sexual and hateful text, from maintained per-language word lists (and an
optional local classifier), with allow-lists for domains where such words are legitimate.

A row is judged by the list of its language (from `langid`, when known well enough; see `language_min_support`):
polars finds the rows of each language that contain a term anywhere (Aho-Corasick over the lowercased batch), and
only those are matched word by word in Python (`curate.content.matching`). A row with at least `min_hits` matches
is unfit; its reason is `content:<category>` of the category with most matches (`content:sexual`, `content:hate`),
and `_detail` lists the counts and terms. `{field}_content` (categories) and `{field}_content_hits` (matches) are
written on every row, so `action: tag` plus a `review` rule (`where: {column: text_content_hits, gt: 0}`) sends
the tagged rows to people instead of dropping them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Literal

import polars as pl
from pydantic import Field, field_validator

from curate.content.classifier import ClassifierConfig, ContentClassifier
from curate.content.lexicons import BUILTIN, builtin_allow, builtin_list, combine, normalized_term, read_list_file
from curate.content.matching import Hit, Matcher
from curate.core.markdown import table as markdown_table
from curate.core.rowlang import row_languages
from curate.core.rows import DETAIL, REASON, partition
from curate.stages.base import BatchStep, StepConfig, StepResult
from curate.stages.registry import register

PRIORITY = ("hate", "sexual", "violence", "profanity", "obscene")  # which reason a row with several categories gets
ANY_LANGUAGE = "*"
SHOWN_TERMS = 5


class ContentConfig(StepConfig):
    field: str = Field("text", description="text column to judge")
    lists: list[str] = Field(
        default_factory=lambda: list(BUILTIN),
        description="built-in word lists, in priority order (a language comes from the first list that has it): "
        "`profanex` (English, categorised: sexual, hate, violence, profanity), `ldnoobw` (29 languages, "
        "category `obscene`)",
    )
    files: list[str] = Field(
        default_factory=list,
        description="word lists of your own (TSV or CSV with columns lang, term, category; "
        "relative to the recipe), before the built-in ones",
    )
    terms: dict[str, dict[str, list[str]]] = Field(
        default_factory=dict,
        description="more terms, `{category: {language: [terms]}}`, before every list",
    )
    allow: dict[str, list[str]] = Field(
        default_factory=dict,
        description="words and phrases that never count, per language (`{en: [breast cancer, "
        "anal fissure], de: [brust]}`; `'*'` for every language): for domains where they are legitimate "
        "(medical, legal). A listed term that is allowed is dropped; a match inside an allowed phrase does not count",
    )
    categories: list[str] | None = Field(
        None,
        description="only these categories count (default: all, `hate`, `sexual`, `violence`, `profanity`, "
        "`obscene` and those of your lists or classifier)",
    )
    min_hits: int = Field(1, ge=1, description="matches (of the counted categories) that make a row unfit")
    lang_column: str | None = Field(None, description="column with each row's language; default `{field}_lang`")
    language_min_support: float = Field(
        0.5,
        ge=0,
        le=1,
        description="a row is judged by its language's list only when the language's "
        "`{lang_column}_support` is at least this (a column without `_support` is trusted); other rows are counted "
        "as not judged (the classifier, if any, still judges them)",
    )
    action: Literal["drop", "tag"] = Field(
        "drop",
        description="`drop`: reject unfit rows as `content:<category>`; `tag`: keep them, with "
        "`{field}_content` and `{field}_content_hits` for a `filter` or `review` step",
    )
    classifier: ClassifierConfig | None = Field(
        None,
        description="a local sequence-classification model that judges every row too: {model: <folder>, "
        "labels: {model label: category}, threshold: 0.5}; needs `pip install 'curate[content-model]'`",
    )

    @field_validator("lists")
    @classmethod
    def _known_lists(cls, names: list[str]) -> list[str]:
        unknown = [n for n in names if n not in BUILTIN]
        if unknown:
            raise ValueError(
                f"unknown word list {unknown[0]!r} (built in: {', '.join(BUILTIN)}; your own go in `files`)"
            )
        return names


@register("content")
class Content(BatchStep):
    """Tag or drop offensive, sexual and hateful text (per-language word lists, allow-lists, optional classifier)."""

    Config = ContentConfig
    config: ContentConfig
    version = "1"

    def __init__(self, config: ContentConfig, context=None):
        super().__init__(config, context)
        self._matchers: dict[str, Matcher] | None = None
        self._classifier: ContentClassifier | None = None

    def requires(self) -> list[str]:
        return [self.config.field] + ([self.config.lang_column] if self.config.lang_column else [])

    def produces(self) -> list[str]:
        return [f"{self.config.field}_content", f"{self.config.field}_content_hits"]

    def setup(self) -> None:
        if self._matchers is not None:
            return
        self._matchers = build_matchers(self.config, self.context.recipe_dir)
        if self.config.classifier is not None:
            self._classifier = ContentClassifier(self.config.classifier, self.context.recipe_dir)

    # judging ------------------------------------------------------------------------------------------------------
    def _language_keys(self, batch: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
        """(tag, key): each row's language as written, and its list key where known well enough (else null)."""
        from curate.core.languages import language_key

        column = self.config.lang_column or f"{self.config.field}_lang"
        tags, sure = row_languages(batch, column, self.config.language_min_support)
        mapping = {t: language_key(t) for t in sure.drop_nulls().unique().to_list()}
        return tags, sure.replace_strict(mapping, default=None, return_dtype=pl.String)

    def judge(self, batch: pl.DataFrame) -> tuple[list[list[Hit]], pl.Series, pl.Series]:
        """Per row the hits found, with each row's language tag and list key."""
        self.setup()
        texts = batch[self.config.field].cast(pl.String)
        tags, keys = self._language_keys(batch)
        hits: list[list[Hit]] = [[] for _ in range(batch.height)]
        lowered = texts.str.to_lowercase()
        for key in keys.drop_nulls().unique().to_list():
            matcher = (self._matchers or {}).get(key)
            if matcher is None or not matcher.terms:
                continue
            in_language = (keys == key).fill_null(False).arg_true()
            candidates = lowered.gather(in_language).str.contains_any(list(matcher.terms)).fill_null(False)
            rows = in_language.filter(candidates).to_list()
            for row, text in zip(rows, texts.gather(rows).to_list()):
                hits[row] += matcher.find(text)
        if self._classifier is not None:
            rows = texts.is_not_null().arg_true().to_list()
            for row, found in zip(rows, self._classifier.hits(texts.gather(rows).to_list())):
                hits[row] += [Hit(f"classifier:{score:.2f}", category) for category, score in found.items()]
        counted = set(self.config.categories) if self.config.categories else None
        return [[h for h in row if counted is None or h.category in counted] for row in hits], tags, keys

    def process(self, batch: pl.DataFrame) -> StepResult:
        f = self.config.field
        hits, tags, keys = self.judge(batch)
        categories = [ordered({h.category for h in row}) for row in hits]
        counts = [len(row) for row in hits]
        unfit = [n >= self.config.min_hits for n in counts]
        stats = Counter()
        present = batch[f].is_not_null().to_list()
        for row_categories, bad, tag, key, has_text in zip(categories, unfit, tags.to_list(), keys.to_list(), present):
            language = tag or "und"
            if bad:
                stats.update(f"content:{c}:{language}" for c in row_categories)
            if has_text and (key is None or key not in (self._matchers or {})):
                stats[f"unjudged:{language}"] += 1
        frame = batch.with_columns(
            pl.Series(f"{f}_content", categories, dtype=pl.List(pl.String)),
            pl.Series(f"{f}_content_hits", counts, dtype=pl.UInt32),
        )
        if self.config.action == "tag":
            empty = frame.clear().with_columns(pl.lit(None, pl.String).alias(REASON))
            return StepResult(kept=frame, rejected=empty, stats=stats)
        reasons = [f"content:{c[0]}" if bad else None for c, bad in zip(categories, unfit)]
        details = [describe(row) if bad else None for row, bad in zip(hits, unfit)]
        result = StepResult(
            *partition(
                frame.with_columns(
                    pl.Series(REASON, reasons, dtype=pl.String), pl.Series(DETAIL, details, dtype=pl.String)
                )
            )
        )
        result.kept = result.kept.drop(DETAIL)
        result.stats = stats
        return result

    # the record ---------------------------------------------------------------------------------------------------
    @classmethod
    def card_section(cls, params: dict, stats: dict[str, int]) -> str | None:
        found: dict[str, Counter] = {}
        for key, n in stats.items():
            if key.startswith("content:"):
                _, category, language = key.split(":", 2)
                found.setdefault(language, Counter())[category] += n
        unjudged = {k.split(":", 1)[1]: n for k, n in stats.items() if k.startswith("unjudged:")}
        if not found and not unjudged:
            return None
        categories = ordered({c for counter in found.values() for c in counter})
        head = ["language", *(f"`{c}`" for c in categories), "rows not judged (no list for the language)"]
        languages = sorted(set(found) | set(unjudged), key=lambda k: (-sum(found.get(k, Counter()).values()), k))
        rows = [
            [f"`{lang}`", *(f"{found.get(lang, Counter())[c]:,}" for c in categories), f"{unjudged.get(lang, 0):,}"]
            for lang in languages
        ]
        table = markdown_table(rows, head)
        lists = (
            ", ".join(f"`{n}`" for n in params.get("lists") or [])
            + (" and the recipe's own lists" if params.get("files") or params.get("terms") else "")
            + (" and a classifier" if params.get("classifier") else "")
        )
        verb = "rejected" if params.get("action", "drop") == "drop" else "tagged (kept)"
        return (
            f"Rows with unfit content by category and language, {verb}; found with {lists}. A row with several "
            "categories counts in each.\n\n" + table
        )

    @classmethod
    def notes(cls, params: dict, stats: dict[str, int]) -> list[str]:
        unjudged = {
            k.split(":", 1)[1]: n for k, n in stats.items() if k.startswith("unjudged:") and k != "unjudged:und"
        }
        if not unjudged or params.get("classifier"):
            return []
        where = ", ".join(f"`{k}` {v:,}" for k, v in sorted(unjudged.items(), key=lambda kv: -kv[1])[:10])
        return [
            f"{sum(unjudged.values()):,} rows were not judged for unfit content: their language has no word list "
            f"or was not known well enough ({where}). Add a list of your own (`files`, `terms`) or a classifier"
        ]


def ordered(categories: set[str]) -> list[str]:
    """Categories in reason priority (hate before sexual before ... before your own, alphabetically)."""
    return sorted(categories, key=lambda c: (PRIORITY.index(c) if c in PRIORITY else len(PRIORITY), c))


def describe(hits: list[Hit]) -> str:
    """`sexual: 2 (term, term); hate: 1 (term)` for the rejects."""
    by_category: dict[str, list[str]] = {}
    for hit in hits:
        by_category.setdefault(hit.category, []).append(hit.term)
    return "; ".join(
        f"{c}: {len(terms)} ({', '.join(list(dict.fromkeys(terms))[:SHOWN_TERMS])})"
        for c, terms in ((c, by_category[c]) for c in ordered(set(by_category)))
    )


def build_matchers(config: ContentConfig, recipe_dir: Path) -> dict[str, Matcher]:
    """Language key -> its matcher, from the recipe's terms, its files and the built-in lists, in that priority."""
    from curate.core.languages import language_key

    own = [
        (language_key(lang) or lang, normalized_term(t), category)
        for category, by_lang in config.terms.items()
        for lang, terms in by_lang.items()
        for t in terms
    ]
    files = [read_list_file(p if (p := Path(name)).is_absolute() else recipe_dir / p) for name in config.files]
    lexicon = combine([*files, *(builtin_list(n) for n in config.lists)])
    if own:
        own_frame = pl.DataFrame(own, schema=lexicon.schema, orient="row")
        lexicon = pl.concat([own_frame, lexicon]).unique(["lang", "term"], keep="first", maintain_order=True)
    allow: dict[str, set[str]] = {}
    for name in config.lists:
        for lang, term in builtin_allow(name):
            allow.setdefault(lang, set()).add(term)
    everywhere = {normalized_term(t) for t in config.allow.get(ANY_LANGUAGE, [])}
    for lang, terms in config.allow.items():
        if lang != ANY_LANGUAGE:
            allow.setdefault(language_key(lang) or lang, set()).update(normalized_term(t) for t in terms)
    matchers = {}
    for (lang,), part in lexicon.group_by("lang", maintain_order=True):
        terms = dict(zip(part["term"].to_list(), part["category"].to_list()))
        matchers[lang] = Matcher(terms, allow.get(lang, set()) | everywhere, lang)
    return matchers
