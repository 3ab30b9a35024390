"""Which rows go to review: rules (random sample, low confidence, synthetic, PII, a column condition), each taking a
count or a fraction of the rows it matches, per group (language).

The choice is a seeded hash of `_id`, so it does not depend on batch boundaries or on the order of the input and is
the same on every run: a fraction keeps the rows whose hash is under `fraction * 2^64`; a count keeps the `k` rows
with the smallest hashes of their group (a bottom-k sample, which is a uniform random sample). Batches stream through
a `Selector` that keeps only the rows still chosen, so memory grows with the review queue, never with the corpus.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import polars as pl

from curate.core.hashing import seeded_hashes

Take = int | float  # an int is a count, a float in (0, 1] a fraction
NO_GROUP = "<none>"
_SALT = 0x7265766965770000  # "review": the review sample is independent of other seeded choices (balance)


@dataclass
class Rule:
    """Rows where `condition` holds are candidates; `take` of them (per group) are reviewed."""

    name: str
    condition: pl.Expr
    take: Take


def is_count(take: Take) -> bool:
    return isinstance(take, int) and not isinstance(take, bool)


def check_take(value: Take, what: str) -> Take:
    """A count (an integer >= 1) or a fraction (a float in (0, 1]); 1 is one row, 1.0 is every row."""
    if isinstance(value, bool):
        raise ValueError(f"{what}: give a count (50) or a fraction (0.05), not {value}")
    if is_count(value):
        if value < 1:
            raise ValueError(f"{what}: a count must be at least 1 (got {value})")
    elif not 0 < value <= 1:
        raise ValueError(f"{what}: a fraction must be in (0, 1], e.g. 0.05; write a count as an integer (got {value})")
    return value


def row_hash(ids: pl.Series, seed: int) -> pl.Series:
    """A stable 64-bit hash of each id (xxh3, seeded): polars' own hash may change between versions."""
    return pl.Series("_hash", seeded_hashes(ids.to_list(), seed ^ _SALT, len(ids)), dtype=pl.UInt64)


def _under(fraction: float) -> pl.Expr:
    if fraction >= 1.0:
        return pl.lit(True)
    return pl.col("_hash") < pl.lit(int(fraction * 2**64), dtype=pl.UInt64)


def _flag(name: str) -> str:
    return f"_rule_{name}"


class Selector:
    """Feed batches with `add`; `result` gives the chosen rows with `_why` (the rules that chose each row)."""

    def __init__(self, rules: list[Rule], by: str | None, seed: int, parent_field: str | None = "text"):
        self.rules, self.by, self.seed, self.parent_field = rules, by, seed, parent_field
        self.pool: pl.DataFrame | None = None
        self.matched: Counter = Counter()  # rows each rule's condition matched, before taking a share
        self.rows_seen = 0

    def _group(self, frame: pl.DataFrame) -> pl.Expr:
        if self.by and self.by in frame.columns:
            return pl.col(self.by).cast(pl.String).fill_null(NO_GROUP).alias("_group")
        return pl.lit(NO_GROUP).alias("_group")

    def add(self, batch: pl.DataFrame) -> None:
        self.rows_seen += batch.height
        if batch.height == 0:
            return
        frame = batch.with_columns(self._group(batch), row_hash(batch["_id"], self.seed))
        flags = [_flag(r.name) for r in self.rules]
        conditions = frame.with_columns([r.condition.fill_null(False).alias(_flag(r.name)) for r in self.rules]).select(
            flags
        )
        self.matched.update({r.name: int(conditions[_flag(r.name)].sum()) for r in self.rules})
        frame = frame.with_columns(conditions)
        frame = frame.with_columns(
            [(pl.col(_flag(r.name)) & _under(r.take)).alias(_flag(r.name)) for r in self.rules if not is_count(r.take)]
        )
        candidates = frame.filter(pl.any_horizontal([pl.col(_flag(r.name)) for r in self.rules]))
        candidates = self._with_parents(candidates, batch)
        if self.pool is not None and self.pool.height:
            self.pool = self._fill_parents(self.pool, batch)
            self.pool = pl.concat([self.pool, candidates], how="diagonal_relaxed")
        else:
            self.pool = candidates
        self._trim()

    def _trim(self) -> None:
        """Keep, for each count rule, the `k` smallest hashes per group among its candidates."""
        pool = self.pool
        updates = []
        for r in self.rules:
            if is_count(r.take):
                flag = pl.col(_flag(r.name))
                rank = pl.when(flag).then(pl.col("_hash")).rank("ordinal").over("_group")
                updates.append((flag & (rank <= r.take).fill_null(False)).alias(_flag(r.name)))
        if updates:
            pool = pool.with_columns(updates)
        self.pool = pool.filter(pl.any_horizontal([pl.col(_flag(r.name)) for r in self.rules]))

    # the original text of a synthetic row, for reviewers to compare with -----------------------------------------
    def _with_parents(self, candidates: pl.DataFrame, batch: pl.DataFrame) -> pl.DataFrame:
        if not self.parent_field or "_parent_id" not in candidates.columns or self.parent_field not in batch.columns:
            return candidates.with_columns(pl.lit(None, pl.String).alias("_parent_text"))
        parents = batch.select(
            pl.col("_id").alias("_parent_id"), pl.col(self.parent_field).cast(pl.String).alias("_parent_text")
        )
        parents = parents.unique("_parent_id", keep="first")
        return candidates.join(parents, on="_parent_id", how="left", maintain_order="left")

    def _fill_parents(self, pool: pl.DataFrame, batch: pl.DataFrame) -> pl.DataFrame:
        """Parents that come in a later batch than their synthetic row. One in an earlier batch is not found (that
        would mean keeping every row's text); augmenting steps write children into their parents' batch anyway."""
        if "_parent_id" not in pool.columns or not self.parent_field or self.parent_field not in batch.columns:
            return pool
        if pool.filter(pl.col("_parent_id").is_not_null() & pl.col("_parent_text").is_null()).height == 0:
            return pool
        found = batch.select(
            pl.col("_id").alias("_parent_id"), pl.col(self.parent_field).cast(pl.String).alias("_found")
        )
        found = found.unique("_parent_id", keep="first")
        return (
            pool.join(found, on="_parent_id", how="left", maintain_order="left")
            .with_columns(pl.coalesce("_parent_text", "_found").alias("_parent_text"))
            .drop("_found")
        )

    def result(self) -> pl.DataFrame:
        """The chosen rows in a stable order (group, then hash), with `_why`: the list of rules that chose them."""
        if self.pool is None:
            return pl.DataFrame(schema={"_id": pl.String, "_why": pl.List(pl.String)})
        why = pl.concat_list([pl.when(pl.col(_flag(r.name))).then(pl.lit(r.name)).otherwise(None) for r in self.rules])
        flags = [_flag(r.name) for r in self.rules]
        return (
            self.pool.with_columns(why.list.drop_nulls().alias("_why"))
            .sort(["_group", "_hash", "_id"])
            .drop([*flags, "_hash", "_group"])
        )

    def chosen(self) -> Counter:
        """Rows each rule chose (a row chosen by two rules counts for both)."""
        if self.pool is None:
            return Counter()
        return Counter({r.name: int(self.pool[_flag(r.name)].sum()) for r in self.rules})
