"""The row contract: the columns curate adds to rows and rejects, and how a step says why a row goes.

Every row carries `_id`, `_source` and `_row`; a reject also carries the step that dropped it (`_step`), the exact
reason (`_reason`), maybe a detail (`_detail`) and, from the reader, the record as it was (`_raw`). Rows a step makes
are marked: synthetic rows (`_synthetic`, `_parent_id`, `_origin`) and balancing's copies (`_repeat`); the
accounting counts them apart from the rows read. The readers, the augmentation library, the steps and the engine all
speak this contract, and nothing else of each other.
"""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

META_COLUMNS = ["_id", "_source", "_row"]
STEP, REASON, DETAIL, RAW = "_step", "_reason", "_detail", "_raw"
RAW_BYTES = "_raw_bytes"  # a rejected record's bytes when they are not text in any encoding tried (else `_raw`)
REJECT_COLUMNS = {
    "_id": pl.String,
    "_source": pl.String,
    "_row": pl.Int64,
    RAW: pl.String,
    REASON: pl.String,
    DETAIL: pl.String,
}  # a reader's rejects
SYNTHETIC_COLUMNS = {"_synthetic": pl.Boolean, "_parent_id": pl.String, "_origin": pl.String}
ADDED_COLUMNS = ("_synthetic", "_repeat")


def first_reason(*conditions: tuple[pl.Expr, str]) -> pl.Expr:
    """The reason of the first condition that holds, else null: several rules, one exact reason per row."""
    expr = pl.lit(None, dtype=pl.String)
    for condition, reason in reversed(conditions):
        expr = pl.when(condition.fill_null(False)).then(pl.lit(reason)).otherwise(expr)
    return expr


class Partition(NamedTuple):
    kept: pl.DataFrame
    rejected: pl.DataFrame


def partition(frame: pl.DataFrame) -> Partition:
    """Split a frame with a `_reason` column (null = keep) into kept rows (without it) and rejected rows."""
    dropped = pl.col(REASON).is_not_null()
    return Partition(kept=frame.filter(~dropped).drop(REASON), rejected=frame.filter(dropped))


def added_counts(frame: pl.DataFrame) -> tuple[int, int]:
    """(synthetic rows, copies) among a frame's rows: rows steps made, which the accounting counts apart from the
    rows read. A copy of a synthetic row counts as a copy, so the two never overlap."""
    if frame.height == 0 or not any(c in frame.columns for c in ADDED_COLUMNS):
        return 0, 0
    repeat = pl.col("_repeat").fill_null(0) > 0 if "_repeat" in frame.columns else pl.lit(False)
    synthetic = pl.col("_synthetic").fill_null(False) if "_synthetic" in frame.columns else pl.lit(False)
    made = frame.select((synthetic & ~repeat).sum().alias("synthetic"), repeat.sum().alias("copies")).row(0)
    return int(made[0]), int(made[1])


def added_rows(frame: pl.DataFrame) -> int:
    """Rows a step made (synthetic rows, copies), which the accounting counts apart from the rows read."""
    return sum(added_counts(frame))
