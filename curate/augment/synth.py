"""What the augmentation steps share: which rows to augment, the candidates a step generates, and how candidates
become synthetic rows (kept) or rejects (with the validation's reason).

A synthetic row is a copy of its parent with the generated text in place of one column, `_synthetic = true`,
`_parent_id` (the parent's `_id`), `_origin` (`step:model#params`, where `params` is a hash of every setting that
shapes the text) and a fresh `_id` derived from the parent's id, the origin and the variant number, so the same
recipe gives the same ids on every run. Tags computed for the replaced column (`{column}_pii`, `{column}_quality`,
`dup_cluster`...) no longer describe it and are emptied; `{column}_lang` and `{column}_lang_score` get the
validation's language and score. The input rows come back unchanged (with `_synthetic = false`).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

import polars as pl
import xxhash

from curate.augment.validate import Candidates, Detector, ValidationConfig, validate
from curate.core.rows import DETAIL, REASON, SYNTHETIC_COLUMNS, Partition

STALE = ("dup_cluster", "_repeat", "_repeat_of")


def params_hash(params: dict[str, Any]) -> str:
    blob = json.dumps(params, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:8]


def origin(step: str, model: str, params: dict[str, Any]) -> str:
    """`step:model#hash` (the card counts synthetic rows per origin)."""
    return f"{step}:{model}#{params_hash(params)}"


def synthetic_ids(parent_ids: list[str], origins: list[str], variants: list[int], salt: str = "") -> list[str]:
    """Stable ids: parent, origin, variant and the step's place in the recipe (two identical steps, two ids)."""
    return [
        xxhash.xxh3_64_hexdigest(f"{p}\x00{o}\x00{v}\x00{salt}".encode("utf-8", "surrogatepass"))
        for p, o, v in zip(parent_ids, origins, variants)
    ]


def row_seeds(ids: list[str], variants: list[int], seed: int) -> list[int]:
    """A seed per (row, variant), independent of batching: the same request gets the same seed on every run."""
    seed &= (1 << 64) - 1
    return [xxhash.xxh3_64_intdigest(f"{i}\x00{v}".encode(), seed=seed) & 0x7FFFFFFF for i, v in zip(ids, variants)]


def selection(batch: pl.DataFrame, config: Any, field: str, seed: int, salt: str) -> pl.Series:
    """Rows to augment: a non-empty `field`, the `only` values, not synthetic themselves, within the `sample` (the
    step's `only`, `include_synthetic` and `sample`)."""
    mask = pl.col(field).is_not_null() & (pl.col(field).str.strip_chars() != "")
    if not config.include_synthetic and "_synthetic" in batch.columns:
        mask &= ~pl.col("_synthetic").fill_null(False)
    for column, values in config.only.items():
        mask &= pl.col(column).cast(pl.String).is_in(values).fill_null(False)
    chosen = batch.select(mask.alias("m"))["m"]
    if config.sample < 1 and batch.height:
        salted = (seed ^ xxhash.xxh3_64_intdigest(salt.encode())) & ((1 << 64) - 1)
        cut = int(config.sample * 2**64)
        draws = [xxhash.xxh3_64_intdigest(i.encode(), seed=salted) < cut for i in batch["_id"].to_list()]
        chosen = chosen & pl.Series(draws, dtype=pl.Boolean)
    return chosen


def with_marks(batch: pl.DataFrame) -> pl.DataFrame:
    """The input rows with the synthetic-row columns, unchanged where they had them."""
    missing = [
        pl.lit(False if name == "_synthetic" else None, dtype).alias(name)
        for name, dtype in SYNTHETIC_COLUMNS.items()
        if name not in batch.columns
    ]
    return batch.with_columns(missing) if missing else batch


@dataclass
class Generated:
    """Candidates of one step for one batch: `parent` indexes the batch; the other lists run alongside."""

    parent: list[int] = dc_field(default_factory=list)
    variant: list[int] = dc_field(default_factory=list)
    output: list[str | None] = dc_field(default_factory=list)
    input: list[str] = dc_field(default_factory=list)
    expect: list[str | None] = dc_field(default_factory=list)
    origin: list[str] = dc_field(default_factory=list)
    reference: list[str | None] = dc_field(default_factory=list)
    roundtrip: list[str | None] | None = None
    error: list[str | None] | None = None

    def add(
        self,
        parent: int,
        variant: int,
        output: str | None,
        input: str,
        expect: str | None,
        origin: str,
        reference: str | None,
        error: str | None = None,
    ) -> None:
        self.parent.append(parent)
        self.variant.append(variant)
        self.output.append(output)
        self.input.append(input)
        self.expect.append(expect)
        self.origin.append(origin)
        self.reference.append(reference)
        if error is not None or self.error is not None:
            if self.error is None:
                self.error = [None] * (len(self.parent) - 1)
            self.error.append(error)


def assemble(
    batch: pl.DataFrame,
    generated: Generated,
    into: str,
    config: ValidationConfig,
    detector: Detector | None,
    stats: Counter,
    salt: str = "",
) -> Partition:
    """Validate the candidates and return the input rows plus the valid synthetic rows (kept) and the invalid ones
    (rejected, with `_reason` and `_detail`); `stats` gets the candidates and the valid ones counted."""
    originals = with_marks(batch if into in batch.columns else batch.with_columns(pl.lit(None, pl.String).alias(into)))
    if not generated.parent:
        return Partition(
            kept=originals,
            rejected=originals.clear().with_columns(
                pl.lit(None, pl.String).alias(REASON), pl.lit(None, pl.String).alias(DETAIL)
            ),
        )
    existing = originals[into].to_list()
    checks = validate(
        Candidates(
            output=generated.output,
            input=generated.input,
            expect=generated.expect,
            reference=generated.reference,
            roundtrip=generated.roundtrip,
            error=generated.error,
        ),
        config,
        detector,
        existing=existing,
    )
    parents = originals[generated.parent]
    ids = synthetic_ids(parents["_id"].to_list(), generated.origin, generated.variant, salt)
    updates = [
        pl.Series(into, generated.output, dtype=originals.schema[into]),
        pl.Series("_id", ids, dtype=pl.String),
        pl.lit(True).alias("_synthetic"),
        pl.col("_id").alias("_parent_id"),
        pl.Series("_origin", generated.origin, dtype=pl.String),
    ]
    for column in originals.columns:
        if column == f"{into}_lang":  # kept rows: the expected code; rejects: what language ID saw, if it ran
            langs = [
                expect if reason is None or lang is None else lang
                for lang, expect, reason in zip(checks["_lang"].to_list(), generated.expect, checks[REASON].to_list())
            ]
            updates.append(pl.Series(column, langs, dtype=pl.String).cast(originals.schema[column]))
        elif column == f"{into}_lang_score":
            updates.append(checks["_lang_score"].cast(originals.schema[column]).alias(column))
        elif column.startswith(f"{into}_") or column in STALE:
            updates.append(pl.lit(None, originals.schema[column]).alias(column))
    synthetic = parents.with_columns(updates).select(originals.columns)
    reasons = checks.select(REASON, DETAIL)
    bad = reasons[REASON].is_not_null()
    rejected = pl.concat([synthetic, reasons], how="horizontal").filter(bad)
    kept = pl.concat([originals, synthetic.filter(~bad)], how="vertical_relaxed")
    stats["synthetic:candidates"] += len(generated.parent)
    stats["synthetic:kept"] += int((~bad).sum())
    return Partition(kept=kept, rejected=rejected)
