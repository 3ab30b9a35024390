"""`boilerplate`: remove lines that repeat across many documents of a source (navigation, cookie notices, legal
footers, "Share this article"), found corpus-wide as C4 and Dolma do.

`fit` reads the stage one batch at a time and keeps, per source, only a 64-bit hash of each distinct line and the
number of documents it occurs in (memory grows with the distinct lines, never with the text); the lines found in at
least `min_docs` documents (and `min_share` of the source's documents) are boilerplate. The state handed to `apply`
is a small frame of those (source, hash) pairs; polars' hash is stable within one polars version, which the state
records and `apply` checks (a run resumed after an upgrade is told to start the step again). Only
documents of at least `min_lines` lines are counted and cleaned: a one-line document that repeats is a duplicate
(the `dedup` step's business), not boilerplate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import polars as pl
from pydantic import Field

from curate.core.errors import CurateError
from curate.core.rows import DETAIL, REASON, partition
from curate.stages.base import GlobalStep, StepConfig, StepResult
from curate.stages.registry import register

ONLY_BOILERPLATE = "boilerplate:only_boilerplate"
_DOC, _LINE, _KEY, _SOURCE = "__bp_doc", "__bp_line", "__bp_key", "__bp_source"
COMPACT_EVERY = 8  # partial counts are summed every this many batches, so `fit` holds one table, not one per batch


class BoilerplateConfig(StepConfig):
    field: str = Field("text", description="text column whose lines are judged")
    by: str | None = Field(
        "_source",
        description="column whose values are sources (lines repeat within a site or file): `_source` (the "
        "input file), a domain or URL-host column, or null for the whole corpus as one source",
    )
    min_docs: int = Field(
        3, ge=2, description="a line found in at least this many documents of a source is boilerplate"
    )
    min_share: float = Field(
        0.0,
        ge=0,
        le=1,
        description="... and in at least this share of the source's documents (0: `min_docs` alone)",
    )
    min_lines: int = Field(
        2,
        ge=2,
        description="only documents with at least this many non-blank lines are counted and cleaned",
    )
    min_chars: int = Field(1, ge=1, description="lines shorter than this (after trimming) are never boilerplate")
    lowercase: bool = Field(True, description="compare lines lowercased (whitespace is always collapsed)")
    action: Literal["drop", "tag"] = Field(
        "drop",
        description="`drop`: remove the lines (a document left empty is rejected as "
        "`boilerplate:only_boilerplate`); `tag`: keep the text and only list the lines",
    )


@dataclass
class BoilerplateState:
    """The boilerplate lines (source, line hash), the polars version that hashed them, figures of `fit`."""

    lines: pl.DataFrame
    stats: dict[str, int] = field(default_factory=dict)
    polars_version: str = pl.__version__


@register("boilerplate")
class Boilerplate(GlobalStep):
    """Remove lines that repeat across documents of a source (navigation, cookie notices, footers), corpus-wide."""

    Config = BoilerplateConfig
    config: BoilerplateConfig
    state_type = BoilerplateState
    version = "1"

    def requires(self) -> list[str]:
        return [self.config.field] + ([self.config.by] if self.config.by else [])

    def produces(self) -> list[str]:
        return [f"{self.config.field}_boilerplate"]

    def fit_columns(self) -> list[str]:
        return ["_id"] + self.requires()

    # lines ------------------------------------------------------------------------------------------------------
    def _normalized(self, line: pl.Expr) -> pl.Expr:
        out = line.str.replace_all(r"\s+", " ").str.strip_chars()
        return out.str.to_lowercase() if self.config.lowercase else out

    def lines(self, frame: pl.DataFrame) -> pl.DataFrame:
        """One row per line of the documents that have at least `min_lines` non-blank lines: document index, line
        index, source and normalised text (null for lines that can never be boilerplate)."""
        c = self.config
        source = pl.col(c.by).cast(pl.String).fill_null("") if c.by and c.by in frame.columns else pl.lit("")
        exploded = (
            frame.select(pl.col(c.field).cast(pl.String).str.split("\n").alias(_LINE), source.alias(_SOURCE))
            .with_row_index(_DOC)
            .filter(pl.col(_LINE).list.eval(pl.element().str.strip_chars() != "").list.sum() >= c.min_lines)
            .with_columns(pl.int_ranges(pl.col(_LINE).list.len(), dtype=pl.UInt32).alias("__bp_index"))
            .explode([_LINE, "__bp_index"])
        )
        key = self._normalized(pl.col(_LINE))
        return exploded.with_columns(pl.when(key.str.len_chars() >= c.min_chars).then(key).alias(_KEY))

    # fit --------------------------------------------------------------------------------------------------------
    def fit_map(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(source, line hash, documents it is in) and (source, documents) of one batch."""
        lines = self.lines(frame).filter(pl.col(_KEY).is_not_null())
        counts = (
            lines.select(_SOURCE, _DOC, pl.col(_KEY).hash(seed=0).alias("hash"))
            .unique()
            .group_by(_SOURCE, "hash")
            .agg(pl.len().alias("docs"))
        )
        docs = lines.select(_SOURCE, _DOC).unique().group_by(_SOURCE).agg(pl.len().alias("docs"))
        return counts, docs

    def fit_reduce(self, partials: Iterator[tuple[pl.DataFrame, pl.DataFrame]]) -> BoilerplateState:
        counts, docs = _empty_counts(), pl.DataFrame(schema={_SOURCE: pl.String, "docs": pl.UInt32})
        pending: list[pl.DataFrame] = []
        for batch_counts, batch_docs in partials:
            pending.append(batch_counts)
            docs = _summed(pl.concat([docs, batch_docs]), [_SOURCE])
            if len(pending) >= COMPACT_EVERY:
                counts, pending = _summed(pl.concat([counts, *pending]), [_SOURCE, "hash"]), []
        counts = _summed(pl.concat([counts, *pending]), [_SOURCE, "hash"])
        needed = docs.with_columns(
            pl.max_horizontal(pl.lit(self.config.min_docs), (pl.col("docs") * self.config.min_share).ceil())
            .cast(pl.UInt32)
            .alias("needed")
        )
        found = counts.join(needed.drop("docs"), on=_SOURCE).filter(pl.col("docs") >= pl.col("needed"))
        stats = {
            "boilerplate_distinct_lines": found.height,
            "distinct_lines_seen": counts.height,
            "documents_seen": int(docs["docs"].sum() or 0),
        }
        return BoilerplateState(found.select(_SOURCE, "hash"), stats)

    def fit(self, frames: Iterator[pl.DataFrame]) -> BoilerplateState:
        return self.fit_reduce(self.fit_map(f) for f in frames)

    def fit_stats(self, state: BoilerplateState) -> dict[str, int]:
        return state.stats

    # apply ------------------------------------------------------------------------------------------------------
    def apply(self, batch: pl.DataFrame, state: BoilerplateState) -> StepResult:
        c = self.config
        if state.polars_version != pl.__version__:
            raise CurateError(
                f"the boilerplate step's saved state was hashed by polars {state.polars_version}, this is "
                f"polars {pl.__version__}: run again with --fresh"
            )
        lines = self.lines(batch).with_columns(pl.col(_KEY).hash(seed=0).alias("hash"))
        flagged = lines.join(
            state.lines.with_columns(pl.lit(True).alias("__bp_hit")),
            on=[_SOURCE, "hash"],
            how="left",
            maintain_order="left",
        ).with_columns((pl.col("__bp_hit").fill_null(False) & pl.col(_KEY).is_not_null()).alias("__bp_hit"))
        per_doc = flagged.group_by(_DOC, maintain_order=True).agg(
            pl.col("__bp_index").filter(pl.col("__bp_hit")).alias("found"),
            pl.col(_LINE).filter(~pl.col("__bp_hit")).str.join("\n").alias("kept"),
        )
        frame = batch.with_row_index(_DOC).join(per_doc, on=_DOC, how="left", maintain_order="left")
        found = pl.col("found").fill_null(pl.lit([], dtype=pl.List(pl.UInt32)))
        frame = frame.with_columns(
            pl.when(pl.col(c.field).is_null()).then(None).otherwise(found).alias(f"{c.field}_boilerplate")
        )
        removed = frame.select(pl.col(f"{c.field}_boilerplate").list.len().fill_null(0))
        stats = Counter(
            {
                "lines_removed" if c.action == "drop" else "lines_found": int(removed.sum().item()),
                "rows_with_boilerplate": int((removed.to_series() > 0).sum()),
            }
        )
        stats.update(self._per_language(frame, removed.to_series()))
        if c.action == "tag":
            kept = frame.drop(_DOC, "found", "kept")
            return StepResult(
                kept=kept, rejected=kept.clear().with_columns(pl.lit(None, pl.String).alias(REASON)), stats=+stats
            )
        cleaned = (
            pl.when(pl.col("found").list.len() > 0)
            .then(pl.col("kept").str.replace_all(r"\n{3,}", "\n\n").str.strip_chars())
            .otherwise(pl.col(c.field))
        )
        frame = frame.with_columns(cleaned.alias(c.field))
        empty = (pl.col("found").list.len() > 0) & (pl.col(c.field).str.strip_chars() == "")
        frame = frame.with_columns(
            pl.when(empty).then(pl.lit(ONLY_BOILERPLATE)).alias(REASON),
            pl.when(empty).then(pl.format("{} lines, all boilerplate", pl.col("found").list.len())).alias(DETAIL),
        ).drop(_DOC, "found", "kept")
        result = StepResult(*partition(frame))
        result.kept = result.kept.drop(DETAIL)
        result.stats = +stats
        return result

    def _per_language(self, frame: pl.DataFrame, removed: pl.Series) -> Counter:
        """Lines per language (`lines:<lang>`), when the rows have one."""
        column = f"{self.config.field}_lang"
        if column not in frame.columns:
            return Counter()
        counts = pl.DataFrame({"lang": frame[column].cast(pl.String).fill_null("und"), "n": removed})
        return Counter(
            {f"lines:{lang}": int(n) for lang, n in counts.group_by("lang").agg(pl.col("n").sum()).iter_rows() if n}
        )

    @classmethod
    def card_section(cls, params: dict, stats: dict[str, int]) -> str | None:
        lines = stats.get("lines_removed", stats.get("lines_found", 0))
        verb = "removed" if params.get("action", "drop") == "drop" else "found (and kept: `action: tag`)"
        by = f"`{params.get('by')}`" if params.get("by") else "the whole corpus"
        per_lang = sorted(
            ((k.split(":", 1)[1], v) for k, v in stats.items() if k.startswith("lines:")), key=lambda kv: -kv[1]
        )
        langs = "; per language: " + ", ".join(f"`{k}` {v:,}" for k, v in per_lang) if per_lang else ""
        return (
            f"Lines that repeat in at least {params.get('min_docs', 3)} documents of a source (sources: {by}) are "
            f"boilerplate: {stats.get('boilerplate_distinct_lines', 0):,} distinct lines, {lines:,} occurrences "
            f"{verb} in {stats.get('rows_with_boilerplate', 0):,} rows{langs}. Each row lists the line numbers in "
            f"`{params.get('field', 'text')}_boilerplate`."
        )


def _empty_counts() -> pl.DataFrame:
    return pl.DataFrame(schema={_SOURCE: pl.String, "hash": pl.UInt64, "docs": pl.UInt32})


def _summed(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return frame.group_by(keys).agg(pl.col("docs").sum().cast(pl.UInt32))
