"""A row's language for language-specific rules: the language column as written, and the language trusted enough to
apply rules of that language (its `{column}_support`, from `langid`, at least a minimum; a column of your own
without `_support` is trusted)."""

from __future__ import annotations

import polars as pl


def row_languages(batch: pl.DataFrame, column: str, min_support: float) -> tuple[pl.Series, pl.Series]:
    """(tag, sure): each row's language as written (null when the batch has no such column), and the same where it
    is known well enough, else null."""
    if column not in batch.columns:
        empty = pl.Series([None] * batch.height, dtype=pl.String)
        return empty, empty
    tags = batch[column].cast(pl.String)
    support = f"{column}_support"
    if support not in batch.columns:
        return tags, tags
    sure = batch[support].cast(pl.Float64).fill_null(0.0) >= min_support
    return tags, pl.select(pl.when(sure).then(tags)).to_series()
